"""Readers of the OSSL v1.2 tables: MIR and NIR spectra (chunked, cached) and the soil lab and site tables."""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core import cache
from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, OSSL_COLUMNS, PROPERTIES
from soilnb.data.library import property_frame, SpectralLibrary, estimated_organic_carbon
from soilnb.data.properties import describe_cells, impossible_cells
from soilnb.data.ossl.bigtable import content_sha256, start_rows
from soilnb.data.ossl.tablefile import drop_hash, finish_table, load_table, new_table_file
from soilnb.data.ossl.format import (
    COUNTRY_COL,
    DATASET_COL,
    KSSL_CODE,
    LAYER_COL,
    MIR_RE,
    NEOSPECTRA_CODE,
    NIR_RE,
    SAMPLE_COL,
    SCAN_COL,
    OSSLFormatError,
    _check_quantity,
    _table_options,
    _finite_rows_kept,
    _header,
    _no_data_rows,
    _no_duplicates,
    _plan_grid,
    _raw_header,
    _read_csv,
    _reflectance,
    _require,
    _spectral_columns,
    _wrap_read,
)
from soilnb.spectra.grid import Resample


# ----------------------------------------------------------------------------------- MIR table
def read_mir_table(path, *, axis=MIR_AXIS_CM1, id_col: str = LAYER_COL, dataset: str | None = None,
                   chunksize: int = 4000, use_cache: bool = True, cache_dir=None, name: str = "",
                   verbose: bool = False) -> SpectralLibrary:
    """Read an OSSL-format MIR table (``scan_mir.<cm-1>_abs`` columns) into a :class:`SpectralLibrary`.

    Memory-frugal (:mod:`soilnb.data.ossl.bigtable`): only the id columns and the spectral columns are read,
    by pandas' C reader, ``chunksize`` rows at a time, keeping only the ``dataset`` rows, into one float32
    array that grows in place: the full KSSL table (about 85,000 x 1,701) peaks near its float32 size plus
    the interpreter (under 1 GB). A plain (not compressed) CSV read into the cache is parsed by forked processes
    (one per CPU, at most :data:`~soilnb.data.ossl.parallel.MAX_WORKERS`), each writing its rows into the cache entry (:mod:`soilnb.data.ossl.parallel`: the same values and
    messages as one process; ``SOILNB_READ_WORKERS=1`` reads in one process), from before the file is hashed.
    The result is cached as a ``.npy`` (:func:`~soilnb.data.ossl.tablefile.save_table`)
    keyed by the file's content (its sha256) plus the arguments (:func:`soilnb.core.cache.cached`); the next
    call maps it from disk in well under a second, and any edit of the file, even one that keeps its size and
    mtime, reads it again (the sha256 is remembered only while the file's identity and ctime stay the same:
    :func:`~soilnb.data.ossl.bigtable.content_sha256`).

    Parameters
    ----------
    path : path to a ``.csv`` or ``.csv.gz`` file
    axis : array-like, default :data:`MIR_AXIS_CM1`
        Output grid in cm-1. Columns are picked directly when the file has them, otherwise the
        file's grid is linearly resampled (it must cover ``axis``, else "does not cover").
    id_col : str
        Sample id column (``id.layer_uuid_txt`` in OSSL, ``id.sample_local_c`` in Neospectra).
    dataset : str, optional
        Keep only rows whose ``dataset.code_ascii_txt`` equals it (e.g. ``"KSSL.SSL"``).
    use_cache, cache_dir
        Use the binary cache (in ``cache_dir``, default :data:`soilnb.core.paths.CACHE`).

    Returns
    -------
    SpectralLibrary
        ``unit="cm-1"``, ``quantity="absorbance"``, properties all NaN, one row per file row
        (rows with NaN/inf are dropped with a warning naming their file rows and ids, a file with
        nothing else raises; duplicate ids and duplicated spectral positions raise; so do values that look
        like reflectance: :func:`~soilnb.data.ossl.format._check_quantity`).
    """
    path = Path(path)
    axis = np.asarray(axis, dtype=np.float64)
    columns = _header(path)
    _require(columns, [id_col] + ([DATASET_COL] if dataset else []), path)
    spec_names, positions = _spectral_columns(columns, MIR_RE, path, "MIR", raw=_raw_header(path, columns))

    def start(backing=None):            # (the grid's errors come first, before anything is read)
        return _start_read(path, columns, spec_names, positions, axis, id_col, dataset, chunksize, "cm-1",
                           backing=backing)

    def compute(reading):
        return _mir_compute(path, axis, id_col, dataset, name or path.name, reading)

    if not use_cache or cache.cache_mode() == "off":
        return compute(start())
    folder = cache.artifact_path("ossl_mir_table", {}, "npy", cache_dir).parent
    # the spectra go straight into ``work``, the future cache entry; ``reading``: a read started, not yet computed
    work = reading = None

    def begin():
        nonlocal work, reading
        work = new_table_file(folder)
        reading = start(work)

    try:
        # keyed by content, not by path, size and mtime: an edit that keeps those (or a file copied over
        # with its times preserved) must not return the old table. A file not hashed before is parsed (by
        # worker processes) while it is hashed: on a cache hit the parse is stopped and dropped.
        sha = content_sha256(path, cache_dir, remembered_only=True)
        if sha is None:
            begin()
            sha = content_sha256(path, cache_dir)
        params = {"sha256": sha, "id_col": id_col, "dataset": dataset,
                  "axis": [float(axis[0]), float(axis[-1]), int(axis.size),
                           hashlib.sha256(axis.tobytes()).hexdigest()[:16]],
                  "code": cache.code_hash("data.ossl", "data.library", "spectra")}   # the reader's own code too

        def compute_into_cache():       # (called at most once)
            nonlocal reading
            if reading is None:
                begin()
            started, reading = reading, None            # computed now: nothing left to cancel
            return compute(started)

        lib = cache.cached("ossl_mir_table", params, compute_into_cache, load=load_table, ext="npy", root=cache_dir,
                           save=lambda obj, tmp: finish_table(obj, work, tmp), verbose=verbose)
    finally:                            # moved into the cache on success; a failed save leaves nothing behind
        if reading is not None:
            reading.cancel()
        if work is not None:
            drop_hash(work)
            work.unlink(missing_ok=True)
    lib.name = name or path.name
    return lib


