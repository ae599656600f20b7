"""Statistics: metrics (Eqs. 10-14), target transforms (log1p, ILR), Xi, shift (Pomerantsev), PLS, CV, splits."""
from soilnb.core.lazy import lazy_exports

# imported on first use (soilnb.core.lazy): a bundle's fitted transforms (soilnb.stats.fitted) are applied without
# importing scikit-learn or SciPy, which the estimators here need
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".conversion": ("spectral_correlation", "rmse_by_channel", "conversion_scores", "conversion_table",
                    "PLS2Converter",),
    ".cv": ("RepeatedGroupKFold", "repeated_cv_pls",),
    ".metrics": ("METRIC_NAMES", "rmse", "mean_error", "r2", "ccc", "rpiq", "regression_metrics", "metrics_table",
                 "paper_metrics_table",),
    ".pls": ("pls1_from_gram", "OneOrManyTargets", "PLSR", "PerTargetPLSR",),
    ".shift": ("RobustMahalanobis", "pomerantsev_limit", "ShiftDetector",),
    ".fitted": ("flag_extreme",),
    ".splits": ("grouped_split",),
    ".logratio": ("ZERO_DELTA", "helmert_basis", "replace_zeros", "ilr", "ilr_inverse",),
    ".targets": ("SKEW_LIMIT", "TargetTransformer", "SIGNED",),
    ".xi": ("xi_matrix", "xi_correlation", "bin_spectra",),
    ".": ("conversion", "cv", "fitted", "logratio", "metrics", "pls", "shift", "splits", "targets", "xi",),
})
