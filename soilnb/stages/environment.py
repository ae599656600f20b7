"""The environment report printed at the top of every notebook: versions, git SHA, profile."""
from __future__ import annotations

import platform
import subprocess

import numpy as np
import pandas as pd
import sklearn
import torch

from soilnb import __version__
from soilnb.core import paths
from soilnb.core.config import Config


def environment_report(cfg: Config | None = None) -> str:
    """Versions, git SHA and the active configuration (first cell of every notebook)."""

    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        sha = "unknown"
    lines = [f"soilnb {__version__} (git {sha}); python {platform.python_version()}; numpy {np.__version__}; "
             f"pandas {pd.__version__}; scikit-learn {sklearn.__version__}; torch {torch.__version__} "
             f"(cuda available: {torch.cuda.is_available()})"]
    if cfg is not None:
        lines.append(f"profile={cfg.profile} source={cfg.source} seed={cfg.seed}")
    return "\n".join(lines)
