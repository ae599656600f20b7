"""Small torch helpers: seeding, device choice, parameter counts and batching.

Library code in :mod:`soilnb.models.train` and :mod:`soilnb.models.mlp` never reads the global RNG state it
did not set: it trains inside :func:`seeded` (``torch.random.fork_rng`` plus ``manual_seed``), so
a run is reproducible from its seed and leaves the caller's RNG streams untouched.
"""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from soilnb.core.cpus import available_cpus  # noqa: F401  (re-exported: the stages import it from here)


def seed_everything(seed: int) -> None:
    """Seed ``random``, numpy's legacy global RNG, torch (CPU and every CUDA device).

    Also asks cuDNN for deterministic kernels (cheap for the MLPs used here). Meant for notebook
    tops; library functions take their own ``seed``/``random_state`` instead.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def resolve_device(device="auto") -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; ``"cpu"``/``"cuda"``/``"cuda:N"`` checked and returned.

    Raises
    ------
    ValueError
        If CUDA is requested but unavailable, or the string is not a device name.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        return torch.device(device)
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` torch threads, restoring the caller's setting (small networks run faster on one
    thread than on two that share a loaded 2-core machine: 6 vs 84 ms per VAE step)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: Seconds an idle joblib/loky worker process waits for more work before it exits (joblib's default is 300): the
#: stages' worker pools end with the notebook that used them, and do not outlive a killed run for minutes.
IDLE_WORKER_S = 10


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None):
    """Run a block with torch's RNG seeded to ``seed``, restoring the caller's RNG state afterwards.

    Model initialisation, dropout masks and VAE reparameterisation noise drawn inside the block
    are thus a function of ``seed`` only.
    """
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


def as_tensor(X, device, name: str = "X") -> torch.Tensor:
    """A float32, C-contiguous 2-D tensor on ``device`` from an array-like; error names ``name``."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return torch.from_numpy(arr).to(device)


def permutation(n: int, generator: torch.Generator, device) -> torch.Tensor:
    """``torch.randperm(n)`` drawn from ``generator`` (which lives on ``device``)."""
    return torch.randperm(n, generator=generator, device=device)


def batch_slices(n: int, batch_size: int, drop_last: bool = False):
    """``slice`` objects covering ``range(n)`` in chunks of ``batch_size``.

    With ``drop_last`` the trailing partial chunk is dropped unless it is the only one (so that a
    set smaller than one batch still trains); with a fresh permutation each epoch every row is seen.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stop = (n // batch_size) * batch_size if drop_last and n >= batch_size else n
    return [slice(i, min(i + batch_size, stop)) for i in range(0, stop, batch_size)]
