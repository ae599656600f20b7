"""The simulated instruments' spectra: MIR (DRIFT, log10(1/R), scan repeats) and NIR (NeoSpectra, reflectance) of sampled soils."""
from __future__ import annotations

import numpy as np

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM
from soilnb.data.simulate.bands import (
    CONSTITUENTS,
    MIR_BANDS,
    NIR_BANDS,
    band_matrix,
    gaussian_blur_matrix,
    neospectra_fwhm_nm,
)
from soilnb.data.simulate.physics import (
    DRIFT,
    INSTRUMENTS,
    NIR,
    DriftPhysics,
    Instrument,
    NirPhysics,
)

_CHUNK = 2048                                          # samples per generation chunk (fixes RNG streams)


def _gauss(x, c, w):
    return np.exp(-0.5 * ((x - c) / w) ** 2)


def _co2(axis, shift):
    """Atmospheric CO2 (P/R branches 2360/2340 cm-1, bend 667 cm-1) of unit amplitude."""
    return (_gauss(axis, 2361 + shift, 7) + 0.8 * _gauss(axis, 2338 + shift, 7) + 0.6 * _gauss(axis, 668 + shift, 3))


def mir_spectra(F, props, n_scans=1, instrument="vertex70", random_state=None, out=None,
                physics: DriftPhysics = DRIFT) -> np.ndarray:
    """DRIFT MIR absorbance (log10 1/R) of each sample, ``n_scans`` subsample repeats each.

    Parameters
    ----------
    F : ndarray of shape (n_samples, n_constituents)
        Mass fractions from :func:`soilnb.data.simulate.composition.sample_soils`.
    props : DataFrame with columns ``coarse``, ``darkness``, ``grain``
    n_scans : int
        Repeats per sample; rows are sample-major (sample 0 repeats, sample 1 repeats, ...).
    instrument : str, key of :data:`INSTRUMENTS` with kind "mir"
    random_state : int or numpy Generator
    out : ndarray of shape (n_samples * n_scans, 1701), optional, float32, filled in place
    physics : DriftPhysics
        Sample-presentation parameters (default :data:`DRIFT`).

    Returns
    -------
    X : ndarray of shape (n_samples * n_scans, 1701), float32, on :data:`MIR_AXIS_CM1`
    """
    inst = _instrument(instrument, "mir")
    rng = np.random.default_rng(random_state)
    F = np.asarray(F, float)
    n = F.shape[0]
    if out is None:
        out = np.empty((n * n_scans, MIR_AXIS_CM1.size), np.float32)
    ph = physics
    K = band_matrix(MIR_BANDS, MIR_AXIS_CM1, shift=inst.shift, broaden=inst.broaden, gauss_above=3000.0,
                    resolution=inst.resolution) * \
        np.asarray(ph.scale)[:, None]
    over = MIR_BANDS[(MIR_BANDS.constituent == "quartz") & MIR_BANDS.centre.between(1280, 2000)]
    K_over = band_matrix(over, MIR_AXIS_CM1, shift=inst.shift, broaden=inst.broaden,
                         resolution=inst.resolution)[0] * ph.scale[0]
    t = (4000.0 - MIR_AXIS_CM1) / 3400.0                  # 0 at 4000, 1 at 600 cm-1
    # quartz Si-O reflection band: a flat-topped window 1075-~1255 cm-1 (specular reflection maxima)
    def width(sd):                                    # a feature's sd-like width as this instrument records it
        return np.hypot(sd * inst.broaden, inst.resolution / 2.3548)   # resolution is a FWHM

    edge = width(10.0)
    window = 1.0 / (1.0 + np.exp(-(MIR_AXIS_CM1 - 1075 - inst.shift) / (1.5 * edge))) / \
        (1.0 + np.exp((MIR_AXIS_CM1 - ph.restrahlen_hi - inst.shift) / width(ph.restrahlen_soft)))
    quartz_r = window
    # Si-O-Si bending doublet and carbonate v3: weaker reflection maxima of the same kind
    bend_r = _gauss(MIR_AXIS_CM1, 800.0 + inst.shift, width(14.0))
    carb_r = _gauss(MIR_AXIS_CM1, 1465.0 + inst.shift, width(45.0))
    clay_r = _gauss(MIR_AXIS_CM1, ph.restrahlen_clay_centre + inst.shift, width(ph.restrahlen_clay_width))
    co2 = _co2(MIR_AXIS_CM1, 0.0)
    coarse, dark, grain = (props[c].to_numpy(float) for c in ("coarse", "darkness", "grain"))
    qcol = 0                                          # quartz is the first constituent
    ccol = 5                                          # calcite, then dolomite
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        m = sl.stop - sl.start
        r = m * n_scans
        rep = lambda a: np.repeat(a[sl], n_scans)    # noqa: E731  (per-sample -> per-scan)
        # subsample heterogeneity: each aliquot's composition differs a little
        Fr = np.repeat(F[sl], n_scans, axis=0) * np.exp(ph.jitter * rng.standard_normal((r, F.shape[1])))
        path = np.exp(0.06 * rng.standard_normal(r)) * (ph.path - ph.path_coarse * rep(coarse))
        lin = (Fr @ K + (ph.overtone_coarse * Fr[:, qcol] * (rep(coarse) - 0.5))[:, None] * K_over) * path[:, None]
        amax = ph.amax + 0.15 * rng.standard_normal(r)
        A = amax[:, None] * (1.0 - np.exp(-lin / amax[:, None]))
        # coarse quartz specular reflection (restrahlen) turns the Si-O stretch into dips
        depth = ph.restrahlen * Fr[:, qcol] * rep(coarse) ** 1.2 * np.exp(ph.restrahlen_sd * np.clip(rng.standard_normal(r), -2.0, 2.0))
        A -= depth[:, None] * (quartz_r + ph.restrahlen_bend * bend_r)
        A -= (ph.restrahlen_carb * (Fr[:, ccol] + Fr[:, ccol + 1]))[:, None] * carb_r
        A -= (ph.restrahlen_clay * Fr[:, 1:4].sum(axis=1))[:, None] * clay_r
        # scatter/colour baseline: level, slope rising to low wavenumber, curvature
        b0 = ph.b0 + ph.b0_dark * rep(dark) + ph.b0_sd * rng.standard_normal(r)
        b1 = (ph.b1 + ph.b1_fine * (1.0 - rep(coarse)) + 0.04 * rep(grain)) * np.exp(ph.b1_sd * rng.standard_normal(r))
        b2 = ph.b2 + ph.b2_sd * rng.standard_normal(r)
        A += b0[:, None] + b1[:, None] * t + b2[:, None] * t**2
        A *= np.exp(ph.gain_sd * rng.standard_normal(r))[:, None]
        A += (ph.co2_mean + ph.co2_sd * rng.standard_normal(r))[:, None] * co2
        A = inst.gain * A + inst.offset + inst.tilt * t
        A += inst.noise * rng.standard_normal(A.shape)
        out[sl.start * n_scans: sl.stop * n_scans] = A
    return out


