"""The paper's spectral preprocessing as one scikit-learn pipeline per range (MIR: SNV; NIR: trim, log10(1/R), SNV)."""
from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, NIR_TRIM_NM
from soilnb.spectra.grid import Trim
from soilnb.spectra.orientation import QuantityCheck
from soilnb.spectra.scatter import SNV
from soilnb.spectra.units import ReflectanceToAbsorbance


# ------------------------------------------------------------------------------------- pipelines
def spectral_pipeline(kind: str, axis=None) -> Pipeline:
    """The paper's preprocessing (Sect. 2.3) as an unfitted :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    kind : {"mir", "nir"}
        ``"mir"``: absorbance -> SNV. ``"nir"``: reflectance -> trim to :data:`NIR_TRIM_NM`
        -> log10(1/R) -> SNV.
    axis : array-like, optional
        Channel positions: nm for NIR (default :data:`NIR_AXIS_NM`), cm-1 for MIR (default
        :data:`MIR_AXIS_CM1`). Both pipelines check the declared quantity by band shape
        (:class:`~soilnb.spectra.orientation.QuantityCheck`): MIR reflectance given to the MIR pipeline, or
        NIR absorbance to the NIR one, is refused, not turned into finite nonsense.
    """
    if kind == "mir":       # without an axis, data of the model grid's width are checked on it, others are not
        return Pipeline([("absorbance", QuantityCheck(axis, "cm-1", "absorbance", default_axis=MIR_AXIS_CM1)),
                         ("snv", SNV())])
    if kind == "nir":
        axis = NIR_AXIS_NM if axis is None else np.asarray(axis, dtype=np.float64)
        kept = axis[(axis >= NIR_TRIM_NM[0]) & (axis <= NIR_TRIM_NM[1])]
        return Pipeline([("trim", Trim(*NIR_TRIM_NM, axis=axis)),
                         ("absorbance", ReflectanceToAbsorbance(percent="auto", axis=kept, unit="nm")),
                         ("snv", SNV())])
    raise ValueError(f"kind must be 'mir' or 'nir', got {kind!r}")
