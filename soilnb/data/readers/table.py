"""Wide tables of spectra (CSV, optionally gzipped, and Parquet): one row per spectrum, one column per channel.

Spectral columns are recognised by their names: a number with an optional prefix and suffix (``1400``,
``4001.656``, ``wl_1400``, ``wn_4000``, ``X1400``, ``1400nm``, ``scan_mir.600_abs``,
``scan_visnir.350_ref``). Columns sharing one prefix and suffix form a block; a block needs at least
:data:`MIN_CHANNELS` columns (so ``Unnamed: 0`` or ``depth2`` are not spectra), and its numbers must be one
monotone grid: a header such as ``1400..2500, 600..4000`` (nm pasted before cm-1) is refused naming the break
(:func:`one_grid`), since no ``unit=`` can make one axis of it. Per block:

* unit: ``unit=`` if given; else a hint in the prefix/suffix (``mir``, ``wn``, ``cm-1`` -> cm-1;
  ``nir``, ``visnir``, ``vis``, ``wl``, ``nm`` -> nm); else the positions: all within 300-2600 -> nm
  (vis-NIR instruments stop at 2500-2600 nm), a maximum above 2600 -> cm-1 (MIR 400-8000 cm-1, NIR in
  wavenumbers up to ~12500). A MIR table cut below 2600 cm-1 would pass for nm: give ``unit="cm-1"``.
  The order (ascending or descending) does not matter: NeoSpectra exports are descending nm, OPUS
  exports descending cm-1.
* quantity: ``quantity=`` if given; else ``_abs`` / ``_ref`` style hints; else the values: mostly
  negative minima -> absorbance; row maxima mostly above 5 -> reflectance in percent; else the shape of
  the water/O-H band (:func:`soilnb.spectra.orientation.check_orientation`: a maximum in absorbance, a
  minimum in reflectance) when the axis covers it; else the file is reported ("pass quantity=").
* sample id: the first column named like :data:`ID_COLUMNS` (case and spaces ignored); else
  ``<file stem>#<row>`` with a note.
* bad cells: text in a spectral cell becomes NaN; the row is dropped by ``read_spectra`` with one problem
  naming its row, id and first bad cell (``FileSpectra.bad_cells``). When every row has one and nothing but
  the values could tell the quantity, the rows are reported the same way (not "pass quantity=").
* properties: columns named as the nine properties (``TC``, ``pH``, ``clay`` ...) or their OSSL names
  (:data:`soilnb.core.vocab.OSSL_COLUMNS`) fill ``properties`` (EOC derived from TC and IC when absent);
  every other column is kept in ``extra``.

Full OSSL tables (``scan_mir.*_abs`` with ``id.layer_uuid_txt``, ``scan_nir.*_ref`` with
``id.sample_local_c``) go to the existing chunked, cached readers :func:`soilnb.data.ossl.read_mir_table`
and :func:`soilnb.data.ossl.read_nir_table` (one row per scan), which keep memory low on 85,000 rows.

The header's layout (:func:`table_layout`) is worked out once per distinct header, and many small files
sharing one are parsed together by :mod:`.batch` into the same :func:`table_blocks`.
"""
from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from soilnb.core.vocab import MODEL_GRIDS, OSSL_COLUMNS, PROPERTIES
from soilnb.core.vocab import (OSSL_LAYER_COL as LAYER_COL, OSSL_MIR_RE as MIR_RE, OSSL_NIR_RE as NIR_RE,
                               OSSL_SAMPLE_COL as SAMPLE_COL)
from soilnb.data.library import estimated_organic_carbon
from soilnb.data.readers.base import FileSpectra, SpectraReadError, bad_row_message, file_stem, library_to_block
from soilnb.data.readers.tableio import HEADERS_CACHED, read_frame, read_header
from soilnb.spectra.bands import ORIENTATION_BANDS, check_orientation
from soilnb.spectra.coverage import coverage_gap
from soilnb.spectra.reflectance import ABSORBANCE_MAX

#: A spectral column: optional non-digit prefix, a number, optional non-digit suffix (``cm-1`` allowed).
SPECTRAL_RE = re.compile(r"^(?P<prefix>\D*?)(?P<num>\d+(?:\.\d+)?)(?P<suffix>(?:cm-1|\D)*)$")
#: Fewest columns of one prefix/suffix that count as a spectrum.
MIN_CHANNELS = 10
#: Id column names, in order of preference (compared lower-case, spaces as underscores).
ID_COLUMNS = ("sample_id", "id.sample_local_c", "id.layer_uuid_txt", "id.layer_local_c", "sampleid", "sample.id",
              "sample", "id", "sample_name", "samplename", "name", "id.scan_local_c")
