"""AdamW on the CPU: torch's fused kernel (what :class:`soilnb.models.adamw.LeanAdamW` calls) against the
multi-tensor update, per training step of the project's networks, one thread.

    python benchmarks/bench_adamw.py            # LimeSoDa-sized VAE/MLP layers and the default profile's VAE
    python benchmarks/bench_adamw.py --steps 100

Prints, per network and update, the milliseconds of a whole step (forward, backward, update) and of the update
alone (mean over the steps after a warm-up of 50).
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch.optim.adamw import adamw

#: (layer widths, batch): a LimeSoDa network on 512 binned channels, a small head, the default profile's VAE
#: encoder-sized network (1,701 channels, hidden 512).
NETWORKS = [((512, 128, 128, 32), 32), ((32, 128, 128, 4), 32), ((1701, 512, 512, 64), 512)]


def step_times(widths, batch: int, fused: bool, steps: int, warmup: int = 50) -> tuple[float, float]:
    """(ms per whole step, ms per update) of an MLP of ``widths`` trained on one random batch."""
    torch.manual_seed(0)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    params = list(net.parameters())
    state = [(torch.zeros((), dtype=torch.float32), torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    x, y = torch.randn(batch, widths[0]), torch.randn(batch, widths[-1])
    whole = update = 0.0
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = ((net(x) - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        t1 = time.perf_counter()
        with torch.no_grad():
            adamw(params, [p.grad for p in params], [s[1] for s in state], [s[2] for s in state], [],
                  [s[0] for s in state], foreach=not fused, fused=fused, amsgrad=False, beta1=0.9, beta2=0.999,
                  lr=1e-3, weight_decay=1e-4, eps=1e-8, maximize=False, capturable=False, differentiable=False,
                  grad_scale=None, found_inf=None, has_complex=False)
        t2 = time.perf_counter()
        if i >= warmup:
            whole, update = whole + t2 - t0, update + t2 - t1
    return whole / steps * 1e3, update / steps * 1e3


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=350)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; load average {os.getloadavg()[0]:.2f}")
    for widths, batch in NETWORKS:
        steps = max(args.steps // 2, 20) if batch >= 512 else args.steps
        for fused in (False, True):
            whole, update = step_times(widths, batch, fused, steps)
            name = "fused" if fused else "multi-tensor"
            print(f"widths {'-'.join(map(str, widths))}, batch {batch}, {name:>12}: step {whole:.3f} ms, "
                  f"update {update:.3f} ms")


if __name__ == "__main__":
    main()
