"""Stages 1 and 2 as cached steps: the MIR VAE (Sect. 2.2) and the NIR encoder trained into its
frozen decoder (Sect. 2.3). Models are cached as soilnb model files (weights + JSON config + history).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.parallel import Parallel, delayed

from soilnb import __version__
from soilnb.core import paths
from soilnb.core.cache import CacheError, artifact_path, cache_key, cache_mode, cached, code_hash, verify
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
from soilnb.models.torchutil import IDLE_WORKER_S, available_cpus, resolve_device
from soilnb.models.train import train_nir_to_mir, train_vae, vae_batch_size
from soilnb.stages.features import DATA_CODE, Features, get_features, world_of
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


def vae_params(cfg: Config, latent_dim: int | None = None, features: Features | None = None) -> dict:
    """The cache key parameters of a VAE (and of everything trained on its embeddings)."""
    # the device *type* decides the numbers (bf16 autocast on CUDA), "auto" alone would not
    return {**cfg.keys("vae"), "world": world_of(cfg, features), "device": resolve_device(cfg.device).type,
            "latent_dim": latent_dim or cfg.latent_dim, "code": code_hash(*VAE_CODE)}


def get_vae(cfg: Config, features: Features | None = None, latent_dim: int | None = None, progress: bool = True,
            trained=None):
    """Stage 1: the MIR VAE trained on every KSSL scan (repeats as augmentation), cached.

    Returns ``(model, history)``; the model is on the CPU in eval mode. ``trained``: the ``(model, history)`` of
    this very request, already trained elsewhere (:func:`get_vaes`' workers), to be stored instead of training.
    """
    params = vae_params(cfg, latent_dim, features)

    def compute():
        if trained is not None:
            return trained
        F = features or get_features(cfg)
        return train_vae(F.kssl_scans, F.kssl_scans_id, _vae_config(cfg, F, params["latent_dim"]), **_vae_settings(cfg),
                         progress=progress)

    return model_cache("vae", params, compute, load_vae)


#: Fewer planned optimiser steps than this per VAE and :func:`get_vaes` trains in this process (worker processes
#: take seconds to start: not worth it for the smoke profile's few dozen steps).
PARALLEL_MIN_STEPS = 1000


def get_vaes(cfg: Config, features: Features | None = None, latent_dims=(), workers: int | None = None,
             progress: bool = True) -> dict:
    """Stage 1 for several latent sizes: ``{latent_dim: (model, history)}``, each cached as by :func:`get_vae`.

    On the CPU the sizes not cached yet train at the same time, one worker process each with
    ``max(1, CPUs // sizes)`` threads (notebook 02's latent-size table: on 2 cores, two one-thread VAEs at once; a
    VAE step of the default profile takes 1.6 times less wall time on two threads than on one but 1.2 times more
    CPU time, so two at once end sooner than two one after the other). ``workers=1``, a CUDA device, or runs of
    fewer than :data:`PARALLEL_MIN_STEPS` steps train in this process, one size after the other.

    A worker's model is the one this process would train on the same number of threads. Across thread counts the
    weights can differ in the last bits where the matrix library splits a product differently (the smoke profile's
    batch of 24 does; the default profile's VAE does not: 1 and 2 threads gave bit-identical weights over 4
    epochs), as they already could between machines with different core counts (the cache key holds the
    device type, not the thread count). The stage-1 model of the pipeline is trained by :func:`get_vae` as before.
    """
    dims = list(dict.fromkeys(int(d) for d in (latent_dims or (cfg.latent_dim,))))
    missing = [d for d in dims if not is_cached("vae", vae_params(cfg, d, features), ext="pt")]
    trained = {}
    F = features or (get_features(cfg) if missing else None)
    n_jobs = len(missing) if workers is None else min(int(workers), len(missing))
    if resolve_device(cfg.device).type == "cpu" and n_jobs > 1 and _planned_steps(cfg, F) >= PARALLEL_MIN_STEPS:
        threads = max(1, available_cpus() // n_jobs)
        results = Parallel(n_jobs=n_jobs, backend="loky", batch_size=1, idle_worker_timeout=IDLE_WORKER_S)(
            delayed(_train_vae_job)(F.kssl_scans, F.kssl_scans_id, _vae_config(cfg, F, d), _vae_settings(cfg),
                                    threads) for d in missing)
        for d, (model, history, messages) in zip(missing, results):
            trained[d] = model, history
            for message in messages:                # a worker's warnings, shown here as the kernel's would be
                warnings.warn(f"latent {d}: {message}", stacklevel=2)
    return {d: get_vae(cfg, F, d, progress, trained=trained.get(d)) for d in dims}


def _vae_config(cfg: Config, F: Features, latent_dim: int) -> VAEConfig:
    return VAEConfig(n_in=F.kssl_scans.shape[1], latent_dim=latent_dim, hidden=cfg.vae_hidden, depth=cfg.vae_depth,
                     beta=cfg.vae_beta)


def _vae_settings(cfg: Config) -> dict:
    return dict(epochs=cfg.vae_epochs, batch_size=cfg.vae_batch, lr=cfg.vae_lr, lr_schedule=cfg.vae_lr_schedule,
                patience=cfg.vae_patience, repeats=cfg.vae_repeats, seed=cfg.seed, device=cfg.device,
                compile=cfg.compile)


def _planned_steps(cfg: Config, F: Features) -> int:
    """Optimiser steps of a full VAE run (80 % of the scans train, the batch as :func:`vae_batch_size` caps it)."""
    n_train = int(0.8 * len(F.kssl_scans))
    return cfg.vae_epochs * max(n_train // vae_batch_size(cfg.vae_batch, n_train), 1)


def _train_vae_job(X, sample_id, vcfg: VAEConfig, settings: dict, threads: int):
    """One VAE trained in a worker process on ``threads`` threads: ``(model on the CPU, history, warnings)``."""
    torch.set_num_threads(threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, history = train_vae(X, sample_id, vcfg, **settings, progress=False)
    return model.cpu().eval(), history, [str(w.message) for w in caught]


def is_cached(step: str, params: dict, ext: str = "pkl") -> bool:
    """Whether :func:`soilnb.core.cache.cached` would load ``step`` with ``params`` now instead of computing it
    (a verified entry exists and ``SOILNB_CACHE`` is neither ``off`` nor ``refresh``)."""
    if cache_mode() != "on":
        return False
    try:
        verify(artifact_path(step, params, ext), cache_key(step, params))
        return True
    except CacheError:
        return False


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
    params = {**cfg.keys("nir"), **vae_params(cfg, vae.cfg.latent_dim if vae is not None else None, features)}

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
