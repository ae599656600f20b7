"""The paper's stages as cached steps, so each notebook can run alone and a re-run takes seconds.

``get_world`` -> ``get_features`` -> ``get_vae`` -> ``get_nir_to_mir`` -> ``get_regressions``. Each
step's cache key holds exactly the configuration keys it depends on (see :mod:`soilnb.cache`).
"""
from __future__ import annotations

import platform
import subprocess
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import __version__, paths
from .cache import cached, code_hash
from .config import DATA_KEYS, Config
from .library import PROPERTIES, World

VAE_KEYS = ("latent_dim", "vae_hidden", "vae_depth", "vae_beta", "vae_epochs", "vae_batch", "vae_lr",
            "vae_patience", "vae_repeats", "vae_lr_schedule", "compile", "device")
NIR_KEYS = ("nir_hidden", "nir_epochs", "nir_batch", "nir_lr", "nir_latent_prior")
#: Modules whose source enters each stage's cache key (each stage includes the ones before it).
DATA_CODE = ("library", "simulate", "composition", "bands", "ossl", "ossl_format", "ossl_files", "ossl_tables",
             "ossl_testset", "preprocess", "pipeline")
VAE_CODE = DATA_CODE + ("nets", "train", "loop", "predict", "checkpoints", "torchutil")
REG_CODE = VAE_CODE + ("conversion", "pls", "mlp", "targets", "strategies", "cv", "metrics")
MLP_KEYS = ("mlp_hidden", "mlp_epochs", "mlp_batch", "mlp_lr", "mlp_dropout", "mlp_weight_decay", "mlp_patience",
            "pls_max_components")


def environment_report(cfg: Config | None = None) -> str:
    """Versions, git SHA and the active configuration (first cell of every notebook)."""
    import sklearn
    import torch

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


# ---------------------------------------------------------------------------------- data
def get_world(cfg: Config) -> World:
    """The five datasets (simulated by default, or the real OSSL files), cached."""

    def compute():
        if cfg.source == "simulated":
            from .simulate import simulate_world

            return simulate_world(n_kssl=cfg.n_kssl, n_scans=cfg.n_scans, n_paired=cfg.n_paired, n_test=cfg.n_test,
                                  nir_repeats=cfg.nir_repeats, seed=cfg.seed)
        from .ossl import load_world

        return load_world(cfg.data_dir, test_dir=cfg.test_dir, seed=cfg.seed)

    return cached("world", data_params(cfg), compute)


def data_params(cfg: Config) -> dict:
    return {**cfg.subset(*DATA_KEYS), "code": code_hash(*DATA_CODE)}


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
    from .preprocess import check_grid, preprocess_library
    from .train import grouped_split

    world = world or get_world(cfg)
    # Paired and test sets: samples with all nine properties (paper Sect. 2.5: 2,016 Paired rows)
    paired_nir, paired_mir = _complete_rows(world.paired_nir, world.paired_mir, "Paired")
    test_nir, test_mir = _complete_rows(world.test_nir, world.test_mir, "test")
    scans, mir_axis = preprocess_library(world.kssl)
    kssl_avg = world.kssl.complete().average_scans()
    # Real data: Paired samples are KSSL samples too. Their KSSL rows must not train the MIR regressions
    # that are scored on the Paired validation split (label-free VAE pretraining may keep them).
    uuid = paired_nir.meta.get("kssl_uuid")
    if uuid is not None:
        _, va = grouped_split(paired_nir.sample_id, val_fraction=0.2, seed=cfg.seed)
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
                    test_Y=test_nir.properties)


# ---------------------------------------------------------------------------------- stage 1
def _model_cache(step: str, params: dict, compute, loader):
    """Cache a ``(model, history)`` pair as one soilnb model file (weights + JSON config + history)."""
    from .train import load_checkpoint, save_model

    def save(obj, path):
        save_model(obj[0], path, history=obj[1])

    def load(path):
        return loader(path), load_checkpoint(path)["history"]

    model, history = cached(step, params, compute, save=save, load=load, ext="pt")
    return model.cpu().eval(), history


