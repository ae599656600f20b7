"""The figure of ``soilnb evaluate``: observed vs predicted with the conformal interval of each sample, coloured by
its flag, one panel per property and strategy.

Why here and not in :mod:`soilnb.report`: the ``soilnb`` command (:mod:`soilnb.apply.cli`) draws it, and the
layers (core < spectra < data < stats < models < stages < apply < report, import-linter contracts) forbid
``apply`` to import ``report``. It is a figure of the command's own output, drawn with matplotlib's object API
(``Figure``, no pyplot, so no GUI backend and no global state) and without the paper's style module; a figure of
the paper belongs in ``report``. Were the command to grow more figures, the better place would be a command
layer above ``report`` (e.g. the ``soilnb`` command moved to a ``soilnb.cli`` package that may import every
layer), with this drawing code in ``report``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

#: Colour of each flag category (:func:`soilnb.apply.evaluate.flag_category`), drawn in this order.
FLAG_COLOURS = {"unflagged": "#1f77b4", "shift": "#ff7f0e", "novelty": "#d62728", "quality": "#7f7f7f"}
#: Panels per row at most.
MAX_COLUMNS = 4


def evaluation_figure(ev) -> Figure:
    """Observed (x) vs predicted (y) with interval bars, per property and strategy of ``ev``
    (:class:`soilnb.apply.evaluate.Evaluation`); each panel titled with n, CCC and the interval coverage."""
    pred, observed = ev.predictions, "_observed"
    panels = [(p, s) for p in ev.properties for s in dict.fromkeys(pred["strategy"])
              if pred.loc[pred["strategy"] == s, p + observed].notna().any()]
    n_strategies = len({s for _, s in panels})
    ncol = min(MAX_COLUMNS, max(1, n_strategies if n_strategies > 1 else len(panels)))
    nrow = max(1, -(-len(panels) // ncol))
    fig = Figure(figsize=(3.4 * ncol, 3.2 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    table = ev.table.set_index(["property", "strategy", "subset"])
    for ax, (p, s) in zip(axes, panels):
        part = pred[(pred["strategy"] == s) & pred[p + observed].notna()]
        y, yhat = part[p + observed].to_numpy(float), part[p].to_numpy(float)
        lo, hi = part[f"{p}_lower"].to_numpy(float), part[f"{p}_upper"].to_numpy(float)
        for flag, colour in FLAG_COLOURS.items():
            m = (part["flag"] == flag).to_numpy()
            if m.any():
                ax.errorbar(y[m], yhat[m], yerr=[yhat[m] - lo[m], hi[m] - yhat[m]], fmt="o", ms=3, color=colour,
                            ecolor=colour, elinewidth=0.6, alpha=0.7, label=f"{flag} ({int(m.sum())})")
        ends = np.concatenate([y, lo[np.isfinite(lo)], hi[np.isfinite(hi)]])
        a, b = float(np.nanmin(ends)), float(np.nanmax(ends))
        ax.plot([a, b], [a, b], color="black", lw=0.8, ls="--")
        row = table.loc[(p, s, "all")]
        ax.set_title(f"{p}, {s}\nn={row['n']}, CCC {row['ccc']:.2f}, coverage {row['coverage']:.2f}", fontsize=9)
        ax.set_xlabel(f"observed {p}", fontsize=8)
        ax.set_ylabel(f"predicted {p} ({ev.coverage:.0%} interval)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def save_evaluation_figure(ev, path) -> Path:
    """Draw :func:`evaluation_figure` into ``path`` (PNG, 150 dpi); returns the path."""
    path = Path(path)
    evaluation_figure(ev).savefig(path, dpi=150, format="png")
    return path
