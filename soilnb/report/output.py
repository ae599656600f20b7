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
