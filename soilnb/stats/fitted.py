"""Fitted transforms of :mod:`soilnb.stats` applied without scikit-learn or SciPy.

A model bundle stores the fitted state of its target transforms and shift detectors as arrays; predicting with it
needs only the arithmetic below, so ``soilnb predict`` imports neither scikit-learn nor SciPy at start-up. The
estimators that fit these states (:class:`~soilnb.stats.targets.TargetTransformer`,
:class:`~soilnb.stats.shift.RobustMahalanobis`, :class:`~soilnb.stats.shift.ShiftDetector`) call the same
functions, so a loaded bundle computes the very numbers of the estimators it was built from.

* :class:`TargetArithmetic`: properties <-> model outputs from a target transform's fitted attributes;
  :class:`FittedTargets` holds such a state read back from a bundle.
* :func:`robust_distance`, :func:`flag_extreme`: the robust Mahalanobis distance (paper Eq. 15) and the
  Pomerantsev flag (Eqs. 18-19); :class:`FittedMahalanobis` and :class:`FittedShift` hold a fitted detector's
  state read back from a bundle.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilnb.core.vocab import LOG_PROPERTIES, TEXTURE
from soilnb.stats.logratio import ilr, ilr_inverse


# ------------------------------------------------------------------------------------------ target transforms
class TargetArithmetic:
    """Properties <-> outputs of a fitted target transform: ``log1p`` for the properties in ``log_``, ILR for the
    texture parts ``_ilr_parts``, then standardisation by ``mean_`` / ``scale_``; on the way back ``expm1``,
    clipping at 0 for the properties in ``_clip`` and the inverse ILR to ``total`` (see
    :class:`~soilnb.stats.targets.TargetTransformer`, which fits these attributes). The constructor takes the
    transformer's parameters (documented there), for both it and :class:`FittedTargets`."""

    def __init__(self, log_properties: Sequence[str] = LOG_PROPERTIES,
                 texture: str = "ilr", standardize: bool = True, total: float = 100.0):
        self.log_properties = log_properties
        self.texture = texture
        self.standardize = standardize
        self.total = total

    def _columns(self, df) -> dict[str, np.ndarray]:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a DataFrame with one column per property, got {type(df).__name__}")
        return {str(c): pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) if df[c].dtype == object
                else df[c].to_numpy(dtype=float) for c in df.columns}

    def _raw_outputs(self, df: pd.DataFrame) -> np.ndarray:
        values = self._columns(df)
        missing = [p for p in self.properties_ if p not in values]
        if missing:
            raise ValueError(f"missing property column(s): {missing}")
        cols = []
        for p in self.properties_:
            v = values[p]
            if np.isnan(v).any():
                raise ValueError(f"column {p} contains NaN ({int(np.isnan(v).sum())} of {v.size} rows)")
            if p in self._ilr_parts:
                continue
            if p in self.log_:
                if (v < 0).any():
                    raise ValueError(f"column {p} has negative values; log1p needs >= 0")
                v = np.log1p(v)
            cols.append(v)
        if self._ilr_parts:
            cols.extend(ilr(np.column_stack([values[t] for t in TEXTURE])).T)
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Properties DataFrame (n, n_properties) -> outputs ndarray (n, len(output_names_))."""
        return (self._raw_outputs(df) - self.mean_) / self.scale_

    def inverse_transform(self, Z) -> pd.DataFrame:
        """Outputs (n, n_outputs) -> DataFrame with the fitted properties, in order.

        ``expm1`` undoes ``log1p``; every property but pH and those seen negative in training is clipped
        at 0; ILR texture is mapped back with :func:`~soilnb.stats.logratio.ilr_inverse` (positive, summing to
        ``total``).
        """
        Z = np.asarray(Z, dtype=float)
        if Z.ndim != 2 or Z.shape[1] != len(self.output_names_):
            raise ValueError(f"expected shape (n, {len(self.output_names_)}), got {Z.shape}")
        Z = Z * self.scale_ + self.mean_
        out = {}
        for j, p in enumerate(n for n in self.output_names_ if n not in ("ilr1", "ilr2")):
            v = Z[:, j]
            if p in self.log_:
                v = np.expm1(v)
            out[p] = np.clip(v, 0.0, None) if p in self._clip else v
        if self._ilr_parts:
            tex = ilr_inverse(Z[:, -2:], total=self.total)
            for k, p in enumerate(TEXTURE):
                out[p] = tex[:, k]
        return pd.DataFrame({p: out[p] for p in self.properties_}, columns=list(self.properties_))


class FittedTargets(TargetArithmetic):
    """A fitted :class:`~soilnb.stats.targets.TargetTransformer` read back from its stored state
    (:func:`soilnb.apply.heads.targets_from_state`): the constructor parameters as given here, the fitted
    attributes set on the instance. It transforms and maps back as the transformer does (the same code), and
    :meth:`get_params` lets it be stored again; it cannot be refit.

    Examples
    --------
    >>> t = FittedTargets(standardize=False)
    >>> t.properties_, t.log_, t._clip, t._ilr_parts, t.output_names_ = ["TC", "pH"], ["TC"], ["TC"], (), ["TC", "pH"]
    >>> t.mean_, t.scale_ = np.zeros(2), np.ones(2)
    >>> t.inverse_transform([[np.log1p(2.0), 6.5]]).round(6).to_dict("records")
    [{'TC': 2.0, 'pH': 6.5}]
    """

    _PARAMS = ("log_properties", "standardize", "texture", "total")       # sorted, as scikit-learn lists them

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}


# ------------------------------------------------------------------------------------------ shift
def _finite_rows(Z, n_features: int, who: str) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != n_features:
        raise ValueError(f"{who}: expected an array of shape (n, {n_features}), got {Z.shape}")
    if not np.isfinite(Z).all():
        raise ValueError(f"{who}: input contains NaN or inf")
    return Z


def robust_distance(Z: np.ndarray, median: np.ndarray, iqr: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``d = sqrt(z^T S^+ z)`` per row of ``Z`` (float64), ``z`` the row centred by the training ``median`` and
    scaled by its ``iqr``, ``S^+`` the ``precision`` (paper Eq. 15; the origin is the training median)."""
    z = (Z - median) / iqr
    d2 = np.einsum("ij,jk,ik->i", z, precision, z)
    return np.sqrt(np.maximum(d2, 0.0))


