"""The data layer: the spectral-library container, the simulated soil world, the real OSSL readers,
read_spectra for vendor files (OPUS, ASD) and spectral tables, any spectra files as a world, property checks, and the
real sample files (registry, verified local copies: ``python -m soilnb.data fetch|status``)."""
from .readers import ReadResult, read_spectra  # noqa: F401
from .files import MODEL_GRIDS, NOT_PROPERTIES, library_with_properties, load_files_library  # noqa: F401
from .library import UNITS_AXIS, QUANTITIES, estimated_organic_carbon, SpectralLibrary, property_frame, WORLD_LIBRARIES, World  # noqa: F401
from .labtable import LabTable, LabTableError, read_lab_table  # noqa: F401
from .labjoin import JoinResult, join_lab  # noqa: F401
from .units import MODEL_UNITS, parse_header, parse_unit  # noqa: F401
from .prepare import preprocess_library  # noqa: F401
from .properties import NON_NEGATIVE, PERCENT, TEXTURE_TOLERANCE, property_quality  # noqa: F401
from .realdata import Fetched, MissingDataError, fetch_real, real_dir, real_path, real_status  # noqa: F401
from .real_registry import read_registry as read_real_registry  # noqa: F401
from .realism import realism_auc, mean_sd_spectra, load_real_kssl_toy, NIRSOIL_AXIS, NIR_COMMON_NM, NIRSOIL_BANDPASS_NM, load_real_nirsoil, nir_common_footing, nir_realism_auc  # noqa: F401
from . import ossl  # noqa: F401
from . import readers  # noqa: F401
from . import simulate  # noqa: F401
