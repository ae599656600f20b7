"""Log-ratio coordinates of compositions (texture: clay, silt, sand), paper Eqs. 8-9.

* :func:`ilr` / :func:`ilr_inverse`: isometric log-ratio coordinates of a 3-part composition
  (clay, silt, sand) in the orthonormal Helmert-type basis of Egozcue et al. (2003),
  doi:10.1023/A:1023818214614 (paper Eqs. 8-9).
* :func:`replace_zeros`: multiplicative zero replacement (Martin-Fernandez et al. 2003,
  doi:10.1023/A:1023866030544), applied before taking logs.

NumPy only: a bundle's target transform maps ILR outputs back without scikit-learn (:mod:`soilnb.stats.fitted`).
"""
from __future__ import annotations

import numpy as np

#: Default replacement value for zero parts, as a fraction of the total (0.05 %).
ZERO_DELTA = 5e-4


def helmert_basis(n_parts: int = 3) -> np.ndarray:
    """Orthonormal contrast matrix ``V`` of shape (n_parts, n_parts - 1).

    Column ``i`` (0-based) is ``sqrt(k/(k+1)) * (1/k, ..., 1/k, -1, 0, ..., 0)`` with ``k = i + 1``
    ones-over-k entries (Egozcue et al. 2003, Eq. 10), so that
    ``ilr_k = sqrt(k/(k+1)) * ln(g(x_1..x_k) / x_{k+1})``, ``V.T @ V = I`` and ``V.T @ 1 = 0``.
    """
    V = np.zeros((n_parts, n_parts - 1))
    for i in range(n_parts - 1):
        k = i + 1
        V[:k, i] = 1.0 / k
        V[k, i] = -1.0
        V[:, i] *= np.sqrt(k / (k + 1))
    return V


def replace_zeros(parts, delta: float = ZERO_DELTA) -> np.ndarray:
    """Multiplicative replacement of zero parts (Martin-Fernandez et al. 2003).

    Each composition is first closed to 1; zero parts become ``delta`` and the non-zero parts
    are scaled by ``1 - (number of zeros) * delta`` so that the composition still sums to 1 and
    the ratios between non-zero parts are unchanged.

    Parameters
    ----------
    parts : array-like of shape (n, D)
        Non-negative parts (any total, e.g. percent).
    delta : float
        Replacement value as a fraction of the total (default 5e-4, i.e. 0.05 %).

    Returns
    -------
    ndarray of shape (n, D), rows summing to 1, all strictly positive.
    """
    x = np.asarray(parts, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"parts must be 2-d (n, D), got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("parts contain NaN")
    if (x < 0).any():
        raise ValueError("parts must be non-negative (negative value found)")
    total = x.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("every composition needs at least one positive part (all-zero row found)")
    if not 0 < delta * x.shape[1] < 1:
        raise ValueError(f"delta={delta} too large for {x.shape[1]} parts")
    x = x / total
    zero = x == 0
    n_zero = zero.sum(axis=1, keepdims=True)
    return np.where(zero, delta, x * (1.0 - n_zero * delta))


def ilr(parts, delta: float = ZERO_DELTA) -> np.ndarray:
    """Isometric log-ratio coordinates, paper Eq. 8.

    Parameters
    ----------
    parts : array-like of shape (n, D)
        Compositions (e.g. clay, silt, sand in %); zero parts are replaced by
        :func:`replace_zeros` with ``delta``.

    Returns
    -------
    ndarray of shape (n, D - 1)

    Examples
    --------
    >>> np.round(ilr([[20.0, 30.0, 50.0]]), 6)
    array([[-0.286707, -0.582618]])
    """
    x = replace_zeros(parts, delta)
    logx = np.log(x)
    clr = logx - logx.mean(axis=1, keepdims=True)
    return clr @ helmert_basis(x.shape[1])


def ilr_inverse(coords, total: float = 100.0) -> np.ndarray:
    """Inverse ILR, paper Eq. 9: coordinates (n, D-1) -> compositions (n, D) summing to ``total``.

    The result is always strictly positive (a softmax of the clr coordinates).
    """
    z = np.asarray(coords, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"coords must be 2-d (n, D-1), got shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("coords contain NaN or inf")
    clr = z @ helmert_basis(z.shape[1] + 1).T
    e = np.exp(clr - clr.max(axis=1, keepdims=True))   # stable softmax
    return total * e / e.sum(axis=1, keepdims=True)
