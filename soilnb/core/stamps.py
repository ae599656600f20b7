"""Make-style re-runs: a notebook whose inputs are unchanged and whose outputs exist is not executed again.

``run_all.sh`` asks :func:`plan` once per run for every notebook's key and whether it is up to date, and records a
stamp (:func:`write_stamp`) after each notebook that ran through, with its key computed again then. The key of a
notebook hashes everything its outputs depend on (as showyourwork and snakemake decide what to rebuild, with a
content hash instead of timestamps for the code):

* the notebook file itself (its code and the ``parameters`` cell);
* the code it calls: every file of the ``soilnb`` package (the cached stages key themselves on the same code);
* the run's parameters (profile, ``-p NAME VALUE``), the ``SOILNB_*`` environment variables that steer paths, the
  Python version and the locked environment (``requirements/lock.txt``);
* the data it may read: name, size and modification time of every file under the data folder (its cache, model
  checkpoints and real files left out) and the shared folder (present or absent: a clone without it skips items;
  the mirror of real files in it left out), and of files and folders named by parameters;
* the key of the notebook before it (the notebooks run in order and read the tables and caches of the earlier
  ones): a changed notebook re-runs everything after it.

A notebook is up to date when its stamp records the same key, the run ended well, and every output it wrote
(the figures and tables, by name, size and modification time; the executed copy, which the run's summary tidies
afterwards, by name) is still there unchanged.

The real files under ``data/real`` and in the shared mirror are left out of the key: a notebook reads one through
``soilnb.data.real_path`` (or ``real_dir``), which checks it against the sha256 of the registry (part of the
package, so of the key) and fetches it again where it differs, so the same file reaches every notebook that uses it,
whoever fetched it. One fetched later (by a later notebook, by the tests, by ``python -m soilnb.data fetch``)
changes nothing a notebook computed, so the second run of a fresh clone and a run after the tests find every
notebook up to date. What it can change is the output of a notebook that skipped something for want of a real file
(a skip whose fix is ``python -m soilnb.data fetch ...``): its stamp records those skips and the real files there
were when it ended (in ``data/real`` and the mirror, by name, size and modification time), and it is stale as soon
as one is new or changed (a wrong file replaced by the right one). Not seen: a file that arrives while the notebook
runs, after its skip (it counts as there before); a damaged file that would make a notebook skip on its next run.

``SOILNB_CACHE=refresh`` or ``off``, and ``run_all.sh --force``, run every notebook. Hand-written (a few dozen
lines) because make, snakemake and showyourwork would each bring a workflow language for ten notebooks run in
order.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from soilnb.core import paths

#: Environment variables of the run that do not change what a notebook computes.
IGNORED_ENV = ("SOILNB_RUN_ID", "SOILNB_NOTEBOOK", "SOILNB_CACHE")
#: Parameters whose value may be a path: their files' signatures are part of the key.
PATH_PARAMETERS = ("data_dir", "test_dir")
#: Folders of the data folder that runs write (the stage cache, the model checkpoints): outputs, not inputs.
DATA_OUTPUTS = ("cache", "models")
#: The data folder's real files (registered and hash-checked): not in the key; their names, sizes and times count
#: for notebooks that skipped something for want of one (module docstring).
REAL_FOLDER = "real"
#: The fix of a skip for want of a real file starts with this command (``soilnb.data.realdata.FETCH_COMMAND``).
FETCH_FIX = "python -m soilnb.data fetch"


def _files(root: Path, skip=()) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
    return out


def signature(root, skip=()) -> list:
    """``[relative path, size, mtime_ns, ctime_ns]`` of every file under ``root`` (a file: itself; absent: empty).
    The ctime changes with every write and every ``touch`` or ``cp -p`` that puts an old mtime back."""
    root = Path(root)
    rows = []
    for f in _files(root, skip):
        try:
            st = f.stat()
        except OSError:
            continue
        rows.append([str(f.relative_to(root)) if f != root else f.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    return rows


def code_digest() -> str:
    """sha256 of every file of the ``soilnb`` package (content, in path order)."""
    h = hashlib.sha256()
    for f in _files(paths.ROOT / "soilnb", skip=("__pycache__",)):
        h.update(str(f.relative_to(paths.ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def plan(notebooks, profile: str, pairs: dict, stamps: Path, skipped=()) -> list[tuple[str, str, str, str]]:
    """``(notebook name, key, "current" | "stale: why", code key)`` for each notebook, in order.

    ``notebooks`` are all the notebooks of the project in order (whatever ``--only`` selects: a notebook's key
    chains the keys of every notebook before it); ``skipped``, the names of those this world cannot run. A notebook
    is current only when every earlier one it may read from is (make's rule: a target after one that is rebuilt
    is rebuilt). The code key leaves the data out: :func:`main` ``write`` compares it with the plan's, so that a
    notebook or package edited while the run went on is never stamped with outputs the old code made.
    """
    lock = paths.ROOT / "requirements" / "lock.txt"
    env = {k: v for k, v in os.environ.items() if k.startswith("SOILNB_") and k not in IGNORED_ENV}
    data = {"data": [row for row in signature(paths.DATA, skip=DATA_OUTPUTS)
                     if not row[0].startswith(REAL_FOLDER + "/")],
            "shared": [row for row in signature(paths.SHARED) if not row[0].startswith(f"data/{REAL_FOLDER}/")],
            "named": {p: signature(paths.absolute(pairs[p])) for p in PATH_PARAMETERS if pairs.get(p)}}
    code = _sha({"code": code_digest(), "profile": profile, "parameters": pairs, "env": env,
                 "python": sys.version, "lock": hashlib.sha256(lock.read_bytes()).hexdigest()
                 if lock.exists() else None})
    common = _sha({"code": code, "data": data})
    mode = os.environ.get("SOILNB_CACHE", "").strip().lower()
    out, upstream, code_upstream, earlier_stale = [], "", "", ""
    for nb in map(Path, notebooks):
        nb_sha = hashlib.sha256(nb.read_bytes()).hexdigest()
        key = _sha({"common": common, "notebook": nb_sha, "upstream": upstream})
        code_key = _sha({"code": code, "notebook": nb_sha, "upstream": code_upstream})
        upstream, code_upstream = key, code_key
        if mode in ("refresh", "off"):
            state = "stale: SOILNB_CACHE=" + mode
        elif earlier_stale:
            state = f"stale: {earlier_stale} runs before it"
        else:
            state = _state(stamps / f"{nb.name}.json", key)
        if state != "current" and nb.name not in skipped and not earlier_stale:
            earlier_stale = nb.name
        out.append((nb.name, key, state, code_key))
    return out


def _state(stamp: Path, key: str) -> str:
    """``"current"`` or ``"stale: why"``."""
    try:
        rec = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return "stale: never ran to the end with these settings"
    if rec.get("key") != key:
        return "stale: its code, parameters, data or an earlier notebook changed"
    if rec.get("skipped"):
        then = {tuple(row) for row in rec.get("real_files", []) if isinstance(row, list)}
        new = sorted(row for row in map(tuple, real_files_present()) if row not in then)
        if new:
            more = f" and {len(new) - 1} more" if len(new) > 1 else ""
            return (f"stale: it skipped {rec['skipped'][0]!r}, and real files are new or changed since it ran "
                    f"({new[0][1]} in {new[0][0]}{more})")
    for rel, size, mtime in rec.get("outputs", []):
        f = paths.ROOT / rel
        try:
            st = f.stat()
        except OSError:
            return f"stale: its output {rel} is missing"
        if size is not None and (st.st_size, st.st_mtime_ns) != (size, mtime):
            return f"stale: its output {rel} changed"
    return "current"


def real_files_present() -> list[list]:
    """The real files a run could use without a download, ``[where, path, size, mtime_ns]`` each: ``where`` is
    ``data`` (``data/real``) or ``mirror`` (``<shared>/data/real``), ``path`` relative to that folder."""
    rows = []
    for where, root in (("data", paths.DATA / REAL_FOLDER), ("mirror", paths.SHARED / "data" / REAL_FOLDER)):
        for path, size, mtime, _ctime in signature(root):
            rows.append([where, path, size, mtime])
    return sorted(rows)


def skipped_items(figures, run: str, notebook: str) -> list[str]:
    """What ``notebook`` skipped in the run ``run`` for want of a real file: the items recorded by
    ``soilnb.report.output.record_skip`` in the figures folder's ``manifest.json`` whose fix is a fetch."""
    try:
        runs = json.loads((Path(figures) / "manifest.json").read_text()).get("runs", {})
        return [str(s.get("item", "")) for s in runs.get(run, {}).get("skipped", [])
                if s.get("notebook") == notebook and str(s.get("fix", "")).startswith(FETCH_FIX)]
    except (OSError, ValueError, AttributeError):
        return []


