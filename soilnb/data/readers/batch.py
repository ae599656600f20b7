"""Many small tables with one header parsed as one table: the folder of one-spectrum CSV files.

Read one by one, 2,000 one-row files of 1,700 columns cost a pandas parse each (about 0.1 s, building
1,700 columns of one value), while their values are a few kilobytes. Files whose header lines are the same
bytes are therefore put under that header and parsed in one ``read_csv``, then cut back into files, and
each file goes through the same :func:`~soilnb.data.readers.table.table_blocks` as a file read alone. The
result must be the one the files give alone, so a file is only parsed with others when nothing can differ:

* its bytes cannot shift rows between files: at most :data:`FILE_MAX_BYTES`, UTF-8, at least one data
  line, line ends ``\\n`` or ``\\r\\n``, no line of blanks, no quoted field running over a line end;
* the parse gives exactly one row per data line, raises nothing and warns nothing; otherwise the batch is
  split in two and each half tried again, down to single files, which are read alone (with their errors);
* a spectral column holding text in some file is text for the whole batch: those files are read alone and
  the others parsed again, so that every number comes from the parser that reads a file alone;
* the other columns (properties, extra) are typed file by file, as alone (pandas types a column from all
  of its rows: one file's text must not turn another file's numbers into text);
* full OSSL MIR tables (``id.layer_uuid_txt``, ``scan_mir.*_abs``) are batched only when their columns hold
  the 600-4000 cm-1 grid exactly (no resampling) and a file has no NaN/inf row, no repeated id and no row
  that could look like reflectance (above 5, or the O-H band a minimum); they then give the library
  :func:`soilnb.data.ossl.read_mir_table` gives (float32 values, its ids, no properties). Others, and OSSL
  NIR tables, are read alone by the OSSL readers, with their messages.

Any file left out is read alone by :func:`~soilnb.data.readers.read_spectra`, which reports its problems.
"""
from __future__ import annotations

import gzip
import io
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.vocab import MIR_AXIS_CM1, OSSL_LAYER_COL as LAYER_COL, OSSL_MIR_RE as MIR_RE
from soilnb.data.library import SpectralLibrary
from soilnb.data.readers.base import SpectraReadError
from soilnb.data.readers.table import ossl_block, ossl_kind, table_blocks, table_layout
from soilnb.data.readers.tableio import first_line, parse_header
from soilnb.spectra.bands import orientation_rows
from soilnb.spectra.reflectance import ABSORBANCE_MAX

#: Table files read with others: plain or gzipped CSV-like text (Parquet files are read alone).
BATCH_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
#: Larger files are read alone (a big table gains nothing from company and must not be held twice).
FILE_MAX_BYTES = 1 << 20
#: Bytes parsed at once, at most (the text and its DataFrame are held together).
BATCH_BYTES = 32 << 20


def plan_batches(paths) -> list[list[Path]]:
    """Groups of two or more table files sharing a header line, in the order first seen, each at most
    :data:`BATCH_BYTES` on disk. Files in no group are read alone."""
    by_header = {}
    for p in paths:
        p = Path(p)
        if not p.name.lower().endswith(BATCH_SUFFIXES):
            continue
        try:
            size = p.stat().st_size
        except OSError:
            continue
        line = first_line(p) if size <= FILE_MAX_BYTES else None
        if line and line.endswith(b"\n") and line.strip() and not line.count(b'"') % 2:
            by_header.setdefault(line, []).append((p, size))
    groups = []
    for line, members in by_header.items():
        if len(members) < 2 or _layout(line) is None:
            continue
        group, total = [], 0
        for p, size in members:
            if group and total + size > BATCH_BYTES:
                groups.append(group)
                group, total = [], 0
            group.append(p)
            total += size
        groups.append(group)
    return [g for g in groups if len(g) > 1]


def read_batch(paths, unit=None, quantity=None) -> dict:
    """Read files of one group of :func:`plan_batches` together.

    Returns
    -------
    dict of Path -> (list of FileSpectra or Exception, list of warnings.WarningMessage)
        For each file read with others: its blocks (or the error ``read_table`` would raise for it) and
        the warnings turning its values into blocks gave. Files missing from the dict are to be read alone.
    """
    members, header = [], None
    for p in paths:
        body = _body(Path(p))
        if body is not None:
            header = header or body[0]
            if body[0] == header:
                members.append((Path(p), body[1], body[2]))
    out = {}
    if header is not None:
        layout = _layout(header)
        _parse(header, members, layout, unit, quantity, out)
    return out


def _layout(line: bytes):
    """``("table", columns, TableLayout)`` or ``("mir", columns, column index of each model-grid position)``
    for a header line that batches, else None (a header the reader refuses is refused file by file, naming
    each; an OSSL NIR table or a MIR one off the model grid goes to the OSSL readers alone)."""
    columns = parse_header(line)
    if columns is None:
        return None
    kind = ossl_kind(columns)
    if kind == "mir":
        pos = {round(float(m.group(1)), 6): i for i, c in enumerate(columns) if (m := MIR_RE.match(c))}
        idx = [pos.get(round(float(a), 6)) for a in MIR_AXIS_CM1]
        raw = line.decode("utf-8-sig", "replace").rstrip("\r\n").split(",")
        ok = len(pos) == sum(bool(MIR_RE.match(c)) for c in columns) and raw == list(columns)
        return ("mir", columns, np.asarray(idx)) if ok and None not in idx else None
    if kind is not None:
        return None
    try:
        return ("table", columns, table_layout(columns))
    except SpectraReadError:
        return None


