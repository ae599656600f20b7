"""The run summary (soilnb.report.summary), record_skip and the HTML report (soilnb.report.html)."""
import json

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest

from soilnb import __version__, report
from soilnb.core import config, paths
from soilnb.report import html, summary
from soilnb.report.output import update_run

ROOT = paths.ROOT
SKIP = {"notebook": "01_data.ipynb", "item": "realism check against real KSSL MIR", "reason": "no real KSSL file",
        "fix": "python -m soilnb.data fetch kssl_toy", "when": "2025-01-01T12:00:05"}
TIMES = ("01_data.ipynb\tran\t12.3\t\n"
         "02_vae.ipynb\tskipped\t\tneeds a MIR library (KSSL) spectra\n"
         "03_nir_to_mir.ipynb\tfailed\t4.5\tbuild/notebooks/smoke/03_nir_to_mir.log\n"
         "04_regression.ipynb\tnot run\t\t03_nir_to_mir.ipynb failed before it\n")


def _fake_run(tmp_path):
    figures, notebooks = tmp_path / "figures", tmp_path / "executed"
    notebooks.mkdir()
    report.save_table(pd.DataFrame({"a": [1]}), "table_x", folder=figures)      # a file entry, kept as it is
    update_run(figures, "run-1", skip=SKIP)                                     # what record_skip wrote
    times = tmp_path / "run.tsv"
    times.write_text(TIMES)
    return figures, notebooks, times


def _args(tmp_path, figures, notebooks, times, *more):
    return ["--times", str(times), "--figures", str(figures), "--notebooks", str(notebooks),
            "--report", str(tmp_path / "report"), "--profile", "smoke", "--run-id", "run-1",
            "--started", "2025-01-01T12:00:00", "--param", "seed", "3", *more]


