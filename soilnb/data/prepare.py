"""The paper's preprocessing applied to a whole :class:`~soilnb.data.library.SpectralLibrary` (checks, then the spectral pipeline)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.pipeline import Pipeline

from soilnb.core.vocab import NIR_TRIM_NM
from soilnb.spectra.grid import Trim
from soilnb.spectra.orientation import check_orientation, orientation_reason, orientation_rows
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
    # judged per spectrum: a library is refused only when every judged spectrum has the other quantity's shape;
    # single odd spectra are named (the readers' quality column flags them too), never silently converted
    check_orientation(X, axis, lib.unit, lib.quantity, name=lib.name or "library", every_row=True)
    odd = np.flatnonzero(orientation_rows(X, axis, lib.unit, lib.quantity) < 0)
    if odd.size:
        warnings.warn(f"{lib.name or 'library'}: {orientation_reason(lib.unit, lib.quantity)} in {odd.size} of "
                      f"{len(X)} spectra (rows {', '.join(map(str, odd[:8]))}{', ...' if odd.size > 8 else ''}, "
                      f"samples {', '.join(map(str, lib.sample_id[odd[:8]]))})", stacklevel=2)
    steps = []
    if lib.unit == "nm":
        steps.append(("trim", Trim(*NIR_TRIM_NM, axis=axis)))
        axis = axis[(axis >= NIR_TRIM_NM[0]) & (axis <= NIR_TRIM_NM[1])]
    if lib.quantity == "reflectance":      # the band shape was judged above, row by row
        steps.append(("absorbance", ReflectanceToAbsorbance(percent="auto", check_shape=False)))
    steps.append(("snv", SNV()))
    try:
        Xt = Pipeline(steps).fit_transform(X)
    except ValueError as exc:
        raise ValueError(f"{lib.name or 'library'}: {exc}") from exc
    return Xt.astype(np.float32), axis
