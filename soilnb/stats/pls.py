"""Partial least squares regression (the paper's PLSR baseline) on top of ``ikpls``.

:class:`PLSR` wraps the NumPy Improved Kernel PLS of Dayal and MacGregor (1997),
doi:10.1002/(SICI)1099-128X(199701)11:1<73::AID-CEM435>3.0.CO;2-#, as implemented by
``ikpls`` (Engstrom et al. 2024, doi:10.21105/joss.06533), and picks the number of components
by K-fold cross-validation with ikpls's fast cross-validation (Engstrom 2024, arXiv:2401.13185),
which downdates ``X^T X`` / ``X^T Y`` per fold instead of refitting from scratch. The final fit on an ``X``
larger than the cache is :func:`ikpls1_one_pass`, ikpls's algorithm #1 rearranged to read ``X`` once per component.

:func:`pls1_from_gram` is a batched PLS1 (one independent PLS model per target column) that
works from the centred cross-product matrices only; :mod:`soilnb.stats.cv` uses it for fast repeated
cross-validation.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from ikpls.fast_cross_validation.numpy import PLS as FastCVPLS
from ikpls.numpy import PLS as IKPLS
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits


#: Held while ikpls's cross-validation runs with its output silenced: ``redirect_stdout`` and ``catch_warnings``
#: swap process-wide state, so two threads doing it at once (the transfer benchmark's draws) could leave
#: ``sys.stdout`` pointing at a discarded buffer, and every later print lost.
_QUIET = threading.Lock()


#: Rows of ``X`` per block of :func:`ikpls1_one_pass` (a block stays in the shared cache between its two products):
#: numpy lets other threads run during a matrix-vector product only when it yields more than 500 values, so the
#: two spans of rows read in parallel need blocks of at least that many rows. The spans are fixed, not one per
#: core, so the sums (and the fit, to the last bit) do not depend on the number of cores.
_BLOCK_ROWS, _SPANS = 512, 2
#: Size of ``X`` above which :class:`PLSR` fits with :func:`ikpls1_one_pass`, not ikpls's algorithm #1: below it
#: ``X`` stays in cache between ikpls's two reads (ikpls slightly faster at 2,016 x 1,701 on 2 cores).
_ONE_PASS_BYTES = 2**25
_BLAS_LOCK = threading.Lock()
_blas_users, _blas_limits = 0, None


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread for the block products: on a shared machine whose other core is busy, every threaded BLAS
    call waits for its second thread to be scheduled (measured: the fit 2x slower). The limit is process-wide, so
    concurrent fits share it: the first in sets it, the last out restores it (each saving and restoring its own
    could leave it at one thread for good)."""
    global _blas_users, _blas_limits
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_limits = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limits.restore_original_limits()


