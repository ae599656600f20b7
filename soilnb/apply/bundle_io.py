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


def _fsync(path: Path) -> None:
    """Flush one file or folder to disk, where the platform can (a folder cannot be opened on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's own entries (names, renames) to disk, not its files."""
    _fsync(folder)


def fsync_folder(folder: Path) -> None:
    """Flush every file of ``folder`` (the bundle's own, written by this process) and the folder itself to disk."""
    for p in [*folder.iterdir(), folder]:
        _fsync(p)


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


#: ``renameat2`` flag: exchange the two paths atomically (Linux 3.15+, glibc 2.28+; ext4, xfs, btrfs, tmpfs).
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _renameat2():
    """libc's ``renameat2`` through ctypes (Python's os module has no wrapper), or None where it is missing."""
    try:
        import ctypes  # noqa: PLC0415 - only the bundle swap needs it

        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


def swap_in(tmp: Path, folder: Path) -> str:
    """Put the finished folder ``tmp`` at ``folder`` with one rename; returns how: ``"rename"`` (nothing was
    there), ``"exchange"`` (the two swapped atomically, the old bundle now at ``tmp`` to be removed) or
    ``"two renames"`` (a platform or file system without the exchange: old bundle moved aside, then the new one
    moved in; callers hold the folder's lock, so no reader sees the moment between)."""
    if not folder.exists():
        os.replace(tmp, folder)
        return "rename"
    fn = _renameat2()
    if fn is not None and fn(AT_FDCWD, os.fsencode(tmp), AT_FDCWD, os.fsencode(folder), RENAME_EXCHANGE) == 0:
        return "exchange"
    old = folder.with_name(f".{folder.name}.old{os.getpid()}")
    os.replace(folder, old)
    os.replace(tmp, folder)
    os.replace(old, tmp)                     # the caller removes tmp: the old bundle with it
    return "two renames"
