"""A loaded bundle checked against itself: every array the right shape for the grids, heads and models it describes.

The manifest's hashes prove the files are the ones written, not that they fit one another: a bundle whose arrays
were edited and re-hashed loaded, and ``soilnb predict`` then failed with an internal error or blamed the input
file. :func:`check_consistency` runs on every :func:`~soilnb.apply.bundle.load_bundle` and names the part that does
not fit, as a :class:`~soilnb.apply.defaults.BundleError`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from soilnb.apply.defaults import BundleError


def check_consistency(b, where: str) -> None:
    """Raise a BundleError naming the first part of bundle ``b`` (read from ``where``) that does not fit."""
    for rng, g in b.grids.items():
        g = np.asarray(g)
        if g.ndim != 1 or g.size < 2 or not np.isfinite(g).all() or not (np.all(np.diff(g) > 0)
                                                                           or np.all(np.diff(g) < 0)):
            raise BundleError(f"{where}: the {rng} grid is not a monotone axis of finite positions (shape {g.shape})")
    latent = _latent_dim(b, where)
    for s, (rng, feats, head) in b.strategies.items():
        if rng not in b.grids:
            raise BundleError(f"{where}: strategy {s} reads the {rng} range, which has no grid")
        n = {"spectra": b.grids[rng].size, "converted": b.grids.get("MIR", np.empty(0)).size,
             "latent": latent.get(rng)}.get(feats)
        if n is None:
            raise BundleError(f"{where}: strategy {s} reads {feats} of {rng}, which this bundle cannot compute")
        h = b.heads[head]
        _check_head(h, head, where)
        if h.n_features != n:
            raise BundleError(f"{where}: head {head} reads {h.n_features} features, but strategy {s} gives it {n} "
                              f"({feats} of the {rng} range): its arrays do not fit bundle.json")
        pred = _dry_run(h, head, n, where)
        cal = b.calibration[s]
        missing = [p for p in cal.properties if p not in pred.columns]
        if missing:
            raise BundleError(f"{where}: the calibration of {s} holds {', '.join(missing)}, which head {head} does "
                              f"not predict ({', '.join(map(str, pred.columns))})")
        try:
            cal.intervals(pred[list(cal.properties)])
        except (ValueError, IndexError, KeyError) as exc:
            raise BundleError(f"{where}: the calibration of {s} does not fit its head ({exc})") from None
    for rng, det in b.shift.items():
        m, d = det.mahalanobis_, latent.get(rng)
        shapes = {k: np.shape(getattr(m, k)) for k in ("median_", "iqr_", "covariance_", "precision_")}
        if d is None or shapes != {"median_": (d,), "iqr_": (d,), "covariance_": (d, d), "precision_": (d, d)}:
            raise BundleError(f"{where}: the {rng} shift reference has arrays of shapes {shapes}, not those of a "
                              f"{d}-dimensional latent space")
    for rng, ref in b.novelty.items():
        if np.ndim(ref.scores) != 1 or not np.isfinite(ref.scores).all():
            raise BundleError(f"{where}: the {rng} novelty reference scores are not one finite vector")


def _latent_dim(b, where: str) -> dict:
    """``{range: latent size}`` of the models, after checking their inputs against the grids."""
    out = {}
    for rng, model, what in (("MIR", b.vae, "the VAE"), ("NIR", b.n2m, "the NIR encoder")):
        if model is None:
            continue
        if rng in b.grids and model.n_in != b.grids[rng].size:
            raise BundleError(f"{where}: {what} reads {model.n_in} {rng} channels, the {rng} grid has "
                              f"{b.grids[rng].size}")
        out[rng] = int(model.latent_dim)
    return out


def _check_head(h, name: str, where: str) -> None:
    if h.kind == "pls":
        if h.coef.ndim != 2 or h.intercept.shape != (h.coef.shape[0],):
            raise BundleError(f"{where}: head {name}: coef {h.coef.shape} and intercept {h.intercept.shape} do not "
                              "fit (n_outputs, n_features) and (n_outputs,)")
        return
    width = h.weights[0].shape[1] if h.weights and h.weights[0].ndim == 2 else None
    for i, (W, bias) in enumerate(zip(h.weights, h.biases)):
        if W.ndim != 2 or W.shape[1] != width or bias.shape != (W.shape[0],):
            raise BundleError(f"{where}: head {name}: layer {i} has weight {W.shape} and bias {bias.shape}, "
                              f"after a layer of {width} outputs")
        width = W.shape[0]
    n_in = h.weights[0].shape[1]
    if h.x_mean.shape != (n_in,) or h.x_scale.shape != (n_in,) or h.y_mean.shape != (width,) \
            or h.y_scale.shape != (width,):
        raise BundleError(f"{where}: head {name}: standardisation arrays x {h.x_mean.shape}/{h.x_scale.shape}, "
                          f"y {h.y_mean.shape}/{h.y_scale.shape} do not fit {n_in} inputs and {width} outputs")


def _dry_run(h, name: str, n: int, where: str) -> pd.DataFrame:
    """The head's prediction of one row of zeros (its targets' inverse transform included)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return h.predict(np.zeros((1, n)))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise BundleError(f"{where}: head {name} does not fit its target transform ({exc})") from None
