"""A bundle's neural models in NumPy: the MIR VAE and the NIR encoder (with its NIR and frozen MIR decoders).

Each network is a stack ``Linear -> SiLU -> ... -> Linear`` (:func:`soilnb.models.nets._stack`, no dropout in these
models; the VAE encoder's last layer gives ``(mu, logvar)``, the embedding is ``mu``), so a forward pass is a few
matrix products. They are evaluated here by hand rather than with torch because the ``soilnb`` command must
predict without importing torch (about 1 s of its start-up): in float32 as torch evaluates them, equal to torch's
outputs to float32 rounding (``tests/test_encoders.py``), not bit for bit (other matrix-product kernels).
:func:`soilnb.apply.bundle.load_bundle` builds them from the safetensors weights; ``engine="torch"`` (the library's
default) wraps torch modules instead (:mod:`soilnb.apply.torch_encoders`), which give the run's own numbers.

Both kinds offer what predicting needs, as float32 NumPy in and out: ``latent(X)`` (the embedding),
``reconstruct(X)`` (the VAE's ``decode(embed(x))``, the NIR encoder's auxiliary NIR decoder), ``convert(X)`` (NIR
to MIR through the frozen MIR decoder), plus ``config`` (the architecture of ``bundle.json``), ``n_in``,
``latent_dim`` and ``state()`` (the weights, as saved).
"""
from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from soilnb.apply.defaults import BundleError

#: The keys of a ``bundle.json`` models entry besides ``kind`` (those of :class:`soilnb.models.nets.VAEConfig`, and
#: those :func:`soilnb.models.checkpoints.build_nir_to_mir` records; ``vae_cfg`` holds the VAE's, without ``kind``).
VAE_KEYS = ("n_in", "latent_dim", "hidden", "depth", "beta")
NIR_KEYS = ("vae_cfg", "n_nir", "hidden", "depth")


def linear_silu(h: np.ndarray, weights: list, biases: list) -> np.ndarray:
    """``Linear -> SiLU -> ... -> Linear`` of ``h``, in the dtype the arrays give (no cast here): the forward pass
    of the encoders (float32) and of the MLP heads (float64, :class:`soilnb.apply.heads.MLPHead`)."""
    last = len(weights) - 1
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = h @ W.T + b
        if i < last:
            with np.errstate(over="ignore"):             # exp(-h) overflows to inf for h << 0: SiLU is then -0
                h = h / (1.0 + np.exp(-h))               # SiLU: x * sigmoid(x)
    return h


def checked_config(config, keys: tuple, where: str, kind: str | None = None) -> dict:
    """``config`` (a models entry of ``bundle.json``, or its ``vae_cfg``) holding exactly ``keys``, plus ``kind``
    equal to ``kind`` where given: sizes whole numbers (``depth`` >= 0, the others >= 1), ``beta`` a number; else
    a BundleError naming ``where`` (the file and the entry) and what is wrong -- the entries the torch modules
    refuse (:class:`soilnb.models.nets.VAEConfig`, :func:`soilnb.models.nets._stack`), so both engines refuse
    the same bundles."""
    if not isinstance(config, dict):
        raise BundleError(f"{where}: not a JSON object but {type(config).__name__}")
    allowed = (*keys, "kind") if kind else keys
    missing, extra = [k for k in keys if k not in config], sorted(map(str, set(config) - set(allowed)))
    if missing or extra:
        what = "; ".join(([f"no {', '.join(missing)}"] if missing else [])
                         + ([f"unexpected {', '.join(map(repr, extra))}"] if extra else []))
        raise BundleError(f"{where}: {what} (the entry holds exactly {', '.join(allowed)})")
    if kind and config.get("kind", kind) != kind:
        raise BundleError(f"{where}: kind is {config['kind']!r}, not {kind!r}")
    for k in keys:
        v, low = config[k], 0 if k == "depth" else 1
        if k == "beta" and not (isinstance(v, numbers.Real) and not isinstance(v, bool)):
            raise BundleError(f"{where}: beta is {v!r}, not a number")
        if k not in ("beta", "vae_cfg") and not (isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                                 and v >= low):
            raise BundleError(f"{where}: {k} is {v!r}, not a whole number >= {low}")
    return dict(config)


