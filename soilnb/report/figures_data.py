"""Figures of the data (notebook 01): example spectra, Fig. 1's bands, the realism overlays, and
Fig. 2's diagram of the strategies."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from soilnb.core.vocab import COLORS, SHORT_INPUT, STRATEGIES
from soilnb.data.library import World
from soilnb.data.simulate.bands import BANDS
from soilnb.report.style import CM, use_style


# ---------------------------------------------------------------------------------- spectra
def spectra_overlay(axis, groups: dict, xlabel="Wavenumber (cm$^{-1}$)", ylabel="SNV absorbance", invert=True):
    """Mean +- sd of several sets of spectra on one axis; ``groups`` maps label -> (n, p) array."""
    use_style()
    fig, ax = plt.subplots(figsize=(16 * CM, 6 * CM))
    for (label, X), color in zip(groups.items(), ("k", "tab:orange", "tab:blue", "tab:green")):
        m, s = X.mean(0), X.std(0)
        ax.plot(axis, m, color=color, lw=1, label=f"{label} (n={len(X)})")
        ax.fill_between(axis, m - s, m + s, color=color, alpha=0.2, lw=0)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if invert:
        ax.invert_xaxis()
    ax.legend(frameon=False)
    return fig


def spectra_examples(axis, X, labels=None, xlabel="Wavenumber (cm$^{-1}$)", ylabel="Absorbance", invert=True, ax=None):
    use_style()
    fig, ax = (None, ax) if ax is not None else plt.subplots(figsize=(16 * CM, 6 * CM))
    for i, x in enumerate(np.atleast_2d(X)):
        ax.plot(axis, x, lw=0.8, label=None if labels is None else labels[i])
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if invert and not ax.xaxis_inverted():
        ax.invert_xaxis()
    if labels is not None:
        ax.legend(frameon=False)
    return fig if fig is not None else ax.figure


def fig_mir_repeats(world: World):
    """The scan repeats of the first KSSL sample (the augmentation of the VAE's pretraining)."""
    first = world.kssl.sample_id[0]
    rows = world.kssl.sample_id == first
    return spectra_examples(world.kssl.axis, world.kssl.X[rows],
                            labels=[f"{first} repeat {i}" for i in range(int(rows.sum()))], ylabel="log10(1/R)")


def fig_nir_examples(world: World, n: int = 5):
    """The first ``n`` Paired NIR spectra as reflectance."""
    return spectra_examples(world.paired_nir.axis, world.paired_nir.X[:n], xlabel="Wavelength (nm)",
                            ylabel="Reflectance", invert=False)


def fig_realism(check):
    """Mean +- sd of the real and the world's SNV spectra of a :class:`soilnb.stages.realism.RealismCheck`."""
    mir = check.unit == "cm-1"
    return spectra_overlay(check.axis, check.groups, xlabel="Wavenumber (cm$^{-1}$)" if mir else "Wavelength (nm)",
                           invert=mir)


def fig1(world: World, sample: int = 0):
    """Fig. 1 for one Paired sample of ``world``: its MIR and its NIR (as log10(1/R)) with :data:`BANDS`."""
    nir_abs = -np.log10(world.paired_nir.X[sample])
    return fig1_bands(world.paired_mir.axis, world.paired_mir.X[sample], world.paired_nir.axis, nir_abs, BANDS)


def fig1_bands(mir_axis, mir, nir_axis_nm, nir, bands: pd.DataFrame):
    """Fig. 1: a MIR and a NIR spectrum of one sample with functional-group bands and their overtones.

    ``bands`` has columns ``group``, ``mir_cm1`` (fundamental position) and ``nir_nm`` (overtone or
    combination position; NaN when none is drawn).
    """
    use_style()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(17 * CM, 11 * CM))
    a1.plot(mir_axis, mir, color="k", lw=0.8)
    a1.invert_xaxis()
    a1.set(xlabel="Wavenumber (cm$^{-1}$)", ylabel="MIR absorbance log$_{10}$(1/R)", title="Fundamental vibrations (MIR)")
    a2.plot(nir_axis_nm, nir, color="k", lw=0.8)
    a2.set(xlabel="Wavelength (nm)", ylabel="NIR absorbance log$_{10}$(1/R)", title="Overtones and combinations (NIR)")
    cmap = plt.get_cmap("tab20")
    for i, row in enumerate(bands.itertuples(index=False)):
        c = cmap(i % 20)
        a1.axvline(row.mir_cm1, color=c, lw=1, alpha=0.8, label=row.group)
        if np.isfinite(getattr(row, "nir_nm", np.nan)):
            a2.axvline(row.nir_nm, color=c, lw=1, alpha=0.8, ls="--")
    a1.legend(frameon=False, ncol=3, loc="upper left", fontsize=6)
    fig.tight_layout()
    return fig


