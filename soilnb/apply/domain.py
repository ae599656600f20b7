"""Domain classifiers of a new batch against a strategy's calibration samples (scikit-learn, SciPy).

* :func:`shift_weights`: density ratios for weighted split-conformal intervals (Tibshirani et al. 2019);
* :func:`batch_shift_test`: a classifier two-sample test of the batch (Lopez-Paz and Oquab 2017).

Kept apart from :mod:`soilnb.apply.intervals` so that predicting imports scikit-learn and SciPy only when a
classifier is needed (``--weighted``, or a batch of :data:`soilnb.apply.support.MIN_BATCH` spectra or more):
``soilnb predict`` on a few files starts without them.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def shift_weights(z_cal, z_new, C: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(w_cal, w_new)``: density ratios ``dP_new / dP_cal`` at the calibration rows and the new rows, from a
    domain classifier: logistic regression (L2, ``C``) on the standardised features, calibration labelled 0 and
    the new batch 1, ``w(x) = p(x) / (1 - p(x)) * n_cal / n_new`` (Tibshirani et al. 2019, Sect. 4)."""
    z_cal, z_new = np.asarray(z_cal, np.float64), np.asarray(z_new, np.float64)
    Z = np.vstack([z_cal, z_new])
    y = np.r_[np.zeros(len(z_cal)), np.ones(len(z_new))]
    sc = StandardScaler().fit(Z)
    clf = LogisticRegression(C=C, max_iter=1000).fit(sc.transform(Z), y)
    logit = clf.decision_function(sc.transform(Z)) + math.log(len(z_cal) / len(z_new))
    w = np.exp(np.clip(logit, -700, 700))
    return w[:len(z_cal)], w[len(z_cal):]


def batch_shift_test(z_cal, z_new, n_folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """``(auc, p)``: a classifier two-sample test of a new batch against the calibration samples (Lopez-Paz and
    Oquab 2017) -- logistic regression on standardised features, calibration labelled 0 and the batch 1, scored
    out of fold (stratified ``n_folds``-fold); the AUC of those scores and the one-sided Mann-Whitney p-value of
    the batch's scores above the calibration samples'. Exchangeable data give an AUC about 0.5."""
    z_cal, z_new = np.asarray(z_cal, np.float64), np.asarray(z_new, np.float64)
    Z, y = np.vstack([z_cal, z_new]), np.r_[np.zeros(len(z_cal)), np.ones(len(z_new))]
    folds = StratifiedKFold(min(n_folds, len(z_cal), len(z_new)), shuffle=True, random_state=seed)
    s = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), Z, y, cv=folds,
                          method="decision_function")
    return float(roc_auc_score(y, s)), float(mannwhitneyu(s[y == 1], s[y == 0], alternative="greater").pvalue)
