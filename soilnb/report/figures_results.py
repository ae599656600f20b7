"""One style, one way to save, and the paper's figures as functions of arrays and tables.

Notebooks call these; nothing here computes statistics. Every figure is written as PNG and PDF
under the run's :attr:`~soilnb.core.config.Config.figures_dir` with a stable name and no timestamp in the metadata, so reruns
with the same inputs give the same figure and table files; only the folder's ``manifest.json`` (which
run wrote each file, and when) changes.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from soilnb.core.vocab import COLORS, HATCH, ILR_COLORS, STRATEGIES, THRESHOLDS
from soilnb.report.style import CM, use_style


# ---------------------------------------------------------------------------------- regression
def fig5_ccc(table: pd.DataFrame, reference: pd.DataFrame | None = None):
    """Fig. 5: test CCC per property and strategy, the CCC = 0.7 line, the paper's values as ticks."""
    return fig_metric_bars(table, "ccc", THRESHOLDS["ccc"], reference=reference)


def fig6_rpiq(table: pd.DataFrame, reference: pd.DataFrame | None = None):
    """Fig. 6: test RPIQ per property and strategy, the RPIQ = 2 line, the paper's values as ticks."""
    return fig_metric_bars(table, "rpiq", THRESHOLDS["rpiq"], reference=reference)


def fig_metric_bars(table: pd.DataFrame, metric: str, threshold: float | None, properties=None,
                    strategies=STRATEGIES, reference: pd.DataFrame | None = None):
    """Figs 5-6: one bar per strategy within each property; optional paper values as black ticks."""
    use_style()
    properties = list(properties or dict.fromkeys(table["property"]))
    strategies = [s for s in strategies if s in set(table["strategy"])]
    fig, ax = plt.subplots(figsize=(18 * CM, 7 * CM))
    w = 0.8 / len(strategies)
    for i, s in enumerate(strategies):
        sub = table[table["strategy"] == s].set_index("property").reindex(properties)
        x = np.arange(len(properties)) + (i - (len(strategies) - 1) / 2) * w
        ax.bar(x, sub[metric], width=w, color=COLORS.get(s, f"C{i}"), hatch=HATCH.get(s, ""), ec="k", lw=0.3, label=s)
        if reference is not None:
            ref = reference[reference["strategy"] == s].set_index("property").reindex(properties)
            ax.scatter(x, ref[metric], marker="_", color="k", s=25, lw=1, zorder=3,
                       label="paper (Appendix B)" if i == 0 else None)
    if threshold is not None:
        ax.axhline(threshold, color="k", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(properties)), properties)
    ax.set_ylabel(metric.upper())
    if metric == "ccc":
        ax.set_ylim(min(0, float(np.nanmin(table[metric])) - 0.05), 1)
    ax.legend(frameon=False, ncol=4, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, 1.22))
    return fig


def fig_variant_bars(table: pd.DataFrame, metrics=("ccc", "rpiq"), by: str = "property", hue: str = "variant",
                     title: str = "", colors: dict | None = None):
    """One panel per metric; bars of each ``hue`` value grouped by ``by`` (Figs 8 and C.9), with seaborn."""
    use_style()
    groups = list(dict.fromkeys(table[by]))
    hues = list(dict.fromkeys(table[hue]))
    palette = {h: (colors or {}).get(h, f"C{i}") for i, h in enumerate(hues)}
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(9, 1.9 * len(groups)) * CM, 5.5 * len(metrics) * CM),
                             sharex=True, squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics):
        sns.barplot(data=table, x=by, y=metric, hue=hue, order=groups, hue_order=hues, palette=palette, ax=ax,
                    edgecolor="k", linewidth=0.3, errorbar=None, saturation=1, legend=ax is axes[0, 0])
        ax.axhline(THRESHOLDS.get(metric, np.nan), color="k", lw=0.7, ls="--")
        ax.set(ylabel=metric.upper(), xlabel="")
    axes[0, 0].set_title(title, pad=22)
    sns.move_legend(axes[0, 0], "lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(hues), frameon=False,
                    fontsize=6, title=None)
    return fig


