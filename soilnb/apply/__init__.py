"""Predictions out: the model bundle of a run, conformal intervals, shift and novelty flags, the ``soilnb`` command."""
from soilnb.core.lazy import lazy_exports

# imported on first use (soilnb.core.lazy): the command starts without the stack it does not need
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".heads": ("BundleError", "PLSHead", "MLPHead",),
    ".regressor_heads": ("head_from_regressor",),
    ".intervals": ("COVERAGE", "Calibration", "NoveltyReference", "binomial_tolerance", "coverage_and_width",
        "physical_bounds",),
    ".inference": ("RANGE_OF_UNIT", "GRID_UNITS", "STRATEGY_INPUTS", "FLAG_COLUMNS", "predict_arrays", "prepare",
        "reconstruction_error",),
    ".bundle": ("FORMAT", "FORMAT_VERSION", "Bundle", "compatible", "read_manifest", "load_bundle", "bundle_sha256",),
    ".build": ("CAL_FRACTION", "bundle_dir", "calibration_split", "mir_regressors", "ran_strategies", "fingerprint",
        "build_bundle",),
    ".coverage": ("HALVES", "conformal_quantile", "halves_coverage", "world_coverage", "coverage_summary",
        "limesoda_set_coverage", "limesoda_coverage",),
    ".realdata": ("LIMESODA_PROPERTY", "prediction_view", "limesoda_library", "apply_to_limesoda",),
    ".train": ("MIN_SAMPLES", "TrainingDataError", "TrainResult", "parse_id_rule", "parse_units", "labelled_libraries",
        "training_library", "train_bundle",),
    ".evaluate": ("SUBSETS", "Evaluation", "flagged", "flag_category", "score", "evaluation_table", "evaluate_bundle",),
    ".evaluate_figure": ("evaluation_figure", "save_evaluation_figure",),
    ".adaptation": ("MIN_LOCAL", "WEIGHTS", "AdaptError", "AdaptResult", "Library", "library_of", "local_folds", "adapt",
        "adapt_bundle",),
    ".transfer": ("TRANSFER_SETS", "transfer_bundle", "transfer_runs", "transfer_table", "transfer_checks",),
})
