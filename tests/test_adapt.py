"""``soilnb adapt``: a small bundle (simulated MIR table, tiny sizes, cached under the pytest session) adapted with
local samples whose properties carry a known shift: lower error and honest intervals on held-out local samples,
the weight chosen by the local CV, the adapted bundle's record, the command's messages and exit codes."""
import numpy as np
import pandas as pd
import pytest

from soilnb import apply
from soilnb.apply import cli
from soilnb.apply.adaptation import (MIN_LOCAL, AdaptError, Library, _adapt_head, adapt_bundle, library_of,
                                local_folds, local_samples)
from soilnb.apply.heads import PLSHead
from soilnb.apply.inference import latent
from soilnb.core import paths
from soilnb.core.cache import file_sha256
from soilnb.data.simulate.world import simulate_world
from soilnb.stats import metrics
from soilnb.stats.shift import ShiftDetector
from soilnb.stats.targets import TargetTransformer

TINY = dict(vae_hidden=32, vae_epochs=2, latent_dim=4, mlp_hidden=16, mlp_epochs=3, pls_max_components=6)
PROPS = ["clay", "pH"]


def _table(k, props: pd.DataFrame, prefix: str) -> pd.DataFrame:
    ids = pd.DataFrame({"id": [f"{prefix}{i:03d}" for i in range(k.n_scans)]})
    return pd.concat([ids, props.reset_index(drop=True), pd.DataFrame(k.X, columns=[f"{w:g}" for w in k.axis])],
                     axis=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A parent bundle trained on 120 simulated samples; 'local' samples of another draw whose clay is 12 points
    higher and pH 1 unit higher than the spectra say (a calibration offset of the new laboratory)."""
    folder = tmp_path_factory.mktemp("adapt")
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "CACHE", tmp_path_factory.getbasetemp() / "adapt-cache")
    lib = simulate_world(n_kssl=160, n_scans=1, n_paired=20, n_test=10, seed=3).kssl
    lib = lib.subset(lib.properties[PROPS].notna().all(axis=1).to_numpy())
    _table(lib, lib.properties[PROPS], "L").to_csv(folder / "library.csv", index=False)
    parent = apply.train_bundle(folder / "library.csv", PROPS, out=folder / "parent", **TINY)
    loc = simulate_world(n_kssl=140, n_scans=1, n_paired=20, n_test=10, seed=11).kssl
    loc = loc.subset(loc.properties[PROPS].notna().all(axis=1).to_numpy())
    shifted = loc.properties[PROPS].assign(clay=loc.properties["clay"] + 12, pH=loc.properties["pH"] + 1)
    table = _table(loc, shifted, "N")
    table.iloc[:40].to_csv(folder / "local.csv", index=False)
    table.iloc[40:].to_csv(folder / "held.csv", index=False)
    table.iloc[:MIN_LOCAL - 1].to_csv(folder / "too_few.csv", index=False)
    swapped = _table(loc, loc.properties[PROPS].assign(clay=60 - loc.properties["clay"],
                                                        pH=12 - loc.properties["pH"]), "N")
    swapped.iloc[:40].to_csv(folder / "swapped.csv", index=False)
    table[["id", *PROPS]].rename(columns={"id": "sample_id", "clay": "sand [%]"}).to_csv(folder / "other_lab.csv",
                                                                                  index=False)
    table.drop(columns=PROPS).to_csv(folder / "local_spectra.csv", index=False)
    res = adapt_bundle(parent.folder, folder / "local.csv", out=folder / "adapted")
    yield dict(folder=folder, parent=parent, res=res)
    mp.undo()


def _scores(bundle, path, strategy):
    ev = apply.evaluate_bundle(bundle, path, strategy=strategy)
    return ev.table[ev.table["subset"] == "all"].set_index("property"), ev


def test_adapted_bundle_is_closer_to_the_local_samples(world):
    """On held-out local-like samples the adapted bundle's RMSE is lower than the parent's, every property."""
    before, _ = _scores(world["parent"].folder, world["folder"] / "held.csv", "MIR-PLSR")
    after, _ = _scores(world["res"].folder, world["folder"] / "held.csv", "MIR-PLSR")
    for p in PROPS:
        assert after.loc[p, "rmse"] < before.loc[p, "rmse"], (p, before.loc[p, "rmse"], after.loc[p, "rmse"])


def test_recalibrated_intervals_cover_held_out_local_samples(world):
    """Coverage of the recalibrated 90 % intervals on the held-out local samples within the binomial tolerance
    (calibration size: the 40 local samples); the parent's intervals miss the shifted values."""
    b = world["res"].bundle
    for s in b.strategies:
        after, _ = _scores(b, world["folder"] / "held.csv", s)
        for p in PROPS:
            n = int(after.loc[p, "n"])
            assert abs(after.loc[p, "coverage"] - 0.9) <= apply.binomial_tolerance(0.9, n, b.calibration[s].n), \
                (s, p, after.loc[p, "coverage"])
    before, _ = _scores(world["parent"].folder, world["folder"] / "held.csv", "MIR-PLSR")
    assert before["coverage"].min() < 0.8


def test_options_come_from_the_local_cv(world):
    """Local samples whose properties run against the library's relation (60 - clay, 12 - pH): the plain refit
    with weight 1 cannot follow them; the local CV picks options that can (a heavier weight or the slope-and-bias
    recalibration), at most 0.7 times its CV error (pH is barely predictable in this tiny world, clay well); the offset case (clay + 12, pH + 1), which a refit on spectra
    cannot learn, gets a correction. The CV errors are recorded per property and candidate."""
    res = adapt_bundle(world["parent"].folder, world["folder"] / "swapped.csv")
    h = res.record["heads"]["MIR-PLSR"]
    assert h["method"].startswith("spiked") and set(h["cv_error"]) == set(PROPS)
    for p in PROPS:
        cv = h["cv_error"][p]
        assert len(cv) == 15 and min(cv.values()) < 0.7 * cv["1"], (p, cv)
        assert h["weight"][p] > 1 or h["correction"][p] == "slope and bias", (p, h["weight"], h["correction"])
    assert set(world["res"].record["heads"]["MIR-PLSR"]["correction"].values()) <= {"bias", "slope and bias"}


def _head_case(local_y):
    """One PLS head spiked with 20 local rows (5 folds): the library's pH = 6 + X beta, the local pH
    ``local_y(X, beta, gamma)``, both without noise (gamma: a direction the library's pH does not follow)."""
    rng = np.random.default_rng(0)
    beta, gamma = np.array([1.0, -0.5, 0.3, 0.0, 0.2, -0.1]), np.array([0.0, 0.4, 0.0, 1.0, -0.6, 0.0])
    X_lib, X = rng.normal(size=(200, 6)), rng.normal(size=(20, 6))
    Y_lib = pd.DataFrame({"pH": 6 + X_lib @ beta})
    tt = TargetTransformer().fit(Y_lib)
    T = tt.transform(pd.DataFrame({"pH": local_y(X, beta, gamma)}))
    head = PLSHead(np.zeros((1, 6)), np.zeros(1), tt, [6])
    _, oof, rec = _adapt_head(head, "spectra", X, T, local_folds(np.arange(20), 5), (1, 16, 256),
                              Library(X_lib, Y_lib, np.arange(200)), ["pH"])
    return T, oof, rec


def test_the_option_the_case_calls_for_wins():
    """A local relation along another spectral direction: only the heaviest weight learns it; the library's
    relation plus a pure offset: a correction (bias, or slope and bias, exact alike); the library's relation
    reversed and shifted: the heaviest weight with a slope-and-bias recalibration (which, at weight 1, cuts the
    error of a bias correction alone tenfold)."""
    T, oof, rec = _head_case(lambda X, beta, gamma: 6 + X @ gamma)
    assert rec["weight"]["pH"] == 256 and rec["cv_error"]["pH"]["256"] < 0.1 * rec["cv_error"]["pH"]["1+slope"]
    T, oof, rec = _head_case(lambda X, beta, gamma: 9 + X @ beta)
    assert rec["correction"]["pH"] in ("bias", "slope and bias")
    assert rec["cv_error"]["pH"]["1+bias"] < 0.1 < rec["cv_error"]["pH"]["1"]
    assert np.mean((T - oof) ** 2) < 0.1 * np.mean(T ** 2)      # nested residuals of an offset the bias learns
    T, oof, rec = _head_case(lambda X, beta, gamma: 10 - 2 * X @ beta)
    assert (rec["weight"]["pH"], rec["correction"]["pH"]) == (256, "slope and bias")
    assert rec["cv_error"]["pH"]["1+slope"] < 0.1 * rec["cv_error"]["pH"]["1+bias"]


def test_calibration_distances_are_out_of_fold(world):
    """The local samples' latent distances that calibrate normalised intervals and the support limit: each to
    the shift reference refit on the library and the other folds' local samples, not to the final reference
    (which holds the sample itself)."""
    parent, res = apply.load_bundle(world["parent"].folder), world["res"]
    _, X, _, ids, _, _ = local_samples(parent, world["folder"] / "local.csv")
    z = latent(parent, "MIR", X.astype(np.float32))
    z_lib = latent(parent, "MIR", library_of(parent).X.astype(np.float32))
    folds, want = local_folds(ids, res.record["folds"]), np.empty(len(X))
    for f in np.unique(folds):
        te = folds == f
        want[te] = ShiftDetector().fit(np.vstack([z_lib, z[~te]])).mahalanobis_.distance(z[te])
    for cal in res.bundle.calibration.values():
        np.testing.assert_allclose(cal.sigmas, want, rtol=1e-6)
    assert not np.allclose(want, res.bundle.shift["MIR"].mahalanobis_.distance(z))


def test_adapted_bundle_records_parent_and_local_samples(world):
    res, parent = world["res"], world["parent"].folder
    loaded = apply.load_bundle(res.folder)
    rec = loaded.info["adapted"]
    assert rec["n_local"] == 40 and rec["parent_manifest_sha256"] == file_sha256(parent / "manifest.json")
    assert rec["parent_sha256"] == apply.bundle_sha256(parent) and rec["parent_created"]
    assert rec["local_files"] == {"local.csv": file_sha256(world["folder"] / "local.csv")}
    assert len(rec["ids_sha256"]) == 64 and rec["date"][:2] == "20" and "library" not in rec["shift_reference"] \
        or "refit" in rec["shift_reference"]
    assert {c.n for c in loaded.calibration.values()} == {40}
    assert loaded.novelty["MIR"].scores.size == apply.load_bundle(parent).novelty["MIR"].scores.size + 40
    assert "training set adapted: 40 local samples" in loaded.describe()


def test_local_folds_keep_samples_whole():
    ids = np.repeat(np.arange(12), 2)
    f = local_folds(ids, 5, seed=1)
    assert len(np.unique(f)) == 5 and all(len(set(f[ids == i])) == 1 for i in range(12))


def test_adapt_command(world, tmp_path, capsys):
    rc = cli.main(["adapt", "--model", str(world["parent"].folder), str(world["folder"] / "local.csv"),
                   "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert rc == 0 and "adapted with 40 local samples" in err and (tmp_path / "a" / "manifest.json").is_file()
    rc = cli.main(["info", str(tmp_path / "a")])
    assert rc == 0 and "adapted: 40 local samples" in capsys.readouterr().out


def test_adapt_command_refuses_too_few_local_samples(world, tmp_path, capsys):
    rc = cli.main(["adapt", "--model", str(world["parent"].folder), str(world["folder"] / "too_few.csv"),
                   "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert rc == 2 and f"at least {MIN_LOCAL} are needed" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()


def test_adapt_command_refuses_a_lab_table_of_other_properties(world, tmp_path, capsys):
    rc = cli.main(["adapt", "--model", str(world["parent"].folder), str(world["folder"] / "local_spectra.csv"),
                   "--lab", str(world["folder"] / "other_lab.csv"), "--out", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert rc == 2 and "lack clay" in err and not (tmp_path / "a").exists()
    with pytest.raises(AdaptError, match="new folder"):
        adapt_bundle(world["parent"].folder, world["folder"] / "local.csv", out=world["parent"].folder)


def test_ccc_metric_used_by_the_benchmark_is_lins():
    """Lin's CCC penalises a shift and a scale that Pearson's r ignores: y_pred = 2 y + 1 has r = 1 and, by
    hand (population moments: var y 2, var y_pred 8, covariance 4, means 3 and 7), CCC = 2*4 / (2 + 8 + 4^2)."""
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.corrcoef(y, 2 * y + 1)[0, 1] == pytest.approx(1.0)
    assert metrics.ccc(y, 2 * y + 1) == pytest.approx(8 / 26)
    assert metrics.ccc(y, y + 1) == pytest.approx(2 * 2 / (2 + 2 + 1))
