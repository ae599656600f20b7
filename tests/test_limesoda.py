"""The LimeSoDa benchmark (soilnb.stages.limesoda): pooled scoring, the outer-fold protocol, the comparison."""
import numpy as np
import pandas as pd
import pytest

from soilnb.stages import limesoda as L
from soilnb.stats.metrics import r2

TINY = L.Settings(pls_max_components=3, latent_dim=2, hidden=8, max_steps=24, patience_steps=12)


def _synthetic_set(n=40, k=600, seed=0) -> L.LimeSoDaSet:
    """Raw % reflectance (distinct rows, some above 100 %), three targets, ten outer folds."""
    rng = np.random.default_rng(seed)
    axis = np.linspace(350, 2500, k)
    base = 30 + 20 * np.sin(axis / 300)
    raw = base * rng.uniform(0.6, 1.4, size=(n, 1)) + rng.normal(0, 1, size=(n, k))
    raw[0, :50] = 120.0 + rng.uniform(0, 5, 50)                   # above 100 %, as in H.138
    soc = np.exp(rng.normal(0, 0.5, n))
    targets = pd.DataFrame({"SOC": soc, "pH": rng.normal(6.5, 0.6, n), "Clay": rng.uniform(5, 40, n)})
    return L.LimeSoDaSet("SYN.40", "visNIR", axis, "nm", raw, targets, np.arange(n) % 10 + 1)


# ------------------------------------------------------------------------------------------------ scoring
def test_pooled_r2_is_one_minus_sse_over_sst_on_all_folds_together():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    pred = np.array([1.5, 1.5, 3.5, 3.0, 5.5, 6.5])
    fold = np.array([1, 1, 2, 2, 3, 3])
    sse = sum((a - b) ** 2 for a, b in zip(y, pred))
    sst = sum((a - 3.5) ** 2 for a in y)
    assert (sse, sst) == (2.25, 17.5)                              # 0.25 * 5 + 1, and 2 * (2.5^2 + 1.5^2 + 0.5^2)
    got = L.pooled_scores(y, pred)
    assert got["r2"] == pytest.approx(1 - sse / sst)
    assert got["rmse"] == pytest.approx(np.sqrt(sse / 6))
    # the mean of per-fold R2 is another number entirely on small folds: (0 - 1.5 + 0) / 3
    per_fold = np.mean([r2(y[fold == f], pred[fold == f]) for f in (1, 2, 3)])
    assert per_fold == pytest.approx(-0.5)
    assert got["r2"] - per_fold > 1


# ------------------------------------------------------------------------------------------------ folds
def test_fold_data_splits_rows_by_outer_fold_only():
    ds = _synthetic_set()
    X = L.absorbance_snv(ds.raw)
    seen = []
    for k in range(1, 11):
        f = L.fold_data(X, ds.targets, ds.folds, k)
        assert set(f.test) == set(np.flatnonzero(ds.folds == k))
        assert not set(f.train) & set(f.test) and len(f.train) + len(f.test) == ds.n
        train_rows = {r.tobytes() for r in f.X_train}
        assert not any(r.tobytes() in train_rows for r in X[f.test])  # no test spectrum among the training ones
        pd.testing.assert_frame_equal(f.Y_train, ds.targets.iloc[f.train].reset_index(drop=True))
        seen.extend(f.test)
    assert sorted(seen) == list(range(ds.n))
    with pytest.raises(ValueError, match="empty"):
        L.fold_data(X, ds.targets, ds.folds, 11)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("strategy", L.LIMESODA_STRATEGIES)
