"""A compiled reader for the plain rows of a big spectral CSV: the parallel parse's fast path.

Why hand-written: on the full KSSL MIR table (85,000 rows x 1,701 columns, 1.37 GB) pandas' C parser reads about
230 MB/s on one core, and pyarrow's and polars' CSV readers were no faster per core: too slow for the first
load's 5 s goal on two cores. This reader, one loop compiled by numba
(:func:`soilnb.data.ossl._fastcsv_kernel.parse_rows`), reads such rows more than twice as fast on the same core
(``python benchmarks/bench_parse.py``), and gives exactly pandas' values:

* A number ``[+-]digits[.digits][(e|E)[+-]digits]`` with at most 15 significant digits and a power of ten within
  ±22 is one exact integer multiplied or divided by one exact power of ten, so the float64 is correctly rounded
  (Clinger's fast path). Any other number is parsed by Python's ``float``, also correctly rounded, as pandas' C
  parser (fast_float) is: the tests compare them on 101,000 random numbers of every form. The float32 is that
  float64 rounded, as ``read_csv(dtype=float32)`` does. An empty field is NaN.
* Anything else (a quote, a space around a number, ``NA``, ``inf``, a blank line, a lone ``\\r``, a row with
  another number of fields, a text field pandas reads as missing, a number float32 cannot hold) raises
  :class:`Unsupported`, and the worker parses that range with pandas instead (:mod:`soilnb.data.ossl.parallel`):
  its values, its missing values, its errors.
* With a decimal comma, or with a pandas the tests did not check (:func:`~soilnb.data.ossl.columns.usable`), the
  other numbers go to pandas too (its parser may not round them as ``float`` does).

numba is optional: without it (or with ``SOILNB_FAST_CSV=0``) every range is parsed with pandas. The loop is
compiled once per machine (about 1 s) and kept in numba's cache beside this file (or in its user cache folder).
"""
from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd

from soilnb.data.ossl.columns import usable
from soilnb.data.ossl.format import empty_chunk

try:                                # the words pandas reads as missing text (its private list; checked in the tests)
    from pandas._libs.parsers import STR_NA_VALUES
