"""The table file: the cache entry of a big OSSL table, one ``.npy`` of the spectra followed by the other fields.

:func:`save_table` / :func:`load_table`: the cache entry is one file, a ``.npy`` of X followed by the other fields,
so that a reload maps X from the page cache (``np.load(mmap_mode="c")``: copy-on-write, writable in memory, the file
never changes) instead of reading and unzipping 550 MB. A first read that will be cached writes its rows straight
into such a file (:func:`new_table_file`, :func:`finish_table`; the rows by :mod:`soilnb.data.ossl.bigtable`), which
then becomes the entry: the spectra reach the page cache once, not built in memory and then copied. On a virtual
machine whose fresh pages are slow to hand out, that copy cost seconds.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core import cache
from soilnb.data.library import SpectralLibrary

#: Bytes before the spectra in a table file written row by row: a ``.npy`` header padded to a page.
HEADER = 4096


def _npy_header(shape) -> bytes:
    """A ``.npy`` (version 1.0) header for float32 C-order data of ``shape``, padded to :data:`HEADER` bytes."""
    text = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(int(n) for n in shape)})
    return b"\x93NUMPY\x01\x00" + (HEADER - 10).to_bytes(2, "little") + text.encode().ljust(HEADER - 11) + b"\n"


def new_table_file(folder) -> Path | None:
    """An empty hidden file in ``folder`` (the cache folder) for :class:`soilnb.data.ossl.bigtable._Rows` to write
    the spectra into; None where none can be made, or where a mapped file cannot be moved (not POSIX): the rows
    then go to memory."""
    if os.name != "posix":
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        _remove_orphans(Path(folder))
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".ossl_table-{os.getpid()}-", suffix=".part")
        os.close(fd)
        return Path(name)
    except OSError:
        return None


def _remove_orphans(folder: Path) -> None:
    """Remove the table files of processes that are gone (a run killed while it read a table leaves up to the
    table's size behind; the file names carry the writer's process id)."""
    for part in folder.glob(".ossl_table-*.part"):
        try:
            pid = int(part.name.split("-")[1])
            os.kill(pid, 0)                             # raises when no such process
        except ProcessLookupError:
            part.unlink(missing_ok=True)
        except (ValueError, IndexError, PermissionError, OSError):
            pass                                        # another user's, or not ours: left alone


def _file_of(X):
    """The ``np.memmap`` under ``X``, if any."""
    while X is not None and not isinstance(X, np.memmap):
        X = X.base
    return X


class _Hashing(threading.Thread):
    """sha256 of the first ``size`` bytes of a table file, read from the file in a thread of its own (hashlib lets
    go of the GIL): started once its header and rows are final (:func:`start_hash`), it runs while the rows are
    checked, and :func:`finish_table` adds the fields it appends. 0.4 s for the KSSL table, no longer after the
    checks."""

    def __init__(self, path, size: int):
        super().__init__(daemon=True)
        self.path, self.size, self.sha, self.error = path, int(size), hashlib.sha256(), None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            _hash_range(self.sha, self.path, 0, self.size, self.stopping)
        except BaseException as exc:   # (then finish_table returns no digest: the cache hashes the file itself)
            self.error = exc

    def stop(self) -> None:
        """Stop at the next block and wait for the thread to end."""
        self.stopping.set()
        self.join()


_HASHING: dict[str, _Hashing] = {}


def start_hash(work, size: int) -> None:
    """Start hashing the first ``size`` bytes of the table file ``work`` (its header and rows, final by now)."""
    for name, old in list(_HASHING.items()):      # (those of reads that never saved: their files are gone)
        if not old.is_alive() and not os.path.exists(name):
            del _HASHING[name]
    job = _HASHING[os.path.abspath(work)] = _Hashing(work, size)
    job.start()


def drop_hash(work) -> None:
    """Stop and forget the hashing of ``work`` (a read that failed, or whose table is not saved from that file)."""
    job = _HASHING.pop(os.path.abspath(work), None)
    if job is not None:
        job.stop()


def _hash_range(sha, path, lo: int, hi: int, stopping=None, block: int = 4 << 20) -> None:
    """Add bytes ``lo:hi`` of the file ``path`` to ``sha``, read a block at a time into one buffer; raises when
    the event ``stopping`` is set."""
    buf = bytearray(block)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        fh.seek(lo)
        while lo < hi:
            if stopping is not None and stopping.is_set():
                raise RuntimeError("stopped")
            k = fh.readinto(view[:min(block, hi - lo)])
            if not k:
                raise OSError(f"{path} ends at byte {lo}")
            sha.update(view[:k])
            lo += k


def finish_table(lib: SpectralLibrary, work, path) -> cache.Digest | None:
    """Write ``lib`` to ``path`` as :func:`save_table` does. When ``lib.X`` maps the table file ``work``, that
    file already holds the spectra: the other fields are appended to it and it is moved to ``path``. Returns the
    file's sha256 where its first bytes were hashed already (:func:`start_hash`) and the rest is added here."""
    job = _HASHING.pop(os.path.abspath(work), None) if work is not None else None
    m = _file_of(lib.X) if work is not None else None
    if (m is None or os.path.abspath(m.filename or "") != os.path.abspath(work) or m.offset != HEADER
            or m.shape != lib.X.shape):
        if job is not None:
            job.stop()
        save_table(lib, path)
        if work is not None:
            Path(work).unlink(missing_ok=True)
        return None
    end = HEADER + lib.X.nbytes
    with open(work, "r+b") as fh:
        fh.seek(end)
        _write_fields(fh, lib)
        fh.truncate()
    digest = None
    if job is not None and job.size != end:
        job.stop()
    elif job is not None:
        job.join()
        if job.error is None:
            _hash_range(job.sha, work, end, os.stat(work).st_size)
            digest = cache.Digest(job.sha.hexdigest())
    os.chmod(work, os.stat(path).st_mode & 0o777)       # the mode the cache gave its temporary file
    os.unlink(path)         # renamed over an existing file, ext4 would write the table out first (auto_da_alloc)
    os.rename(work, path)
    return digest