CM1_TOKENS = {"mir", "wn", "wavenumber", "wavenumbers", "cm", "cm1"}
NM_TOKENS = {"nir", "visnir", "vnir", "vis", "swir", "wl", "nm", "wavelength", "wavelengths", "lambda"}
ABS_TOKENS = {"abs", "absorbance", "log1r"}
REF_TOKENS = {"ref", "refl", "reflectance"}
#: OSSL MIR tables smaller than this are not cached: they read faster than a cache entry is hashed and written.
CACHE_MIN_BYTES = 8 << 20
#: The warning of the OSSL readers naming the rows they dropped for NaN/inf.
DROPPED_RE = re.compile(r"dropped \d+ of \d+ rows holding NaN or inf")
#: Position ranges used when nothing else tells the unit (see the module docstring).
NM_RANGE = (300.0, 2600.0)
CM1_RANGE = (200.0, 15000.0)


def read_table(path, *, unit=None, quantity=None, use_cache=True) -> list[FileSpectra]:
    """Read a wide CSV/Parquet table of spectra (see the module docstring for the rules).

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.csv.gz``, ``.txt``, ``.tsv`` (separator sniffed when not a comma) or ``.parquet``.
    unit : {"cm-1", "nm"}, optional
        The unit of the column positions, when the names and values do not tell it.
    quantity : {"absorbance", "reflectance"}, optional
        What the values are, when the names and values do not tell it.
    use_cache : bool
        Passed to :func:`soilnb.data.ossl.read_mir_table` for full OSSL MIR tables (small ones, which read
        faster than their cache entry is written, are never cached).

    Returns
    -------
    list of FileSpectra
        One per spectral block (usually one), on the file's grid and channel order.
    """
    path = Path(path)
    parquet = path.name.lower().endswith((".parquet", ".pq"))
    df = read_frame(path) if parquet else None            # Parquet: one read; CSV: the header first, cheaply
    columns = [str(c) for c in df.columns] if parquet else read_header(path)
    ossl = None if parquet else _ossl_table(path, columns, use_cache)   # the OSSL readers read CSV
    if ossl is not None:
        return ossl
    layout = file_layout(path, columns)
    if df is None:
        df = read_frame(path, dtype={layout.id_col: str} if layout.id_col else None)
    df.columns = [str(c) for c in df.columns]
    ids = df[layout.id_col].to_numpy(object) if layout.id_col else None
    other = df[list(layout.other)] if layout.other else None
    return table_blocks(path, layout, ids, [spectral_values(df, b["names"]) for b in layout.blocks], other,
                        unit, quantity)


class TableLayout(NamedTuple):
    """What a table's header alone tells: its spectral blocks, id column and other columns."""

    blocks: tuple           #: :func:`spectral_blocks` of the header
    id_col: str | None      #: :func:`find_id_column` of the non-spectral columns
    other: tuple            #: every other column (properties and extra), in file order


def file_layout(path: Path, columns) -> TableLayout:
    """:func:`table_layout` of ``columns``, its errors naming the file."""
    try:
        return table_layout(tuple(columns))
    except SpectraReadError as exc:
        raise SpectraReadError(f"{path.name}: {exc}") from None


@lru_cache(maxsize=HEADERS_CACHED)
def table_layout(columns: tuple) -> TableLayout:
    """The :class:`TableLayout` of a header, worked out once per distinct header (a folder of one-spectrum
    files shares one header: matching 1,701 column names per file would cost more than reading the values)."""
    blocks = spectral_blocks(columns)
    if not blocks:
        raise SpectraReadError(f"no spectral columns (at least {MIN_CHANNELS} columns named by a wavelength or "
                               f"wavenumber, like 1400, wl_1400, scan_mir.600_abs); columns: {list(columns[:6])}")
    spectral = {c for b in blocks for c in b["names"]}
    id_col = find_id_column([c for c in columns if c not in spectral])
    return TableLayout(tuple(blocks), id_col, tuple(c for c in columns if c not in spectral and c != id_col))


