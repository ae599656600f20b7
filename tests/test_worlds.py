"""Worlds of any shape: any set of properties, MIR only or NIR only, through the features and the strategies.

The real case of issue 13: 500 real KSSL MIR spectra carrying organic carbon, clay and CEC only (no NIR, no
Paired set) read from a plain CSV (``source="files"``), the MIR strategies run end to end and the NIR ones
skipped with a reason.
"""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from soilnb import stages
from soilnb.core import paths
from soilnb.core.config import get_config
from soilnb.data.library import World
from soilnb.data.simulate.world import simulate_world
from soilnb.models.inference import embed
from soilnb.stages.strategies import available_strategies, fit_strategies
from soilnb.stats import metrics

SMALL = dict(vae_hidden=64, vae_epochs=3, mlp_hidden=32, mlp_epochs=20, pls_max_components=8, latent_dim=8)
NIR_STRATEGIES = ("NIR-PLSR", "NIR-MLP", "NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP")
MIR_STRATEGIES = ("MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP")


@pytest.fixture(scope="module")
def sim():
    return simulate_world(n_kssl=120, n_scans=2, n_paired=60, n_test=40, seed=5)


def _keep(lib, cols):
    return replace(lib, properties=lib.properties[cols])


def test_mir_only_world_three_properties(sim, tmp_path, monkeypatch):
    """MIR only, TC + pH + clay: the MIR strategies run and predict just those; clay alone is no composition
    (no ILR, no closure); NIR strategies and the Paired validation set are skipped with their reasons."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    cols = ["TC", "pH", "clay"]
    w = World(kssl=_keep(sim.kssl, cols), test_mir=_keep(sim.test_mir, cols))
    assert w.ranges == ("MIR",)
    cfg = get_config("smoke", **SMALL)
    F = stages.get_features(cfg, w)
    assert F.properties == tuple(cols) and F.ranges == ("MIR",) and F.paired_nir is None and F.nir_axis is None
    assert available_strategies(F) == (list(MIR_STRATEGIES), {
        s: f"needs {need} spectra, which this world does not hold"
        for s, need in zip(NIR_STRATEGIES, ["Paired NIR", "Paired NIR", "Paired NIR and Paired MIR",
                                            "Paired NIR and Paired MIR"])})
    vae, _ = stages.get_vae(cfg, F, progress=False)
    with pytest.warns(UserWarning, match=r"skipped: NIR-PLSR .*all on validation \(this world has no Paired set\)"):
        res = fit_strategies(cfg, F, vae, None)
    assert list(res.predictions) == ["test"] and list(res.predictions["test"]) == list(MIR_STRATEGIES)
    table = metrics.metrics_table(res.observed["test"], res.predictions["test"])
    assert list(table["property"]) == [p for p in cols for _ in MIR_STRATEGIES]
    # the metrics of one row, recomputed by hand from the predictions
    y, p = res.observed["test"]["TC"].to_numpy(), res.predictions["test"]["MIR-PLSR"]["TC"].to_numpy()
    assert table.iloc[0]["rmse"] == pytest.approx(np.sqrt(np.mean((y - p) ** 2)), rel=1e-12)
    # a single texture part is a plain percentage: the ILR would need clay, silt and sand
    assert res.models["MIR-MLP"].targets.output_names_ == cols
    assert table.set_index(["property", "strategy"]).loc[("TC", "MIR-PLSR"), "ccc"] > 0.7


def test_nir_only_world(sim):
    w = World(paired_nir=sim.paired_nir, test_nir=sim.test_nir)
    assert w.ranges == ("NIR",)
    cfg = get_config("smoke", **SMALL)
    F = stages.get_features(cfg, w)
    assert F.kssl is None and F.mir_axis is None and F.ranges == ("NIR",)
    with pytest.warns(UserWarning, match=r"MIR-PLSR \(needs MIR library \(KSSL\) spectra"):
        res = fit_strategies(cfg, F, None, None)
    assert list(res.predictions["test"]) == ["NIR-PLSR", "NIR-MLP"]
    assert list(res.predictions["validation"]) == ["NIR-PLSR", "NIR-MLP"]
    tex = res.predictions["test"]["NIR-PLSR"][["clay", "silt", "sand"]].sum(axis=1)
    np.testing.assert_allclose(tex, 100.0, rtol=1e-9)            # all three parts: ILR, closed to 100


def test_world_shapes_are_checked(sim):
    with pytest.raises(ValueError, match="at least one library"):
        World()
    with pytest.raises(ValueError, match="needs a training library"):
        World(test_mir=sim.test_mir)
    with pytest.raises(ValueError, match="kssl must be on a wavenumber"):
        World(kssl=sim.paired_nir)


def test_world_save_load_keeps_absent_libraries_absent(sim, tmp_path):
    w = World(kssl=sim.kssl, test_mir=sim.test_mir, source="files")
    w.save(tmp_path)
    back = World.load(tmp_path)
    assert [k for k, _ in back.items()] == ["kssl", "test_mir"] and back.source == "files"
    np.testing.assert_array_equal(back.kssl.X, sim.kssl.X)


def test_real_kssl_mir_with_oc_clay_cec_end_to_end(real_dir, tmp_path, monkeypatch):
    """The issue's case: real KSSL MIR spectra with organic carbon, clay and CEC only (and K), given as a plain
    CSV. ``source="files"`` holds out a grouped 20 % as the test set; the MIR strategies predict the three."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    path = real_dir / "kssl_mir_toy" / "toy_kssl_mir.csv.gz"
    raw = pd.read_csv(path, usecols=["id", "oc_usda.c729_w.pct", "clay.tot_usda.a334_w.pct"])
    cfg = get_config("smoke", source="files", data_dir=str(path), properties="OC,clay,CEC", **SMALL)
    world = stages.get_world(cfg)
    assert world.ranges == ("MIR",) and world.test_nir is None and world.paired_nir is None
    assert {"OC", "clay", "CEC", "K"} <= set(world.kssl.property_names)
    assert world.kssl.n_samples + world.test_mir.n_samples == 500 and world.test_mir.n_samples == 100
    assert not set(world.kssl.sample_id) & set(world.test_mir.sample_id)
    # values carried unchanged from the file (read independently with pandas)
    oc = raw.set_index("id")["oc_usda.c729_w.pct"]
    np.testing.assert_allclose(world.test_mir.properties["OC"], oc.loc[world.test_mir.sample_id].to_numpy())
    F = stages.get_features(cfg)
    assert F.properties == ("CEC", "clay", "OC") and F.kssl.shape[1] == 1701
    vae, _ = stages.get_vae(cfg, F, progress=False)
    assert embed(vae, F.test_mir).shape == (len(F.test_Y), 8)
    with pytest.warns(UserWarning, match="skipped: NIR-PLSR"):
        res = stages.get_regressions(cfg, F, vae, None)
    table = metrics.paper_metrics_table(res.observed["test"], res.predictions["test"])
    assert set(zip(table["property"], table["strategy"])) == {(p, s) for p in ("CEC", "Clay", "OC")
                                                              for s in MIR_STRATEGIES}
    ccc = table.set_index(["property", "strategy"])["ccc"]
    # MIR predicts soil organic carbon and clay well (e.g. Ng et al. 2022 report R2 > 0.9 for OC on KSSL MIR)
    assert ccc[("OC", "MIR-PLSR")] > 0.9 and ccc[("Clay", "MIR-PLSR")] > 0.75


