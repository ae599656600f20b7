"""The OSSL v1.2 file format: column names, dataset codes, spectral-column parsing and read checks.

Shared by the table readers (:mod:`soilnb.data.ossl.tables`), the download registry
(:mod:`soilnb.data.ossl.files`) and the test-set reader (:mod:`soilnb.data.ossl.testset`); the join rule
behind :func:`kssl_layer_uuid` is described in :mod:`soilnb.data.ossl`.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import lzma
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.spectra.units import reflectance_fraction

DATASET_COL = "dataset.code_ascii_txt"
LAYER_COL = "id.layer_uuid_txt"
SAMPLE_COL = "id.sample_local_c"
SCAN_COL = "id.scan_local_c"
COUNTRY_COL = "location.country_iso.3166_txt"
KSSL_CODE = "KSSL.SSL"
NEOSPECTRA_CODE = "NEOSPECTRA.SSL"
MIR_RE = re.compile(r"^scan_mir\.(\d+(?:\.\d+)?)_abs$")
NIR_RE = re.compile(r"^scan_nir\.(\d+(?:\.\d+)?)_ref$")
#: A field written with a decimal comma (``0,4531``, ``-1,2e-3``), as in ``;``-separated exports.
_DECIMAL_COMMA = re.compile(r'^\s*"?[-+]?\d*,\d+(?:[eE][-+]?\d+)?"?\s*$')
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: Reading errors that mean "this file is not a readable CSV" (reported naming the file).
_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError, OSError,
                gzip.BadGzipFile, zlib.error)


class OSSLFormatError(ValueError):
    """A file is unreadable or does not have the expected OSSL layout."""


# ------------------------------------------------------------------------------- small helpers
def kssl_layer_uuid(layer_local_id) -> str:
    """OSSL ``id.layer_uuid_txt`` of a KSSL layer: ``md5("KSSL.SSL" + str(layer id))``."""
    return hashlib.md5(f"{KSSL_CODE}{layer_local_id}".encode()).hexdigest()


def _file(data_dir, name) -> Path:
    path = Path(data_dir) / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; fetch the OSSL files with "
                                f"soilnb.data.ossl.download({str(data_dir)!r}) (see data/README.md)")
    return path


def _first_lines(path, n=2) -> list[str]:
    """The first ``n`` lines of a (possibly gz/bz2/xz-compressed) text file; [] when they cannot be read."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        return []
    opener = _OPENERS.get(path.suffix.lower(), open)
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            lines = []
            for line in fh:
                lines.append(line.rstrip("\r\n"))
                if len(lines) == n:
                    break
            return lines
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, ValueError):
        return []        # unreadable: pandas reports it naming the file


def _csv_options(path) -> dict:
    """``read_csv`` options for the file's delimiter: ``{}`` for a comma-separated file.

    The delimiter is the most frequent of ``,`` ``;`` and tab on the header line (a comma file keeps
    pandas' defaults, so its numbers are read exactly as before); a ``;``- or tab-separated file whose
    first data line has decimal commas (``0,4531``) is read with ``decimal=","``.
    """
    lines = _first_lines(path)
    if not lines:
        return {}
    head = lines[0]
    counts = {",": head.count(","), ";": head.count(";"), "\t": head.count("\t")}
    sep = max(counts, key=lambda k: (counts[k], k == ","))
    if sep == "," or counts[sep] == 0:
        return {}
    opts = {"sep": sep}
    if len(lines) > 1 and any(_DECIMAL_COMMA.match(f) for f in lines[1].split(sep)):
        opts["decimal"] = ","
    return opts


