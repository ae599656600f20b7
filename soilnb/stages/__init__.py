"""The paper's stages as cached steps: world and features, VAE, NIR -> MIR, strategies, reliability, ablations."""
from .ablation import AblationResult, ilr_ablation, get_fno, fno_ablation, latent_prior_ablation  # noqa: F401
from .environment import environment_report  # noqa: F401
from .features import DATA_CODE, get_world, files_world, data_params, world_key, world_content_key, world_of, Features, modelled_properties, get_features  # noqa: F401
from .latent import activity_table, validation_scans, latent_size_table, reconstruction_examples, XiMap, xi_map, alignment_table, alignment_medians  # noqa: F401
from .limesoda import LIMESODA_STRATEGIES, PUBLISHED_FILE, CODE, Fold, fold_data, Settings, profile_settings, fold_settings, fit_predict_fold, out_of_fold, pooled_scores, limesoda_predictions, limesoda_timings, limesoda_benchmark, read_published, compare_with_published, win_summary  # noqa: F401
from .limesoda_data import LIMESODA_RANGES, LIMESODA_SETS, LIMESODA_SMOKE_SETS, LOG_TARGETS, NONNEGATIVE_TARGETS, MAX_NN_CHANNELS, LimeSoDaSet, require_limesoda, dataset_digest, load_set, absorbance_snv, bin_channels  # noqa: F401
from .plan import NOTEBOOK_NEEDS, notebook_plan, get_models  # noqa: F401
from .realism import RealismCheck, mir_realism, nir_realism  # noqa: F401
from .regressions import get_conversions, get_regressions, get_internal_cv  # noqa: F401
from .reliability import strategy_points, internal_vs_independent, LatentShift, latent_shift, FLAG_PAIRS, flags_vs_errors, flag_summary  # noqa: F401
from .strategies import make_mlp, Regressor, fit_regressor, StrategyResults, NEEDS, LIBRARY_NAMES, REGRESSORS, available_strategies, fit_strategies, strategy_means, qualitative_findings, strategy_means_vs_paper, variant_means  # noqa: F401
from .training import VAE_CODE, REG_CODE, model_cache, vae_params, get_vae, PARALLEL_MIN_STEPS, get_vaes, is_cached, reconstruct, reconstruction_scores, get_nir_to_mir, export_model  # noqa: F401
