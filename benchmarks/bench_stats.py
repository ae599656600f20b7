"""Speed of the statistics core: Xi map, PLSR versus scikit-learn, repeated PLSR CV.

Run ``.venv/bin/python benchmarks/bench_stats.py [--quick]``; each figure is printed on its
own line. Data are synthetic (seeded); ``--quick`` shrinks every size for a fast check.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cross_decomposition import PLSRegression

from soilnb.core.vocab import PROPERTIES
from soilnb.stats.cv import repeated_cv_pls
from soilnb.stats.pls import PLSR
from soilnb.stats.xi import xi_matrix


def load_xicor():
    """``xicor.xicor.Xi`` loaded from its file (the package ``__init__`` needs ``pkg_resources``)."""
    spec = importlib.util.find_spec("xicor")
    path = Path(list(spec.submodule_search_locations)[0]) / "xicor.py"
    mod_spec = importlib.util.spec_from_file_location("_xicor_impl", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module.Xi


def timed(fn, *args, **kwargs):
    """Result and wall-clock seconds (CPU seconds of this process are printed where useful)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def timed_cpu(fn, *args, **kwargs):
    """Result, wall-clock seconds and CPU seconds (all threads) of this process."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, time.process_time() - c0


def spectra(n, K, k, rng, groups=None):
    """Smooth synthetic spectra from ``k`` latent factors, plus the factors."""
    T = rng.normal(size=(n, k))
    if groups is not None:
        T = T[groups] + 0.1 * rng.normal(size=(groups.size, k))
    grid = np.linspace(0, 1, K)
    bands = np.exp(-0.5 * ((grid[None, :] - rng.uniform(size=(k, 1))) / rng.uniform(0.02, 0.2, (k, 1))) ** 2)
    X = T @ bands + 0.02 * rng.normal(size=(T.shape[0], K))
    return X, T


def bench_xi(quick, rng):
    n, k, b = (5_000, 32, 136) if quick else (51_508, 32, 136)
    Z = rng.normal(size=(n, k))
    S = np.tanh(Z @ rng.normal(size=(k, b)) * 0.3) + rng.normal(size=(n, b))
    _, t, cpu = timed_cpu(xi_matrix, Z, S)
    print(f"xi_matrix {k}x{b} map on n={n}: {t:.2f} s wall, {cpu:.2f} s CPU")

    Xi = load_xicor()
    n2 = 2_000 if quick else 5_000
    Z2, S2 = Z[:n2], S[:n2]
    M, t_vec = timed(xi_matrix, Z2, S2)
    pairs = [(i, j) for i, j in zip(range(0, k, 8), range(0, b, 30))]   # a subset of the k*b pairs
    t0 = time.perf_counter()
    ref = [Xi(Z2[:, i], S2[:, j]).correlation for i, j in pairs]
    t_pair = (time.perf_counter() - t0) / len(pairs)
    assert np.allclose(ref, [M[i, j] for i, j in pairs], atol=1e-12)
    t_loop = t_pair * k * b
    print(f"xicor Python loop, n={n2}: {t_pair:.3f} s per pair, timed on {len(pairs)} pairs and "
          f"extrapolated to all {k * b} pairs: {t_loop:.0f} s")
    print(f"xi_matrix {k}x{b} on n={n2}: {t_vec:.3f} s -> speed-up vs xicor loop {t_loop / t_vec:.0f}x")


def bench_pls(quick, rng):
    n, K, A = (4_000, 500, 20) if quick else (20_000, 1_701, 20)
    X, T = spectra(n, K, 25, rng)
    y = T @ rng.normal(size=25) + 0.1 * rng.normal(size=n)
    ours, t_ours, c_ours = timed_cpu(PLSR(n_components=A).fit, X, y)
    ref, t_sk, c_sk = timed_cpu(PLSRegression(A, scale=False).fit, X, y)
    rel = np.max(np.abs(ours.predict(X) - ref.predict(X).ravel())) / np.max(np.abs(y))
    print(f"PLSR fit {n}x{K}, {A} components: soilnb/ikpls {t_ours:.2f} s, sklearn PLSRegression "
          f"{t_sk:.2f} s -> speed-up {t_sk / t_ours:.1f}x wall, {c_sk / c_ours:.1f}x CPU "
          f"(max rel. prediction difference {rel:.1e})")
    _, t_cv = timed(PLSR(max_components=A, cv=5, random_state=0).fit, X, y)
    # sklearn has no all-components prediction: a grid search refits every a = 1..A per fold.
    # NIPALS cost grows linearly with a, so sum_a t(a) ~ t(A) (A + 1) / 2; time one fold at A.
    n_tr = n * 4 // 5
    _, t_fold = timed(PLSRegression(A, scale=False).fit, X[:n_tr], y[:n_tr])
    t_grid = 5 * t_fold * (A + 1) / 2
    print(f"PLSR fit with 5-fold CV over 1..{A} components, {n}x{K}: {t_cv:.2f} s; sklearn grid search "
          f"(5 folds x {A} refits, extrapolated from one {A}-component fold fit of {t_fold:.2f} s): "
          f"~{t_grid:.0f} s -> speed-up ~{t_grid / t_cv:.0f}x")


def bench_cv(quick, rng):
    n_samples, K, reps = (504, 400, 2) if quick else (2_016, 1_701, 10)
    groups = np.arange(n_samples)
    X, T = spectra(n_samples, K, 15, rng, groups=groups)
    Y = pd.DataFrame(T @ rng.normal(size=(15, 9)) + rng.normal(size=(n_samples, 9)), columns=PROPERTIES)
    res, t, cpu = timed_cpu(repeated_cv_pls, X, Y, groups, n_splits=10, n_repeats=reps,
                            max_components=20, random_state=0)
    print(f"repeated_cv_pls {reps}x10 folds, 3 inner folds per outer fold, {n_samples}x{K}, "
          f"9 properties: {t:.1f} s wall, {cpu:.1f} s CPU ({len(res)} rows, mean CCC {res['ccc'].mean():.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a fast check")
    args = parser.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}; quick={args.quick}; "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(0)
    bench_xi(args.quick, rng)
    bench_pls(args.quick, rng)
    bench_cv(args.quick, rng)
    load, cores = os.getloadavg()[0], len(os.sched_getaffinity(0))
    note = " (above the core count: other processes compete, wall times are inflated)" if load > cores else ""
    print(f"load average at end: {load:.1f}{note}")


if __name__ == "__main__":
    main()
