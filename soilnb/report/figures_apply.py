"""Coverage of the conformal intervals drawn (notebook 08): per condition and strategy, flagged vs unflagged,
and on the LimeSoDa folds."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from soilnb.report.style import CM, use_style

#: Marker colour per condition of :func:`soilnb.apply.coverage.world_coverage`.
CONDITION_COLORS = {"exchangeable": "#2a9d8f", "Paired validation (MIR)": "#e9c46a", "independent test": "#e76f51"}


def _nominal(ax, nominal: float, band: float, horizontal: bool = True):
    span = ax.axhspan if horizontal else ax.axvspan
    line = ax.axhline if horizontal else ax.axvline
    span(nominal - band, nominal + band, color="0.9", zorder=0)
    line(nominal, color="k", lw=0.7, ls="--", zorder=1)


def fig_coverage(summary: pd.DataFrame, limesoda: pd.DataFrame | None = None, nominal: float = 0.9,
                 band: float = 0.02, interval: str = "plain"):
    """Empirical coverage of the intervals at ``nominal`` (grey band: ``nominal`` +- ``band``).

    Left: per strategy, the coverage averaged over properties (whiskers: lowest and highest property) under
    each condition (:func:`soilnb.apply.coverage.coverage_summary`). Middle: on the independent test set,
    coverage among samples flagged (shift or novelty) and not flagged. Right (with ``limesoda``): PLSR CV+
    coverage per LimeSoDa dataset (mean over targets, whiskers the extremes).
    """
    use_style()
    s = summary[summary["interval"] == interval]
    strategies = list(dict.fromkeys(s["strategy"]))
    panels = 3 if limesoda is not None and len(limesoda) else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * CM * panels, 8 * CM), squeeze=False)
    ax = axes[0, 0]
    y = np.arange(len(strategies))
    conds = list(dict.fromkeys(s["condition"]))
    for k, cond in enumerate(conds):
        g = s[s["condition"] == cond].set_index("strategy").reindex(strategies)
        off = (k - (len(conds) - 1) / 2) * 0.22
        xerr = np.clip([g["coverage"] - g["coverage_min"], g["coverage_max"] - g["coverage"]], 0, None)
        ax.errorbar(g["coverage"], y + off, xerr=xerr,
                    fmt="o", ms=3.5, lw=0.8, color=CONDITION_COLORS.get(cond, "0.4"), label=cond)
    _nominal(ax, nominal, band, horizontal=False)
    ax.set(yticks=y, yticklabels=strategies, xlabel=f"coverage of {nominal:.0%} intervals", xlim=(0, 1.02),
           title="by condition")
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize=6, loc="lower left")
    ax = axes[0, 1]
    t = s[s["condition"] == "independent test"].set_index("strategy").reindex(strategies)
    labels = []
    if "coverage_flagged" in t:
        ax.scatter(t["coverage_unflagged"], y, marker="o", s=16, color="#264653", label="not flagged", zorder=3)
        ax.scatter(t["coverage_flagged"], y, marker="x", s=22, color="#e76f51", label="flagged", zorder=3)
        labels = [f"{name}: {int(r['n_flagged'])}/{int(r['n'])}" if np.isfinite(r.get("n_flagged", np.nan)) else name
                  for name, r in t.iterrows()]
    _nominal(ax, nominal, band, horizontal=False)
    ax.set(yticks=y, yticklabels=labels or [], xlabel="coverage on the independent test set", xlim=(0, 1.02),
           title="test set: flagged or not")
    ax.set_ylabel("strategy: samples flagged / all", fontsize=6)
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize=6, loc="lower left")
    if panels == 3:
        ax = axes[0, 2]
        g = limesoda.groupby(["dataset", "spectral_range"], sort=False)["coverage"].agg(["mean", "min", "max"])
        g = g.reset_index()
        yy = np.arange(len(g))
        colors = np.where(g["spectral_range"] == "MIR", "#1f4e9c", "#d4a017")
        ax.errorbar(g["mean"], yy, xerr=np.clip([g["mean"] - g["min"], g["max"] - g["mean"]], 0, None), fmt="none",
                    lw=0.8, ecolor="0.5")
        ax.scatter(g["mean"], yy, c=colors, s=16, zorder=3)
        _nominal(ax, nominal, band, horizontal=False)
        ax.set(yticks=yy, yticklabels=g["dataset"], xlabel="coverage (blue MIR, yellow vis-NIR)", xlim=(0.5, 1.02),
               title="LimeSoDa, PLSR CV+")
        ax.invert_yaxis()
    fig.tight_layout()
    return fig
