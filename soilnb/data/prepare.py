"""The paper's preprocessing applied to a whole :class:`~soilnb.data.library.SpectralLibrary` (checks, then the spectral pipeline).

The steps are those of :func:`soilnb.spectra.pipeline.spectral_pipeline` (Trim, ReflectanceToAbsorbance, SNV), run
as the NumPy functions those transformers call (:mod:`soilnb.spectra.kernels`, :mod:`soilnb.spectra.reflectance`):
the same numbers, without importing scikit-learn, so that ``soilnb predict`` starts fast.
"""
from __future__ import annotations

import warnings

import numpy as np

from soilnb.core.vocab import NIR_TRIM_NM
from soilnb.spectra.bands import orientation_reason, orientation_rows, orientation_verdict
from soilnb.spectra.kernels import finite_matrix, snv, trim_mask
from soilnb.spectra.reflectance import nonpositive_reason, absorbance, reflectance_fraction


def preprocess_library(lib):
    """Apply the paper's preprocessing to a :class:`soilnb.data.library.SpectralLibrary`.

    Wavelength libraries (``unit="nm"``, NIR) are trimmed to 1400-2500 nm; reflectance is turned
    into absorbance as :class:`~soilnb.spectra.units.ReflectanceToAbsorbance` does (percent decided per spectrum,
    A = log10(1/R)); every spectrum then gets :func:`~soilnb.spectra.kernels.snv`.

    Returns
    -------
    X : ndarray of shape (n_scans, n_channels_out), float32
    axis : ndarray of shape (n_channels_out,)
    """
    X = lib.X
    axis = lib.axis
    # judged per spectrum: a library is refused only when every judged spectrum has the other quantity's shape;
    # single odd spectra are named (the readers' quality column flags them too), never silently converted
    agree = orientation_rows(X, axis, lib.unit, lib.quantity)
    orientation_verdict(agree, lib.unit, lib.quantity, name=lib.name or "library", every_row=True)
    odd = np.flatnonzero(agree < 0)
    if odd.size:
        warnings.warn(f"{lib.name or 'library'}: {orientation_reason(lib.unit, lib.quantity)} in {odd.size} of "
                      f"{len(X)} spectra (rows {', '.join(map(str, odd[:8]))}{', ...' if odd.size > 8 else ''}, "
                      f"samples {', '.join(map(str, lib.sample_id[odd[:8]]))})", stacklevel=2)
    # its message names the library; float32 spectra (the libraries' type) stay float32 until SNV widens them
    # block by block: the same numbers as one float64 copy, without it
    Xt = finite_matrix(X, lib.name or "library", keep_float32=True)
    try:
        if lib.unit == "nm":
            mask = trim_mask(axis, *NIR_TRIM_NM, Xt.shape[1])
            Xt, axis = Xt[:, mask], np.asarray(axis, dtype=np.float64)[mask]
        if lib.quantity == "reflectance":      # the band shape was judged above, row by row
            Xt = np.asarray(Xt, dtype=np.float64)
            if (Xt < 0).any():
                raise ValueError("Negative values in data passed to ReflectanceToAbsorbance: "
                                 + nonpositive_reason(Xt, np.isfinite(Xt)))
            Xt = absorbance(reflectance_fraction(Xt, "auto"))
        Xt = snv(Xt, dtype=np.float32)
    except ValueError as exc:
        raise ValueError(f"{lib.name or 'library'}: {exc}") from exc
    return Xt, axis
