"""Realism of the simulated MIR (and NIR) spectra against real ones: 500 toy KSSL MIR, 825 NIRsoil NIR spectra.

Run ``PYTHONPATH=. .venv/bin/python benchmarks/bench_realism.py [--seeds 0 1 2] [--n 500] [--timing] [--no-nir]``.
For each simulation seed: ``sample_soils(n, "kssl", random_state=seed)`` and
``mir_spectra(F, P, 4, random_state=seed + 100)`` averaged over the 4 scans, then
:func:`soilnb.data.realism.realism_auc` at 3, 5 and 10 PCs (classifier seed 0). Prints one line per seed and
the mean; ``--timing`` also times ``simulate_world()`` at its default size. Needs the real toy file
(``soilnb.core.paths.REAL``); nothing is written.

NIR part (skipped with ``--no-nir``): per seed ``sample_soils(825, "paired", random_state=seed)`` and
``nir_spectra(F, P, random_state=seed + 100)`` (NeoSpectra 2022) against the 825 real NIRsoil spectra
(:func:`soilnb.data.realism.load_real_nirsoil`, needs ``rdata``), put on a common footing once per seed
(:func:`soilnb.data.realism.nir_common_footing`: 1400-2498 nm, log10(1/R), NeoSpectra resolution), then
:func:`soilnb.data.realism.realism_auc` (SNV inside) at 3, 5 and 10 PCs, as :func:`~soilnb.data.realism.nir_realism_auc` does.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from soilnb.core.vocab import NIR_AXIS_NM
from soilnb.data.realism import (
    load_real_kssl_toy,
    load_real_nirsoil,
    nir_common_footing,
    realism_auc,
)
from soilnb.data.simulate.composition import sample_soils
from soilnb.data.simulate.spectra import mir_spectra, nir_spectra
from soilnb.data.simulate.world import simulate_world

PCS = (3, 5, 10)


def simulated(n, seed):
    F, P = sample_soils(n, "kssl", random_state=seed)
    return mir_spectra(F, P, 4, random_state=seed + 100).reshape(n, 4, -1).mean(axis=1)


def simulated_nir(n, seed):
    F, P = sample_soils(n, "paired", random_state=seed)
    return nir_spectra(F, P, random_state=seed + 100)


def report(label, rows):
    for s, row in rows:
        print(f"{label} seed {s}: " + "  ".join(f"AUC@{k}={v:.3f}" for k, v in zip(PCS, row)), flush=True)
    m = np.mean([row for _, row in rows], axis=0)
    print(f"{label} mean:   " + "  ".join(f"AUC@{k}={v:.3f}" for k, v in zip(PCS, m)), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--no-nir", action="store_true", help="skip the NIR (NIRsoil) part")
    a = ap.parse_args(argv)
    X, _ = load_real_kssl_toy()
    rows = []
    for s in a.seeds:
        S = simulated(a.n, s)
        rows.append((s, [realism_auc(X, S, n_components=k) for k in PCS]))
    report("MIR", rows)
    if not a.no_nir:
        Xn, axis = load_real_nirsoil()
        rows = []
        for s in a.seeds:               # one simulation and one common footing per seed, then each PC count
            real, sim, _ = nir_common_footing(Xn, axis, simulated_nir(len(Xn), s), NIR_AXIS_NM)
            rows.append((s, [realism_auc(real, sim, n_components=k) for k in PCS]))
        report("NIR", rows)
    if a.timing:
        t0 = time.perf_counter()
        simulate_world()
        print(f"simulate_world() default size: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
