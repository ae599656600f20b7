"""run_all.sh end to end, in a copy of the project: the loop that feeds the notebook runner through its named pipes,
reads its answers, times and stamps each notebook, stops at a failed one and shows why, and skips an up-to-date one
on the next run, a real file fetched meanwhile notwithstanding. (The notebooks themselves are tested one by one
under nbval; the fresh-clone runs of the README's commands exercise the whole default run.)"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLANTED = "planted failure 7f3a"        # a text no real notebook prints
MIRROR = Path(os.environ.get("SOILNB_SHARED", ROOT.parent / "shared")) / "data" / "real"


def _copy_project(dest: Path) -> Path:
    """The project's sources without its environment, build outputs, data, figures or git folder."""
    skip = {".venv", "build", ".git", ".pytest_cache", "__pycache__", ".ipynb_checkpoints"}

    def ignore(folder, names):
        at = Path(folder)
        out = {n for n in names if n in skip or n.endswith(".egg-info")}
        if at == ROOT / "data" or at == ROOT / "figures":
            out |= {n for n in names if n not in ("README.md", "registry.txt")}
        return out
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def _failing_notebook(path: Path) -> None:
    """A notebook with a parameters cell (the runner injects the profile after it) that raises."""
    code = {"cell_type": "code", "outputs": [], "execution_count": None}
    cells = [code | {"id": "parameters", "metadata": {"tags": ["parameters"]}, "source": 'profile = "smoke"'},
             code | {"id": "planted", "metadata": {}, "source": f'raise RuntimeError("{PLANTED}")'}]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def _run(project: Path, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOILNB_")}
    env.update(SOILNB_PYTHON=sys.executable, PYTHONPATH=str(project), TMPDIR=str(project.parent))
    if MIRROR.is_dir():                 # the real files from the local mirror, as in the project (no download)
        env["SOILNB_SHARED"] = str(MIRROR.parents[1])
    return subprocess.run(["bash", str(project / "run_all.sh"), "--profile", "smoke", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("bash") is None, reason="run_all.sh needs bash")
def test_run_all_runs_stamps_stops_at_a_failure_and_skips_what_is_up_to_date(tmp_path):
    project = _copy_project(tmp_path / "soilnb")
    _failing_notebook(next((project / "notebooks").glob("02_*.ipynb")))
    out = project / "build" / "notebooks" / "smoke"

    first = _run(project, "--only", "01,02,03")
    assert first.returncode == 1, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    ran = [ln for ln in lines if ln.startswith("01_data.ipynb")]
    assert ran and ran[0].split()[-1].endswith("s") and float(ran[0].split()[-1][:-1]) > 0
    assert "FAILED: notebooks/02_" in first.stderr and PLANTED in first.stderr     # the log's tail, shown
    assert "run_all.sh: 02_" in first.stderr
    rows = {r.split("\t")[0]: r.split("\t") for r in (out / "run.tsv").read_text().splitlines()}
    assert rows["01_data.ipynb"][1] == "ran" and rows["02_vae.ipynb"][1] == "failed"
    assert rows["03_nir_to_mir.ipynb"][1:2] == ["not run"] and "02_vae.ipynb failed" in rows["03_nir_to_mir.ipynb"][3]
    assert (out / "stamps" / "01_data.ipynb.json").exists() and not (out / "stamps" / "02_vae.ipynb.json").exists()
    executed = json.loads((out / "01_data.ipynb").read_text())
    counts = [c["execution_count"] for c in executed["cells"] if c["cell_type"] == "code"]
    assert counts[0] == 1 and all(isinstance(c, int) for c in counts)                # ran in full, from a fresh count
    assert "[runner] 01_data.ipynb" in (out / "runner.log").read_text()
    assert not list(tmp_path.glob("soilnb-runner.*"))                                # the pipes' folder removed

    # a real file fetched meanwhile (by the tests, by hand): nothing notebook 01 computed changes, unless it skipped
    # something for want of a real file (no mirror and no network here): then it runs again
    extra = project / "data" / "real" / "extra" / "fetched.csv"
    extra.parent.mkdir(parents=True)
    extra.write_text("a real file fetched after the run\n")
    skipped = json.loads((out / "stamps" / "01_data.ipynb.json").read_text()).get("skipped")
    again = _run(project, "--only", "01")
    assert again.returncode == 0, again.stdout + again.stderr
    rows = {r.split("\t")[0]: r.split("\t") for r in (out / "run.tsv").read_text().splitlines()}
    if skipped:
        assert rows["01_data.ipynb"][1] == "ran"
        again = _run(project, "--only", "01")
        rows = {r.split("\t")[0]: r.split("\t") for r in (out / "run.tsv").read_text().splitlines()}
    assert any(ln.startswith("01_data.ipynb") and "up to date" in ln for ln in again.stdout.splitlines())
    assert rows["01_data.ipynb"][1] == "current"
