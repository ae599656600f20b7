"""Training loops for the three torch stages (VAE, NIR->MIR, FNO ablation) and model persistence.

Everything arrives as arguments; nothing reads files or module state. Speed: the whole data set
is moved to the device once and batches are gathered with a random permutation (no DataLoader);
on CUDA the forward pass runs under bf16 autocast, TF32 matmuls are allowed, AdamW is fused and
``torch.compile`` is optional. Losses are accumulated on the device and read once per epoch.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .cache import atomic_path
from .nets import FNO1d, MLP, NIRtoMIR, VAE, VAEConfig, vae_loss
from .torchutil import as_tensor, batch_slices, permutation, resolve_device, seeded

__all__ = ["grouped_split", "alpha_schedule", "train_vae", "train_nir_to_mir", "train_fno", "fno_inputs",
           "fno_predict", "predict_in_batches", "vae_embed", "nir_to_mir_predict", "build_nir_to_mir",
           "save_model", "load_checkpoint", "load_vae", "load_nir_to_mir", "load_fno", "model_config",
           "save_result", "load_result"]

REPEATS = ("independent", "cross", "mean")


# ----------------------------------------------------------------------------- small pure helpers
def grouped_split(sample_id, val_fraction: float = 0.2, seed: int = 0):
    """Split rows into train/validation by sample id, so that no sample straddles the two.

    Parameters
    ----------
    sample_id : array-like of shape (n_rows,)
        Sample identifier of each row (scan repeats share it).
    val_fraction : float in (0, 1)
        Fraction of *samples* (not rows) put into validation, rounded, at least one of each.
    seed : int
        Seed of the permutation of the sorted unique ids (``np.random.default_rng``).

    Returns
    -------
    train_idx, val_idx : ndarray of int64
        Sorted row indices.
    """
    ids = np.asarray(sample_id)
    if ids.ndim != 1:
        raise ValueError(f"sample_id must be 1-D, got shape {ids.shape}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    uniq, inverse = np.unique(ids, return_inverse=True)
    if len(uniq) < 2:
        raise ValueError(f"grouped_split needs at least 2 distinct sample ids, got {len(uniq)}")
    n_val = min(max(int(round(val_fraction * len(uniq))), 1), len(uniq) - 1)
    val_groups = np.random.default_rng(seed).permutation(len(uniq))[:n_val]
    is_val = np.isin(inverse, val_groups)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def alpha_schedule(epoch: int, n_epochs: int) -> float:
    """Weight ``alpha_t`` of the NIR reconstruction regulariser (paper Eq. 6).

    Linear from 1 at the first epoch (``epoch=0``) to 0 at the last (``epoch=n_epochs-1``);
    a single-epoch run uses 1.
    """
    if n_epochs < 1 or not 0 <= epoch < n_epochs:
        raise ValueError(f"need 0 <= epoch < n_epochs, got epoch={epoch}, n_epochs={n_epochs}")
    return 1.0 if n_epochs == 1 else 1.0 - epoch / (n_epochs - 1)


def _check_rows(name, X, n):
    if len(X) != n:
        raise ValueError(f"{name} has {len(X)} rows but sample_id has {n}")


def _autocast(device: torch.device):
    """bf16 autocast on CUDA (float32 master weights), nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _prepare_device(device) -> torch.device:
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return dev


