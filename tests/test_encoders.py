"""The NumPy predict path against the libraries it stands in for (``soilnb predict`` imports none of them): the
bundle's VAE and NIR encoder in NumPy against their torch modules, a bundle loaded with either engine, the
preprocessing and resampling against the scikit-learn transformers, a loaded target transform and shift
detector against the fitted estimators, and the conformal intervals against crepes."""
import contextlib
import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from apply_world import make_tiny
from crepes import ConformalRegressor

from soilnb import apply
from soilnb.apply.bundle import load_bundle
from soilnb.apply.encoders import NumpyNIRtoMIR, NumpyVAE
from soilnb.apply.intervals import NUDGE, Calibration, conformal_rank
from soilnb.apply.torch_encoders import TorchModel, on_torch
from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM
from soilnb.data.library import SpectralLibrary
from soilnb.data.prepare import preprocess_library
from soilnb.models.checkpoints import build_nir_to_mir, model_config
from soilnb.models.inference import convert, embed, predict_in_batches
from soilnb.models.nets import VAE, VAEConfig
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
    equal, everything downstream of an embedding within float32 rounding, the same flags away from their limits
    (a value within 1e-3 of a limit may fall on either side on the two engines, as in
    test_bundle.py::test_shift_flags_equal_notebook_05)."""
    num, tor = engines
    F = tiny["F"]
    for rng, X in (("MIR", F.test_mir), ("NIR", F.test_nir)):
        names = [s for s in num.strategies if num.strategies[s][0] == rng]
        limits = {"shift_flag": ("shift_distance", tor.shift_limit(rng) if rng in tor.shift else np.inf),
                  "novelty_flag": ("recon_error", tor.novelty[rng].limit if rng in tor.novelty else np.inf)}
        for norm in (False, True):
            a, fa = apply.predict_arrays(num, rng, X, names, normalized=norm)
            b, fb = apply.predict_arrays(tor, rng, X, names, normalized=norm)
            for c in ("shift_distance", "recon_error"):
                _close(fa[c], fb[c], f"{rng} {c}", rtol=1e-4)
            for c, (value, limit) in limits.items():
                clear = np.abs(fb[value].to_numpy(float) / limit - 1) > 1e-3
                assert clear.mean() > 0.8, (rng, c)
                assert (fa[c][clear] == fb[c][clear]).all(), (rng, c)
            for s in names:
                exact = num.strategies[s][1] == "spectra" and not norm
                for k in range(3):
                    if exact:
                        pd.testing.assert_frame_equal(a[s][k], b[s][k], check_exact=True)
                    else:
                        _close(a[s][k].to_numpy(), b[s][k].to_numpy(), f"{s} {k}", rtol=1e-4)


def _random_models(vae_depth, nir_depth, seed=0):
    """A VAE and an NIR encoder of the given depths with torch's random initial weights (no training): the VAE
    48 wide, the NIR encoder 24 wide (a VAE input of 150 channels, 6 latent dimensions, 90 NIR channels)."""
    torch.manual_seed(seed)
    vae = VAE(VAEConfig(n_in=150, latent_dim=6, hidden=48, depth=vae_depth))
    n2m = build_nir_to_mir(vae.cfg, 90, hidden=24, depth=nir_depth, vae=vae)
    return vae.eval(), n2m.eval()


@pytest.mark.parametrize("vae_depth, nir_depth", [(v, d) for v in (0, 1, 3) for d in (0, 2, 3)])
def test_numpy_encoders_of_every_depth_equal_torch(vae_depth, nir_depth):
    """The NumPy VAE and NIR encoder against the torch modules of soilnb.models.nets (random weights, depths 0 to
    3, VAE and NIR encoder of different widths): latent, reconstruction and conversion within float32 rounding;
    rebuilt on torch (the torch engine), the modules' own numbers bit for bit."""
    vae, n2m = _random_models(vae_depth, nir_depth)
    state = {k: v.detach().numpy().copy() for k, v in vae.state_dict().items()}
    nv = NumpyVAE(model_config(vae), state)
    nn_ = NumpyNIRtoMIR(model_config(n2m), {k: v.detach().numpy().copy() for k, v in n2m.state_dict().items()})
    rng = np.random.default_rng(vae_depth * 10 + nir_depth)
    mir, nir = rng.normal(size=(40, 150)).astype(np.float32), rng.normal(size=(40, 90)).astype(np.float32)
    with torch.no_grad():
        m, q = torch.from_numpy(mir), torch.from_numpy(nir)
        want = {"VAE embedding": (nv.latent(mir), vae.embed(m)),
                "VAE reconstruction": (nv.reconstruct(mir), vae.decode(vae.embed(m))),
                "NIR embedding": (nn_.latent(nir), n2m.nir_encoder(q)),
                "NIR reconstruction": (nn_.reconstruct(nir), n2m.nir_decoder(n2m.nir_encoder(q))),
                "NIR to MIR": (nn_.convert(nir), n2m.mir_decoder(n2m.nir_encoder(q)))}
    for what, (a, b) in want.items():
        assert a.dtype == np.float32, what
        _close(a, b.numpy(), f"{what} (depths {vae_depth}, {nir_depth})")
    assert len(nv.encoder.weights) == vae_depth + 1 and len(nn_.nir_encoder.weights) == nir_depth + 1
    tv, tn = on_torch(nv), on_torch(nn_)
    np.testing.assert_array_equal(tv.latent(mir), embed(vae, mir))
    np.testing.assert_array_equal(tn.convert(nir), convert(n2m, nir))


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
def test_a_calibration_sigma_of_zero_warns_nothing_and_gives_crepes_numbers():
    """Normalised intervals where calibration difficulties (and new rows' sigmas) are 0: scores of inf (and NaN
    for a residual of 0) as crepes computes them, the same intervals, and no RuntimeWarning (an error here);
    the cached scores are read-only."""
    rng = np.random.default_rng(7)
    res = rng.normal(0, 0.3, size=(30, 1))
    res[3] = 0.0
    sig = rng.uniform(0.5, 2.0, 30)
    sig[[0, 3, 5]] = 0.0                                   # |r| / 0 = inf twice, 0 / 0 = NaN once
    cal = Calibration(["pH"], ["identity"], np.array([0.0]), np.array([14.0]), res, res.std(axis=0), sig)
    pred = pd.DataFrame({"pH": rng.uniform(4.0, 8.0, 6)})
    new_sig = np.r_[0.0, rng.uniform(0.5, 3.0, 5)]
    for coverage in (0.5, 0.9, 0.92, 0.95):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lo, hi = cal.intervals(pred, coverage, sigmas=new_sig)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iv = ConformalRegressor().fit(res[:, 0], sigmas=sig).predict_int(
                pred["pH"].to_numpy(), sigmas=new_sig, confidence=coverage - NUDGE, y_min=0.0, y_max=14.0)
        np.testing.assert_array_equal(lo["pH"].to_numpy(), iv[:, 0])
        np.testing.assert_array_equal(hi["pH"].to_numpy(), iv[:, 1])
    for normalized in (False, True):
        scores = cal.scores(0, normalized)
        assert not scores.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            scores[0] = 0.0


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
