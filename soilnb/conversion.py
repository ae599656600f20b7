"""Scoring NIR -> MIR conversions, and the direct PLS2 baseline the paper lacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from .pls import PLSR


def spectral_correlation(observed, predicted) -> np.ndarray:
    """Pearson correlation between each observed spectrum and its prediction, shape (n,)."""
    a = np.asarray(observed, np.float64)
    b = np.asarray(predicted, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"observed {a.shape} and predicted {b.shape} spectra differ in shape")
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def rmse_by_channel(observed, predicted) -> np.ndarray:
    """RMSE across samples at each channel, shape (p,)."""
    d = np.asarray(predicted, np.float64) - np.asarray(observed, np.float64)
    return np.sqrt((d * d).mean(0))


def conversion_scores(observed, predicted) -> dict:
    """Overall RMSE (all samples and channels) and mean per-sample spectral correlation."""
    d = np.asarray(predicted, np.float64) - np.asarray(observed, np.float64)
    return {"rmse": float(np.sqrt((d * d).mean())), "mean_corr": float(spectral_correlation(observed, predicted).mean())}


def conversion_table(conv: dict) -> pd.DataFrame:
    """One row per method and dataset from ``{dataset: {"observed": X, method: X_hat, ...}}``."""
    rows = []
    for dataset, d in conv.items():
        for method, pred in d.items():
            if method in ("observed", "latent"):
                continue
            rows.append({"method": method, "dataset": dataset, "n": len(pred),
                         **conversion_scores(d["observed"], pred)})
    return pd.DataFrame(rows, columns=["method", "dataset", "n", "rmse", "mean_corr"])


class PLS2Converter(RegressorMixin, BaseEstimator):
    """Direct cross-range conversion: one multi-target PLS regression from NIR to every MIR channel.

    The number of components is chosen by grouped K-fold CV on the standardised MIR channels
    (see :class:`soilnb.pls.PLSR`).
    """

    def __init__(self, max_components: int = 30, cv: int = 5, random_state=None):
        self.max_components = max_components
        self.cv = cv
        self.random_state = random_state

    def fit(self, X_nir, X_mir, groups=None):
        self.pls_ = PLSR(max_components=self.max_components, cv=self.cv, random_state=self.random_state)
        self.pls_.fit(np.asarray(X_nir, np.float64), np.asarray(X_mir, np.float64), groups=groups)
        self.n_components_ = self.pls_.n_components_
        return self

    def predict(self, X_nir):
        return self.pls_.predict(np.asarray(X_nir, np.float64)).astype(np.float32)
