"""The arithmetic of the spectral transformers, without scikit-learn: SNV, trimming and linear resampling.

:class:`~soilnb.spectra.scatter.SNV`, :class:`~soilnb.spectra.grid.Trim` and :class:`~soilnb.spectra.grid.Resample`
(scikit-learn transformers, for pipelines and training) call these functions; the spectral library
(:meth:`~soilnb.data.library.SpectralLibrary.on_grid`), the preprocessing of a library
(:func:`soilnb.data.prepare.preprocess_library`) and so the ``soilnb predict`` path call them directly: the
command does not import scikit-learn at start-up, and both routes compute the same numbers with the same code.
"""
from __future__ import annotations

import numpy as np


def finite_matrix(X, who: str, keep_float32: bool = False) -> np.ndarray:
    """``X`` as a 2-D float64 array (a float32 one stays float32 with ``keep_float32``, for callers that widen it
    in blocks) with at least one row and one column and no NaN or inf (the checks scikit-learn's
    ``validate_data`` makes on a transformer's input), else a ValueError naming ``who``."""
    X = np.asarray(X)
    if not (keep_float32 and X.dtype == np.float32):
        X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{who}: expected a 2-D array of at least one spectrum and one channel, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{who}: input contains NaN or inf")
    return X


# ------------------------------------------------------------------------------------------- SNV
#: Rows SNV handles at a time: the float64 temporaries of a block stay in the CPU cache instead of a full-size copy
#: per step (24,000 x 1,701 scans: about 0.2 s instead of 1.5 s where fresh memory is slow to map).
SNV_BLOCK = 1024


