"""One way to save: figures (PNG + PDF, no timestamps) and tables (CSV) into the run's folder
(:attr:`soilnb.core.config.Config.figures_dir`), each recorded in the folder's ``manifest.json``."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from soilnb import __version__
from soilnb.core import paths
from soilnb.core.cache import atomic_path, exclusive
from soilnb.core.config import Config


def _record(folder: Path, files, cfg: Config | None, extra: dict | None = None) -> None:
    """Note in ``<folder>/manifest.json`` which run (profile, sizes, seed) wrote each file, so outputs
    of different runs in one folder (e.g. after ``run_all.sh --only``) can be told apart."""
    manifest = folder / "manifest.json"
    run = {**(cfg.run_record() if cfg is not None else {}), **(extra or {}), "soilnb": __version__,
           "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    # read-modify-write under a lock, so two runs writing into one folder at once keep each other's entries
    with exclusive(folder / ".manifest.lock"):
        try:
            entries = json.loads(manifest.read_text()) if manifest.exists() else {}
        except json.JSONDecodeError:               # keep the damaged file for inspection, start a new one
            os.replace(manifest, manifest.with_suffix(".json.corrupt"))
            entries = {}
        entries.update({Path(f).name: run for f in files})
        with atomic_path(manifest) as tmp:
            tmp.write_text(json.dumps(dict(sorted(entries.items())), indent=1))


def _folder(cfg: Config | None, folder) -> Path:
    if folder is None and cfg is None:
        raise TypeError("say where outputs go: pass the run's config (cfg=) or a folder (folder=)")
    return paths.ensure(Path(folder) if folder is not None else cfg.figures_dir)


def savefig(fig, name: str, cfg: Config | None = None, folder=None) -> list[Path]:
    """Write ``<figures>/<name>.png`` and ``.pdf`` (no timestamps) and close the figure.

    ``<figures>`` is the run's :attr:`~soilnb.core.config.Config.figures_dir` (``figures/`` for the
    default profile, ``figures/<profile>/`` otherwise) unless ``folder`` is given; ``manifest.json``
    there records the run.
    """
    folder = _folder(cfg, folder)
    out = [folder / f"{name}.png", folder / f"{name}.pdf"]
    # written beside the target and moved into place: a concurrent run or a reader never sees half a file
    with atomic_path(out[0]) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    with atomic_path(out[1]) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None})
    plt.close(fig)
    _record(folder, out, cfg)
    return out


def save_table(df: pd.DataFrame, name: str, cfg: Config | None = None, folder=None, float_format="%.4g",
               timings: dict | None = None) -> Path:
    """Write ``<figures>/<name>.csv`` (the folder as in :func:`savefig`).

    Tables hold results only, so that a rerun with the same seed writes the same bytes; wall-clock
    ``timings`` (seconds) go to the manifest entry instead.
    """
    folder = _folder(cfg, folder)
    path = folder / f"{name}.csv"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)
    _record(folder, [path], cfg, {"seconds": timings} if timings else None)
    return path


# ----------------------------------------------------------------------------- the run's record
#: Set by ``run_all.sh`` for the notebooks it runs: the run's id and the notebook being executed.
RUN_ID_ENV, NOTEBOOK_ENV = "SOILNB_RUN_ID", "SOILNB_NOTEBOOK"
#: The id under which items are recorded outside ``run_all.sh`` (a notebook run by hand).
INTERACTIVE_RUN = "interactive"
#: How many runs the manifest keeps under ``runs`` (the oldest are dropped).
KEEP_RUNS = 20


def read_manifest(folder) -> dict:
    """``<folder>/manifest.json`` as a dict (empty when missing or damaged)."""
    try:
        return json.loads((Path(folder) / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def current_run_id() -> str:
    """The id of the run this process belongs to: ``$SOILNB_RUN_ID`` under ``run_all.sh``, else ``interactive``."""
    return os.environ.get(RUN_ID_ENV) or INTERACTIVE_RUN


def update_run(folder, run_id: str, fields: dict | None = None, skip: dict | None = None,
               last: bool = False) -> dict:
    """Merge ``fields`` into ``manifest["runs"][run_id]`` of ``<folder>/manifest.json`` (under the manifest's lock),
    append ``skip`` to that run's ``skipped`` list (once per notebook and item), and with ``last`` name it
    ``last_run``. Returns the run's record as written. The file entries of the manifest are left as they are."""
    folder = paths.ensure(Path(folder))
    manifest = folder / "manifest.json"
    with exclusive(folder / ".manifest.lock"):
        try:
            entries = json.loads(manifest.read_text()) if manifest.exists() else {}
        except json.JSONDecodeError:               # as in _record: keep the damaged file, start a new one
            os.replace(manifest, manifest.with_suffix(".json.corrupt"))
            entries = {}
        runs = entries.get("runs") if isinstance(entries.get("runs"), dict) else {}
        run = {**runs.pop(run_id, {}), **(fields or {})}
        if skip is not None:
            skipped = [s for s in run.get("skipped", [])
                       if (s.get("notebook"), s.get("item")) != (skip.get("notebook"), skip.get("item"))]
            run["skipped"] = [*skipped, skip]
        runs[run_id] = run                         # newest last; the oldest beyond KEEP_RUNS are dropped
        entries["runs"] = dict(list(runs.items())[-KEEP_RUNS:])
        if last:
            entries["last_run"] = run_id
        with atomic_path(manifest) as tmp:
            tmp.write_text(json.dumps(dict(sorted(entries.items())), indent=1))
    return run


def record_skip(cfg: Config, item: str, reason: str, fix: str) -> str:
    """Say that ``item`` (what was not produced, e.g. "realism check against real KSSL MIR") was skipped because of
    ``reason``, and how to get it (``fix``, a command, e.g. "python -m soilnb.data fetch kssl_toy").

    Prints ``skipped: <item>: <reason> (get it: <fix>)`` and records it under the current run (see
    :func:`current_run_id`) in the manifest of the run's figures folder, so that ``run_all.sh``'s summary lists it.
    Returns the printed line."""
    line = f"skipped: {item}: {reason} (get it: {fix})"
    print(line)
    skip = {"notebook": os.environ.get(NOTEBOOK_ENV, ""), "item": item, "reason": reason, "fix": fix,
            "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    update_run(cfg.figures_dir, current_run_id(), skip=skip)
    return line