def _start_read(path, columns, spec_names, positions, axis, id_col, dataset, chunksize, unit, extra=(),
                backing=None):
    """The reading of a MIR or NIR table's rows, started (:func:`~soilnb.data.ossl.bigtable.start_rows`)."""
    mode, idx = _plan_grid(positions, axis, path, unit)
    read_names = [spec_names[i] for i in idx] if mode == "exact" else spec_names
    id_cols = [id_col] + [c for c in extra if c in columns]
    transform = None if mode == "exact" else _resampler(positions, axis)
    return start_rows(path, id_cols, read_names, dataset_col=DATASET_COL, dataset=dataset, chunksize=chunksize,
                      transform=transform, csv_options=_table_options(path), backing=backing)


def _read_spectra(path, reading, id_col, dataset, axis, *, unit, quantity, percent="auto"):
    """The rows of a started read (:func:`_start_read`) checked: ``(ids, X float32, extra columns, n_dropped)``."""
    strings, spectra, rows, finite, n_file_rows = _wrap_read(path, reading.result)
    id_cols = reading.id_cols
    if n_file_rows == 0:
        raise OSSLFormatError(f"{path.name} has a header but no data rows")
    if len(spectra) == 0:
        raise OSSLFormatError(f"{path.name}: none of its {n_file_rows} rows has {DATASET_COL} == {dataset!r}")
    what = f" (rows with {DATASET_COL} == {dataset!r})" if dataset else ""
    keep = _finite_rows_kept(finite, rows, strings[id_col], path, what=what)
    X = spectra.take(keep)
    ids, extras = strings[id_col][keep], {c: strings[c][keep] for c in id_cols[1:]}
    _check_quantity(X, axis, unit, quantity, path)
    if quantity == "reflectance":
        X = _reflectance(X, path, percent).astype(np.float32)
    return ids, X, extras, int((~keep).sum())