def snv(X, ddof: int = 0, dtype=np.float64) -> np.ndarray:
    """Standard normal variate: each spectrum centred on its mean and scaled by its std.

    ``SNV(x) = (x - mean(x)) / std(x, ddof)`` row by row (Barnes, Dhanoa & Lister 1989,
    Applied Spectroscopy 43:772, doi:10.1366/0003702894202201).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    ddof : {0, 1}, default 0
        0 divides the squared deviations by ``p`` (chemotools, numpy); 1 by ``p - 1``
        (Barnes et al.'s sample standard deviation, prospectr). With 1,701 MIR channels the two
        differ by a factor sqrt(1700/1701) = 0.99971.
    dtype : default float64
        The result's type. The arithmetic is always float64, row block by row block
        (:data:`SNV_BLOCK` rows); ``float32`` gives ``snv(X).astype(np.float32)`` bit for bit without
        the full-size float64 result.

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), ``dtype``

    Raises
    ------
    ValueError
        If a spectrum is constant (std 0) or holds NaN or inf, naming its rows.

    Examples
    --------
    >>> snv([[1.0, 2.0, 3.0]]).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    X = np.asarray(X)
    if X.dtype != np.float32:          # float32 rows are widened block by block below
        X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"snv expects a 2-D array (n_spectra, n_channels), got shape {X.shape}")
    if X.shape[1] < 2:
        raise ValueError(f"SNV needs at least 2 channels, got {X.shape[1]} feature(s)")
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:                       # a NaN would turn the whole row into NaN, silently
        rows = ", ".join(map(str, bad[:5])) + (" ..." if bad.size > 5 else "")
        raise ValueError(f"SNV undefined for spectra with NaN or inf: {bad.size} row(s), e.g. row {rows}")
    const = np.flatnonzero(np.ptp(X, axis=1) == 0)
    if const.size:
        rows = ", ".join(map(str, const[:5])) + (" ..." if const.size > 5 else "")
        raise ValueError(f"SNV undefined for constant spectra (std 0): {const.size} row(s), e.g. row {rows}")
    out = np.empty(X.shape, dtype)
    # row by row, so blocks of C-ordered rows give the numbers of one pass; other layouts (a DataFrame's columns)
    # are reduced in one pass as before: a block of one row would become contiguous and be summed pairwise
    step = SNV_BLOCK if X.flags.c_contiguous else max(X.shape[0], 1)
    for i in range(0, X.shape[0], step):
        B = np.asarray(X[i:i + step], dtype=np.float64)
        mean = B.mean(axis=1, keepdims=True)
        std = B.std(axis=1, ddof=ddof, keepdims=True)
        out[i:i + step] = (B - mean) / std
    return out


# ------------------------------------------------------------------------------------------ axes
def monotonic_axis(axis, name: str) -> np.ndarray:
    """``axis`` as float64, checked: 1-D, at least 2 finite positions, strictly increasing or decreasing."""
    axis = np.asarray(axis, dtype=np.float64)
    if axis.ndim != 1 or axis.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 channel positions, got shape {axis.shape}")
    if not np.isfinite(axis).all():
        raise ValueError(f"{name} contains NaN or inf")
    d = np.diff(axis)
    if not (np.all(d > 0) or np.all(d < 0)):
        values, counts = np.unique(axis, return_counts=True)
        dup = values[counts > 1]
        what = (f": duplicated position(s) {', '.join(f'{v:g}' for v in dup[:5])}"
                f"{f' (+{dup.size - 5} more)' if dup.size > 5 else ''}" if dup.size else "")
        raise ValueError(f"{name} must be strictly increasing or strictly decreasing{what}")
    return axis


def check_width(n_features: int, axis: np.ndarray, name: str, who: str) -> None:
    if n_features != axis.size:
        raise ValueError(f"{who}: X has {n_features} feature(s) but {name} has {axis.size} channels")


# ------------------------------------------------------------------------------------------ trim
def trim_mask(axis, low, high, n_features: int) -> np.ndarray:
    """The channels of ``axis`` within ``[low, high]`` (inclusive), after :class:`~soilnb.spectra.grid.Trim`'s
    checks: a monotonic axis of ``n_features`` positions covering the range, ``low < high``."""
    if axis is None or low is None or high is None:
        raise ValueError("Trim needs low, high and axis")
    axis = monotonic_axis(axis, "Trim axis")
    low, high = float(low), float(high)
    if not low < high:
        raise ValueError(f"Trim needs low < high, got low={low:g}, high={high:g}")
    a_min, a_max = axis.min(), axis.max()
    if low < a_min or high > a_max:
        raise ValueError(f"Trim range {low:g}..{high:g} is not covered by the axis ({a_min:g}..{a_max:g})")
    check_width(n_features, axis, "axis", "Trim")
    return (axis >= low) & (axis <= high)


# -------------------------------------------------------------------------------------- resample
def resample_plan(axis_in, axis_out, tol: float, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, index, weight)`` of the linear interpolation from ``axis_in`` onto ``axis_out`` (see
    :class:`~soilnb.spectra.grid.Resample`): the permutation sorting ``axis_in``, each output position's left
    neighbour in the sorted input and the weight of its right neighbour. No extrapolation beyond ``tol``."""
    if axis_in is None or axis_out is None:
        raise ValueError("Resample needs axis_in and axis_out")
    axis_in = monotonic_axis(axis_in, "Resample axis_in")
    axis_out = np.asarray(axis_out, dtype=np.float64)
    if axis_out.ndim != 1 or axis_out.size == 0 or not np.isfinite(axis_out).all():
        raise ValueError("Resample axis_out must be a non-empty 1-D array of finite positions")
    tol = float(tol)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    lo, hi = axis_in.min(), axis_in.max()
    if axis_out.min() < lo - tol or axis_out.max() > hi + tol:
        raise ValueError(f"Resample: axis_out {axis_out.min():g}..{axis_out.max():g} is not inside "
                         f"axis_in {lo:g}..{hi:g} (no extrapolation)")
    check_width(n_features, axis_in, "axis_in", "Resample")
    order = np.argsort(axis_in)
    xs = axis_in[order]
    pos = np.clip(axis_out, lo, hi)
    idx = np.clip(np.searchsorted(xs, pos, side="right") - 1, 0, xs.size - 2)
    return order, idx, (pos - xs[idx]) / (xs[idx + 1] - xs[idx])


def resample(X: np.ndarray, order: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``X`` (float64, checked) interpolated with a :func:`resample_plan`: one gather and a weighted sum."""
    Xs = X[:, order]
    return Xs[:, index] * (1.0 - weight) + Xs[:, index + 1] * weight
