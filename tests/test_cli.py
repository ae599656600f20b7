"""The ``soilnb`` command: predictions of the real example files, one-line messages naming each bad input, exit
codes, never a traceback; the console script declared in pyproject.toml."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apply_world import make_tiny

from soilnb.apply import cli, commands

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    yield from make_tiny(tmp_path_factory)


def _run(*args, cwd=None):
    """``python -m soilnb ARGS`` in a fresh process (this checkout's soilnb first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "soilnb", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def _lines(err: str) -> list[str]:
    """The message lines of stderr (progress-bar redraws dropped)."""
    return [ln for ln in err.replace("\r", "\n").splitlines() if ln.startswith("soilnb:")]


def test_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")          # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts["soilnb"].split(":")
    assert (module, func) == ("soilnb.apply.cli", "main") and callable(getattr(cli, func))


def test_help_and_no_command():
    out = _run("--help")
    assert out.returncode == 0 and "predict" in out.stdout and "info" in out.stdout and not out.stderr.strip()
    out = _run()
    assert out.returncode == 2 and "usage: soilnb" in out.stderr and "Traceback" not in out.stderr


def test_normalized_and_weighted_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["predict", "--model", "nowhere", "x.csv", "--normalized", "--weighted"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "not allowed with argument --normalized" in err and "Traceback" not in err


def test_predict_every_real_file(tiny, real_dir, tmp_path):
    """In a fresh process, as a user runs it: every example file predicted, with intervals and flags."""
    files = sorted((real_dir / "ossl_sample_inputs").iterdir())
    out = _run("predict", "--model", tiny["folder"], *files, "-o", tmp_path / "p.csv")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "soilnb predict" in out.stderr        # the progress bar
    table = pd.read_csv(tmp_path / "p.csv")
    assert sorted(set(table["file"].map(lambda f: Path(f).name))) == [f.name for f in files]
    assert len(table) == 2 + 2 + 20 + 10 + 20          # 2 ASD, 2 OPUS, 20 MIR rows, 10 NeoSpectra, 20 vis-NIR rows
    props = tiny["loaded"].properties
    for p in props:
        assert table[p].notna().all() and (table[f"{p}_lower"] <= table[p] + 1e-6).all() \
            and (table[p] <= table[f"{p}_upper"] + 1e-6).all()
    assert {"shift_distance", "shift_flag", "recon_error", "novelty_flag", "quality_ok"} <= set(table.columns)
    # the CSV holds what the API predicts (the default strategy of each range)
    api = tiny["loaded"].predict(real_dir / "ossl_sample_inputs" / "sample_mir_data.csv")
    got = table[table["file"].str.endswith("sample_mir_data.csv")].reset_index(drop=True)
    np.testing.assert_allclose(got["pH"], api["pH"], rtol=1e-5)
    assert set(got["strategy"]) == {tiny["loaded"].default_strategy["MIR"]}


def _bad_inputs(real_dir, tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("a,b\n1,2\n")
    empty = tmp_path / "empty.0"
    empty.write_bytes(b"")
    mir = pd.read_csv(real_dir / "ossl_sample_inputs" / "sample_mir_data.csv")
    keep = [c for c in mir.columns if not c.replace(".", "").isdigit() or float(c) >= 1000]
    short = tmp_path / "short_mir.csv"
    mir[keep].to_csv(short, index=False)
    return {"garbage.csv": garbage, "empty.0": empty, "short_mir.csv": short, "missing.asd": tmp_path / "missing.asd"}


def test_bad_input_is_named_in_one_line_each(tiny, real_dir, tmp_path, capsys):
    bad = _bad_inputs(real_dir, tmp_path)
    good = real_dir / "ossl_sample_inputs" / "235157XS01.0"
    rc = cli.main(["predict", "-q", "--model", str(tiny["folder"]), *map(str, bad.values()), str(good),
                   "-o", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    lines = _lines(err)
    assert len(lines) == len(bad), lines
    for name in bad:
        assert sum(name in ln for ln in lines) == 1, (name, lines)
    assert any("short_mir.csv" in ln and "does not cover the model's range 600-4000" in ln for ln in lines)
    assert any("missing.asd: no such file or folder" in ln for ln in lines)
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table["file"].map(lambda f: Path(f).name)) == ["235157XS01.0"]


def test_nothing_predicted_and_bad_bundles(tiny, real_dir, tmp_path, capsys):
    bad = _bad_inputs(real_dir, tmp_path)
    rc = cli.main(["predict", "--model", str(tiny["folder"]), str(bad["garbage.csv"]), "-o", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "nothing predicted" in err and not (tmp_path / "p.csv").exists()
    rc = cli.main(["predict", "--model", str(tmp_path), str(real_dir / "ossl_sample_inputs" / "icr056141.0")])
    err = capsys.readouterr().err
    assert rc == 2 and _lines(err) == [f"soilnb: bundle {tmp_path / 'manifest.json'}: missing; {tmp_path} is not a "
                                       "soilnb bundle"]
    rc = cli.main(["predict", "--model", str(tiny["folder"]), "--coverage", "90", str(bad["garbage.csv"])])
    assert rc == 2 and "--coverage must be between 0 and 1" in capsys.readouterr().err
    rc = cli.main(["predict", "--model", str(tiny["folder"]), "--strategy", "NIR-PLSR",
                   str(real_dir / "ossl_sample_inputs" / "icr056141.0"), "-o", str(tmp_path / "q.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "icr056141.0" in err and "cannot predict MIR input" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    rc = cli.main(["predict", "--model", str(tiny["folder"]), str(tmp_path / "empty"), "-o", str(tmp_path / "e.csv")])
    assert rc == 2 and _lines(capsys.readouterr().err) == [f"soilnb: no spectrum files in {tmp_path / 'empty'}"]


def test_warnings_the_user_must_know_are_printed(tiny, real_dir, tmp_path, capsys):
    """Intervals wider than the calibration set can give (coverage 0.999 from a few hundred samples) are the
    physical range: the command says so on stderr (once), and still writes the predictions."""
    rc = cli.main(["predict", "--model", str(tiny["folder"]), "--coverage", "0.999", "-q",
                   str(real_dir / "ossl_sample_inputs" / "icr056141.0"), "-o", str(tmp_path / "w.csv")])
    err = _lines(capsys.readouterr().err)
    assert rc == 0 and (tmp_path / "w.csv").exists()
    assert len([e for e in err if "calibration samples are too few for 99.9 % intervals" in e]) == 1


def test_info_checks_and_describes(tiny, tmp_path, capsys):
    assert cli.main(["info", str(tiny["folder"])]) == 0
    out = capsys.readouterr().out
    assert "soilnb model bundle" in out and "MIR: grid 600-4000 cm-1" in out and "NIR: grid 1400-2500 nm" in out
    assert cli.main(["info", "--json", str(tiny["folder"])]) == 0
    assert '"format": "soilnb-bundle"' in capsys.readouterr().out
    copy = tmp_path / "b"
    copy.mkdir()
    for f in tiny["folder"].iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "bundle.json").write_text((copy / "bundle.json").read_text().replace('"pH"', '"PH"', 1))
    assert cli.main(["info", str(copy)]) == 2
    err = capsys.readouterr().err
    assert _lines(err) == [f"soilnb: bundle {copy / 'bundle.json'}: sha256 differs from the one in manifest.json "
                           "(the file was changed or corrupted)"]


def test_internal_errors_are_one_line_too(tiny, tmp_path, capsys, monkeypatch, real_dir):
    def broken(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(commands, "read_spectra", broken)
    rc = cli.main(["predict", "--model", str(tiny["folder"]), str(real_dir / "ossl_sample_inputs" / "icr056141.0")])
    err = capsys.readouterr().err
    assert rc == 3 and _lines(err) == ["soilnb: internal error: RuntimeError: simulated bug (rerun with --debug "
                                       "for the traceback)"]
    with pytest.raises(RuntimeError, match="simulated bug"):
        cli.main(["--debug", "predict", "--model", str(tiny["folder"]), str(real_dir / "ossl_sample_inputs")])


def test_debug_anywhere_and_output_to_stdout(tiny, tmp_path, capsys, monkeypatch, real_dir):
    """``--debug`` (or ``-v``) after the subcommand shows the traceback as before it does; ``-o -`` writes the CSV
    to standard output (the same table as a file), messages staying on stderr."""
    f = str(real_dir / "ossl_sample_inputs" / "icr056141.0")
    rc = cli.main(["predict", "--model", str(tiny["folder"]), f, "-o", str(tmp_path / "p.csv"), "-q"])
    capsys.readouterr()
    rc2 = cli.main(["predict", "--model", str(tiny["folder"]), f, "-o", "-", "-q"])
    out = capsys.readouterr()
    assert rc == rc2 and out.out == (tmp_path / "p.csv").read_text() and "sample_id" in out.out.splitlines()[0]

    def broken(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(commands, "read_spectra", broken)
    for flag in ("--debug", "-v"):
        with pytest.raises(RuntimeError, match="simulated bug"):
            cli.main(["predict", "--model", str(tiny["folder"]), f, flag])


def test_help_imports_no_numerical_stack():
    """``soilnb --help`` (and a usage error) import neither numpy, pandas, torch, scikit-learn nor matplotlib:
    the parser's defaults live in soilnb.apply.defaults and each command's stack is imported once it is known."""
    code = ("import sys, contextlib, io\nfrom soilnb.apply import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('numpy', 'pandas', 'torch', 'sklearn', 'matplotlib', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    usage = subprocess.run([sys.executable, "-m", "soilnb", "predict"], capture_output=True, text=True)
    assert usage.returncode == 2 and "the following arguments are required: --model/-m, FILE" in usage.stderr


HEAVY = ("torch", "sklearn", "scipy", "crepes", "mapie", "matplotlib")


def test_predict_imports_no_torch_sklearn_scipy_crepes(tiny, real_dir, tmp_path):
    """``soilnb predict`` and ``soilnb info`` in a fresh process, on vendor files (two OPUS, two ASD: a MIR and a
    NIR batch, the VAE and the NIR encoder both run), import none of torch, scikit-learn, SciPy, crepes, MAPIE or
    matplotlib (sys.modules at the end), and write a prediction for every file; the same for importing the predict
    path's modules alone."""
    inputs = real_dir / "ossl_sample_inputs"
    files = [inputs / f for f in ("icr056141.0", "235157XS01.0", "101453MD01.asd", "235157MD01.asd")]
    out = tmp_path / "p.csv"
    code = ("import sys\nfrom soilnb.apply import cli\n"
            f"rc = cli.main(['predict', '-q', '--model', {str(tiny['folder'])!r}, *{[str(f) for f in files]!r}, "
            f"'--strategy', 'all', '-o', {str(out)!r}])\n"
            f"rc += cli.main(['info', {str(tiny['folder'])!r}])\n"
            f"print('IMPORTED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), rc)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0 and "IMPORTED [] 0" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    table = pd.read_csv(out)
    assert sorted(set(table["file"].map(lambda f: Path(f).name))) == sorted(f.name for f in files)
    assert set(table["range"]) == {"MIR", "NIR"} and table["recon_error"].notna().all()
    assert set(table["strategy"]) >= {"MIR-SSL-MLP", "NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP"}   # latent and converted
    code = ("import sys\nimport soilnb.apply.commands, soilnb.apply.inference, soilnb.data.readers\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def _imported(args, cwd=ROOT):
    """``soilnb ARGS`` through cli.main in a fresh process: ``(return code, the heavy packages imported, output)``."""
    code = ("import sys\nfrom soilnb.apply import cli\n"
            f"rc = cli.main({[str(a) for a in args]!r})\n"
            f"print('IMPORTED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), rc)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    return run.returncode, last, run.stdout[-2000:] + run.stderr[-2000:]


def test_predict_small_tables_import_no_torch_sklearn_scipy_crepes(tiny, real_dir, tmp_path):
    """The NumPy path on tables of fewer than support.MIN_BATCH samples, in a fresh process: a MIR table in cm-1
    (5 rows), a NeoSpectra NIR table in nm on its own uneven axis (resampled onto the bundle's grid) and a
    350-2500 nm vis-NIR table at 1 nm (trimmed and resampled), every strategy, --convert-mir: none of torch,
    scikit-learn, SciPy, crepes imported, every file predicted with its converted MIR spectrum. A table of
    MIN_BATCH samples is tested as a batch by the domain classifier, which imports scikit-learn and SciPy
    (what docs/bundle.md says)."""
    from soilnb.apply.support import MIN_BATCH

    inputs = real_dir / "ossl_sample_inputs"
    small = []
    for name, n in (("sample_mir_data.csv", 5), ("sample_neospectra_data.csv", 4), ("sample_visnir_data.csv", 5)):
        lines = (inputs / name).read_text().splitlines()
        assert len(lines) - 1 >= MIN_BATCH > n
        small.append(tmp_path / f"small_{name}")
        small[-1].write_text("\n".join(lines[:n + 1]) + "\n")
    out = tmp_path / "p.csv"
    rc, line, text = _imported(["predict", "-q", "--model", tiny["folder"], *small, "--strategy", "all",
                                "--convert-mir", "-o", out])
    assert rc == 0 and line == "IMPORTED [] 0", text
    table = pd.read_csv(out)
    files = table["file"].map(lambda f: Path(f).name)
    assert sorted(set(files)) == sorted(f.name for f in small)
    assert dict(table.groupby(files)["range"].first()) == {"small_sample_mir_data.csv": "MIR",
                                                            "small_sample_neospectra_data.csv": "NIR",
                                                            "small_sample_visnir_data.csv": "NIR"}
    assert table.groupby(files)["sample_id"].nunique().tolist() == [5, 4, 5]
    mir = table.filter(like="mir_")
    assert mir.shape[1] == tiny["loaded"].grids["MIR"].size
    nir = (table["range"] == "NIR").to_numpy()
    assert mir[nir].notna().all().all() and mir[~nir].isna().all().all()
    assert table["recon_error"].notna().all() and {"NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP"} <= set(table["strategy"])
    big = tmp_path / "mir_batch.csv"
    big.write_text("\n".join((inputs / "sample_mir_data.csv").read_text().splitlines()[:MIN_BATCH + 1]) + "\n")
    rc, line, text = _imported(["predict", "-q", "--model", tiny["folder"], big, "-o", tmp_path / "q.csv"])
    assert rc == 0 and line == "IMPORTED ['scipy', 'sklearn'] 0", text


def test_existing_outputs_need_force(tiny, tmp_path, capsys, real_dir):
    """An existing CSV (or bundle folder) is refused before any work, naming it and --force; --force overwrites."""
    f = str(real_dir / "ossl_sample_inputs" / "icr056141.0")
    out = tmp_path / "p.csv"
    out.write_text("mine\n")
    rc = cli.main(["predict", "--model", str(tiny["folder"]), f, "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and out.read_text() == "mine\n"
    assert _lines(err) == [f"soilnb: {out}: exists already; pass --force to overwrite (or -o another file, or -o - "
                           "for standard output)"]
    assert cli.main(["predict", "--model", str(tiny["folder"]), f, "-o", str(out), "-q", "--force"]) == 0
    assert pd.read_csv(out)["sample_id"].tolist() == ["icr056141"]
    capsys.readouterr()
    folder = tmp_path / "bundle"
    folder.mkdir()
    rc = cli.main(["train", f, "--out", str(folder), "-q"])
    assert rc == 2 and _lines(capsys.readouterr().err) == [f"soilnb: {folder}: exists already; pass --force to "
                                                           "overwrite"]


def test_every_warning_is_one_line(monkeypatch, capsys):
    """A warning raised while a command runs (a library's too) is one 'soilnb: warning:' line, no source line."""
    def noisy(args):
        warnings.warn("first line\n   second line", RuntimeWarning, stacklevel=1)
        warnings.warn("a user warning", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setitem(commands.COMMANDS, "info", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["info", "somewhere"]) == 0
    assert _lines(capsys.readouterr().err) == ["soilnb: warning: RuntimeWarning: first line second line",
                                               "soilnb: warning: a user warning"]


def test_a_bad_row_is_said_once(tiny, tmp_path, capsys, real_dir):
    """One text cell in one row of a 20-spectrum table: that row is named once on stderr, the others predicted."""
    lines = (real_dir / "ossl_sample_inputs" / "sample_mir_data.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[40] = "n/a"
    lines[3] = ",".join(cells)
    f = tmp_path / "one_bad_row.csv"
    f.write_text("\n".join(lines) + "\n")
    rc = cli.main(["predict", "--model", str(tiny["folder"]), str(f), "-o", str(tmp_path / "p.csv"), "-q"])
    err = _lines(capsys.readouterr().err)
    bad = [e for e in err if f"id {cells[0]}:" in e or "row 3" in e]
    assert rc == 1 and len(bad) == 1 and "spectrum dropped (row 3)" in bad[0] and "column 3926.444" in bad[0], err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 19
