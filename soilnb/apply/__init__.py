"""Predictions out: the model bundle of a run, conformal intervals, shift and novelty flags, the ``soilnb`` command."""
from .heads import BundleError, PLSHead, MLPHead, head_from_regressor  # noqa: F401
from .intervals import COVERAGE, Calibration, NoveltyReference, binomial_tolerance, coverage_and_width, physical_bounds  # noqa: F401
from .inference import RANGE_OF_UNIT, GRID_UNITS, STRATEGY_INPUTS, FLAG_COLUMNS, predict_arrays, prepare, reconstruction_error  # noqa: F401
from .bundle import FORMAT, FORMAT_VERSION, Bundle, compatible, read_manifest, load_bundle, bundle_sha256  # noqa: F401
from .build import CAL_FRACTION, calibration_split, mir_regressors, ran_strategies, fingerprint, build_bundle  # noqa: F401