def _header(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    try:
        return list(pd.read_csv(path, nrows=0, **_csv_options(path)).columns)
    except _READ_ERRORS as exc:
        raise OSSLFormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def _raw_header(path, columns) -> list[str]:
    """The header's names as written (pandas renames a repeated name ``x`` to ``x.1``), one per column."""
    lines = _first_lines(path, 1)
    if not lines:
        return list(columns)
    raw = next(csv.reader(lines, delimiter=_csv_options(path).get("sep", ",")), [])
    return raw if len(raw) == len(columns) else list(columns)


def _read_csv(path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` with the file's delimiter (:func:`_csv_options`)."""
    return pd.read_csv(path, **_csv_options(path), **kwargs)


def _no_data_rows(df, path) -> None:
    if len(df) == 0:
        raise OSSLFormatError(f"{Path(path).name} has a header but no data rows")


def _rows_text(rows, ids=None, limit: int = 8) -> str:
    """``"rows 3, 5 (ids a, b; the header is row 1)"``: file rows as a spreadsheet numbers them."""
    rows = [int(r) for r in rows]
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    txt = f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:limit]))}{more}"
    inner = []
    if ids is not None:
        ids = [str(i) for i in ids]
        inner.append(f"id{'s' if len(ids) > 1 else ''} {', '.join(ids[:limit])}{', ...' if more else ''}")
    inner.append("the header is row 1")
    return f"{txt} ({'; '.join(inner)})"


def _drop_nonfinite_rows(X, rows, ids, path, *others, what: str = ""):
    """Drop the rows of ``X`` holding NaN or inf (a warning names their file rows and ids).

    ``rows`` are file row numbers (header = row 1). Raises when every row is non-finite. Returns
    ``(X, ids, others, n_dropped, dropped_ids)``.
    """
    name = Path(path).name
    bad = ~np.isfinite(X).all(axis=1)
    n_bad, ids = int(bad.sum()), np.asarray(ids)
    if not n_bad:
        return X, ids, others, 0, ids[:0]
    rows = np.asarray(rows)
    if n_bad == X.shape[0]:
        raise OSSLFormatError(f"every spectrum in {name}{what} is NaN/inf: {_rows_text(rows, ids)}")
    warnings.warn(f"{name}: dropped {n_bad} of {X.shape[0]} rows holding NaN or inf: "
                  f"{_rows_text(rows[bad], ids[bad])}", UserWarning, stacklevel=3)
    keep = ~bad
    return X[keep], ids[keep], tuple(np.asarray(o)[keep] for o in others), n_bad, ids[bad]


def _require(columns, required, path) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        more = f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        raise OSSLFormatError(f"{Path(path).name}: missing required column(s) {missing[:5]}{more}")


def _no_duplicates(ids, what, path) -> None:
    ids = pd.Series(np.asarray(ids))
    dup = ids[ids.duplicated()].unique()
    if dup.size:
        raise OSSLFormatError(f"{Path(path).name}: {dup.size} duplicate {what}(s), e.g. {[str(x) for x in dup[:5]]}")


def _spectral_columns(columns, pattern, path=None, kind="", bare_numbers=False, raw=None, decimal=".",
                      require=True):
    """Spectral column names and their positions (as in the file, any order).

    Columns match ``pattern`` (e.g. ``scan_mir.600_abs``); with ``bare_numbers`` a header that is
    just a number (``"1350"``, ``"4001.656"``; ``"4001,656"`` when ``decimal=","``) counts too.
    ``raw`` holds the names as written in the file (:func:`_raw_header`), so that a repeated name
    is seen as a repeated position, not as pandas' renamed ``"1350.1"``. With ``path``, two columns at
    the same position raise, and so does finding none (unless ``require=False``; the caller checks).
    """
    raw = list(columns) if raw is None else list(raw)
    names, pos, where = [], [], []
    for k, (c, r) in enumerate(zip(columns, raw)):
        m = pattern.match(str(r))
        if m:
            names.append(c)
            pos.append(float(m.group(1)))
            where.append(k)
        elif bare_numbers:
            text = str(r).strip()
            try:
                pos.append(float(text.replace(",", ".") if decimal == "," else text))
                names.append(c)
                where.append(k)
            except (TypeError, ValueError):
                pass
    pos = np.asarray(pos)
    if path is not None:
        if not names and require:
            raise OSSLFormatError(f"{Path(path).name}: no {kind} spectral columns (like {pattern.pattern})")
        _no_duplicate_positions(pos, [raw[k] for k in where], where, path)
    return names, pos


def _no_duplicate_positions(pos, raw_names, where, path) -> None:
    key = np.round(np.asarray(pos, dtype=np.float64), 6)
    values, counts = np.unique(key, return_counts=True)
    dup = values[counts > 1]
    if not dup.size:
        return
    parts = []
    for v in dup[:5]:
        cols = [f"{where[i] + 1} {raw_names[i]!r}" for i in np.flatnonzero(key == v)]
        parts.append(f"{v:g} (columns {', '.join(cols)})")
    more = f" (+{dup.size - 5} more)" if dup.size > 5 else ""
    raise OSSLFormatError(f"{Path(path).name}: duplicated spectral column position(s) {'; '.join(parts)}{more}; "
                          "columns are numbered from 1")


def _plan_grid(positions, axis, path, unit):
    """Columns to read and how: ``("exact", index)`` or ``("resample", None)``."""
    lo, hi = float(np.min(axis)), float(np.max(axis))
    have = {round(p, 6): i for i, p in enumerate(positions)}
    idx = [have.get(round(float(a), 6)) for a in axis]
    if all(i is not None for i in idx):
        return "exact", np.asarray(idx)
    if positions.min() > lo or positions.max() < hi:
        raise OSSLFormatError(f"{Path(path).name}: spectral grid {positions.min():g}..{positions.max():g} {unit} "
                              f"does not cover the requested range {lo:g}..{hi:g} {unit}")
    return "resample", None


def _wrap_read(path, fn):
    try:
        return fn()
    except OSSLFormatError:
        raise
    except _READ_ERRORS as exc:
        raise OSSLFormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:   # e.g. text where numbers are expected
        raise OSSLFormatError(f"cannot parse {path}: {exc}") from exc


def _reflectance(X, path, percent, rows=None):
    """Reflectance as fractions, percent decided per spectrum (:func:`soilnb.spectra.units.reflectance_rows`);
    messages name ``rows`` (file rows) when given, else 0-based row indices."""
    try:
        return reflectance_fraction(X, percent=percent, name=Path(path).name, labels=rows)
    except ValueError as exc:
        raise OSSLFormatError(str(exc)) from None