def vae_params(cfg: Config, latent_dim: int | None = None) -> dict:
    from .torchutil import resolve_device

    # the device *type* decides the numbers (bf16 autocast on CUDA), "auto" alone would not
    return {**data_params(cfg), **cfg.subset(*VAE_KEYS), "device": resolve_device(cfg.device).type,
            "latent_dim": latent_dim or cfg.latent_dim, "code": code_hash(*VAE_CODE)}


def get_vae(cfg: Config, features: Features | None = None, latent_dim: int | None = None, progress: bool = True):
    """Stage 1: the MIR VAE trained on every KSSL scan (repeats as augmentation), cached.

    Returns ``(model, history)``; the model is on the CPU in eval mode.
    """
    from .nets import VAEConfig
    from .train import load_vae, train_vae

    params = vae_params(cfg, latent_dim)

    def compute():
        F = features or get_features(cfg)
        vcfg = VAEConfig(n_in=F.kssl_scans.shape[1], latent_dim=params["latent_dim"], hidden=cfg.vae_hidden,
                         depth=cfg.vae_depth, beta=cfg.vae_beta)
        return train_vae(F.kssl_scans, F.kssl_scans_id, vcfg, epochs=cfg.vae_epochs, batch_size=cfg.vae_batch,
                         lr=cfg.vae_lr, lr_schedule=cfg.vae_lr_schedule, patience=cfg.vae_patience,
                         repeats=cfg.vae_repeats, seed=cfg.seed, device=cfg.device, compile=cfg.compile,
                         progress=progress)

    return _model_cache("vae", params, compute, load_vae)


def embed(model, X) -> np.ndarray:
    """Latent means of ``X`` (the embeddings used downstream), shape (n, latent_dim)."""
    from .train import vae_embed

    return vae_embed(model, X)


def reconstruct(model, X) -> np.ndarray:
    """Deterministic reconstructions decode(mean(encode(X)))."""
    from .train import predict_in_batches

    return predict_in_batches(lambda x: model.decode(model.embed(x)), X) if len(X) else np.zeros_like(X)


def reconstruction_scores(model, X) -> dict:
    """RMSE (SNV units) and mean per-spectrum correlation of deterministic reconstructions."""
    from .conversion import conversion_scores

    return conversion_scores(X, reconstruct(model, X))


# ---------------------------------------------------------------------------------- stage 2
def get_nir_to_mir(cfg: Config, features: Features | None = None, vae=None, progress: bool = True):
    """Stage 2: NIR encoder trained into the frozen MIR decoder on the Paired training split, cached."""
    from .train import load_nir_to_mir, train_nir_to_mir

    params = {**vae_params(cfg, vae.cfg.latent_dim if vae is not None else None), **cfg.subset(*NIR_KEYS)}

    def compute():
        F = features or get_features(cfg)
        model = vae if vae is not None else get_vae(cfg, F)[0]
        return train_nir_to_mir(model, F.paired_nir, F.paired_mir, F.paired_id, hidden=cfg.nir_hidden,
                                epochs=cfg.nir_epochs, batch_size=cfg.nir_batch, lr=cfg.nir_lr, seed=cfg.seed,
                                device=cfg.device, latent_prior=cfg.nir_latent_prior, progress=progress)

    return _model_cache("nir_to_mir", params, compute, load_nir_to_mir)


def nir_to_mir(model, X_nir) -> np.ndarray:
    """Predicted MIR (SNV) of NIR spectra through the frozen decoder."""
    from .train import nir_to_mir_predict

    return nir_to_mir_predict(model, X_nir)[0]


def nir_to_latent(model, X_nir) -> np.ndarray:
    """NIR embeddings in the MIR latent space."""
    from .train import nir_to_mir_predict

    return nir_to_mir_predict(model, X_nir)[1]


def paired_split(cfg: Config, F: Features):
    """The grouped 80/20 split of the Paired set shared by stages 2 and 3."""
    from .train import grouped_split

    return grouped_split(F.paired_id, val_fraction=0.2, seed=cfg.seed)