def flag_extreme(d, d0: float, Fd: int, limit: float) -> np.ndarray:
    """Boolean flags ``Fd * d / d0 > limit`` (Eq. 18 against the limit of Eq. 19), shape (n,)."""
    d = np.asarray(d, dtype=float)
    return Fd * d / d0 > limit


class FittedMahalanobis:
    """A fitted :class:`~soilnb.stats.shift.RobustMahalanobis` from its arrays (``median_``, ``iqr_``,
    ``covariance_``, ``precision_``)."""

    def __init__(self, median_, iqr_, covariance_, precision_):
        self.median_, self.iqr_ = np.asarray(median_), np.asarray(iqr_)
        self.covariance_, self.precision_ = np.asarray(covariance_), np.asarray(precision_)
        self.n_features_in_ = self.median_.size

    def distance(self, Z) -> np.ndarray:
        """The robust Mahalanobis distance of each row of ``Z`` (:func:`robust_distance`)."""
        Z = _finite_rows(Z, self.n_features_in_, "RobustMahalanobis")
        return robust_distance(Z, self.median_, self.iqr_, self.precision_)


class FittedShift:
    """A fitted :class:`~soilnb.stats.shift.ShiftDetector` from its state: ``alpha``, ``squared``,
    ``mahalanobis_`` (a :class:`FittedMahalanobis`), ``d0_``, ``Fd_``, ``limit_``, ``train_flag_rate_``."""

    def __init__(self, mahalanobis_: FittedMahalanobis, alpha: float, squared: bool, d0_: float, Fd_: int,
                 limit_: float, train_flag_rate_: float):
        self.alpha, self.squared, self.mahalanobis_ = alpha, squared, mahalanobis_
        self.d0_, self.Fd_, self.limit_, self.train_flag_rate_ = d0_, int(Fd_), limit_, train_flag_rate_
        self.n_features_in_ = mahalanobis_.n_features_in_

    def _stat(self, Z) -> np.ndarray:
        d = self.mahalanobis_.distance(Z)
        return d ** 2 if self.squared else d

    def score(self, Z) -> np.ndarray:
        """Normalised distance ``Fd * d / d0`` per row, comparable to ``limit_``."""
        return self.Fd_ * self._stat(Z) / self.d0_

    def predict(self, Z) -> np.ndarray:
        """True where a row is extreme (outside the training acceptance area), shape (n,)."""
        return flag_extreme(self._stat(Z), self.d0_, self.Fd_, self.limit_)
