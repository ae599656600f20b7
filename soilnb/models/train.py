"""Training loops for the three torch stages (VAE, NIR->MIR, FNO ablation).

Everything arrives as arguments; nothing reads files or module state. Speed: the whole data set
is moved to the device once and batches are gathered with a random permutation (no DataLoader);
on CUDA the forward pass runs under bf16 autocast, TF32 matmuls are allowed, AdamW is fused and
``torch.compile`` is optional. Losses are accumulated on the device and read once per epoch.

The shared loop is in :mod:`soilnb.models.loop`, prediction in :mod:`soilnb.models.inference` and
model persistence in :mod:`soilnb.models.checkpoints`. Each function returns the split it trained on.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from soilnb.models.checkpoints import build_nir_to_mir
from soilnb.models.inference import embed, fno_inputs
from soilnb.models.loop import capped_batch_size, fit_loop
from soilnb.models.nets import VAE, FNO1d, VAEConfig, vae_loss
from soilnb.models.torchutil import as_tensor, batch_slices, resolve_device, seeded
from soilnb.stats.splits import grouped_split

REPEATS = ("independent", "cross", "mean")


# ----------------------------------------------------------------------------- small helpers
def alpha_schedule(epoch: int, n_epochs: int) -> float:
    """Weight ``alpha_t`` of the NIR reconstruction regulariser (paper Eq. 6).

    Linear from 1 at the first epoch (``epoch=0``) to 0 at the last (``epoch=n_epochs-1``);
    a single-epoch run uses 1.
    """
    if n_epochs < 1 or not 0 <= epoch < n_epochs:
        raise ValueError(f"need 0 <= epoch < n_epochs, got epoch={epoch}, n_epochs={n_epochs}")
    return 1.0 if n_epochs == 1 else 1.0 - epoch / (n_epochs - 1)


def vae_batch_size(batch_size: int, n_train: int) -> int:
    """The batch actually used: :func:`soilnb.models.loop.capped_batch_size` (at most an eighth of the training
    scans, at least 16), the rule the MLPs follow too. Libraries of thousands of scans keep the batch they ask for."""
    return capped_batch_size(batch_size, n_train)


def _split(ids, split, val_fraction, seed):
    """The caller's ``(train_idx, val_idx)``, checked, or a grouped split of ``ids``."""
    if split is None:
        return grouped_split(ids, val_fraction, seed)
    tr, va = (np.asarray(a, dtype=np.int64) for a in split)
    if len(np.intersect1d(ids[tr], ids[va])) or tr.max(initial=-1) >= len(ids) or va.max(initial=-1) >= len(ids):
        raise ValueError("split: train and validation rows must be row indices whose sample ids do not overlap")
    return tr, va


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
              repeats: str = "independent", seed: int = 0, device="auto", compile: bool = False, lr_schedule="constant",
              val_fraction: float = 0.2, weight_decay: float = 1e-4, progress: bool = True):
    """Train the MIR VAE (paper Sect. 2.2, Eqs. 2-3) with a grouped 80/20 split and early stopping.

    Parameters
    ----------
    X : ndarray of shape (n_scans, cfg.n_in)
        SNV-preprocessed MIR scans (float32).
    sample_id : ndarray of shape (n_scans,)
        Sample of each scan; repeats of one sample share it and never straddle the split.
    cfg : VAEConfig
    epochs, batch_size, lr, patience : training settings (``patience=None``: no early stop); the batch is
        capped by :func:`vae_batch_size` so that a small library still gets several steps per epoch.
    lr_schedule : {"constant", "cosine"}
        Per-epoch learning rate (:func:`soilnb.models.loop.epoch_lr`); the pipeline uses ``Config.vae_lr_schedule``.
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
        plus best_epoch, best_val_loss, n_train, n_val, val_idx (the validation scan rows of the grouped
        split), repeats, device.
    """
    if repeats not in REPEATS:
        raise ValueError(f"repeats must be one of {REPEATS}, got {repeats!r}")
    X = np.asarray(X)
    _check_rows("X", X, len(np.asarray(sample_id)))
    if X.ndim != 2 or X.shape[1] != cfg.n_in:
        raise ValueError(f"X must have shape (n_scans, cfg.n_in={cfg.n_in}), got {X.shape}")
    dev = _prepare_device(device)
    train_np, val_np = grouped_split(sample_id, val_fraction, seed)
    if vae_batch_size(batch_size, len(train_np)) != batch_size:
        warnings.warn(f"VAE: batch {batch_size} capped at {vae_batch_size(batch_size, len(train_np))} for "
                      f"{len(train_np)} training scans (at most an eighth of them per batch)", stacklevel=2)
        batch_size = vae_batch_size(batch_size, len(train_np))
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
                        seed=seed, device=dev, progress=progress, desc="VAE", lr_schedule=lr_schedule)
    hist.update(n_train=len(train_np), n_val=len(val_np), val_idx=val_np, batch_size=batch_size, repeats=repeats,
                device=str(dev))
    return model, hist


# ----------------------------------------------------------------------------- stage 2: NIR -> MIR
def train_nir_to_mir(vae: VAE, X_nir, X_mir, sample_id, *, split=None, hidden: int, epochs: int, batch_size: int, lr: float,
                     seed: int = 0, device="auto", val_fraction: float = 0.2, patience=None, depth: int = 2,
                     weight_decay: float = 1e-4, latent_prior: float = 0.0, progress: bool = True):
    """Train a NIR encoder into the frozen VAE decoder's latent space (paper Sect. 2.3, Eqs. 4-6).

    ``latent_prior`` (default 0: the paper's loss) adds ``latent_prior * mean(((z - m) / s)^2)``,
    where ``m``, ``s^2`` are the per-dimension mean and variance (floored at 1e-3) of the VAE
    embeddings of the training MIR spectra. The frozen decoder ignores latent dimensions the VAE
    left unused (collapsed to the prior), so Eq. 5 alone lets the NIR encoder put anything there;
    this term pulls each dimension of z_NIR toward the range of the MIR embeddings, which matters for the
    NIRtoMIR-SSL strategy (it reads z directly). It is diagonal: it does not bound the joint
    Mahalanobis distance that the distribution-shift analysis uses.

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
    split : (train_idx, val_idx), optional
        Row indices of a split made by the caller (the pipeline carries the Paired split); by
        default :func:`soilnb.stats.splits.grouped_split` of ``sample_id``.

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
    train_np, val_np = _split(ids, split, val_fraction, seed)
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
                z_mir = embed(vae, X_mir[train_np])
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
def train_fno(X_nir, X_mir, sample_id, *, split=None, modes: int, width: int, epochs: int, batch_size: int, lr: float,
              seed: int = 0, device="auto", val_fraction: float = 0.2, n_layers: int = 4, patience=None,
              weight_decay: float = 1e-4, progress: bool = True):
    """Train :class:`FNO1d` from scratch on NIR (resampled to the MIR grid) -> MIR (Appendix C).

    ``split`` is as in :func:`train_nir_to_mir`. Returns ``(model, history)`` with per-epoch
    train_loss, val_mse, seconds and best_epoch, train_idx, val_idx; best validation weights restored.
    """
    ids = np.asarray(sample_id)
    X_mir = np.asarray(X_mir)
    _check_rows("X_nir", np.asarray(X_nir), len(ids))
    _check_rows("X_mir", X_mir, len(ids))
    dev = _prepare_device(device)
    train_np, val_np = _split(ids, split, val_fraction, seed)
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
