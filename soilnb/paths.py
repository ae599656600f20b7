"""Every path the project uses, derived from one root (showyourwork's ``paths.py``)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SOILNB_DATA", ROOT / "data"))
CACHE = Path(os.environ.get("SOILNB_CACHE_DIR", DATA / "cache"))
FIGURES = Path(os.environ.get("SOILNB_FIGURES", ROOT / "figures"))
BUILD = ROOT / "build"
NOTEBOOKS = ROOT / "notebooks"
#: Real sample files shared beside the repository (never committed), see ``shared/data/real/README.md``.
SHARED = Path(os.environ.get("SOILNB_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"
REFERENCE = SHARED / "reference"


#: The run whose outputs are being written (set by :func:`soilnb.config.from_notebook`).
ACTIVE_RUN: dict = {}


def set_active_run(**fields) -> None:
    """Record the profile (and sizes, seed) of the run that writes figures and tables from now on."""
    ACTIVE_RUN.clear()
    ACTIVE_RUN.update(fields)


def figures_dir() -> Path:
    """Where figures and tables go: ``figures/`` for the ``default`` profile (and when no run is set),
    ``figures/<profile>/`` for the others, so a smoke or paper run never overwrites default outputs."""
    profile = ACTIVE_RUN.get("profile", "default")
    return FIGURES if profile == "default" else FIGURES / profile


def ensure(path: Path) -> Path:
    """Create ``path`` (a folder) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