def save_table(lib: SpectralLibrary, path) -> None:
    """Write ``lib`` as a ``.npy`` of X (so ``np.load(path, mmap_mode="r")`` maps the spectra), followed by
    ``.npy`` arrays of axis, sample_id, scan_id, instrument and properties, then one JSON line (unit, quantity,
    name, property names, meta)."""
    with open(path, "wb") as fh:
        np.lib.format.write_array(fh, np.ascontiguousarray(lib.X), allow_pickle=False)
        _write_fields(fh, lib)


def _write_fields(fh, lib: SpectralLibrary) -> None:
    for a in (lib.axis, lib.sample_id, lib.scan_id, lib.instrument, lib.properties.to_numpy(np.float64)):
        np.lib.format.write_array(fh, np.ascontiguousarray(a), allow_pickle=False)
    info = {"unit": lib.unit, "quantity": lib.quantity, "name": lib.name,
            "properties": [str(c) for c in lib.properties.columns], "meta": lib.meta}
    fh.write(json.dumps(info, default=cache.json_default).encode() + b"\n")


def load_table(path) -> SpectralLibrary:
    """Read what :func:`save_table` or :func:`finish_table` wrote; X is mapped copy-on-write, not read."""
    try:
        X = np.load(path, mmap_mode="c", allow_pickle=False)
        with open(path, "rb") as fh:
            fh.seek(X.offset + X.nbytes)
            axis, ids, scan, inst, props = (np.lib.format.read_array(fh, allow_pickle=False) for _ in range(5))
            info = json.loads(fh.readline())
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read spectral table {path}: {exc}") from exc
    return SpectralLibrary(X=X, axis=axis, unit=info["unit"], quantity=info["quantity"], sample_id=ids,
                           scan_id=scan, instrument=inst, properties=pd.DataFrame(props, columns=info["properties"]),
                           name=info["name"], meta=info["meta"])
