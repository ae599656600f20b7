"""Every path the project uses, derived from one root (showyourwork's ``paths.py``).

Where a run's figures go is a property of its configuration (:attr:`soilnb.core.config.Config.figures_dir`).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def absolute(path) -> Path:
    """``path`` with ``~`` expanded, relative to the repository root when relative: the notebooks run in
    ``notebooks/`` and ``run_all.sh`` in the root, so a relative path must not depend on the working folder."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else ROOT / path


DATA = absolute(os.environ.get("SOILNB_DATA", ROOT / "data"))
CACHE = absolute(os.environ.get("SOILNB_CACHE_DIR", DATA / "cache"))
FIGURES = absolute(os.environ.get("SOILNB_FIGURES", ROOT / "figures"))
BUILD = ROOT / "build"
NOTEBOOKS = ROOT / "notebooks"
#: The project's own copies of the real sample files (git-ignored), fetched and verified by
#: ``python -m soilnb.data fetch`` against the registry ``soilnb/data/real_registry.csv``.
REAL = DATA / "real"
#: A local mirror beside the repository (never committed): ``SHARED / "data" / "real"`` is only a place the
#: fetch copies from, each file checked against the registry first.
SHARED = absolute(os.environ.get("SOILNB_SHARED", ROOT.parent / "shared"))


def ensure(path: Path) -> Path:
    """Create ``path`` (a folder) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
