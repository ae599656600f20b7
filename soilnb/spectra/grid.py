"""Spectral grids: :func:`check_grid`, :class:`Trim` (the paper's 1400-2500 nm), :class:`Resample`, and dropping non-finite rows.

The transformers' arithmetic is in :mod:`soilnb.spectra.kernels` (without scikit-learn, shared with the
``soilnb predict`` path)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.spectra.kernels import resample, resample_plan, trim_mask


def _describe(axis) -> str:
    axis = np.asarray(axis, dtype=np.float64)
    if axis.size == 0:
        return "0 channels"
    step = np.diff(axis)
    step_txt = f", step {step[0]:g}" if step.size and np.allclose(step, step[0]) else ""
    return f"{axis.size} channels {axis[0]:g}..{axis[-1]:g}{step_txt}"


def check_grid(axis, expected, name: str = "spectra", atol: float = 1e-6) -> None:
    """Raise ``ValueError("...wrong grid...")`` unless ``axis`` equals ``expected``.

    Parameters
    ----------
    axis, expected : array-like of shape (n_channels,)
    name : str
        What the axis belongs to (a file or library name), used in the message.
    atol : float
        Absolute tolerance per channel.
    """
    axis = np.asarray(axis, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if axis.shape != expected.shape or not np.allclose(axis, expected, rtol=0, atol=atol):
        raise ValueError(f"{name}: wrong grid: expected {_describe(expected)}, got {_describe(axis)}")


# ------------------------------------------------------------------------------------------ Trim
class Trim(TransformerMixin, BaseEstimator):
    """Keep the channels whose position lies within ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Inclusive range, in the unit of ``axis``.
    axis : array-like of shape (n_channels,)
        Channel positions of the input (increasing or decreasing).

    Attributes
    ----------
    mask_ : ndarray of bool, shape (n_channels,)
    axis_out_ : ndarray of shape (n_kept,)
        Positions of the kept channels (same order as ``axis``).
    n_features_in_ : int

    Examples
    --------
    >>> Trim(2, 3, axis=[1, 2, 3, 4]).fit_transform([[10.0, 20.0, 30.0, 40.0]])
    array([[20., 30.]])
    """

    def __init__(self, low=None, high=None, axis=None):
        self.low = low
        self.high = high
        self.axis = axis

    def fit(self, X, y=None):
        # X first, so that empty, complex, sparse or non-finite input gets scikit-learn's messages
        X = validate_data(self, X, reset=True, dtype=np.float64)
        self.mask_ = trim_mask(self.axis, self.low, self.high, X.shape[1])
        self.axis_out_ = np.asarray(self.axis, dtype=np.float64)[self.mask_]
        return self

    def transform(self, X):
        check_is_fitted(self, "mask_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X[:, self.mask_]


# -------------------------------------------------------------------------------------- Resample
class Resample(TransformerMixin, BaseEstimator):
    """Linear interpolation of each spectrum from ``axis_in`` onto ``axis_out``.

    Equivalent to ``np.interp(axis_out, axis_in, x)`` row by row (decreasing axes, e.g. MIR
    files stored 4000 -> 600 cm-1, are handled), computed as one gather and weighted sum.
    No extrapolation: every ``axis_out`` position must lie inside ``axis_in`` (within ``tol``;
    positions within ``tol`` outside take the end value).

    Parameters
    ----------
    axis_in : array-like of shape (n_channels_in,)
        Channel positions of the input, strictly monotonic.
    axis_out : array-like of shape (n_channels_out,)
        Target positions, same unit.
    tol : float, default 0.0
        Allowed overhang of ``axis_out`` beyond ``axis_in`` (e.g. 0.01 nm for native grids whose
        end points are 1350.0003 and 2549.99998 nm).

    Attributes
    ----------
    index_ : ndarray of int, shape (n_channels_out,)
        Left neighbour of each output position in the (sorted) input.
    weight_ : ndarray of shape (n_channels_out,)
        Weight of the right neighbour.
    order_ : ndarray of int
        Permutation sorting ``axis_in`` increasingly.
    n_features_in_ : int

    Examples
    --------
    >>> Resample([0.0, 1.0, 2.0], [0.5, 1.5]).fit_transform([[0.0, 10.0, 40.0]])
    array([[ 5., 25.]])
    """

    def __init__(self, axis_in=None, axis_out=None, tol: float = 0.0):
        self.axis_in = axis_in
        self.axis_out = axis_out
        self.tol = tol

    def fit(self, X, y=None):
        # X first, so that empty, complex, sparse or non-finite input gets scikit-learn's messages
        X = validate_data(self, X, reset=True, dtype=np.float64)
        self.order_, self.index_, self.weight_ = resample_plan(self.axis_in, self.axis_out, self.tol, X.shape[1])
        return self

    def transform(self, X):
        check_is_fitted(self, "index_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return resample(X, self.order_, self.index_, self.weight_)


# ------------------------------------------------------------------------------ NaN / inf rows
def drop_nonfinite(X, *others, name: str = "spectra"):
    """Drop the rows of ``X`` holding NaN or inf, and the same rows of every array in ``others``.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_channels)
    *others : arrays, lists or DataFrames of length n_rows (ids, properties, ...)
    name : str
        Used in the warning.

    Returns
    -------
    X : ndarray of shape (n_kept, n_channels)
    others : tuple
        Each of ``others`` restricted to the kept rows (DataFrames re-indexed from 0).
    n_dropped : int
        Number of dropped rows; a ``UserWarning`` gives it when it is > 0.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name}: X must be 2-D, got shape {X.shape}")
    keep = np.isfinite(X).all(axis=1)
    n_dropped = int((~keep).sum())
    out = []
    for o in others:
        if len(o) != X.shape[0]:
            raise ValueError(f"{name}: an array to filter has {len(o)} rows, X has {X.shape[0]}")
        if hasattr(o, "iloc"):
            out.append(o.iloc[np.flatnonzero(keep)].reset_index(drop=True))
        else:
            out.append(np.asarray(o)[keep])
    if n_dropped:
        bad = np.flatnonzero(~keep)
        more = f" (+{bad.size - 8} more)" if bad.size > 8 else ""
        warnings.warn(f"{name}: dropped {n_dropped} of {X.shape[0]} rows holding NaN or inf "
                      f"(rows {', '.join(map(str, bad[:8]))}{more}, counting from 0)", UserWarning, stacklevel=2)
        X = X[keep]
    return X, tuple(out), n_dropped
