"""File-level helpers of the bundle format (:mod:`soilnb.apply.bundle`): the lock a bundle folder is saved and
loaded under, flushing a folder to disk, and the numbers ``bundle.json`` may hold."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def lock_of(folder: Path) -> Path:
    """The lock of a bundle folder: in the temporary folder (nothing left beside the bundle), named by the hash of
    its absolute path, so every process on this machine saving or loading it takes the same lock."""
    locks = Path(tempfile.gettempdir()) / "soilnb-bundle-locks"
    locks.mkdir(exist_ok=True)
    return locks / (hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:32] + ".lock")


def fsync_folder(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk (where the platform can)."""
    for p in [*folder.iterdir(), folder]:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:                      # a folder cannot be opened on Windows
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def finite(v):
    """``v`` with every non-finite number None (bundle.json holds only numbers JSON has; an infinite limit, e.g. a
    novelty limit too few spectra set, is recomputed on loading)."""
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    return [finite(x) for x in v] if isinstance(v, list) else v


def no_constant(name: str):
    raise ValueError(f"{name} is not a number a bundle may hold")
