"""Chatterjee's Xi correlation (paper Sect. 2.5, Fig. 3) and spectral binning.

Chatterjee, S. (2021). A new coefficient of correlation. JASA 116, 2009-2022.
doi:10.1080/01621459.2020.1758115

For pairs ``(x_i, y_i)`` rearranged so that ``x`` increases, with ``r_i = #{j: y_j <= y_i}`` and
``l_i = #{j: y_j >= y_i}``, the coefficient (Chatterjee's Eq. for data with ties) is::

    xi_n(x, y) = 1 - n * sum_i |r_{i+1} - r_i| / (2 * sum_i l_i (n - l_i))

which reduces to ``1 - 3 sum |r_{i+1} - r_i| / (n^2 - 1)`` without ties. It measures how much
``y`` is a (not necessarily monotone) function of ``x``; it is not symmetric.

**Ties in x.** Chatterjee (and the ``xicor`` package) break ties in ``x`` uniformly at random,
which makes the value non-deterministic. Here ties in ``x`` are broken *deterministically by
original row order* (a stable sort). On tie-free ``x`` the two agree exactly; ties in ``y``
are handled exactly by the formula above.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _check_xy(Z, S) -> tuple[np.ndarray, np.ndarray]:
    Z = np.asarray(Z, dtype=float)
    S = np.asarray(S, dtype=float)
    if Z.ndim == 1:
        Z = Z[:, None]
    if S.ndim == 1:
        S = S[:, None]
    if Z.ndim != 2 or S.ndim != 2:
        raise ValueError(f"inputs must be 1-d or 2-d, got shapes {Z.shape} and {S.shape}")
    if Z.shape[0] != S.shape[0]:
        raise ValueError(f"length mismatch: x has {Z.shape[0]} rows, y has {S.shape[0]}")
    if Z.shape[0] < 2:
        raise ValueError("need at least 2 observations")
    if np.isnan(Z).any() or np.isnan(S).any():
        raise ValueError("inputs contain NaN")
    return Z, S


def _y_ranks(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``r`` (n, b) = #{j: y_j <= y_i} and the denominators ``2 sum l (n - l) / n`` (b,)."""
    n = S.shape[0]
    r = rankdata(S, method="max", axis=0).astype(np.int64)
    l = n - rankdata(S, method="min", axis=0).astype(np.int64) + 1   # #{j: y_j >= y_i}
    r = r.astype(np.int32) if n < 2**31 - 1 else r                   # halves the memory traffic
    denom = 2.0 * np.sum(l * (n - l), axis=0, dtype=np.float64) / n
    return r, denom


def xi_matrix(Z, S) -> np.ndarray:
    """Xi of every column of ``Z`` (as x) against every column of ``S`` (as y).

    Ranks of ``S`` are computed once; each column of ``Z`` is sorted once (stable argsort) and
    the rank differences of all ``b`` columns of ``S`` are taken in one vectorised step, so
    the only Python loop is over the ``k`` columns of ``Z`` (and blocks of 4,096 rows).

    Parameters
    ----------
    Z : ndarray of shape (n, k)
        Predictors x (e.g. the 32 latent features).
    S : ndarray of shape (n, b)
        Responses y (e.g. 136 binned spectral channels).

    Returns
    -------
    ndarray of shape (k, b)
    """
    Z, S = _check_xy(Z, S)
    r, denom = _y_ranks(S)
    constant = denom == 0
    out = np.empty((Z.shape[1], S.shape[1]))
    n = Z.shape[0]
    chunk = 4096                                    # rows per block, keeps the gathered ranks in cache
    for i in range(Z.shape[1]):
        order = np.argsort(Z[:, i], kind="stable")
        num = np.zeros(S.shape[1], dtype=np.int64)  # exact integer sum of |r_{i+1} - r_i|
        for start in range(0, n - 1, chunk):
            R = r[order[start:start + chunk + 1]]
            num += np.abs(np.diff(R, axis=0)).sum(axis=0, dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i] = 1.0 - num / denom
    out[:, constant] = np.nan            # xi is undefined when y is constant
    return out


def xi_correlation(x, y) -> float:
    """Chatterjee's xi_n(x, y) for 1-d ``x`` and ``y`` (NaN when ``y`` is constant).

    Examples
    --------
    >>> xi_correlation([1, 2, 3, 4, 5], [1, 4, 9, 16, 25])
    0.5
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be 1-d, got shapes {x.shape} and {y.shape}")
    return float(xi_matrix(x, y)[0, 0])


def bin_spectra(X, axis, width: float = 25.0, start: float | None = None,
                stop: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Average spectral channels in bins of ``width`` (paper: 600-4000 cm-1 by 25 -> 136 bins).

    Bin ``i`` covers ``[start + i*width, start + (i+1)*width)``; the channel at ``stop`` falls in
    the last bin. Bins without channels are dropped.

    Parameters
    ----------
    X : ndarray of shape (n, p)
    axis : ndarray of shape (p,)
        Channel positions (e.g. wavenumbers).
    width : float
    start, stop : float, optional
        Range to bin; default ``axis.min()`` and ``axis.max()``. Channels outside are ignored.

    Returns
    -------
    Xb : ndarray of shape (n, n_bins)
        Mean of the channels in each bin.
    centers : ndarray of shape (n_bins,)
    """
    X = np.asarray(X, dtype=float)
    axis = np.asarray(axis, dtype=float)
    if X.ndim != 2 or axis.ndim != 1 or X.shape[1] != axis.shape[0]:
        raise ValueError(f"X must be (n, p) and axis (p,), got {X.shape} and {axis.shape}")
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    start = axis.min() if start is None else float(start)
    stop = axis.max() if stop is None else float(stop)
    n_bins = max(int(np.ceil((stop - start) / width - 1e-9)), 1)
    inside = (axis >= start) & (axis <= stop)
    idx = np.minimum(np.floor((axis[inside] - start) / width).astype(int), n_bins - 1)
    W = np.zeros((inside.sum(), n_bins))
    W[np.arange(idx.size), idx] = 1.0
    counts = W.sum(axis=0)
    keep = counts > 0
    W = W[:, keep] / counts[keep]
    centers = start + (np.arange(n_bins)[keep] + 0.5) * width
    return X[:, inside] @ W, centers
