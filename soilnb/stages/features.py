"""The data stage: the world (simulated or real, cached) and the model-ready features of every dataset.

``get_world`` -> ``get_features``; the Paired set's grouped 80/20 split is made here, once, and
carried in :class:`Features` to stage 2 (NIR -> MIR training), stage 3 (the strategies) and the
reliability analysis.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.cache import cache_key, cached, code_hash, file_sha256
from soilnb.core.config import Config
from soilnb.data.library import World
from soilnb.data.ossl.files import OSSL_FILES
from soilnb.data.ossl.loaders import load_world
from soilnb.data.prepare import preprocess_library
from soilnb.data.simulate.world import simulate_world
from soilnb.spectra.grid import check_grid
from soilnb.stats.splits import grouped_split

# ---------------------------------------------------------------------------------- data
#: The code the world's cache key holds: the layers below the stages, plus this module.
DATA_CODE = ("core", "spectra", "data", "stages.features")


def get_world(cfg: Config) -> World:
    """The five datasets (simulated by default, or the real OSSL files), cached."""

    def compute():
        if cfg.source == "simulated":
            return simulate_world(n_kssl=cfg.n_kssl, n_scans=cfg.n_scans, n_paired=cfg.n_paired, n_test=cfg.n_test,
                                  nir_repeats=cfg.nir_repeats, seed=cfg.seed)

        return load_world(cfg.data_dir, test_dir=cfg.test_dir, seed=cfg.seed)

    return cached("world", data_params(cfg), compute)


def data_params(cfg: Config) -> dict:
    """The cache key parameters of the world: its configuration keys, the code that builds it and,
    for real data, the content (sha256) of every input file, so an edited file is never served stale."""
    params = {**cfg.keys("data"), "code": code_hash(*DATA_CODE)}
    if cfg.source == "ossl":
        files = [Path(cfg.data_dir) / n for n in sorted(OSSL_FILES)]
        files += sorted(p for p in Path(cfg.test_dir).rglob("*") if p.is_file()) if cfg.test_dir else []
        params["files"] = {str(f): _content_hash(f) for f in files if f.is_file()}
    return params


def world_key(cfg: Config) -> str:
    """The world's full cache key: every stage computed from the world holds it in its own key, so a
    changed input file (real data) reaches every stage, not only the world."""
    return cache_key("world", data_params(cfg))


@lru_cache(maxsize=None)
def _content_hash_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return file_sha256(path)


def _content_hash(path: Path) -> str:
    """:func:`file_sha256`, computed once per process for an unchanged file (a few seconds per GB)."""
    st = path.stat()
    return _content_hash_of(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class Features:
    """Model-ready arrays (SNV spectra) and targets of every dataset.

    ``kssl_scans``: every MIR scan repeat (VAE pretraining); ``kssl``: averaged MIR of the samples with
    all nine properties (MIR regressions, paper Sect. 2.5); ``paired_*``/``test_*``: averaged spectra.
    """

    mir_axis: np.ndarray
    nir_axis: np.ndarray
    kssl_scans: np.ndarray
    kssl_scans_id: np.ndarray
    kssl: np.ndarray
    kssl_id: np.ndarray
    kssl_Y: pd.DataFrame
    paired_nir: np.ndarray
    paired_mir: np.ndarray
    paired_id: np.ndarray
    paired_Y: pd.DataFrame
    test_nir: np.ndarray
    test_mir: np.ndarray
    test_id: np.ndarray
    test_Y: pd.DataFrame
    #: row indices (train, validation) of the Paired set's grouped 80/20 split (paper Sect. 2.1)
    paired_split: tuple[np.ndarray, np.ndarray]


def _complete_rows(nir, mir, name: str):
    """The rows of a NIR/MIR pair of libraries with all nine properties; says what it drops."""
    props = nir.properties
    if len(props) == 0:
        raise ValueError(f"{name} set: no samples")
    missing = props.isna().sum()
    if (missing == len(props)).any():
        raise ValueError(f"{name} set: column(s) {list(missing[missing == len(props)].index)} are empty "
                         f"for all {len(props)} samples; every sample needs all nine properties")
    keep = props.notna().all(axis=1).to_numpy()
    if not keep.any():
        raise ValueError(f"{name} set: no sample has all nine properties (missing per column: "
                         f"{missing[missing > 0].to_dict()})")
    if not keep.all():
        warnings.warn(f"{name} set: dropped {int((~keep).sum())} of {len(keep)} samples with missing properties "
                      f"(missing per column: {missing[missing > 0].to_dict()})", stacklevel=3)
    return nir.subset(keep), mir.subset(keep)


def get_features(cfg: Config, world: World | None = None) -> Features:
    """Preprocess the world as the paper does: MIR log10(1/R) + SNV; NIR trimmed to 1400-2500 nm,
    log10(1/R) + SNV (paper Sect. 2.5)."""
    world = world or get_world(cfg)
    # Paired and test sets: samples with all nine properties (paper Sect. 2.5: 2,016 Paired rows)
    paired_nir, paired_mir = _complete_rows(world.paired_nir, world.paired_mir, "Paired")
    test_nir, test_mir = _complete_rows(world.test_nir, world.test_mir, "test")
    scans, mir_axis = preprocess_library(world.kssl)
    kssl_avg = world.kssl.complete().average_scans()
    # Real data: Paired samples are KSSL samples too. Their KSSL rows must not train the MIR regressions
    # that are scored on the Paired validation split (label-free VAE pretraining may keep them).
    paired_split = grouped_split(paired_nir.sample_id, val_fraction=0.2, seed=cfg.seed)
    uuid = paired_nir.meta.get("kssl_uuid")
    if uuid is not None:
        va = paired_split[1]
        kssl_avg = kssl_avg.subset(~np.isin(kssl_avg.sample_id, uuid[va]))
    kssl, _ = preprocess_library(kssl_avg)
    pn, nir_axis = preprocess_library(paired_nir)
    pm, pm_axis = preprocess_library(paired_mir)
    tn, tn_axis = preprocess_library(test_nir)
    tm, tm_axis = preprocess_library(test_mir)
    # every model sees one MIR grid and one NIR grid: a set on another grid is an error, not an offset
    check_grid(pm_axis, mir_axis, "Paired MIR (vs the KSSL MIR grid)")
    check_grid(tm_axis, mir_axis, "test MIR (vs the KSSL MIR grid)")
    check_grid(tn_axis, nir_axis, "test NIR (vs the Paired NIR grid)")
    return Features(mir_axis=mir_axis, nir_axis=nir_axis, kssl_scans=scans, kssl_scans_id=world.kssl.sample_id,
                    kssl=kssl, kssl_id=kssl_avg.sample_id, kssl_Y=kssl_avg.properties,
                    paired_nir=pn, paired_mir=pm, paired_id=paired_nir.sample_id,
                    paired_Y=paired_nir.properties, test_nir=tn, test_mir=tm, test_id=test_nir.sample_id,
                    test_Y=test_nir.properties, paired_split=paired_split)
