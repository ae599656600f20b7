"""The transfer benchmark's figure (notebook 09): coverage and CCC against the number of local samples."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from soilnb.report.style import CM, use_style

#: Colour of each method of :func:`soilnb.apply.transfer_table`.
METHOD_COLORS = {"none": "0.45", "adapted": "#1f77b4", "local_only": "#d62728"}


def fig_transfer(table: pd.DataFrame, nominal: float = 0.9):
    """Two rows (90 % interval coverage, CCC) by one column per property: each set's value against k (thin), the
    mean over sets (thick) per method; ``none`` (the bundle as trained, k = 0) drawn as a dashed level."""
    use_style()
    props = list(dict.fromkeys(table["property"]))
    fig, axes = plt.subplots(2, len(props), figsize=(8 * CM * len(props), 11 * CM), squeeze=False, sharex=True)
    ks = sorted(k for k in table["k"].unique() if k > 0)
    for j, p in enumerate(props):
        part = table[table["property"] == p]
        for i, metric in enumerate(("coverage", "ccc")):
            ax = axes[i, j]
            for method, color in METHOD_COLORS.items():
                m = part[part["method"] == method]
                if m.empty:
                    continue
                if method == "none":
                    ax.axhline(m[metric].mean(), color=color, ls="--", lw=1.2, label="none (as trained)")
                    continue
                for _, d in m.groupby("dataset"):
                    ax.plot(d["k"], d[metric], color=color, lw=0.6, alpha=0.35)
                mean = m.groupby("k")[metric].mean()
                ax.plot(mean.index, mean.values, "o-", color=color, lw=1.8, label=method)
            if metric == "coverage":
                ax.axhline(nominal, color="k", lw=0.8, ls=":")
                ax.set_title(p)
            ax.set_ylabel("90 % interval coverage" if metric == "coverage" else "CCC")
            ax.set_xticks(ks)
            if i == 1:
                ax.set_xlabel("local samples k")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
