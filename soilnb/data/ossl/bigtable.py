"""Reading the big OSSL spectral tables in bounded memory, and their content key.

The KSSL MIR table is 85,000 rows x 1,701 channels, 1.4 GB of CSV. Read as before (pandas chunks collected,
then concatenated, then filtered) it held the spectra twice and more (1.4 GB), and its cache entry, a zipped
``.npz``, took seconds to read back. Here:

* :func:`start_rows` reads only the id and spectral columns with pandas' chunked C reader, as before (its
  numbers and its error messages stay those of the tables read so far), keeps only the rows of the requested
  dataset, and writes each chunk's spectra as float32 into one array that grows in place: the spectra are
  held once. A plain CSV going to a cache entry is parsed on every core, each worker writing its rows into
  the entry's file (:mod:`soilnb.data.ossl.parallel`: the same values, or a fall back to one process; the
  workers read plain rows with a compiled reader, :mod:`soilnb.data.ossl.fastcsv`, and any other range with
  pandas' parser without DataFrames, :mod:`soilnb.data.ossl.columns`), and :func:`start_rows` starts that before
  the file is hashed. (pyarrow's multi-threaded CSV reader was tried: on this table it parses at about pandas'
  speed per core, and used a quarter more CPU time and memory.)
* :func:`content_sha256` is the file's sha256 (the cache key), remembered beside the cache together with the
  file's device, inode, size, mtime and ctime, so a reload does not hash 1.4 GB again. The memo cannot hide an
  edit: on POSIX every write and every ``utime`` sets ctime to the current time, and nothing sets it back, so
  an edit that restores the size and mtime still changes ctime. A file changed less than a timestamp tick
  before it was hashed could be changed again within the same tick unseen, so such a file's hash is not
  remembered (git's "racily clean" rule); nor where ctime means something else (Windows).
* The rows written as they are read go into the cache entry's file (:mod:`soilnb.data.ossl.tablefile`).
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import mmap
import os
import sys
import time
from pathlib import Path

import numpy as np

from soilnb.core import cache, paths
from soilnb.data.ossl import fastcsv
from soilnb.data.ossl.columns import column_chunks, usable
from soilnb.data.ossl.format import _first_lines, pandas_chunks
from soilnb.data.ossl.parallel import COMPRESSED, join, start_parallel, stat_key
from soilnb.data.ossl.tablefile import HEADER, _npy_header, start_hash

#: How long (seconds) after its last change a file's hash may be remembered: one kernel timestamp tick is
#: at most 10 ms; file systems with whole-second times (FAT, some network shares) need the wider window.
SETTLE_S, SETTLE_COARSE_S = 0.1, 2.5


# ------------------------------------------------------------------------------------ reading
def start_rows(path, id_cols, read_names, *, dataset_col=None, dataset=None, chunksize=4000, transform=None,
               csv_options=None, backing=None) -> RowsRead:
    """Start reading the rows of a wide CSV: with ``backing`` the file is parsed from now on by worker processes
    where it can be (:mod:`soilnb.data.ossl.parallel`); ``result()`` gives ``(strings, spectra, rows, finite,
    n_file_rows)``.

    Parameters
    ----------
    path : path
    id_cols : list of str
        Text columns to return (the id first), read as strings.
    read_names : list of str
        Spectral columns, in the order of the spectra's channels (parsed as float64, stored as float32).
    dataset_col, dataset : str, optional
        Keep only the rows whose ``dataset_col`` equals ``dataset``.
    chunksize : int
        Rows per pandas chunk.
    transform : callable, optional
        ``float32 rows -> float32 rows``, applied chunk by chunk (a resampling onto the output grid).
    csv_options : dict
        ``read_csv`` options for the file (delimiter, index: :func:`soilnb.data.ossl.format._table_options`).
    backing : path, optional
        A :func:`~soilnb.data.ossl.tablefile.new_table_file` to hold the spectra (then
        :func:`~soilnb.data.ossl.tablefile.finish_table` makes it the cache entry).

    Returns
    -------
    RowsRead
        Its ``result()`` is the tuple below.
    strings : dict of str -> ndarray of str
        ``id_cols`` of the kept rows.
    spectra
        The kept rows' spectra; ``spectra.take(mask)`` returns those where ``mask`` is True as one float32
        array (made from the stored rows in place: call it once).
    rows : ndarray of int
        Their file rows (the header is row 1; blank lines are not counted, as pandas counts).
    finite : ndarray of bool
        Rows without NaN/inf.
    n_file_rows : int
        Data rows in the file, before the dataset filter.
    """
    return RowsRead(Path(path), list(id_cols), list(read_names), dataset_col, dataset, chunksize, transform,
                    csv_options or {}, backing)


class RowsRead:
    """A :func:`start_rows` under way: ``result()`` once (the parallel parse's rows assembled, or the file read in
    one process), or ``cancel()`` (the workers stopped, what they wrote dropped)."""

    def __init__(self, path, id_cols, read_names, dataset_col, dataset, chunksize, transform, csv_options, backing):
        self.path, self.id_cols, self.transform, self.backing = path, id_cols, transform, backing

        def chunks(source):
            return pandas_chunks(source, id_cols, read_names, dataset_col, dataset, chunksize=chunksize,
                                 csv_options=csv_options)
        def pieces(source):         # the same tuples, built without DataFrames (the workers' parse)
            return column_chunks(source, id_cols, read_names, dataset_col, dataset, chunksize=chunksize,
                                 csv_options=csv_options)
        self.chunks = chunks
        # the rows go to a file: several processes can write them there, each part read as the whole file would be
        # only where the first column is never taken for the index (index_col=False, format._table_options)
        parallel = backing is not None and csv_options.get("index_col") is False
        def fast(head):             # the compiled reader where it reads the rows as pandas does
            plan = fastcsv.plan(head, id_cols, read_names, dataset_col, dataset, csv_options)
            return None if plan is None else lambda data, lo, hi, done: plan.chunks(data, lo, hi, chunksize, done)
        self.parsing = start_parallel(path, pieces if usable() else chunks, transform, backing, HEADER, fast) \
            if parallel else None

    def result(self):
        parsing, self.parsing = self.parsing, None
        parts = parsing.result() if parsing is not None else None
        if parts is not None:
            return _assemble(parts, self.id_cols, self.backing)
        return _collect(self.chunks(self.path), self.id_cols, self.transform, _row_estimate(self.path),
                        self.backing)

    def cancel(self) -> None:
        if self.parsing is not None:
            self.parsing.cancel()
            self.parsing = None


def _row_estimate(path: Path) -> int:
    """About 1.25 times the data rows of the file, from its size and its first data line (a gzip file's
    uncompressed size is in its last 4 bytes, modulo 4 GiB; other compressions count 4 times their size)."""
    lines, size = _first_lines(path, 2), path.stat().st_size
    if len(lines) < 2:
        return 1
    if path.name.lower().endswith(".gz") and size >= 18:
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            size = max(int.from_bytes(fh.read(4), "little"), size)
    elif path.name.lower().endswith(COMPRESSED):
        size *= 4
    return int(1.25 * size / (len(lines[1].encode()) + 1)) + 16


def _collect(chunks, id_cols, transform, capacity, backing=None):
    store = _Rows(capacity, backing)
    strings, rows, finite, n_file = {c: [] for c in id_cols}, [], [], 0
    for n, keep, cols, X in chunks:
        file_rows = np.arange(n_file + 2, n_file + 2 + n)
        n_file += n
        if keep is not None:            # (X and cols hold the kept rows only)
            file_rows = file_rows[keep]
        if transform is not None:       # (also on no rows: the width of the first chunk is the output's)
            X = transform(X.astype(np.float32, copy=False))
        finite.append(store.append(X))
        rows.append(file_rows)
        for c in id_cols:
            strings[c].append(cols[c])
        del X
    return ({c: join(v, np.empty(0, str)) for c, v in strings.items()}, store,
            join(rows, np.empty(0, np.int64)), join(finite, np.empty(0, bool)), n_file)


def _assemble(parts, id_cols, backing):
    """:func:`_collect`'s result from :meth:`~soilnb.data.ossl.parallel.Parsing.result`: each range's rows,
    written from its first slot on, moved down after the previous range's (one ``memmove`` a range)."""
    store, widths = _Rows(1, backing), {p["width"] for p in parts if len(p["finite"])}
    if len(widths) > 1:
        raise RuntimeError(f"the ranges' rows have different widths: {sorted(widths)}")
    if widths:
        store._map(sum(p["slots"] for p in parts), widths.pop())
        _populate_for_writing(store.mm)
    rows, n_file = [], 0
    for p in parts:
        m, src = len(p["finite"]), p["slot"]
        if m and src != store.n:
            _move_rows(store.X, store.n, src, m)
        store.n += m
        rows.append(p["kept"] + n_file + 2)
        n_file += p["n"]
    strings = {c: join([p["strings"][c] for p in parts if c in p["strings"]], np.empty(0, str)) for c in id_cols}
    return strings, store, join(rows, np.empty(0, np.int64)), join([p["finite"] for p in parts],
                                                                   np.empty(0, bool)), n_file


