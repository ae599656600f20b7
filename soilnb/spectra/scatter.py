"""Standard normal variate (Barnes et al. 1989): each spectrum centred and scaled to unit sd (paper Sect. 2.5)."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


# ------------------------------------------------------------------------------------------- SNV
def snv(X, ddof: int = 0) -> np.ndarray:
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

    Returns
    -------
    ndarray of shape (n_spectra, n_channels), float64

    Raises
    ------
    ValueError
        If a spectrum is constant (std 0) or holds NaN or inf, naming its rows.

    Examples
    --------
    >>> snv([[1.0, 2.0, 3.0]]).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
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
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, ddof=ddof, keepdims=True)
    return (X - mean) / std


class SNV(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standard normal variate transformer (row-wise centring and scaling).

    Stateless: each spectrum is scaled by its own mean and standard deviation (Barnes et al. 1989,
    doi:10.1366/0003702894202201), see :func:`snv`.

    Parameters
    ----------
    ddof : {0, 1}, default 0
        Delta degrees of freedom of the per-spectrum standard deviation.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> SNV().fit_transform([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]).round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, ddof: int = 0):
        self.ddof = ddof

    def fit(self, X, y=None):
        if self.ddof not in (0, 1):
            raise ValueError(f"ddof must be 0 or 1, got {self.ddof!r}")
        validate_data(self, X, reset=True, dtype=np.float64)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        # reset=False: keep n_features_in_ from fit and check X against it
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return snv(X, ddof=self.ddof)
