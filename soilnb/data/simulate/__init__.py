"""The simulated soil world (embedded default): composition, band physics, instruments, five libraries."""
from .bands import (  # noqa: F401
    BANDS,
    CONSTITUENTS,
    MIR_BANDS,
    NEOSPECTRA_RESOLUTION_CM1,
    NIR_BANDS,
    band_matrix,
    gaussian_blur_matrix,
    neospectra_fwhm_nm,
    pseudo_voigt,
)
from .composition import (  # noqa: F401
    CLAY_MINERAL_ALPHA,
    DOLOMITE_TO_CACO3,
    FELDSPAR_AB,
    MISSING_RATES,
    OM_PER_OC,
    PROFILES,
    WATER_BASE,
    WATER_PER_CLAY,
    WATER_SD,
    apply_missingness,
    sample_soils,
)
from .physics import DRIFT, INSTRUMENTS, NIR, DriftPhysics, Instrument, NirPhysics  # noqa: F401
from .spectra import mir_spectra, nir_spectra  # noqa: F401
from .world import MIR_AXIS_CM1, NIR_AXIS_NM, simulate_world  # noqa: F401
