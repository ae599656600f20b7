"""The latent space as results (Sect. 3.1 and 3.2): activity per dimension, the latent-size table,
the Xi map of Fig. 3, reconstructions of validation scans and the NIR/MIR latent alignment.

Each function computes what one notebook table or figure shows; :mod:`soilnb.report` draws it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilnb.core.config import Config
from soilnb.models.inference import embed
from soilnb.models.latent import latent_activity, latent_alignment
from soilnb.stages.features import Features
from soilnb.stages.training import get_vaes, reconstruct, reconstruction_scores
from soilnb.stats.xi import bin_spectra, xi_matrix


def activity_table(cfg: Config, F: Features, vae) -> pd.DataFrame:
    """Per latent dimension: sd, Burda's active units, KL, decoder sensitivity, in use (notebook 02)."""
    return latent_activity(vae, F.kssl, seed=cfg.seed)


def validation_scans(F: Features, history: dict) -> np.ndarray:
    """The VAE's validation scans: the rows of its grouped split, as returned by the training."""
    return F.kssl_scans[np.asarray(history["val_idx"], dtype=np.int64)]


def latent_size_table(cfg: Config, F: Features, vae, history: dict, activity: pd.DataFrame):
    """Reconstruction of the validation scans and dimensions in use per latent size (``cfg.latent_sizes``).

    Returns ``(table, seconds)``: the table holds results only (byte-identical across runs with one
    seed); ``seconds`` maps each latent size to its training wall time, for the run's manifest.
    """
    Xv = validation_scans(F, history)
    sizes = [int(v) for v in cfg.latent_sizes.split(",")]
    others = [s for s in sizes if s != cfg.latent_dim]
    trained = get_vaes(cfg, F, others) if others else {}    # the sizes not cached yet train at once
    rows, seconds = [], {}
    for size in sizes:
        if size == cfg.latent_dim:           # the model trained already, whose activity is measured
            model, h, act = vae, history, activity
        else:
            model, h = trained[size]
            act = latent_activity(model, F.kssl, seed=cfg.seed)
        rows.append({"latent_dim": size, **reconstruction_scores(model, Xv), "in_use": int(act["in_use"].sum()),
                     "best_epoch": h["best_epoch"]})
        seconds[f"latent {size}"] = round(sum(h["seconds"]), 1)
    return pd.DataFrame(rows), seconds


def reconstruction_examples(F: Features, vae, history: dict):
    """``(axis, X, X_hat)``: three validation scans (first, middle, last) and their reconstructions."""
    Xv = validation_scans(F, history)
    rows = [0, len(Xv) // 2, len(Xv) - 1]
    return F.mir_axis, Xv[rows], reconstruct(vae, Xv[rows])


@dataclass
class XiMap:
    """Fig. 3: the KSSL embeddings, their Xi correlation with the binned MIR, and each feature's peak."""

    Z: np.ndarray
    xi: np.ndarray
    centers: np.ndarray
    peaks: pd.DataFrame


def xi_map(F: Features, vae, width: float = 25.0) -> XiMap:
    """Embeddings of the KSSL MIR and their Xi map against spectra binned every ``width`` cm-1 (Sect. 2.5)."""
    Z = embed(vae, F.kssl)
    Xb, centers = bin_spectra(F.kssl, F.mir_axis, width=width)
    xi = xi_matrix(Z, Xb)
    peaks = pd.DataFrame({"feature": np.arange(1, Z.shape[1] + 1), "max_xi": xi.max(1).round(3),
                          "at_cm-1": centers[xi.argmax(1)]})
    return XiMap(Z, xi, centers, peaks)


def alignment_table(F: Features, vae, conv: dict) -> pd.DataFrame:
    """Per latent dimension and evaluation set: how close z_NIR comes to z_MIR (in KSSL sd units)."""
    z_kssl = embed(vae, F.kssl)
    return pd.concat([latent_alignment(conv[s]["latent"], embed(vae, conv[s]["observed"]), reference=z_kssl)
                      .assign(dataset=s) for s in ("validation", "test")], ignore_index=True)


def alignment_medians(alignment: pd.DataFrame) -> pd.DataFrame:
    """Median over latent dimensions of :func:`alignment_table`'s rmse_sd, R2 and CCC, per set."""
    return alignment.groupby("dataset", sort=False)[["rmse_sd", "r2", "ccc"]].median()
