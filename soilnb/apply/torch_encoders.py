"""A bundle's neural models as torch modules, behind the interface of :mod:`soilnb.apply.encoders`.

The bundle a run builds holds its torch VAE and NIR encoder (:func:`torch_model`), and
:func:`soilnb.apply.bundle.load_bundle` rebuilds them from the stored weights with ``engine="torch"``
(:func:`on_torch`, the library's default): their predictions are then the run's own numbers, bit for bit (notebook
08 and ``tests/test_bundle.py`` compare a bundle with its saved and loaded copy). ``soilnb predict`` and ``soilnb
info`` load with ``engine="numpy"`` and never import this module; ``soilnb train`` builds bundles with it
(:mod:`soilnb.apply.build`), ``soilnb evaluate`` and ``soilnb adapt`` load with ``engine="torch"`` (they import
the training stack anyway).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from soilnb.apply.defaults import BundleError
from soilnb.apply.encoders import NumpyNIRtoMIR, NumpyVAE
from soilnb.models.checkpoints import build_nir_to_mir, model_config
from soilnb.models.inference import convert, embed, predict_in_batches
from soilnb.models.nets import VAE, NIRtoMIR, VAEConfig


class TorchModel:
    """A VAE or NIRtoMIR module with the methods predicting needs (float32 NumPy in and out, batched, no grad)."""

    def __init__(self, module):
        if not isinstance(module, (VAE, NIRtoMIR)):
            raise TypeError(f"a bundle holds a VAE or a NIRtoMIR model, not {type(module).__name__}")
        self.module = module.cpu().eval()
        self.kind = "vae" if isinstance(module, VAE) else "nir_to_mir"
        self.config = c = model_config(module)
        if self.kind == "vae":
            self.n_in, self.latent_dim = int(c["n_in"]), int(c["latent_dim"])
        else:
            self.n_in, self.latent_dim = int(c["n_nir"]), int(c["vae_cfg"]["latent_dim"])

    def latent(self, X) -> np.ndarray:
        return embed(self.module, X)

    def reconstruct(self, X) -> np.ndarray:
        m = self.module
        if self.kind == "vae":
            return predict_in_batches(lambda x: m.decode(m.embed(x)), np.asarray(X, dtype=np.float32))
        return predict_in_batches(lambda x: m.nir_decoder(m.nir_encoder(x)), np.asarray(X, dtype=np.float32))

    def convert(self, X) -> np.ndarray:
        if self.kind != "nir_to_mir":
            raise ValueError("only the NIR encoder converts spectra")
        return convert(self.module, X)

    def state(self) -> dict:
        return {k: v.detach().cpu().contiguous().numpy() for k, v in self.module.state_dict().items()}


def torch_model(model) -> TorchModel | None:
    """``model`` (a torch VAE or NIRtoMIR, a :class:`TorchModel`, or None) as a bundle holds it."""
    return model if model is None or isinstance(model, TorchModel) else TorchModel(model)


def on_torch(model, where: str = "bundle") -> TorchModel | None:
    """A NumPy model of :mod:`soilnb.apply.encoders` rebuilt as its torch module (same weights, bit for bit)."""
    if model is None or isinstance(model, TorchModel):
        return model
    if not isinstance(model, (NumpyVAE, NumpyNIRtoMIR)):
        raise TypeError(f"not a bundle model: {type(model).__name__}")
    c = model.config
    try:                     # an entry the modules refuse is the bundle's fault, named as the NumPy engine names it
        if isinstance(model, NumpyVAE):
            module = VAE(VAEConfig(**{k: v for k, v in c.items() if k != "kind"}))
        else:
            module = build_nir_to_mir(c["vae_cfg"], c["n_nir"], c["hidden"], c["depth"])
    except (TypeError, ValueError, KeyError) as exc:
        raise BundleError(f"{Path(where).with_name('bundle.json')}: models.{model.kind}: incomplete or inconsistent "
                          f"({type(exc).__name__}: {exc})") from None
    try:
        module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state().items()}, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BundleError(f"{where}: weights do not fit the model in bundle.json ({first})") from None
    return TorchModel(module)