def nir_spectra(F, props, n_repeats=6, instrument="neospectra2022", random_state=None,
                physics: "NirPhysics | None" = None) -> np.ndarray:
    """Portable FT-NIR reflectance (fraction), the mean of ``n_repeats`` scans per sample.

    Absorbance ``A = base + electronic wing + path * (F @ K_inst) + slope`` with ``K_inst`` the band
    spectra (:data:`soilnb.data.simulate.bands.NIR_BANDS` times ``physics.scale``, plus the water O-H fundamental wing)
    seen through the instrument line (:class:`NirPhysics`); then ``R = 10**(-A)`` with multiplicative
    scatter, the instrument's reference response and detector noise.

    Parameters
    ----------
    F : ndarray of shape (n_samples, n_constituents)
    props : DataFrame with columns ``coarse``, ``darkness``, ``grain``
    n_repeats : int
        Scans averaged (in reflectance) per sample, as in the paper (six per sample).
    instrument : str, key of :data:`INSTRUMENTS` with kind "nir"
    random_state : int or numpy Generator
    physics : NirPhysics, optional
        Default :data:`NIR`.

    Returns
    -------
    R : ndarray of shape (n_samples, 601), float32, in (0, 1), on :data:`NIR_AXIS_NM`
    """
    inst = _instrument(instrument, "nir")
    ph = NIR if physics is None else physics
    rng = np.random.default_rng(random_state)
    F = np.asarray(F, float)
    n = F.shape[0]
    K = band_matrix(NIR_BANDS, NIR_AXIS_NM, shift=inst.shift, broaden=inst.broaden, eta=0.2,
                    resolution=inst.resolution) * np.asarray(ph.scale)[:, None]
    w = CONSTITUENTS.index("water")
    a1940 = K[w, np.argmin(np.abs(NIR_AXIS_NM - 1940.0 - inst.shift))]   # the combination band's absorbance at 1940 nm
    K[w] += ph.water_wing * a1940 * np.exp((NIR_AXIS_NM - 2500.0 - inst.shift) / ph.water_wing_nm)
    for clay in ("kaolinite", "smectite", "illite"):  # structural O-H stretch (2.7-2.8 um) wing
        K[CONSTITUENTS.index(clay)] += ph.clay_wing * np.exp((NIR_AXIS_NM - 2500.0 - inst.shift) / ph.clay_wing_nm)
    if ph.resolution_cm1 > 0:                       # the instrument line (the MEMS units: x broaden)
        K = K @ gaussian_blur_matrix(NIR_AXIS_NM, neospectra_fwhm_nm(NIR_AXIS_NM, inst.broaden * ph.resolution_cm1)).T
    t = (NIR_AXIS_NM - 1350.0) / 1200.0
    wing = np.exp(-(NIR_AXIS_NM - 1350.0) / ph.electronic_nm)
    coarse, dark = (props[c].to_numpy(float) for c in ("coarse", "darkness"))
    out = np.empty((n, NIR_AXIS_NM.size), np.float32)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        m = sl.stop - sl.start
        acc = np.zeros((m, NIR_AXIS_NM.size))
        base0 = ph.b0 + ph.b0_dark * dark[sl] + 0.05 * (1 - coarse[sl]) + 0.04 * rng.standard_normal(m)
        el = ph.electronic * dark[sl] * np.exp(ph.electronic_sd * rng.standard_normal(m))
        for _ in range(n_repeats):
            Fr = F[sl] * np.exp(0.08 * rng.standard_normal(F[sl].shape))   # surface heterogeneity
            path = np.exp(0.05 * rng.standard_normal(m))                       # packing
            A = base0[:, None] + (0.04 * rng.standard_normal(m))[:, None] + el[:, None] * wing \
                + path[:, None] * (Fr @ K) + (0.03 + 0.03 * rng.standard_normal(m))[:, None] * t
            R = 10.0 ** (-A) * np.exp(0.03 * rng.standard_normal(m))[:, None]
            R = R * (inst.gain + inst.tilt * t) + inst.offset
            R += inst.noise * rng.standard_normal(R.shape) * (1.0 + 1.5 * t**4)   # detector edge noise
            acc += R
        out[sl] = np.clip(acc / n_repeats, 1e-3, 0.999)
    return out


def _instrument(name, kind) -> Instrument:
    if name not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {name!r}; choose one of {sorted(INSTRUMENTS)}")
    inst = INSTRUMENTS[name]
    if inst.kind != kind:
        raise ValueError(f"instrument {name!r} is a {inst.kind.upper()} instrument, not {kind.upper()}")
    return inst