def _section(text: str, head: str) -> list[str]:
    """The indented lines under the line that starts with ``head``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    out = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def test_summary_lists_what_ran_was_skipped_and_failed(tmp_path, capsys):
    figures, notebooks, times = _fake_run(tmp_path)
    pd.DataFrame({"claim_id": ["C1", "C2"], "source": ["Sect. 3", "ours"], "claim": ["MIR beats NIR", "SSL helps"],
                  "paper": ["0.82", "-"], "ours": ["0.76", "0.24"], "rule": ["ours > NIR", "ours > MIR"],
                  "verdict": ["holds", "does not hold"]}).to_csv(figures / "table_claims.csv", index=False)
    assert summary.main(_args(tmp_path, figures, notebooks, times, "--no-html")) == 0
    out = capsys.readouterr().out
    assert _section(out, "ran (1)") == ["01_data.ipynb                      12.3 s"]
    assert _section(out, "FAILED (1)") == ["03_nir_to_mir.ipynb                 4.5 s   log: "
                                           "build/notebooks/smoke/03_nir_to_mir.log"]
    assert _section(out, "not run (1)") == ["04_regression.ipynb            03_nir_to_mir.ipynb failed before it"]
    assert _section(out, "skipped notebooks (1)") == ["02_vae.ipynb                   needs a MIR library (KSSL) spectra"]
    assert _section(out, "skipped inside notebooks (1)") == [
        "01_data.ipynb: realism check against real KSSL MIR: no real KSSL file "
        "(get it: python -m soilnb.data fetch kssl_toy)"]
    assert _section(out, "claims (1 holds, 1 does not hold)") == [
        "holds          MIR beats NIR", "ours: 0.76 | paper: 0.82",
        "does not hold  SSL helps", "ours: 0.24"]
    assert "parameters: seed=3" in out and "profile smoke, failed, run run-1" in out

    manifest = json.loads((figures / "manifest.json").read_text())
    assert manifest["last_run"] == "run-1" and set(manifest) == {"table_x.csv", "runs", "last_run"}
    run = manifest["runs"]["run-1"]
    assert run["status"] == "failed" and run["failed"] == ["03_nir_to_mir.ipynb"]
    assert run["profile"] == "smoke" and run["parameters"] == {"seed": "3"} and run["soilnb"] == __version__
    assert run["started"] == "2025-01-01T12:00:00" and run["ended"] >= run["started"]
    assert run["skipped"] == [SKIP]
    assert [(n["notebook"], n["status"]) for n in run["notebooks"]] == [
        ("01_data.ipynb", "ran"), ("02_vae.ipynb", "skipped"), ("03_nir_to_mir.ipynb", "failed"),
        ("04_regression.ipynb", "not run")]
    assert run["notebooks"][2]["log"] == "build/notebooks/smoke/03_nir_to_mir.log"
    assert "HTML report" not in run["outputs"] and "executed notebooks" in run["outputs"]


def test_a_times_file_with_an_unknown_status_is_refused(tmp_path):
    (tmp_path / "run.tsv").write_text("01_data.ipynb\tdone\t1.0\t\n")
    with pytest.raises(ValueError, match="unknown status 'done'"):
        summary.read_times(tmp_path / "run.tsv")


def test_record_skip_prints_one_line_and_records_it_under_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    cfg = config.from_notebook({"profile": "smoke"})
    report.save_table(pd.DataFrame({"a": [1]}), "t", cfg)
    monkeypatch.setenv("SOILNB_RUN_ID", "run-7")
    monkeypatch.setenv("SOILNB_NOTEBOOK", "08_apply_to_new_scans.ipynb")
    for _ in range(2):                                            # the same item twice is recorded once
        line = report.record_skip(cfg, "predictions on the real sample scans", "no files in data/real",
                                  "python -m soilnb.data fetch ossl_samples")
    expected = ("skipped: predictions on the real sample scans: no files in data/real "
                "(get it: python -m soilnb.data fetch ossl_samples)")
    assert line == expected and capsys.readouterr().out.splitlines() == [expected, expected]
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    assert set(manifest) == {"t.csv", "runs"}                     # the file entries are left as they are
    [skip] = manifest["runs"]["run-7"]["skipped"]
    assert {k: skip[k] for k in ("notebook", "item", "reason", "fix")} == {
        "notebook": "08_apply_to_new_scans.ipynb", "item": "predictions on the real sample scans",
        "reason": "no files in data/real", "fix": "python -m soilnb.data fetch ossl_samples"}
    monkeypatch.delenv("SOILNB_RUN_ID")                            # a notebook run by hand
    report.record_skip(cfg, "x", "y", "z")
    assert json.loads((tmp_path / "smoke" / "manifest.json").read_text())["runs"]["interactive"]["skipped"][0]["item"] == "x"


def _executed_notebook(path, text):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('hello')", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text),
                    nbformat.v4.new_output("display_data", data={
                        html.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                        "text/plain": "VAE:   0%|          | 0/4"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny notebook"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}}}
    nbformat.write(nb, path)


def test_html_report_links_every_notebook_and_shows_every_figure(tmp_path, capsys):
    pytest.importorskip("nbconvert")
    figures, notebooks, times = _fake_run(tmp_path)
    for name in ("fig1_bands", "an_extra_figure"):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1])
        report.savefig(fig, name, folder=figures)
    pd.DataFrame({"strategy": ["MIR-PLSR"], "ccc": [0.7619], "ccc_paper_text": [0.82]}).to_csv(
        figures / "table_strategy_means.csv", index=False)
    for name in ("01_data", "03_nir_to_mir"):
        _executed_notebook(notebooks / f"{name}.ipynb", f"output of {name}\n")
    assert summary.main(_args(tmp_path, figures, notebooks, times)) == 0
    assert "HTML report          " in capsys.readouterr().out

    out = tmp_path / "report"
    index = (out / "index.html").read_text()
    for name in ("01_data", "03_nir_to_mir"):                     # the notebooks that ran or failed
        assert f'href="{name}.html"' in index
        page = (out / f"{name}.html").read_text()
        assert f"output of {name}" in page and "widget-state" not in page
        done = nbformat.read(notebooks / f"{name}.ipynb", as_version=4)    # tidied: no progress bars, no state
        assert "widgets" not in done.metadata and [o.output_type for o in done.cells[1].outputs] == ["stream"]
    for png in figures.glob("*.png"):
        assert f'<img src="figures/{png.name}"' in index and (out / "figures" / png.name).exists()
    assert "0.7619" in index and "0.82" in index                  # ours beside the paper's value
    assert "realism check against real KSSL MIR" in index and "03_nir_to_mir.log" in index
    assert "<script" not in index


def test_committed_notebooks_hold_no_progress_bars_or_widget_state():
    """Progress bars are widgets (tqdm.auto with ipywidgets); none of their outputs or state is committed."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata, path.name
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert html.WIDGET_VIEW not in o.get("data", {}), path.name
                assert "it/s]" not in o.get("text", "") and "\r" not in o.get("text", ""), path.name


def test_without_nbconvert_the_index_is_written_and_the_summary_says_why_pages_are_missing(tmp_path, monkeypatch,
                                                                                        capsys):
    monkeypatch.setattr(html, "HTMLExporter", None)
    monkeypatch.setattr(summary, "HTMLExporter", None)
    figures, notebooks, times = _fake_run(tmp_path)
    _executed_notebook(notebooks / "01_data.ipynb", "hello\n")
    assert summary.main(_args(tmp_path, figures, notebooks, times)) == 0
    assert "nbconvert is not installed (pip install nbconvert)" in capsys.readouterr().out
    index = (tmp_path / "report" / "index.html").read_text()
    assert "01_data.ipynb: ImportError" in index and not (tmp_path / "report" / "01_data.html").exists()