def fig2_strategies():
    """Fig. 2: the three training stages and seven strategies, drawn as boxes and arrows."""
    use_style()
    fig, ax = plt.subplots(figsize=(18 * CM, 10 * CM))
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)

    def box(x, y, text, color, w=1.8, h=0.7):
        ax.add_patch(plt.Rectangle((x - w / 2, y - h / 2), w, h, fc=color, ec="k", lw=0.6))
        ax.text(x, y, text, ha="center", va="center", fontsize=6.5)

    def arrow(x0, y0, x1, y1, style="-|>", color="k", ls="-"):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle=style, color=color, lw=0.8, ls=ls, shrinkA=2, shrinkB=2))

    ax.text(0.2, 5.7, "Stage 1: self-supervised MIR VAE (KSSL scans + repeats)", fontsize=7.5, weight="bold")
    box(1.2, 5.0, "MIR spectrum\n1,701 ch, SNV", "#dbe8fb")
    box(3.4, 5.0, "MIR encoder\n$\\mathcal{F}_1^{ENC}$", "#c6dbef")
    box(5.4, 5.0, "latent z\n(32-d)", "#b8f0f5")
    box(7.4, 5.0, "MIR decoder\n$\\mathcal{F}_1^{DEC}$", "#c6dbef")
    box(9.2, 5.0, "MIR\nreconstruction", "#dbe8fb", w=1.4)
    for x0, x1 in ((2.1, 2.5), (4.3, 4.5), (6.3, 6.5), (8.3, 8.5)):
        arrow(x0, 5.0, x1, 5.0)
    ax.text(0.2, 3.75, "Stage 2: multi-fidelity NIR -> MIR (Paired set), MIR decoder frozen", fontsize=7.5, weight="bold")
    box(1.2, 3.2, "NIR spectrum\n1400-2500 nm, SNV", "#fdf0c4")
    box(3.4, 3.2, "NIR encoder\n$\\mathcal{F}_2^{ENC}$", "#fce39a")
    box(5.4, 3.2, "latent z$_{NIR}$", "#b8f0f5")
    box(7.4, 3.2, "frozen MIR decoder\n(loss in MIR space)", "#e0e0e0")
    box(7.4, 2.3, "aux. NIR decoder $\\mathcal{F}_3^{DEC}$\nweight $\\alpha_t$: 1 -> 0", "#fdf0c4", w=2.2)
    for x0, x1 in ((2.1, 2.5), (4.3, 4.5), (6.3, 6.5)):
        arrow(x0, 3.2, x1, 3.2)
    arrow(6.0, 3.0, 6.3, 2.4)
    arrow(7.4, 4.65, 7.4, 3.55, ls="--", color="gray")
    ax.text(7.55, 4.1, "weights copied, frozen", fontsize=6, color="gray")
    ax.text(0.2, 1.55, "Stage 3: regression of 9 properties (PLSR / MLP), evaluated on the independent test set",
            fontsize=7.5, weight="bold")
    for i, s in enumerate(STRATEGIES):
        x = 0.75 + i * 1.42
        box(x, 0.7, f"{s.replace('-', chr(10), 1) if len(s) > 11 else s}\n[{SHORT_INPUT[s]}]", COLORS[s], w=1.36, h=0.9)
    return fig
