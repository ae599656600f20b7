"""Statistics: metrics (Eqs. 10-14), target transforms (log1p, ILR), Xi, shift (Pomerantsev), PLS, CV, splits."""
from .conversion import PLS2Converter, conversion_scores, conversion_table, rmse_by_channel, spectral_correlation  # noqa: F401
from .cv import RepeatedGroupKFold, repeated_cv_pls  # noqa: F401
from .metrics import (  # noqa: F401
    METRIC_NAMES,
    ccc,
    mean_error,
    metrics_table,
    paper_metrics_table,
    r2,
    regression_metrics,
    rmse,
    rpiq,
)
from .pls import PLSR, PerTargetPLSR, pls1_from_gram  # noqa: F401
from .shift import RobustMahalanobis, ShiftDetector, flag_extreme, pomerantsev_limit  # noqa: F401
from .splits import grouped_split  # noqa: F401
from .targets import ZERO_DELTA, TargetTransformer, helmert_basis, ilr, ilr_inverse, replace_zeros  # noqa: F401
from .xi import bin_spectra, xi_correlation, xi_matrix  # noqa: F401
