"""The results page (soilnb.report.results_page) from a tiny fake figures folder."""
import importlib
import json

import pandas as pd
import pytest

# the module itself, even if soilnb.report re-exports a function of the same name
rp = importlib.import_module("soilnb.report.results_page")

MEANS = pd.DataFrame({"strategy": ["MIR-PLSR", "NIR-MLP"], "ccc": [0.8312, 0.4407], "rpiq": [2.917, 1.32],
                      "ccc_paper_text": [0.82, 0.51], "rpiq_paper_text": [2.02, 1.2]})
LEDGER = pd.DataFrame({"property": ["TC", "TC", "pH", "pH"], "strategy": ["MIR-PLSR", "NIR-MLP"] * 2,
                       "source": "simulated", "ccc": [0.9012, 0.5503, 0.2699, 0.08597],
                       "ccc_paper": [0.92, 0.65, 0.75, 0.42]})


def _folder(tmp_path, profile="default", seed=3):
    folder = tmp_path / "figures"
    folder.mkdir(parents=True)
    MEANS.to_csv(folder / "table_strategy_means.csv", index=False, float_format="%.4g")
    LEDGER.to_csv(folder / "table_paper_vs_reproduced.csv", index=False, float_format="%.4g")
    run = {"profile": profile, "source": "simulated", "seed": seed, "overrides": {}, "soilnb": "9.8.7",
           "written": "2031-02-03T04:05:06"}
    (folder / "manifest.json").write_text(json.dumps({"table_strategy_means.csv": run,
                                                      "table_paper_vs_reproduced.csv": run}))
    return folder


def _table_after(page: str, heading: str) -> list[list[str]]:
    """The rows (cells as text) of the first markdown table after ``heading``."""
    lines = page[page.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_page_has_stamp_and_the_csv_values(tmp_path):
    folder = _folder(tmp_path)
    page = rp.results_page(folder)
    assert "soilnb 9.8.7, profile `default`, seed 3, source `simulated`" in page
    assert "2031-02-03T04:05:06" in page
    assert "./run_all.sh\npython -m soilnb.report.results_page" in page

    rows = _table_after(page, "## Mean CCC and RPIQ per strategy")
    assert rows[0] == ["strategy", "CCC (ours)", "CCC (paper)", "RPIQ (ours)", "RPIQ (paper)"]
    csv = pd.read_csv(folder / "table_strategy_means.csv")
    for row, (_, want) in zip(rows[2:], csv.iterrows()):
        assert row[0] == want["strategy"]
        got = [float(x) for x in row[1:]]
        assert got == [want["ccc"], want["ccc_paper_text"], want["rpiq"], want["rpiq_paper_text"]]
    assert len(rows) == 2 + len(csv)

    wide = _table_after(page, "## Appendix B")
    assert wide[0] == ["property", "MIR-PLSR", "NIR-MLP"]
    assert wide[2] == ["TC", "0.9012 (0.92)", "0.5503 (0.65)"]
    assert wide[3] == ["pH", "0.2699 (0.75)", "0.08597 (0.42)"]
    assert "## The paper's claims" not in page          # no table for it: no section


def test_default_run_rewrites_readme_block_smoke_never_docs(tmp_path):
    folder = _folder(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{rp.START}\nold\n{rp.END}\nrest\n")
    out = rp.write(folder, out=tmp_path / "results.md", readme=readme)
    assert out.read_text() == rp.results_page(folder)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{rp.END}\nrest\n") and "old" not in text
    assert "| MIR-PLSR | 0.8312 | 0.82 | 2.917 | 2.02 |" in text

    smoke = _folder(tmp_path / "s", profile="smoke")
    with pytest.raises(ValueError, match="only the default profile"):
        rp.write(smoke, out=rp.DOCS_PAGE)
    assert rp.default_out("smoke") == rp.paths.BUILD / "report" / "smoke" / "results.md"
    assert rp.default_out("default") == rp.DOCS_PAGE
    # a default-profile run on own files never writes the paper run's page
    assert rp.default_out("default", "files") == rp.paths.BUILD / "report" / "files" / "default" / "results.md"
