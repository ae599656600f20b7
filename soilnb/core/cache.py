"""Content-keyed cache for expensive steps (data generation, training, CV).

A step's key is the sha256 of its canonical-JSON parameters plus ``soilnb.__version__``; artifacts
are written to a temporary file and moved into place (``os.replace``) so that an interrupted run
never leaves a half-written file, and each artifact carries a sidecar ``.json`` with its
parameters and its own sha256 so that a damaged file is reported instead of silently reused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from soilnb import __version__
from soilnb.core import paths


class CacheError(RuntimeError):
    """A cached artifact exists but cannot be trusted (corrupt or unreadable)."""


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def cache_key(step: str, params: dict) -> str:
    """sha256 of the step name, its parameters and the package version."""
    blob = canonical_json({"step": step, "params": params, "version": __version__})
    return hashlib.sha256(blob.encode()).hexdigest()


def code_hash(*modules: str) -> str:
    """sha256 of the source of soilnb modules or subpackages, named relative to the package
    (``"data"``, ``"models.train"``), so that a cached artifact is recomputed when the code that
    made it changes, not only when its parameters do. A subpackage counts all its ``.py`` files."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for name in sorted(set(modules)):
        base = package.joinpath(*name.split("."))
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
        if not files or not files[0].exists():
            raise ValueError(f"code_hash: no soilnb module or subpackage named {name!r}")
        for f in files:
            h.update(f.relative_to(package).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def file_sha256(path, chunk: int = 1 << 16) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def artifact_path(step: str, params: dict, ext: str = "pkl", root=None) -> Path:
    root = Path(root) if root is not None else paths.CACHE
    return root / f"{step}-{cache_key(step, params)[:16]}.{ext}"


def _write_sidecar(path: Path, step: str, params: dict, seconds: float):
    meta = {"step": step, "params": params, "version": __version__, "sha256": file_sha256(path),
            "seconds": round(seconds, 3), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with atomic_path(path.with_suffix(path.suffix + ".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str))


def verify(path: Path) -> dict:
    """Check an artifact against its sidecar; raise :class:`CacheError` naming the problem."""
    side = path.with_suffix(path.suffix + ".json")
    if not side.exists():
        raise CacheError(f"cache file {path} has no sidecar {side.name}; it was not written by soilnb "
                         f"or was interrupted. Delete it to recompute.")
    try:
        meta = json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise CacheError(f"cache sidecar {side} is corrupt ({exc}); delete {path} and {side} to recompute") from exc
    if file_sha256(path) != meta.get("sha256"):
        raise CacheError(f"cache file {path} is corrupt (sha256 differs from its sidecar); "
                         f"delete it to recompute")
    return meta


def cached(step: str, params: dict, compute: Callable[[], Any], *, save: Callable[[Any, Path], None] | None = None,
           load: Callable[[Path], Any] | None = None, ext: str = "pkl", root=None, refresh: bool | None = None,
           verbose: bool = True):
    """Return ``compute()``, reusing the stored result when ``step`` and ``params`` are unchanged.

    ``save(obj, path)`` / ``load(path)`` default to pickle. ``refresh=True`` (or the environment
    variable ``SOILNB_CACHE=refresh``) recomputes; ``SOILNB_CACHE=off`` bypasses the cache.
    """
    mode = os.environ.get("SOILNB_CACHE", "on")
    if mode == "off":
        return compute()
    refresh = (mode == "refresh") if refresh is None else refresh
    save = save or _pickle_save
    load = load or _pickle_load
    path = artifact_path(step, params, ext, root)
    side = path.with_suffix(path.suffix + ".json")
    if path.exists() and not side.exists() and not refresh:
        # the sidecar is written last and is the commit marker: an artifact without one is an
        # interrupted write (killed between the two renames), so it is recomputed, never trusted
        print(f"[cache] {step}: {path.name} has no sidecar (an interrupted write); recomputing")
        refresh = True
    if path.exists() and not refresh:
        verify(path)
        t0 = time.perf_counter()
        obj = load(path)
        if verbose:
            print(f"[cache] {step}: loaded {path.name} in {time.perf_counter() - t0:.2f} s")
        return obj
    t0 = time.perf_counter()
    obj = compute()
    seconds = time.perf_counter() - t0
    side.unlink(missing_ok=True)          # from here until the new sidecar lands, the entry counts as interrupted
    with atomic_path(path) as tmp:
        save(obj, tmp)
    _write_sidecar(path, step, params, seconds)
    if verbose:
        print(f"[cache] {step}: computed in {seconds:.1f} s, stored {path.name}")
    return obj


def _pickle_save(obj, path):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_load(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)
