"""Where outputs go: one folder per profile, with a manifest naming the run that wrote each file."""
import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from soilnb import report as plotting
from soilnb.core import config, paths


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    yield tmp_path


def test_profiles_write_to_their_own_folders(figures):
    smoke_cfg = config.from_notebook({"profile": "smoke", "seed": 3})
    plotting.save_table(pd.DataFrame({"a": [1]}), "t", smoke_cfg)
    plotting.savefig(plt.figure(), "f", smoke_cfg)
    default_cfg = config.from_notebook({"profile": "default"})
    plotting.save_table(pd.DataFrame({"a": [2]}), "t", default_cfg)
    assert pd.read_csv(figures / "smoke" / "t.csv")["a"].tolist() == [1]     # not overwritten by default
    assert pd.read_csv(figures / "t.csv")["a"].tolist() == [2]
    assert (figures / "smoke" / "f.png").exists() and (figures / "smoke" / "f.pdf").exists()
    smoke = json.loads((figures / "smoke" / "manifest.json").read_text())
    assert set(smoke) == {"t.csv", "f.png", "f.pdf"}
    assert smoke["t.csv"]["profile"] == "smoke" and smoke["t.csv"]["seed"] == 3 and smoke["t.csv"]["n_kssl"] == 500
    default = json.loads((figures / "manifest.json").read_text())
    assert default["t.csv"]["profile"] == "default" and default["t.csv"]["n_kssl"] == 6000
    assert smoke["t.csv"]["overrides"] == {"seed": 3} and default["t.csv"]["overrides"] == {}
    (figures / "manifest.json").write_text("{ not json")                 # a damaged manifest is kept aside
    plotting.save_table(pd.DataFrame({"a": [3]}), "u", default_cfg)
    assert (figures / "manifest.json.corrupt").read_text() == "{ not json"
    assert set(json.loads((figures / "manifest.json").read_text())) == {"u.csv"}


def test_outputs_need_a_run_or_a_folder(figures):
    with pytest.raises(TypeError, match="pass the run's config"):
        plotting.save_table(pd.DataFrame({"a": [1]}), "t")
    assert config.get_config("default").figures_dir == figures
    assert config.get_config("paper").figures_dir == figures / "paper"


def _write_tables(folder, worker):
    for i in range(15):
        plotting.save_table(pd.DataFrame({"a": [i]}), f"t{worker}_{i}", folder=folder)
        plotting.save_table(pd.DataFrame({"a": [1, 2, 3]}), "shared", folder=folder)


def test_concurrent_runs_in_one_folder_keep_every_manifest_entry(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_write_tables, args=(tmp_path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {f"t{w}_{i}.csv" for w in range(4) for i in range(15)} | {"shared.csv"}
    assert (tmp_path / "shared.csv").read_text() == "a\n1\n2\n3\n"
    assert not list(tmp_path.glob("*.tmp"))
