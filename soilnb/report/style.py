"""One figure style for every figure (sizes in cm, small fonts, no top/right spines)."""
from __future__ import annotations

import matplotlib.pyplot as plt

CM = 1 / 2.54
STYLE = {
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
    "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False,
    "axes.spines.right": False, "savefig.bbox": "tight", "axes.grid": False, "image.cmap": "viridis",
}


def use_style():
    plt.rcParams.update(STYLE)