def _resampler(positions, axis):
    """Linear resampling of float32 rows from the file's grid onto ``axis``, chunk by chunk; a row holding
    NaN/inf comes out all NaN (it is dropped, named, like any other non-finite row)."""
    order = np.argsort(positions)
    rs = Resample(positions[order], axis).fit(np.zeros((1, positions.size)))

    def transform(X):
        out = np.full((X.shape[0], axis.size), np.nan, np.float32)
        ok = np.isfinite(X).all(axis=1)
        if ok.any():
            out[ok] = rs.transform(X[ok][:, order])
        return out
    return transform


def _library_from(ids, X, axis, unit, quantity, name, instrument=None, path="", check_dups=True):
    if check_dups:
        _no_duplicates(ids, "id", path or name)
    return SpectralLibrary(X=X, axis=axis, unit=unit, quantity=quantity, sample_id=ids, instrument=instrument,
                           name=name)


def _mir_compute(path, axis, id_col, dataset, name, reading):
    ids, X, _, n_drop = _read_spectra(path, reading, id_col, dataset, axis, unit="cm-1", quantity="absorbance")
    lib = _library_from(ids, X, axis, "cm-1", "absorbance", name, path=path)
    lib.meta["n_dropped_nonfinite"] = n_drop
    return lib


# ------------------------------------------------------------------------------------ lab table
def read_soillab(path, site=None, id_col: str | None = None) -> pd.DataFrame:
    """Read an OSSL soillab table into the paper's nine properties.

    Parameters
    ----------
    path : path
        ``ossl_soillab_L0/L1_v1.2.csv.gz`` or ``neospectra_soillab_v1.2.csv`` (an unnamed index
        column is ignored).
    site : path or DataFrame, optional
        The matching soilsite table, joined on the id to learn which rows were measured by KSSL
        (``dataset.code_ascii_txt == "KSSL.SSL"``, or for Neospectra the US samples,
        ``location.country_iso.3166_txt == "USA"``, which come from the KSSL archive).
    id_col : str, optional
        Default ``id.layer_uuid_txt`` if present, else ``id.sample_local_c``.

    Returns
    -------
    DataFrame indexed by the id (str), columns :data:`soilnb.core.vocab.PROPERTIES` plus ``kssl``
    (bool). IC is CaCO3 (``caco3_usda.a54_w.pct``); for KSSL rows an empty or negative CaCO3 is
    0 (KSSL measures carbonate only where effervescence shows it; OSSL maps negative KSSL values to
    empty), unless the column is empty in every row: then CaCO3 was not measured, IC and EOC stay
    missing and a warning names the file and column.
    EOC = TC - 0.12 IC (:func:`soilnb.data.library.estimated_organic_carbon`, floored at 0).
    """
    path = Path(path)
    columns = _header(path)
    if id_col is None:
        id_col = LAYER_COL if LAYER_COL in columns else SAMPLE_COL
    need = [id_col] + list(OSSL_COLUMNS.values())
    _require(columns, need, path)
    extra = [c for c in (DATASET_COL, COUNTRY_COL) if c in columns]
    df = _wrap_read(path, lambda: _read_csv(path, usecols=need + extra, dtype={id_col: str}))
    _no_data_rows(df, path)
    _no_duplicates(df[id_col], id_col, path)
    non_numeric = [c for c in OSSL_COLUMNS.values() if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise OSSLFormatError(f"{path.name}: non-numeric values in {non_numeric}")
    df = df.set_index(id_col)
    df.index = df.index.astype(str)
    if site is not None:
        s = site if isinstance(site, pd.DataFrame) else _read_site(site, id_col)
        s = s.drop_duplicates(id_col).set_index(id_col) if id_col in s.columns else s
        s.index = s.index.astype(str)
        for c in (DATASET_COL, COUNTRY_COL):
            if c in s.columns and c not in df.columns:
                df[c] = s[c].reindex(df.index).to_numpy()
    dataset = df[DATASET_COL] if DATASET_COL in df else pd.Series("", index=df.index)
    country = df[COUNTRY_COL] if COUNTRY_COL in df else pd.Series("", index=df.index)
    kssl = (dataset == KSSL_CODE) | ((dataset == NEOSPECTRA_CODE) & (country == "USA"))
    if DATASET_COL not in df and COUNTRY_COL not in df:
        warnings.warn(f"{path.name}: no dataset code or country (pass site=...); empty CaCO3 stays missing",
                      UserWarning, stacklevel=2)
    out = pd.DataFrame({p: df[c].astype(float) for p, c in OSSL_COLUMNS.items()}, index=df.index)
    ic = out["IC"].to_numpy()
    fill = kssl.to_numpy() & (np.isnan(ic) | (ic < 0))
    if np.isnan(ic).all():       # an empty cell means "no carbonate"; an empty column means "not measured"
        n_kssl = int(fill.sum())
        warnings.warn(f"{path.name}: column {OSSL_COLUMNS['IC']} is empty in all {len(ic)} rows (CaCO3 not "
                      "measured): IC and EOC stay missing" + (f", not 0, for its {n_kssl} KSSL row(s)" if n_kssl
                                                               else ""), UserWarning, stacklevel=2)
        fill[:] = False
    out.loc[fill, "IC"] = 0.0
    bad = impossible_cells(out)
    if bad.to_numpy().any():
        warnings.warn(f"{path.name}: {int(bad.to_numpy().sum())} value(s) no laboratory can report set missing: "
                      f"{describe_cells(out, bad)}", UserWarning, stacklevel=2)
        out = out.mask(bad)
    out["EOC"] = estimated_organic_carbon(out["TC"], out["IC"])
    out.loc[out[["TC", "IC"]].isna().any(axis=1), "EOC"] = np.nan
    out = out[list(PROPERTIES)]
    out["kssl"] = kssl.to_numpy()
    out.index.name = id_col
    return out


def _read_site(path, id_col):
    path = Path(path)
    columns = _header(path)
    _require(columns, [id_col], path)
    use = [c for c in (id_col, DATASET_COL, COUNTRY_COL, "id.layer_local_c") if c in columns]
    return _wrap_read(path, lambda: _read_csv(path, usecols=use, dtype={c: str for c in use
                                                                       if c != COUNTRY_COL}))


def _attach(lib: SpectralLibrary, lab: pd.DataFrame) -> SpectralLibrary:
    lib.properties = property_frame(lab.reindex(lib.sample_id), lib.name or "library")
    return lib



# ------------------------------------------------------------------------------- NIR table
def read_nir_table(path, *, axis=NIR_AXIS_NM, id_col: str = SAMPLE_COL, average: bool = True,
                   percent="auto", chunksize: int = 4000, name: str = "") -> SpectralLibrary:
    """Read an OSSL Neospectra NIR table (``scan_nir.<nm>_ref``, reflectance fraction).

    With ``average=True`` the rows (one per sample per scanner) are averaged per ``id_col``
    (paper Sect. 2.1: "averaged across all available repeats"); ``scan_id`` then counts nothing
    and ``instrument`` says how many scans went into each mean. Absorbance under these reflectance
    column names is refused (:func:`~soilnb.data.ossl.format._check_quantity`), as
    :func:`soilnb.data.readers.read_spectra` refuses it.
    """
    path = Path(path)
    axis = np.asarray(axis, dtype=np.float64)
    columns = _header(path)
    _require(columns, [id_col], path)
    spec_names, positions = _spectral_columns(columns, NIR_RE, path, "NIR", raw=_raw_header(path, columns))
    reading = _start_read(path, columns, spec_names, positions, axis, id_col, None, chunksize, "nm", extra=(SCAN_COL,))
    ids, X, extras, n_drop = _read_spectra(path, reading, id_col, None, axis, unit="nm", quantity="reflectance",
                                           percent=percent)
    if not average:
        return SpectralLibrary(X=X, axis=axis, unit="nm", quantity="reflectance", sample_id=ids,
                               name=name or path.name)
    lib = SpectralLibrary(X=X, axis=axis, unit="nm", quantity="reflectance", sample_id=ids, name=name or path.name)
    counts = pd.Series(ids).value_counts()
    avg = lib.average_scans()
    avg.instrument = np.array([f"NeoSpectra mean of {counts[s]} scans" for s in avg.sample_id])
    avg.meta["n_dropped_nonfinite"] = n_drop
    return avg
