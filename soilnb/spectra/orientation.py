"""Reflectance vs absorbance judged by shape: the 1.9 um water band and the O-H band near 3400 cm-1 are maxima in absorbance."""
from __future__ import annotations

import warnings

import numpy as np

#: Water/O-H bands that every soil spectrum shows, used to tell absorbance from reflectance by shape:
#: (unit, band window, shoulder windows). Absorbance has a maximum in the band, reflectance a minimum.
#: NIR: the 1.9 um combination band of H2O (hygroscopic water is in every air-dry soil; Bishop et al. 1994,
#: Clays Clay Miner. 42:702); MIR: the broad O-H stretch near 3400 cm-1 against the 3850-3950 cm-1 baseline.
ORIENTATION_BANDS = {"nm": ((1900.0, 1950.0), ((1800.0, 1850.0), (2050.0, 2100.0))),
                     "cm-1": ((3300.0, 3500.0), ((3850.0, 3950.0),))}


def check_orientation(X, axis, unit: str, quantity: str, name: str = "spectra") -> None:
    """Raise ``ValueError`` when spectra labelled ``quantity`` have the other one's shape.

    In more than half of the rows, the water/O-H band of :data:`ORIENTATION_BANDS` must be a maximum
    against its shoulders for ``"absorbance"`` and a minimum for ``"reflectance"``. Axes that do not
    cover the band and its shoulders are not checked. This catches reflectance passed as absorbance
    (and the reverse) when the value ranges alone cannot: e.g. MIR reflectance fractions 0.05-0.6 look
    like small absorbances, NIR absorbance 0.2-0.9 like reflectance fractions.
    """
    if unit not in ORIENTATION_BANDS or quantity not in ("absorbance", "reflectance"):
        return
    band, shoulders = ORIENTATION_BANDS[unit]
    axis = np.asarray(axis, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    windows = [band, *shoulders]
    masks = [(axis >= lo) & (axis <= hi) for lo, hi in windows]
    if len(X) == 0 or not all(m.any() for m in masks):
        return
    with warnings.catch_warnings():               # rows that are all NaN in a window give NaN, judged below
        warnings.simplefilter("ignore", RuntimeWarning)
        depth = np.nanmean(X[:, masks[0]], 1) - np.mean([np.nanmean(X[:, m], 1) for m in masks[1:]], 0)
    depth = depth[np.isfinite(depth)]
    if depth.size == 0:
        return
    share_max = float(np.mean(depth > 0))
    lo, hi = band
    if quantity == "absorbance" and share_max < 0.5:
        raise ValueError(f"{name}: these look like reflectance, not absorbance: the water/O-H band at {lo:g}-{hi:g} "
                         f"{unit} is a minimum in {1 - share_max:.0%} of the spectra (absorbance has a maximum "
                         f"there); convert with log10(1/R) or declare them as reflectance")
    if quantity == "reflectance" and share_max > 0.5:
        raise ValueError(f"{name}: these look like absorbance, not reflectance: the water/O-H band at {lo:g}-{hi:g} "
                         f"{unit} is a maximum in {share_max:.0%} of the spectra (reflectance has a minimum "
                         f"there); declare them as absorbance")
