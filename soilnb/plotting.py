"""One style, one way to save, and the paper's figures as functions of arrays and tables.

Notebooks call these; nothing here computes statistics. Every figure is written as PNG and PDF
under :func:`soilnb.paths.figures_dir` with a stable name and no timestamp in the metadata, so reruns
with the same inputs give the same figure and table files; only the folder's ``manifest.json`` (which
run wrote each file, and when) changes.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import __version__, paths  # noqa: E402
from .strategies import STRATEGIES  # noqa: E402

CM = 1 / 2.54
STYLE = {
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
    "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.spines.top": False,
    "axes.spines.right": False, "savefig.bbox": "tight", "axes.grid": False, "image.cmap": "viridis",
}
#: Strategy order and colour by the input the final regressor sees (paper Figs 5-6: blue MIR
#: spectra, cyan latent embeddings, yellow NIR); conversions are hatched to mark NIR-derived inputs.
INPUT_OF = {"MIR-PLSR": "MIR spectra", "MIR-MLP": "MIR spectra", "MIR-SSL-MLP": "latent embeddings",
            "NIR-PLSR": "NIR spectra", "NIR-MLP": "NIR spectra", "NIRtoMIR-MLP": "MIR spectra (from NIR)",
            "NIRtoMIR-SSL-MLP": "latent embeddings (from NIR)"}
COLORS = {"MIR-PLSR": "#1f4e9c", "MIR-MLP": "#3b75d0", "MIR-SSL-MLP": "#17becf", "NIR-PLSR": "#d4a017",
          "NIR-MLP": "#f2c12e", "NIRtoMIR-MLP": "#6f9be0", "NIRtoMIR-SSL-MLP": "#7fdbe6"}
SHORT_INPUT = {"MIR-PLSR": "MIR", "MIR-MLP": "MIR", "MIR-SSL-MLP": "MIR latent", "NIR-PLSR": "NIR", "NIR-MLP": "NIR",
               "NIRtoMIR-MLP": "NIR->MIR", "NIRtoMIR-SSL-MLP": "NIR->latent"}
HATCH = {s: ("//" if s.startswith("NIRtoMIR") else "") for s in STRATEGIES}


def use_style():
    plt.rcParams.update(STYLE)


def _record(folder: Path, files) -> None:
    """Note in ``<folder>/manifest.json`` which run (profile, sizes, seed) wrote each file, so outputs
    of different runs in one folder (e.g. after ``run_all.sh --only``) can be told apart."""
    manifest = folder / "manifest.json"
    try:
        entries = json.loads(manifest.read_text()) if manifest.exists() else {}
    except json.JSONDecodeError:                   # keep the damaged file for inspection, start a new one
        os.replace(manifest, manifest.with_suffix(".json.corrupt"))
        entries = {}
    run = {**paths.ACTIVE_RUN, "soilnb": __version__, "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    entries.update({Path(f).name: run for f in files})
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(dict(sorted(entries.items())), indent=1))
    os.replace(tmp, manifest)


def savefig(fig, name: str, folder=None) -> list[Path]:
    """Write ``<figures>/<name>.png`` and ``.pdf`` (no timestamps) and close the figure.

    ``<figures>`` is :func:`soilnb.paths.figures_dir` (``figures/`` for the default profile,
    ``figures/<profile>/`` otherwise) unless ``folder`` is given; ``manifest.json`` there records the run.
    """
    folder = paths.ensure(Path(folder) if folder else paths.figures_dir())
    out = [folder / f"{name}.png", folder / f"{name}.pdf"]
    fig.savefig(out[0], metadata={"Software": None})
    fig.savefig(out[1], metadata={"CreationDate": None, "ModDate": None, "Producer": None})
    plt.close(fig)
    _record(folder, out)
    return out


def save_table(df: pd.DataFrame, name: str, folder=None, float_format="%.4g") -> Path:
    """Write ``<figures>/<name>.csv`` (the folder as in :func:`savefig`)."""
    folder = paths.ensure(Path(folder) if folder else paths.figures_dir())
    path = folder / f"{name}.csv"
    df.to_csv(path, index=False, float_format=float_format)
    _record(folder, [path])
    return path


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


# ---------------------------------------------------------------------------------- VAE
def training_curves(histories: dict, keys=("train_loss", "val_loss"), logy=True):
    use_style()
    fig, ax = plt.subplots(figsize=(12 * CM, 6 * CM))
    for name, h in histories.items():
        for k, ls in zip(keys, ("-", "--", ":")):
            if k in h:
                ax.plot(h["epoch"], h[k], ls=ls, label=f"{name} {k}")
    ax.set(xlabel="epoch", ylabel="loss")
    if logy:
        ax.set_yscale("log")
    ax.legend(frameon=False)
    return fig


def fig3_latent(Z, xi, bin_centers, max_features=32):
    """Fig. 3: densities of each latent feature (left) and the Xi map feature x 25 cm-1 bin (right)."""
    from scipy.stats import gaussian_kde

    use_style()
    k = min(Z.shape[1], max_features)
    fig = plt.figure(figsize=(18 * CM, 13 * CM))
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 2.2], wspace=0.25)
    a1 = fig.add_subplot(gs[0])
    # one shared value axis, as in the paper's panel, so the features' "diverse numerical ranges" (Sect. 3.1)
    # show; each density is scaled to a common height, and the 0.5-99.5 % range of each feature is drawn
    for j in range(k):
        z = Z[:, j]
        lo, hi = np.percentile(z, [0.5, 99.5])
        grid = np.linspace(lo, hi, 200)
        dens = gaussian_kde(z[(z >= lo) & (z <= hi)])(grid) if np.ptp(z) > 0 else np.zeros_like(grid)
        dens = dens / (dens.max() + 1e-12) * 0.9
        a1.fill_between(grid, k - 1 - j, k - 1 - j + dens, color=plt.cm.viridis(j / k), alpha=0.8, lw=0.3)
    a1.set_yticks(np.arange(k) + 0.3, [str(k - j) for j in range(k)])
    a1.set(xlabel="latent feature value", ylabel="latent feature", title="Latent PDFs")
    a2 = fig.add_subplot(gs[1])
    centers = np.asarray(bin_centers, dtype=float)
    half = (centers[1] - centers[0]) / 2 if len(centers) > 1 else 12.5
    im = a2.imshow(xi[:k], aspect="auto", cmap="magma", origin="upper", vmin=0,  # extent = bin edges
                   extent=(centers[0] - half, centers[-1] + half, k + 0.5, 0.5))
    a2.invert_xaxis()
    a2.set(xlabel="Wavenumber (cm$^{-1}$), 25 cm$^{-1}$ bins", ylabel="latent feature", title="Xi correlation")
    fig.colorbar(im, ax=a2, fraction=0.04, label="$\\xi$")
    return fig


# ---------------------------------------------------------------------------------- NIR -> MIR
def fig4_conversion(axis, mir_true, mir_pred, title="independent test set"):
    """Fig. 4: observed vs predicted MIR (top) and mean +- sd of predicted - observed (bottom)."""
    use_style()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(17 * CM, 11 * CM), sharex=True,
                                 gridspec_kw={"height_ratios": [2, 1]})
    for x in mir_true:
        a1.plot(axis, x, color="tab:blue", lw=0.3, alpha=0.3)
    for x in mir_pred:
        a1.plot(axis, x, color="tab:orange", lw=0.3, alpha=0.3)
    a1.plot([], [], color="tab:blue", label="observed MIR")
    a1.plot([], [], color="tab:orange", label="predicted MIR (from NIR)")
    a1.legend(frameon=False)
    a1.set(ylabel="SNV absorbance", title=f"{title} (n={len(mir_true)})")
    d = mir_pred - mir_true
    m, s = d.mean(0), d.std(0)
    a2.plot(axis, m, color="k", lw=0.8, label="mean difference")
    a2.fill_between(axis, m - s, m + s, color="gray", alpha=0.35, lw=0, label="$\\pm$ 1 sd")
    a2.axhline(0, color="k", lw=0.4)
    a2.set(xlabel="Wavenumber (cm$^{-1}$)", ylabel="predicted - observed")
    a2.legend(frameon=False)
    a2.invert_xaxis()
    return fig


def error_by_wavenumber(axis, curves: dict, ylabel="RMSE (SNV units)"):
    use_style()
    fig, ax = plt.subplots(figsize=(16 * CM, 5.5 * CM))
    for label, y in curves.items():
        ax.plot(axis, y, lw=0.9, label=label)
    ax.invert_xaxis()
    ax.set(xlabel="Wavenumber (cm$^{-1}$)", ylabel=ylabel)
    ax.legend(frameon=False)
    return fig


# ---------------------------------------------------------------------------------- regression
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
    """One panel per metric; bars of each ``hue`` value grouped by ``by`` (Figs 8 and C.9)."""
    use_style()
    groups = list(dict.fromkeys(table[by]))
    hues = list(dict.fromkeys(table[hue]))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(9, 1.9 * len(groups)) * CM, 5.5 * len(metrics) * CM),
                             sharex=True, squeeze=False)
    w = 0.8 / len(hues)
    for ax, metric in zip(axes[:, 0], metrics):
        for i, h in enumerate(hues):
            sub = table[table[hue] == h].set_index(by).reindex(groups)
            x = np.arange(len(groups)) + (i - (len(hues) - 1) / 2) * w
            ax.bar(x, sub[metric], width=w, ec="k", lw=0.3, label=h, color=(colors or {}).get(h, f"C{i}"))
        ax.axhline({"ccc": 0.7, "rpiq": 2.0}.get(metric, np.nan), color="k", lw=0.7, ls="--")
        ax.set_ylabel(metric.upper())
    axes[-1, 0].set_xticks(np.arange(len(groups)), groups)
    axes[0, 0].set_title(title, pad=22)
    axes[0, 0].legend(frameon=False, fontsize=6, ncol=len(hues), loc="lower center", bbox_to_anchor=(0.5, 1.0))
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
