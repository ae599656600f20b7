"""The command's defaults and the bundle error, in a module that imports nothing.

``soilnb --help`` must start at once: the parser shows these defaults before any command (and its numpy,
scikit-learn or torch) is imported, so they live here and the modules that use them import them from here.
"""
from __future__ import annotations

from pathlib import Path

#: Nominal coverage of the intervals unless asked otherwise.
COVERAGE = 0.9
#: Fewer samples (with every modelled property) than this and :func:`~soilnb.apply.train.train_bundle` refuses
#: to train: the calibration set holds :data:`~soilnb.apply.build.CAL_FRACTION` of them, and a 90 %
#: split-conformal interval needs at least 9 calibration samples to be finite (10 here, with a margin for the
#: grouped split).
MIN_SAMPLES = 50
#: The candidate weights (copies) of the local samples in an adaptation's spiked fit.
WEIGHTS = (1, 4, 16, 64, 256)
#: Folds of the out-of-fold residuals that calibrate adapted intervals (leave-one-out below this many samples).
OUTER_FOLDS = 10


def evaluation_figure(output: str, figure: str | None) -> Path | None:
    """Where ``soilnb evaluate`` draws its figure: ``--figure``, else the CSV's name with ``.png``; None for
    ``--figure none``."""
    if (figure or "").lower() == "none":
        return None
    return Path(figure or Path(output).with_suffix(".png"))


class BundleError(ValueError):
    """A bundle cannot be written or read: the message names the file (or the part) and what is wrong."""
