"""Scoring NIR -> MIR conversions, and the direct PLS2 baseline the paper lacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.stats.pls import PLSR, OneOrManyTargets


def spectral_correlation(observed, predicted) -> np.ndarray:
    """Pearson correlation between each observed spectrum and its prediction, shape (n,)."""
    a = np.asarray(observed, np.float64)
    b = np.asarray(predicted, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"observed {a.shape} and predicted {b.shape} spectra differ in shape")
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    norm = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    if (norm == 0).any():
        raise ValueError(f"constant spectrum at row(s) {np.flatnonzero(norm == 0)[:5].tolist()}: correlation undefined")
    return (a * b).sum(1) / norm


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


class PLS2Converter(OneOrManyTargets, RegressorMixin, BaseEstimator):
    """Direct cross-range conversion NIR -> MIR by one multi-target PLS regression (PLS2).

    The MIR targets are first compressed to their leading ``n_target_components`` principal
    components (SNV MIR spectra are highly collinear: 64 components keep > 99.9 % of their
    variance), the PLS2 model predicts those scores, and the scores are mapped back to the 1,701
    channels. This is mathematically a PLS2 on the PCA-filtered spectra and avoids the
    1,701 x 1,701 eigen-decompositions IKPLS would need per component. The number of PLS
    components is chosen by grouped K-fold CV (see :class:`soilnb.stats.pls.PLSR`).

    Parameters
    ----------
    max_components, cv, random_state
        Passed to :class:`~soilnb.stats.pls.PLSR`.
    n_target_components : int
        Number of leading principal components of the targets kept (capped by their rank bound
        ``min(n_samples, n_channels)``).

    Attributes
    ----------
    y_mean_ : ndarray of shape (n_channels,)
    loadings_ : ndarray of shape (n_kept, n_channels)
    pls_ : PLSR
    n_components_ : int
    n_features_in_ : int

    Notes
    -----
    A 1-D target is treated as a single channel and predicted as 1-D. Predictions are float32,
    the precision of the MIR spectra they stand for.
    """

    def __init__(self, max_components: int = 30, n_target_components: int = 64, cv: int = 5, random_state=None):
        self.max_components = max_components
        self.n_target_components = n_target_components
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, Y, groups=None):
        """Fit on NIR spectra ``X`` (n, p) and MIR spectra ``Y`` (n, q) or (n,); ``groups`` (n,) groups the CV."""
        if not (isinstance(self.n_target_components, (int, np.integer)) and self.n_target_components >= 1):
            raise ValueError(f"n_target_components must be a positive int, got {self.n_target_components!r}")
        X, Y = self._validate_xy(X, Y)
        self.y_mean_ = Y.mean(0)
        _, _, vt = np.linalg.svd(Y - self.y_mean_, full_matrices=False)
        self.loadings_ = vt[: min(self.n_target_components, len(vt))]
        scores = (Y - self.y_mean_) @ self.loadings_.T
        self.pls_ = PLSR(max_components=self.max_components, cv=self.cv, random_state=self.random_state)
        self.pls_.fit(X, scores, groups=groups)
        self.n_components_ = self.pls_.n_components_
        return self

    def predict(self, X):
        """Predicted MIR spectra, float32 of shape (n, q) (or (n,) when fitted on a 1-D target)."""
        check_is_fitted(self, "pls_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = self.pls_.predict(X)
        Y = (scores @ self.loadings_ + self.y_mean_).astype(np.float32)
        return self._as_fitted(Y)
