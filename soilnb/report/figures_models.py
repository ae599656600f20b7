"""Figures of the models (notebooks 02 and 03): training curves, reconstructions, Fig. 3's latent
densities and Xi map, Fig. 4's converted spectra and the conversion error by wavenumber."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import gaussian_kde

from soilnb.report.style import CM, use_style
from soilnb.stats.conversion import rmse_by_channel


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


def fig_reconstruction(axis, X, X_hat):
    """Validation scans (black) and their VAE reconstructions (orange), one panel each."""
    use_style()
    fig, axes = plt.subplots(len(X), 1, figsize=(16 * CM, 12 * CM), sharex=True, squeeze=False)
    for ax, x, x_hat in zip(axes[:, 0], X, X_hat):
        ax.plot(axis, x, "k", lw=0.8, label="original")
        ax.plot(axis, x_hat, "tab:orange", lw=0.8, label="reconstructed")
    axes[0, 0].legend(frameon=False)
    axes[-1, 0].invert_xaxis()
    axes[-1, 0].set_xlabel("Wavenumber (cm$^{-1}$)")
    return fig


def fig_conversion_errors(axis, conv: dict, methods=("frozen-decoder", "PLS2 baseline")):
    """RMSE per MIR channel of each conversion method on the Paired validation split and the test set."""
    curves = {f"{m} / {s}": rmse_by_channel(conv[s]["observed"], conv[s][m])
              for s in ("validation", "test") for m in methods}
    return error_by_wavenumber(axis, curves)
