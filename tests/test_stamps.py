"""Make-style re-runs (soilnb.core.stamps): a notebook is up to date only while its inputs and outputs are unchanged."""
import json
import os
import time

from types import SimpleNamespace

import pytest

from soilnb.core import stamps
from soilnb.data import realdata
from soilnb.report import output


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    for d in ("notebooks", "figures", "data/cache", "data/real", "build", "soilnb"):
        (root / d).mkdir(parents=True)
    (root / "soilnb" / "mod.py").write_text("x = 1\n")
    monkeypatch.setattr(stamps.paths, "ROOT", root)
    monkeypatch.setattr(stamps.paths, "DATA", root / "data")
    monkeypatch.setattr(stamps.paths, "CACHE", root / "data" / "cache")
    monkeypatch.setattr(stamps.paths, "SHARED", tmp_path / "shared")
    monkeypatch.delenv("SOILNB_CACHE", raising=False)
    nbs = []
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb"):
        (root / "notebooks" / name).write_text(json.dumps({"cells": [name]}))
        nbs.append(root / "notebooks" / name)
    return root, nbs


def _run(root, nbs, which, params=None):
    """Plan, then 'execute' the notebooks in ``which`` (each writes a table) and stamp them; return the plan."""
    st = root / "build" / "stamps"
    planned = stamps.plan(nbs, "smoke", params or {}, st)
    for nb, (name, key, _state, _code) in zip(nbs, planned):
        if name in which:
            since = time.time()
            (root / "figures" / f"table_{name[:2]}.csv").write_text(f"{name},{key[:8]}\n")
            (root / "build" / name).write_text("{}")
            stamps.write_stamp(st / f"{name}.json", key, root / "build" / name, root / "figures", since)
    return {name: state for name, _k, state, _c in planned}


def test_up_to_date_until_an_input_or_output_changes(tree, monkeypatch):
    root, nbs = tree
    names = [nb.name for nb in nbs]
    first = _run(root, nbs, names)
    assert first == {"01_a.ipynb": "stale: never ran to the end with these settings",
                     "02_b.ipynb": "stale: 01_a.ipynb runs before it", "03_c.ipynb": "stale: 01_a.ipynb runs before it"}
    assert set(_run(root, nbs, [])) == set(names) and all(s == "current" for s in _run(root, nbs, []).values())
    # the second notebook edited: it and everything after it are stale, the first is not
    nbs[1].write_text(json.dumps({"cells": ["changed"]}))
    got = _run(root, nbs, [])
    assert got["01_a.ipynb"] == "current" and got["02_b.ipynb"].startswith("stale: its code") \
        and got["03_c.ipynb"] == "stale: 02_b.ipynb runs before it"
    _run(root, nbs, names[1:])
    assert set(_run(root, nbs, []).values()) == {"current"}
    # an output deleted, an output edited
    (root / "figures" / "table_03.csv").unlink()
    assert _run(root, nbs, [])["03_c.ipynb"] == "stale: its output figures/table_03.csv is missing"
    # make's rule: after a notebook that runs, every later one runs (it may read what the first rewrites), unless
    # the world skips the first
    (root / "figures" / "table_02.csv").unlink()
    got = {n: s for n, _k, s, _c in stamps.plan(nbs, "smoke", {}, root / "build" / "stamps")}
    assert got["02_b.ipynb"].endswith("is missing") and got["03_c.ipynb"] == "stale: 02_b.ipynb runs before it"
    _run(root, nbs, names[1:2])
    _run(root, nbs, names[2:])
    table = root / "figures" / "table_01.csv"
    table.write_text("edited by hand\n")
    assert _run(root, nbs, [])["01_a.ipynb"] == "stale: its output figures/table_01.csv changed"
    _run(root, nbs, names)
    # code of the package, a parameter, a data file, the cache mode: all stale
    (root / "soilnb" / "mod.py").write_text("x = 2\n")
    assert set(_run(root, nbs, []).values()) == {"stale: its code, parameters, data or an earlier notebook changed",
                                                 "stale: 01_a.ipynb runs before it"}
    _run(root, nbs, names)
    assert set(_run(root, nbs, [], {"seed": "1"}).values()) != {"current"}
    (root / "data" / "my_spectra.csv").write_text("1\n")
    assert _run(root, nbs, [])["01_a.ipynb"].startswith("stale: its code, parameters, data")
    _run(root, nbs, names)
    (root / "data" / "real" / "nirsoil").mkdir()
    (root / "data" / "real" / "nirsoil" / "NIRsoil.RData").write_text("a registered file, fetched")
    assert set(_run(root, nbs, []).values()) == {"current"}                     # nothing skipped: nothing missed
    (root / "data" / "cache" / "entry.pkl").write_text("written by a run")      # outputs of runs: not inputs
    assert set(_run(root, nbs, []).values()) == {"current"}
    monkeypatch.setenv("SOILNB_CACHE", "refresh")
    assert set(_run(root, nbs, []).values()) == {"stale: SOILNB_CACHE=refresh"}


