"""The OSSL v1.2 file format: column names, dataset codes, spectral-column parsing and read checks.

Shared by the table readers (:mod:`soilnb.data.ossl.tables`), the download registry
(:mod:`soilnb.data.ossl.files`) and the test-set reader (:mod:`soilnb.data.ossl.testset`); the join rule
behind :func:`kssl_layer_uuid` is described in :mod:`soilnb.data.ossl`.
"""
from __future__ import annotations

import gzip
import hashlib
import re
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


def _header(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except _READ_ERRORS as exc:
        raise OSSLFormatError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


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


def _spectral_columns(columns, pattern, path=None, kind="", bare_numbers=False):
    """Spectral column names and their positions (as in the file, any order).

    Columns match ``pattern`` (e.g. ``scan_mir.600_abs``); with ``bare_numbers`` a header that is
    just a number (``"1350"``, ``"4001.656"``) counts too. Without ``path`` nothing is raised when
    no column matches (the caller checks).
    """
    names, pos = [], []
    for c in columns:
        m = pattern.match(str(c))
        if m:
            names.append(c)
            pos.append(float(m.group(1)))
        elif bare_numbers:
            try:
                pos.append(float(c))
                names.append(c)
            except (TypeError, ValueError):
                pass
    if not names and path is not None:
        raise OSSLFormatError(f"{Path(path).name}: no {kind} spectral columns (like {pattern.pattern})")
    return names, np.asarray(pos)


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


def _reflectance(X, path, percent):
    try:
        return reflectance_fraction(X, percent=percent, name=Path(path).name)
    except ValueError as exc:
        raise OSSLFormatError(str(exc)) from None
