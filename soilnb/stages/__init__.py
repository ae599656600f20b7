"""The paper's stages as cached steps: world and features, VAE, NIR -> MIR, strategies, reliability, ablations."""
from .ablation import AblationResult, fno_ablation, get_fno, ilr_ablation, latent_prior_ablation  # noqa: F401
from .environment import environment_report  # noqa: F401
from .features import DATA_CODE, Features, data_params, get_features, get_world  # noqa: F401
from .latent import (  # noqa: F401
    XiMap,
    activity_table,
    alignment_medians,
    alignment_table,
    latent_size_table,
    reconstruction_examples,
    validation_scans,
    xi_map,
)
from .realism import RealismCheck, mir_realism, nir_realism  # noqa: F401
from .regressions import get_conversions, get_internal_cv, get_regressions  # noqa: F401
from .reliability import (  # noqa: F401
    FLAG_PAIRS,
    LatentShift,
    flag_summary,
    flags_vs_errors,
    internal_vs_independent,
    latent_shift,
    strategy_points,
)
from .strategies import (  # noqa: F401
    Regressor,
    StrategyResults,
    fit_regressor,
    fit_strategies,
    make_mlp,
    qualitative_findings,
    strategy_means,
    strategy_means_vs_paper,
    variant_means,
)
from .training import (  # noqa: F401
    REG_CODE,
    VAE_CODE,
    export_model,
    get_nir_to_mir,
    get_vae,
    model_cache,
    reconstruct,
    reconstruction_scores,
    vae_params,
)
