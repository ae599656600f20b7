"""Spectral preprocessing as scikit-learn transformers and checks on arrays (units, grids, SNV, orientation).

The arithmetic and the checks are NumPy functions (:mod:`.kernels`, :mod:`.reflectance`, :mod:`.bands`,
:mod:`.coverage`, :mod:`.quality`); the transformers (:mod:`.grid`, :mod:`.scatter`, :mod:`.units`,
:mod:`.orientation`, :mod:`.pipeline`) wrap them for scikit-learn.
"""
from soilnb.core.lazy import lazy_exports

# imported on first use (soilnb.core.lazy): ``soilnb predict`` reads spectra without importing scikit-learn
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".coverage": ("TOLERANCE", "in_unit", "coverage_gap", "to_grid", "common_range",),
    ".grid": ("check_grid", "Trim", "Resample", "drop_nonfinite",),
    ".bands": ("ORIENTATION_BANDS", "CHECK_MIN_T", "FLAT_SD", "check_orientation", "orientation_reason",
               "orientation_rows",),
    ".orientation": ("QuantityCheck",),
    ".pipeline": ("spectral_pipeline",),
    ".quality": ("SATURATION_RUN", "SATURATION_MIN_ABSORBANCE", "NOISE_MAX", "REFLECTANCE_MAX", "FLAGS",
                 "spectrum_quality",),
    ".kernels": ("snv",),
    ".scatter": ("SNV",),
    ".reflectance": ("FRACTION_MAX", "ABSORBANCE_MAX", "PERCENT_MAX", "PERCENT_LIMIT", "nm_to_cm1", "cm1_to_nm",
                     "ReflectanceRows", "reflectance_rows", "reflectance_fraction",),
    ".units": ("ReflectanceToAbsorbance",),
    ".": ("bands", "coverage", "grid", "kernels", "orientation", "pipeline", "quality", "reflectance", "scatter",
          "units",),
})
