"""The one-line summary of a prediction table that ``soilnb predict`` prints: what a user must know about the rows
(reading-quality flags, values clipped to physical bounds, intervals the calibration data do not support)."""
from __future__ import annotations

import pandas as pd


def summary_text(pred: pd.DataFrame) -> str:
    """What a summary line says about ``pred`` (one or several :func:`predict_spectra` tables concatenated; counted
    from the columns, so no ``attrs`` are needed): the rows predicted from spectra with a reading-quality flag, the
    values clipped to their physical bounds and the rows whose interval the calibration data do not support ("" when
    none of these)."""
    parts = []
    if "quality_ok" in pred:
        bad = ~pred["quality_ok"].astype(bool)
        if bad.any():
            reasons = pred.loc[bad, "quality"].fillna("").astype(str) if "quality" in pred else pd.Series(dtype=str)
            kinds = reasons[reasons != ""].str.split(";").explode().str.split(":").str[0].str.strip()
            top = kinds[kinds != ""].value_counts().head(3)      # the kind of flag, without its numbers
            why = f" ({', '.join(f'{r}: {n}' for r, n in top.items())})" if len(top) else ""
            parts.append(f"{int(bad.sum())} of {len(pred)} row(s) predicted from spectra with a reading-quality "
                         f"flag{why}: check column 'quality'")
    n_clipped = int(sum(len(c.split(";")) for c in pred.get("clipped", pd.Series(dtype=object)).fillna("") if c))
    if n_clipped:
        parts.append(f"{n_clipped} predicted value(s) clipped to physical bounds (column 'clipped')")
    n = int((~pred["interval_supported"].astype(bool)).sum()) if "interval_supported" in pred else 0
    if n:
        parts.append(f"{n} of {len(pred)} row(s) with intervals the calibration data do not support "
                     "(interval_supported False: their coverage is not guaranteed; see interval_note)")
    return "; ".join(parts)
