"""The train/validation split by sample id that every model uses, so scan repeats never straddle it."""
from __future__ import annotations

import numpy as np


def grouped_split(sample_id, val_fraction: float = 0.2, seed: int = 0):
    """Split rows into train/validation by sample id, so that no sample straddles the two.

    Parameters
    ----------
    sample_id : array-like of shape (n_rows,)
        Sample identifier of each row (scan repeats share it).
    val_fraction : float in (0, 1)
        Fraction of *samples* (not rows) put into validation, rounded, at least one of each.
    seed : int
        Seed of the permutation of the sorted unique ids (``np.random.default_rng``).

    Returns
    -------
    train_idx, val_idx : ndarray of int64
        Sorted row indices.
    """
    ids = np.asarray(sample_id)
    if ids.ndim != 1:
        raise ValueError(f"sample_id must be 1-D, got shape {ids.shape}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    uniq, inverse = np.unique(ids, return_inverse=True)
    if len(uniq) < 2:
        raise ValueError(f"grouped_split needs at least 2 distinct sample ids, got {len(uniq)}")
    n_val = min(max(int(round(val_fraction * len(uniq))), 1), len(uniq) - 1)
    val_groups = np.random.default_rng(seed).permutation(len(uniq))[:n_val]
    is_val = np.isin(inverse, val_groups)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
