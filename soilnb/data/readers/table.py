"""Wide tables of spectra (CSV, optionally gzipped, and Parquet): one row per spectrum, one column per channel.

Spectral columns are recognised by their names: a number with an optional prefix and suffix (``1400``,
``4001.656``, ``wl_1400``, ``wn_4000``, ``X1400``, ``1400nm``, ``scan_mir.600_abs``,
``scan_visnir.350_ref``). Columns sharing one prefix and suffix form a block; a block needs at least
:data:`MIN_CHANNELS` columns (so ``Unnamed: 0`` or ``depth2`` are not spectra). Per block:

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
* properties: columns named as the nine properties (``TC``, ``pH``, ``clay`` ...) or their OSSL names
  (:data:`soilnb.core.vocab.OSSL_COLUMNS`) fill ``properties`` (EOC derived from TC and IC when absent);
  every other column is kept in ``extra``.

Full OSSL tables (``scan_mir.*_abs`` with ``id.layer_uuid_txt``, ``scan_nir.*_ref`` with
``id.sample_local_c``) go to the existing chunked, cached readers :func:`soilnb.data.ossl.read_mir_table`
and :func:`soilnb.data.ossl.read_nir_table` (one row per scan), which keep memory low on 85,000 rows.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.vocab import MODEL_GRIDS, OSSL_COLUMNS, PROPERTIES
from soilnb.data.library import estimated_organic_carbon
from soilnb.data.ossl import LAYER_COL, MIR_RE, NIR_RE, SAMPLE_COL, read_mir_table, read_nir_table
from soilnb.data.readers.base import FileSpectra, SpectraReadError, file_stem, library_to_block
from soilnb.spectra.coverage import coverage_gap
from soilnb.spectra.orientation import ORIENTATION_BANDS, check_orientation
from soilnb.spectra.units import ABSORBANCE_MAX

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
        Passed to :func:`soilnb.data.ossl.read_mir_table` for full OSSL MIR tables.

    Returns
    -------
    list of FileSpectra
        One per spectral block (usually one), on the file's grid and channel order.
    """
    path = Path(path)
    parquet = path.name.lower().endswith((".parquet", ".pq"))
    df = _read(path) if parquet else None            # Parquet: one read; CSV: the header first, cheaply
    columns = [str(c) for c in (df if parquet else _read(path, nrows=0)).columns]
    ossl = None if parquet else _ossl_table(path, columns, use_cache)   # the OSSL readers read CSV
    if ossl is not None:
        return ossl
    blocks = spectral_blocks(columns)
    if not blocks:
        raise SpectraReadError(f"no spectral columns (at least {MIN_CHANNELS} columns named by a wavelength or "
                               f"wavenumber, like 1400, wl_1400, scan_mir.600_abs); columns: {columns[:6]}")
    spectral = {c for b in blocks for c in b["names"]}
    id_col = find_id_column([c for c in columns if c not in spectral])
    if df is None:
        df = _read(path, dtype={id_col: str} if id_col else None)
    df.columns = [str(c) for c in df.columns]
    if df.empty:
        raise SpectraReadError("the table has a header but no rows")
    rows = np.arange(1, len(df) + 1)
    notes = []
    if id_col is None:
        ids = np.array([f"{file_stem(path)}#{r}" for r in rows])
        notes.append(f"no id column (one of {list(ID_COLUMNS)}): sample ids are <file stem>#<row>")
    else:
        missing = df[id_col].isna().to_numpy()
        ids = np.where(missing, [f"{file_stem(path)}#{r}" for r in rows], df[id_col].astype(str).to_numpy())
        if missing.any():
            notes.append(f"{int(missing.sum())} empty id(s) in {id_col}: named <file stem>#<row>")
    properties, extra = split_properties(df[[c for c in df.columns if c not in spectral and c != id_col]])
    if len(blocks) > 1:
        notes.append(f"{len(blocks)} spectral blocks: " + ", ".join(b["label"] for b in blocks))
    out = []
    for i, b in enumerate(blocks):
        # text in a spectral cell becomes NaN here, and read_spectra drops that row naming it
        X = df[b["names"]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        u, how_u = detect_unit(b["positions"], b["tokens"], unit)
        q, how_q = detect_quantity(X, b["positions"], u, b["tokens"], quantity)
        out.append(FileSpectra(X=X, axis=b["positions"], unit=u, quantity=q, sample_id=ids, rows=rows,
                               properties=properties, extra=extra, source=f"table columns {b['label']}",
                               notes=(notes if i == 0 else []) + [f"{b['label']}: unit {u} ({how_u}), {q} ({how_q})"],
                               meta={"reader": "soilnb.data.readers.table", "id_column": id_col or "",
                                     "columns": b["label"], "unit_from": how_u, "quantity_from": how_q}))
    return out


def spectral_blocks(columns) -> list[dict]:
    """Groups of spectral columns sharing a prefix and suffix, largest first.

    Each group is a dict with ``names`` (column names, file order), ``positions`` (their numbers),
    ``tokens`` (lower-case words of the prefix and suffix, for unit/quantity hints) and ``label``.
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
        tokens = set(re.split(r"[^a-z0-9]+", f"{prefix} {suffix}".lower())) - {""}
        blocks.append({"names": list(names), "positions": pos, "tokens": tokens,
                       "label": f"{names[0]}..{names[-1]} ({len(names)} columns)"})
    return sorted(blocks, key=lambda b: -len(b["names"]))


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
    tokens = set(tokens)
    if tokens & ABS_TOKENS and not tokens & REF_TOKENS:
        return "absorbance", "column names"
    if tokens & REF_TOKENS and not tokens & ABS_TOKENS:
        return "reflectance", "column names"
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


def _read(path: Path, nrows=None, dtype=None) -> pd.DataFrame:
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


def _ossl_table(path: Path, columns, use_cache) -> list[FileSpectra] | None:
    """Full OSSL MIR/NIR tables through the existing chunked readers, else None."""
    n_mir = sum(bool(MIR_RE.match(c)) for c in columns)
    n_nir = sum(bool(NIR_RE.match(c)) for c in columns)
    if n_mir >= MIN_CHANNELS and LAYER_COL in columns:
        lib = read_mir_table(path, id_col=LAYER_COL, use_cache=use_cache)
        return [_with_drops(library_to_block(lib, "OSSL MIR table (soilnb.data.ossl.read_mir_table)"), lib)]
    if n_nir >= MIN_CHANNELS and SAMPLE_COL in columns:
        lib = read_nir_table(path, id_col=SAMPLE_COL, average=False)
        return [_with_drops(library_to_block(lib, "OSSL NIR table (soilnb.data.ossl.read_nir_table)"), lib)]
    return None


def _with_drops(block: FileSpectra, lib) -> FileSpectra:
    block.meta["reader"] = block.source
    n = lib.meta.get("n_dropped_nonfinite", 0)
    if n:
        block.notes.append(f"{n} rows with NaN/inf dropped by the OSSL reader")
    return block