def previous_run(stamp: Path) -> str:
    """The run id that last executed the notebook of ``stamp`` ("" when none)."""
    try:
        return str(json.loads(stamp.read_text()).get("run", ""))
    except (OSError, ValueError):
        return ""


def _claim(stamp: Path, run: str) -> None:
    rec = json.loads(stamp.read_text())
    rec["run"] = run
    _write(stamp, rec)


def _write(stamp: Path, rec: dict) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(rec, indent=1))
    os.replace(tmp, stamp)


def write_stamp(stamp: Path, key: str, executed: Path, figures: Path, since: float) -> dict:
    """Record that the notebook ran through: its key and the outputs it wrote (the executed copy, and the files of
    ``figures`` modified since ``since``, a Unix time), written atomically."""
    rows = [[os.path.relpath(Path(executed).resolve(), paths.ROOT), None, None]]   # tidied later: present is enough
    models = paths.DATA / "models"                  # checkpoints the notebooks export (02, 03)
    for f in [*_files(figures), *_files(models)]:
        st = f.stat()
        if f.name != "manifest.json" and st.st_mtime >= since:
            rows.append([os.path.relpath(f.resolve(), paths.ROOT), st.st_size, st.st_mtime_ns])
    run = os.environ.get("SOILNB_RUN_ID", "")
    rec = {"key": key, "run": run, "ended": time.strftime("%Y-%m-%dT%H:%M:%S"), "outputs": rows}
    skipped = skipped_items(figures, run, Path(stamp).name.removesuffix(".json"))
    if skipped:
        rec |= {"skipped": skipped, "real_files": real_files_present()}
    _write(stamp, rec)
    return rec