def spectral_values(df: pd.DataFrame, names) -> tuple[np.ndarray, dict]:
    """``(X, text)``: the columns ``names`` of ``df`` as float64, text cells as NaN (``read_spectra`` drops
    their rows), and ``text`` mapping ``(row, column index)`` to the text of each such cell."""
    sub = df[list(names)]
    obj = np.flatnonzero([not pd.api.types.is_numeric_dtype(t) for t in sub.dtypes])
    if not obj.size:
        return sub.to_numpy(np.float64), {}
    sub, text = sub.copy(), {}
    for j in obj:
        col = sub.iloc[:, j]
        num = pd.to_numeric(col, errors="coerce")
        for i in np.flatnonzero((num.isna() & col.notna()).to_numpy()):
            text[(int(i), int(j))] = str(col.iloc[i])
        sub.isetitem(j, num)
    return sub.to_numpy(np.float64), text


def bad_cells(X: np.ndarray, names, text: dict) -> dict:
    """For each row of ``X`` with a non-finite value: where the first one is and what it was."""
    out = {}
    for i in np.flatnonzero(~np.isfinite(X).all(axis=1)):
        j = int(np.flatnonzero(~np.isfinite(X[i]))[0])
        what = repr(text[(i, j)]) if (i, j) in text else ("inf" if np.isinf(X[i, j]) else "empty or NA")
        out[int(i)] = f"{what} in column {names[j]}"
    return out


def table_blocks(path: Path, layout: TableLayout, ids, values, other, unit, quantity) -> list[FileSpectra]:
    """The blocks of one table from its parsed columns: ``ids`` (id column values or None), ``values``
    (``(X, text)`` per block of the layout, see :func:`spectral_values`), ``other`` (DataFrame or None)."""
    n = values[0][0].shape[0]
    if n == 0:
        raise SpectraReadError("the table has a header but no rows")
    rows = np.arange(1, n + 1)
    notes = []
    if ids is None:
        ids = np.array([f"{file_stem(path)}#{r}" for r in rows])
        notes.append(f"no id column (one of {list(ID_COLUMNS)}): sample ids are <file stem>#<row>")
    else:
        missing = pd.isna(ids)
        if missing.any():
            ids = np.where(missing, [f"{file_stem(path)}#{r}" for r in rows], ids.astype(str))
            notes.append(f"{int(missing.sum())} empty id(s) in {layout.id_col}: named <file stem>#<row>")
        ids = ids.astype(str)
    properties, extra = split_properties(other) if other is not None else (None, None)
    blocks = layout.blocks
    if len(blocks) > 1:
        notes.append(f"{len(blocks)} spectral blocks: " + ", ".join(b["label"] for b in blocks))
    out = []
    for i, (b, (X, text)) in enumerate(zip(blocks, values)):
        cells = bad_cells(X, b["names"], text)
        u, how_u = detect_unit(b["positions"], b["tokens"], unit)
        if len(cells) == n and (quantity or _named_quantity(b["tokens"])) is None:   # nothing to judge by
            bad = [(int(rows[k]), bad_row_message(ids[k], int((~np.isfinite(X[k])).sum()), cells[k])) for k in range(n)]
            raise SpectraReadError("no usable spectrum left: every row has a missing, non-numeric or infinite value",
                                   rows=bad)
        q, how_q = detect_quantity(X, b["positions"], u, b["tokens"], quantity)
        out.append(FileSpectra(X=X, axis=b["positions"].copy(), unit=u, quantity=q, sample_id=ids, rows=rows,
                               properties=properties, extra=extra, source=f"table columns {b['label']}",
                               notes=(notes if i == 0 else []) + [f"{b['label']}: unit {u} ({how_u}), {q} ({how_q})"],
                               meta={"reader": "soilnb.data.readers.table", "id_column": layout.id_col or "",
                                     "columns": b["label"], "unit_from": how_u, "quantity_from": how_q},
                               bad_cells=cells))
    return out


def spectral_blocks(columns) -> list[dict]:
    """Groups of spectral columns sharing a prefix and suffix, largest first.

    Each group is a dict with ``names`` (column names, file order), ``positions`` (their numbers),
    ``tokens`` (lower-case words of the prefix and suffix, for unit/quantity hints) and ``label``.
    A group whose numbers are not one monotone grid is refused (:func:`one_grid`).
    """
    groups = {}
    for c in columns:
        m = SPECTRAL_RE.match(c)
        if m:
            groups.setdefault((m["prefix"], m["suffix"]), []).append((c, float(m["num"])))
    blocks = []
    for (prefix, suffix), members in groups.items():
        if len(members) < MIN_CHANNELS:
            continue
        names, pos = zip(*members)
        pos = np.asarray(pos)
        if np.unique(pos).size != pos.size:
            raise SpectraReadError(f"columns {prefix}<number>{suffix}: repeated positions")
        one_grid(names, pos)
        tokens = set(re.split(r"[^a-z0-9]+", f"{prefix} {suffix}".lower())) - {""}
        blocks.append({"names": list(names), "positions": pos, "tokens": tokens,
                       "label": f"{names[0]}..{names[-1]} ({len(names)} columns)"})
    return sorted(blocks, key=lambda b: -len(b["names"]))