def test_plan_command_claims_current_stamps_for_the_run(tree, monkeypatch, capsys):
    root, nbs = tree
    _run(root, nbs, [nb.name for nb in nbs])
    st = root / "build" / "stamps"
    monkeypatch.setenv("SOILNB_RUN_ID", "run-2")
    assert stamps.main(["plan", "--profile", "smoke", "--stamps", str(st), *map(str, nbs)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [r[2] for r in rows] == ["current"] * 3 and [r[3] for r in rows] == ["-"] * 3   # written outside a run
    assert stamps.previous_run(st / "01_a.ipynb.json") == "run-2" and os.path.exists(st / "02_b.ipynb.json")


def _write_command(root, nbs, st, since):
    """Stamp the first notebook as run_all.sh does (``stamps write``), as part of the run ``$SOILNB_RUN_ID``."""
    (root / "figures" / "t.csv").write_text("x\n")
    (root / "build" / nbs[0].name).write_text("{}")
    code_key = stamps.plan(nbs[:1], "smoke", {}, st)[0][3]
    return stamps.main(["write", "--profile", "smoke", "--stamp", str(st / f"{nbs[0].name}.json"), "--executed",
                        str(root / "build" / nbs[0].name), "--figures", str(root / "figures"), "--since", str(since),
                        "--code-key", code_key, str(nbs[0])])


def test_real_files_fetched_later_leave_a_notebook_current_unless_it_skipped_something(tree, monkeypatch):
    """A real file (registered, hash-checked) fetched by a later notebook, the tests or by hand changes nothing a
    notebook computed, unless it skipped something: then one more real file present makes it stale."""
    root, nbs = tree
    st, real, mirror = root / "build" / "stamps", root / "data" / "real", stamps.paths.SHARED / "data" / "real"
    monkeypatch.delenv("SOILNB_RUN_ID", raising=False)
    (real / "fetched.csv").write_text("1\n")                            # fetched by the notebook while it ran
    assert _write_command(root, nbs, st, time.time()) == 0
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == "current"
    (real / "later.csv").write_text("2\n")                               # fetched by a later notebook
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == "current"
    assert "skipped" not in json.loads((st / f"{nbs[0].name}.json").read_text())

    # the same notebook, now in a run in which it skipped an item for want of a real file, and another item for
    # another reason (recorded as the notebooks record them)
    monkeypatch.setenv("SOILNB_RUN_ID", "run-7")
    cfg = SimpleNamespace(figures_dir=root / "figures")
    monkeypatch.setenv("SOILNB_NOTEBOOK", nbs[1].name)
    output.record_skip(cfg, "another notebook's item", "-", f"{realdata.FETCH_COMMAND} nirsoil")
    monkeypatch.setenv("SOILNB_NOTEBOOK", nbs[0].name)
    output.record_skip(cfg, "strategy NIR-PLSR", "a MIR-only world", "a world with the spectra it needs")
    assert _write_command(root, nbs, st, time.time()) == 0
    assert "skipped" not in json.loads((st / f"{nbs[0].name}.json").read_text())   # not for want of a real file
    output.record_skip(cfg, "NIR realism check", "no mirror", f"{realdata.FETCH_COMMAND} nirsoil")
    assert _write_command(root, nbs, st, time.time()) == 0
    rec = json.loads((st / f"{nbs[0].name}.json").read_text())
    assert rec["skipped"] == ["NIR realism check"] and [r[:2] for r in rec["real_files"]] == [
        ["data", "fetched.csv"], ["data", "later.csv"]]
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == "current"       # nothing new since it ran
    (real / "fetched.csv").unlink()                                          # one gone: nothing it could use more
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == "current"
    mirror.mkdir(parents=True)
    (mirror / "NIRsoil.RData").write_text("3\n")                            # the file it missed, now in the mirror
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == ("stale: it skipped 'NIR realism check', and real files "
                                                            "are new or changed since it ran (NIRsoil.RData in mirror)")
    got = {n: s for n, _k, s, _c in stamps.plan(nbs, "smoke", {}, st)}
    assert got["02_b.ipynb"] == "stale: 01_a.ipynb runs before it"
    assert _write_command(root, nbs, st, time.time()) == 0                 # it ran again, and skipped again
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2] == "current"
    later = real / "later.csv"                                               # a wrong file replaced by the right one
    later.write_text("the registered content\n")
    os.utime(later, ns=(later.stat().st_atime_ns, later.stat().st_mtime_ns + 10**9))
    assert stamps.plan(nbs[:1], "smoke", {}, st)[0][2].endswith("(later.csv in data)")


def test_the_fix_of_a_real_file_skip_is_the_fetch_command():
    assert stamps.FETCH_FIX == realdata.FETCH_COMMAND


def test_code_edited_while_a_notebook_ran_is_not_stamped(tree, capsys):
    """The plan's code key differs from the one after the run (the package was edited meanwhile): no stamp, so the
    notebook runs again next time instead of passing old outputs off as the new code's."""
    root, nbs = tree
    st = root / "build" / "stamps"
    code_key = stamps.plan(nbs[:1], "smoke", {}, st)[0][3]
    (root / "soilnb" / "mod.py").write_text("x = 3\n")                 # edited during the run
    (root / "build" / nbs[0].name).write_text("{}")
    assert stamps.main(["write", "--profile", "smoke", "--stamp", str(st / f"{nbs[0].name}.json"), "--executed",
                        str(root / "build" / nbs[0].name), "--figures", str(root / "figures"), "--since", "0",
                        "--code-key", code_key, str(nbs[0])]) == 0
    assert "changed while it ran" in capsys.readouterr().err and not (st / f"{nbs[0].name}.json").exists()


def test_world_skipped_notebooks_do_not_hold_back_the_rest(tree):
    root, nbs = tree
    st = root / "build" / "stamps"
    _run(root, nbs, [nbs[0].name, nbs[2].name])                          # 02 is never run in this world
    got = {n: s for n, _k, s, _c in stamps.plan(nbs, "smoke", {}, st, skipped={nbs[1].name})}
    assert got == {"01_a.ipynb": "current", "02_b.ipynb": "stale: never ran to the end with these settings",
                   "03_c.ipynb": "current"}