def _body(path: Path):
    """``(header line, data bytes, number of data lines)`` of a file that can be parsed with others, else None."""
    limit = 4 * FILE_MAX_BYTES                           # a gzipped file may expand: read no more than this
    try:
        with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")) as fh:
            raw = fh.read(limit + 1)
        raw.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    header, sep, data = raw.partition(b"\n")
    if not sep or len(raw) > limit or data.count(b"\r") != data.count(b"\r\n"):
        return None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if any(not ln.rstrip(b"\r") == b"" and not ln.strip() for ln in lines):
        return None                                      # a line of blanks: pandas may make it a row
    if b'"' in data and any(ln.count(b'"') % 2 for ln in lines):
        return None                                      # a quoted field over a line end
    n = sum(bool(ln.strip()) for ln in lines)
    return (header + sep, b"\n".join(lines) + b"\n", n) if n else None


def _parse(header: bytes, members: list, layout, unit, quantity, out: dict) -> None:
    """Parse ``members`` (``(path, data, n_rows)``) under ``header`` into ``out``; split on any doubt."""
    if len(members) < 2:
        return
    kind, columns, spec = layout
    id_col = LAYER_COL if kind == "mir" else spec.id_col
    df = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(io.BytesIO(header + b"".join(m[1] for m in members)),
                             dtype={id_col: str} if id_col else None, low_memory=False)
        except (ValueError, UnicodeDecodeError):          # pandas' parser errors are ValueErrors
            pass
    ok = (df is not None and not caught and len(df) == sum(m[2] for m in members)
          and isinstance(df.index, pd.RangeIndex) and tuple(map(str, df.columns)) == columns)  # no index column taken
    starts = np.cumsum([0] + [m[2] for m in members])
    text = None
    if ok:
        cols = list(spec) if kind == "mir" else [df.columns.get_loc(c) for b in spec.blocks for c in b["names"]]
        text = _text_rows(df, cols)
    if text is not None:
        bad = [bool(text[s:e].any()) for s, e in zip(starts[:-1], starts[1:])]
        ok = any(bad)                                   # else a column pandas kept as text for no row's sake
        if ok:
            _parse(header, [m for m, b in zip(members, bad) if not b], layout, unit, quantity, out)
            return
    if not ok:
        half = len(members) // 2
        _parse(header, members[:half], layout, unit, quantity, out)
        _parse(header, members[half:], layout, unit, quantity, out)
        return
    if kind == "mir":
        _mir_files(df, spec, members, starts, out)
    else:
        _table_files(df, header, columns, spec, members, starts, unit, quantity, out)


def _text_rows(df: pd.DataFrame, cols) -> np.ndarray | None:
    """Rows with text in one of the columns ``cols`` (by position), None when every such column is numeric."""
    text, dtypes = None, df.dtypes
    for j in cols:
        if not pd.api.types.is_numeric_dtype(dtypes.iloc[j]):
            col = df.iloc[:, j]
            t = (pd.to_numeric(col, errors="coerce").isna() & col.notna()).to_numpy()
            text = t if text is None else text | t
    return text


def _table_files(df, header, columns, layout, members, starts, unit, quantity, out) -> None:
    values = [df[b["names"]].to_numpy(np.float64) for b in layout.blocks]
    ids = df[layout.id_col].to_numpy(object) if layout.id_col else None
    other_at = [columns.index(c) for c in layout.other]
    for (path, data, _), s, e in zip(members, starts[:-1], starts[1:]):
        other = None
        if other_at:              # typed as the file alone types them: parsed from its own rows
            try:
                other = pd.read_csv(io.BytesIO(header + data), usecols=other_at, low_memory=False)
            except (ValueError, UnicodeDecodeError):
                continue
            if tuple(map(str, other.columns)) != layout.other:
                continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = table_blocks(path, layout, None if ids is None else ids[s:e], [(X[s:e], {}) for X in values],
                                   other, unit, quantity)
            except Exception as exc:  # noqa: BLE001 - stored, raised where the file alone would raise it
                res = exc
        out[path] = (res, list(caught))


def _mir_files(df, idx, members, starts, out) -> None:
    X = df.iloc[:, idx].to_numpy(np.float32)             # read_mir_table parses its columns as float32
    ids = df[LAYER_COL].to_numpy(dtype=str)
    # a row looking like reflectance (in percent, or by its band shape) may make read_mir_table refuse the file
    odd = (X.max(axis=1) > ABSORBANCE_MAX) | (orientation_rows(X, MIR_AXIS_CM1, "cm-1", "absorbance") < 0)
    for (path, _, _), s, e in zip(members, starts[:-1], starts[1:]):
        if not np.isfinite(X[s:e]).all() or len(set(ids[s:e])) < e - s or odd[s:e].any():
            continue                                     # dropped rows, repeated ids, doubtful values: read alone
        lib = SpectralLibrary(X=X[s:e], axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance", sample_id=ids[s:e],
                              name=path.name)
        lib.meta["n_dropped_nonfinite"] = 0
        out[path] = ([ossl_block(lib, "mir")], [])
