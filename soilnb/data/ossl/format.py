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

# the OSSL column names, defined once for the generic readers too; the OSSL modules take them from here
from soilnb.core.vocab import OSSL_LAYER_COL as LAYER_COL, OSSL_SAMPLE_COL as SAMPLE_COL  # noqa: F401
from soilnb.core.vocab import OSSL_MIR_RE as MIR_RE, OSSL_NIR_RE as NIR_RE  # noqa: F401
from soilnb.spectra.orientation import ORIENTATION_BANDS, orientation_rows
from soilnb.spectra.units import ABSORBANCE_MAX, reflectance_fraction

DATASET_COL = "dataset.code_ascii_txt"
SCAN_COL = "id.scan_local_c"
COUNTRY_COL = "location.country_iso.3166_txt"
KSSL_CODE = "KSSL.SSL"
NEOSPECTRA_CODE = "NEOSPECTRA.SSL"
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
    return _options_from(_first_lines(path))


def _options_from(lines: list[str]) -> dict:
    """:func:`_csv_options` of a file whose first lines are ``lines``."""
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


def _table_options(path) -> dict:
    """:func:`_csv_options` plus ``index_col=False`` unless the first data line holds row names (R's
    ``write.table``: one field more than the header, the extra one at the front and the last one not empty), which
    pandas' default reads as the index. ``index_col=False`` keeps pandas from taking the first column for the index
    of a stream whose first data line ends in one delimiter too many; decided once for the whole file, so that every
    part of a parallel parse reads as one process does (:mod:`soilnb.data.ossl.parallel`)."""
    lines = _first_lines(path, 2)
    opts = _options_from(lines)
    if len(lines) == 2:
        head, first = (next(csv.reader([line], delimiter=opts.get("sep", ",")), []) for line in lines)
        if len(first) == len(head) + 1 and first[-1].strip():
            return opts                                     # row names: pandas' default, read in one process
    return {**opts, "index_col": False}


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
    ids = np.asarray(ids)
    keep = _finite_rows_kept(np.isfinite(X).all(axis=1), rows, ids, path, what=what)
    if keep.all():
        return X, ids, others, 0, ids[:0]
    return X[keep], ids[keep], tuple(np.asarray(o)[keep] for o in others), int((~keep).sum()), ids[~keep]


def _finite_rows_kept(finite, rows, ids, path, what: str = "") -> np.ndarray:
    """``finite`` (one bool per row) after naming the other rows: a warning, or an error when no row is finite."""
    name = Path(path).name
    bad, ids = ~np.asarray(finite, bool), np.asarray(ids)
    n_bad = int(bad.sum())
    if not n_bad:
        return ~bad
    rows = np.asarray(rows)
    if n_bad == bad.size:
        raise OSSLFormatError(f"every spectrum in {name}{what} is NaN/inf: {_rows_text(rows, ids)}")
    warnings.warn(f"{name}: dropped {n_bad} of {bad.size} rows holding NaN or inf: "
                  f"{_rows_text(rows[bad], ids[bad])}", UserWarning, stacklevel=4)
    return ~bad


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


def _check_quantity(X, axis, unit, quantity, path, chunk: int = 8192) -> None:
    """Refuse a table whose values are the other quantity, as :func:`soilnb.data.readers.read_spectra` refuses it.

    ``scan_mir.<cm-1>_abs`` columns hold absorbance (log10 1/R) and ``scan_nir.<nm>_ref`` columns reflectance;
    a file holding the other quantity under these names gave finite, wrong numbers. Two rules, those of the
    generic readers: for absorbance, most spectra reaching above :data:`~soilnb.spectra.units.ABSORBANCE_MAX`
    (5) are reflectance in percent (``detect_quantity``); and by shape, the water/O-H band is a maximum in
    absorbance and a minimum in reflectance, so a file where every spectrum judged
    (:func:`~soilnb.spectra.orientation.orientation_rows`) has the other shape is refused (``check_orientation``
    with ``every_row=True``: a few odd rows are kept). The shape is judged on the band's and its shoulders'
    channels only, a chunk of rows at a time, so that it costs little on 80,000 spectra; an ``axis`` missing
    the band is not judged by shape. The one-line message names the file, what the values look like and the fix.
    """
    axis = np.asarray(axis, dtype=np.float64)
    (blo, bhi), shoulders = ORIENTATION_BANDS[unit]
    if quantity == "absorbance":        # what the columns hold, what the values look like, and the fix
        columns, rename = "scan_mir.<cm-1>_abs columns hold absorbance (log10 1/R)", "scan_mir.<cm-1>_ref"
        looks, fix, shape = "reflectance", "A = log10(1/R) (R as a fraction)", "minimum"
    else:
        columns, rename = "scan_nir.<nm>_ref columns hold reflectance", "scan_nir.<nm>_abs"
        looks, fix, shape = "absorbance (log10 1/R)", "R = 10**-A", "maximum"
    high = int((X.max(axis=1) > ABSORBANCE_MAX).sum()) if quantity == "absorbance" else 0
    if high > X.shape[0] / 2:
        looks, fix = "reflectance in percent", "A = log10(100/R)"
        why = f"{high} of {X.shape[0]} spectra reach above {ABSORBANCE_MAX:g}, beyond the usual log10(1/R) range"
    else:
        near = np.logical_or.reduce([(axis >= lo) & (axis <= hi) for lo, hi in ((blo, bhi), *shoulders)])
        agree = np.concatenate([orientation_rows(X[s:s + chunk][:, near], axis[near], unit, quantity)
                                for s in range(0, X.shape[0], chunk)] or [np.zeros(0, np.int8)])
        judged = agree[agree != 0]
        if not judged.size or (judged > 0).any():
            return
        why = (f"the water/O-H band at {blo:g}-{bhi:g} {unit} is a {shape} in all {judged.size} spectra judged "
               f"({quantity} has a {'maximum' if shape == 'minimum' else 'minimum'} there)")
    raise OSSLFormatError(f"{Path(path).name}: values {float(X.min()):.3g}..{float(X.max()):.3g} look like {looks}, "
                          f"not {quantity}: {why}, but {columns}; convert the values with {fix}, or name the columns "
                          f"{rename} and read the file with soilnb.data.readers.read_spectra")


