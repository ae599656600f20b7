"""Model persistence: one ``torch.save`` file per model (weights + JSON config + history), read back safely.

:func:`build_nir_to_mir` lives here because loading a :class:`NIRtoMIR` rebuilds it from its saved
config; :mod:`soilnb.models.train` uses it to build a fresh one.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from soilnb.core.cache import atomic_path, json_default
from soilnb.models.nets import MLP, VAE, FNO1d, NIRtoMIR, VAEConfig
from soilnb.models.torchutil import resolve_device


# ----------------------------------------------------------------------------- model from its config
def build_nir_to_mir(vae_cfg: dict | VAEConfig, n_nir: int, hidden: int, depth: int = 2,
                     vae: VAE | None = None) -> NIRtoMIR:
    """A :class:`NIRtoMIR` whose MIR decoder is a copy of ``vae.decoder`` (or a fresh one of ``vae_cfg``)."""
    cfg = vae_cfg if isinstance(vae_cfg, VAEConfig) else VAEConfig(**vae_cfg)
    mir_decoder = copy.deepcopy(vae.decoder) if vae is not None else VAE(cfg).decoder
    model = NIRtoMIR(MLP(n_nir, cfg.latent_dim, hidden, depth), mir_decoder, MLP(cfg.latent_dim, n_nir, hidden, depth))
    model.arch = {"kind": "nir_to_mir", "vae_cfg": dataclasses.asdict(cfg), "n_nir": int(n_nir),
                  "hidden": int(hidden), "depth": int(depth)}
    return model



# ----------------------------------------------------------------------------- persistence
def model_config(model: nn.Module) -> dict:
    """The JSON-able architecture description that :func:`load_checkpoint` rebuilds from."""
    if isinstance(model, VAE):
        return {"kind": "vae", **dataclasses.asdict(model.cfg)}
    if hasattr(model, "arch"):
        return dict(model.arch)
    raise ValueError(f"no architecture config known for {type(model).__name__}; pass config=")


def save_model(model: nn.Module, path, config: dict | None = None, history: dict | None = None) -> Path:
    """Write weights plus JSON config (and optional history) to one ``torch.save`` file, atomically.

    ``config`` defaults to :func:`model_config`. The file is written beside ``path`` and moved
    into place with ``os.replace``, so an interrupted save never leaves a partial file.
    """
    path = Path(path)
    payload = {"format": "soilnb-torch-1",
               "config_json": json.dumps(config if config is not None else model_config(model), default=json_default),
               "history_json": json.dumps(history or {}, default=json_default),
               "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path) -> dict:
    """``{"config": dict, "history": dict, "state_dict": dict}`` read safely (``weights_only=True``)."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != "soilnb-torch-1":
        raise ValueError(f"{path} is not a soilnb model file (missing format 'soilnb-torch-1')")
    return {"config": json.loads(payload["config_json"]), "history": json.loads(payload["history_json"]),
            "state_dict": payload["state_dict"]}


def _load(path, kind: str, build: Callable, device):
    ck = load_checkpoint(path)
    if ck["config"].get("kind") != kind:
        raise ValueError(f"{path} holds a {ck['config'].get('kind')!r} model, not {kind!r}")
    model = build(ck["config"])
    model.load_state_dict(ck["state_dict"])
    return model.to(resolve_device(device)).eval()


def load_vae(path, device="cpu") -> VAE:
    """The :class:`VAE` saved by :func:`save_model`, in eval mode."""
    return _load(path, "vae", lambda c: VAE(VAEConfig(**{k: v for k, v in c.items() if k != "kind"})), device)


def load_nir_to_mir(path, device="cpu") -> NIRtoMIR:
    """The :class:`NIRtoMIR` saved by :func:`save_model` (decoder frozen again), in eval mode."""
    return _load(path, "nir_to_mir", lambda c: build_nir_to_mir(c["vae_cfg"], c["n_nir"], c["hidden"], c["depth"]),
                 device)


def load_fno(path, device="cpu") -> FNO1d:
    """The :class:`FNO1d` saved by :func:`save_model`, in eval mode."""
    def build(c):
        m = FNO1d(c["modes"], c["width"], c["n_layers"], in_channels=2, out_channels=1)
        m.arch = c
        return m
    return _load(path, "fno", build, device)


_LOADERS = {"vae": load_vae, "nir_to_mir": load_nir_to_mir, "fno": load_fno}


def save_result(result, path) -> Path:
    """Save a ``(model, history)`` pair as returned by the ``train_*`` functions (for ``cache.cached``)."""
    model, history = result
    return save_model(model, path, history=history)


def load_result(path, device="cpu"):
    """``(model, history)`` saved by :func:`save_result`; ``train_idx``/``val_idx`` come back as int64 arrays."""
    ck = load_checkpoint(path)
    kind, history = ck["config"].get("kind"), ck["history"]
    if kind not in _LOADERS:
        raise ValueError(f"{path} holds an unknown model kind {kind!r}")
    for key in ("train_idx", "val_idx"):
        if key in history:
            history[key] = np.asarray(history[key], dtype=np.int64)
    return _LOADERS[kind](path, device), history
