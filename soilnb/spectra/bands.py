"""Reflectance vs absorbance judged by shape, without scikit-learn: the 1.9 um water band and the O-H band near
3400 cm-1 are maxima in absorbance.

:func:`orientation_rows` judges each spectrum; :func:`check_orientation` judges a set (a majority, or every row).
The readers and the ``soilnb predict`` path use them from here (the command does not import scikit-learn at
start-up); :class:`soilnb.spectra.orientation.QuantityCheck`, the pipeline step, calls the same ones.
"""
from __future__ import annotations

import warnings

import numpy as np

#: Water/O-H bands that every soil spectrum shows, used to tell absorbance from reflectance by shape:
#: (unit, band window, shoulder windows). Absorbance has a maximum in the band, reflectance a minimum.
#: NIR: the 1.9 um combination band of H2O (hygroscopic water is in every air-dry soil; Bishop et al. 1994,
#: Clays Clay Miner. 42:702); MIR: the broad O-H stretch near 3400 cm-1 against the 3850-3950 cm-1 baseline.
ORIENTATION_BANDS = {"nm": ((1900.0, 1950.0), ((1800.0, 1850.0), (2050.0, 2100.0))),
                     "cm-1": ((3300.0, 3500.0), ((3850.0, 3950.0),))}
#: Smallest sd of a live spectrum: a flatter row has no band shape (also the ``flat`` flag of
#: :func:`soilnb.spectra.quality.spectrum_quality`).
FLAT_SD = 1e-6
_OTHER = {"absorbance": "reflectance", "reflectance": "absorbance"}
#: Rows widened to float64 at a time by :func:`orientation_rows`.
_BLOCK = 2048


def orientation_rows(X, axis, unit: str, quantity: str, min_t: float = 0.0) -> np.ndarray:
    """Per spectrum, whether the water/O-H band shape agrees with the declared ``quantity``.

    The band of :data:`ORIENTATION_BANDS` minus the mean of its shoulders is > 0 (a maximum) in
    absorbance and < 0 (a minimum) in reflectance. With ``min_t > 0`` a row is judged only when that
    depth is at least ``min_t`` standard errors of the window means (channel noise estimated from
    first differences, sd(diff) / sqrt(2)): white noise has no band, and checks on arrays of unknown
    origin (:class:`~soilnb.spectra.orientation.QuantityCheck`) must not guess from it; a real soil spectrum's
    water band is hundreds of standard errors deep.

    Returns
    -------
    ndarray of int8, shape (n_spectra,)
        ``1`` agrees, ``-1`` disagrees (the shape of the other quantity), ``0`` not judged: a unit or
        quantity without a band, an axis not covering the band and its shoulders, a window without
        finite values, a flat row (sd < :data:`FLAT_SD`) or a band depth of exactly 0.
    """
    X = np.atleast_2d(np.asarray(X))
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    out = np.zeros(X.shape[0], np.int8)
    if unit not in ORIENTATION_BANDS or quantity not in _OTHER or X.shape[0] == 0:
        return out
    band, shoulders = ORIENTATION_BANDS[unit]
    axis = np.asarray(axis, dtype=np.float64)
    masks = [(axis >= lo) & (axis <= hi) for lo, hi in (band, *shoulders)]
    if not all(m.any() for m in masks):
        return out
    depth, live = np.empty(X.shape[0]), np.empty(X.shape[0], bool)
    with warnings.catch_warnings():               # rows that are all NaN in a window give NaN: not judged
        warnings.simplefilter("ignore", RuntimeWarning)
        # a block of rows at a time, widened to float64 there: each row's numbers are those of the whole matrix
        # widened at once (every statistic is per row), without a float64 copy of it (24,000 scans: 330 MB)
        for start in range(0, X.shape[0], _BLOCK):
            rows = slice(start, start + _BLOCK)
            Xb = np.asarray(X[rows], dtype=np.float64)
            depth[rows] = np.nanmean(Xb[:, masks[0]], 1) - np.mean([np.nanmean(Xb[:, m], 1) for m in masks[1:]], 0)
            live[rows] = np.nanstd(Xb, axis=1) >= FLAT_SD
        if min_t > 0:
            window = np.logical_or.reduce(masks)
            noise = np.nanstd(np.diff(np.asarray(X[:, window], dtype=np.float64), axis=1), axis=1) / np.sqrt(2.0)
            n_band, n_sh = masks[0].sum(), sum(m.sum() for m in masks[1:])
            se = noise * np.sqrt(1.0 / n_band + 1.0 / n_sh)
            live &= np.abs(depth) >= min_t * se
    sign = np.where(live & np.isfinite(depth), np.sign(depth), 0.0)
    return (sign if quantity == "absorbance" else -sign).astype(np.int8)


def orientation_reason(unit: str, quantity: str) -> str:
    """Why a row that :func:`orientation_rows` gives ``-1`` is flagged ("band shape looks like ..., file says ...")."""
    (lo, hi), _ = ORIENTATION_BANDS[unit]
    kind = "minimum" if quantity == "absorbance" else "maximum"
    return (f"band shape looks like {_OTHER[quantity]}, file says {quantity} (the water/O-H band at "
            f"{lo:g}-{hi:g} {unit} is a {kind})")


def check_orientation(X, axis, unit: str, quantity: str, name: str = "spectra", every_row: bool = False,
                      min_t: float = 0.0) -> None:
    """Raise ``ValueError`` when spectra labelled ``quantity`` have the other one's shape.

    Judged per spectrum by :func:`orientation_rows`; rows not judged (flat, NaN windows) are not
    counted, and axes that do not cover the band and its shoulders are not checked. Raises when more
    than half of the judged rows disagree, or with ``every_row=True`` only when all of them do (for
    callers that flag the others one by one). This catches reflectance passed as absorbance (and the
    reverse) when the value ranges alone cannot: e.g. MIR reflectance fractions 0.05-0.6 look like small
    absorbances, NIR absorbance 0.2-0.9 like reflectance fractions.
    """
    orientation_verdict(orientation_rows(X, axis, unit, quantity, min_t=min_t), unit, quantity, name, every_row)


def orientation_verdict(agree, unit: str, quantity: str, name: str = "spectra", every_row: bool = False) -> None:
    """:func:`check_orientation` on the rows :func:`orientation_rows` judged already (``agree``)."""
    agree = np.asarray(agree)
    judged = agree[agree != 0]
    if judged.size == 0:
        return
    wrong = float(np.mean(judged < 0))
    if (wrong < 1.0) if every_row else (wrong <= 0.5):
        return
    (lo, hi), _ = ORIENTATION_BANDS[unit]
    if quantity == "absorbance":
        raise ValueError(f"{name}: these look like reflectance, not absorbance: the water/O-H band at {lo:g}-{hi:g} "
                         f"{unit} is a minimum in {wrong:.0%} of the spectra (absorbance has a maximum "
                         f"there); convert with log10(1/R) or declare them as reflectance")
    raise ValueError(f"{name}: these look like absorbance, not reflectance: the water/O-H band at {lo:g}-{hi:g} "
                     f"{unit} is a maximum in {wrong:.0%} of the spectra (reflectance has a minimum "
                     f"there); declare them as absorbance")


#: Band depth, in standard errors, below which :class:`~soilnb.spectra.orientation.QuantityCheck` does not judge a
#: spectrum.
CHECK_MIN_T = 5.0
