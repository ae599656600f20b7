"""The NumPy predict path against the libraries it stands in for (``soilnb predict`` imports none of them): the
bundle's VAE and NIR encoder in NumPy against their torch modules, a bundle loaded with either engine, the
preprocessing and resampling against the scikit-learn transformers, a loaded target transform and shift
detector against the fitted estimators, and the conformal intervals against crepes."""
import contextlib
import hashlib

import numpy as np
import pandas as pd
import pytest
from apply_world import make_tiny
from crepes import ConformalRegressor

from soilnb import apply
from soilnb.apply.bundle import load_bundle
from soilnb.apply.encoders import NumpyNIRtoMIR, NumpyVAE
from soilnb.apply.intervals import NUDGE, Calibration, conformal_rank
from soilnb.apply.torch_encoders import TorchModel
from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM
from soilnb.data.library import SpectralLibrary
from soilnb.data.prepare import preprocess_library
from soilnb.models.inference import convert, embed, predict_in_batches
from soilnb.spectra.coverage import to_grid
from soilnb.spectra.grid import Resample
from soilnb.spectra.pipeline import spectral_pipeline
from soilnb.stats.fitted import FittedMahalanobis, FittedShift
from soilnb.stats.shift import ShiftDetector


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    yield from make_tiny(tmp_path_factory)


@pytest.fixture(scope="module")
def engines(tiny):
    """The tiny run's bundle loaded with each engine: ``(numpy, torch)``."""
    return load_bundle(tiny["folder"], engine="numpy"), load_bundle(tiny["folder"], engine="torch")


def _close(a, b, what, rtol=1e-5):
    """float32 rounding apart: within ``rtol`` of each value or of the array's largest magnitude."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.nanmax(np.abs(b)), err_msg=what)


# ------------------------------------------------------------------------------------------ encoders
def test_numpy_encoders_equal_the_torch_modules(tiny, engines):
    """The NumPy VAE and NIR encoder (Linear + SiLU stacks from the safetensors weights) against the run's own
    torch modules through soilnb.models.inference, on the test spectra: float32 rounding apart; the torch engine
    gives the modules' numbers bit for bit."""
    num, tor = engines
    F, vae, n2m = tiny["F"], tiny["vae"], tiny["n2m"]
    assert isinstance(num.vae, NumpyVAE) and isinstance(num.n2m, NumpyNIRtoMIR)
    assert isinstance(tor.vae, TorchModel) and isinstance(tor.n2m, TorchModel)
    mir, nir = F.test_mir, F.test_nir
    pairs = {"VAE embedding": (num.vae.latent(mir), embed(vae, mir)),
             "VAE reconstruction": (num.vae.reconstruct(mir),
                                    predict_in_batches(lambda x: vae.decode(vae.embed(x)), mir)),
             "NIR embedding": (num.n2m.latent(nir), embed(n2m, nir)),
             "NIR reconstruction": (num.n2m.reconstruct(nir),
                                    predict_in_batches(lambda x: n2m.nir_decoder(n2m.nir_encoder(x)), nir)),
             "NIR to MIR": (num.n2m.convert(nir), convert(n2m, nir))}
    for what, (a, b) in pairs.items():
        assert a.dtype == np.float32, what
        _close(a, b, what)
        assert not np.array_equal(a, np.zeros_like(a)), what
    np.testing.assert_array_equal(tor.vae.latent(mir), embed(vae, mir))
    np.testing.assert_array_equal(tor.n2m.convert(nir), convert(n2m, nir))


def test_a_numpy_loaded_bundle_saves_the_same_weights(engines, tiny, tmp_path):
    """The NumPy models keep the weights as read: saved again, their files are the bytes torch wrote."""
    folder = engines[0].save(tmp_path / "again")
    for name in ("vae.safetensors", "nir_to_mir.safetensors"):
        assert hashlib.sha256((folder / name).read_bytes()).digest() == \
            hashlib.sha256((tiny["folder"] / name).read_bytes()).digest(), name


def test_both_engines_predict_the_same(tiny, engines):
    """Every strategy, plain and normalised intervals, with flags: the spectra-reading heads' values and intervals
    equal, everything downstream of an embedding within float32 rounding, the same flags."""
    num, tor = engines
    F = tiny["F"]
    for rng, X in (("MIR", F.test_mir), ("NIR", F.test_nir)):
        names = [s for s in num.strategies if num.strategies[s][0] == rng]
        for norm in (False, True):
            a, fa = apply.predict_arrays(num, rng, X, names, normalized=norm)
            b, fb = apply.predict_arrays(tor, rng, X, names, normalized=norm)
            for c in ("shift_distance", "recon_error"):
                _close(fa[c], fb[c], f"{rng} {c}", rtol=1e-4)
            for c in ("shift_flag", "novelty_flag"):
                assert (fa[c] == fb[c]).all(), (rng, c)
            for s in names:
                exact = num.strategies[s][1] == "spectra" and not norm
                for k in range(3):
                    if exact:
                        pd.testing.assert_frame_equal(a[s][k], b[s][k], check_exact=True)
                    else:
                        _close(a[s][k].to_numpy(), b[s][k].to_numpy(), f"{s} {k}", rtol=1e-4)


# ------------------------------------------------------------------------------------------ preprocessing
def _nir_reflectance(n=5, seed=0):
    rng = np.random.default_rng(seed)
    band = 0.15 * np.exp(-((NIR_AXIS_NM - 1925.0) / 40.0) ** 2)          # the water band: a minimum
    return 0.45 + 0.1 * np.sin(NIR_AXIS_NM / 300.0 + rng.uniform(0, 3, (n, 1))) - band \
        + rng.normal(0, 1e-3, (n, NIR_AXIS_NM.size))