# ---------------------------------------------------------------------------------- reliability
def fig7_reliability(cv: pd.DataFrame, points: pd.DataFrame, properties):
    """Fig. 7: CCC and RPIQ per property: internal 10x10 CV PLSR of each dataset (background dots)
    and the validation/test performance of two strategies on top.

    ``cv`` columns: dataset, property, ccc, rpiq (one row per fold). ``points`` columns: dataset,
    strategy, property, ccc, rpiq.
    """
    use_style()
    datasets = list(dict.fromkeys(cv["dataset"]))
    fig, axes = plt.subplots(2, 1, figsize=(18 * CM, 12 * CM), sharex=True)
    markers = {s: m for s, m in zip(dict.fromkeys(points["strategy"]), ("o", "s", "D", "^"))}
    for ax, metric in zip(axes, ("ccc", "rpiq")):
        for di, ds in enumerate(datasets):
            off = (di - (len(datasets) - 1) / 2) * 0.3
            for pi, prop in enumerate(properties):
                v = cv[(cv["dataset"] == ds) & (cv["property"] == prop)][metric].to_numpy()
                jitter = np.random.default_rng(pi).uniform(-0.06, 0.06, v.size)
                ax.scatter(pi + off + jitter, v, s=4, color=f"C{di}", alpha=0.25, lw=0,
                           label=f"{ds}: internal 10x10 CV (PLSR)" if pi == 0 else None)
                for s, mk in markers.items():
                    p = points[(points["dataset"] == ds) & (points["property"] == prop) & (points["strategy"] == s)]
                    if len(p):
                        ax.scatter(pi + off, p[metric], s=30, marker=mk, color=f"C{di}", ec="k", lw=0.6, zorder=3,
                                   label=f"{ds}: {s}" if pi == 0 else None)
        ax.set_ylabel(metric.upper())
        ax.axhline(0.7 if metric == "ccc" else 2.0, color="k", lw=0.6, ls="--")
    axes[1].set_xticks(np.arange(len(properties)), properties)
    axes[0].legend(frameon=False, fontsize=6, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.35))
    return fig


def fig_shift(distances: dict, limit: float, d0: float, Fd: int, alpha: float = 0.05):
    """Distributions of the normalised distance Fd * d / d0 per dataset with the critical limit (log axis)."""
    use_style()
    fig, ax = plt.subplots(figsize=(14 * CM, 7 * CM))
    allv = np.concatenate([Fd * np.asarray(d) / d0 for d in distances.values()])
    lo = max(np.percentile(allv, 0.1), 1e-3)
    bins = np.geomspace(lo, max(allv.max(), limit) * 1.05, 70)
    for i, (name, d) in enumerate(distances.items()):
        v = Fd * np.asarray(d) / d0
        ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, weights=np.full(v.size, 1 / v.size), histtype="step",
                lw=1.2, color=f"C{i}",
                label=f"{name} ({np.mean(v > limit):.0%} flagged)")
    ax.axvline(limit, color="k", ls="--", lw=1,
               label=f"critical limit $\\chi^2_{{{1 - alpha:g}}}({Fd})$ = {limit:.1f}")
    ax.set_xscale("log")
    ax.set(xlabel="normalised Mahalanobis distance $F_d\\,d/d_0$ (log scale)", ylabel="share of samples per bin")
    ax.legend(frameon=False, fontsize=6)
    return fig


def fig8(metrics: pd.DataFrame):
    return fig_variant_bars(metrics, title="Fig. 8: effect of the ILR transform (test set)", colors=ILR_COLORS)


def figC9(metrics: pd.DataFrame):
    return fig_variant_bars(metrics, title="Fig. C.9: NIR -> MIR converter architecture (test set)")