# ------------------------------------------------------------------------------------ pandas' chunks
def pandas_chunks(source, id_cols, read_names, dataset_col, dataset, *, chunksize, csv_options):
    """pandas' chunked C reader, as the tables were always read (its errors are the reference messages):
    per chunk, ``(n_rows, keep or None, {id column: str array}, float32 spectra)`` of the kept rows
    (:func:`from_pandas`)."""
    columns, dtypes = csv_columns(id_cols, read_names, dataset_col, dataset)
    for chunk in pd.read_csv(source, usecols=columns, dtype=dtypes, chunksize=chunksize, engine="c",
                             **csv_options):        # index_col: decided once for the file (format._table_options)
        yield from_pandas(chunk, id_cols, read_names, dataset_col, dataset)


def csv_columns(id_cols, read_names, dataset_col, dataset):
    """``(usecols, dtype)`` of ``read_csv`` for a table's id columns (text), its dataset column where rows are
    filtered by it, and its spectral columns (float32)."""
    text = id_cols + ([dataset_col] if dataset and dataset_col not in id_cols else [])
    return text + read_names, {c: str for c in text} | {c: np.float32 for c in read_names}


def from_pandas(df, id_cols, read_names, dataset_col, dataset):
    """A chunk's rows of ``dataset`` (all rows without one): ``(len(df), keep or None, {id column: str array},
    C-ordered float32 spectra in read_names order)``.

    The spectral columns are copied whole, one to a row of a channels x rows array, and the kept rows are taken
    from that and turned into rows 256 at a time (:func:`kept_rows`). Selecting 1,701 columns by name or position
    (a DataFrame of them) and then the rows of its ``to_numpy`` costs four to eight times as much (pandas'
    per-column work, and a gather across columns).
    """
    keep = (df[dataset_col] == dataset).to_numpy(bool) if dataset else None
    strings = {c: df[c].to_numpy(dtype=str) for c in id_cols}
    arrays = {c: s.to_numpy() for c, s in df.items()}
    X = np.empty((len(read_names), len(df)), np.float32)
    for j, c in enumerate(read_names):
        X[j] = arrays[c]
    return kept_rows(X, keep, strings)


def empty_chunk(id_cols, n_channels: int, filtered: bool):
    """The tuple :func:`pandas_chunks` gives for a source without data rows (filtered: by a dataset)."""
    return (0, np.zeros(0, bool) if filtered else None, {c: np.empty(0, str) for c in id_cols},
            np.empty((0, n_channels), np.float32))


def kept_rows(X, keep, strings):
    """A chunk's tuple from its channels x rows spectra ``X``, ``keep`` (None: every row) and its id columns'
    strings: the kept rows turned 256 at a time, in the CPU's cache."""
    rows = np.arange(X.shape[1]) if keep is None else np.flatnonzero(keep)
    out = np.empty((rows.size, X.shape[0]), np.float32)
    for s in range(0, rows.size, 256):
        out[s:s + 256] = X[:, rows[s:s + 256]].T
    return X.shape[1], keep, strings if keep is None else {c: v[keep] for c, v in strings.items()}, out
