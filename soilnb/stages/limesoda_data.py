"""LimeSoDa's single-range spectral datasets as arrays: loading, preprocessing, target transforms.

The benchmark protocol that uses them is :mod:`soilnb.stages.limesoda` (its docstring describes the
preprocessing: % reflectance -> fraction -> log10(1/R) -> SNV, values above 100 % kept; the networks' inputs
binned to at most 512 channels; log1p for SOC and SOM, clipping at 0 after back-transformation).
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilnb.spectra import ReflectanceToAbsorbance, snv

try:                                   # optional: the benchmark says how to install it when it is missing
    import LimeSoDa
except ImportError:                    # pragma: no cover - depends on the environment
    LimeSoDa = None

#: The 13 LimeSoDa datasets with laboratory spectra of a single range, by range (the reference file's labels).
LIMESODA_RANGES = {**dict.fromkeys(("H.138", "NRW.115", "NRW.62", "NRW.42", "O.32"), "MIR"),
                   **dict.fromkeys(("CV.98", "SC.93", "SL.125", "UL.120", "SSP.460", "SP.231", "MG.44", "SSP.58"),
                                   "visNIR")}
LIMESODA_SETS = tuple(LIMESODA_RANGES)
#: The smoke profile's datasets: a small MIR set and a small vis-NIR set.
LIMESODA_SMOKE_SETS = ("NRW.42", "MG.44")
#: Targets whose values are log1p-transformed for fitting (carbon, as the paper does).
LOG_TARGETS = ("SOC", "SOM")
#: Targets clipped at 0 after back-transformation.
NONNEGATIVE_TARGETS = ("SOC", "SOM", "Clay")
MAX_NN_CHANNELS = 512


# ------------------------------------------------------------------------------------------------ data
@dataclass
class LimeSoDaSet:
    """One dataset: raw % reflectance (n, K) on ``axis`` (nm ascending or cm-1 descending), targets, folds."""

    name: str
    spectral_range: str
    axis: np.ndarray
    unit: str
    raw: np.ndarray
    targets: pd.DataFrame          # columns e.g. SOC, pH, Clay (the names of the published table)
    folds: np.ndarray              # outer fold of each row, 1..10

    @property
    def n(self) -> int:
        return len(self.raw)


def require_limesoda():
    """The ``LimeSoDa`` module, or an ImportError that says how to get it."""
    if LimeSoDa is None:
        raise ImportError("the LimeSoDa benchmark needs the package 'limesoda' (PyPI, CC BY-SA 4.0; import name "
                          "LimeSoDa): pip install limesoda")
    return LimeSoDa


@functools.lru_cache(maxsize=None)
def dataset_digest(name: str) -> str:
    """sha256 of a dataset's spectra, targets and folds (part of the cache keys of its runs and its coverage)."""
    ds = load_set(name)
    return hashlib.sha256(np.ascontiguousarray(ds.raw).tobytes() + ds.targets.to_numpy().tobytes()
                          + ds.folds.tobytes()).hexdigest()[:16]


def load_set(name: str) -> LimeSoDaSet:
    """Read one of :data:`LIMESODA_SETS` from the ``LimeSoDa`` package (spectral columns ``wl_<nm>``/``wn_<cm-1>``)."""
    if name not in LIMESODA_RANGES:
        raise ValueError(f"unknown LimeSoDa spectral dataset {name!r}; choose from {LIMESODA_SETS}")
    data = require_limesoda().load_dataset(name)
    df = data["Dataset"]
    spec = [c for c in df.columns if c.startswith(("wl_", "wn_"))]
    if not spec or len({c[:3] for c in spec}) != 1:
        raise ValueError(f"{name}: expected spectral columns all named wl_<nm> or wn_<cm-1>, got {spec[:3]}")
    tcols = [c for c in df.columns if c.endswith("_target")]
    targets = df[tcols].astype(float).rename(columns=lambda c: c[: -len("_target")]).reset_index(drop=True)
    folds = np.asarray(data["Folds"]).astype(int).ravel()
    if sorted(set(folds)) != list(range(1, 11)) or len(folds) != len(df):
        raise ValueError(f"{name}: expected one outer fold 1..10 per row")
    return LimeSoDaSet(name, LIMESODA_RANGES[name], np.array([float(c[3:]) for c in spec]),
                       "nm" if spec[0].startswith("wl_") else "cm-1", df[spec].to_numpy(float), targets, folds)


def absorbance_snv(raw, axis=None, unit: str = "nm") -> np.ndarray:
    """Raw % reflectance -> fraction -> log10(1/R) -> SNV, row by row (values above 100 % kept, see module doc).

    ``axis`` (in ``unit``) lets the band shape be checked against the declared reflectance."""
    fraction = np.asarray(raw, dtype=np.float64) / 100.0          # % -> fraction; > 1 where > 100 %
    return snv(ReflectanceToAbsorbance(percent=False, axis=axis, unit=unit).fit_transform(fraction))


def bin_channels(X, max_channels: int = MAX_NN_CHANNELS) -> np.ndarray:
    """Mean of ``ceil(K / max_channels)`` adjacent channels (the last bin may be shorter); ``X`` if already small."""
    X = np.asarray(X)
    width = math.ceil(X.shape[1] / max_channels)
    if width <= 1:
        return X
    edges = np.arange(0, X.shape[1], width)
    return np.add.reduceat(X, edges, axis=1) / np.diff(np.append(edges, X.shape[1]))


def _targets_forward(Y: pd.DataFrame) -> np.ndarray:
    return np.column_stack([np.log1p(Y[c].to_numpy()) if c in LOG_TARGETS else Y[c].to_numpy() for c in Y.columns])


def _targets_inverse(Z: np.ndarray, columns) -> np.ndarray:
    out = [np.expm1(Z[:, j]) if c in LOG_TARGETS else Z[:, j] for j, c in enumerate(columns)]
    return np.column_stack([np.clip(v, 0.0, None) if c in NONNEGATIVE_TARGETS else v for v, c in zip(out, columns)])