except ImportError:                 # another pandas: every text field that is one of these is then not read here
    STR_NA_VALUES = {"", "NA", "N/A", "NULL", "NaN", "nan", "None", "null", "n/a", "<NA>", "#N/A", "#NA", "-NaN",
                     "-nan", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN", "#N/A N/A"}

#: Rows that do not fit the fast path may hold at most this share of a chunk's numbers as Python-parsed ones
#: (a table written with 17 significant digits is read faster by pandas than number by number in Python).
SLOW_SHARE = 0.02
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SEPARATORS, _DECIMALS = (",", ";", "\t"), (".", ",")
_kernel = None


class Unsupported(Exception):
    """Rows this reader does not read exactly as pandas does: read them with pandas."""


def available() -> bool:
    """Whether the compiled loop can be used (numba importable, ``SOILNB_FAST_CSV`` not ``0``); compiles it (or
    loads it from numba's cache) the first time."""
    global _kernel
    if os.environ.get("SOILNB_FAST_CSV", "1").strip() == "0":
        return False
    if _kernel is None:
        try:
            from soilnb.data.ossl._fastcsv_kernel import parse_rows  # noqa: PLC0415 - numba, only where used
            _warm(parse_rows)
        except Exception:                   # no numba, one that does not run with this NumPy, or no compiler
            _kernel = False
        else:
            _kernel = parse_rows
    return _kernel is not False


def _warm(parse_rows) -> None:
    """Compile the loop now (or load it from numba's cache): in the process that forks the workers, not in each."""
    buf = np.frombuffer(b"a,1.5\n", np.uint8)
    X, bounds, slow = np.empty((1, 1), np.float32), np.empty((1, 1), np.int64), np.empty((1, 4), np.int64)
    parse_rows(buf, 0, len(buf), ord(","), ord("."), False, np.array([-2, 0], np.int64), 1, X, bounds, bounds, slow)
    if X[0, 0] != 1.5:
        raise RuntimeError("the compiled CSV loop does not read 1.5")


def plan(head: bytes, id_cols, read_names, dataset_col, dataset, csv_options):
    """A :class:`Plan` for a file whose header line is ``head``, or None where this reader is not used (numba
    missing, options other than a separator and a decimal comma, a column asked for that the header lacks)."""
    opts = dict(csv_options)
    if opts.pop("index_col", None) is not False or not available():
        return None
    sep, decimal = opts.pop("sep", ","), opts.pop("decimal", ".")
    if opts or sep not in _SEPARATORS or decimal not in _DECIMALS or sep == decimal:
        return None
    try:                                    # (the header as pandas names its columns: a BOM, quotes, repeats)
        names = list(pd.read_csv(io.BytesIO(head), nrows=0, sep=sep, index_col=False).columns)
    except (ValueError, UnicodeDecodeError):
        return None
    text = list(id_cols) + ([dataset_col] if dataset and dataset_col not in id_cols else [])
    where = {n: i for i, n in enumerate(names)}
    if len(where) != len(names) or len(names) < 2 or any(c not in where for c in text + list(read_names)):
        return None
    role = np.full(len(names), -1, np.int64)        # -1 skipped, -2 - k text column k, j >= 0 channel j
    for k, c in enumerate(text):
        role[where[c]] = -2 - k
    for j, c in enumerate(read_names):
        if role[where[c]] != -1:
            return None                             # a column asked for twice
        role[where[c]] = j
    return Plan(role, text, list(id_cols), len(read_names), ord(sep), ord(decimal),
                dataset_col if dataset else None, dataset)


class Plan:
    """Where each column of the file goes; :meth:`chunks` reads byte ranges with it."""

    def __init__(self, role, text, id_cols, n_channels, sep, decimal, dataset_col, dataset):
        self.role, self.text, self.id_cols, self.n_channels = role, text, id_cols, n_channels
        self.sep, self.decimal, self.dataset_col, self.dataset = sep, decimal, dataset_col, dataset

    def chunks(self, buf, lo: int, hi: int, chunksize: int, done=None):
        """:func:`~soilnb.data.ossl.format.pandas_chunks`' tuples of the rows in ``buf[lo:hi]`` (whole lines,
        no header), ``chunksize`` rows at a time; raises :class:`Unsupported` where pandas must read them.
        ``done(pos)``: called after each chunk with the first byte not needed any more (to let its pages go)."""
        missing = set(STR_NA_VALUES) | {""}                  # the text pandas reads as missing
        n_text, rows = len(self.text), max(int(chunksize), 1)
        X = np.empty((rows, self.n_channels), np.float32)
        lo_t, hi_t = np.empty((rows, max(n_text, 1)), np.int64), np.empty((rows, max(n_text, 1)), np.int64)
        slow = np.empty((max(16, int(SLOW_SHARE * rows * self.n_channels)), 4), np.int64)
        # numbers outside the fast path only where pandas is known to round them as float does
        strict = self.decimal != ord(".") or not usable()
        if not 0 <= lo <= hi <= len(buf):           # (a file shorter than when it was cut: pandas says so)
            raise Unsupported(f"bytes {lo}..{hi} are not all in the {len(buf)} bytes mapped")
        pos, produced = lo, False
        while pos < hi:
            pos, r, n_slow, status = _kernel(buf, pos, hi, self.sep, self.decimal, strict, self.role, rows, X,
                                             lo_t, hi_t, slow)
            if status:
                raise Unsupported(f"byte {pos}: a row this reader does not read as pandas does")
            if n_slow:
                _parse_slow(buf, slow[:n_slow], X)
            strings = {}
            for k, c in enumerate(self.text):
                try:
                    s = [bytes(buf[a:b]).decode() for a, b in zip(lo_t[:r, k], hi_t[:r, k])]
                except UnicodeDecodeError as exc:
                    raise Unsupported(f"column {c!r}: not UTF-8") from exc
                if missing.intersection(s):
                    raise Unsupported(f"column {c!r}: a value pandas reads as missing")
                strings[c] = np.array(s, dtype=str) if s else np.empty(0, str)
            keep = strings[self.dataset_col] == self.dataset if self.dataset_col else None
            produced = True
            yield r, keep, {c: strings[c] if keep is None else strings[c][keep] for c in self.id_cols}, \
                X[:r].copy() if keep is None else X[:r][keep]
            if done is not None:
                done(pos)
        if not produced:                            # no data rows: the empty chunk pandas_chunks gives
            yield empty_chunk(self.id_cols, self.n_channels, self.dataset_col is not None)


def _parse_slow(buf, slow, X) -> None:
    """The numbers outside the fast path, each by Python's ``float`` (correctly rounded, as pandas)."""
    for r, j, a, b in slow:
        v = float(bytes(buf[a:b]))
        if not abs(v) <= _FLOAT32_MAX:              # (pandas warns of the overflow: its own words)
            raise Unsupported(f"byte {a}: {bytes(buf[a:b])!r} does not fit a float32")
        X[r, j] = v
