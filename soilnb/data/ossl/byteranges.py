"""Byte ranges of one open file, as the parallel parse's workers use them (:mod:`soilnb.data.ossl.parallel`): a range
read as a stream after the header line, its line ends counted, its mapped pages let go, rows written at an offset."""
from __future__ import annotations

import io
import mmap
import os

import numpy as np

_BLOCK = 16 << 20                                       # bytes per numpy count of line ends


def _line_ends(fd, lo, hi) -> int:
    """``\\n`` bytes in bytes ``lo:hi`` of a file; the pages read are let go (the file's pages stay in the page
    cache, but out of this process's resident memory)."""
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mm:
        data, n = np.frombuffer(mm, np.uint8), 0
        try:
            for s in range(lo - lo % _BLOCK, hi, _BLOCK):       # whole blocks: madvise wants page bounds
                n += int(np.count_nonzero(data[max(s, lo):min(s + _BLOCK, hi)] == 10))
                if hasattr(mm, "madvise"):
                    mm.madvise(mmap.MADV_DONTNEED, s, min(_BLOCK, len(mm) - s))
            return n
        finally:
            del data                    # the mapping cannot close while an array shows it


def _letting_go(mm, lo):
    """``done(pos)`` for :meth:`soilnb.data.ossl.fastcsv.Plan.chunks`: the mapping's pages before ``pos`` let go
    (out of this worker's resident memory; they stay in the page cache)."""
    mark = [lo - lo % mmap.PAGESIZE]

    def done(pos):
        upto = pos - pos % mmap.PAGESIZE
        if upto > mark[0] and hasattr(mm, "madvise"):
            mm.madvise(mmap.MADV_DONTNEED, mark[0], upto - mark[0])
            mark[0] = upto
    return done


def _write_rows(fd, X, offset) -> None:
    """Write the C-ordered array ``X`` at byte ``offset`` of the open file ``fd``: the bytes allocated
    (``posix_fallocate``: never shrinks a file; on most file systems a full disk is an ``OSError`` here rather than
    a SIGBUS on the mapped write, which kills this worker: the main process then reads the file in one process),
    then copied through a shared mapping of them. On Linux' ext4 in a virtual machine that took 0.3 s for 580 MB
    where ``pwrite`` took 3.5 s of kernel time. Where ``posix_fallocate`` or the mapping fails, ``pwrite``."""
    data = memoryview(X.reshape(-1).view(np.uint8))
    try:
        os.posix_fallocate(fd, offset, len(data))
        lo = offset - offset % mmap.ALLOCATIONGRANULARITY
        with mmap.mmap(fd, offset + len(data) - lo, offset=lo) as mm:
            mm[offset - lo:] = data
        return
    except (OSError, ValueError, AttributeError):
        pass
    while len(data):
        k = os.pwrite(fd, data, offset)
        data, offset = data[k:], offset + k


class _Range(io.RawIOBase):
    """The header line, then bytes ``lo:hi`` of the open file ``fd`` (read with ``preadv``, at no shared offset):
    what one worker parses."""

    def __init__(self, fd, head: bytes, lo: int, hi: int):
        super().__init__()
        self._fd, self._pos, self._hi, self._head = fd, lo, hi, memoryview(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        buf = memoryview(buf).cast("B")
        if len(self._head):
            k = min(len(buf), len(self._head))
            buf[:k], self._head = self._head[:k], self._head[k:]
            return k
        if self._pos >= self._hi:
            return 0
        k = os.preadv(self._fd, [buf[:min(len(buf), self._hi - self._pos)]], self._pos)
        if not k:
            raise OSError(f"the file is shorter than when it was cut ({self._hi - self._pos} bytes missing)")
        self._pos += k
        return k
