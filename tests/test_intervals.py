"""Interval machinery beyond the bundle: CV+ (MAPIE) against the textbook formula, the LimeSoDa coverage table
against its per-sample rows, small calibration sets, and a NIR-only bundle (no latent space, so no flags, no
interval-support check and no weighted intervals)."""
import math

import numpy as np
import pandas as pd
import pytest
from mapie.regression import CrossConformalRegressor
from sklearn.model_selection import KFold

from soilnb import apply, stages
from soilnb.core import paths
from soilnb.core.config import get_config
from soilnb.data.library import World
from soilnb.data.simulate.world import simulate_world
from soilnb.stages.strategies import fit_strategies
from soilnb.stats.pls import PLSR
from soilnb.stats.targets import TargetTransformer


def test_cv_plus_is_the_textbook_formula():
    """MAPIE's CV+ bounds (as :mod:`soilnb.apply.coverage` calls it) equal Barber et al. (2021), Eq. 8, by hand:
    the floor(alpha (n + 1))-th smallest of mu_{-k(i)}(x) - R_i and the ceil((1 - alpha)(n + 1))-th smallest of
    mu_{-k(i)}(x) + R_i, with R_i the out-of-fold residuals."""
    rng = np.random.default_rng(0)
    n, k = 57, 40
    X = rng.normal(size=(n, k))
    y = X @ rng.normal(size=k) * 0.3 + rng.normal(size=n)
    Xt = rng.normal(size=(5, k))
    cv = KFold(5, shuffle=True, random_state=1)
    _, pis = CrossConformalRegressor(PLSR(n_components=3), confidence_level=0.9, method="plus", cv=cv,
                                     random_state=1).fit_conformalize(X, y).predict_interval(Xt)
    mu, R = np.zeros((n, len(Xt))), np.zeros(n)
    for tr, te in cv.split(X):
        f = PLSR(n_components=3).fit(X[tr], y[tr])
        R[te] = np.abs(y[te] - f.predict(X[te]))
        mu[te] = f.predict(Xt)
    lo = np.sort(mu - R[:, None], axis=0)[math.floor(0.1 * (n + 1)) - 1]
    hi = np.sort(mu + R[:, None], axis=0)[math.ceil(0.9 * (n + 1)) - 1]
    np.testing.assert_allclose(pis[:, 0, 0], lo, rtol=1e-12)
    np.testing.assert_allclose(pis[:, 1, 0], hi, rtol=1e-12)


def test_limesoda_coverage_of_the_smallest_set(tmp_path, monkeypatch):
    pytest.importorskip("LimeSoDa")
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    cfg = get_config("smoke")
    rows = apply.limesoda_set_coverage(cfg, "O.32")
    ds = stages.load_set("O.32")
    assert len(rows) == ds.n * 3 and (rows.groupby("target")["row"].nunique() == ds.n).all()
    np.testing.assert_allclose(rows[rows["target"] == "pH"].sort_values("row")["observed"], ds.targets["pH"])
    assert (rows["lower"] <= rows["predicted"] + 1e-9).all() and (rows["predicted"] <= rows["upper"] + 1e-9).all()
    table = apply.limesoda_coverage(cfg, ["O.32"]).set_index("target")
    g = rows[rows["target"] == "Clay"]
    covered = (g["lower"] <= g["observed"]) & (g["observed"] <= g["upper"])
    assert table.loc["Clay", "coverage"] == pytest.approx(covered.mean())
    assert table.loc["Clay", "n_flagged"] == int(g["flagged"].sum())
    # SOC is modelled on the log1p scale: its intervals are not symmetric around the prediction
    s = rows[rows["target"] == "SOC"]
    assert not np.allclose(s["upper"] - s["predicted"], s["predicted"] - s["lower"])


def test_too_small_a_calibration_set_gives_the_physical_range():
    tt = TargetTransformer().fit(pd.DataFrame({"pH": [5.0, 6.0, 7.0], "clay": [10.0, 20.0, 30.0]}))
    obs = pd.DataFrame({"pH": [5.0, 6.0, 7.0, 6.5], "clay": [10.0, 20.0, 30.0, 25.0]})
    c = apply.Calibration.fit(obs, obs + 0.5, tt)
    with pytest.warns(UserWarning, match="4 calibration samples are too few for 90 % intervals"):
        lo, hi = c.intervals(obs, 0.9)
    assert (lo["pH"] == 0).all() and (hi["pH"] == 14).all() and (lo["clay"] == 0).all() and (hi["clay"] == 100).all()
    lo, hi = c.intervals(obs, 0.75)               # int(0.25 * 5) = 1: the largest |residual| (0.5)
    np.testing.assert_allclose(hi["pH"] - obs["pH"], 0.5)


def test_nir_only_bundle_has_no_flags(tmp_path, monkeypatch):
    """A NIR-only world (no VAE, no NIR encoder): the bundle holds NIR-PLSR and NIR-MLP, intervals but no shift or
    novelty reference; its flags are empty and normalised intervals are refused with the reason."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    sim = simulate_world(n_kssl=20, n_scans=1, n_paired=120, n_test=30, seed=5)
    cfg = get_config("smoke", mlp_hidden=32, mlp_epochs=5, pls_max_components=5)
    F = stages.get_features(cfg, World(paired_nir=sim.paired_nir, test_nir=sim.test_nir))
    with pytest.warns(UserWarning, match="skipped"):
        res = fit_strategies(cfg, F, None, None)
    b = apply.load_bundle(apply.build_bundle(cfg, F, None, None, res).save(tmp_path / "bundle"))
    assert list(b.grids) == ["NIR"] and list(b.strategies) == ["NIR-PLSR", "NIR-MLP"] and not b.shift
    per, fl = apply.predict_arrays(b, "NIR", F.test_nir, ["NIR-PLSR"])
    assert fl["shift_distance"].isna().all() and not fl["shift_flag"].any() and not fl["novelty_flag"].any()
    assert b.calibration["NIR-PLSR"].n == len(F.paired_split[1])
    with pytest.raises(ValueError, match="normalized intervals need difficulty estimates"):
        apply.predict_arrays(b, "NIR", F.test_nir, ["NIR-PLSR"], normalized=True)
    # without a latent or novelty reference the interval support is not checked (said in the note), and weighted
    # intervals, which need the calibration samples' embeddings, are refused
    sup, note = apply.support.interval_support(b, "NIR", "NIR-PLSR", fl, per["NIR-PLSR"][0].attrs["clipped"])
    assert sup.all() and all(n.startswith("not checked") for n in note)
    with pytest.raises(ValueError, match="latent embeddings"):
        apply.predict_arrays(b, "NIR", F.test_nir, ["NIR-PLSR"], weighted=True)
    assert "limits" in b.info and "shift_distance_limit" not in b.info["limits"]["NIR"]
    with pytest.raises(ValueError, match="this bundle has no MIR model"):
        apply.prepare(b, sim.test_mir)
