"""The lowest layer: the paper's vocabulary, paths, the run configuration and the content-keyed cache."""
from .lazy import lazy_exports

# imported on first use (soilnb.core.lazy): the command starts without the stack it does not need
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".cache": ("CacheError", "json_default", "canonical_json", "cache_key", "code_hash", "file_sha256", "atomic_path",
        "artifact_path", "verify", "cached",),
    ".config": ("STAGES", "STAGE_DEPENDS", "CHOICES", "key", "Config", "PROFILES", "validate", "get_config",
        "from_notebook", "main",),
    ".paths": ("ROOT", "absolute", "DATA", "CACHE", "FIGURES", "BUILD", "NOTEBOOKS", "SHARED", "REAL", "ensure",),
    ".vocab": ("PROPERTIES", "PAPER_NAMES", "UNITS", "OSSL_COLUMNS", "EXTRA_OSSL_COLUMNS", "EXTRA_UNITS",
        "LOG_PROPERTIES", "CARBONATE_C_FRACTION", "NIR_AXIS_NM", "NIR_TRIM_NM", "MIR_AXIS_CM1", "STRATEGIES",
        "PAPER_TEXT_MEANS", "COLORS", "SHORT_INPUT", "HATCH", "TEXTURE", "ILR_COLORS", "DATASET_NAMES",
        "DATASETS", "THRESHOLDS", "PAPER_COMPLETE_SHARE",),
})