def test_no_test_fold_spectrum_reaches_pretraining_or_fitting(monkeypatch, strategy):
    """Every array given to the VAE, the MLPs and PLS comes from fold_data's training set, never the test fold."""
    ds = _synthetic_set()
    X = L.absorbance_snv(ds.raw)
    fitted = []
    real_vae, real_mlp_fit, real_pls_fit = L.train_vae, L.MLPRegressor.fit, L.PLSR.fit

    def vae(Xtr, *a, **kw):
        fitted.append(("vae", np.array(Xtr)))
        return real_vae(Xtr, *a, **kw)

    def mlp_fit(self, Xtr, Y, groups=None):
        fitted.append(("mlp", np.array(Xtr)))
        return real_mlp_fit(self, Xtr, Y, groups)

    def pls_fit(self, Xtr, y, groups=None):
        fitted.append(("pls", np.array(Xtr)))
        return real_pls_fit(self, Xtr, y, groups)

    monkeypatch.setattr(L, "train_vae", vae)
    monkeypatch.setattr(L.MLPRegressor, "fit", mlp_fit)
    monkeypatch.setattr(L.PLSR, "fit", pls_fit)
    for k in (1, 7):
        fitted.clear()
        f = L.fold_data(X, ds.targets, ds.folds, k)
        pred = L.fit_predict_fold(f, strategy, TINY, seed=k)
        assert pred.shape == (len(f.test), 3) and np.isfinite(pred).all()
        test_rows = {r.astype(np.float32).tobytes() for A in (X[f.test], L.bin_channels(X[f.test])) for r in A}
        spectra_fits = [(what, A) for what, A in fitted if A.shape[1] > TINY.latent_dim]
        assert spectra_fits, "no fit was recorded"
        kinds = {"PLSR": {"pls"}, "MLP": {"mlp"}, "SSL": {"vae"}}[strategy]
        assert {w for w, _ in spectra_fits} == kinds
        for what, A in spectra_fits:
            assert len(A) == len(f.train), f"{what} saw {len(A)} rows, the training folds have {len(f.train)}"
            assert not any(r.astype(np.float32).tobytes() in test_rows for r in A), f"{what} saw a test spectrum"


def test_out_of_fold_predicts_each_row_once_with_the_model_of_its_fold(monkeypatch):
    ds = _synthetic_set()
    calls = []

    def fake(fold, strategy, st, seed=0, device="cpu"):
        calls.append((fold.k, set(fold.train), set(fold.test)))
        return np.full((len(fold.test), 3), float(fold.k))

    monkeypatch.setattr(L, "fit_predict_fold", fake)
    out = L.out_of_fold(ds, "PLSR", TINY)
    assert [c[0] for c in calls] == list(range(1, 11))
    for k, train, test in calls:
        assert test == set(np.flatnonzero(ds.folds == k)) and train == set(range(ds.n)) - test
    assert len(out) == 3 * ds.n and (out["predicted"] == out["fold"]).all()
    assert list(out.columns) == ["dataset", "row", "fold", "target", "strategy", "observed", "predicted"]


# ------------------------------------------------------------------------------------------------ inputs
def test_preprocessing_keeps_reflectance_above_100_percent():
    ds = _synthetic_set()
    X = L.absorbance_snv(ds.raw)
    assert np.isfinite(X).all()
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=1), 1)
    # -log10(R) is negative where R > 100 % and the row keeps its shape (no clipping to a flat 100 %)
    assert np.ptp(X[0, :50]) > 0
    with pytest.raises(ValueError, match="> 0|Negative"):
        L.absorbance_snv(np.where(np.eye(3, 5) > 0, -1.0, 20.0))


def test_bin_channels_averages_adjacent_channels():
    X = np.arange(2 * 1030, dtype=float).reshape(2, 1030)
    B = L.bin_channels(X, 512)                                     # width 3: 343 full bins and one of 1
    assert B.shape == (2, 344)
    np.testing.assert_allclose(B[0, :2], [1.0, 4.0])
    assert B[0, -1] == X[0, -1]
    assert L.bin_channels(X[:, :500], 512).shape == (2, 500)       # already small: unchanged


def test_fold_settings_rule():
    small, large = L.fold_settings(L.Settings(), 38), L.fold_settings(L.Settings(), 414)
    assert small["batch"] == 8 and large["batch"] == 32
    assert small["latent_dim"] == 16 and large["latent_dim"] == 32
    for fs, n in ((small, 38), (large, 414)):                      # ~max_steps optimiser steps in all
        per_epoch = round(n * 0.8) // fs["batch"]
        assert 1000 <= fs["epochs"] * per_epoch < 1000 + per_epoch


# ------------------------------------------------------------------------------------------------ comparison
def _table():
    rows = []
    for d, rng, scores in (("A.1", "MIR", (0.9, 0.5, 0.7)), ("B.2", "visNIR", (0.2, 0.6, -3.0))):
        for s, v in zip(L.LIMESODA_STRATEGIES, scores):
            rows.append({"dataset": d, "spectral_range": rng, "n": 10, "target": "pH", "strategy": s, "r2": v,
                         "rmse": 1.0})
    return pd.DataFrame(rows)


