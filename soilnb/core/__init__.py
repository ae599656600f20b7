"""The lowest layer: the paper's vocabulary, paths, the run configuration and the content-keyed cache."""
from .cache import CacheError, json_default, canonical_json, cache_key, code_hash, file_sha256, atomic_path, artifact_path, verify, cached  # noqa: F401
from .config import STAGES, STAGE_DEPENDS, CHOICES, key, Config, PROFILES, validate, get_config, from_notebook, main  # noqa: F401
from .paths import ROOT, absolute, DATA, CACHE, FIGURES, BUILD, NOTEBOOKS, SHARED, REAL, ensure  # noqa: F401
from .vocab import PROPERTIES, PAPER_NAMES, UNITS, OSSL_COLUMNS, EXTRA_OSSL_COLUMNS, EXTRA_UNITS, LOG_PROPERTIES, CARBONATE_C_FRACTION, NIR_AXIS_NM, NIR_TRIM_NM, MIR_AXIS_CM1, STRATEGIES, PAPER_TEXT_MEANS, COLORS, SHORT_INPUT, HATCH, TEXTURE, ILR_COLORS, DATASET_NAMES, DATASETS, THRESHOLDS, PAPER_COMPLETE_SHARE  # noqa: F401
