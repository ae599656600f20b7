"""The data stage: the world (simulated or real, cached) and the model-ready features of every dataset.

``get_world`` -> ``get_features``; the Paired set's grouped 80/20 split is made here, once, and
carried in :class:`Features` to stage 2 (NIR -> MIR training), stage 3 (the strategies) and the
reliability analysis.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.core.cache import cache_key, cached, code_hash, file_sha256
from soilnb.core.config import Config
from soilnb.data.files import load_files_library
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
    """The world's datasets (simulated by default, the real OSSL files, or any spectra files), cached."""

    def compute():
        if cfg.source == "simulated":
            return simulate_world(n_kssl=cfg.n_kssl, n_scans=cfg.n_scans, n_paired=cfg.n_paired, n_test=cfg.n_test,
                                  nir_repeats=cfg.nir_repeats, seed=cfg.seed)

        if cfg.source == "files":
            return files_world(cfg)
        return load_world(cfg.data_dir, test_dir=cfg.test_dir, seed=cfg.seed)

    return cached("world", data_params(cfg), compute)


def files_world(cfg: Config) -> World:
    """A one-range world from any spectra files with properties (``source="files"``,
    :func:`soilnb.data.files.load_files_library`): MIR spectra train as the KSSL library, NIR spectra as the
    Paired NIR set; the test set is ``test_dir``, or a grouped ``test_fraction`` of the samples held out."""
    train = load_files_library(cfg.data_dir, "training")
    if cfg.test_dir:
        test = load_files_library(cfg.test_dir, "test")
        if test.unit != train.unit:
            raise ValueError(f"test_dir holds {test.unit} spectra, data_dir {train.unit}: one range for both")
        both = np.isin(train.sample_id, test.sample_id)
        if both.any():
            warnings.warn(f"{len(set(train.sample_id[both]))} sample id(s) of the test set are in the training "
                          "spectra too: left out of training", stacklevel=2)
            train = train.subset(~both)
    else:
        tr, te = grouped_split(train.sample_id, val_fraction=cfg.test_fraction, seed=cfg.seed)
        train, test = train.subset(tr), train.subset(te)
    test = test.average_scans()
    if train.unit == "cm-1":
        return World(kssl=train, test_mir=test, source="files")
    return World(paired_nir=train.average_scans(), test_nir=test, source="files")


def data_params(cfg: Config) -> dict:
    """The cache key parameters of the world: its configuration keys, the code that builds it and,
    for real data, the content (sha256) of every input file, so an edited file is never served stale."""
    params = {**cfg.keys("data"), "code": code_hash(*DATA_CODE)}
    if cfg.source == "ossl":
        files = [Path(cfg.data_dir) / n for n in sorted(OSSL_FILES)]
        files += _files_under(cfg.test_dir) if cfg.test_dir else []
        params["files"] = {str(f): _content_hash(f) for f in files if f.is_file()}
    if cfg.source == "files":
        files = _files_under(cfg.data_dir) + (_files_under(cfg.test_dir) if cfg.test_dir else [])
        params["files"] = {str(f): _content_hash(f) for f in files}
    return params


def world_key(cfg: Config) -> str:
    """The world's full cache key: every stage computed from the world holds it in its own key, so a
    changed input file (real data) reaches every stage, not only the world."""
    return cache_key("world", data_params(cfg))


def world_content_key(world: World, properties) -> str:
    """A cache key of a world given as an object (not built from the configuration): the sha256 of its spectra,
    axes, ids, properties and Paired-to-KSSL links, with the modelled properties."""
    h = hashlib.sha256()
    for k, lib in world.items():
        for part in (k, lib.unit, lib.quantity, "\x1f".join(lib.sample_id), "\x1f".join(lib.property_names)):
            h.update(part.encode() + b"\x1e")
        for arr in (lib.X, lib.axis, lib.properties.to_numpy(np.float64)):
            h.update(np.ascontiguousarray(arr).tobytes())
        if "kssl_uuid" in lib.meta:
            h.update("\x1f".join(map(str, lib.meta["kssl_uuid"])).encode())
    return cache_key("world-content", {"sha256": h.hexdigest(), "properties": list(properties),
                                       "source": world.source})


