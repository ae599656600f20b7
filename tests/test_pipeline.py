"""End-to-end checks of the cached stages on a tiny simulated world (strategies, conversion, reliability)."""
import numpy as np
import pytest

from soilnb import stages as pipeline
from soilnb.core import paths
from soilnb.core.config import get_config
from soilnb.core.vocab import PROPERTIES, STRATEGIES
from soilnb.models.inference import embed
from soilnb.stages import training
from soilnb.stages.strategies import qualitative_findings, strategy_means
from soilnb.stats import metrics

TINY = dict(n_kssl=150, n_paired=70, n_test=30, vae_hidden=64, vae_epochs=2, nir_epochs=3, nir_hidden=64,
            mlp_hidden=32, mlp_epochs=3, pls_max_components=4, cv_folds=3, cv_repeats=2, fno_epochs=2, fno_width=8,
            fno_modes=8, latent_dim=8)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "CACHE", root)
    cfg = get_config("smoke", **TINY)
    F = pipeline.get_features(cfg)
    vae, vh = pipeline.get_vae(cfg, F, progress=False)
    n2m, nh = pipeline.get_nir_to_mir(cfg, F, vae, progress=False)
    res = pipeline.get_regressions(cfg, F, vae, n2m)
    yield dict(cfg=cfg, F=F, vae=vae, n2m=n2m, res=res, root=root, nh=nh)
    mp.undo()