def _move_rows(X, dst: int, src: int, m: int) -> None:
    """Rows ``src:src + m`` of the C-ordered ``X`` moved to ``dst:dst + m`` (``dst < src``: the ranges may overlap),
    by one ``memmove``: numpy copies overlapping blocks through a temporary array first, fresh memory each time,
    which a virtual machine can hand out slowly."""
    if not (0 <= dst < src and src + m <= len(X) and X.flags.c_contiguous):
        raise RuntimeError(f"rows {src}..{src + m} cannot move to {dst} in {len(X)} rows")
    row = X.strides[0]
    ctypes.memmove(X.ctypes.data + dst * row, X.ctypes.data + src * row, m * row)


def _populate_for_writing(mm) -> None:
    """Map every page of a shared file mapping writable at once (``MADV_POPULATE_WRITE``, Linux 5.14+): a page
    at a time, the write faults of moving 0.6 GB of rows took twice as long. Elsewhere nothing."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, ValueError, AttributeError):
            mm.madvise(getattr(mmap, "MADV_POPULATE_WRITE", 23))


def _anonymous(size: int) -> mmap.mmap:
    """Memory not backed by a file that can grow: a private anonymous mapping (a shared one, mmap's default, grows
    its address range with ``resize`` but not the memory behind it, and a write past the first size is a SIGBUS)."""
    if hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS"):
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return mmap.mmap(-1, size)                      # Windows: no flags, and no resize either (mapped anew)


class _Rows:
    """float32 rows appended chunk by chunk into one mapping that grows in place.

    The mapping starts at an estimate of the file's row count: capacity never written is never touched, so
    it costs address space, not memory, and ``mmap.resize`` (``mremap``) grows it past the estimate and
    shrinks it to the rows kept without moving them. Anonymous memory from ``mmap`` also spares the spectra
    numpy's transparent-huge-page hint, whose first use can cost seconds of kernel page compaction.

    With ``path`` (a :func:`~soilnb.data.ossl.tablefile.new_table_file`) the rows go straight into a table file,
    the future cache entry, so that they are written to the page cache once instead of being built in memory and
    then copied there.
    """

    def __init__(self, capacity: int, path=None):
        self.capacity, self.path, self.mm, self.X, self.n = max(int(capacity), 1), path, None, None, 0
        self.start = HEADER if path is not None else 0

    def __len__(self):
        return self.n

    def _map(self, rows: int, n_cols: int) -> None:
        size = self.start + max(rows * n_cols * 4, 1)
        self.X = None                                   # a view would forbid the resize
        old, self.mm = self.mm, None
        if old is not None:
            try:
                old.resize(size)
                self.mm = old
            except (OSError, SystemError, TypeError):   # no mremap (macOS): map anew (a file keeps its rows)
                if self.path is None:
                    self.mm = _anonymous(size)
                    n = min(len(old), size)
                    np.frombuffer(self.mm, np.uint8, n)[:] = np.frombuffer(old, np.uint8, n)
                old.close()
        if self.mm is None and self.path is None:
            self.mm = _anonymous(size)
        elif self.mm is None:
            with open(self.path, "r+b") as fh:
                fh.truncate(size)                       # sparse: disk blocks only for rows written
                self.mm = mmap.mmap(fh.fileno(), size)
        self.X = np.frombuffer(self.mm, np.float32, rows * n_cols, self.start).reshape(rows, n_cols)

    def append(self, X) -> np.ndarray:
        """Store ``X`` (rounded to float32 on the way); return which of its rows are finite."""
        if self.X is None:
            self._map(max(self.capacity, len(X)), X.shape[1])
        if self.n + len(X) > len(self.X):
            self._map(max(self.n + len(X), len(self.X) * 5 // 4), X.shape[1])
        dest = self.X[self.n:self.n + len(X)]
        dest[...] = X
        self.n += len(X)
        return np.isfinite(dest).all(axis=1)

    def take(self, keep) -> np.ndarray:
        """The rows where ``keep`` is True as one array: moved down in place, then the mapping is shrunk to them.
        Backed by a table file, the array maps it copy-on-write (writable, the file stays as written)."""
        if self.X is None:
            return np.empty((0, 0), np.float32)
        X, n_cols = self.X, self.X.shape[1]
        idx = np.flatnonzero(np.asarray(keep, bool))
        if not idx.size:
            return np.empty((0, n_cols), np.float32)
        if idx.size < self.n:
            for s in range(0, idx.size, 4096):      # idx[j] >= j: a row is read before it can be overwritten
                part = idx[s:s + 4096]
                X[s:s + part.size] = X[part]
        del X
        self._map(idx.size, n_cols)
        if self.path is None:
            return self.X
        self.mm[:HEADER] = _npy_header((idx.size, n_cols))
        self.X = None
        self.mm.close()
        start_hash(self.path, HEADER + idx.size * n_cols * 4)      # the header and rows are final: hashed meanwhile
        return np.load(self.path, mmap_mode="c", allow_pickle=False)


# ------------------------------------------------------------------------------------ content key
def content_sha256(path, root=None, *, remembered_only=False) -> str | None:
    """sha256 of a file's content, remembered in ``root`` (default the cache folder) until the file changes.

    See the module docstring for why an edit cannot be missed. ``SOILNB_CACHE=refresh`` always hashes.
    ``remembered_only``: None instead of hashing, where the memo cannot answer.
    """
    path = Path(os.path.abspath(path))
    memo = Path(root if root is not None else paths.CACHE) / \
        f"file_sha256-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.json"
    st, started = os.stat(path), time.time()
    usable = os.name == "posix"
    if usable and cache.cache_mode() == "on":
        try:
            m = json.loads(memo.read_text())
            if m.get("path") == str(path) and m.get("stat") == stat_key(st) and len(m.get("sha256", "")) == 64:
                return m["sha256"]
        except (OSError, ValueError, AttributeError):
            pass                        # no memo, or an unreadable one: hash
    if remembered_only:
        return None
    sha = cache.file_sha256(path, 1 << 20)   # (hashlib.file_digest is Python 3.11+; soilnb runs on 3.10)
    coarse = st.st_ctime_ns % 10**9 == 0 and st.st_mtime_ns % 10**9 == 0
    age = started - max(st.st_ctime_ns, st.st_mtime_ns) / 1e9
    if usable and stat_key(os.stat(path)) == stat_key(st) and age > (SETTLE_COARSE_S if coarse else SETTLE_S):
        try:
            with cache.atomic_path(memo) as tmp:
                tmp.write_text(json.dumps({"path": str(path), "stat": stat_key(st), "sha256": sha}))
        except OSError:
            pass                        # a read-only cache folder: hash again next time
    return sha
