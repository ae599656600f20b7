"""Throughput of the real VAE training loop (:func:`soilnb.models.train.train_vae`) on random data.

Usage::

    python benchmarks/bench_vae.py [--scans 334665] [--channels 1701] [--epochs 3] [--device cuda] [--compile]

Prints scans per second (training steps only, and whole epochs including validation) and
seconds per epoch. The first epoch (CUDA context warm-up, torch.compile compilation, allocator
growth) is excluded from the rates; with ``--epochs 1`` it is reported as is.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from soilnb.models.nets import VAEConfig
from soilnb.models.torchutil import count_parameters, resolve_device
from soilnb.models.train import train_vae


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=334665, help="number of scans (rows); paper: 334,665")
    ap.add_argument("--channels", type=int, default=1701, help="spectral channels; MIR: 1,701")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    ap.add_argument("--batch-size", type=int, default=None, help="default 4096 on CUDA, 512 on CPU")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--repeats", default="independent", choices=["independent", "cross", "mean"])
    ap.add_argument("--scans-per-sample", type=int, default=4)
    args = ap.parse_args(argv)

    dev = resolve_device(args.device)
    bs = args.batch_size or (4096 if dev.type == "cuda" else 512)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.scans, args.channels), dtype=np.float32)
    sample_id = np.arange(args.scans) // args.scans_per_sample
    cfg = VAEConfig(n_in=args.channels, latent_dim=args.latent, hidden=args.hidden, depth=args.depth)

    t0, c0 = time.perf_counter(), time.process_time()
    model, hist = train_vae(X, sample_id, cfg, epochs=args.epochs, batch_size=bs, lr=1e-3, patience=None,
                            repeats=args.repeats, seed=0, device=str(dev), compile=args.compile, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0

    n_train, n_val = hist["n_train"], hist["n_val"]
    steady = slice(1, None) if len(hist["seconds"]) > 1 else slice(None)
    train_s = float(np.mean(hist["train_seconds"][steady]))
    epoch_s = float(np.mean(hist["seconds"][steady]))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {dev} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"compile={args.compile}, repeats={args.repeats}")
    print(f"data: {args.scans} scans x {args.channels} channels ({n_train} train / {n_val} val scans), "
          f"batch {bs}, VAE hidden {args.hidden} depth {args.depth} latent {args.latent} "
          f"({count_parameters(model):,} parameters)")
    print(f"first epoch (warm-up, excluded below): {hist['seconds'][0]:.2f} s")
    print(f"steady epochs ({'epochs 2..' if steady.start else 'all'}): {epoch_s:.2f} s per epoch, "
          f"{train_s:.2f} s of it in training steps")
    print(f"training throughput: {n_train / train_s:,.0f} scans/s; "
          f"whole epoch incl. validation: {(n_train + n_val) / epoch_s:,.0f} scans/s")
    print(f"total wall time incl. data transfer and warm-up: {wall:.1f} s "
          f"(process CPU time {cpu:.1f} s; wall >> CPU/threads means other processes competed for the cores)")


if __name__ == "__main__":
    main()
