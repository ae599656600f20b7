"""The training loop shared by every torch stage (:mod:`soilnb.models.train`) and :class:`soilnb.models.mlp.MLPRegressor`.

:func:`fit_loop` runs AdamW over shuffled batches of row indices with early stopping; it takes
the model, the step and the evaluation as arguments and reads no module state.
:func:`grouped_split` makes the train/validation split by sample id that all of them use.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from soilnb.models.adamw import make_adamw
from soilnb.models.torchutil import batch_slices, permutation


# ----------------------------------------------------------------------------- the shared loop
def epoch_lr(lr: float, epoch: int, epochs: int, schedule: str = "constant", floor: float = 0.05) -> float:
    """Learning rate of ``epoch`` (0-based): ``lr`` throughout, or a cosine from ``lr`` to ``floor * lr``."""
    if schedule == "constant" or epochs < 2:
        return float(lr)
    return float(lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * epoch / (epochs - 1)))))


#: Fewer optimiser steps than this in a whole run draws a warning (an under-trained model on a small set).
MIN_STEPS = 200


def capped_batch_size(batch_size: int, n_train: int) -> int:
    """The batch a run uses: at most an eighth of the training rows (at least 16), so that a few hundred rows
    still get about eight optimiser steps per epoch (batch 512 on 400 rows gives one, 128 on 384 gives three).
    Sets of thousands of rows keep the batch they ask for."""
    return int(min(batch_size, max(16, n_train // 8)))


def fit_loop(model: nn.Module, *, train_rows: torch.Tensor, step: Callable, evaluate: Callable, monitor: str | None,
             epochs: int, batch_size: int, lr: float, weight_decay: float, patience, seed: int,
             device: torch.device, progress: bool, desc: str, on_epoch: Callable | None = None,
             lr_schedule: str = "constant", min_steps: int = 0) -> dict:
    """AdamW over shuffled batches of ``train_rows`` with early stopping on ``evaluate()[monitor]``.

    ``step(rows, epoch) -> loss`` (scalar tensor) runs the forward pass on a batch of row indices;
    ``evaluate(epoch) -> dict`` of floats is called with the model in eval mode under no_grad;
    ``monitor=None`` disables early stopping and keeps the last weights;
    ``on_epoch(epoch) -> dict`` (optional) is called before each epoch and its values logged.
    ``lr_schedule``: ``"constant"`` or ``"cosine"`` (per epoch, from ``lr`` down to ``lr / 20`` at the
    last of ``epochs``; Loshchilov & Hutter 2017, arXiv:1608.03983, without restarts); the rate used is
    logged as ``lr``. ``min_steps``: early stopping may end the run only once this many optimiser steps have
    run (a patience counted in epochs is few steps on a small set). The best weights (lowest monitored value)
    are restored at the end. Returns the history.
    """
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be None or >= 1, got {patience}")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_adamw(params, lr=lr, weight_decay=weight_decay, device=device)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    slices = batch_slices(len(train_rows), batch_size, drop_last=True)
    hist: dict = {"epoch": [], "train_loss": [], "seconds": [], "train_seconds": []}
    best, best_state, best_epoch, bad = math.inf, None, -1, 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        extra = on_epoch(epoch) if on_epoch else {}
        extra["lr"] = epoch_lr(lr, epoch, epochs, lr_schedule)
        for group in opt.param_groups:
            group["lr"] = extra["lr"]
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
            if patience is not None and bad >= patience and len(slices) * (epoch + 1) >= min_steps:
                break
    bar.close()
    if monitor is not None:
        if best_state is None:
            raise FloatingPointError(f"{desc}: validation {monitor} was never finite; check the data and lr")
        model.load_state_dict(best_state)
        hist["best_" + monitor] = best
    model.eval()
    hist["best_epoch"] = best_epoch
    hist["steps"] = len(slices) * len(hist["epoch"])
    # a run whose best epoch is its last, with every planned epoch run, ended while still improving
    hist["still_improving"] = bool(monitor is not None and epochs > 1 and len(hist["epoch"]) == epochs
                                   and best_epoch == epochs - 1)
    if hist["still_improving"]:
        warnings.warn(f"{desc}: validation {monitor} was still falling at the last of {epochs} epochs "
                      f"({hist['steps']} optimiser steps); more epochs would likely help", stacklevel=2)
    if hist["steps"] < MIN_STEPS:
        warnings.warn(f"{desc}: only {hist['steps']} optimiser steps ({len(slices)} batches of {batch_size} x "
                      f"{len(hist['epoch'])} epochs); a small set needs a smaller batch or more epochs", stacklevel=2)
    return hist