# ----------------------------------------------------------------------------- the shared loop
def fit_loop(model: nn.Module, *, train_rows: torch.Tensor, step: Callable, evaluate: Callable, monitor: str | None,
             epochs: int, batch_size: int, lr: float, weight_decay: float, patience, seed: int,
             device: torch.device, progress: bool, desc: str, on_epoch: Callable | None = None) -> dict:
    """AdamW over shuffled batches of ``train_rows`` with early stopping on ``evaluate()[monitor]``.

    ``step(rows, epoch) -> loss`` (scalar tensor) runs the forward pass on a batch of row indices;
    ``evaluate(epoch) -> dict`` of floats is called with the model in eval mode under no_grad;
    ``monitor=None`` disables early stopping and keeps the last weights;
    ``on_epoch(epoch) -> dict`` (optional) is called before each epoch and its values logged.
    The best weights (lowest monitored value) are restored at the end. Returns the history.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be None or >= 1, got {patience}")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=device.type == "cuda")
    gen = torch.Generator(device=device).manual_seed(int(seed))
    slices = batch_slices(len(train_rows), batch_size, drop_last=True)
    hist: dict = {"epoch": [], "train_loss": [], "seconds": [], "train_seconds": []}
    best, best_state, best_epoch, bad = math.inf, None, -1, 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        extra = on_epoch(epoch) if on_epoch else {}
        model.train()
        perm = train_rows[permutation(len(train_rows), gen, device)]
        total = torch.zeros((), device=device)
        for sl in slices:
            rows = perm[sl]
            loss = step(rows, epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(rows)
        train_loss = total.item() / sum(s.stop - s.start for s in slices)  # one device sync per epoch
        t1 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            scores = evaluate(epoch)
        model.train()
        hist["epoch"].append(epoch)
        hist["train_loss"].append(train_loss)
        for k, v in {**extra, **scores}.items():
            hist.setdefault(k, []).append(float(v))
        hist["train_seconds"].append(t1 - t0)
        hist["seconds"].append(time.perf_counter() - t0)
        bar.set_postfix(train=f"{train_loss:.4g}", **{k: f"{v:.4g}" for k, v in scores.items()})
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"{desc}: training loss became {train_loss} at epoch {epoch}; lower lr")
        if monitor is None:  # nothing to validate on: keep the last weights
            best_epoch = epoch
            continue
        if scores[monitor] < best:
            best, best_epoch, bad = scores[monitor], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if patience is not None and bad >= patience:
                break
    bar.close()
    if monitor is not None:
        if best_state is None:
            raise FloatingPointError(f"{desc}: validation {monitor} was never finite; check the data and lr")
        model.load_state_dict(best_state)
        hist["best_" + monitor] = best
    model.eval()
    hist["best_epoch"] = best_epoch
    return hist


def _eval_batches(n: int, batch_size: int):
    return batch_slices(n, max(batch_size, 1024))


# ----------------------------------------------------------------------------- stage 1: VAE
def _repeat_groups(sample_id):
    """Per row: group index, group start in the sorted order, group size, position within group."""
    _, gid = np.unique(np.asarray(sample_id), return_inverse=True)
    order = np.argsort(gid, kind="stable")
    counts = np.bincount(gid)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty(len(gid), dtype=np.int64)
    pos[order] = np.arange(len(gid)) - starts[gid[order]]
    return gid, order, starts[gid], counts[gid], pos


def train_vae(X, sample_id, cfg: VAEConfig, *, epochs: int, batch_size: int, lr: float, patience=None,
              repeats: str = "independent", seed: int = 0, device="auto", compile: bool = False,
              val_fraction: float = 0.2, weight_decay: float = 1e-4, progress: bool = True):
    """Train the MIR VAE (paper Sect. 2.2, Eqs. 2-3) with a grouped 80/20 split and early stopping.

    Parameters
    ----------
    X : ndarray of shape (n_scans, cfg.n_in)
        SNV-preprocessed MIR scans (float32).
    sample_id : ndarray of shape (n_scans,)
        Sample of each scan; repeats of one sample share it and never straddle the split.
    cfg : VAEConfig
    epochs, batch_size, lr, patience : training settings (``patience=None``: no early stop).
    repeats : {"independent", "cross", "mean"}
        How scan repeats are used: each repeat is its own example reconstructing itself
        ("independent", the paper's reading); input one repeat, reconstruct another random repeat
        of the same sample ("cross"); input one repeat, reconstruct the sample mean ("mean").
    seed : int
        Seeds the split (:func:`grouped_split`), initialisation, noise and batch order.
    device : "auto", "cpu" or "cuda"
    compile : bool
        Wrap the forward pass in ``torch.compile``.

    Returns
    -------
    model : VAE
        On ``device``, eval mode, best validation weights.
    history : dict
        Lists per epoch: epoch, train_loss, val_loss, val_rec, val_kl, seconds, train_seconds;
        plus best_epoch, best_val_loss, n_train, n_val, repeats, device.
    """
    if repeats not in REPEATS:
        raise ValueError(f"repeats must be one of {REPEATS}, got {repeats!r}")
    X = np.asarray(X)
    _check_rows("X", X, len(np.asarray(sample_id)))
    if X.ndim != 2 or X.shape[1] != cfg.n_in:
        raise ValueError(f"X must have shape (n_scans, cfg.n_in={cfg.n_in}), got {X.shape}")
    dev = _prepare_device(device)
    train_np, val_np = grouped_split(sample_id, val_fraction, seed)
    gid, order, start, size, pos = (torch.as_tensor(a, device=dev) for a in _repeat_groups(sample_id))
    Xt = as_tensor(X, dev)
    beta = cfg.beta
    if repeats == "mean":
        Xmean = torch.zeros(int(gid.max()) + 1, X.shape[1], device=dev).index_add_(0, gid, Xt)
        Xmean /= torch.bincount(gid).unsqueeze(1).float()

    def partner(rows, gen):
        """Row index of another random repeat of the same sample (itself if the sample has one)."""
        r = (torch.rand(len(rows), generator=gen, device=dev) * (size[rows] - 1)).long()
        return order[start[rows] + (pos[rows] + 1 + r) % size[rows]]

    def target(rows, gen):
        if repeats == "independent":
            return Xt[rows]
        if repeats == "mean":
            return Xmean[gid[rows]]
        return Xt[partner(rows, gen)]

    with seeded(seed, dev):
        model = VAE(cfg).to(dev)
        fwd = torch.compile(model) if compile else model
        train_rows = torch.as_tensor(train_np, device=dev)
        val_rows = torch.as_tensor(val_np, device=dev)
        tgen = torch.Generator(device=dev).manual_seed(int(seed) + 1)
        vgen = torch.Generator(device=dev).manual_seed(int(seed) + 2)
        val_target_rows = partner(val_rows, vgen) if repeats == "cross" else None  # fixed across epochs

        def step(rows, epoch):
            with _autocast(dev):
                recon, mu, logvar = fwd(Xt[rows])
            return vae_loss(recon, target(rows, tgen), mu, logvar, beta)[0]

        def evaluate(epoch):
            rec = kl = 0.0
            for sl in _eval_batches(len(val_rows), batch_size):
                rows = val_rows[sl]
                with _autocast(dev):
                    recon, mu, logvar = fwd(Xt[rows])
                if repeats == "cross":
                    tb = Xt[val_target_rows[sl]]
                else:
                    tb = target(rows, None)
                _, r, k = vae_loss(recon, tb, mu, logvar, beta)
                rec, kl = rec + r * len(rows), kl + k * len(rows)
            rec, kl = float(rec) / len(val_rows), float(kl) / len(val_rows)
            return {"val_loss": rec + beta * kl, "val_rec": rec, "val_kl": kl}

        hist = fit_loop(model, train_rows=train_rows, step=step, evaluate=evaluate, monitor="val_loss",
                        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience,
                        seed=seed, device=dev, progress=progress, desc="VAE")
    hist.update(n_train=len(train_np), n_val=len(val_np), repeats=repeats, device=str(dev))
    return model, hist


# ----------------------------------------------------------------------------- stage 2: NIR -> MIR
def build_nir_to_mir(vae_cfg: dict | VAEConfig, n_nir: int, hidden: int, depth: int = 2,
                     vae: VAE | None = None) -> NIRtoMIR:
    """A :class:`NIRtoMIR` whose MIR decoder is a copy of ``vae.decoder`` (or a fresh one of ``vae_cfg``)."""
    cfg = vae_cfg if isinstance(vae_cfg, VAEConfig) else VAEConfig(**vae_cfg)
    mir_decoder = copy.deepcopy(vae.decoder) if vae is not None else VAE(cfg).decoder
    model = NIRtoMIR(MLP(n_nir, cfg.latent_dim, hidden, depth), mir_decoder, MLP(cfg.latent_dim, n_nir, hidden, depth))
    model.arch = {"kind": "nir_to_mir", "vae_cfg": dataclasses.asdict(cfg), "n_nir": int(n_nir),
                  "hidden": int(hidden), "depth": int(depth)}
    return model


def train_nir_to_mir(vae: VAE, X_nir, X_mir, sample_id, *, hidden: int, epochs: int, batch_size: int, lr: float,
                     seed: int = 0, device="auto", val_fraction: float = 0.2, patience=None, depth: int = 2,
                     weight_decay: float = 1e-4, latent_prior: float = 0.0, progress: bool = True):
    """Train a NIR encoder into the frozen VAE decoder's latent space (paper Sect. 2.3, Eqs. 4-6).

    ``latent_prior`` (default 0: the paper's loss) adds ``latent_prior * mean(((z - m) / s)^2)``,
    where ``m``, ``s^2`` are the per-dimension mean and variance (floored at 1e-3) of the VAE
    embeddings of the training MIR spectra. The frozen decoder ignores latent dimensions the VAE
    left unused (collapsed to the prior), so Eq. 5 alone lets the NIR encoder put anything there;
    this term keeps z_NIR inside the MIR embedding distribution, which matters for the
    NIRtoMIR-SSL strategy and the distribution-shift analysis (both read z directly).

    Loss per batch: ``MSE(mir_decoder(z), X_mir) + alpha_t * MSE(nir_decoder(z), X_nir)`` with
    ``z = nir_encoder(X_nir)`` and ``alpha_t = alpha_schedule(epoch, epochs)``. (The paper writes
    L2 norms; we use mean squared errors, the same minimiser up to scale.) The decoder is a
    frozen copy of ``vae.decoder``: ``vae`` itself is not modified.

    Parameters
    ----------
    vae : VAE
        Trained MIR VAE.
    X_nir : ndarray of shape (n_rows, n_nir)
    X_mir : ndarray of shape (n_rows, vae.cfg.n_in)
        Paired spectra, row by row.
    sample_id : ndarray of shape (n_rows,)
        Grouping for the 80/20 split.

    Returns
    -------
    model : NIRtoMIR
        Best weights by validation MSE in MIR space, eval mode.
    history : dict
        Per epoch: train_loss, alpha, val_mir_mse, val_nir_mse, seconds; plus best_epoch,
        best_val_mir_mse, train_idx, val_idx (row indices, from :func:`grouped_split`).
    """
    ids = np.asarray(sample_id)
    X_nir, X_mir = np.asarray(X_nir), np.asarray(X_mir)
    _check_rows("X_nir", X_nir, len(ids))
    _check_rows("X_mir", X_mir, len(ids))
    if X_mir.ndim != 2 or X_mir.shape[1] != vae.cfg.n_in:
        raise ValueError(f"X_mir must have shape (n_rows, vae.cfg.n_in={vae.cfg.n_in}), got {X_mir.shape}")
    dev = _prepare_device(device)
    train_np, val_np = grouped_split(ids, val_fraction, seed)
    Xn, Xm = as_tensor(X_nir, dev, "X_nir"), as_tensor(X_mir, dev, "X_mir")
    with seeded(seed, dev):
        model = build_nir_to_mir(vae.cfg, X_nir.shape[1], hidden, depth, vae=vae).to(dev)
        alpha = {"value": 1.0}
        val_rows = torch.as_tensor(val_np, device=dev)

        def on_epoch(epoch):
            alpha["value"] = alpha_schedule(epoch, epochs)
            return {"alpha": alpha["value"]}

        if latent_prior > 0:
            with torch.no_grad():
                z_mir = vae_embed(vae, X_mir[train_np])
            z_mean = torch.as_tensor(z_mir.mean(0), device=dev)
            z_scale = torch.as_tensor(np.sqrt(np.maximum(z_mir.var(0), 1e-3)), device=dev)

        def step(rows, epoch):
            with _autocast(dev):
                mir_hat, nir_hat, z = model(Xn[rows])
            loss = F.mse_loss(mir_hat.float(), Xm[rows]) + alpha["value"] * F.mse_loss(nir_hat.float(), Xn[rows])
            if latent_prior > 0:
                loss = loss + latent_prior * ((z.float() - z_mean) / z_scale).pow(2).mean()
            return loss

        def evaluate(epoch):
            se_m = se_n = 0.0
            for sl in _eval_batches(len(val_rows), batch_size):
                rows = val_rows[sl]
                with _autocast(dev):
                    mir_hat, nir_hat, _ = model(Xn[rows])
                se_m = se_m + (mir_hat.float() - Xm[rows]).pow(2).sum()
                se_n = se_n + (nir_hat.float() - Xn[rows]).pow(2).sum()
            return {"val_mir_mse": float(se_m) / Xm[val_rows].numel(), "val_nir_mse": float(se_n) / Xn[val_rows].numel()}

        hist = fit_loop(model, train_rows=torch.as_tensor(train_np, device=dev), step=step, evaluate=evaluate,
                        monitor="val_mir_mse", epochs=epochs, batch_size=batch_size, lr=lr,
                        weight_decay=weight_decay, patience=patience, seed=seed, device=dev, progress=progress,
                        desc="NIR->MIR", on_epoch=on_epoch)
    hist.update(train_idx=train_np, val_idx=val_np, device=str(dev))
    return model, hist


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


def train_fno(X_nir, X_mir, sample_id, *, modes: int, width: int, epochs: int, batch_size: int, lr: float,
              seed: int = 0, device="auto", val_fraction: float = 0.2, n_layers: int = 4, patience=None,
              weight_decay: float = 1e-4, progress: bool = True):
    """Train :class:`FNO1d` from scratch on NIR (resampled to the MIR grid) -> MIR (Appendix C).

    Returns ``(model, history)`` with per-epoch train_loss, val_mse, seconds and best_epoch,
    val_idx; best validation weights restored.
    """
    ids = np.asarray(sample_id)
    X_mir = np.asarray(X_mir)
    _check_rows("X_nir", np.asarray(X_nir), len(ids))
    _check_rows("X_mir", X_mir, len(ids))
    dev = _prepare_device(device)
    train_np, val_np = grouped_split(ids, val_fraction, seed)
    Xin = fno_inputs(X_nir, X_mir.shape[1]).to(dev)
    Y = as_tensor(X_mir, dev, "X_mir").unsqueeze(1)
    with seeded(seed, dev):
        model = FNO1d(modes, width, n_layers, in_channels=2, out_channels=1).to(dev)
        model.arch = {"kind": "fno", "modes": modes, "width": width, "n_layers": n_layers}
        val_rows = torch.as_tensor(val_np, device=dev)

        def step(rows, epoch):
            return F.mse_loss(model(Xin[rows]), Y[rows])

        def evaluate(epoch):
            se = sum(float((model(Xin[val_rows[sl]]) - Y[val_rows[sl]]).pow(2).sum())
                     for sl in batch_slices(len(val_rows), batch_size))
            return {"val_mse": se / Y[val_rows].numel()}

        hist = fit_loop(model, train_rows=torch.as_tensor(train_np, device=dev), step=step, evaluate=evaluate,
                        monitor="val_mse", epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                        patience=patience, seed=seed, device=dev, progress=progress, desc="FNO")
    hist.update(train_idx=train_np, val_idx=val_np, device=str(dev))
    return model, hist


def fno_predict(model: FNO1d, X_nir, n_out: int = 1701, batch_size: int = 256, device=None) -> np.ndarray:
    """MIR predicted by the FNO, ndarray of shape (n_samples, n_out)."""
    X = fno_inputs(X_nir, n_out).numpy()
    out = predict_in_batches(model, X.reshape(len(X), -1), batch_size, device,
                             reshape=(2, n_out))
    return out.reshape(len(X), n_out)


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


def vae_embed(vae: VAE, X, batch_size: int = 4096, device=None) -> np.ndarray:
    """Latent means ``mu`` of ``X``, ndarray of shape (n_samples, latent_dim)."""
    return predict_in_batches(vae.embed, X, batch_size, device)


def nir_to_mir_predict(model: NIRtoMIR, X_nir, batch_size: int = 4096, device=None):
    """``(mir_hat, z)``: predicted MIR (n, n_mir) and NIR latent embedding (n, latent_dim)."""
    mir_hat = predict_in_batches(model, X_nir, batch_size, device)
    z = predict_in_batches(model.nir_encoder, X_nir, batch_size, device)
    return mir_hat, z


# ----------------------------------------------------------------------------- persistence
def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


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
               "config_json": json.dumps(config if config is not None else model_config(model), default=_jsonable),
               "history_json": json.dumps(history or {}, default=_jsonable),
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
