"""The LimeSoDa benchmark drawn (notebook 07): our pooled out-of-fold R2 against the best published R2 per case."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from soilnb.report.style import CM, use_style

#: Colour per spectral range (the reference file's labels) and marker per target.
RANGE_COLORS = {"MIR": "#1f4e9c", "visNIR": "#d4a017"}
TARGET_MARKERS = {"SOC": "o", "SOM": "o", "pH": "s", "Clay": "^"}


def fig_limesoda_r2(comparison: pd.DataFrame, column: str = "r2", floor: float = -0.5):
    """Scatter of our R2 (``column``: ``"r2"`` for our best strategy, or ``"r2_PLSR"``...) against the best
    published R2 of each case, with the 1:1 line; colour = spectral range, marker = target.

    Points above the line are cases we win. R2 below ``floor`` is drawn at ``floor`` with an open marker,
    so that one failed case does not squash the others.
    """
    use_style()
    fig, ax = plt.subplots(figsize=(9 * CM, 9 * CM))
    x = comparison["published_r2"].to_numpy(float)
    y = comparison[column].to_numpy(float)
    low = max(floor, min(0.0, np.nanmin(np.r_[x, y]))) - 0.05
    ax.plot([low, 1], [low, 1], color="k", lw=0.7, ls="--", zorder=1, label="1:1")
    for (rng, target), g in comparison.groupby(["spectral_range", "target"], sort=False):
        gx, gy = g["published_r2"].to_numpy(float), g[column].to_numpy(float)
        clipped = gy < low
        color, marker = RANGE_COLORS.get(rng, "0.4"), TARGET_MARKERS.get(target, "D")
        ax.scatter(gx[~clipped], gy[~clipped], s=18, color=color, marker=marker, ec="k", lw=0.3, zorder=3,
                   label=f"{rng} {target}")
        if clipped.any():
            ax.scatter(gx[clipped], np.full(clipped.sum(), low), s=18, facecolor="none", edgecolor=color,
                       marker=marker, lw=0.8, zorder=3)
    won = int((y > x).sum())
    which = "our best strategy" if column == "r2" else column.removeprefix("r2_")
    ax.set(xlim=(low, 1), ylim=(low, 1), xlabel="best published R2 (MLR, SVR, CatBoost or RF)",
           ylabel=f"R2 of {which} (pooled out-of-fold)",
           title=f"LimeSoDa: {won} of {len(comparison)} cases above the 1:1 line")
    ax.set_aspect("equal")
    ax.legend(frameon=False, fontsize=6, loc="upper left", ncol=2)
    return fig