def world_of(cfg: Config, features: "Features | None" = None) -> str:
    """The world key a stage holds: that of ``features`` when given (it may come from a world passed in),
    else the run's (:func:`world_key`)."""
    return features.key if features is not None and features.key else world_key(cfg)


def _files_under(path) -> list[Path]:
    path = Path(path)
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


@lru_cache(maxsize=None)
def _content_hash_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return file_sha256(path)


def _content_hash(path: Path) -> str:
    """:func:`file_sha256`, computed once per process for an unchanged file (a few seconds per GB)."""
    st = path.stat()
    return _content_hash_of(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class Features:
    """Model-ready arrays (SNV spectra) and targets of every dataset the world holds (None where it holds none).

    ``kssl_scans``: every MIR scan repeat (VAE pretraining); ``kssl``: averaged MIR of the samples with
    every modelled property (MIR regressions, paper Sect. 2.5); ``paired_*``/``test_*``: averaged spectra.
    ``properties``: the properties modelled (those every training library carries, :func:`modelled_properties`);
    a test set scores the ones it has (the columns of ``test_Y``).
    """

    properties: tuple[str, ...]
    mir_axis: np.ndarray | None = None
    nir_axis: np.ndarray | None = None
    kssl_scans: np.ndarray | None = None
    kssl_scans_id: np.ndarray | None = None
    kssl: np.ndarray | None = None
    kssl_id: np.ndarray | None = None
    kssl_Y: pd.DataFrame | None = None
    paired_nir: np.ndarray | None = None
    paired_mir: np.ndarray | None = None
    paired_id: np.ndarray | None = None
    paired_Y: pd.DataFrame | None = None
    test_nir: np.ndarray | None = None
    test_mir: np.ndarray | None = None
    test_id: np.ndarray | None = None
    test_Y: pd.DataFrame | None = None
    #: row indices (train, validation) of the Paired set's grouped 80/20 split (paper Sect. 2.1)
    paired_split: tuple[np.ndarray, np.ndarray] | None = None
    #: the world's cache key (:func:`world_key` of the run, or the content of a world passed in): every stage
    #: trained on these features holds it in its own key
    key: str = ""

    @property
    def ranges(self) -> tuple[str, ...]:
        """``("MIR", "NIR")``, ``("MIR",)`` or ``("NIR",)``: the spectral ranges the features hold."""
        return tuple(r for r, axis in (("MIR", self.mir_axis), ("NIR", self.nir_axis)) if axis is not None)


def modelled_properties(world: World, wanted=()) -> tuple[str, ...]:
    """The properties the models learn: those of ``wanted`` (default: all) that every training library
    (``kssl``, ``paired_nir``) carries with at least one value. A property empty in a training library is
    reported and left out, never filled; a wanted name no training library has is a ValueError."""
    train = [(k, lib) for k, lib in world.items() if k in ("kssl", "paired_nir")]
    names = list(dict.fromkeys(c for _, lib in train for c in lib.property_names))
    wanted = [w.strip() for w in wanted if w.strip()]
    if wanted:
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise ValueError(f"propert{'y' if len(unknown) == 1 else 'ies'} {unknown} not in the data "
                             f"(it has {names})")
        names = [n for n in names if n in wanted]
    keep = []
    for p in names:
        empty = [k for k, lib in train if p not in lib.property_names or lib.properties[p].isna().all()]
        if empty:
            warnings.warn(f"property {p} has no value in the {' and '.join(empty)} librar"
                          f"{'y' if len(empty) == 1 else 'ies'}: not modelled", stacklevel=2)
        else:
            keep.append(p)
    if not keep:
        raise ValueError(f"no property to model: none of {names} has values in every training library "
                         f"({', '.join(k for k, _ in train)})")
    return tuple(keep)


def _complete_rows(libs, properties, name: str, training: bool):
    """The rows of one or two aligned libraries with every one of ``properties`` measured; says what it drops.
    In an evaluation set (``training=False``) a property with no value at all is reported and not scored."""
    props = next(lib for lib in libs if lib is not None).properties.reindex(columns=list(properties))
    if len(props) == 0:
        raise ValueError(f"{name} set: no samples")
    missing = props.isna().sum()
    empty = list(missing[missing == len(props)].index)
    if empty:
        if training:
            raise ValueError(f"{name} set: column(s) {empty} are empty for all {len(props)} samples")
        warnings.warn(f"{name} set: column(s) {empty} are empty for all {len(props)} samples: not scored on it",
                      stacklevel=3)
        props = props.drop(columns=empty)
        missing = missing.drop(empty)
    keep = props.notna().all(axis=1).to_numpy()
    if not keep.any():
        raise ValueError(f"{name} set: no sample has all of {list(props.columns)} (missing per column: "
                         f"{missing[missing > 0].to_dict()})")
    if not keep.all():
        warnings.warn(f"{name} set: dropped {int((~keep).sum())} of {len(keep)} samples with missing properties "
                      f"(missing per column: {missing[missing > 0].to_dict()})", stacklevel=3)
    return [lib.subset(keep) if lib is not None else None for lib in libs], list(props.columns)


def _prep(lib):
    return preprocess_library(lib) if lib is not None else (None, None)


def get_features(cfg: Config, world: World | None = None) -> Features:
    """Preprocess the world as the paper does: MIR log10(1/R) + SNV; NIR trimmed to 1400-2500 nm,
    log10(1/R) + SNV (paper Sect. 2.5). Any library may be absent (a MIR-only or NIR-only world)."""
    given = world is not None
    world = world or get_world(cfg)
    props = modelled_properties(world, cfg.properties.split(","))
    out = dict(properties=props, key=world_content_key(world, props) if given else world_key(cfg))
    # Paired and test sets: samples with every modelled property (paper Sect. 2.5: 2,016 Paired rows)
    paired_nir = paired_mir = None
    if world.paired_nir is not None:
        (paired_nir, paired_mir), _ = _complete_rows([world.paired_nir, world.paired_mir], props, "Paired", True)
        out["paired_split"] = grouped_split(paired_nir.sample_id, val_fraction=0.2, seed=cfg.seed)
        out.update(paired_id=paired_nir.sample_id, paired_Y=paired_nir.properties[list(props)])
    test = [lib for lib in (world.test_nir, world.test_mir) if lib is not None]
    test_nir = test_mir = None
    if test:
        (test_nir, test_mir), scored = _complete_rows([world.test_nir, world.test_mir], props, "test", False)
        first = test_nir if test_nir is not None else test_mir
        out.update(test_id=first.sample_id, test_Y=first.properties[scored])
    mir_axis = nir_axis = None
    if world.kssl is not None:
        scans, mir_axis = preprocess_library(world.kssl)
        kssl_avg = world.kssl.complete(props).average_scans()
        # Real data: Paired samples are KSSL samples too. Their KSSL rows must not train the MIR regressions
        # that are scored on the Paired validation split (label-free VAE pretraining may keep them).
        uuid = paired_nir.meta.get("kssl_uuid") if paired_nir is not None else None
        if uuid is not None:
            kssl_avg = kssl_avg.subset(~np.isin(kssl_avg.sample_id, uuid[out["paired_split"][1]]))
        kssl, _ = preprocess_library(kssl_avg)
        out.update(kssl_scans=scans, kssl_scans_id=world.kssl.sample_id, kssl=kssl, kssl_id=kssl_avg.sample_id,
                   kssl_Y=kssl_avg.properties[list(props)])
    pn, nir_axis_p = _prep(paired_nir)
    pm, pm_axis = _prep(paired_mir)
    tn, tn_axis = _prep(test_nir)
    tm, tm_axis = _prep(test_mir)
    nir_axis = nir_axis_p if nir_axis_p is not None else tn_axis
    mir_axis = mir_axis if mir_axis is not None else (pm_axis if pm_axis is not None else tm_axis)
    # every model sees one MIR grid and one NIR grid: a set on another grid is an error, not an offset
    for axis, ref, what in ((pm_axis, mir_axis, "Paired MIR (vs the KSSL MIR grid)"),
                            (tm_axis, mir_axis, "test MIR (vs the KSSL MIR grid)"),
                            (tn_axis, nir_axis, "test NIR (vs the Paired NIR grid)")):
        if axis is not None:
            check_grid(axis, ref, what)
    return Features(**out, mir_axis=mir_axis, nir_axis=nir_axis, paired_nir=pn, paired_mir=pm,
                    test_nir=tn, test_mir=tm)