def test_features_shapes_and_snv(run):
    F = run["F"]
    assert F.kssl_scans.shape == (150 * 4, 1701) and F.paired_nir.shape == (70, 551)
    assert F.test_mir.shape == (30, 1701) and len(F.test_Y) == 30
    np.testing.assert_allclose(F.paired_mir.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(F.paired_mir.std(1), 1, atol=1e-4)
    assert F.nir_axis[0] == 1400 and F.nir_axis[-1] == 2500


def test_vae_cache_is_reused_and_invalidated(run, monkeypatch):
    cfg, F = run["cfg"], run["F"]
    calls = []
    real = training.train_vae
    monkeypatch.setattr(training, "train_vae", lambda *a, **k: calls.append(1) or real(*a, **k))
    v1, _ = pipeline.get_vae(cfg, F, progress=False)            # cached: no training
    assert calls == []
    np.testing.assert_array_equal(embed(v1, F.test_mir), embed(run["vae"], F.test_mir))
    pipeline.get_vae(get_config("smoke", **{**TINY, "vae_beta": 0.01}), F, progress=False)
    assert calls == [1]                                          # a changed parameter retrains


def test_frozen_decoder_unchanged_and_alpha_schedule(run):
    vae, n2m, h = run["vae"], run["n2m"], run["nh"]
    for (k, a), b in zip(vae.decoder.state_dict().items(), n2m.mir_decoder.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    np.testing.assert_allclose(h["alpha"], np.linspace(1, 0, 3))


def test_seven_strategies_back_transformed(run):
    res = run["res"]
    for split, n in (("test", 30), ("validation", 14)):
        assert list(res.predictions[split]) == list(STRATEGIES)
        for s, df in res.predictions[split].items():
            assert list(df.columns) == list(PROPERTIES) and len(df) == n
            np.testing.assert_allclose(df[["clay", "silt", "sand"]].sum(axis=1), 100, atol=1e-8)


def test_appendix_b_table_matches_metrics_module(run):
    res = run["res"]
    table = metrics.metrics_table(res.observed["test"], res.predictions["test"])
    assert len(table) == 63 and list(table.columns) == ["property", "strategy", "rmse", "me", "r2", "ccc", "rpiq"]
    row = table[(table.property == "pH") & (table.strategy == "NIR-PLSR")].iloc[0]
    y, p = res.observed["test"]["pH"].to_numpy(), res.predictions["test"]["NIR-PLSR"]["pH"].to_numpy()
    # independent hand computation of Eqs. 10, 11 and 14
    np.testing.assert_allclose(row.rmse, np.sqrt(np.mean((y - p) ** 2)), rtol=1e-12)
    np.testing.assert_allclose(row.me, np.mean(p - y), rtol=1e-12)
    q1, q3 = np.percentile(y, [25, 75])
    np.testing.assert_allclose(row.rpiq, (q3 - q1) / row.rmse, rtol=1e-12)
    means = strategy_means(table)
    np.testing.assert_allclose(means.set_index("strategy").loc["MIR-MLP", "ccc"],
                               table[table.strategy == "MIR-MLP"].ccc.mean())
    assert len(qualitative_findings(table)) == 5


def test_conversions_and_baseline(run):
    from soilnb.stats.conversion import conversion_table

    conv = pipeline.get_conversions(run["cfg"], run["F"], run["vae"], run["n2m"])
    t = conversion_table(conv)
    assert set(zip(t.method, t.dataset)) == {(m, d) for m in ("frozen-decoder", "PLS2 baseline", "training-mean spectrum")
                                             for d in ("validation", "test")}
    assert conv["test"]["frozen-decoder"].shape == (30, 1701)
    # the PLS2 baseline (components by CV) must beat predicting the training-mean MIR spectrum on the
    # validation split (same instruments; the tiny test set is scanned on other instruments)
    tr, va = run["F"].paired_split
    mean_rmse = np.sqrt(((run["F"].paired_mir[va] - run["F"].paired_mir[tr].mean(0)) ** 2).mean())
    t = t.set_index(["method", "dataset"])["rmse"]
    assert t[("PLS2 baseline", "validation")] < mean_rmse
    assert t[("training-mean spectrum", "validation")] == pytest.approx(mean_rmse, rel=1e-5)   # the table's floor row


def test_internal_cv_and_shift(run):
    from soilnb.stages import reliability

    cfg, F = run["cfg"], run["F"]
    cv = pipeline.get_internal_cv(cfg, F)
    assert cv.groupby("dataset").size().to_dict() == {"NAPT": 3 * 2 * 9, "Paired": 3 * 2 * 9}
    shift = reliability.latent_shift(cfg, F, run["vae"], run["n2m"])
    assert list(shift.table["set"])[0] == "KSSL (training)"
    kssl_share = shift.table.set_index("set").loc["KSSL (training)", "flagged_share"]
    assert 0.0 < kssl_share < 0.15 and isinstance(shift.Fd, int)


def test_stage_two_and_three_share_the_paired_split(run):
    _, va = run["F"].paired_split
    np.testing.assert_array_equal(np.asarray(run["nh"]["val_idx"]), va)
    assert len(run["res"].observed["validation"]) == len(va)


def test_unknown_strategy_rejected(run):
    from soilnb.stages.strategies import fit_strategies

    with pytest.raises(ValueError, match="unknown strategies"):
        fit_strategies(run["cfg"], run["F"], run["vae"], run["n2m"], strategies=("MIR-XGB",))


def test_latent_prior_keeps_nir_embeddings_near_mir_ones(run):
    """The prior term pulls each NIR embedding dimension toward the range of the MIR embeddings: the mean
    squared standardised distance of z_NIR from the MIR embeddings' mean (what the term penalises) falls."""
    from soilnb.models.train import train_nir_to_mir

    F, vae = run["F"], run["vae"]
    tr, _ = F.paired_split
    z_mir = embed(vae, F.paired_mir[tr])
    m, s = z_mir.mean(0), np.sqrt(np.maximum(z_mir.var(0), 1e-3))       # as train_nir_to_mir computes them
    spread = {}
    for w in (0.0, 1.0):
        model, _ = train_nir_to_mir(vae, F.paired_nir, F.paired_mir, F.paired_id, split=F.paired_split, hidden=64,
                                    epochs=20, batch_size=32, lr=1e-3, seed=0, latent_prior=w, progress=False)
        spread[w] = float(np.mean(((embed(model, F.paired_nir[tr]) - m) / s) ** 2))
    assert spread[1.0] < 0.5 * spread[0.0]


def _small_world():
    from soilnb.data.simulate.world import simulate_world
    return simulate_world(n_kssl=40, n_scans=2, n_paired=30, n_test=20, seed=3)


def test_features_reject_a_test_set_on_another_grid():
    from dataclasses import replace
    w = _small_world()
    # a test set sampled 1 nm off the Paired grid: an error naming the grids, never channels paired by position
    shifted = w.test_nir.with_spectra(w.test_nir.X, axis=w.test_nir.axis + 1.0)
    with pytest.raises(ValueError, match=r"test NIR .*wrong grid"):
        pipeline.get_features(get_config("smoke"), replace(w, test_nir=shifted))


def test_features_say_which_incomplete_rows_they_drop():
    from dataclasses import replace
    w = _small_world()
    props = w.test_nir.properties.copy()
    props.loc[props.index[:8], "CEC"] = np.nan
    lib = replace(w.test_nir, properties=props)
    with pytest.warns(UserWarning, match=r"test set: dropped 8 of 20 samples .*'CEC': 8"):
        F = pipeline.get_features(get_config("smoke"), replace(w, test_nir=lib))
    assert len(F.test_Y) == 12 and F.test_nir.shape[0] == F.test_mir.shape[0] == 12
    np.testing.assert_array_equal(F.test_id, w.test_nir.sample_id[8:])
    props.loc[:, "CEC"] = np.nan
    # an entirely empty column is reported, never filled: not scored on the test set ...
    with pytest.warns(UserWarning, match=r"test set: column\(s\) \['CEC'\] are empty for all 20 samples: not scored"):
        F = pipeline.get_features(get_config("smoke"), replace(w, test_nir=replace(w.test_nir, properties=props)))
    assert "CEC" not in F.test_Y.columns and len(F.test_Y) == 20 and "CEC" in F.properties
    # ... and not modelled when a training library has no value of it
    paired = w.paired_nir.properties.copy()
    paired["CEC"] = np.nan
    with pytest.warns(UserWarning, match=r"property CEC has no value in the paired_nir library: not modelled"):
        F = pipeline.get_features(get_config("smoke"), replace(w, paired_nir=replace(w.paired_nir, properties=paired)))
    assert F.properties == ("TC", "TN", "IC", "EOC", "pH", "clay", "silt", "sand")
    assert list(F.kssl_Y.columns) == list(F.properties) == list(F.paired_Y.columns)
    with pytest.raises(ValueError, match=r"property \['Zn'\] not in the data"):
        pipeline.get_features(get_config("smoke", properties="TC,Zn"), w)


def test_real_data_world_is_keyed_by_file_content(tmp_path):
    """An edit of an OSSL file that keeps its size and mtime still changes the world's cache key."""
    import os

    from soilnb.stages import features

    f = tmp_path / "ossl_mir_L0_v1.2.csv.gz"
    f.write_bytes(b"abc")
    cfg = get_config("smoke", source="ossl", data_dir=str(tmp_path))
    before = features.data_params(cfg)
    st = f.stat()
    f.write_bytes(b"abd")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    features._content_hash_of.cache_clear()          # a new process: nothing remembered
    after = features.data_params(cfg)
    assert before["files"][str(f)] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert after["files"] != before["files"]


def test_stage_keys_follow_the_vae_passed_in_and_the_world(tmp_path, monkeypatch):
    """The NIR -> MIR key holds the latent size of the VAE it is given (not cfg.latent_dim), and every
    trained stage's key holds the world's key, so an edited input file reaches the VAE too."""
    from types import SimpleNamespace

    from soilnb.stages import features, training

    seen = []
    monkeypatch.setattr(training, "model_cache", lambda step, params, compute, loader: seen.append(params))
    cfg = get_config("smoke")
    for latent in (16, 32):
        training.get_nir_to_mir(cfg, vae=SimpleNamespace(cfg=SimpleNamespace(latent_dim=latent)))
    assert [p["latent_dim"] for p in seen] == [16, 32] and seen[0] != seen[1]

    f = tmp_path / "ossl_mir_L0_v1.2.csv.gz"
    f.write_bytes(b"abc")
    real = get_config("smoke", source="ossl", data_dir=str(tmp_path))
    before = training.vae_params(real)
    f.write_bytes(b"abd")
    features._content_hash_of.cache_clear()
    assert training.vae_params(real)["world"] != before["world"]


def test_regressors_fitted_side_by_side_are_those_fitted_in_turn(run):
    """fit_regressors in two worker processes (one thread each) gives the regressors fit_regressor gives here on
    the caller's threads: the same predictions bit for bit, and a worker's warnings are raised here."""
    from joblib.externals.loky import get_reusable_executor
    from threadpoolctl import threadpool_limits

    from soilnb.models.torchutil import torch_threads
    from soilnb.stages.strategies import fit_regressor, fit_regressors

    import dataclasses

    cfg, F = dataclasses.replace(run["cfg"], device="cpu"), run["F"]     # the side-by-side path is the CPU's
    tr = F.paired_split[0]
    jobs = {"MIR-MLP": ("mlp", F.kssl, F.kssl_Y, F.kssl_id, 1),
            "NIR-PLSR": ("pls", F.paired_nir[tr], F.paired_Y.iloc[tr].reset_index(drop=True), F.paired_id[tr], 0),
            "MIR-PLSR": ("pls", F.kssl, F.kssl_Y, F.kssl_id, 0)}
    with pytest.warns(UserWarning) as raised:
        both = fit_regressors(jobs, cfg, workers=2, min_values=0)
    get_reusable_executor().shutdown(wait=True)      # its idle workers would outlive the test (other tests count them)
    assert list(both) == list(jobs)
    with pytest.warns(UserWarning) as here:
        alone = {n: fit_regressor(k, X, Y, g, cfg, seed_offset=o) for n, (k, X, Y, g, o) in jobs.items()}
    def said(ws):
        return sorted((w.category.__name__, str(w.message)) for w in ws)

    assert said(raised) == said(here) and len(said(here)) >= 2
    with pytest.warns(UserWarning), torch_threads(1), threadpool_limits(1):
        one = fit_regressors(jobs, cfg, workers=1)                         # in turn, one thread each
    for name, (_, X, _, _, _) in jobs.items():
        new = X[:20] if name.startswith("MIR") else F.paired_nir[:20]
        for fitted in (both, one):
            np.testing.assert_array_equal(fitted[name].predict(new).to_numpy(), alone[name].predict(new).to_numpy())