class LinearStack:
    """``Linear -> SiLU -> ... -> Linear`` from its layers' float32 weights ``(out, in)`` and biases ``(out,)``."""

    def __init__(self, weights: list, biases: list):
        self.weights = [np.asarray(W, dtype=np.float32) for W in weights]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]

    @classmethod
    def from_state(cls, state: dict, prefix: str, sizes: list[int], where: str) -> "LinearStack":
        """The stack stored as ``{prefix}{2i}.weight`` / ``.bias`` (a torch ``Sequential`` with SiLU at the odd
        positions) with layer widths ``sizes`` (input first); a BundleError names a missing or misfit array."""
        weights, biases = [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w, b = f"{prefix}{2 * i}.weight", f"{prefix}{2 * i}.bias"
            if w not in state or b not in state:
                missing = w if w not in state else b
                raise BundleError(f"{where}: weights do not fit the model in bundle.json (no {missing})")
            if state[w].shape != (n_out, n_in) or state[b].shape != (n_out,):
                raise BundleError(f"{where}: weights do not fit the model in bundle.json ({w} {state[w].shape}, "
                                  f"{b} {state[b].shape}; expected {(n_out, n_in)} and {(n_out,)})")
            weights.append(state[w])
            biases.append(state[b])
        return cls(weights, biases)

    def __call__(self, X) -> np.ndarray:
        return linear_silu(np.asarray(X, dtype=np.float32), self.weights, self.biases)

    def state(self, prefix: str) -> dict:
        out = {}
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            out[f"{prefix}{2 * i}.bias"], out[f"{prefix}{2 * i}.weight"] = b, W
        return out


def _sizes(n_in: int, n_out: int, hidden: int, depth: int) -> list[int]:
    return [int(n_in)] + [int(hidden)] * int(depth) + [int(n_out)]


def _no_other_arrays(state: dict, expected: dict, where: str) -> None:
    extra = sorted(set(state) - set(expected))
    if extra:
        raise BundleError(f"{where}: weights do not fit the model in bundle.json (unexpected {', '.join(extra[:5])})")


class NumpyVAE:
    """The MIR VAE of ``config`` (``n_in``, ``latent_dim``, ``hidden``, ``depth``) with the weights ``state``."""

    kind = "vae"

    def __init__(self, config: dict, state: dict, where: str = "vae.safetensors",
                 entry: str = "bundle.json: models.vae"):
        c = self.config = {"kind": "vae", **checked_config(config, VAE_KEYS, entry, kind="vae")}
        self.n_in, self.latent_dim = int(c["n_in"]), int(c["latent_dim"])
        self.encoder = LinearStack.from_state(state, "encoder.", _sizes(self.n_in, 2 * self.latent_dim, c["hidden"],
                                                                        c["depth"]), where)
        self.decoder = LinearStack.from_state(state, "decoder.", _sizes(self.latent_dim, self.n_in, c["hidden"],
                                                                        c["depth"]), where)
        _no_other_arrays(state, self.state(), where)

    def latent(self, X) -> np.ndarray:
        """The latent means ``mu`` (the first half of the encoder's outputs)."""
        return self.encoder(X)[:, :self.latent_dim]

    def reconstruct(self, X) -> np.ndarray:
        return self.decoder(self.latent(X))

    def state(self) -> dict:
        return {**self.decoder.state("decoder."), **self.encoder.state("encoder.")}


class NumpyNIRtoMIR:
    """The NIR encoder of ``config`` (``vae_cfg``, ``n_nir``, ``hidden``, ``depth``), its auxiliary NIR decoder and
    the frozen MIR decoder, with the weights ``state``."""

    kind = "nir_to_mir"

    def __init__(self, config: dict, state: dict, where: str = "nir_to_mir.safetensors",
                 entry: str = "bundle.json: models.nir_to_mir"):
        c = self.config = {"kind": "nir_to_mir", **checked_config(config, NIR_KEYS, entry, kind="nir_to_mir")}
        v = c["vae_cfg"] = checked_config(c["vae_cfg"], VAE_KEYS, f"{entry}.vae_cfg")
        self.n_in, self.latent_dim, n_mir = int(c["n_nir"]), int(v["latent_dim"]), int(v["n_in"])
        self.nir_encoder = LinearStack.from_state(state, "nir_encoder.net.", _sizes(self.n_in, self.latent_dim,
                                                                                    c["hidden"], c["depth"]), where)
        self.nir_decoder = LinearStack.from_state(state, "nir_decoder.net.", _sizes(self.latent_dim, self.n_in,
                                                                                    c["hidden"], c["depth"]), where)
        self.mir_decoder = LinearStack.from_state(state, "mir_decoder.", _sizes(self.latent_dim, n_mir, v["hidden"],
                                                                               v["depth"]), where)
        _no_other_arrays(state, self.state(), where)

    def latent(self, X) -> np.ndarray:
        """``z_NIR`` (paper Eq. 4)."""
        return self.nir_encoder(X)

    def reconstruct(self, X) -> np.ndarray:
        return self.nir_decoder(self.nir_encoder(X))

    def convert(self, X) -> np.ndarray:
        """The MIR spectrum (SNV) of NIR spectra: the frozen MIR decoder of ``z_NIR`` (Eq. 5)."""
        return self.mir_decoder(self.nir_encoder(X))

    def state(self) -> dict:
        return {**self.mir_decoder.state("mir_decoder."), **self.nir_decoder.state("nir_decoder.net."),
                **self.nir_encoder.state("nir_encoder.net.")}


def numpy_encoder(config: dict, state: dict, where: str, slot: str | None = None):
    """The NumPy model of a ``bundle.json`` models entry (``kind`` "vae" or "nir_to_mir", the entry's own name
    ``slot`` where given) and its weights (read from ``where``); a BundleError naming the file and the entry
    when the entry is not one the torch modules accept, or the weights do not fit it."""
    kinds = {"vae": NumpyVAE, "nir_to_mir": NumpyNIRtoMIR}
    kind = config.get("kind") if isinstance(config, dict) else None
    entry = f"{Path(where).with_name('bundle.json')}: models.{slot or kind}"
    if kind not in kinds or kind != (slot or kind):
        raise BundleError(f"{entry}: model kind {kind!r}, not {slot or 'vae or nir_to_mir'!r}")
    try:
        return kinds[kind](config, state, where, entry)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{entry}: incomplete ({type(exc).__name__}: {exc})") from None
