"""AdamW for the training loop: torch's fused update, called without the optimizer object's per-step work.

:func:`make_adamw` gives what :func:`soilnb.models.loop.fit_loop` steps with. On CUDA it is ``torch.optim.AdamW``,
fused. On the CPU it is :class:`LeanAdamW`, which keeps AdamW's state itself and calls torch's own fused update
(``torch.optim.adamw.adamw(..., fused=True)``: one kernel per weight tensor) each step. Why not
``torch.optim.AdamW`` there too:

* torch's default on the CPU is the per-parameter ("for-loop") update, about a dozen small operations per weight
  tensor and step; the fused kernel does the whole update in one pass over each tensor (a LimeSoDa network's
  step: about 0.39 ms of update in the multi-tensor update, 0.16 ms fused, on one thread:
  ``benchmarks/bench_adamw.py``);
* ``torch.optim.AdamW.step`` itself (hooks, profiler records, gathering the state of each group) adds about a
  tenth of a small network's step; :class:`LeanAdamW` gathers nothing it already holds.

For the project's small networks (a LimeSoDa VAE or MLP head, batches of 8-128 rows) the optimiser had taken about
a third of a step.

The weights are identical bit for bit to ``torch.optim.AdamW(fused=True)`` driven by the same batches, and within
float32 rounding of the per-parameter update (``tests/test_train.py``); the fused kernel works element by element,
so the weights do not depend on the number of threads. It rounds differently from the multi-tensor update used
before: the networks trained to other weights and their tables changed when it came in (CHANGELOG).
"""
from __future__ import annotations

import torch
from torch.optim.adamw import adamw


class LeanAdamW:
    """AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101) with torch's defaults (betas 0.9 / 0.999, eps 1e-8),
    torch's fused CPU kernel, its state kept here: ``step()`` updates every parameter that has a gradient,
    ``zero_grad()`` drops the gradients. ``param_groups[0]["lr"]`` is the rate the next step uses (the loop sets it
    per epoch)."""

    def __init__(self, params, *, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        if any(torch.is_complex(p) for p in self.params):
            raise ValueError("LeanAdamW takes real parameters only")
        if not (lr >= 0.0 and weight_decay >= 0.0 and eps >= 0.0 and all(0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"invalid AdamW settings: lr={lr}, weight_decay={weight_decay}, eps={eps}, "
                             f"betas={tuple(betas)}")
        self.param_groups = [{"lr": float(lr)}]
        self.defaults = {"lr": float(lr), "weight_decay": float(weight_decay), "betas": tuple(betas),
                         "eps": float(eps), "fused": True}
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
            if state is None:                   # torch's lazy initialisation (a float32 step counter, zero moments)
                state = self.state[p] = (torch.zeros((), dtype=torch.float32, device=p.device),
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
        adamw(params, grads, exp_avgs, exp_avg_sqs, [], steps, foreach=False, fused=True, amsgrad=False,
              beta1=d["betas"][0], beta2=d["betas"][1], lr=self.param_groups[0]["lr"],
              weight_decay=d["weight_decay"], eps=d["eps"], maximize=False, capturable=False, differentiable=False,
              grad_scale=None, found_inf=None, has_complex=False)


def make_adamw(params, *, lr: float, weight_decay: float, device: torch.device):
    """The optimiser :func:`soilnb.models.loop.fit_loop` steps with: ``torch.optim.AdamW`` fused on CUDA,
    :class:`LeanAdamW` elsewhere (the same weights as torch's fused AdamW, faster)."""
    if device.type == "cuda":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    return LeanAdamW(params, lr=lr, weight_decay=weight_decay)
