"""The data layer: the spectral-library container, the simulated soil world and the real OSSL readers."""
from . import (
    ossl,  # noqa: F401
    simulate,  # noqa: F401
)
from .library import (  # noqa: F401
    QUANTITIES,
    UNITS_AXIS,
    SpectralLibrary,
    World,
    estimated_organic_carbon,
)
from .prepare import preprocess_library  # noqa: F401
from .realism import (  # noqa: F401
    NIR_COMMON_NM,
    NIRSOIL_AXIS,
    NIRSOIL_BANDPASS_NM,
    load_real_kssl_toy,
    load_real_nirsoil,
    mean_sd_spectra,
    nir_common_footing,
    nir_realism_auc,
    realism_auc,
)
