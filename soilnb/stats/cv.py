"""Repeated grouped K-fold cross-validation (paper Sect. 3.4, Fig. 7: "10-fold CV repeated 10 times").

* :class:`RepeatedGroupKFold`: scikit-learn splitter; every repeat assigns the groups (sample
  ids) to folds by a fresh random permutation, so scans of one sample never straddle
  train and test.
* :func:`repeated_cv_pls`: the PLSR internal-performance background of Fig. 7, fast enough for
  10 x 10 folds on ~2,000 spectra x 1,701 channels in well under a minute on 2 cores.

How :func:`repeated_cv_pls` stays fast (and nested)
----------------------------------------------------
Per repeat it computes the per-fold cross products ``G_f = X_f^T X_f`` once. The training
Gram matrix of any union of folds is then a sum of those (centring applied implicitly, see
:func:`soilnb.stats.pls.pls1_from_gram`), so a PLS fit costs ``n_components`` products
``(K, K) @ (K, m)`` and no pass over the data.

* Model: one **PLS1 per target column** (one model per property, the usual PLSR practice in
  soil spectroscopy), X centred, not scaled.
* Number of components: chosen **inside each outer fold, per target**, by an inner
  cross-validation on the outer training set whose inner folds are built from the other
  ``n_splits - 1`` outer folds (default: dealt into 3 inner folds; ``inner_splits=None`` for
  leave-one-fold-out); rule: minimum inner RMSE. The test fold never influences its own
  component choice. Cost per outer fold: ``inner_splits + 1`` fits.
"""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from soilnb.core.cpus import available_cpus
from soilnb.stats.metrics import regression_metrics
from soilnb.stats.pls import pls1_from_gram


class RepeatedGroupKFold:
    """Group K-fold repeated ``n_repeats`` times with a different random group-to-fold assignment.

    Within a repeat the unique groups are shuffled and dealt round-robin to the folds, so every
    fold gets ``floor`` or ``ceil`` of ``n_groups / n_splits`` groups and every sample is in
    exactly one test fold per repeat.

    Parameters
    ----------
    n_splits : int, default 10
    n_repeats : int, default 10
    random_state : int, RandomState or None
    """

    def __init__(self, n_splits: int = 10, n_repeats: int = 10, random_state=None):
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits * self.n_repeats

    def fold_labels(self, groups) -> np.ndarray:
        """Test-fold label of every sample for every repeat, shape (n_repeats, n)."""
        if groups is None:
            raise ValueError("groups is required (one sample id per row)")
        if not (isinstance(self.n_splits, (int, np.integer)) and self.n_splits >= 2):
            raise ValueError(f"n_splits must be an int >= 2, got {self.n_splits!r}")
        if not (isinstance(self.n_repeats, (int, np.integer)) and self.n_repeats >= 1):
            raise ValueError(f"n_repeats must be a positive int, got {self.n_repeats!r}")
        _, inverse = np.unique(np.asarray(groups), return_inverse=True)
        inverse = inverse.ravel()
        n_groups = inverse.max() + 1
        if n_groups < self.n_splits:
            raise ValueError(f"cannot make {self.n_splits} folds from {n_groups} groups")
        rng = check_random_state(self.random_state)
        labels = np.empty((self.n_repeats, inverse.size), dtype=int)
        for r in range(self.n_repeats):
            group_fold = np.empty(n_groups, dtype=int)
            group_fold[rng.permutation(n_groups)] = np.arange(n_groups) % self.n_splits
            labels[r] = group_fold[inverse]
        return labels

    def split(self, X, y=None, groups=None):
        """Yield ``(train_index, test_index)`` for every fold of every repeat."""
        labels = self.fold_labels(groups)
        if X is not None and len(X) != labels.shape[1]:
            raise ValueError(f"X has {len(X)} rows, groups has {labels.shape[1]}")
        for lab in labels:
            for f in range(self.n_splits):
                yield np.flatnonzero(lab != f), np.flatnonzero(lab == f)


