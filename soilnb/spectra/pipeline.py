"""The paper's spectral preprocessing as one scikit-learn pipeline per range (MIR: SNV; NIR: trim, log10(1/R), SNV)."""
from __future__ import annotations

from sklearn.pipeline import Pipeline

from soilnb.core.vocab import NIR_AXIS_NM, NIR_TRIM_NM
from soilnb.spectra.grid import Trim
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
        NIR channel positions in nm (default :data:`NIR_AXIS_NM`); ignored for MIR.
    """
    if kind == "mir":
        return Pipeline([("snv", SNV())])
    if kind == "nir":
        axis = NIR_AXIS_NM if axis is None else axis
        return Pipeline([("trim", Trim(*NIR_TRIM_NM, axis=axis)),
                         ("absorbance", ReflectanceToAbsorbance(percent="auto")),
                         ("snv", SNV())])
    raise ValueError(f"kind must be 'mir' or 'nir', got {kind!r}")