def main(argv=None) -> int:
    """``python -m soilnb.core.stamps plan|write ...`` (run_all.sh's interface)."""
    ap = argparse.ArgumentParser(prog="python -m soilnb.core.stamps", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="print 'notebook<TAB>key<TAB>state<TAB>previous run' per notebook")
    p.add_argument("--profile", required=True)
    p.add_argument("--stamps", required=True, type=Path)
    p.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    p.add_argument("--skip", action="append", default=[], metavar="NOTEBOOK",
                   help="a notebook this world cannot run (not waited for by the ones after it)")
    p.add_argument("notebooks", nargs="*", help="every notebook of the project, in order")
    w = sub.add_parser("write", help="record a notebook that ran through (its key computed now, after it ran)")
    w.add_argument("--profile", required=True)
    w.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    w.add_argument("--stamp", required=True, type=Path)
    w.add_argument("--executed", required=True, type=Path)
    w.add_argument("--figures", required=True, type=Path)
    w.add_argument("--since", required=True, type=float)
    w.add_argument("--code-key", required=True, help="the notebook's code key as the plan printed it")
    w.add_argument("notebooks", nargs="+", help="every notebook of the project up to and including this one")
    args = ap.parse_args(argv)
    if args.command == "plan":
        run = os.environ.get("SOILNB_RUN_ID", "")
        for name, key, state, code_key in plan(args.notebooks, args.profile, dict(args.param), args.stamps,
                                               set(args.skip)):
            stamp = args.stamps / f"{name}.json"
            print(f"{name}\t{key}\t{state}\t{previous_run(stamp) or '-'}\t{code_key}")
            if state == "current" and run:     # this run's record will hold its skips from now on (the summary
                _claim(stamp, run)             # copies them), older run records being dropped in time
    else:   # the key as it is now, after the notebook ran (its data files, real files apart, as it left them)
        _, key, _, code_key = plan(args.notebooks, args.profile, dict(args.param), args.stamp.parent)[-1]
        if code_key != args.code_key:
            print(f"{args.stamp.name[:-5]}: not recorded as up to date: the notebooks or the soilnb package changed "
                  "while it ran (it runs again next time)", file=sys.stderr)
            return 0
        write_stamp(args.stamp, key, args.executed, args.figures, args.since)
    return 0


if __name__ == "__main__":
    sys.exit(main())
