"""The paper's tables: Appendix A summary statistics, and reproduced values beside the paper's."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from soilnb.core import references
from soilnb.core.vocab import DATASETS, PAPER_NAMES
from soilnb.data.library import World

APPENDIX_A_COLUMNS = ["property", "dataset", "n", "min", "mean", "sd", "max", "skewness", "kurtosis"]
APPENDIX_B_COLUMNS = ["property", "strategy", "rmse", "me", "r2", "ccc", "rpiq"]


def summary_statistics(values) -> dict:
    """n, min, mean, sd (ddof=1), max, skewness (Fisher-Pearson, biased) and kurtosis (Pearson, normal = 3).

    The paper's Appendix A reports kurtosis on the Pearson scale: pH, nearly uniform-to-normal, has 2.10.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return {"n": int(v.size), "min": v.min(), "mean": v.mean(), "sd": v.std(ddof=1), "max": v.max(),
            "skewness": stats.skew(v), "kurtosis": stats.kurtosis(v, fisher=False)}


def appendix_a(world: World, properties=None) -> pd.DataFrame:
    """Appendix A: statistics of each property in the KSSL (complete rows, one per sample), Paired and
    NAPT-like test datasets the world holds; for the paper's world, 27 rows (nine properties x three sets)
    in the paper's order. Complete rows: every one of ``properties`` (default: all a library carries)
    measured. A property with no value in a set has no row for it."""
    test = world.test_nir if world.test_nir is not None else world.test_mir
    paired = world.paired_nir if world.paired_nir is not None else world.paired_mir
    sets = {name: lib for name, lib in zip(DATASETS, (world.kssl, paired, test)) if lib is not None}
    sets = {name: _complete(lib, properties, name == "KSSL") for name, lib in sets.items()}
    names = list(dict.fromkeys(c for df in sets.values() for c in df.columns))
    rows = [{"property": PAPER_NAMES.get(p, p), "dataset": name, **summary_statistics(df[p])}
            for p in names for name, df in sets.items() if p in df.columns and df[p].notna().any()]
    return pd.DataFrame(rows, columns=APPENDIX_A_COLUMNS)


def _complete(lib, properties, average: bool) -> pd.DataFrame:
    keep = lib.property_names if properties is None else [p for p in properties if p in lib.property_names]
    lib = lib.complete(keep)
    return (lib.average_scans() if average else lib).properties[keep]


def read_reference(name: str) -> pd.DataFrame:
    """A table of the paper's numbers (``"appendix_a"`` or ``"appendix_b"``), read from the package
    (:func:`soilnb.core.references.read_reference`): always there, checked on read."""
    if name not in ("appendix_a", "appendix_b"):
        raise KeyError(f"no paper table {name!r}; have 'appendix_a', 'appendix_b'")
    return references.read_reference(name)


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame, keys, values, source: str) -> pd.DataFrame:
    """Our values and the paper's side by side, with differences (ours - paper).

    Rows of ours that the paper does not have (a property or set beyond the paper's) keep empty paper cells, and
    a warning names them; a comparison with no paper table at all is refused rather than written empty.
    """
    if paper is None:
        raise ValueError("beside_paper needs the paper's table (soilnb.report.read_reference); "
                         "write our table alone instead of one with empty paper columns")
    out = ours[list(keys) + list(values)].copy()
    ref = paper[list(keys) + list(values)].rename(columns={v: f"{v}_paper" for v in values})
    out = out.merge(ref, on=list(keys), how="left")
    for v in values:
        out[f"{v}_diff"] = out[v] - out[f"{v}_paper"]
    unmatched = out[out[[f"{v}_paper" for v in values]].isna().all(axis=1)]
    if len(unmatched):
        names = [" / ".join(str(x) for x in row) for row in unmatched[list(keys)].itertuples(index=False)]
        warnings.warn(f"{len(unmatched)} of {len(out)} rows have no value in the paper ({source}): "
                      f"{', '.join(names[:6])}{' ...' if len(names) > 6 else ''}", stacklevel=2)
    out.insert(len(keys), "source", source)
    return out


def appendix_a_vs_paper(table_a: pd.DataFrame, source: str) -> pd.DataFrame:
    """Appendix A beside the paper's values (with differences)."""
    return beside_paper(table_a, read_reference("appendix_a"), ["property", "dataset"],
                        ["n", "mean", "sd", "min", "max", "skewness", "kurtosis"], source=source)


def appendix_b_vs_paper(table_b: pd.DataFrame, source: str) -> pd.DataFrame:
    """Appendix B beside the paper's values (with differences)."""
    return beside_paper(table_b, read_reference("appendix_b"), ["property", "strategy"],
                        ["rmse", "me", "r2", "ccc", "rpiq"], source=source)
