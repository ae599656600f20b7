"""Inference helpers: batched prediction with a trained module (eval mode, no grad) and the FNO inputs."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from soilnb.models.nets import VAE, FNO1d, NIRtoMIR
from soilnb.models.torchutil import batch_slices, resolve_device


# ----------------------------------------------------------------------------- inference helpers
def _owner(fn) -> nn.Module | None:
    if isinstance(fn, nn.Module):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


@torch.no_grad()
def predict_in_batches(fn: Callable, X, batch_size: int = 4096, device=None, reshape=None) -> np.ndarray:
    """Apply ``fn`` (a module or a module's bound method) to ``X`` in batches; float32 ndarray.

    The owning module is put in eval mode and its previous mode restored afterwards. If ``fn``
    returns a tuple, its first element is kept (``VAE.encode`` -> ``mu``; ``NIRtoMIR`` ->
    ``mir_hat``). ``device=None`` uses the module's device. ``reshape`` reshapes each input
    batch to ``(len(batch), *reshape)``.
    """
    owner = _owner(fn)
    if device is None:
        p = next(owner.parameters(), None) if owner is not None else None
        dev = p.device if p is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    X = np.asarray(X)
    was_training = owner.training if owner is not None else False
    if owner is not None:
        owner.eval()
    try:
        outs = []
        for sl in batch_slices(len(X), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[sl], dtype=np.float32)).to(dev)
            if reshape is not None:
                xb = xb.reshape(len(xb), *reshape)
            out = fn(xb)
            out = out[0] if isinstance(out, tuple) else out
            outs.append(out.float().cpu().numpy())
    finally:
        if owner is not None:
            owner.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,), dtype=np.float32)


def embed(model: VAE | NIRtoMIR, X, batch_size: int = 4096, device=None) -> np.ndarray:
    """Latent embeddings, ndarray of shape (n_samples, latent_dim).

    A :class:`VAE` embeds MIR spectra (the latent means ``mu``, paper Eq. 2); a :class:`NIRtoMIR`
    model embeds NIR spectra into the same latent space (``z_NIR``, Eq. 4).
    """
    encoder = model.nir_encoder if isinstance(model, NIRtoMIR) else model.embed
    return predict_in_batches(encoder, X, batch_size, device)


def convert(model: NIRtoMIR | FNO1d, X_nir, batch_size: int | None = None, device=None, n_out: int = 1701) -> np.ndarray:
    """Predicted MIR (SNV) of NIR spectra, ndarray of shape (n_samples, n_mir).

    A :class:`NIRtoMIR` model decodes ``z_NIR`` with the frozen MIR decoder (paper Eq. 5); an
    :class:`FNO1d` (Appendix C) maps the NIR resampled onto ``n_out`` points.
    """
    if isinstance(model, FNO1d):
        X = fno_inputs(X_nir, n_out).numpy()
        out = predict_in_batches(model, X.reshape(len(X), -1), batch_size or 256, device, reshape=(2, n_out))
        return out.reshape(len(X), n_out)
    return predict_in_batches(model, X_nir, batch_size or 4096, device)


# ----------------------------------------------------------------------------- Appendix C: FNO
def fno_inputs(X_nir, n_out: int = 1701) -> torch.Tensor:
    """FNO input ``(n, 2, n_out)``: NIR linearly resampled onto ``n_out`` points, plus a coordinate channel.

    Both grids span [0, 1] by index (end points aligned), i.e. ``np.interp`` on
    ``linspace(0, 1, n_nir) -> linspace(0, 1, n_out)``.
    """
    x = torch.as_tensor(np.ascontiguousarray(X_nir, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"X_nir must be 2-D (n_samples, n_nir), got shape {tuple(x.shape)}")
    resampled = F.interpolate(x.unsqueeze(1), size=n_out, mode="linear", align_corners=True)
    coord = torch.linspace(0.0, 1.0, n_out).expand(len(x), 1, n_out)
    return torch.cat([resampled, coord], dim=1)