def ikpls1_one_pass(X, Y, n_components: int, scale: bool = False, ddof: int = 1):
    """IKPLS algorithm #1 (Dayal and MacGregor 1997) reading ``X`` once per component, never copied or centred.

    ikpls's own algorithm #1 centres a copy of ``X`` and then reads it twice per component (``t = X r``, then
    ``X^T t``); on a tall ``X`` far larger than the cache, the time goes into those reads, not into arithmetic.
    Here centring and scaling are folded into the weights, ``t = (X - 1 m^T) r = X r - (m^T r) 1``, and
    both products are taken on each block of rows while it is still in cache (two spans of rows in two threads:
    on 2 cores 1.25x faster when the second core is free, as fast when it is busy); the loading is corrected
    afterwards with ``X_c^T t = X^T t - m (1^T t)``. The steps, the weight of several targets (dominant
    eigenvector of ``XTY^T XTY``) and the stopping rules are those of ikpls's inner loop, so the coefficients
    agree with ikpls and scikit-learn to rounding.

    Parameters
    ----------
    X : ndarray of shape (n, K), float64
    Y : ndarray of shape (n, M), float64
    n_components : int
    scale : bool
        Scale X columns to unit standard deviation (``ddof``), as ikpls's ``scale_X``.

    Returns
    -------
    B : ndarray of shape (K, M)
        Coefficients of ``n_components`` components, mapping centred (and scaled) ``X`` to centred ``Y``.
    x_mean, y_mean, x_std : ndarray of shape (K,), (M,), (K,)
        ``x_std`` is ones when ``scale`` is False.
    """
    n, K = X.shape
    M = Y.shape[1]
    eps = np.finfo(np.float64).eps
    rows = _BLOCK_ROWS
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    x_std = np.ones(K)
    if scale:
        ss = sum(np.sum((X[s:s + rows] - x_mean) ** 2, axis=0) for s in range(0, n, rows))
        x_std = np.sqrt(ss / (n - ddof))
        x_std[x_std <= eps] = 1.0
    Yc = Y - y_mean
    B = np.zeros((K, M))
    RT, PT = np.zeros((n_components, K)), np.zeros((n_components, K))
    t = np.empty(n)
    max_tt = 0.0
    step = -(-n // _SPANS)
    spans = [(lo, min(lo + step, n)) for lo in range(0, n, step)]

    def span_loading(span, rs, shift):          # t = X_c r and X^T t on one span of rows, one read of X
        p = np.zeros(K)
        for s in range(span[0], span[1], rows):
            Xb = X[s:min(s + rows, span[1])]
            p += np.subtract(Xb @ rs, shift, out=t[s:s + Xb.shape[0]]) @ Xb
        return p

    with _one_blas_thread(), ThreadPoolExecutor(min(_SPANS, os.cpu_count() or 1)) as pool:
        XTY = (X.T @ Yc - np.outer(x_mean, Yc.sum(axis=0))) / x_std[:, None]
        for a in range(n_components):
            # step 2: weight w; stop once the X-Y covariance is exhausted (B then stays that of a components)
            if M < K:      # the dominant right singular vector of X^T Y (trivially 1 for one target)
                vec = np.ones(1) if M == 1 else np.linalg.eigh(XTY.T @ XTY)[1][:, -1]
                v = XTY @ vec
                norm = np.linalg.norm(v)
                if norm <= eps:
                    break
                w, c = v / norm, vec * norm                      # c: the Y loading q times t^T t
            else:
                vals, vecs = np.linalg.eigh(XTY @ XTY.T)
                if vals[-1] <= eps:
                    break
                w, c = vecs[:, -1], None
            r = w - RT[:a].T @ (PT[:a] @ w)                     # step 3: weight on the original X
            rs = r / x_std
            shift = x_mean @ rs
            p = sum(pool.map(span_loading, spans, [rs] * len(spans), [shift] * len(spans)))   # step 4
            tt = float(t @ t)
            max_tt = max(max_tt, tt)
            if tt <= eps * max_tt:                               # past the numerical rank of X
                break
            p = (p - x_mean * t.sum()) / (x_std * tt)
            q = (r @ XTY if c is None else c) / tt
            RT[a], PT[a] = r, p
            XTY = XTY - np.outer(p, q * tt)                     # step 5: deflate X^T Y
            B += np.outer(r, q)
    return B, x_mean, y_mean, x_std


def pls1_from_gram(XTX, XTY, n_components: int, x_sum=None, y_sum=None, n=None):
    """Regression coefficients of independent PLS1 models, one per column of ``Y``.

    IKPLS algorithm #2 (Dayal and MacGregor 1997) for a single response, vectorised over the ``m`` responses so
    every component costs one ``(K, K) @ (K, m)`` product; leading dimensions are independent problems.

    Parameters
    ----------
    XTX : ndarray of shape (..., K, K), or any object whose ``@`` gives its product with a (..., K, m) array
        ``X^T X`` of the training rows (centred, or uncentred with ``x_sum``/``n`` given).
    XTY : ndarray of shape (..., K, m)
        ``X^T Y`` of the training rows (centred, or uncentred with the sums given).
    x_sum, y_sum : ndarray of shape (..., K) and (..., m), optional
        Column sums of the *uncentred* training ``X`` and ``Y``; when given, the centring
        ``X^T X - s s^T / n`` is applied implicitly (never formed).
    n : int or ndarray of shape (...), optional
        Number (or total weight) of training rows (needed with ``x_sum``).

    Returns ``B`` of shape (..., n_components, K, m): ``B[..., a, :, :]`` maps centred ``X`` to centred ``Y``
    with ``a + 1`` components.
    """
    XTY = np.array(XTY, dtype=float, copy=True)
    if XTY.ndim == 1:
        XTY = XTY[:, None]
    *batch, K, m = XTY.shape
    centre = x_sum is not None
    if centre:
        n = np.asarray(n, float)[..., None, None]
        x_sum = np.asarray(x_sum, float)[..., :, None]
        xs = x_sum / np.sqrt(n)                                       # (..., K, 1)
        XTY -= x_sum * np.asarray(y_sum, float)[..., None, :] / n

    def gram_times(r):
        out = XTX @ r
        if centre:
            out -= xs * np.matmul(np.swapaxes(xs, -1, -2), r)
        return out

    R = np.zeros((*batch, m, n_components, K))    # per-target weights r_a (rows), for batched matmul
    P = np.zeros((*batch, m, n_components, K))
    B = np.zeros((*batch, n_components, K, m))
    eps = np.finfo(float).eps
    scale0 = np.linalg.norm(XTY, axis=-2)
    alive = scale0 > 0
    max_tt = np.zeros((*batch, m))
    for a in range(n_components):
        # stop a target once its X-Y covariance is exhausted or its score norm collapses
        # relative to the largest so far (the stability rules of ikpls); B is carried forward
        norm = np.linalg.norm(XTY, axis=-2)
        alive &= norm > eps * scale0
        w = XTY / np.where(alive, norm, 1.0)[..., None, :]
        if a:   # r = w - sum_b r_b (p_b^T w), Dayal & MacGregor step 4
            coef = np.matmul(P[..., :a, :], np.swapaxes(w, -1, -2)[..., None])          # (..., m, a, 1)
            r = w - np.swapaxes(np.matmul(np.swapaxes(R[..., :a, :], -1, -2), coef)[..., 0], -1, -2)
        else:
            r = w
        XTXr = gram_times(r)
        tt = np.sum(r * XTXr, axis=-2)
        alive &= tt > eps * max_tt
        alive &= tt > 0
        max_tt = np.maximum(max_tt, np.where(alive, tt, 0.0))
        tt = np.where(alive, tt, 1.0)
        p = XTXr / tt[..., None, :]
        q = np.where(alive, np.sum(r * XTY, axis=-2) / tt, 0.0)
        XTY -= p * (q * tt)[..., None, :]
        R[..., a, :], P[..., a, :] = np.swapaxes(r * alive[..., None, :], -1, -2), \
            np.swapaxes(p * alive[..., None, :], -1, -2)
        B[..., a, :, :] = (B[..., a - 1, :, :] if a else 0.0) + r * q[..., None, :]
    return B


class OneOrManyTargets:
    """scikit-learn plumbing shared by the PLS regressors here and :class:`~soilnb.stats.conversion.PLS2Converter`:
    tags for one or many target columns, validated ``(X, Y)`` with ``Y`` always 2-D, and predictions returned
    1-D again when fitted on a 1-D target. Put it left of ``RegressorMixin``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _validate_xy(self, X, Y):
        X, Y = validate_data(self, X, Y, multi_output=True, y_numeric=True, dtype=np.float64, ensure_min_samples=2)
        Y = np.asarray(Y, np.float64)
        self.single_target_ = Y.ndim == 1
        return X, (Y[:, None] if self.single_target_ else Y)

    def _as_fitted(self, Y):
        """``Y`` (n, m) as the caller fitted it: 1-D for a 1-D target."""
        return Y if not self.single_target_ else Y[:, 0]


class PLSR(OneOrManyTargets, RegressorMixin, MultiOutputMixin, BaseEstimator):
    """PLS regression with the number of components chosen by K-fold CV (ikpls backend).

    Parameters
    ----------
    n_components : int or None
        Fixed number of components; ``None`` picks it by CV (see Notes).
    max_components : int
        Largest number of components tried by CV (capped by the number of features and by
        the smallest training fold size minus one).
    cv : int
        Number of folds (shuffled ``KFold``, or ``GroupKFold(shuffle=True)`` when ``groups``
        are passed to :meth:`fit`).
    random_state : int, RandomState or None
        Seed of the fold shuffling.
    scale : bool
        Scale X columns to unit variance (ddof=1, as scikit-learn) before PLS. Y is never scaled.

    Attributes
    ----------
    n_components_ : int
    cv_rmse_ : ndarray of shape (max_components_,) or None
        CV RMSE for 1..max_components_ components (on standardised targets, averaged over
        targets as ``sqrt(mean_m MSE_m / var_m)``, when there are several; plain RMSE for a
        single target). ``None`` when ``n_components`` is fixed.
    coef_ : ndarray of shape (n_targets, n_features)
        Coefficients on the original X scale, so ``predict(X) = X @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (n_targets,)
    x_mean_, y_mean_ : ndarray of shape (n_features,), (n_targets,)
    x_std_ : ndarray of shape (n_features,)
        Ones when ``scale=False``.

    Notes
    -----
    **Component rule:** the number with the *minimum* CV RMSE (not the one-standard-error
    rule). CV predictions for every number of components come from a single fit per fold.
    """

    def __init__(self, n_components=None, max_components=20, cv=5, random_state=None, scale=False):
        self.n_components = n_components
        self.max_components = max_components
        self.cv = cv
        self.random_state = random_state
        self.scale = scale

    def _ikpls_kwargs(self, n, k, A):
        # IKPLS #1 makes ~2 A matrix-vector passes over X (memory bound), #2 one X^T X product
        # (n k^2 flops, BLAS-3). Measured crossover on 2 cores at ~60 A channels (20 components:
        # #2 2.4x faster at 4000 x 500, #1 1.8x faster at 20000 x 1701); #1 also for wide X.
        algorithm = 1 if (n < k or k > 60 * A) else 2
        return dict(algorithm=algorithm, center_X=True, center_Y=True,
                    scale_X=bool(self.scale), scale_Y=False, ddof=1)

    def _folds(self, n, groups):
        if not (isinstance(self.cv, (int, np.integer)) and self.cv >= 2):
            raise ValueError(f"cv must be an integer >= 2, got {self.cv!r}")
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape[0] != n:
                raise ValueError(f"groups has {groups.shape[0]} entries, X has {n} rows")
            splitter = GroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        else:
            splitter = KFold(self.cv, shuffle=True, random_state=self.random_state)
        folds = np.empty(n, dtype=int)
        for f, (_, test) in enumerate(splitter.split(np.zeros((n, 1)), groups=groups)):
            folds[test] = f
        return folds

    def fit(self, X, y, groups=None) -> "PLSR":
        """Fit on ``X`` (n, K) and ``y`` (n,) or (n, m); ``groups`` (n,) makes the CV grouped."""
        X, Y = self._validate_xy(X, y)
        n, k = X.shape
        if self.n_components is not None:
            if not (isinstance(self.n_components, (int, np.integer)) and 1 <= self.n_components <= min(n - 1, k)):
                raise ValueError(f"n_components must be an int in [1, {min(n - 1, k)}], got {self.n_components!r}")
            A = int(self.n_components)
            self.cv_rmse_ = None
        else:
            if not (isinstance(self.max_components, (int, np.integer)) and self.max_components >= 1):
                raise ValueError(f"max_components must be a positive int, got {self.max_components!r}")
            folds = self._folds(n, groups)
            n_train_min = n - np.bincount(folds).max()
            A_max = int(min(self.max_components, k, n_train_min - 1))
            if A_max < 1:
                raise ValueError(f"too few samples ({n}) for {self.cv}-fold CV")
            # fast CV: #2 downdates one X^T X per fold, #1 refits on the fold's rows
            cvpls = FastCVPLS(**dict(self._ikpls_kwargs(n, k, A_max), algorithm=1 if n_train_min < k else 2))

            def sse(Y_val, Y_pred):                      # Y_pred: (A, n_val, m)
                return np.sum((Y_pred - Y_val[None]) ** 2, axis=1)

            with _QUIET, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                res = cvpls.cross_validate(X, Y, A_max, folds, sse, n_jobs=1, verbose=0)
            mse = sum(res.values()) / n                  # (A, m)
            var = Y.var(axis=0)
            var = np.where(var > 0, var, 1.0)
            self.cv_rmse_ = np.sqrt(mse[:, 0]) if Y.shape[1] == 1 else np.sqrt(np.mean(mse / var, axis=1))
            A = int(np.argmin(self.cv_rmse_)) + 1
        kwargs = self._ikpls_kwargs(n, k, A)
        if kwargs["algorithm"] == 1 and X.nbytes > _ONE_PASS_BYTES:
            B, self.x_mean_, self.y_mean_, self.x_std_ = ikpls1_one_pass(X, Y, A, scale=bool(self.scale))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = IKPLS(**kwargs).fit(X, Y, A)
            B = model.B[A - 1]
            self.x_mean_ = model.X_mean.ravel()
            self.y_mean_ = model.Y_mean.ravel()
            self.x_std_ = model.X_std.ravel() if self.scale else np.ones(k)
        self.n_components_ = A
        coef = B / self.x_std_[:, None]                  # (K, m), original X scale
        self.coef_ = coef.T
        self.intercept_ = self.y_mean_ - self.x_mean_ @ coef
        return self

    def predict(self, X) -> np.ndarray:
        """Predictions, shape (n,) for a single target, else (n, n_targets)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Y = X @ self.coef_.T + self.intercept_
        return self._as_fitted(Y)


class PerTargetPLSR(OneOrManyTargets, RegressorMixin, BaseEstimator):
    """One :class:`~soilnb.stats.pls.PLSR` per target column, each with its own CV-chosen components.

    Attributes
    ----------
    models_ : list of PLSR
        One fitted model per target column.
    n_components_ : list of int
    n_features_in_ : int
    """

    def __init__(self, max_components: int = 20, cv: int = 5, random_state=None):
        self.max_components = max_components
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, Y, groups=None):
        """Fit on ``X`` (n, K) and ``Y`` (n,) or (n, m); ``groups`` (n,) makes every model's CV grouped."""
        X, Y = self._validate_xy(X, Y)
        self.models_ = [PLSR(max_components=self.max_components, cv=self.cv, random_state=self.random_state)
                        .fit(X, Y[:, j], groups=groups) for j in range(Y.shape[1])]
        self.n_components_ = [m.n_components_ for m in self.models_]
        return self

    def predict(self, X):
        """Predictions, shape (n,) when fitted on a 1-D ``Y``, else (n, n_targets)."""
        check_is_fitted(self, "models_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Y = np.column_stack([np.ravel(m.predict(X)) for m in self.models_])
        return self._as_fitted(Y)
