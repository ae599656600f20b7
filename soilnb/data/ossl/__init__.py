"""Real OSSL v1.2 files: download with a hash registry, table readers, the pluggable test set, the world."""
from .files import (  # noqa: F401
    OSSL_BASE_URL,
    OSSL_FILES,
    REGISTRY,
    download,
    read_registry,
    record_hash,
    verify_files,
)
from .format import (  # noqa: F401
    COUNTRY_COL,
    DATASET_COL,
    KSSL_CODE,
    LAYER_COL,
    MIR_RE,
    NEOSPECTRA_CODE,
    NIR_RE,
    SAMPLE_COL,
    SCAN_COL,
    OSSLFormatError,
    kssl_layer_uuid,
)
from .loaders import load_kssl, load_neospectra, load_world  # noqa: F401
from .tables import read_mir_table, read_nir_table, read_soillab  # noqa: F401
from .testset import (  # noqa: F401
    TEST_ID_COLUMNS,
    load_test_set,
    read_ossl_sample_mir,
    read_ossl_sample_neospectra,
)
