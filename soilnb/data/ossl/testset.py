"""The pluggable independent test set (:func:`load_test_set`) and the official OSSL sample inputs.

Both are small wide CSV files (an id column plus spectral columns on any grid covering the
paper's), resampled onto :data:`soilnb.core.vocab.NIR_AXIS_NM` / :data:`~soilnb.core.vocab.MIR_AXIS_CM1`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.vocab import EXTRA_OSSL_COLUMNS, MIR_AXIS_CM1, NIR_AXIS_NM, OSSL_COLUMNS, PROPERTIES
from soilnb.data.library import SpectralLibrary, estimated_organic_carbon
from soilnb.data.properties import describe_cells, impossible_cells
from soilnb.data.ossl.format import (
    MIR_RE,
    NIR_RE,
    SAMPLE_COL,
    OSSLFormatError,
    _csv_options,
    _drop_nonfinite_rows,
    _header,
    _no_data_rows,
    _no_duplicates,
    _raw_header,
    _read_csv,
    _reflectance,
    _rows_text,
    _spectral_columns,
    _wrap_read,
)
from soilnb.data.ossl.tables import _attach, _library_from
from soilnb.spectra.grid import Resample
from soilnb.spectra.orientation import check_orientation, orientation_reason, orientation_rows
from soilnb.spectra.quality import FLAT_SD
from soilnb.spectra.units import ABSORBANCE_MAX

# --------------------------------------------------------------------------- independent test set
#: Canonical names accepted in a test folder's ``lab.csv`` besides the OSSL column names.
TEST_ID_COLUMNS = ("sample_id", SAMPLE_COL)


def _read_wide(path, pattern, axis, unit, quantity, percent="auto", tol=0.0):
    """A small wide CSV (id column + spectral columns, any grid covering ``axis``) -> (ids, X, lost).

    Rows holding NaN/inf are dropped with a warning naming their file rows; ``lost`` maps each sample
    that lost every row of the file that way to those rows. Constant (flat) spectra are named: all of
    them raise, a few give a warning (kept, but left out of the absorbance/reflectance judgement).
    """
    path = Path(path)
    columns = _header(path)
    id_col = next((c for c in TEST_ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise OSSLFormatError(f"{path.name}: missing required id column (one of {list(TEST_ID_COLUMNS)})")
    # the id column (a name of TEST_ID_COLUMNS) is neither a number nor spectral-like: not picked
    names, pos = _spectral_columns(columns, pattern, path, bare_numbers=True, raw=_raw_header(path, columns),
                                   decimal=_csv_options(path).get("decimal", "."), require=False)
    if len(names) < 2:
        raise OSSLFormatError(f"{path.name}: no spectral columns (named like {pattern.pattern} or by their "
                              f"position in {unit})")
    lo, hi = float(axis.min()), float(axis.max())
    if pos.min() > lo + tol or pos.max() < hi - tol:
        raise OSSLFormatError(f"{path.name}: spectral grid {pos.min():g}..{pos.max():g} {unit} does not cover "
                              f"the requested range {lo:g}..{hi:g} {unit}")
    df = _wrap_read(path, lambda: _read_csv(path, usecols=[id_col] + names, dtype={id_col: str}))
    _no_data_rows(df, path)
    non_numeric = [c for c in names if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise OSSLFormatError(f"{path.name}: non-numeric values in spectral column(s) {non_numeric[:5]}")
    X = df[names].to_numpy(np.float64)
    ids = df[id_col].to_numpy(dtype=str)
    rows = df.index.to_numpy() + 2                    # file rows, the header being row 1
    all_rows, all_ids = rows, ids
    X, ids, (rows,), _, gone = _drop_nonfinite_rows(X, rows, ids, path, rows)      # rows: also filtered
    lost = {str(s): [int(r) for r in all_rows[all_ids == s]] for s in sorted(set(gone) - set(ids))}
    flat = X.std(axis=1) < FLAT_SD
    if flat.all():
        raise OSSLFormatError(f"every spectrum in {path.name} is constant/flat (sd < {FLAT_SD:g} over its "
                              f"channels): {_rows_text(rows, ids)}")
    if flat.any():
        warnings.warn(f"{path.name}: constant/flat spectra (sd < {FLAT_SD:g} over their channels) in "
                      f"{_rows_text(rows[flat], ids[flat])}: kept, but they carry no signal",
                      UserWarning, stacklevel=3)
    if quantity == "reflectance":
        X = _reflectance(X, path, percent)
    elif (X > ABSORBANCE_MAX).mean() > 0.5:
        raise OSSLFormatError(f"{path.name}: values up to {X.max():.4g} look like reflectance in percent, "
                              "not absorbance")
    order = np.argsort(pos)
    X = Resample(pos[order], axis, tol=tol).fit_transform(X[:, order]).astype(np.float32)
    try:    # a whole file of the other shape is refused; flat rows are not judged (check_orientation skips them)
        check_orientation(X, axis, unit, quantity, name=path.name, every_row=True)
    except ValueError as exc:
        raise OSSLFormatError(str(exc)) from None
    wrong = orientation_rows(X, axis, unit, quantity) < 0
    if wrong.any():     # judged per spectrum: named, kept (the quality flag of read_spectra says the same)
        warnings.warn(f"{path.name}: {orientation_reason(unit, quantity)} in {_rows_text(rows[wrong], ids[wrong])}: "
                      "kept", UserWarning, stacklevel=3)
    return ids, X, lost


def _read_test_lab(path) -> pd.DataFrame:
    path = Path(path)
    columns = _header(path)
    id_col = next((c for c in TEST_ID_COLUMNS if c in columns), None)
    if id_col is None:
        raise OSSLFormatError(f"{path.name}: missing required id column (one of {list(TEST_ID_COLUMNS)})")
    names = {}
    for p, ossl in (OSSL_COLUMNS | EXTRA_OSSL_COLUMNS).items():
        if p in columns:
            names[p] = p
        elif ossl in columns:
            names[p] = ossl
    # any other column is a property under its own name (a library may carry any set of properties)
    names |= {c: c for c in columns if c != id_col and c not in names.values() and c != "EOC"}
    if not names:
        raise OSSLFormatError(f"{path.name}: no property column besides {id_col} (the nine of the paper by name "
                              f"or OSSL name, e.g. TC or {OSSL_COLUMNS['TC']}, or any other)")
    use = [id_col] + list(names.values()) + (["EOC"] if "EOC" in columns else [])
    df = _wrap_read(path, lambda: _read_csv(path, usecols=use, dtype={id_col: str}))
    _no_data_rows(df, path)
    _no_duplicates(df[id_col], "sample id", path)
    out = pd.DataFrame(index=df[id_col].astype(str))
    for p, c in names.items():
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise OSSLFormatError(f"{path.name}: non-numeric values in column {c}")
        out[p] = df[c].to_numpy(float)
    if "EOC" in df:
        out["EOC"] = df["EOC"].to_numpy(float)
    elif "TC" in out and "IC" in out:
        out["EOC"] = np.where(out[["TC", "IC"]].isna().any(axis=1), np.nan,
                              estimated_organic_carbon(out["TC"], out["IC"]))
    return out[[p for p in PROPERTIES if p in out] + [c for c in out.columns if c not in PROPERTIES]]


def load_test_set(test_dir, percent="auto") -> tuple[SpectralLibrary | None, SpectralLibrary | None]:
    """The pluggable independent test set (the paper's NAPT spectra are not public).

    Folder format (CSV, ``.csv`` or ``.csv.gz``; documented in ``data/README.md``):

    * ``nir.csv``: ``sample_id`` (or ``id.sample_local_c``) + NIR reflectance columns named
      ``scan_nir.<nm>_ref`` or just ``<nm>``; any grid covering 1350-2550 nm (resampled linearly
      onto :data:`NIR_AXIS_NM`); fraction (percent is divided by 100 with a warning); several rows
      per sample (scan repeats) are averaged.
    * ``mir.csv``: same id column + MIR absorbance columns ``scan_mir.<cm-1>_abs`` or ``<cm-1>``,
      any grid covering 600-4000 cm-1 (resampled onto :data:`MIR_AXIS_CM1`); repeats averaged.
    * ``lab.csv``: same id column + the properties under our names (``TC TN IC pH CEC clay silt
      sand``, optional ``EOC``, derived from TC and IC when absent) or the OSSL column names, and any other
      property under its own name (``OC``, ``K``, ...); one row per sample.

    ``nir.csv`` or ``mir.csv`` may be absent (a MIR-only or NIR-only test set; its library is None).
    Every sample must appear in all files given (else an error names a few); rows with NaN/inf
    spectra are dropped with a warning naming the file and its rows, and a sample left with no finite
    row in ``nir.csv`` or ``mir.csv`` leaves the whole test set (both spectra and its lab row) with a
    warning. Files may be comma-, ``;``- or tab-separated (``;`` with decimal commas too).
    Returns ``(test_nir, test_mir)`` aligned row by row.
    """
    test_dir = Path(test_dir)
    if not test_dir.is_dir():
        raise FileNotFoundError(f"test set folder {test_dir} not found")

    def find(stem, required=True):
        for ext in (".csv", ".csv.gz"):
            if (test_dir / f"{stem}{ext}").exists():
                return test_dir / f"{stem}{ext}"
        if required:
            raise FileNotFoundError(f"{test_dir}: missing {stem}.csv (needs lab.csv and nir.csv, mir.csv or both)")
        return None

    nir_path, mir_path, lab_path = find("nir", False), find("mir", False), find("lab")
    if nir_path is None and mir_path is None:
        raise FileNotFoundError(f"{test_dir}: missing nir.csv and mir.csv (needs lab.csv and nir.csv, mir.csv or both)")
    libs, lost = {}, {}
    for key, path, pattern, axis, unit, quantity in (
            ("nir", nir_path, NIR_RE, NIR_AXIS_NM, "nm", "reflectance"),
            ("mir", mir_path, MIR_RE, MIR_AXIS_CM1, "cm-1", "absorbance")):
        if path is not None:
            ids_, X_, lost[path.name] = _read_wide(path, pattern, axis, unit, quantity, percent=percent)
            libs[path.name] = SpectralLibrary(X=X_, axis=axis, unit=unit, quantity=quantity, sample_id=ids_,
                                              name=f"test_{key}").average_scans()
    lab = _read_test_lab(lab_path)
    numeric = lab[[c for c in lab.columns if pd.api.types.is_numeric_dtype(lab[c])]]
    bad = impossible_cells(numeric)
    if bad.to_numpy().any():
        raise ValueError(f"{lab_path}: {int(bad.to_numpy().sum())} value(s) no laboratory can report: "
                         f"{describe_cells(numeric, bad)}; correct them or leave the cells empty")
    gone = _leave_out_nonfinite(lost, test_dir, (*libs, lab_path.name))
    sets = {name: set(lib.sample_id) - gone for name, lib in libs.items()} | {lab_path.name: set(lab.index) - gone}
    union = set().union(*sets.values())
    for fname, have in sets.items():
        lack = sorted(str(x) for x in union - have)
        if lack:
            raise OSSLFormatError(f"{test_dir}: {len(lack)} sample(s) missing from {fname}, e.g. {lack[:5]}")
    ids = [s for s in next(iter(libs.values())).sample_id if s not in gone]
    if not ids:
        raise OSSLFormatError(f"{test_dir}: no sample left: every one has only NaN/inf rows in "
                              f"{' or '.join(libs)}")
    out = []
    for key, path in (("nir", nir_path), ("mir", mir_path)):
        lib = _attach(libs[path.name].align_to(ids), lab) if path is not None else None
        if lib is not None:
            lib.name = f"test_{key}"
        out.append(lib)
    return tuple(out)


def _leave_out_nonfinite(lost_by_file, test_dir, files) -> set:
    """Samples whose every row in a spectra file held NaN/inf, left out of the whole test set (a warning)."""
    gone = set().union(*lost_by_file.values())
    if gone:
        where = "; ".join(f"{f}: " + ", ".join(f"{s} at row(s) {', '.join(map(str, lost[s]))}"
                                               for s in sorted(lost)[:8])
                          for f, lost in lost_by_file.items() if lost)
        warnings.warn(f"{test_dir}: {len(gone)} sample(s) {sorted(gone)[:8]} left out of the test set "
                      f"({', '.join(files)} alike): every row of theirs holds NaN or inf in {where} "
                      "(the header is row 1)", UserWarning, stacklevel=3)
    return gone


# ------------------------------------------------------------------------ official sample inputs
def read_ossl_sample_neospectra(path) -> SpectralLibrary:
    """``sample_neospectra_data.csv`` of soilspectroscopy/ossl-models: 257 native NeoSpectra channels.

    Columns ``sample_id`` + wavelengths 2549.99998..1350.0003 nm (decreasing), reflectance in
    percent; returned as fractions resampled linearly onto :data:`NIR_AXIS_NM` (the native end
    points fall within 0.001 nm of 1350/2550, hence ``tol=0.01``).
    """
    ids, X, _ = _read_wide(path, NIR_RE, NIR_AXIS_NM, "nm", "reflectance", percent=True, tol=0.01)
    return _library_from(ids, X, NIR_AXIS_NM, "nm", "reflectance", Path(path).name, path=path)


def read_ossl_sample_mir(path) -> SpectralLibrary:
    """``sample_mir_data.csv`` of soilspectroscopy/ossl-models: 1,765 native channels 4001.7..599.8 cm-1
    (absorbance), resampled linearly onto :data:`MIR_AXIS_CM1`."""
    ids, X, _ = _read_wide(path, MIR_RE, MIR_AXIS_CM1, "cm-1", "absorbance")
    return _library_from(ids, X, MIR_AXIS_CM1, "cm-1", "absorbance", Path(path).name, path=path)
