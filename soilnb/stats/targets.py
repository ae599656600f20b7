"""Target transformations of the paper (Sect. 2.3): log1p for skewed properties, ILR for texture.

* :func:`ilr` / :func:`ilr_inverse`: isometric log-ratio coordinates of a 3-part composition
  (clay, silt, sand) in the orthonormal Helmert-type basis of Egozcue et al. (2003),
  doi:10.1023/A:1023818214614 (paper Eqs. 8-9).
* :func:`replace_zeros`: multiplicative zero replacement (Martin-Fernandez et al. 2003,
  doi:10.1023/A:1023866030544), applied before taking logs.
* :class:`TargetTransformer`: soil properties (the nine of the paper or any others) <-> model outputs, sklearn style.

The log-ratio functions live in :mod:`soilnb.stats.logratio` and the transform's arithmetic in
:class:`soilnb.stats.fitted.TargetArithmetic` (both without scikit-learn, for ``soilnb predict``); they are
importable from here as before.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import TransformerTags
from sklearn.utils.validation import check_is_fitted

from soilnb.core.vocab import PROPERTIES, TEXTURE
from soilnb.data.properties import TEXTURE_TOLERANCE
from soilnb.stats.fitted import TargetArithmetic
from soilnb.stats.logratio import ZERO_DELTA, helmert_basis, ilr, ilr_inverse, replace_zeros  # noqa: F401

#: Skewness above which a non-negative property of a name outside the vocabulary is modelled on the log1p scale.
SKEW_LIMIT = 1.0


class TargetTransformer(TargetArithmetic, BaseEstimator):
    """Soil properties <-> model outputs (paper Sect. 2.3), for any set of properties.

    Each column of the DataFrame given to :meth:`fit` is one property. ``log1p`` for the properties in
    ``log_properties`` (the paper's TC, TN, IC, EOC, CEC and the common extras, :data:`LOG_PROPERTIES`); a
    property of another name (not pH, not texture) is log-transformed when its training values are
    non-negative and skewed (sample skewness > :data:`SKEW_LIMIT`, decided in :meth:`fit`, so inside the
    training data only); the rest as is. Texture (clay, silt, sand) becomes two ILR coordinates
    (``texture="ilr"``) only when all three parts are present; otherwise the parts present are kept as
    percentages. With ``standardize=True`` each output is then centred and scaled by its training mean and
    standard deviation (ddof=0) so multi-task losses are balanced.

    Parameters
    ----------
    log_properties : tuple of str
    texture : {"ilr", "none"}
    standardize : bool
    total : float
        Texture total used by the inverse ILR (100 for percent).

    Attributes
    ----------
    properties_ : list of str
        The property columns seen in :meth:`fit`, in order (:meth:`inverse_transform` returns them so).
    log_ : list of str
        The properties modelled on the log1p scale.
    output_names_ : list of str
        Names of the output columns, e.g. ``[..., "CEC", "ilr1", "ilr2"]``.
    mean_, scale_ : ndarray of shape (n_outputs,)
        Standardisation (zeros / ones when ``standardize=False``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a transformer (fit/transform/inverse_transform) without TransformerMixin: its input is a
        # DataFrame of property columns, its output always float64
        tags.transformer_tags = TransformerTags()
        return tags

    def _validate_params(self):
        if self.texture not in ("ilr", "none"):
            raise ValueError(f"texture must be 'ilr' or 'none', got {self.texture!r}")
        if set(self.log_properties) & set(TEXTURE):
            raise ValueError("texture fractions cannot be log-transformed; use texture='ilr'")

    def fit(self, df: pd.DataFrame, y=None) -> "TargetTransformer":
        """Learn the properties, their transforms, the output names and (optionally) the standardisation."""
        self._validate_params()
        values = self._columns(df)
        if not values:
            raise ValueError("no property columns to transform")
        self.properties_ = list(values)
        self._ilr_parts = tuple(TEXTURE) if self.texture == "ilr" and all(t in values for t in TEXTURE) else ()
        self.log_ = [p for p in self.properties_ if p in self.log_properties or _skewed_positive(p, values[p])]
        # clipped at 0 on the way back: contents of the vocabulary, and any other property never negative in training
        self._clip = [p for p in self.properties_ if p not in SIGNED
                      and (p in PROPERTIES or p in self.log_ or np.nanmin(values[p], initial=0.0) >= 0)]
        if self._ilr_parts:
            total = sum(values[t] for t in TEXTURE)
            off = np.abs(total - 100) > TEXTURE_TOLERANCE
            if off.any():   # the ILR closure would silently rescale these to 100: say so, never hide it
                warnings.warn(f"texture (clay + silt + sand) sums to {np.nanmin(total[off]):.4g}.."
                              f"{np.nanmax(total[off]):.4g} in {int(off.sum())} of {len(total)} rows, not 100 +- "
                              f"{TEXTURE_TOLERANCE:g} %; the transform closes each to 100 (check with "
                              "soilnb.data.properties.property_quality)", stacklevel=2)
        names = [p for p in self.properties_ if p not in self._ilr_parts]
        self.output_names_ = names + (["ilr1", "ilr2"] if self._ilr_parts else [])
        Z = self._raw_outputs(df)
        if self.standardize:
            self.mean_ = Z.mean(axis=0)
            sd = Z.std(axis=0)
            self.scale_ = np.where(sd > 0, sd, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(Z.shape[1]), np.ones(Z.shape[1])
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Properties DataFrame (n, n_properties) -> outputs ndarray (n, len(output_names_))."""
        check_is_fitted(self, "output_names_")
        return super().transform(df)

    def fit_transform(self, df: pd.DataFrame, y=None) -> np.ndarray:
        return self.fit(df).transform(df)

    def inverse_transform(self, Z) -> pd.DataFrame:
        """Outputs (n, n_outputs) -> DataFrame with the properties of :meth:`fit`, in order.

        ``expm1`` undoes ``log1p``; every property but pH and those seen negative in training is clipped
        at 0; ILR texture is mapped back with :func:`ilr_inverse` (positive, summing to ``total``).
        """
        check_is_fitted(self, "output_names_")
        return super().inverse_transform(Z)


#: Properties that may be negative or are not contents (never clipped at 0 on the way back).
SIGNED = ("pH",)


def _skewed_positive(name: str, v: np.ndarray) -> bool:
    """Log1p for a property outside the vocabulary: non-negative and skewed training values (never pH or texture)."""
    if name in SIGNED or name in TEXTURE or name in PROPERTIES or v.size < 3 or np.nanmin(v) < 0:
        return False
    sd = np.nanstd(v)
    return bool(sd > 0 and np.nanmean(((v - np.nanmean(v)) / sd) ** 3) > SKEW_LIMIT)
