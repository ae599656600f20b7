"""The grid policy: spectra reach a model's grid by resampling only where they cover it.

A model declares its spectral range (its axis). Input covers it when its own axis reaches both ends
within ``tolerance`` (in the axis unit; the OSSL service accepts +- 5 units): then it is resampled
linearly onto the model's axis. Input that does not cover it is refused with the gap named, never
extrapolated. To train on sets that do not cover one another, choose their common range
(:func:`common_range`) and build the model on it.
"""
from __future__ import annotations

import numpy as np

from soilnb.spectra.kernels import finite_matrix, resample, resample_plan
from soilnb.spectra.reflectance import cm1_to_nm, nm_to_cm1

#: Default overhang allowed at each end, in the axis unit (cm-1 or nm).
TOLERANCE = 5.0


def in_unit(axis, unit: str, target_unit: str) -> np.ndarray:
    """``axis`` converted from ``unit`` to ``target_unit`` ("cm-1" or "nm"; cm-1 = 1e7 / nm)."""
    axis = np.asarray(axis, dtype=np.float64)
    if unit == target_unit:
        return axis
    if (unit, target_unit) == ("nm", "cm-1"):
        return nm_to_cm1(axis)
    if (unit, target_unit) == ("cm-1", "nm"):
        return cm1_to_nm(axis)
    raise ValueError(f"unknown axis units {unit!r} -> {target_unit!r} (use 'cm-1' or 'nm')")


def coverage_gap(axis, target, tolerance: float = TOLERANCE) -> str:
    """"" when ``axis`` covers ``target`` within ``tolerance`` at both ends, else what is missing."""
    lo, hi = float(np.min(axis)), float(np.max(axis))
    t_lo, t_hi = float(np.min(target)), float(np.max(target))
    gaps = []
    if lo > t_lo + tolerance:
        gaps.append(f"{t_lo:g}-{lo:g}")
    if hi < t_hi - tolerance:
        gaps.append(f"{hi:g}-{t_hi:g}")
    return " and ".join(gaps)


def to_grid(X, axis, target, *, name: str = "spectra", tolerance: float = TOLERANCE) -> np.ndarray:
    """``X`` resampled from ``axis`` onto ``target`` (same unit), or a ValueError naming the gap.

    Examples
    --------
    >>> to_grid([[0.0, 1.0, 2.0]], [600, 700, 800], [600, 650, 800])
    array([[0. , 0.5, 2. ]])
    >>> to_grid([[0.0, 1.0, 2.0]], [600, 700, 800], [600, 900])
    Traceback (most recent call last):
    ...
    ValueError: spectra: grid 600-800 does not cover the model's range 600-900 (missing 800-900, tolerance 5); ...
    """
    gap = coverage_gap(axis, target, tolerance)
    if gap:
        raise ValueError(f"{name}: grid {np.min(axis):g}-{np.max(axis):g} does not cover the model's range "
                         f"{np.min(target):g}-{np.max(target):g} (missing {gap}, tolerance {tolerance:g}); "
                         f"spectra are never extrapolated: train on a common range (soilnb.spectra.common_range)")
    X = finite_matrix(np.atleast_2d(X), name)      # soilnb.spectra.grid.Resample's arithmetic, without scikit-learn
    return resample(X, *resample_plan(axis, target, tolerance, X.shape[1]))


def common_range(*axes) -> tuple[float, float]:
    """The range every axis covers (the intersection), e.g. to train one model on sets of unequal reach."""
    lo = max(float(np.min(a)) for a in axes)
    hi = min(float(np.max(a)) for a in axes)
    if lo >= hi:
        raise ValueError(f"the axes share no range: {[(float(np.min(a)), float(np.max(a))) for a in axes]}")
    return lo, hi
