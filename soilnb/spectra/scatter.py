"""Standard normal variate (Barnes et al. 1989): each spectrum centred and scaled to unit sd (paper Sect. 2.5).

:func:`snv` lives in :mod:`soilnb.spectra.kernels` (without scikit-learn); :class:`SNV` is its transformer."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.spectra.kernels import snv  # noqa: F401 - importable from here as before


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
