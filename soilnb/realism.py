"""How realistic are simulated spectra? A classifier two-sample test against real spectra.

:func:`realism_auc` is a classifier two-sample test (Lopez-Paz & Oquab 2017, arXiv:1610.06545):
after SNV (Barnes et al. 1989, doi:10.1366/0003702894202201) and a PCA fitted on the pooled spectra,
a logistic regression tries to tell real from simulated rows; its cross-validated ROC AUC is 0.5 when
the two sets are indistinguishable (in that representation) and 1.0 when they are perfectly separable.
"""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .preprocess import snv


def _check(X, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_spectra, n_channels), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or inf")
    return X


def realism_auc(real_X, sim_X, n_components=10, cv=5, seed=0) -> float:
    """Cross-validated ROC AUC of a logistic regression telling real from simulated spectra.

    Parameters
    ----------
    real_X, sim_X : ndarray of shape (n_real, n_channels), (n_sim, n_channels)
        Spectra on the same axis (e.g. averaged KSSL MIR absorbance).
    n_components : int
        PCA components fitted on the pooled SNV spectra (all of them are used by the classifier).
    cv : int
        Stratified folds.
    seed : int
        Subsampling of the larger set to the size of the smaller, and fold assignment.

    Returns
    -------
    float
        AUC in [0, 1]; 0.5 = indistinguishable.
    """
    real_X, sim_X = _check(real_X, "real_X"), _check(sim_X, "sim_X")
    if real_X.shape[1] != sim_X.shape[1]:
        raise ValueError(f"real_X has {real_X.shape[1]} channels but sim_X has {sim_X.shape[1]}")
    n = min(len(real_X), len(sim_X))
    if n < 2 * cv:
        raise ValueError(f"need at least {2 * cv} spectra in each set for {cv}-fold CV, got {n}")
    rng = np.random.default_rng(seed)
    real_X = real_X[np.sort(rng.choice(len(real_X), n, replace=False))]
    sim_X = sim_X[np.sort(rng.choice(len(sim_X), n, replace=False))]
    Z = PCA(n_components=n_components, random_state=seed).fit_transform(snv(np.vstack([real_X, sim_X])))
    y = np.r_[np.ones(n), np.zeros(n)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, Z, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def mean_sd_spectra(X) -> tuple[np.ndarray, np.ndarray]:
    """Channel-wise mean and standard deviation (ddof=1) of a set of spectra, for overlay plots.

    Parameters
    ----------
    X : ndarray of shape (n_spectra, n_channels)

    Returns
    -------
    mean, sd : ndarrays of shape (n_channels,)
    """
    X = _check(X, "X")
    if len(X) < 2:
        raise ValueError("mean_sd_spectra needs at least 2 spectra")
    return X.mean(axis=0), X.std(axis=0, ddof=1)


def load_real_kssl_toy(folder=None) -> tuple[np.ndarray, np.ndarray]:
    """The 500 real averaged KSSL MIR spectra of the shared toy file (never copied into the repo).

    Parameters
    ----------
    folder : path, optional
        Folder holding ``kssl_mir_toy/toy_kssl_mir.csv.gz`` (default :data:`soilnb.paths.REAL`).

    Returns
    -------
    X : ndarray of shape (500, 1701), absorbance; axis : ndarray of shape (1701,), cm-1 increasing
    """
    import pandas as pd

    from .paths import REAL

    path = (REAL if folder is None else folder) / "kssl_mir_toy" / "toy_kssl_mir.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"real KSSL toy file not found: {path}")
    d = pd.read_csv(path)
    cols = [c for c in d.columns if c.isdigit()]
    axis = np.array(cols, float)
    order = np.argsort(axis)
    return d[cols].to_numpy(float)[:, order], axis[order]
