"""Soil property values checked per sample, with a reason, never silently rescaled.

:func:`property_quality` flags what no laboratory can report: negative contents, pH outside 0-14, a
percentage above 100, and a texture (clay + silt + sand) that does not sum to about 100 % or that looks
like fractions (summing to about 1). A flagged value is reported, not changed: the ILR transform would
otherwise close any sum to 100 and hide the problem.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from soilnb.core.vocab import TEXTURE

#: Properties that are contents or capacities, hence never negative (the paper's and common extras).
NON_NEGATIVE = ("TC", "TN", "IC", "EOC", "CEC", "clay", "silt", "sand", "OC", "SOC", "SOM", "K", "CaCO3")
#: Properties given in percent (weight %), hence at most 100.
PERCENT = ("TC", "TN", "IC", "EOC", "clay", "silt", "sand", "OC", "SOC", "SOM", "CaCO3")
#: How far clay + silt + sand may stray from 100 % (laboratory rounding and method closure).
TEXTURE_TOLERANCE = 5.0


def property_quality(props: pd.DataFrame) -> pd.DataFrame:
    """One row per sample (same index as ``props``): ``ok`` and a ``reason`` naming every implausible value.

    Missing values are not flags (a library may carry any subset of properties). Only the columns
    present are checked.

    Examples
    --------
    >>> df = pd.DataFrame({"TC": [1.2, -1.0], "pH": [6.5, 20.0], "clay": [20, 0.2], "silt": [30, 0.3],
    ...                    "sand": [50, 0.5]})
    >>> property_quality(df)["reason"].tolist()[1]
    'TC -1 is negative; pH 20 outside 0-14; texture sums to 1 (given as fractions? expected percent)'
    """
    reasons = [[] for _ in range(len(props))]
    values = {c: pd.to_numeric(props[c], errors="coerce").to_numpy(dtype=float) for c in props.columns}
    for name, v in values.items():
        for i in np.flatnonzero(np.isfinite(v)):
            if name in NON_NEGATIVE and v[i] < 0:
                reasons[i].append(f"{name} {v[i]:g} is negative")
            elif name in PERCENT and v[i] > 100:
                reasons[i].append(f"{name} {v[i]:g} above 100 %")
            if name == "pH" and not 0 <= v[i] <= 14:
                reasons[i].append(f"pH {v[i]:g} outside 0-14")
    if all(t in values for t in TEXTURE):
        total = sum(values[t] for t in TEXTURE)
        for i in np.flatnonzero(np.isfinite(total)):
            if abs(total[i] - 1) <= 0.05:
                reasons[i].append(f"texture sums to {total[i]:.3g} (given as fractions? expected percent)")
            elif abs(total[i] - 100) > TEXTURE_TOLERANCE:
                reasons[i].append(f"texture sums to {total[i]:.4g}, not 100 +- {TEXTURE_TOLERANCE:g} %")
    text = ["; ".join(r) for r in reasons]
    return pd.DataFrame({"ok": [not r for r in reasons], "reason": text}, index=props.index)


def impossible_cells(props: pd.DataFrame) -> pd.DataFrame:
    """Per cell of ``props``: True where the value is one no laboratory can report (a negative content, a
    percentage above 100, a pH outside 0-14) -- the per-value rules of :func:`property_quality`, without the
    texture sum (which real tables miss by method differences more than by error)."""
    out = pd.DataFrame(False, index=props.index, columns=props.columns)
    for name in props.columns:
        v = pd.to_numeric(props[name], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = np.zeros(v.size, bool)
            if name in NON_NEGATIVE:
                bad |= v < 0
            if name in PERCENT:
                bad |= v > 100
            if name == "pH":
                bad |= (v < 0) | (v > 14)
        out[name] = bad & np.isfinite(v)
    return out


def describe_cells(props: pd.DataFrame, bad: pd.DataFrame, limit: int = 3) -> str:
    """``"TC -1 (S01), pH 20 (S07), ... (N values)"``: the first ``limit`` flagged cells with their row labels."""
    cells = [(r, c) for c in bad.columns for r in bad.index[bad[c].to_numpy()]]
    text = ", ".join(f"{c} {props.at[r, c]:g} ({r})" for r, c in cells[:limit])
    return text + (f", ... ({len(cells)} values)" if len(cells) > limit else "")