def _inner_groups(n_splits: int, i: int, inner_splits: int) -> list[list[int]]:
    """The outer folds other than ``i``, dealt in order into ``inner_splits`` inner folds."""
    others = [f for f in range(n_splits) if f != i]
    return [others[g::inner_splits] for g in range(inner_splits)]


def _pick_components(Xc, T, fold, G, G_mi, xs, ts, cnt, H, i, A, inner_splits):
    """Per-target number of components for outer fold ``i`` by inner CV (minimum inner SSE)."""
    n_splits = len(G)
    sse = np.zeros((A, T.shape[1]))
    for val in _inner_groups(n_splits, i, inner_splits):
        keep = [f for f in range(n_splits) if f != i and f not in val]
        n = sum(cnt[f] for f in keep)
        x_sum = sum(xs[f] for f in keep)
        t_sum = sum(ts[f] for f in keep)
        XTX = G_mi - G[val[0]]
        for f in val[1:]:
            XTX -= G[f]
        B = pls1_from_gram(XTX, sum(H[f] for f in keep), A, x_sum, t_sum, n)
        rows = np.isin(fold, val)
        A_, K, m = B.shape
        flat = (Xc[rows] - x_sum / n) @ B.transpose(1, 0, 2).reshape(K, A_ * m)
        pred = flat.reshape(-1, A_, m) + t_sum / n                     # (n_val, A, m)
        sse += np.sum((pred - T[rows][:, None, :]) ** 2, axis=0)
    return np.argmin(sse, axis=0) + 1


def _n_threads(n_jobs, n_tasks: int) -> int:
    if n_jobs is None or n_jobs == -1:
        n_jobs = available_cpus()
    if not (isinstance(n_jobs, (int, np.integer)) and n_jobs >= 1):
        raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}")
    return int(max(1, min(n_jobs, n_tasks)))


