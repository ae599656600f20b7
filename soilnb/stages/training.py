"""Stages 1 and 2 as cached steps: the MIR VAE (Sect. 2.2) and the NIR encoder trained into its
frozen decoder (Sect. 2.3). Models are cached as soilnb model files (weights + JSON config + history).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from soilnb import __version__
from soilnb.core import paths
from soilnb.core.cache import cached, code_hash
from soilnb.core.config import Config
from soilnb.models.checkpoints import (
    load_checkpoint,
    load_nir_to_mir,
    load_vae,
    model_config,
    save_model,
)
from soilnb.models.inference import predict_in_batches
from soilnb.models.nets import VAEConfig
from soilnb.models.torchutil import resolve_device
from soilnb.models.train import train_nir_to_mir, train_vae
from soilnb.stages.features import DATA_CODE, Features, get_features, world_key
from soilnb.stats.conversion import conversion_scores

#: The code each stage's cache key holds: the layers below the stages, plus the stage modules.
VAE_CODE = DATA_CODE + ("stats", "models", "stages.training")
REG_CODE = VAE_CODE + ("stages.regressions", "stages.strategies")


# ---------------------------------------------------------------------------------- stage 1
def model_cache(step: str, params: dict, compute, loader):
    """Cache a ``(model, history)`` pair as one soilnb model file (weights + JSON config + history)."""

    def save(obj, path):
        save_model(obj[0], path, history=obj[1])

    def load(path):
        return loader(path), load_checkpoint(path)["history"]

    model, history = cached(step, params, compute, save=save, load=load, ext="pt")
    return model.cpu().eval(), history


def vae_params(cfg: Config, latent_dim: int | None = None) -> dict:
    """The cache key parameters of a VAE (and of everything trained on its embeddings)."""
    # the device *type* decides the numbers (bf16 autocast on CUDA), "auto" alone would not
    return {**cfg.keys("vae"), "world": world_key(cfg), "device": resolve_device(cfg.device).type,
            "latent_dim": latent_dim or cfg.latent_dim, "code": code_hash(*VAE_CODE)}


def get_vae(cfg: Config, features: Features | None = None, latent_dim: int | None = None, progress: bool = True):
    """Stage 1: the MIR VAE trained on every KSSL scan (repeats as augmentation), cached.

    Returns ``(model, history)``; the model is on the CPU in eval mode.
    """
    params = vae_params(cfg, latent_dim)

    def compute():
        F = features or get_features(cfg)
        vcfg = VAEConfig(n_in=F.kssl_scans.shape[1], latent_dim=params["latent_dim"], hidden=cfg.vae_hidden,
                         depth=cfg.vae_depth, beta=cfg.vae_beta)
        return train_vae(F.kssl_scans, F.kssl_scans_id, vcfg, epochs=cfg.vae_epochs, batch_size=cfg.vae_batch,
                         lr=cfg.vae_lr, lr_schedule=cfg.vae_lr_schedule, patience=cfg.vae_patience,
                         repeats=cfg.vae_repeats, seed=cfg.seed, device=cfg.device, compile=cfg.compile,
                         progress=progress)

    return model_cache("vae", params, compute, load_vae)


def reconstruct(model, X) -> np.ndarray:
    """Deterministic reconstructions decode(mean(encode(X)))."""
    return predict_in_batches(lambda x: model.decode(model.embed(x)), X) if len(X) else np.zeros_like(X)


def reconstruction_scores(model, X) -> dict:
    """RMSE (SNV units) and mean per-spectrum correlation of deterministic reconstructions."""
    return conversion_scores(X, reconstruct(model, X))


# ---------------------------------------------------------------------------------- stage 2
def get_nir_to_mir(cfg: Config, features: Features | None = None, vae=None, progress: bool = True):
    """Stage 2: NIR encoder trained into the frozen MIR decoder on the Paired training split, cached."""
    # the VAE's own key last: its latent size (not cfg.latent_dim) decides which stage-2 model this is
    params = {**cfg.keys("nir"), **vae_params(cfg, vae.cfg.latent_dim if vae is not None else None)}

    def compute():
        F = features or get_features(cfg)
        model = vae if vae is not None else get_vae(cfg, F)[0]
        return train_nir_to_mir(model, F.paired_nir, F.paired_mir, F.paired_id, split=F.paired_split,
                                hidden=cfg.nir_hidden,
                                epochs=cfg.nir_epochs, batch_size=cfg.nir_batch, lr=cfg.nir_lr, seed=cfg.seed,
                                device=cfg.device, latent_prior=cfg.nir_latent_prior, progress=progress)

    return model_cache("nir_to_mir", params, compute, load_nir_to_mir)


def export_model(model, name: str, history: dict | None = None, folder=None):
    """Write ``data/models/<name>.pt`` (weights + config + history, loadable with
    ``soilnb.models.checkpoints.load_vae`` / ``load_nir_to_mir``) and a human-readable ``<name>.json`` config."""
    folder = paths.ensure(Path(folder) if folder else paths.DATA / "models")
    pt = save_model(model, folder / f"{name}.pt", history=history)
    js = folder / f"{name}.json"
    js.write_text(json.dumps({**model_config(model), "soilnb_version": __version__}, indent=1))
    return pt, js