def test_preprocessing_equals_the_scikit_learn_pipeline():
    """preprocess_library (NumPy) against spectral_pipeline (scikit-learn Trim, ReflectanceToAbsorbance, SNV):
    the same float64 numbers before the float32 cast, so the same float32 numbers; to_grid against Resample."""
    R = _nir_reflectance()
    nir = SpectralLibrary(X=R, axis=NIR_AXIS_NM, unit="nm", quantity="reflectance", sample_id=list("abcde"))
    X, axis = preprocess_library(nir)
    np.testing.assert_array_equal(X, spectral_pipeline("nir").fit_transform(nir.X).astype(np.float32))  # float32 X
    np.testing.assert_array_equal(axis, np.arange(1400.0, 2501.0, 2.0))
    pct = nir.with_spectra(nir.X * np.float32(100.0))           # percent, decided per spectrum
    with pytest.warns(UserWarning, match="looks like percent"):
        want = spectral_pipeline("nir").fit_transform(pct.X)
    with pytest.warns(UserWarning, match="looks like percent"):
        np.testing.assert_array_equal(preprocess_library(pct)[0], want.astype(np.float32))
    A = 1.0 + 0.5 * np.exp(-((MIR_AXIS_CM1 - 3400.0) / 100.0) ** 2) \
        + np.random.default_rng(1).normal(0, 0.01, (3, MIR_AXIS_CM1.size))
    mir = SpectralLibrary(X=A, axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance", sample_id=list("abc"))
    np.testing.assert_array_equal(preprocess_library(mir)[0],
                                  spectral_pipeline("mir").fit_transform(mir.X).astype(np.float32))
    target = np.arange(601.0, 3999.0, 3.7)
    np.testing.assert_array_equal(to_grid(A, MIR_AXIS_CM1[::-1], target),
                                  Resample(MIR_AXIS_CM1[::-1], target, tol=5.0).fit_transform(A))


# ------------------------------------------------------------------------------------------ fitted states
def test_loaded_shift_detector_equals_the_fitted_one(tiny, engines):
    """FittedShift (NumPy) from a ShiftDetector's state gives its distances, scores and flags exactly, on random
    data (both settings of ``squared``) and as the tiny bundle stores it."""
    rng = np.random.default_rng(3)
    Z, new = rng.standard_t(4, size=(300, 6)), rng.standard_t(4, size=(50, 6)) * 1.5
    for squared in (False, True):
        det = ShiftDetector(alpha=0.05, squared=squared).fit(Z)
        m = det.mahalanobis_
        fit = FittedShift(FittedMahalanobis(m.median_, m.iqr_, m.covariance_, m.precision_), det.alpha, det.squared,
                          det.d0_, det.Fd_, det.limit_, det.train_flag_rate_)
        np.testing.assert_array_equal(fit.mahalanobis_.distance(new), m.distance(new))
        np.testing.assert_array_equal(fit.score(new), det.score(new))
        np.testing.assert_array_equal(fit.predict(new), det.predict(new))
        assert fit.predict(new).any() and not fit.predict(new).all()
    z = embed(tiny["vae"], tiny["F"].test_mir)
    built, loaded = tiny["bundle"].shift["MIR"], engines[0].shift["MIR"]
    assert isinstance(built, ShiftDetector) and isinstance(loaded, FittedShift)
    np.testing.assert_array_equal(loaded.mahalanobis_.distance(z), built.mahalanobis_.distance(z))
    np.testing.assert_array_equal(loaded.predict(z), built.predict(z))


# ------------------------------------------------------------------------------------------ intervals
@pytest.mark.parametrize("n", [5, 9, 19, 20, 57, 99, 200])
def test_intervals_are_crepes_number_for_number(n):
    """Calibration.intervals (crepes' rule in NumPy) against crepes' ConformalRegressor asked at coverage - NUDGE,
    plain and normalised, clipped to bounds or not, on the identity and the log1p scale: equal to the last bit,
    including the infinite (physical-bounds) intervals of too small a calibration set."""
    rng = np.random.default_rng(n)
    res = rng.normal(0, 0.3, size=(n, 2))
    sig = rng.uniform(0.5, 2.0, n)
    cal = Calibration(["pH", "TC"], ["identity", "log1p"], np.array([0.0, 0.0]), np.array([14.0, np.inf]), res,
                      res.std(axis=0), sig)
    pred = pd.DataFrame({"pH": rng.uniform(0.5, 9.0, 12), "TC": rng.uniform(0.0, 5.0, 12)})
    new_sig = rng.uniform(0.5, 3.0, 12)
    for coverage in (0.5, 0.8, 0.9, 0.95):
        assert conformal_rank(n, coverage) == int((1 - (coverage - NUDGE)) * (n + 1)) - 1
        for sigmas in (None, new_sig):
            with pytest.warns(UserWarning) if conformal_rank(n, coverage) < 0 else contextlib.nullcontext():
                lo, hi = cal.intervals(pred, coverage, sigmas=sigmas)
            for j, (p, y_min, y_max, fwd, inv) in enumerate((("pH", 0.0, 14.0, np.asarray, np.asarray),
                                                            ("TC", 0.0, np.inf, np.log1p, np.expm1))):
                cr = ConformalRegressor().fit(res[:, j], sigmas=None if sigmas is None else sig)
                with pytest.warns(UserWarning) if conformal_rank(n, coverage) < 0 else contextlib.nullcontext():
                    iv = cr.predict_int(fwd(pred[p].to_numpy()), sigmas=sigmas, confidence=coverage - NUDGE,
                                        y_min=y_min, y_max=y_max)
                np.testing.assert_array_equal(lo[p].to_numpy(), inv(iv[:, 0]))
                np.testing.assert_array_equal(hi[p].to_numpy(), inv(iv[:, 1]))
