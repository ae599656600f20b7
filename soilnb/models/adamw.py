"""AdamW for the training loop: torch's multi-tensor update, called without the optimizer object's per-step work.

:func:`make_adamw` gives what :func:`soilnb.models.loop.fit_loop` steps with. On CUDA it is ``torch.optim.AdamW``,
fused. On the CPU it is :class:`LeanAdamW`, which keeps AdamW's state itself and calls torch's own update
(``torch.optim.adamw.adamw``, multi-tensor) each step. Why not ``torch.optim.AdamW`` there too:

* torch's default on the CPU is the per-parameter ("for-loop") update, about a dozen small operations per weight
  tensor and step; the multi-tensor update does the same arithmetic in the same order, in a few operations.
* ``torch.optim.AdamW.step`` itself (hooks, profiler records, gathering the state of each group) adds about a
  tenth of a small network's step; :class:`LeanAdamW` gathers nothing it already holds.

For the project's small networks (a LimeSoDa VAE or MLP head, batches of 8-128 rows) the two together took about
a third of a step.

The weights are identical bit for bit to ``torch.optim.AdamW(foreach=False)`` driven by the same batches
(``tests/test_train.py``). The fused CPU kernel would be faster still but rounds differently, so it is not used.
"""
from __future__ import annotations

import torch
from torch.optim.adamw import adamw


class LeanAdamW:
    """AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101) with torch's defaults (betas 0.9 / 0.999, eps 1e-8),
    its state kept here: ``step()`` updates every parameter that has a gradient, ``zero_grad()`` drops the
    gradients. ``param_groups[0]["lr"]`` is the rate the next step uses (the loop sets it per epoch)."""

    def __init__(self, params, *, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        if any(torch.is_complex(p) for p in self.params):
            raise ValueError("LeanAdamW takes real parameters only")
        if not (lr >= 0.0 and weight_decay >= 0.0 and eps >= 0.0 and all(0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"invalid AdamW settings: lr={lr}, weight_decay={weight_decay}, eps={eps}, "
                             f"betas={tuple(betas)}")
        self.param_groups = [{"lr": float(lr)}]
        self.defaults = {"lr": float(lr), "weight_decay": float(weight_decay), "betas": tuple(betas),
                         "eps": float(eps), "foreach": True}
        self.state: dict = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for p in self.params:
            if p.grad is None:                  # as torch: a parameter without a gradient is left alone
                continue
            if p.grad.is_sparse:
                raise RuntimeError("LeanAdamW does not support sparse gradients")
            state = self.state.get(p)
            if state is None:                   # torch's lazy initialisation (a CPU step counter, zero moments)
                state = self.state[p] = (torch.tensor(0.0, dtype=_step_dtype(), device="cpu"),
                                         torch.zeros_like(p, memory_format=torch.preserve_format),
                                         torch.zeros_like(p, memory_format=torch.preserve_format))
            params.append(p)
            grads.append(p.grad)
            steps.append(state[0])
            exp_avgs.append(state[1])
            exp_avg_sqs.append(state[2])
        if not params:
            return
        d = self.defaults
        adamw(params, grads, exp_avgs, exp_avg_sqs, [], steps, foreach=True, amsgrad=False, beta1=d["betas"][0],
              beta2=d["betas"][1], lr=self.param_groups[0]["lr"], weight_decay=d["weight_decay"], eps=d["eps"],
              maximize=False, capturable=False, differentiable=False, fused=None, grad_scale=None, found_inf=None,
              has_complex=False)


def _step_dtype() -> torch.dtype:
    """The type of torch's CPU step counter (``torch.optim.optimizer._get_scalar_dtype``): float64 under a float64
    default, else float32."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def make_adamw(params, *, lr: float, weight_decay: float, device: torch.device):
    """The optimiser :func:`soilnb.models.loop.fit_loop` steps with: ``torch.optim.AdamW`` fused on CUDA,
    :class:`LeanAdamW` elsewhere (the same weights as torch's CPU AdamW, faster)."""
    if device.type == "cuda":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    return LeanAdamW(params, lr=lr, weight_decay=weight_decay)
