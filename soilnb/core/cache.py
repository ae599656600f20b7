"""Content-keyed cache for expensive steps (data generation, training, CV), built so that it cannot lie.

A step's key is the sha256 of its canonical-JSON step name, parameters (which carry the
:func:`code_hash` of the code that computes it, and :func:`file_sha256` of any input file) and
``soilnb.__version__``. One entry per key, in ``root`` (default :data:`soilnb.core.paths.CACHE`)::

    <step>-<key[:16]>.<ext>         the artifact, written by ``save``
    <step>-<key[:16]>.<ext>.json    its sidecar: the full ``key`` (64 hex) with the ``step``, ``params`` and
                                    ``version`` it was made from, the artifact's ``sha256``, ``seconds``, ``created``
    .<step>-<key[:16]>.<ext>.lock   an empty lock file (left in place: removing a lock file races its users)

Why an entry cannot be returned for the wrong request or with the wrong bytes:

* Each entry records its own key. Loading checks that the sidecar's key is the requested one, so an
  entry that was renamed or swapped (with or without its sidecar), or that shares the 16-character
  file name prefix of another key, counts as *stale*; and that the artifact's sha256 is the one the
  sidecar records, else it is *corrupt*.
* Everything done for one key (check, load or compute, write) happens under an exclusive lock of its
  lock file (:class:`filelock.FileLock`: ``flock`` on POSIX, ``msvcrt.locking`` on Windows). Two processes asking for the same key at once therefore have one winner: the
  first computes and writes, the others wait (a message says so), then find a verified entry and load
  it, so the work is done once and a reader never sees the artifact of one writer with the sidecar of
  another. Concurrent loads of one key take turns, which costs little: a process loads a key once.
  The operating system drops the lock when a process dies, so a killed run never leaves a key locked.
* Files are written beside their target and moved into place with ``os.replace``. The sidecar is
  removed before the artifact is replaced and written last, so a process killed in between leaves an
  artifact without a sidecar, which is recomputed, never trusted.
* A stale or corrupt entry (or one without a sidecar) is recomputed and overwritten, with a printed
  ``[cache] WARNING`` that names the file and says what was wrong. Corruption is not raised: the cache
  holds only derived data, ``compute()`` is its source of truth, and the checks already guarantee the
  damaged bytes are never returned; raising only left the user stuck until they deleted files by
  hand. The warning keeps it visible, so a failing disk does not go unnoticed.
  :func:`verify` itself still raises :class:`CacheError`, for callers that check a file directly.
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

import numpy as np
from filelock import FileLock, Timeout

from soilnb import __version__
from soilnb.core import paths


#: The process's umask (read once: os.umask can only be read by setting it).
_UMASK = os.umask(0)
os.umask(_UMASK)


class CacheError(RuntimeError):
    """A cached artifact exists but cannot be trusted (no sidecar, stale, corrupt or unreadable)."""


def json_default(obj):
    """``json.dumps(..., default=json_default)``: numpy arrays as lists, numpy scalars as Python numbers, the rest
    as text (model configs, histories and bundles are written so)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


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


class Digest(str):
    """The sha256 (hex) of the bytes a ``save`` function of :func:`cached` wrote, hashed from the file it wrote:
    returned by such a function, it stands for hashing the file again."""


def file_sha256(path, chunk: int = 1 << 16) -> str:
    """sha256 (hex) of a file's content, read in ``chunk``-byte blocks (64 KiB) to bound memory."""
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
    os.chmod(tmp, 0o666 & ~_UMASK)          # mkstemp makes 0600; give the file the mode open() would
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def artifact_path(step: str, params: dict, ext: str = "pkl", root=None) -> Path:
    """Where the artifact of ``step`` with ``params`` lives (its sidecar adds ``.json``)."""
    root = Path(root) if root is not None else paths.CACHE
    return root / f"{step}-{cache_key(step, params)[:16]}.{ext}"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def verify(path, key: str | None = None) -> dict:
    """Check an artifact against its sidecar and return the sidecar's content.

    Parameters
    ----------
    path : path
        The artifact (as given by :func:`artifact_path`).
    key : str, optional
        The full key being requested (:func:`cache_key`); when given, the sidecar must record it.

    Raises
    ------
    CacheError
        The artifact or its sidecar is missing or unreadable, the sidecar records another key
        (stale: a renamed or swapped entry), or the artifact's sha256 differs from the sidecar's (corrupt).
    """
    path = Path(path)
    side = _sidecar(path)
    if not path.exists():
        raise CacheError(f"cache file {path} does not exist")
    if not side.exists():
        raise CacheError(f"cache file {path} has no sidecar {side.name} (an interrupted write, "
                         f"or not written by soilnb)")
    try:
        meta = json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CacheError(f"cache sidecar {side} is corrupt ({exc})") from exc
    if not isinstance(meta, dict):
        raise CacheError(f"cache sidecar {side} is corrupt (not a JSON object)")
    if key is not None and meta.get("key") != key:
        raise CacheError(f"cache file {path} is stale: its sidecar records the key {str(meta.get('key'))[:16]}, "
                         f"not the requested {key[:16]} (a renamed or swapped entry, or an older format)")
    if file_sha256(path) != meta.get("sha256"):
        raise CacheError(f"cache file {path} is corrupt (its sha256 differs from the one its sidecar records)")
    return meta


