"""The simulated soil world: the embedded default dataset of soilnb.

:func:`simulate_world` builds the paper's three datasets (Sect. 2.1) from a physical forward model,
so every notebook runs without the real (partly non-public) libraries:

* ``kssl`` -- a KSSL-like MIR library (Bruker Vertex 70, DRIFT, 600-4000 cm-1, 2 cm-1 grid) with
  ``n_scans`` subsample repeats per sample and laboratory-style missing analytes;
* ``paired_nir`` / ``paired_mir`` -- the Paired set: the same samples scanned with a 2022 Neospectra
  (FT-NIR MEMS, 1350-2550 nm, reflectance, mean of ``nir_repeats`` scans) and the KSSL MIR instrument;
* ``test_nir`` / ``test_mir`` -- an independent NAPT-like test set of cropland soils, scanned on *other*
  instruments (Bruker Invenio-R with a gold reference; a 2024 Neospectra), the shift that makes the
  paper's independent test harder.

Forward model (MIR, DRIFT of neat ground soil; Nguyen et al. 1991 doi:10.1071/SR9910049,
Reeves 2012 doi:10.1016/j.geoderma.2012.06.008):
``A(v) = baseline(v) + A_max (1 - exp(-L K(v) / A_max)) - restrahlen(v) + CO2(v) + noise`` where
``K = F @ MIR_BANDS`` is the linear mixture of pure-constituent band spectra (:mod:`soilnb.data.simulate.bands`)
weighted by mass fractions ``F`` (:mod:`soilnb.data.simulate.composition`), ``L`` a per-scan path length (packing),
the exponential cap is the saturation of strong bands in undiluted DRIFT, ``restrahlen`` the
reflection maxima of coarse quartz Si-O stretching (a window from 1075 to about 1258 cm-1, which turns
absorbance bands into dips; weaker reflection at the 800/780 cm-1 bending doublet, a weak clay Si-O
reflection near 1040 cm-1, and an optional carbonate v3 term, off by default), the weak
quartz combination bands (2000-1280 cm-1) grow with the sand share (volume scattering in coarse
grains), the baseline rises towards low wavenumbers with scattering (finer, darker soils absorb more),
and CO2 is the atmospheric doublet of the unpurged compartment. Each scan repeat has its own
composition jitter (subsample heterogeneity), baseline, gain and noise.

NIR (1350-2550 nm): overtones/combinations (:data:`soilnb.data.simulate.bands.NIR_BANDS`) ~20-50x weaker than the
MIR fundamentals, on a brightness baseline set by organic matter, Fe oxides and moisture;
reflectance ``R = 10**(-A)`` with a multiplicative scatter term and MEMS detector noise.
"""
from __future__ import annotations

import numpy as np

from soilnb.core.vocab import PROPERTIES
from soilnb.data.library import SpectralLibrary, World
from soilnb.data.simulate.composition import apply_missingness, sample_soils
from soilnb.data.simulate.spectra import mir_spectra, nir_spectra

MIR_AXIS_CM1 = np.arange(600.0, 4000.0 + 1e-9, 2.0)      # 1,701 channels, cm-1
NIR_AXIS_NM = np.arange(1350.0, 2550.0 + 1e-9, 2.0)     # 601 channels, nm


def _ids(prefix, n):
    return np.array([f"{prefix}{i:06d}" for i in range(n)])


def _check_size(name, value, minimum=1):
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def simulate_world(n_kssl=6000, n_scans=4, n_paired=600, n_test=206, nir_repeats=6, seed=0) -> World:
    """Simulate the paper's three datasets (KSSL MIR library, Paired NIR/MIR set, NAPT-like test set).

    Parameters
    ----------
    n_kssl : int
        KSSL-like samples; the library holds ``n_kssl * n_scans`` scans (paper: 83,971 x ~4).
    n_scans : int
        MIR subsample repeats per sample (KSSL loads four wells per sample).
    n_paired : int
        Paired samples (paper: 2,016 complete); MIR is the mean of 4 repeats.
    n_test : int
        Independent test samples (paper: 206 NAPT soils), scanned on the test instruments.
    nir_repeats : int
        NIR scans averaged per sample (paper: six).
    seed : int

    Returns
    -------
    World
        ``kssl`` (MIR, scans, ~61 % of samples complete), ``paired_nir``/``paired_mir`` and
        ``test_nir``/``test_mir`` (one averaged row per sample, complete properties, same order).
    """
    for name, value in (("n_kssl", n_kssl), ("n_scans", n_scans), ("n_paired", n_paired),
                        ("n_test", n_test), ("nir_repeats", nir_repeats)):
        _check_size(name, value)
    streams = np.random.SeedSequence(int(seed)).spawn(9)
    rngs = [np.random.default_rng(s) for s in streams]
    props_cols = list(PROPERTIES)

    # KSSL: scans of every sample, analytes partly missing
    F, props = sample_soils(n_kssl, "kssl", rngs[0])
    X = mir_spectra(F, props, n_scans, "vertex70", rngs[1])
    measured = apply_missingness(props[props_cols], rngs[2])
    kssl = SpectralLibrary(
        X=X, axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance",
        sample_id=np.repeat(_ids("K", n_kssl), n_scans), scan_id=np.tile(np.arange(n_scans), n_kssl),
        instrument=np.full(n_kssl * n_scans, "vertex70"),
        properties=measured.loc[measured.index.repeat(n_scans)].reset_index(drop=True), name="kssl")

    def pair(n, profile, prefix, mir_inst, nir_inst, r_comp, r_mir, r_nir):
        Fp, pp = sample_soils(n, profile, r_comp)
        Xm = mir_spectra(Fp, pp, 4, mir_inst, r_mir).reshape(n, 4, -1).mean(axis=1)
        Xn = nir_spectra(Fp, pp, nir_repeats, nir_inst, r_nir)
        ids = _ids(prefix, n)
        y = pp[props_cols].reset_index(drop=True)
        mir = SpectralLibrary(X=Xm, axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance", sample_id=ids,
                              instrument=np.full(n, mir_inst), properties=y.copy(), name=f"{prefix}mir")
        nir = SpectralLibrary(X=Xn, axis=NIR_AXIS_NM, unit="nm", quantity="reflectance", sample_id=ids,
                              instrument=np.full(n, nir_inst), properties=y.copy(), name=f"{prefix}nir")
        return nir, mir

    paired_nir, paired_mir = pair(n_paired, "paired", "P", "vertex70", "neospectra2022", *rngs[3:6])
    test_nir, test_mir = pair(n_test, "napt", "T", "invenio", "neospectra2024", *rngs[6:9])
    paired_nir.name, paired_mir.name, test_nir.name, test_mir.name = "paired_nir", "paired_mir", "test_nir", "test_mir"
    return World(kssl, paired_nir, paired_mir, test_nir, test_mir, source="simulated")
