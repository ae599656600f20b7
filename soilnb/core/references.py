"""The published numbers every run compares with, read from the package (``soilnb/core/reference/``).

The tables travel with the code (a clone or a wheel has them), so a comparison column is never empty because a
folder beside the repository is missing. Each table is checked on read (its columns and row count), so a damaged
or truncated copy is an error that names the file, never a silently shorter comparison.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

#: The folder of the reference tables (package data; see its README.md for sources and licences).
REFERENCE = Path(__file__).resolve().parent / "reference"

#: name -> (file, the columns it must have, its number of rows)
TABLES: dict[str, tuple[str, tuple[str, ...], int]] = {
    "appendix_a": ("paper_appendix_a.csv",
                   ("property", "dataset", "n", "min", "mean", "sd", "max", "skewness", "kurtosis"), 27),
    "appendix_b": ("paper_appendix_b.csv", ("property", "strategy", "rmse", "me", "r2", "ccc", "rpiq"), 63),
    "limesoda": ("limesoda_published.csv",
                 ("dataset", "spectral_range", "n", "target", "metric", "MLR", "SVR", "CatBoost", "RF",
                  "best_published", "best_published_score"), 90),
}


class ReferenceError(RuntimeError):
    """A reference table is missing or is not the published one (wrong columns or row count)."""


def reference_path(name: str) -> Path:
    """The file of reference table ``name`` (``appendix_a``, ``appendix_b`` or ``limesoda``)."""
    if name not in TABLES:
        raise KeyError(f"no reference table {name!r}; have {sorted(TABLES)}")
    return REFERENCE / TABLES[name][0]


def read_reference(name: str) -> pd.DataFrame:
    """Reference table ``name``, checked; property names normalised (the paper's text has a Cyrillic 'р' in 'pH').

    >>> read_reference("appendix_b").query("property == 'TC' and strategy == 'MIR-SSL-MLP'")["ccc"].item()
    0.98
    """
    path = reference_path(name)
    _, columns, n_rows = TABLES[name]
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise ReferenceError(f"{path}: reference table {name!r} missing from the installed soilnb "
                             "(reinstall soilnb; the file is package data)") from None
    missing = [c for c in columns if c not in df.columns]
    if missing or len(df) != n_rows:
        raise ReferenceError(f"{path}: not the published table {name!r} (expected {n_rows} rows with columns "
                             f"{list(columns)}; found {len(df)} rows, missing {missing})")
    if "property" in df.columns:
        df["property"] = df["property"].str.replace("\u0440", "p").str.strip()
    return df