@contextlib.contextmanager
def exclusive(lock: Path, waiting: str | None = None):
    """Hold an exclusive lock on the file ``lock`` (created if absent, never removed) while the block runs,
    printing ``waiting`` first when another process holds it. A lock file that cannot be created or opened
    for writing (a read-only folder, e.g. a shared cache) means nobody here can write, so the block runs
    without a lock."""
    try:
        open(lock, "a").close()              # "a": create if absent, never truncate; mode as open() gives it
    except OSError:
        yield
        return
    fl = FileLock(lock)
    try:
        fl.acquire(timeout=0)
    except Timeout:
        if waiting:
            print(waiting)
        fl.acquire()
    try:
        yield
    finally:
        fl.release()


def _key_lock(path: Path, step: str):
    """Hold the entry's exclusive lock while the block runs."""
    return exclusive(path.with_name(f".{path.name}.lock"),
                     f"[cache] {step}: waiting for another process using {path.name}")


def _write_sidecar(path: Path, key: str, step: str, params: dict, sha256: str, seconds: float):
    meta = {"key": key, "step": step, "params": params, "version": __version__, "sha256": sha256,
            "seconds": round(seconds, 3), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "run": os.environ.get("SOILNB_RUN_ID") or None}
    with atomic_path(_sidecar(path)) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str))


#: The values of the environment variable ``SOILNB_CACHE`` (any case, surrounding spaces ignored).
CACHE_MODES = ("on", "off", "refresh")


def cache_mode() -> str:
    """``SOILNB_CACHE`` read: ``on`` (default, also when empty), ``off`` or ``refresh``, in any case; another value
    is a ValueError naming the three (a misspelt ``OFF`` must not silently mean "on")."""
    raw = os.environ.get("SOILNB_CACHE", "")
    mode = raw.strip().lower() or "on"
    if mode not in CACHE_MODES:
        raise ValueError(f"SOILNB_CACHE={raw!r}: use one of {', '.join(CACHE_MODES)} (any case)")
    return mode


def cached(step: str, params: dict, compute: Callable[[], Any], *,
           save: Callable[[Any, Path], Digest | None] | None = None,
           load: Callable[[Path], Any] | None = None, ext: str = "pkl", root=None, refresh: bool | None = None,
           verbose: bool = True):
    """Return ``compute()``, reusing the stored result when ``step`` and ``params`` are unchanged.

    Parameters
    ----------
    step : str
        Name of the step (the file name prefix).
    params : dict
        Everything the result depends on (JSON-able; include a :func:`code_hash`).
    compute : callable
        Makes the result; called only when no verified entry exists.
    save, load : callable, optional
        ``save(obj, path)`` writes ``obj`` to ``path`` (a temporary file moved into place afterwards);
        ``load(path)`` reads the artifact at its final path. Default: pickle. A ``save`` that hashed the file
        it wrote (e.g. while the result was still being checked) returns that :class:`Digest`; otherwise the file
        is hashed here.
    ext : str
        Artifact file extension.
    root : path, optional
        Cache folder (default :data:`soilnb.core.paths.CACHE`).
    refresh : bool, optional
        Recompute and overwrite. Default: the environment variable ``SOILNB_CACHE=refresh``, once per run: an
        entry this run wrote already (the ``SOILNB_RUN_ID`` that ``run_all.sh`` sets, recorded in the sidecar)
        is reused, so a stage shared by several notebooks is recomputed once, not once per notebook;
        ``SOILNB_CACHE=off`` bypasses the cache altogether.
    verbose : bool
        Print when an entry is loaded or computed (warnings about bad entries are always printed).
    """
    mode = cache_mode()
    if mode == "off":
        return compute()
    run = os.environ.get("SOILNB_RUN_ID", "") if refresh is None and mode == "refresh" else ""
    refresh = (mode == "refresh") if refresh is None else refresh
    save = save or _pickle_save
    load = load or _pickle_load
    key = cache_key(step, params)
    path = artifact_path(step, params, ext, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _key_lock(path, step):
        if path.exists() and (not refresh or (run and _sidecar_run(path) == run)):   # (hash only what may serve)
            try:
                meta = verify(path, key)
            except CacheError as exc:        # stale, corrupt or interrupted: never returned, replaced below
                print(f"[cache] WARNING {step}: {exc}; recomputing it")
                meta = None
            if meta is not None and (not refresh or meta.get("run") == run):
                t0 = time.perf_counter()
                obj = load(path)
                if verbose:
                    print(f"[cache] {step}: loaded {path.name} in {time.perf_counter() - t0:.2f} s")
                return obj
        t0 = time.perf_counter()
        obj = compute()
        seconds = time.perf_counter() - t0
        # from here until the new sidecar lands the entry reads as an interrupted write, never as the old one
        _sidecar(path).unlink(missing_ok=True)
        with atomic_path(path) as tmp:
            written = save(obj, tmp)
            # the bytes this process wrote, hashed before they become visible (by save itself: a Digest)
            sha = written if isinstance(written, Digest) else file_sha256(tmp)
        _write_sidecar(path, key, step, params, sha, seconds)
    if verbose:
        print(f"[cache] {step}: computed in {seconds:.1f} s, stored {path.name}")
    return obj


def _sidecar_run(path: Path):
    """The run id an entry's sidecar records (None when it has none or cannot be read)."""
    try:
        meta = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return None
    return meta.get("run") if isinstance(meta, dict) else None


def _pickle_save(obj, path):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _pickle_load(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)
