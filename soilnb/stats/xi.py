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


#: Columns of ``y`` ranked per step: the (columns, n) work arrays of a step stay a few MB.
_RANK_BLOCK = 16
#: Rows of ranks gathered per step: the (rows, b) blocks stay in a core's cache, and the int32 sum of a block
#: of absolute rank differences (each below n) cannot overflow.
_ROW_BLOCK = 1024


def _x_orders(Z: np.ndarray) -> np.ndarray:
    """Row order that sorts each column of ``Z`` (k, n), ties kept in row order, as rows of a (k, n) array.

    A stable sort gives this order directly but is the slowest of numpy's sorts; the default one returns the
    same order whenever a column has no ties (the sorted order is then unique), so only columns with ties
    are sorted again stably. Ties are recognised by ``==``, so -0.0 and 0.0 count as one value."""
    A = np.ascontiguousarray(Z.T)
    order = np.argsort(A, axis=1)
    As = np.take_along_axis(A, order, axis=1)
    tied = (As[:, 1:] == As[:, :-1]).any(axis=1)
    if tied.any():
        order[tied] = np.argsort(A[tied], axis=1, kind="stable")
    return order


def _y_ranks(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``r`` (n, b) = #{j: y_j <= y_i} and the denominators ``2 sum l (n - l) / n`` (b,).

    One sort per column gives both counts: in sorted order, ``r`` is one past the last position holding the
    same value and ``l = n - (first such position)``. Without ties these are just the positions, and the
    ranks are scattered back to the rows they came from."""
    n, b = S.shape
    rtype = np.int32 if n < 2**31 - 1 else np.int64                  # halves the memory traffic
    r = np.empty((n, b), rtype)
    flat = r.reshape(-1)
    denom = np.empty(b)
    pos = np.arange(n, dtype=np.int64)
    for s in range(0, b, _RANK_BLOCK):
        cols = np.arange(s, min(s + _RANK_BLOCK, b))
        A = np.ascontiguousarray(S[:, cols].T)                          # (m, n)
        order = np.argsort(A, axis=1)
        As = np.take_along_axis(A, order, axis=1)
        new = As[:, 1:] != As[:, :-1]                                   # a new value starts at p + 1
        if new.all():                                                   # no ties: each value is its own run
            first = last = np.broadcast_to(pos, As.shape)
        else:
            first = np.where(np.hstack([np.ones((cols.size, 1), bool), new]), pos, 0)
            first = np.maximum.accumulate(first, axis=1)                # first position of p's value
            last = np.where(np.hstack([new, np.ones((cols.size, 1), bool)]), pos, n)
            last = np.minimum.accumulate(last[:, ::-1], axis=1)[:, ::-1]  # last position of p's value
        l = n - first                                                   # #{j: y_j >= y_i}
        denom[cols] = 2.0 * np.sum(l * (n - l), axis=1) / n             # integer sum: exact
        flat[order * b + cols[:, None]] = last + 1
    return r, denom


def xi_matrix(Z, S) -> np.ndarray:
    """Xi of every column of ``Z`` (as x) against every column of ``S`` (as y).

    Ranks of ``S`` are computed once; each column of ``Z`` is sorted once and the rank differences of all
    ``b`` columns of ``S`` are taken in one vectorised step per block of rows, so the only Python loops are
    over the ``k`` columns of ``Z`` and the row blocks.

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
    n, b = S.shape
    chunk = max(1, min(_ROW_BLOCK, (2**31 - 1) // n))
    gathered = np.empty((chunk + 1, b), r.dtype)
    diff = np.empty((chunk, b), r.dtype)
    out = np.empty((Z.shape[1], b))
    for i, order in enumerate(_x_orders(Z)):
        num = np.zeros(b, dtype=np.int64)           # exact integer sum of |r_{i+1} - r_i|
        for start in range(0, n - 1, chunk):
            rows = order[start:start + chunk + 1]
            R = np.take(r, rows, axis=0, out=gathered[:rows.size])
            D = np.subtract(R[1:], R[:-1], out=diff[:rows.size - 1])
            num += np.abs(D, out=D).sum(axis=0, dtype=r.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i] = 1.0 - num / denom
    out[:, denom == 0] = np.nan            # xi is undefined when y is constant
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
