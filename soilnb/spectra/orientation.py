"""Reflectance vs absorbance judged by shape: the 1.9 um water band and the O-H band near 3400 cm-1 are maxima in absorbance.

:func:`orientation_rows` judges each spectrum; :func:`check_orientation` judges a set (a majority, or every row);
both live in :mod:`soilnb.spectra.bands` (without scikit-learn) and are importable from here as before.
:class:`QuantityCheck` is the scikit-learn pipeline step that applies them.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.spectra.bands import (CHECK_MIN_T, FLAT_SD, ORIENTATION_BANDS, _OTHER, check_orientation,  # noqa: F401
                                  orientation_reason, orientation_rows)


class QuantityCheck(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Pass spectra through unchanged after checking, by band shape, that they hold ``quantity``.

    A pipeline step for arrays whose origin is unknown (:func:`soilnb.spectra.pipeline.spectral_pipeline`):
    value ranges cannot tell NIR absorbance (0.2-0.9) from reflectance fractions, nor MIR reflectance
    (0.05-0.6) from small absorbances, but the water/O-H band can (:func:`check_orientation`, majority of the
    spectra whose band is at least :data:`CHECK_MIN_T` standard errors deep). Spectra without a band
    (noise, flat rows, an axis not covering the band) pass unjudged.

    Parameters
    ----------
    axis : array-like, optional
        Channel positions in ``unit``, one per column (None: ``default_axis`` where the width matches, else
        nothing is judged).
    unit : {"nm", "cm-1"}
    quantity : {"absorbance", "reflectance"}
    default_axis : array-like, optional
        The axis assumed for data of exactly its width when ``axis`` is None (the MIR pipeline's 1,701 channels of
        600-4000 cm-1).
    """

    def __init__(self, axis=None, unit: str = "nm", quantity: str = "reflectance", default_axis=None):
        self.axis = axis
        self.unit = unit
        self.quantity = quantity
        self.default_axis = default_axis

    def fit(self, X, y=None):
        if self.unit not in ORIENTATION_BANDS:
            raise ValueError(f"unit must be one of {sorted(ORIENTATION_BANDS)}, got {self.unit!r}")
        if self.quantity not in _OTHER:
            raise ValueError(f"quantity must be 'absorbance' or 'reflectance', got {self.quantity!r}")
        X = validate_data(self, X, reset=True, dtype=np.float64)
        if self.axis is not None and np.size(self.axis) != X.shape[1]:
            raise ValueError(f"axis has {np.size(self.axis)} positions, X has {X.shape[1]} channels")
        self.axis_ = self.axis if self.axis is not None else (
            self.default_axis if self.default_axis is not None and np.size(self.default_axis) == X.shape[1] else None)
        return self.check(X)

    def check(self, X):
        axis = getattr(self, "axis_", self.axis)
        if axis is not None:
            check_orientation(X, axis, self.unit, self.quantity, name=f"{self.quantity} input", min_t=CHECK_MIN_T)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        self.check(X)
        return X
