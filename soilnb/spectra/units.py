"""Spectral units and quantities (paper Sect. 2.5): nm <-> cm-1, the per-spectrum percent/fraction rule
(:func:`reflectance_rows`) and :class:`ReflectanceToAbsorbance` (A = log10(1/R)).

The functions live in :mod:`soilnb.spectra.reflectance` (without scikit-learn, for the ``soilnb predict`` path)
and are importable from here as before; the transformer calls them.

Every transformer follows the chemotools / scikit-learn skeleton: ``__init__`` only stores its
arguments; ``fit`` checks them and calls :func:`sklearn.utils.validation.validate_data`; ``transform``
calls :func:`~sklearn.utils.validation.check_is_fitted` first; fitted attributes end in ``_``."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.spectra.orientation import QuantityCheck
from soilnb.spectra.reflectance import (ABSORBANCE_MAX, FRACTION_MAX, PERCENT_LIMIT, PERCENT_MAX,  # noqa: F401
                                        ReflectanceRows, absorbance, cm1_to_nm, nm_to_cm1, nonpositive_reason,
                                        reflectance_fraction, reflectance_rows)


class ReflectanceToAbsorbance(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Pseudo-absorbance ``A = log10(1 / R)`` of reflectance spectra (paper Sect. 2.3).

    ``R`` may be a fraction or percent, decided per spectrum by :func:`reflectance_rows` (a row whose
    maximum is above :data:`FRACTION_MAX` = 1.5 is percent); bad rows and absorbance-like sets raise
    (:func:`reflectance_fraction`).

    Parameters
    ----------
    percent : {"auto", True, False}, default "auto"
        Whether the input is reflectance in percent (see above). ``True`` with a row whose
        maximum is <= 1.5 raises (it looks like a fraction).
    axis : array-like, optional
        Channel positions in ``unit``. With it the band shape is checked too
        (:class:`~soilnb.spectra.orientation.QuantityCheck`): NIR absorbance 0.2-0.9 passes every value
        rule of a reflectance fraction, but its water band is a maximum. Without it only the values are
        checked (a channel count does not tell the axis: 601 channels may be 1350-2550 nm at 2 nm or
        400-1000 nm at 1 nm); :func:`~soilnb.spectra.pipeline.spectral_pipeline` passes its axis.
    unit : {"nm", "cm-1"}, default "nm"
        Unit of ``axis``.
    check_shape : bool, default True
        False skips the band-shape check (for callers that judged it spectrum by spectrum already).

    Attributes
    ----------
    n_features_in_ : int
    axis_ : ndarray or None
        The axis the band shape was checked on (None: not checked).

    Notes
    -----
    :meth:`fit` rejects negative values (scikit-learn's ``positive_only`` input tag); the full
    rule (zeros, percent per spectrum, absorbance-like sets) runs in :meth:`transform`.

    Examples
    --------
    >>> ReflectanceToAbsorbance().fit_transform([[0.1, 1.0]])
    array([[1., 0.]])
    """

    def __init__(self, percent="auto", axis=None, unit: str = "nm", check_shape: bool = True):
        self.percent = percent
        self.axis = axis
        self.unit = unit
        self.check_shape = check_shape

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True     # reflectance is > 0
        return tags

    def fit(self, X, y=None):
        if self.percent not in ("auto", True, False):
            raise ValueError(f"percent must be 'auto', True or False, got {self.percent!r}")
        X = validate_data(self, X, reset=True, dtype=np.float64)
        if (X < 0).any():
            raise ValueError(f"Negative values in data passed to {type(self).__name__}: "
                             + nonpositive_reason(X, np.isfinite(X)))
        self.axis_, self.unit_ = (_known_axis(self.axis, self.unit, X.shape[1]) if self.check_shape
                                  else (None, self.unit))
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        fraction = reflectance_fraction(X, self.percent)
        if self.axis_ is not None:
            QuantityCheck(self.axis_, self.unit_, "reflectance").check(fraction)
        return absorbance(fraction)       # A = log10(1/R), paper Sect. 2.3


def _known_axis(axis, unit: str, n_channels: int):
    """``(axis, unit)`` to check the band shape on: the given axis (None: no shape check)."""
    if axis is None:
        return None, unit
    axis = np.asarray(axis, dtype=np.float64)
    if axis.size != n_channels:
        raise ValueError(f"axis has {axis.size} positions, X has {n_channels} channels")
    return axis, unit
