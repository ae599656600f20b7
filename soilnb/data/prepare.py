"""The paper's preprocessing applied to a whole :class:`~soilnb.data.library.SpectralLibrary` (checks, then the spectral pipeline)."""
from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from soilnb.core.vocab import NIR_TRIM_NM
from soilnb.spectra.grid import Trim
from soilnb.spectra.orientation import check_orientation
from soilnb.spectra.scatter import SNV
from soilnb.spectra.units import ReflectanceToAbsorbance


def preprocess_library(lib):
    """Apply the paper's preprocessing to a :class:`soilnb.data.library.SpectralLibrary`.

    Wavelength libraries (``unit="nm"``, NIR) are trimmed to 1400-2500 nm; reflectance is turned
    into absorbance with :class:`ReflectanceToAbsorbance`; every spectrum then gets :func:`snv`.

    Returns
    -------
    X : ndarray of shape (n_scans, n_channels_out), float32
    axis : ndarray of shape (n_channels_out,)
    """
    X = lib.X
    axis = lib.axis
    check_orientation(X, axis, lib.unit, lib.quantity, name=lib.name or "library")
    steps = []
    if lib.unit == "nm":
        steps.append(("trim", Trim(*NIR_TRIM_NM, axis=axis)))
        axis = axis[(axis >= NIR_TRIM_NM[0]) & (axis <= NIR_TRIM_NM[1])]
    if lib.quantity == "reflectance":
        steps.append(("absorbance", ReflectanceToAbsorbance(percent="auto")))
    steps.append(("snv", SNV()))
    try:
        Xt = Pipeline(steps).fit_transform(X)
    except ValueError as exc:
        raise ValueError(f"{lib.name or 'library'}: {exc}") from exc
    return Xt.astype(np.float32), axis
