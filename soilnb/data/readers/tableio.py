"""Reading table files: the first line, the header as pandas names it (parsed once per distinct header) and
the whole file as a DataFrame (comma, or a sniffed separator; Parquet).

Kept apart from :mod:`.table` (what the columns mean) so that :mod:`.batch`, which reads many small files
with one header in one parse, uses the same header parsing as a file read on its own.
"""
from __future__ import annotations

import gzip
import io
import zlib
from functools import lru_cache
from pathlib import Path

import pandas as pd

from soilnb.data.readers.base import SpectraReadError

#: Distinct headers whose parsing is remembered (a folder of one-spectrum files has one or a few).
HEADERS_CACHED = 64


def read_header(path: Path) -> list[str]:
    """A CSV's column names as ``pandas.read_csv`` gives them, parsed once per distinct header line.

    ``read_csv(nrows=0)`` builds an empty column per name, about 0.1 s for 1,700 columns: per file of a
    folder of one-spectrum files that costs more than the values. Headers that the first line alone does
    not settle (a blank or unreadable first line, a quoted name running over lines, another separator, a
    compression other than gzip) are read by pandas from the file, with its errors.
    """
    line = first_line(path)
    columns = parse_header(line) if line is not None and line.strip() and not line.count(b'"') % 2 else None
    return list(columns) if columns is not None else [str(c) for c in read_frame(path, nrows=0).columns]


def first_line(path: Path, limit: int = 1 << 22) -> bytes | None:
    """The first line of a plain or gzipped text file, bytes as stored; None when unreadable or too long."""
    name = path.name.lower()
    if name.endswith((".bz2", ".zip", ".xz", ".zst", ".tar")):
        return None
    try:
        with (gzip.open(path, "rb") if name.endswith(".gz") else open(path, "rb")) as fh:
            line = fh.readline(limit)
    except (OSError, EOFError, zlib.error):
        return None
    return None if len(line) >= limit else line


@lru_cache(maxsize=HEADERS_CACHED)
def parse_header(line: bytes) -> tuple | None:
    """The column names in a header line (as ``read_csv(nrows=0)`` of the file gives them), None when the
    line alone cannot tell (a parser error, another separator)."""
    try:
        cols = pd.read_csv(io.BytesIO(line), nrows=0, low_memory=False).columns
    except (ValueError, UnicodeDecodeError):          # pandas' parser errors are ValueErrors
        return None
    if len(cols) == 1 and any(s in str(cols[0]) for s in (";", "\t", "|")):
        return None                                   # another separator: sniffed on the file
    return tuple(str(c) for c in cols)


def read_frame(path: Path, nrows=None, dtype=None) -> pd.DataFrame:
    """A CSV (comma, or a sniffed separator) or Parquet file as a DataFrame."""
    if path.name.lower().endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise ImportError("reading Parquet needs pyarrow (pip install pyarrow)") from exc
    try:
        df = pd.read_csv(path, nrows=nrows, dtype=dtype, low_memory=False)
        if df.shape[1] == 1 and any(s in str(df.columns[0]) for s in (";", "\t", "|")):
            df = pd.read_csv(path, nrows=nrows, dtype=dtype, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SpectraReadError(f"not a readable table: {type(exc).__name__}: {exc}") from exc
    return df