def test_compare_with_published_and_win_summary(tmp_path):
    pub = pd.DataFrame({"dataset": ["A.1", "A.1", "B.2"], "spectral_range": ["MIR", "MIR", "visNIR"], "n": 10,
                        "target": "pH", "metric": ["R2", "RMSE", "R2"], "MLR": 0.0, "SVR": 0.0, "CatBoost": 0.0,
                        "RF": 0.0, "best_published": ["SVR", "SVR", "RF"], "best_published_score": [0.8, 0.3, 0.65]})
    pub.to_csv(tmp_path / "pub.csv", index=False)
    cmp = L.compare_with_published(_table(), tmp_path / "pub.csv")
    assert list(cmp["best_strategy"]) == ["PLSR", "MLP"]
    np.testing.assert_allclose(cmp["r2_diff"], [0.1, -0.05])
    assert list(cmp["win"]) == [True, False] and list(cmp["published_learner"]) == ["SVR", "RF"]
    summary = L.win_summary(cmp).set_index("ours")
    assert summary.loc["best of ours", "won"] == 1 and summary.loc["best of ours", "cases"] == 2
    assert summary.loc["best of ours", "median_r2_diff"] == pytest.approx(0.025)
    assert summary.loc["SSL", "won"] == 0 and summary.loc["PLSR", "won"] == 1


def test_published_scores_ship_with_the_package_and_cover_every_case():
    """The published table is package data: every dataset and target the benchmark runs has its R2 and RMSE."""
    pub = L.read_published()
    for d in L.LIMESODA_SETS:
        rows = pub[pub["dataset"] == d]
        assert set(rows["metric"]) == {"R2", "RMSE"} and rows["target"].nunique() == 3, d
    # a value checked against the published file (Schmidinger et al. 2025): SVR on H.138 SOC
    h = pub[(pub["dataset"] == "H.138") & (pub["target"] == "SOC") & (pub["metric"] == "R2")].iloc[0]
    assert h["best_published"] == "SVR" and h["best_published_score"] == pytest.approx(0.9155)


def test_compare_with_published_names_cases_without_a_published_score(tmp_path):
    pub = L.read_published()
    pub[pub["dataset"] != "B.2"].to_csv(tmp_path / "pub.csv", index=False)
    table = _table()
    table["dataset"] = table["dataset"].replace({"A.1": "H.138"})
    with pytest.raises(ValueError, match="no published R2 for 1 case.*B.2 pH"):
        L.compare_with_published(table, tmp_path / "pub.csv")


def test_figure_draws_every_case():
    pytest.importorskip("matplotlib")
    from soilnb.report.figures_limesoda import fig_limesoda_r2

    cmp = pd.DataFrame({"dataset": ["A.1", "B.2"], "spectral_range": ["MIR", "visNIR"], "target": ["SOC", "pH"],
                        "r2": [0.8, -2.0], "published_r2": [0.7, 0.5]})
    fig = fig_limesoda_r2(cmp)
    assert "1 of 2" in fig.axes[0].get_title()


# ------------------------------------------------------------------------------------------------ real data
def test_missing_package_says_how_to_install(monkeypatch):
    from soilnb.stages import limesoda_data

    monkeypatch.setattr(limesoda_data, "LimeSoDa", None)
    with pytest.raises(ImportError, match="pip install limesoda"):
        L.load_set("O.32")


def test_real_sets_load_with_folds_and_targets():
    pytest.importorskip("LimeSoDa", reason="the package 'limesoda' is not installed (pip install limesoda): "
                                           "the LimeSoDa data tests are skipped")
    for name, unit, target in (("H.138", "cm-1", "SOC"), ("SP.231", "nm", "SOM")):
        ds = L.load_set(name)
        assert ds.unit == unit and list(ds.targets.columns) == [target, "pH", "Clay"]
        assert ds.n == int(name.split(".")[1]) and sorted(set(ds.folds)) == list(range(1, 11))
        assert np.isfinite(L.absorbance_snv(ds.raw)).all()         # H.138 reaches 140 %: kept, finite
    assert L.load_set("H.138").raw.max() > 100
    with pytest.raises(ValueError, match="unknown"):
        L.load_set("BB.250")


def test_worker_processes_compute_the_same_numbers_as_one_process(monkeypatch):
    """Entries computed by two spawned workers equal those computed in this process, bit for bit."""
    pytest.importorskip("LimeSoDa", reason="the package 'limesoda' is not installed (pip install limesoda)")
    from soilnb.core.config import get_config

    monkeypatch.setenv("SOILNB_CACHE", "off")                      # compute every entry, store none
    cfg = get_config("smoke", device="cpu")
    kw = dict(datasets=("O.32",), strategies=("PLSR", "MLP"))
    one = L.limesoda_predictions(cfg, workers=1, **kw)
    two = L.limesoda_predictions(cfg, workers=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["strategy"]) == {"PLSR", "MLP"} and len(one) == 2 * 3 * 32
