"""Parsing one big CSV on several cores: the file cut at line ends, the pieces shared out to forked processes.

pandas' C parser reads about 180-230 MB/s on one core (``read_csv``, and its reader without DataFrames:
``python benchmarks/bench_parse.py``), so one core takes 6-8 s to parse the full KSSL MIR table (1.37 GB of text)
whatever else is done. :func:`start_parallel` cuts the data lines into byte ranges
(:data:`RANGES_PER_WORKER` per worker), each ending just after a ``\\n``, and forks :class:`Parsing` workers (at
most :data:`MAX_WORKERS`), each parsing the next range not taken: with the compiled reader where it reads the range
as pandas does (:mod:`soilnb.data.ossl.fastcsv`, more than twice as fast; from the file's mapped pages), else
with the very ``read_csv`` call of :func:`soilnb.data.ossl.format.pandas_chunks` (the header line put before the
range). A worker first counts its range's ``\\n`` (its
slots: a range but the last ends with a ``\\n``, so holds at most that many rows; the last may lack it and gets
one slot more; a lone ``\\r`` ending rows gives more rows than slots: a failure) and publishes the count; its rows
go to the table file from the sum of the slots of the ranges before it on, written through a shared mapping
(the kept rows' float32 spectra, as they are parsed: :func:`_write_rows`). The main process opens the file once
and the workers read that open file (``pread``): they parse one version of it; one replaced or changed meanwhile
(another inode, size, mtime or ctime) is read again in one process. The main process then moves each range's
rows down after the previous range's (the gaps are the rows filtered out) and joins ids, file rows and finite flags:
:class:`soilnb.data.ossl.bigtable.RowsRead`. Nothing is held twice: a worker holds one chunk, the spectra go
straight to the file, the workers' pages of the CSV are let go.

Exactly what one process reads, or nothing. A cut just after a ``\\n`` is a row boundary unless it lies inside
a quoted field; then the range before it ends inside the quotes and pandas raises "EOF inside string". Any
failure of any worker (that one; a value that is not a number; an unreadable file; a killed worker; a warning)
makes :meth:`Parsing.result` return None, and the caller reads the whole file in one process as before: it gives
the reference result, or the reference error (its row number counted over the whole file) or warning.

Not used (None: read in one process): compressed files (a gzip stream cannot be cut where one likes), files
under twice :data:`MIN_PART_BYTES`, one CPU, no ``fork`` (Windows, macOS) or ``mmap``, a header line with an open
quote or a lone ``\\r``. ``SOILNB_READ_WORKERS`` sets the number of processes (1: never in parallel). The workers
are forked, not spawned (a spawned one would import pandas again, a second of CPU each): what they run (pandas'
parser, numpy, the resampling) holds no lock of another thread of the parent. A worker puts SIGTERM and SIGINT
back to their default actions (not the parent's handlers), and is killed when the main process's thread that
forked it ends (``PR_SET_PDEATHSIG``, SIGKILL: the kernel ties it to that thread, not the process). A worker
waiting for an earlier range's count gives up when the main process is gone or the parse was given up (a shared
flag); the main process waits at most :attr:`Parsing.wait_s` for them.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import mmap
import multiprocessing
import os
import signal
import sys
import time
import warnings
from multiprocessing.connection import wait

import numpy as np

from soilnb.core.cpus import available_cpus
from soilnb.data.ossl.byteranges import _line_ends, _letting_go, _Range, _write_rows
from soilnb.data.ossl.fastcsv import Unsupported

#: At least this many bytes of CSV per range (a file under two ranges is read in one process).
MIN_PART_BYTES = 16 << 20
#: At most this many workers (each holds one chunk of rows: about 130 MB of its own for 4,000 rows of 1,701
#: columns).
MAX_WORKERS = 4
#: Ranges per worker (each at least MIN_PART_BYTES long): a worker that the machine's other jobs slow down
#: parses fewer of them, instead of the others waiting for it.
RANGES_PER_WORKER = 4
COMPRESSED = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".gz", ".bz2", ".zip", ".xz", ".zst")


# ------------------------------------------------------------------------------------ several
def workers() -> int:
    """Processes to parse with: ``SOILNB_READ_WORKERS``, else the CPUs this process may use (at most
    :data:`MAX_WORKERS`)."""
    try:
        return max(1, int(os.environ["SOILNB_READ_WORKERS"]))
    except (KeyError, ValueError):
        pass
    return min(MAX_WORKERS, available_cpus())


def start_parallel(path, chunks, transform, out, first_byte, fast=None):
    """Start parsing ``path`` in byte ranges (:data:`RANGES_PER_WORKER` per worker) by forked worker processes: a
    :class:`Parsing`, or None where that is not done (then read the file in one process).

    Parameters
    ----------
    chunks : callable
        ``source -> iterator`` of :func:`soilnb.data.ossl.format.pandas_chunks`' tuples (the call with every argument but the source).
    transform : callable or None
        Applied to each chunk's kept rows, as :func:`soilnb.data.ossl.bigtable.start_rows` does.
    out : path
        The table file; row ``i`` of the slots is written at ``first_byte + i * width * 4``.
    fast : callable, optional
        ``header bytes -> None or reader``, called once before the workers start; a reader,
        ``(uint8 array of the file, lo, hi, done) -> generator`` of the same tuples, is tried on each range first
        (:meth:`soilnb.data.ossl.fastcsv.Plan.chunks`; its :class:`~soilnb.data.ossl.fastcsv.Unsupported`: that
        range with ``chunks``).
    """
    name = os.fspath(path)
    n = workers()
    if n < 2 or sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods() \
            or name.lower().endswith(COMPRESSED):
        return None
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))   # (forked workers keep it all the same)
    except OSError:
        return None                     # read in one process: its error
    try:
        st = os.fstat(fd)                   # before the cut: a file changed from here on is read again
        n_ranges = min(RANGES_PER_WORKER * n, st.st_size // max(MIN_PART_BYTES, 1))
        if n_ranges < 2:
            raise ValueError
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mm:
            cut = _cuts(mm, n_ranges)
        if cut is None:
            raise ValueError
    except (OSError, ValueError):       # too small, not cut, or no mmap on this file system
        os.close(fd)
        return None
    try:
        reader = fast(cut[0]) if fast is not None else None     # (compiled here, once, not in every worker)
        return Parsing(name, fd, st, *cut, min(n, len(cut[1])), chunks, reader, transform, out, first_byte)
    except Exception:                   # e.g. no process could be started: read in one process
        with contextlib.suppress(OSError):
            os.close(fd)                # (closed already where cancel ran)
        os.truncate(out, 0)
        return None


def _cuts(mm, n):
    """``(header bytes, [(lo, hi)])``: the data cut after the first ``\\n`` from each ``1/n`` of it on."""
    start = mm.find(b"\n") + 1
    head = mm[:start]
    if not start or head.count(b'"') % 2 or b"\r" in head[:-2]:
        return None                     # no line end, or a header line that is not one whole record
    cuts, size = [start], len(mm)
    for k in range(1, n):
        at = mm.find(b"\n", max(cuts[-1], start + (size - start) * k // n)) + 1
        if not at or at >= size:
            break
        cuts.append(at)
    cuts.append(size)
    ranges = [(lo, hi) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]
    return (head, ranges) if len(ranges) >= 2 else None


class Parsing:
    """The worker processes parsing a file's ranges, started at once; :meth:`result` waits for them. Each worker
    takes the next range not taken until none is left (a worker slowed by the machine's other jobs takes fewer).
    It owns ``fd``, the file opened once (closed by :meth:`cancel`)."""

    def __init__(self, name, fd, st, head, ranges, n_workers, chunks, fast, transform, out, first_byte):
        self.fd, self.name, self.jobs, self.out, self.n_ranges = fd, name, [], out, len(ranges)
        ctx = multiprocessing.get_context("fork")
        # waited for at most a minute plus a second per MB (pandas parses about 190 MB a second on one core)
        self.ident, self.wait_s = stat_key(st), 60.0 + st.st_size / 1e6
        # shared with the workers: the ranges' line end counts, then the abort flag and the main process's id
        self.counts = mmap.mmap(-1, 8 * (len(ranges) + 2))
        np.frombuffer(self.counts, np.int64)[:] = [-1] * len(ranges) + [0, os.getpid()]
        taken = ctx.Value("q", 0)                       # ranges taken so far
        try:
            for _ in range(n_workers):
                recv, send = ctx.Pipe(duplex=False)
                job = ctx.Process(target=_worker, daemon=True, args=(send, taken, fd, head, ranges, self.counts,
                                                                     chunks, fast, transform, out, first_byte))
                try:
                    with warnings.catch_warnings():     # Python 3.12+ warns of fork with threads (module docstring)
                        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
                        job.start()
                finally:
                    send.close()
                    if job.pid is None:                 # not started
                        recv.close()
                self.jobs.append((job, recv))
        except BaseException:
            self.cancel()
            raise

    def result(self):
        """The ranges' results in file order (a dict each), or None when a worker failed, did not answer within
        :attr:`wait_s`, or the file was replaced or changed meanwhile (what they wrote is dropped: read the file
        in one process).

        Each dict: ``slot`` (where the range's first row was written, in rows from ``first_byte``; 0 where it
        wrote none), ``slots``, ``n`` (data rows parsed), ``kept`` (0-based indices in the range of the rows
        written), ``strings``, ``finite`` (per row written), ``width`` (of the rows written; None: no chunk)."""
        parts = None
        try:
            parts = self._wait()
            try:
                if stat_key(os.fstat(self.fd)) != self.ident or stat_key(os.stat(self.name)) != self.ident:
                    parts = None
            except OSError:
                parts = None
        finally:
            self.cancel()
            if parts is None:
                os.truncate(self.out, 0)
        return parts

    def _wait(self):
        parts, left, deadline = [None] * self.n_ranges, [recv for _, recv in self.jobs], time.monotonic() + self.wait_s
        while left:
            ready = wait(left, max(0.0, deadline - time.monotonic()))
            if not ready:                   # stuck (stopped, swapping): read in one process
                return None
            for conn in ready:
                left.remove(conn)
                try:
                    status, value = conn.recv()
                except EOFError:                # died without a word (killed, out of memory)
                    return None
                if status != "ok":
                    return None
                for k, part in value:
                    parts[k] = part
        return parts if all(p is not None for p in parts) else None

    def cancel(self) -> None:
        """Stop the workers still running (SIGTERM, then SIGKILL for one that has not ended within a second); the
        abort flag first, so that one waiting for the count of one that failed waits no more."""
        if not self.counts.closed:
            np.frombuffer(self.counts, np.int64)[-2] = 1
        for job, _ in self.jobs:
            if job.is_alive():
                job.terminate()
        deadline = time.monotonic() + 1.0
        for job, recv in self.jobs:
            job.join(max(0.0, deadline - time.monotonic()))
            if job.exitcode is None:
                job.kill()
                job.join()
            recv.close()
        self.jobs = []
        if not self.counts.closed:
            self.counts.close()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def stat_key(st) -> list[int]:
    """A file's identity and state from ``os.stat``: device, inode, size, modification and change times (a list,
    as the remembered hashes store it in JSON)."""
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def join(parts, empty):
    """``np.concatenate(parts)``, or ``empty`` when there are none."""
    return np.concatenate(parts) if parts else empty


def _worker(send, taken, fd, head, ranges, counts, *args):
    """In the forked process: parse ranges, the next one not taken until none is left, and write their rows; send
    what the main process assembles, ``[(range, result)]``. A warning the caller's filters would show counts as a
    failure: read in one process, the file gives it where the caller sees it."""
    for sig in (signal.SIGTERM, signal.SIGINT):         # not the parent's handlers: terminate() must end it
        signal.signal(sig, signal.SIG_DFL)
    _end_with_parent(int(np.frombuffer(counts, np.int64)[-1]))
    try:
        result = []
        with warnings.catch_warnings(record=True) as caught:      # the inherited filters (-W error raises)
            while True:
                with taken.get_lock():
                    k, taken.value = taken.value, taken.value + 1
                if k >= len(ranges):
                    break
                result.append((k, _parse_range(fd, head, ranges, k, counts, *args)))
        if caught:
            raise RuntimeError(f"a warning: {caught[0].message}")
        send.send(("ok", result))
    except BaseException as exc:        # reported, not printed: the main process reads the file again
        try:
            np.frombuffer(counts, np.int64)[-2] = 1     # the others wait no more for a count
            send.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError):
            pass
    finally:
        send.close()


def _end_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the main process's thread that forked it ends (killed: no ``cancel``
    runs)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:          # it died before that
        os._exit(1)


def _parse_range(fd, head, ranges, k, counts, chunks, fast, transform, out, first_byte):
    """Count the range's line ends (its slots), publish them, parse the range (with ``fast`` where it reads it,
    else with ``chunks``); before the first write, wait for the counts of the ranges before it (its first slot)."""
    (lo, hi), published = ranges[k], np.frombuffer(counts, np.int64)
    published[k] = slots = _line_ends(fd, lo, hi) + (k == len(ranges) - 1)    # (the last may lack its \n)
    try:
        if fast is not None:
            mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            data, pieces = np.frombuffer(mm, np.uint8), None
            try:
                pieces = fast(data, lo, hi, _letting_go(mm, lo))
                return _write_range(pieces, published, k, slots, lo, hi, transform, out, first_byte)
            except Unsupported:
                pass                                    # this range with pandas: its values, its errors
            finally:
                if pieces is not None:
                    pieces.close()                      # (it holds a view of the mapping)
                del data, pieces
                # another error's traceback may still hold a view: then the mapping closes with it, and the
                # error is reported, not a BufferError of this close
                with contextlib.suppress(BufferError):
                    mm.close()
        with io.BufferedReader(_Range(fd, head, lo, hi), 1 << 20) as source:
            return _write_range(chunks(source), published, k, slots, lo, hi, transform, out, first_byte)
    finally:
        del published


def _write_range(pieces, published, k, slots, lo, hi, transform, out, first_byte):
    """Write the rows of one range's chunks (``pieces``) from its first slot on; what the main process assembles."""
    kept, strings, finite, n, done, width, slot = [], {}, [], 0, 0, None, None
    wfd = os.open(out, os.O_RDWR)          # (a shared mapping needs read access)
    try:
        for rows, keep, cols, X in pieces:
            kept.append(np.arange(n, n + rows) if keep is None else n + np.flatnonzero(keep))
            n += rows
            if transform is not None:               # (also on no rows: their width is the output's)
                X = transform(X.astype(np.float32, copy=False))
            X = np.ascontiguousarray(X, dtype=np.float32)
            if done + len(X) > slots:
                raise RuntimeError(f"more rows than the {slots} slots of bytes {lo}..{hi}")
            width = X.shape[1]
            if len(X):
                if slot is None:
                    slot = _first_slot(published, k)
                _write_rows(wfd, X, first_byte + (slot + done) * width * 4)
            finite.append(np.isfinite(X).all(axis=1))
            for c, v in cols.items():
                strings.setdefault(c, []).append(v)
            done += len(X)
    finally:
        os.close(wfd)
    return {"slot": slot or 0, "slots": slots, "n": n, "kept": join(kept, np.empty(0, np.int64)),
            "strings": {c: np.concatenate(v) for c, v in strings.items()}, "finite": join(finite, np.empty(0, bool)),
            "width": width}


def _first_slot(published, k) -> int:
    """The slots of the ranges before range ``k`` (where its rows go), once their workers have counted them;
    raises when the parse was given up (the abort flag) or the main process is gone."""
    while True:
        before = published[:k].copy()
        if (before >= 0).all():
            return int(before.sum())
        if published[-2] or os.getppid() != published[-1]:
            raise RuntimeError("the parse was given up")
        time.sleep(0.002)
