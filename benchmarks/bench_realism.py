"""Realism of the simulated KSSL-like MIR spectra against the 500 real toy KSSL spectra.

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_realism.py [--seeds 0 1 2] [--n 500] [--timing]``.
For each simulation seed: ``sample_soils(n, "kssl", random_state=seed)`` and
``mir_spectra(F, P, 4, random_state=seed + 100)`` averaged over the 4 scans, then
:func:`soilnb.realism.realism_auc` at 3, 5 and 10 PCs (classifier seed 0). Prints one line per seed and
the mean; ``--timing`` also times ``simulate_world()`` at its default size. Needs the real toy file
(``soilnb.paths.REAL``); nothing is written.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from soilnb.composition import sample_soils
from soilnb.realism import load_real_kssl_toy, realism_auc
from soilnb.simulate import mir_spectra, simulate_world

PCS = (3, 5, 10)


def simulated(n, seed):
    F, P = sample_soils(n, "kssl", random_state=seed)
    return mir_spectra(F, P, 4, random_state=seed + 100).reshape(n, 4, -1).mean(axis=1)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--timing", action="store_true")
    a = ap.parse_args(argv)
    X, _ = load_real_kssl_toy()
    rows = []
    for s in a.seeds:
        S = simulated(a.n, s)
        rows.append([realism_auc(X, S, n_components=k) for k in PCS])
        print(f"seed {s}: " + "  ".join(f"AUC@{k}={v:.3f}" for k, v in zip(PCS, rows[-1])), flush=True)
    m = np.mean(rows, axis=0)
    print("mean:   " + "  ".join(f"AUC@{k}={v:.3f}" for k, v in zip(PCS, m)))
    if a.timing:
        t0 = time.perf_counter()
        simulate_world()
        print(f"simulate_world() default size: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
