"""Predictions out: the model bundle of a run, conformal intervals, shift and novelty flags, the ``soilnb`` command."""
from .heads import BundleError, PLSHead, MLPHead, head_from_regressor  # noqa: F401
from .intervals import COVERAGE, Calibration, NoveltyReference, binomial_tolerance, coverage_and_width, physical_bounds  # noqa: F401
from .inference import RANGE_OF_UNIT, GRID_UNITS, STRATEGY_INPUTS, FLAG_COLUMNS, predict_arrays, prepare, reconstruction_error  # noqa: F401
from .bundle import FORMAT, FORMAT_VERSION, Bundle, compatible, read_manifest, load_bundle, bundle_sha256  # noqa: F401
from .build import CAL_FRACTION, bundle_dir, calibration_split, mir_regressors, ran_strategies, fingerprint, build_bundle  # noqa: F401
from .coverage import HALVES, conformal_quantile, halves_coverage, world_coverage, coverage_summary, limesoda_set_coverage, limesoda_coverage  # noqa: F401
from .realdata import LIMESODA_PROPERTY, prediction_view, limesoda_library, apply_to_limesoda  # noqa: F401
from .train import MIN_SAMPLES, TrainingDataError, TrainResult, parse_id_rule, parse_units, labelled_libraries, training_library, train_bundle  # noqa: F401
from .evaluate import SUBSETS, Evaluation, flagged, flag_category, score, evaluation_table, evaluate_bundle  # noqa: F401
from .evaluate_figure import evaluation_figure, save_evaluation_figure  # noqa: F401
from .adapt import MIN_LOCAL, WEIGHTS, AdaptError, AdaptResult, Library, library_of, local_folds, adapt, adapt_bundle  # noqa: F401
from .transfer import TRANSFER_SETS, transfer_bundle, transfer_runs, transfer_table, transfer_checks  # noqa: F401
