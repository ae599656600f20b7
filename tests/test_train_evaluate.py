"""``soilnb train`` and ``soilnb evaluate``: a bundle trained on all samples of your own spectra (with their
properties, or joined to a lab table), its intervals honest on its calibration samples; the evaluation's metrics
those of ``soilnb.stats.metrics``; the command's messages and exit codes for bad data.

The tiny tests train on a small simulated MIR table (seconds, cached under the pytest session); the real one
trains on the 500 real KSSL spectra (smoke profile) in the project's cache, so a rerun loads it.
"""
import numpy as np
import pandas as pd
import pytest

from soilnb import apply
from soilnb.apply import cli, model_commands
from soilnb.apply.evaluate import OBSERVED, evaluate_bundle, evaluation_table, flagged
from soilnb.apply.train import MIN_SAMPLES, TrainingDataError, parse_id_rule, parse_units, train_bundle
from soilnb.core import paths
from soilnb.data.simulate.world import simulate_world
from soilnb.stats import metrics

TINY = dict(vae_hidden=32, vae_epochs=2, latent_dim=4, mlp_hidden=16, mlp_epochs=3, pls_max_components=4)
PROPS = ["TC", "clay", "pH"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A simulated MIR table with properties (80 samples), its spectra-only copy and a lab table."""
    folder = tmp_path_factory.mktemp("own-data")
    k = simulate_world(n_kssl=80, n_scans=1, n_paired=20, n_test=10, seed=3).kssl
    spectra = pd.DataFrame(k.X, columns=[f"{w:g}" for w in k.axis])
    props = k.properties[PROPS].reset_index(drop=True)
    ids = pd.DataFrame({"id": [f"S{i:03d}" for i in range(k.n_scans)]})
    pd.concat([ids, props, spectra], axis=1).to_csv(folder / "with_props.csv", index=False)
    pd.concat([ids, spectra], axis=1).to_csv(folder / "spectra.csv", index=False)
    lab = pd.concat([ids.rename(columns={"id": "sample_id"}), props], axis=1)
    lab.rename(columns={"TC": "TC [g/kg]", "clay": "clay [%]"}).assign(**{"TC [g/kg]": props["TC"] * 10}) \
        .to_csv(folder / "lab.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def tiny(tiny_data, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "CACHE", tmp_path_factory.getbasetemp() / "train-cache")
    result = train_bundle(tiny_data / "with_props.csv", ",".join(PROPS), out=tiny_data / "bundle", **TINY)
    yield result
    mp.undo()


def test_tiny_train_uses_every_sample_and_holds_calibration_out(tiny, tiny_data):
    """Every sample with all three properties trains (no test set held out); a grouped fifth calibrates."""
    b = tiny.bundle
    complete = int(pd.read_csv(tiny_data / "with_props.csv", usecols=PROPS).notna().all(axis=1).sum())
    assert 50 < complete < 80           # the simulated library has missing values, as KSSL has
    assert tiny.samples == complete and set(b.properties) == set(PROPS) and b.info["source"] == "files"
    n_cal = len(tiny.calibration_ids["MIR"])
    assert {c.n for c in b.calibration.values()} == {n_cal} and 0.1 * complete <= n_cal <= 0.3 * complete
    assert b.info["training_data"]["samples"] == complete and (tiny.folder / "manifest.json").is_file()
    assert apply.load_bundle(tiny.folder).properties == b.properties


def test_lab_table_join_gives_the_same_training_set(tiny_data, tiny, tmp_path, monkeypatch):
    """Spectra without properties + a lab table (TC in g/kg, converted) train on the same values; the report names
    the join."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    lines = []
    res = train_bundle(tiny_data / "spectra.csv", PROPS, lab=tiny_data / "lab.csv", log=lines.append, **TINY)
    assert any(line.startswith("joined 80 of 80 spectra to 80 lab samples") for line in lines), lines
    # the same samples, split alike, the same values (TC back from g/kg, up to the last bits)
    assert res.samples == tiny.samples
    np.testing.assert_array_equal(res.calibration_ids["MIR"], tiny.calibration_ids["MIR"])
    assert res.bundle.info["training"]["KSSL (MIR)"] == tiny.bundle.info["training"]["KSSL (MIR)"]


def test_train_refuses_bad_data(tiny_data):
    with pytest.raises(TrainingDataError, match="unknown property OM: the spectra hold TC, pH, clay"):
        train_bundle(tiny_data / "with_props.csv", "TC,OM")
    with pytest.raises(TrainingDataError, match=r"only \d\d sample\(s\) with every one of .* at least 100"):
        train_bundle(tiny_data / "with_props.csv", PROPS, min_samples=100, **TINY)
    with pytest.raises(TrainingDataError, match="lab table .*nope.csv: no such file"):
        train_bundle(tiny_data / "spectra.csv", PROPS, lab=tiny_data / "nope.csv")
    assert MIN_SAMPLES == 50
    assert parse_id_rule("pattern:^(\\d+)XS") == {"rule": "pattern", "pattern": "^(\\d+)XS"}
    with pytest.raises(TrainingDataError, match="--id-rule"):
        parse_id_rule("glob:*")
    assert parse_units(["OC=g/kg"]) == {"OC": "g/kg"}
    with pytest.raises(TrainingDataError, match="--unit"):
        parse_units(["OC"])


def test_evaluate_metrics_are_those_of_stats_metrics(tiny, tiny_data):
    """Every number of the evaluation table, recomputed by hand from the predict output and the lab values."""
    ev = evaluate_bundle(tiny.folder, tiny_data / "spectra.csv", tiny_data / "lab.csv")
    pred = tiny.bundle.predict(tiny_data / "spectra.csv", strategy="all")
    lab = pd.read_csv(tiny_data / "lab.csv", dtype={"sample_id": str}).set_index("sample_id")
    assert len(ev.predictions) == len(pred) and set(ev.table["strategy"]) == set(pred["strategy"])
    t = ev.table.set_index(["property", "strategy", "subset"])
    for s, part in pred.groupby("strategy"):
        part = part.reset_index(drop=True)
        for p, col, scale in (("TC", "TC [g/kg]", 0.1), ("clay", "clay [%]", 1.0), ("pH", "pH", 1.0)):
            y = lab.loc[part["sample_id"].astype(str), col].to_numpy() * scale
            known = ~np.isnan(y)                 # a sample without this lab value is not scored on it
            y, rows = y[known], part[known].reset_index(drop=True)
            row = t.loc[(p, s, "all")]
            assert row["n"] == known.sum() > 50
            assert row["ccc"] == pytest.approx(metrics.ccc(y, rows[p]), rel=1e-9)
            assert row["rmse"] == pytest.approx(metrics.rmse(y, rows[p]), rel=1e-9)
            assert row["rpiq"] == pytest.approx(metrics.rpiq(y, rows[p]), rel=1e-9)
            assert row["bias"] == pytest.approx(metrics.mean_error(y, rows[p]), rel=1e-9, abs=1e-12)
            inside = ((rows[f"{p}_lower"] <= y) & (y <= rows[f"{p}_upper"])).to_numpy()
            assert row["coverage"] == pytest.approx(inside.mean())
            assert row["mean_width"] == pytest.approx((rows[f"{p}_upper"] - rows[f"{p}_lower"]).mean())
            fl = flagged(rows)
            for subset, mask in (("flagged", fl), ("unflagged", ~fl)):
                if mask.any():
                    assert t.loc[(p, s, subset), "n"] == mask.sum()
                    assert t.loc[(p, s, subset), "coverage"] == pytest.approx(inside[mask].mean())
                else:
                    assert (p, s, subset) not in t.index


def test_evaluate_names_a_lab_unit_off_by_a_power_of_ten(tiny, tiny_data, tmp_path):
    """TC in g/kg under a header that says % (only samples below 100 g/kg, which the reader's impossible-value
    check lets through): the evaluation runs, and a problem line names TC, the factor 10 and the --unit fix; the
    correctly labelled table raises none."""
    lab = pd.read_csv(tiny_data / "lab.csv", dtype={"sample_id": str})
    lab = lab[lab["TC [g/kg]"] <= 100]
    lab.rename(columns={"TC [g/kg]": "TC [%]"}).to_csv(tmp_path / "mislabelled.csv", index=False)
    ev = evaluate_bundle(tiny.folder, tiny_data / "spectra.csv", tmp_path / "mislabelled.csv")
    lines = [p for p in ev.problems if p.startswith("TC: the lab values are about 10 times the predictions")]
    assert len(lines) == 1 and "--unit TC=UNIT" in lines[0], ev.problems
    ok = evaluate_bundle(tiny.folder, tiny_data / "spectra.csv", tiny_data / "lab.csv")
    assert not [p for p in ok.problems if "times the predictions" in p]


def test_evaluation_table_subsets_and_undefined_metrics():
    pred = pd.DataFrame({"strategy": "S", "range": "MIR", "P": [1.0, 2.0, 3.0], "P_lower": [0.0, 2.5, 2.0],
                         "P_upper": [2.0, 3.0, 4.0], f"P{OBSERVED}": [1.0, 2.0, np.nan],
                         "shift_flag": [False, True, False], "novelty_flag": False, "quality_ok": True})
    t = evaluation_table(pred, ["P"], 0.9, {"S": 99}).set_index("subset")
    assert t.loc["all", "n"] == 2 and t.loc["all", "coverage"] == 0.5 and t.loc["all", "rmse"] == 0.0
    assert t.loc["shift", "n"] == 1 and np.isnan(t.loc["shift", "ccc"]) and t.loc["shift", "coverage"] == 0.0
    assert "novelty" not in t.index and "quality" not in t.index
    assert t.loc["all", "coverage_tolerance"] == pytest.approx(apply.binomial_tolerance(0.9, 2, 99))


def test_evaluate_command_writes_csv_and_figure(tiny, tiny_data, tmp_path, capsys):
    out = tmp_path / "ev.csv"
    rc = cli.main(["evaluate", "--model", str(tiny.folder), str(tiny_data / "with_props.csv"), "-o", str(out),
                   "--predictions", str(tmp_path / "pred.csv")])
    err = capsys.readouterr().err
    assert rc == 0, err
    table = pd.read_csv(out)
    assert set(table["subset"]) >= {"all"} and set(table["property"]) == set(PROPS)
    assert (tmp_path / "ev.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {f"{p}{OBSERVED}" for p in PROPS} <= set(pd.read_csv(tmp_path / "pred.csv").columns)
    assert "soilnb: TC " in err and "Traceback" not in err


def test_evaluate_command_gives_the_library_numbers(tiny, tiny_data, tmp_path, monkeypatch):
    """``soilnb evaluate`` loads the bundle as ``evaluate_bundle(folder)`` does (the torch engine, as ``soilnb
    adapt``): the same predictions and table to the last bit, latent strategies included."""
    seen = []

    def spy(bundle, *args, **kwargs):
        seen.append(evaluate_bundle(bundle, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(model_commands, "evaluate_bundle", spy)
    rc = cli.main(["evaluate", "--model", str(tiny.folder), str(tiny_data / "with_props.csv"), "-o",
                   str(tmp_path / "ev.csv"), "--figure", "none", "-q"])
    assert rc == 0 and len(seen) == 1
    want = evaluate_bundle(tiny.folder, tiny_data / "with_props.csv")
    assert "MIR-SSL-MLP" in set(want.predictions["strategy"])
    pd.testing.assert_frame_equal(seen[0].predictions, want.predictions, check_exact=True)
    pd.testing.assert_frame_equal(seen[0].table, want.table, check_exact=True)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), ValueError("cannot draw")])
def test_evaluate_writes_no_csv_when_the_figure_fails(tiny, tiny_data, tmp_path, capsys, monkeypatch, error):
    def broken(ev, path):
        raise error

    monkeypatch.setattr(model_commands, "save_evaluation_figure", broken)
    out = tmp_path / "ev.csv"
    rc = cli.main(["evaluate", "--model", str(tiny.folder), str(tiny_data / "with_props.csv"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and str(getattr(error, "strerror", None) or error) in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "ev.png").exists()


def test_train_refuses_an_xls_lab_table_in_one_line(tiny_data, tmp_path, capsys):
    import importlib.util
    if importlib.util.find_spec("xlrd") is not None:
        pytest.skip("xlrd is installed here: .xls tables are read")
    (tmp_path / "lab.xls").write_bytes(b"\xd0\xcf")
    rc = cli.main(["train", str(tiny_data / "spectra.csv"), "--lab", str(tmp_path / "lab.xls"), "--out",
                   str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2 and "lab.xls" in err and "save the sheet as .xlsx or CSV" in err and "internal error" not in err


@pytest.mark.parametrize("args, message", [
    (["--lab", "{d}/nope.csv"], "lab table {d}/nope.csv: no such file"),
    (["--lab", "{d}/other_ids.csv"], "no spectrum matched a sample of the table by file stem"),
    (["-p", "TC,OM"], "unknown property OM: the joined lab values hold TC, pH, clay"),
    (["--id-rule", "glob:*"], "--id-rule must be 'stem', 'pattern:REGEX' or 'column:NAME'"),
])
def test_train_command_messages_and_exit_codes(tiny_data, tmp_path, capsys, args, message):
    lab = pd.read_csv(tiny_data / "lab.csv")
    lab.assign(sample_id=lab["sample_id"].str.replace("S", "X")).to_csv(tiny_data / "other_ids.csv", index=False)
    args = [a.format(d=tiny_data) for a in args]
    if "--lab" not in args:
        args += ["--lab", str(tiny_data / "lab.csv")]
    rc = cli.main(["train", str(tiny_data / "spectra.csv"), *args, "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2 and message.format(d=tiny_data) in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_evaluate_command_without_lab_values(tiny, tiny_data, tmp_path, capsys):
    rc = cli.main(["evaluate", "--model", str(tiny.folder), str(tiny_data / "spectra.csv"), "-o",
                   str(tmp_path / "e.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "no lab value of a property the bundle predicts" in err and not (tmp_path / "e.csv").exists()


def test_real_kssl_bundle_covers_its_calibration_samples(real_dir):
    """The toy KSSL file (500 real MIR spectra, OC, clay, CEC), smoke profile, in the project's cache: the
    bundle's intervals cover its own calibration samples at 0.90 within the binomial tolerance, and the other
    (proper-training) samples at least as often as the nominal level minus it."""
    path = real_dir / "kssl_mir_toy" / "toy_kssl_mir.csv.gz"
    res = train_bundle(path, "OC,clay,CEC", profile="smoke", seed=0)
    assert res.samples == 500 and res.config.figures_dir != paths.FIGURES / "smoke"
    ev = evaluate_bundle(res.bundle, path)
    cal = set(res.calibration_ids["MIR"])
    part = ev.predictions[ev.predictions["sample_id"].isin(cal)]
    n_cal = len(cal)
    assert n_cal == 100 and part["strategy"].value_counts().eq(n_cal).all()
    for s, rows in part.groupby("strategy"):
        for p in ("OC", "clay", "CEC"):
            y = rows[p + OBSERVED]
            cov = ((rows[f"{p}_lower"] <= y) & (y <= rows[f"{p}_upper"])).mean()
            assert abs(cov - 0.9) <= apply.binomial_tolerance(0.9, n_cal, n_cal), (s, p, cov)