def test_plan_skips_the_notebooks_a_mir_only_world_cannot_run(real_dir, tmp_path, monkeypatch):
    """run_all.sh asks soilnb.stages.plan which notebooks to skip; a MIR-only world skips 03, 05, 06 with the
    libraries they need, and trains a VAE but no NIR encoder."""
    from soilnb.stages.plan import get_models, notebook_plan

    monkeypatch.setattr(paths, "CACHE", tmp_path)
    cfg = get_config("smoke", source="files", data_dir=str(real_dir / "kssl_mir_toy" / "toy_kssl_mir.csv.gz"),
                     properties="OC,clay,CEC", **SMALL)
    plan = notebook_plan(cfg)
    assert sorted(plan) == ["03", "05", "06", "07", "09"]
    assert "does not depend on this run's data" in plan["07"]
    assert plan["03"] == ("needs Paired NIR, Paired MIR spectra; this world holds a MIR library (KSSL), test MIR")
    assert notebook_plan(get_config("smoke")) == {}
    vae, n2m = get_models(cfg, stages.get_features(cfg), progress=False)
    assert vae is not None and vae.cfg.latent_dim == 8 and n2m is None


def test_stages_key_a_world_passed_in_by_its_content(sim, tmp_path, monkeypatch):
    """Features of a world given as an object carry a key of its content, so the cached stages never serve the
    configured world's results (or another object's) for it."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    cfg = get_config("smoke", **SMALL)
    a = stages.get_features(cfg, World(kssl=_keep(sim.kssl, ["TC", "pH"]), test_mir=_keep(sim.test_mir, ["TC", "pH"])))
    b = stages.get_features(cfg, World(kssl=_keep(sim.kssl, ["clay"]), test_mir=_keep(sim.test_mir, ["clay"])))
    again = stages.get_features(cfg, World(kssl=_keep(sim.kssl, ["TC", "pH"]),
                                           test_mir=_keep(sim.test_mir, ["TC", "pH"])))
    assert len({a.key, b.key, stages.world_key(cfg)}) == 3 and again.key == a.key
    vae, _ = stages.get_vae(cfg, a, progress=False)
    with pytest.warns(UserWarning, match="skipped"):
        ra = stages.get_regressions(cfg, a, vae, None, strategies=["MIR-PLSR"])
        rb = stages.get_regressions(cfg, b, vae, None, strategies=["MIR-PLSR"])
    assert list(ra.predictions["test"]["MIR-PLSR"].columns) == ["TC", "pH"]
    assert list(rb.predictions["test"]["MIR-PLSR"].columns) == ["clay"]


def test_two_soils_under_one_id_are_refused(tmp_path):
    """Rows sharing an id are scan repeats (averaged); rows sharing an id with different property values are two
    soils, refused naming the id and the properties that differ. Repeats that agree load."""
    from soilnb.data.files import load_files_library
    k = simulate_world(n_kssl=20, n_scans=1, n_paired=10, n_test=5, seed=2).kssl
    table = pd.concat([pd.DataFrame({"id": [f"S{i:02d}" for i in range(k.n_scans)]}),
                       k.properties[["clay", "CEC"]].reset_index(drop=True).fillna(10.0),
                       pd.DataFrame(k.X, columns=[f"{w:g}" for w in k.axis])], axis=1)
    repeats = pd.concat([table, table.iloc[[0, 1]]], ignore_index=True)
    repeats.to_csv(tmp_path / "repeats.csv", index=False)
    assert load_files_library(tmp_path / "repeats.csv").n_scans == k.n_scans + 2
    clash = table.copy()
    clash.loc[3, "id"] = "S02"                                   # another soil under S02
    clash.to_csv(tmp_path / "clash.csv", index=False)
    with pytest.raises(ValueError, match=r"1 sample id\(s\) whose rows carry different property values \(S02 "
                                         r"\(CEC, clay\)\).*give each soil its own id"):
        load_files_library(tmp_path / "clash.csv")


def test_nir_only_bundle_coverage_skips_normalized_with_a_reason(sim, tmp_path, monkeypatch):
    """A NIR-only world's bundle has no latent space: notebook 08's coverage table gets its plain rows, and the
    normalized call warns that NIR was skipped and why (it used to raise)."""
    from soilnb import apply
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    w = World(paired_nir=sim.paired_nir, test_nir=sim.test_nir)
    cfg = get_config("smoke", **SMALL)
    F = stages.get_features(cfg, w)
    with pytest.warns(UserWarning):
        res = fit_strategies(cfg, F, None, None)
    b = apply.build_bundle(cfg, F, None, None, res, None)
    plain = apply.world_coverage(cfg, F, b)
    assert set(plain["range"]) == {"NIR"} and plain["coverage"].notna().all()
    with pytest.warns(UserWarning, match="normalized intervals: NIR skipped .*no latent space"):
        norm = apply.world_coverage(cfg, F, b, normalized=True)
    assert norm.empty and "coverage" in norm.columns
    assert len(pd.concat([plain, norm], ignore_index=True)) == len(plain)
