"""The scratch folder of a benchmark: made under the system's temporary folder, removed afterwards unless kept."""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def scratch_folder(prefix: str, keep: bool = False):
    """Yield a new temporary folder; remove it when the block ends, or print where it is with ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
