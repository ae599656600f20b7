"""Spectral preprocessing as scikit-learn transformers and checks on arrays (units, grids, SNV, orientation)."""
from .grid import Resample, Trim, check_grid, drop_nonfinite  # noqa: F401
from .orientation import ORIENTATION_BANDS, check_orientation  # noqa: F401
from .pipeline import spectral_pipeline  # noqa: F401
from .scatter import SNV, snv  # noqa: F401
from .units import (  # noqa: F401
    ABSORBANCE_MAX,
    FRACTION_MAX,
    PERCENT_MAX,
    ReflectanceToAbsorbance,
    cm1_to_nm,
    nm_to_cm1,
    reflectance_fraction,
)