def one_grid(names, pos) -> None:
    """Refuse column numbers that are not one monotone grid (increasing or decreasing throughout).

    A header such as ``1400 .. 2500, 600 .. 4000`` (a NIR block in nm pasted before a MIR block in cm-1) is
    two grids in two units: read as one, half of it would be nm taken for cm-1 whatever ``unit=`` or
    ``quantity=`` says, so no argument can rescue it. The message names the break: the first column that
    turns back, moved to the largest jump before it (``2500, 1400, 600, 602``: the break is after 1400).
    """
    d = np.diff(pos)
    turn = np.flatnonzero(np.sign(d) != np.sign(d[0]))
    if not turn.size:
        return
    k = int(np.argmax(np.abs(d[:turn[0] + 1])))           # the break: between columns k and k + 1
    two = _monotone(pos[:k + 1]) and _monotone(pos[k + 1:])
    raise SpectraReadError(
        f"the header mixes {'two' if two else 'several'} grids: columns {names[0]}..{names[k]} ({k + 1} columns) then "
        f"{names[k + 1]}..{names[-1]} ({len(names) - k - 1} columns), not one monotone grid (break after column "
        f"{names[k]!r}); split the file into one file per grid, or name the columns with their units "
        "(e.g. scan_nir.1400_ref, scan_mir.600_abs)")


def _monotone(pos) -> bool:
    d = np.diff(pos)
    return bool((d > 0).all() or (d < 0).all())


def find_id_column(columns) -> str | None:
    """The first of ``columns`` named like one of :data:`ID_COLUMNS` (preference order of that list)."""
    norm = {str(c).strip().lower().replace(" ", "_"): c for c in columns}
    return next((norm[name] for name in ID_COLUMNS if name in norm), None)