def get_conversions(cfg: Config, F: Features, vae, n2m) -> dict:
    """Observed and predicted MIR of the Paired validation split and the test set, for the
    frozen-decoder method, the PLS2 baseline (fitted on the Paired training split) and the
    training-mean MIR spectrum (the no-information floor), cached."""
    from .conversion import PLS2Converter

    params = {**vae_params(cfg, vae.cfg.latent_dim), **cfg.subset(*NIR_KEYS), "pls_max_components": cfg.pls_max_components,
              "code": code_hash(*REG_CODE)}

    def compute():
        tr, va = paired_split(cfg, F)
        pls2 = PLS2Converter(max_components=cfg.pls_max_components, random_state=cfg.seed)
        pls2.fit(F.paired_nir[tr], F.paired_mir[tr], groups=F.paired_id[tr])
        out = {}
        for name, nir, mir in (("validation", F.paired_nir[va], F.paired_mir[va]), ("test", F.test_nir, F.test_mir)):
            out[name] = {"observed": mir, "frozen-decoder": nir_to_mir(n2m, nir), "PLS2 baseline": pls2.predict(nir),
                         # the floor any converter must beat: the training-mean MIR spectrum, whatever the NIR
                         "training-mean spectrum": np.tile(F.paired_mir[tr].mean(0), (len(mir), 1)),
                         "latent": nir_to_latent(n2m, nir)}
        out["pls2_components"] = pls2.n_components_
        return out

    conv = cached("conversions", params, compute)
    return {k: v for k, v in conv.items() if k != "pls2_components"}


# ---------------------------------------------------------------------------------- stage 3
def get_regressions(cfg: Config, F: Features, vae, n2m, strategies=None, texture: str = "ilr"):
    """Stage 3: the seven strategies fitted and evaluated (test set and Paired validation), cached."""
    from .strategies import STRATEGIES, fit_strategies

    strategies = tuple(strategies or STRATEGIES)
    params = {**vae_params(cfg, vae.cfg.latent_dim), **cfg.subset(*NIR_KEYS), **cfg.subset(*MLP_KEYS),
              "strategies": strategies,
              "texture": texture, "code": code_hash(*REG_CODE)}
    return cached("regressions", params, lambda: fit_strategies(cfg, F, vae, n2m, strategies, texture))


# ---------------------------------------------------------------------------------- reliability
def get_internal_cv(cfg: Config, F: Features) -> pd.DataFrame:
    """Fig. 7 background: repeated grouped CV of PLSR inside the Paired and the test NIR sets, cached.

    Targets go through the same transforms as the strategies (log1p, ILR); metrics on the
    original scale. Returns one row per (dataset, repeat, fold, property).
    """
    from .cv import repeated_cv_pls
    from .library import PAPER_NAMES
    from .targets import TargetTransformer

    params = {**data_params(cfg), **cfg.subset("cv_folds", "cv_repeats", "pls_max_components"),
              "code": code_hash(*REG_CODE)}

    def compute():
        out = []
        for name, X, Y, g in (("Paired", F.paired_nir, F.paired_Y, F.paired_id), ("NAPT", F.test_nir, F.test_Y, F.test_id)):
            cv = repeated_cv_pls(X, Y, g, n_splits=cfg.cv_folds, n_repeats=cfg.cv_repeats,
                                 max_components=cfg.pls_max_components, random_state=cfg.seed,
                                 target_transform=TargetTransformer())
            cv.insert(0, "dataset", name)
            out.append(cv)
        df = pd.concat(out, ignore_index=True)
        df["property"] = df["property"].map(PAPER_NAMES)
        return df

    return cached("internal_cv", params, compute)


def export_model(model, name: str, history: dict | None = None, folder=None):
    """Write ``data/models/<name>.pt`` (weights + config + history, loadable with
    ``soilnb.train.load_vae`` / ``load_nir_to_mir``) and a human-readable ``<name>.json`` config."""
    import json
    from pathlib import Path

    from .train import model_config, save_model

    folder = paths.ensure(Path(folder) if folder else paths.DATA / "models")
    pt = save_model(model, folder / f"{name}.pt", history=history)
    js = folder / f"{name}.json"
    js.write_text(json.dumps({**model_config(model), "soilnb_version": __version__}, indent=1))
    return pt, js
