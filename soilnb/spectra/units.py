"""Spectral units and quantities (paper Sect. 2.5): nm <-> cm-1, reflectance as a fraction, and
:class:`ReflectanceToAbsorbance` (A = log10(1/R)) with the checks that tell reflectance from absorbance.

Every transformer follows the chemotools / scikit-learn skeleton: ``__init__`` only stores its
arguments; ``fit`` checks them and calls :func:`sklearn.utils.validation.validate_data`; ``transform``
calls :func:`~sklearn.utils.validation.check_is_fitted` first; fitted attributes end in ``_``."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

#: Thresholds of the reflectance / percent / absorbance heuristic (see ReflectanceToAbsorbance).
FRACTION_MAX = 1.5
ABSORBANCE_MAX = 5.0
PERCENT_MAX = 100.0


# ---------------------------------------------------------------------------------- unit helpers
def nm_to_cm1(x):
    """Wavelength (nm) to wavenumber (cm-1): ``1e7 / nm`` (2500 nm -> 4000 cm-1)."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x <= 0):
        raise ValueError("wavelengths must be > 0 nm")
    return 1e7 / x


def cm1_to_nm(x):
    """Wavenumber (cm-1) to wavelength (nm): ``1e7 / cm-1`` (4000 cm-1 -> 2500 nm)."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x <= 0):
        raise ValueError("wavenumbers must be > 0 cm-1")
    return 1e7 / x


# --------------------------------------------------------------------------- reflectance -> A
def reflectance_fraction(X, percent="auto", name: str = "") -> np.ndarray:
    """Check that ``X`` holds reflectance and return it as a fraction in (0, ~1].

    The heuristic (on all finite values; NaN/inf are left for :func:`drop_nonfinite`):

    * a value <= 0: rejected. Reflectance is positive; negative values mean the data are already
      absorbance (baseline-corrected log units often dip below 0), zeros would give ``inf``.
    * ``max > PERCENT_MAX`` (100): rejected, neither fraction nor percent.
    * ``max <= FRACTION_MAX`` (1.5): a fraction. Values slightly above 1 occur on real scanners
      (19 OSSL NeoSpectra scans exceed the white reference) and give slightly negative A.
    * ``FRACTION_MAX < max <= ABSORBANCE_MAX`` (5): too large for a fraction and too small for
      soil reflectance in percent, but the usual range of log10(1/R) (soil MIR absorbance spans
      about 0.1-3): rejected as "looks like absorbance, not reflectance" (unless ``percent=True``).
    * ``ABSORBANCE_MAX < max <= 100``: percent. ``percent="auto"`` divides by 100 with a warning,
      ``percent=True`` divides silently, ``percent=False`` raises.

    It cannot tell NIR *absorbance* in 0.1-1.5 from a reflectance fraction; the loaders know the
    quantity from the OSSL column suffix (``_ref`` / ``_abs``).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_channels)
    percent : {"auto", True, False}
        ``True`` with data whose maximum is <= 1.5 raises (they look like fractions).
    name : str
        Prefix of error messages (a file or library name).

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), float64
    """
    if percent not in ("auto", True, False):
        raise ValueError(f"percent must be 'auto', True or False, got {percent!r}")
    X = np.asarray(X, dtype=np.float64)
    where = f"{name}: " if name else ""
    finite = np.isfinite(X)
    if not finite.any():
        return X
    vmin, vmax = float(X[finite].min()), float(X[finite].max())
    if vmin <= 0:
        raise ValueError(where + _nonpositive_reason(X, finite))
    if vmax > PERCENT_MAX:
        raise ValueError(f"{where}reflectance up to {vmax:.4g} is neither a fraction (<= {FRACTION_MAX}) "
                         f"nor a percentage (<= {PERCENT_MAX:g})")
    if percent is True:
        if vmax <= FRACTION_MAX:
            raise ValueError(f"{where}percent=True but the maximum is {vmax:.4g}: these look like "
                             "reflectance fractions; use percent=False")
        return X / 100.0
    if vmax <= FRACTION_MAX:
        return X
    if vmax <= ABSORBANCE_MAX:
        raise ValueError(
            f"{where}input looks like absorbance, not reflectance: values {vmin:.4g}..{vmax:.4g} exceed a "
            f"reflectance fraction (<= {FRACTION_MAX}) but lie in the usual log10(1/R) range "
            f"(<= {ABSORBANCE_MAX:g}); absorbance needs no conversion")
    if percent is False:
        raise ValueError(f"{where}reflectance up to {vmax:.4g} looks like percent, not a fraction; "
                         "pass percent=True (or 'auto') or divide by 100")
    warnings.warn(f"{where}reflectance up to {vmax:.4g} looks like percent; dividing by 100 "
                  "(pass percent=True to silence)", UserWarning, stacklevel=3)
    return X / 100.0


def _nonpositive_reason(X, finite) -> str:
    """Why ``X`` (with finite values <= 0) cannot be reflectance, naming the first rows."""
    bad = np.flatnonzero((np.where(finite, X, 1.0) <= 0).any(axis=1))
    vmin = float(X[finite].min())
    rows = ", ".join(map(str, bad[:5])) + (" ..." if bad.size > 5 else "")
    hint = "; these data look like absorbance, not reflectance" if vmin < 0 else " (log10(1/0) is infinite)"
    return (f"reflectance must be > 0, found values <= 0 (min {vmin:.4g}) in "
            f"{bad.size} row(s), e.g. row {rows}{hint}")


class ReflectanceToAbsorbance(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Pseudo-absorbance ``A = log10(1 / R)`` of reflectance spectra (paper Sect. 2.3).

    ``R`` must be a reflectance *fraction*; percent is detected and absorbance rejected by the
    heuristic of :func:`reflectance_fraction` (thresholds :data:`FRACTION_MAX` = 1.5,
    :data:`ABSORBANCE_MAX` = 5, :data:`PERCENT_MAX` = 100).

    Parameters
    ----------
    percent : {"auto", True, False}, default "auto"
        Whether the input is reflectance in percent (see above). ``True`` with data whose
        maximum is <= 1.5 raises (they look like fractions).

    Attributes
    ----------
    n_features_in_ : int

    Notes
    -----
    :meth:`fit` rejects negative values (scikit-learn's ``positive_only`` input tag); the full
    heuristic (zeros, percent, absorbance-like ranges) runs in :meth:`transform`.

    Examples
    --------
    >>> ReflectanceToAbsorbance().fit_transform([[0.1, 1.0]])
    array([[1., 0.]])
    """

    def __init__(self, percent="auto"):
        self.percent = percent

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
                             + _nonpositive_reason(X, np.isfinite(X)))
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.log10(1.0 / reflectance_fraction(X, self.percent))   # A = log10(1/R), paper Sect. 2.3