def split_properties(df: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``(properties, extra)``: the nine properties under their names, and every other column as is."""
    by_name = {p.lower(): p for p in PROPERTIES} | {v.lower(): p for p, v in OSSL_COLUMNS.items()}
    found = {}
    for c in df.columns:
        p = by_name.get(c.strip().lower())
        if p is not None and p not in found and pd.api.types.is_numeric_dtype(df[c]):
            found[p] = c
    extra = df[[c for c in df.columns if c not in found.values()]].reset_index(drop=True)
    if not found:
        return None, (extra if extra.shape[1] else None)
    props = pd.DataFrame({p: (df[found[p]].to_numpy(float) if p in found else np.nan) for p in PROPERTIES})
    if "EOC" not in found and {"TC", "IC"} <= found.keys():
        props["EOC"] = estimated_organic_carbon(props["TC"], props["IC"])
        props.loc[props[["TC", "IC"]].isna().any(axis=1), "EOC"] = np.nan
    return props, (extra if extra.shape[1] else None)


def detect_unit(positions, tokens=(), unit=None) -> tuple[str, str]:
    """``(unit, how it was decided)`` of a block of column positions (see the module docstring)."""
    if unit is not None:
        return unit, "given"
    tokens = set(tokens)
    if tokens & CM1_TOKENS and not tokens & NM_TOKENS:
        return "cm-1", "column names"
    if tokens & NM_TOKENS and not tokens & CM1_TOKENS:
        return "nm", "column names"
    lo, hi = float(np.min(positions)), float(np.max(positions))
    if NM_RANGE[0] <= lo and hi <= NM_RANGE[1]:
        return "nm", f"positions {lo:g}-{hi:g} within {NM_RANGE[0]:g}-{NM_RANGE[1]:g}"
    if CM1_RANGE[0] <= lo and NM_RANGE[1] < hi <= CM1_RANGE[1]:
        return "cm-1", f"positions {lo:g}-{hi:g} reach above {NM_RANGE[1]:g}"
    raise SpectraReadError(f"cannot tell nm from cm-1 for positions {lo:g}-{hi:g}: pass unit='nm' or 'cm-1'")


def detect_quantity(X, positions, unit, tokens=(), quantity=None) -> tuple[str, str]:
    """``(quantity, how it was decided)`` of a block of spectra (see the module docstring)."""
    if quantity is not None:
        return quantity, "given"
    if (named := _named_quantity(tokens)) is not None:
        return named, "column names"
    X = np.asarray(X, dtype=np.float64)
    X = X[np.isfinite(X).all(axis=1)]
    if X.shape[0] == 0:
        raise SpectraReadError("no complete spectrum to tell absorbance from reflectance: pass quantity=")
    if np.mean(X.min(axis=1) < 0) > 0.5:
        return "absorbance", "negative values"
    if np.mean(X.max(axis=1) > ABSORBANCE_MAX) > 0.5:
        return "reflectance", f"values above {ABSORBANCE_MAX:g} (percent)"
    band, shoulders = ORIENTATION_BANDS.get(unit, (None, ()))
    axis = np.asarray(positions, dtype=np.float64)
    if band is not None and all(((axis >= lo) & (axis <= hi)).any() for lo, hi in (band, *shoulders)):
        try:
            check_orientation(X, axis, unit, "absorbance")
            return "absorbance", "water/O-H band is a maximum"
        except ValueError:
            return "reflectance", "water/O-H band is a minimum"
    lo, hi = float(axis.min()), float(axis.max())
    grid = MODEL_GRIDS.get(unit)
    gap = coverage_gap(axis, grid) if grid is not None else ""
    where = (f"{lo:g}-{hi:g} {unit} does not cover the model grid ({grid.min():g}-{grid.max():g} {unit}; missing "
             f"{gap}): no soilnb model reads it, and its axis misses the band that tells ") if gap else \
        f"{lo:g}-{hi:g} {unit}: cannot tell "
    raise SpectraReadError(where + "absorbance from reflectance (no _abs/_ref in the column names, values in 0-5, "
                           "axis not covering the water band); name the columns <position>_abs or <position>_ref, "
                           "or pass quantity='absorbance' or 'reflectance' (API)")


def _named_quantity(tokens) -> str | None:
    """The quantity that ``_abs`` / ``_ref`` style words in the column names tell, else None."""
    tokens = set(tokens)
    if tokens & ABS_TOKENS and not tokens & REF_TOKENS:
        return "absorbance"
    if tokens & REF_TOKENS and not tokens & ABS_TOKENS:
        return "reflectance"
    return None


def ossl_kind(columns) -> str | None:
    """``"mir"`` / ``"nir"`` for the header of a full OSSL MIR / NIR table (read by :mod:`soilnb.data.ossl`)."""
    n_mir = sum(bool(MIR_RE.match(c)) for c in columns)
    if n_mir >= MIN_CHANNELS and LAYER_COL in columns:
        return "mir"
    n_nir = sum(bool(NIR_RE.match(c)) for c in columns)
    if n_nir >= MIN_CHANNELS and SAMPLE_COL in columns:
        return "nir"
    return None


def ossl_block(lib, kind: str) -> FileSpectra:
    """The block of a library read by :func:`soilnb.data.ossl.read_mir_table` (``kind="mir"``) or
    :func:`~soilnb.data.ossl.read_nir_table` (``"nir"``), labelled with the reader."""
    reader = "read_mir_table" if kind == "mir" else "read_nir_table"
    block = library_to_block(lib, f"OSSL {kind.upper()} table (soilnb.data.ossl.{reader})")
    block.meta["reader"] = block.source
    return block


def _ossl_table(path: Path, columns, use_cache) -> list[FileSpectra] | None:
    """Full OSSL MIR/NIR tables through the existing chunked readers, else None.

    Their rows dropped for NaN/inf are reported once, as problems: by the reader's warning, which names the
    rows and ids, or (a cached MIR table does not warn again) by the count the library keeps.
    """
    kind = ossl_kind(tuple(columns))
    if kind is None:
        return None
    # the OSSL stack (its table cache, scikit-learn's resampler) only for an OSSL table: reading an OPUS file or a
    # small table, as ``soilnb predict`` does, never imports it (an import-linter contract ignores this one edge)
    from soilnb.data.ossl import read_mir_table, read_nir_table  # noqa: PLC0415

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "mir":
            small = path.stat().st_size < CACHE_MIN_BYTES
            lib = read_mir_table(path, id_col=LAYER_COL, use_cache=use_cache and not small)
        else:
            lib = read_nir_table(path, id_col=SAMPLE_COL, average=False)
    block = ossl_block(lib, kind)
    drops = [w for w in caught if DROPPED_RE.search(str(w.message))]
    for w in caught:
        if w not in drops:
            warnings.warn(w.message, stacklevel=2)
    n = lib.meta.get("n_dropped_nonfinite", 0)
    if drops:
        block.problems += [(None, str(w.message)) for w in drops]
    elif n:
        block.problems.append((None, f"{n} rows with NaN/inf dropped by the OSSL reader"))
    return [block]
