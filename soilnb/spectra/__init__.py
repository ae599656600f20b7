"""Spectral preprocessing as scikit-learn transformers and checks on arrays (units, grids, SNV, orientation)."""
from .coverage import TOLERANCE, in_unit, coverage_gap, to_grid, common_range  # noqa: F401
from .grid import check_grid, Trim, Resample, drop_nonfinite  # noqa: F401
from .orientation import ORIENTATION_BANDS, CHECK_MIN_T, QuantityCheck, check_orientation, orientation_reason, orientation_rows  # noqa: F401
from .pipeline import spectral_pipeline  # noqa: F401
from .quality import SATURATION_RUN, SATURATION_MIN_ABSORBANCE, FLAT_SD, NOISE_MAX, REFLECTANCE_MAX, FLAGS, spectrum_quality  # noqa: F401
from .scatter import snv, SNV  # noqa: F401
from .units import FRACTION_MAX, ABSORBANCE_MAX, PERCENT_MAX, PERCENT_LIMIT, nm_to_cm1, cm1_to_nm, ReflectanceRows, reflectance_rows, reflectance_fraction, ReflectanceToAbsorbance  # noqa: F401
