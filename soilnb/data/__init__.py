"""The data layer: the spectral-library container, the simulated soil world, the real OSSL readers,
read_spectra for vendor files (OPUS, ASD) and spectral tables, any spectra files as a world, property checks, and the
real sample files (registry, verified local copies: ``python -m soilnb.data fetch|status``)."""
from soilnb.core.lazy import lazy_exports

from .real_registry import read_registry as read_real_registry  # noqa: F401

# imported on first use (soilnb.core.lazy): predicting needs the readers, not the downloads or the simulator
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    ".readers": ("ReadResult", "read_spectra",),
    ".files": ("MODEL_GRIDS", "NOT_PROPERTIES", "library_with_properties", "load_files_library",),
    ".library": ("UNITS_AXIS", "QUANTITIES", "estimated_organic_carbon", "SpectralLibrary", "property_frame",
        "WORLD_LIBRARIES", "World",),
    ".labtable": ("LabTable", "LabTableError", "read_lab_table",),
    ".labjoin": ("JoinResult", "join_lab",),
    ".units": ("MODEL_UNITS", "parse_header", "parse_unit",),
    ".prepare": ("preprocess_library",),
    ".properties": ("NON_NEGATIVE", "PERCENT", "TEXTURE_TOLERANCE", "property_quality",),
    ".realdata": ("Fetched", "MissingDataError", "fetch_real", "real_dir", "real_path", "real_status",),
    ".realism": ("realism_auc", "mean_sd_spectra", "load_real_kssl_toy", "NIRSOIL_AXIS", "NIR_COMMON_NM",
        "NIRSOIL_BANDPASS_NM", "load_real_nirsoil", "nir_common_footing", "nir_realism_auc",),
    ".": ("ossl", "readers", "simulate",),
})
