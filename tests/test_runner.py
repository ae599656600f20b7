"""run_all.sh's notebook runner: notebooks share one kernel, yet each sees what a fresh kernel would give it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from soilnb.core.runner import resolve_type

ROOT = Path(__file__).resolve().parents[1]

#: The first notebook leaves behind everything a notebook can change in its kernel.
DIRTY = """
import os, sys, warnings, torch
left_behind = 42
os.environ["SOILNB_LEFT_BEHIND"] = "1"
os.chdir("..")
sys.path.insert(0, "/nowhere")
warnings.simplefilter("ignore")
torch.set_num_threads(torch.get_num_threads() + 1)
torch.set_default_dtype(torch.float64)
torch.backends.cuda.matmul.allow_tf32 = not torch.backends.cuda.matmul.allow_tf32
torch.set_float32_matmul_precision("medium")
import pandas as pd
pd.set_option("display.width", 33)
warnings.warn("once only", UserWarning)
warnings.simplefilter("once")
from soilnb.data import realdata
realdata.UNREACHABLE.add("example.org")
torch.manual_seed(123)
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.figure()
"""

#: What a fresh kernel shows; the second notebook records it (and the same cell runs in a kernel of its own).
PROBE = """
import json, os, sys, warnings, torch
import matplotlib.pyplot as plt
with warnings.catch_warnings(record=True) as caught:
    warnings.warn("shown", UserWarning)
state = {"names": sorted(n for n in globals() if not n.startswith("_") and n not in
                         ("json", "os", "sys", "warnings", "torch", "plt", "caught", "In", "Out", "exit", "quit",
                          "get_ipython", "open")),
         "env": os.environ.get("SOILNB_LEFT_BEHIND"), "notebook": os.environ.get("SOILNB_NOTEBOOK"),
         "cwd": os.path.basename(os.getcwd()), "nowhere": "/nowhere" in sys.path,
         "warned": len(caught), "threads": torch.get_num_threads(), "dtype": str(torch.get_default_dtype()),
         "draw": torch.rand(3).tolist(), "figures": len(plt.get_fignums()),
         "tf32": torch.backends.cuda.matmul.allow_tf32, "precision": torch.get_float32_matmul_precision(),
         "width": __import__("pandas").get_option("display.width"),
         "unreachable": sorted(__import__("soilnb.data.realdata", fromlist=["x"]).UNREACHABLE)}
open(out_file, "w").write(json.dumps(state))
"""


def _notebook(path: Path, *cells: str, parameters: str = "out_file = None") -> Path:
    nb = nbformat.v4.new_notebook()
    par = nbformat.v4.new_code_cell(parameters)
    par.metadata["tags"] = ["parameters"]
    nb.cells = [par] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(tmp_path: Path, requests: list[tuple[Path, str]], *params: str) -> list[str]:
    lines = "".join(f"{nb}\t{tmp_path / (name + '.out.ipynb')}\t{tmp_path / (name + '.log')}\n"
                    for nb, name in requests)
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "soilnb.core.runner", "--cwd", str(tmp_path / "work"), *params],
                          input=lines, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_each_notebook_sees_a_fresh_kernel(tmp_path):
    (tmp_path / "work").mkdir()
    dirty = _notebook(tmp_path / "dirty.ipynb", DIRTY)
    probe = _notebook(tmp_path / "probe.ipynb", PROBE)
    shared, alone = tmp_path / "shared.json", tmp_path / "alone.json"
    replies = _run(tmp_path, [(dirty, "dirty"), (probe, "probe")], "-p", "out_file", str(shared))
    assert replies == ["ok", "ok"]
    assert _run(tmp_path, [(probe, "probe_alone")], "-p", "out_file", str(alone)) == ["ok"]
    after, fresh = json.loads(shared.read_text()), json.loads(alone.read_text())
    # torch seeds its global generator at random in a new process: not left at the first notebook's seed
    import torch
    assert after.pop("draw") != torch.rand(3, generator=torch.Generator().manual_seed(123)).tolist()
    fresh.pop("draw")
    assert after == fresh                               # the same in a shared kernel as in a kernel of its own
    assert after["names"] == ["out_file"] and after["env"] is None and after["cwd"] == "work"
    assert after["notebook"] == "probe.ipynb" and after["warned"] == 1 and after["figures"] == 0
    assert after["dtype"] == "torch.float32" and not after["nowhere"]
    executed = nbformat.read(tmp_path / "probe.out.ipynb", as_version=4)
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"][:2] == [1, 2]   # counted from 1
    injected = [c.source for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected == [f'# Parameters\nout_file = "{shared}"\n']      # papermill's parameter cell


def test_a_failing_notebook_is_reported_and_the_next_one_runs(tmp_path):
    (tmp_path / "work").mkdir()
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('the soil is on fire')")
    dies = _notebook(tmp_path / "dies.ipynb", "import os\nos._exit(3)")
    probe = _notebook(tmp_path / "probe.ipynb", PROBE)
    out = tmp_path / "probe.json"
    replies = _run(tmp_path, [(bad, "bad"), (dies, "dies"), (probe, "probe")], "-p", "out_file", str(out))
    assert replies == ["failed", "failed", "ok"]
    assert "ValueError" in (tmp_path / "bad.log").read_text()
    assert "the soil is on fire" in (tmp_path / "bad.log").read_text()
    assert "DeadKernelError" in (tmp_path / "dies.log").read_text()
    assert json.loads(out.read_text())["names"] == ["out_file"]    # a new kernel after the one that died


@pytest.mark.parametrize("value, typed", [("True", True), ("None", None), ("3", 3), ("0.5", 0.5), ("cpu", "cpu"),
                                          ("1e-3", 1e-3)])
def test_parameters_are_typed_as_papermill_types_them(value, typed):
    assert resolve_type(value) == typed and type(resolve_type(value)) is type(typed)