def repeated_cv_pls(X, Y: pd.DataFrame, groups, n_splits: int = 10, n_repeats: int = 10,
                    max_components: int = 20, random_state=0, target_transform=None,
                    inner_splits: int | None = 3, n_jobs: int | None = -1) -> pd.DataFrame:
    """Nested, repeated, grouped K-fold CV of PLSR (one PLS1 per property).

    Parameters
    ----------
    X : ndarray of shape (n, K)
        Spectra (already preprocessed, e.g. SNV).
    Y : DataFrame of shape (n, n_properties)
        Properties (no NaN); metrics are reported per column on the original scale.
    groups : array-like of shape (n,)
        Sample id per row; rows of one group are always in the same fold.
    n_splits, n_repeats : int
    max_components : int
        Largest number of components considered by the inner CV.
    random_state : int, RandomState or None
        Seed of the fold assignment (:class:`RepeatedGroupKFold`).
    target_transform : object or None
        Optional transformer with ``fit(df)``, ``transform(df) -> ndarray`` and
        ``inverse_transform(ndarray) -> DataFrame`` (e.g. :class:`soilnb.stats.targets.TargetTransformer`).
        It is fitted on each outer training set; models are fitted on its outputs (one PLS1
        per output, components chosen per output) and predictions are mapped back before
        scoring. A fresh deep copy is fitted per outer fold (the argument is not modified).
    inner_splits : int or None
        Number of inner folds for the component choice (capped at n_splits - 1); the other
        ``n_splits - 1`` outer folds are dealt into them in order. ``None`` means
        leave-one-outer-fold-out (``n_splits - 1`` inner fits per outer fold, the most
        precise and ~2.5x slower than the default 3).
    n_jobs : int or None
        Threads running outer folds in parallel (-1 or None: all available cores). Results do
        not depend on it.

    Returns
    -------
    DataFrame with one row per (repeat, fold, property) and columns
    ``repeat, fold, property, n_test, rmse, me, r2, ccc, rpiq`` (``n_components`` too when no
    ``target_transform`` is used, since then each property has its own model).
    """
    X = np.asarray(X, dtype=float)
    if not isinstance(Y, pd.DataFrame):
        raise TypeError(f"Y must be a DataFrame of properties, got {type(Y).__name__}")
    if X.ndim != 2 or X.shape[0] != len(Y):
        raise ValueError(f"X must be 2-d with one row per row of Y; got {X.shape} and {len(Y)} rows")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    if Y.isna().to_numpy().any():
        raise ValueError(f"Y contains NaN in column(s) {list(Y.columns[Y.isna().any()])}")
    labels = RepeatedGroupKFold(n_splits, n_repeats, random_state).fold_labels(groups)
    if n_splits < 3:
        raise ValueError(f"nested CV needs n_splits >= 3, got {n_splits}")
    if not (inner_splits is None or (isinstance(inner_splits, (int, np.integer)) and inner_splits >= 2)):
        raise ValueError(f"inner_splits must be an int >= 2 or None, got {inner_splits!r}")
    inner = n_splits - 1 if inner_splits is None else min(int(inner_splits), n_splits - 1)
    if labels.shape[1] != X.shape[0]:
        raise ValueError(f"groups has {labels.shape[1]} entries, X has {X.shape[0]} rows")
    Xc = X - X.mean(axis=0)                          # global shift: numerics only, PLS re-centres per fold
    props = list(Y.columns)
    Yv = Y.to_numpy(dtype=float)
    n_threads = _n_threads(n_jobs, n_splits)
    rows = []
    for rep, fold in enumerate(labels):
        idx = [fold == f for f in range(n_splits)]
        parts = [Xc[m] for m in idx]
        G = [P.T @ P for P in parts]                  # the only passes over the data (BLAS syrk)
        del parts
        xs = [Xc[m].sum(axis=0) for m in idx]
        cnt = [int(m.sum()) for m in idx]
        G_tot = sum(G)
        largest = sorted(cnt, reverse=True)
        n_val_max = sum(largest[: 1 + -(-(n_splits - 1) // inner)])   # outer test + largest inner val
        A = int(min(max_components, X.shape[1], X.shape[0] - n_val_max - 1))
        if A < 1:
            raise ValueError(f"too few samples ({X.shape[0]}) for nested {n_splits}-fold CV")

        def outer_fold(i):
            test = idx[i]
            if target_transform is None:
                T, tt = Yv, None
            else:
                tt = copy.deepcopy(target_transform).fit(Y[~test])
                T = np.asarray(tt.transform(Y), dtype=float)
            H = [Xc[m].T @ T[m] for m in idx]
            ts = [T[m].sum(axis=0) for m in idx]
            G_mi = G_tot - G[i]
            a_best = _pick_components(Xc, T, fold, G, G_mi, xs, ts, cnt, H, i, A, inner)
            n = X.shape[0] - cnt[i]
            x_sum, t_sum = sum(xs) - xs[i], sum(ts) - ts[i]
            B = pls1_from_gram(G_mi, sum(H) - H[i], A, x_sum, t_sum, n)
            coef = B[a_best - 1, :, np.arange(T.shape[1])].T          # (K, m)
            pred = (Xc[test] - x_sum / n) @ coef + t_sum / n
            if tt is not None:
                pred = tt.inverse_transform(pred)[props].to_numpy(dtype=float)
            out = []
            for p, prop in enumerate(props):
                row = {"repeat": rep, "fold": i, "property": prop, "n_test": cnt[i]}
                if tt is None:
                    row["n_components"] = int(a_best[p])
                row.update(regression_metrics(Yv[test, p], pred[:, p]))
                out.append(row)
            return out

        # Fits are (K, K) @ (K, m) products: single-threaded BLAS, one outer fold per thread.
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
            for out in pool.map(outer_fold, range(n_splits)):
                rows.extend(out)
    return pd.DataFrame(rows)
