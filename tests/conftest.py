import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Notebooks run by nbval write their figures here, not over the ones run_all.sh made.
os.environ.setdefault("SOILNB_FIGURES", str(ROOT / "build" / "test-figures"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def real_dir():
    """The shared real sample files; tests using it skip with a clear message when absent."""
    from soilnb.core import paths

    if not paths.REAL.is_dir():
        pytest.skip(f"real sample files not found at {paths.REAL} (set SOILNB_SHARED to the folder holding data/real)")
    return paths.REAL
