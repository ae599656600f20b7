"""Statistics: metrics (Eqs. 10-14), target transforms (log1p, ILR), Xi, shift (Pomerantsev), PLS, CV, splits."""
from .conversion import spectral_correlation, rmse_by_channel, conversion_scores, conversion_table, PLS2Converter  # noqa: F401
from .cv import RepeatedGroupKFold, repeated_cv_pls  # noqa: F401
from .metrics import METRIC_NAMES, rmse, mean_error, r2, ccc, rpiq, regression_metrics, metrics_table, paper_metrics_table  # noqa: F401
from .pls import pls1_from_gram, OneOrManyTargets, PLSR, PerTargetPLSR  # noqa: F401
from .shift import RobustMahalanobis, pomerantsev_limit, flag_extreme, ShiftDetector  # noqa: F401
from .splits import grouped_split  # noqa: F401
from .targets import ZERO_DELTA, helmert_basis, replace_zeros, ilr, ilr_inverse, SKEW_LIMIT, TargetTransformer, SIGNED  # noqa: F401
from .xi import xi_matrix, xi_correlation, bin_spectra  # noqa: F401
