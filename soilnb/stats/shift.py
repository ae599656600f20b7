"""Distribution-shift statistics (paper Sect. 2.5, Eqs. 15-19).

* :class:`RobustMahalanobis`: features centred by the training median and scaled by the
  training interquartile range, then the Mahalanobis distance (Eq. 15) with the covariance of
  the scaled training data.
* :func:`pomerantsev_limit` / :func:`flag_extreme`: the data-driven chi-square acceptance limit
  of Pomerantsev (2008), doi:10.1002/cem.1147 (Eqs. 16-19), extended in Pomerantsev and
  Rodionova (2014), doi:10.1002/cem.2506.
* :class:`ShiftDetector`: the two bundled (fit on training embeddings, flag new ones).

The distance and the flag are computed by :mod:`soilnb.stats.fitted` (without scikit-learn or SciPy), which also
applies a fitted detector read back from a model bundle.

Note on Eq. 15: the paper writes ``d = sqrt(z^T S^-1 z)`` but Pomerantsev's chi-square scaling
(Eq. 18) is derived for the *squared* distance (a sum of squared scores), which is
chi-square distributed for Gaussian data. :class:`RobustMahalanobis` returns ``d`` as in Eq. 15
(``squared=False``), and :class:`ShiftDetector` applies Eqs. 16-19 to ``d`` by default
(``squared=False``, the paper's choice) or to ``d**2`` (``squared=True``, Pomerantsev's). The
tests document what share of Gaussian training points each choice flags at alpha = 0.05.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.stats.fitted import flag_extreme, robust_distance  # noqa: F401 - flag_extreme importable from here


class RobustMahalanobis(TransformerMixin, BaseEstimator):
    """Mahalanobis distance on median/IQR-scaled features (paper Eq. 15).

    Attributes
    ----------
    median_, iqr_ : ndarray of shape (n_features,)
        Training median and interquartile range (Q3 - Q1, numpy linear quantiles).
    covariance_ : ndarray of shape (n_features, n_features)
        Covariance (ddof=1) of the scaled training data.
    precision_ : ndarray of shape (n_features, n_features)
        Moore-Penrose pseudo-inverse of ``covariance_``.
    """

    def fit(self, Z, y=None) -> "RobustMahalanobis":
        """Store median, IQR, covariance and its pseudo-inverse of ``Z`` (n, p)."""
        Z = validate_data(self, Z, reset=True, dtype=np.float64, ensure_min_samples=2)
        q1, self.median_, q3 = np.quantile(Z, [0.25, 0.5, 0.75], axis=0)
        iqr = q3 - q1
        if (iqr == 0).any():
            raise ValueError(f"feature(s) {np.flatnonzero(iqr == 0).tolist()} have zero IQR")
        self.iqr_ = iqr
        Zs = (Z - self.median_) / self.iqr_
        self.covariance_ = np.atleast_2d(np.cov(Zs, rowvar=False))
        self.precision_ = np.linalg.pinv(self.covariance_, hermitian=True)
        return self

    def distance(self, Z) -> np.ndarray:
        """``d = sqrt(z^T S^+ z)`` per row, shape (n,), with ``z`` the median/IQR-scaled row.

        Note that ``z`` is *not* re-centred on the scaled training mean: following the paper,
        the origin is the training median.
        """
        check_is_fitted(self, "precision_")
        Z = validate_data(self, Z, reset=False, dtype=np.float64)
        return robust_distance(Z, self.median_, self.iqr_, self.precision_)

    def transform(self, Z) -> np.ndarray:
        """Same as :meth:`distance`: ``d`` of shape (n,)."""
        return self.distance(Z)


def pomerantsev_limit(d_train, alpha: float = 0.05) -> dict[str, float]:
    """Data-driven chi-square critical limit, Eqs. 16-19 (Pomerantsev 2008).

    ``d0 = mean(d)`` (Eq. 16), ``Fd = int(2 d0^2 / var(d))`` with the population variance
    (Eq. 17, floored at 1), ``limit = chi2.ppf(1 - alpha, Fd)`` (Eq. 19).

    Returns
    -------
    dict with keys ``d0``, ``Fd`` (int) and ``limit``.
    """
    d = np.asarray(d_train, dtype=float)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"d_train must be 1-d with >= 2 values, got shape {d.shape}")
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError("d_train must be non-negative and free of NaN")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    d0 = float(d.mean())
    var = float(np.mean((d - d0) ** 2))
    if var == 0:
        raise ValueError("d_train is constant: degrees of freedom undefined")
    Fd = max(int(2.0 * d0 ** 2 / var), 1)
    return {"d0": d0, "Fd": Fd, "limit": float(chi2.ppf(1.0 - alpha, Fd))}


class ShiftDetector(BaseEstimator):
    """Flag samples outside the training distribution of embeddings (Eqs. 15-19).

    Parameters
    ----------
    alpha : float
        Significance level (paper: 0.05).
    squared : bool
        Apply Eqs. 16-19 to ``d**2`` (Pomerantsev's chi-square model) instead of ``d``
        (the paper's notation). Default False, as in the paper.

    Attributes
    ----------
    mahalanobis_ : RobustMahalanobis
    d0_, Fd_, limit_ : float, int, float
    train_flag_rate_ : float
        Share of training rows flagged.
    n_features_in_ : int
    """

    def __init__(self, alpha: float = 0.05, squared: bool = False):
        self.alpha = alpha
        self.squared = squared

    def _stat(self, Z) -> np.ndarray:
        validate_data(self, Z, reset=False, dtype=np.float64)    # width and names, in this class's name
        d = self.mahalanobis_.distance(Z)
        return d ** 2 if self.squared else d

    def fit(self, Z, y=None) -> "ShiftDetector":
        validate_data(self, Z, reset=True, dtype=np.float64, ensure_min_samples=2)   # sets n_features_in_
        self.mahalanobis_ = RobustMahalanobis().fit(Z)
        s = self._stat(Z)
        lim = pomerantsev_limit(s, self.alpha)
        self.d0_, self.Fd_, self.limit_ = lim["d0"], lim["Fd"], lim["limit"]
        self.train_flag_rate_ = float(self.predict(Z).mean())
        return self

    def score(self, Z, y=None) -> np.ndarray:
        """Normalised distance ``Fd * d / d0`` per row (n,), comparable to ``limit_`` (``y`` is ignored)."""
        check_is_fitted(self, "limit_")
        return self.Fd_ * self._stat(Z) / self.d0_

    def predict(self, Z) -> np.ndarray:
        """True where a row is extreme (outside the training acceptance area), shape (n,)."""
        check_is_fitted(self, "limit_")
        return flag_extreme(self._stat(Z), self.d0_, self.Fd_, self.limit_)
