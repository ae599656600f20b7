"""Do the intervals hold on shifted real soils, and do the bundle's marks say when they do not?

A bundle trained on the 500 real KSSL MIR spectra of the toy file (organic carbon, clay, CEC; ``source="files"``,
a grouped 20 % held out as the test set) is applied to the held-out KSSL samples (no shift) and to the five
LimeSoDa MIR sets (soils of other laboratories and instruments: a real shift). LimeSoDa's SOC is compared with
the bundle's OC, its clay with clay. The KSSL spectra are cut to 752-3798 cm-1 first, the range every one of the
five LimeSoDa sets covers (otherwise the grid policy refuses the NRW and O sets, which end at 3799-3800 cm-1),
before the grouped split and the stages (``stages.get_features(cfg, world)``).

Printed (the bundle's default MIR strategy, 90 % intervals): per data set and property the coverage over all
rows, over the rows the bundle marks unsupported (``interval_supported`` False) and over the others, and the
coverage and median width of weighted split conformal (Tibshirani et al. 2019, density ratios from a domain
classifier, each data set one batch); then every candidate rule of
:func:`soilnb.apply.support.unsupported_rules` on all LimeSoDa rows and on the held-out KSSL rows (share
marked, coverage of marked and unmarked rows, share of the misses among the marked rows); then plain against
weighted over all LimeSoDa rows, and the values clipped to their physical bounds.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_shift_intervals.py [--vae-epochs 30] [--cache DIR]

Needs ``python -m soilnb.data fetch kssl_toy`` and the LimeSoDa sets (``python -m soilnb.data fetch limesoda``).
The stages are cached under ``--cache`` (a second run takes seconds).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb import apply, stages
from soilnb.apply.inference import latent, predict_arrays, prepare
from soilnb.apply.support import SUPPORT_RULE, batch_marks, interval_support, unsupported_rules
from soilnb.apply.realdata import limesoda_library
from soilnb.core import paths
from soilnb.core.config import get_config
from soilnb.data import real_path
from soilnb.data.files import load_files_library
from soilnb.data.library import World
from soilnb.stats.splits import grouped_split

SETS = ("H.138", "NRW.115", "NRW.62", "NRW.42", "O.32")
#: LimeSoDa target -> the KSSL bundle's property.
COMPARED = {"SOC": "OC", "Clay": "clay"}
GRID = (752, 3798)


def cut_world(cfg) -> World:
    """The toy KSSL world as ``source="files"`` builds it (a grouped ``test_fraction`` held out), the spectra cut
    to :data:`GRID`."""
    lib = load_files_library(real_path("kssl_mir_toy/toy_kssl_mir.csv.gz"), "training")
    lib = lib.on_grid(np.arange(GRID[0], GRID[1] + 1, 2.0))
    tr, te = grouped_split(lib.sample_id, val_fraction=cfg.test_fraction, seed=cfg.seed)
    return World(kssl=lib.subset(tr), test_mir=lib.subset(te).average_scans(), source="files")


def build(args):
    paths.CACHE = Path(args.cache) / "cache"
    cfg = get_config("smoke", source="files", data_dir=str(real_path("kssl_mir_toy/toy_kssl_mir.csv.gz")),
                     properties="OC,clay,CEC", vae_epochs=args.vae_epochs, vae_hidden=256, latent_dim=16,
                     mlp_hidden=64, mlp_epochs=60, pls_max_components=15, seed=args.seed)
    F = stages.get_features(cfg, cut_world(cfg))
    vae, vh = stages.get_vae(cfg, F, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stages.get_regressions(cfg, F, vae, None)
    b = apply.build_bundle(cfg, F, vae, None, res, vh)
    return cfg, F, b


def rows_of(b, X, Y: pd.DataFrame, dataset: str, strategy: str, compared: dict) -> pd.DataFrame:
    """Per spectrum and compared property: observed, predicted, interval, covered, the flags and the weighted
    interval."""
    per, fl = predict_arrays(b, "MIR", X, [strategy])
    pred, lo, hi = per[strategy]
    marks = unsupported_rules(b, "MIR", strategy, fl)
    batch = batch_marks(b, strategy, latent(b, "MIR", np.asarray(X, np.float32)))
    supported, _ = interval_support(b, "MIR", strategy, fl, pred.attrs["clipped"], batch)
    marks["batch"] = np.full(len(fl), batch[0])
    marks[f"{SUPPORT_RULE}|batch"] = marks[SUPPORT_RULE] | batch[0]
    out = []
    _, w_lo, w_hi = predict_arrays(b, "MIR", X, [strategy], weighted=True)[0][strategy]
    for t, p in compared.items():
        y = Y[t].to_numpy(float)
        ok = np.isfinite(y)
        d = pd.DataFrame({"dataset": dataset, "property": p, "y": y, "pred": pred[p].to_numpy(),
                          "lower": lo[p].to_numpy(), "upper": hi[p].to_numpy(),
                          "clipped": pred.attrs["clipped"][p].to_numpy()})
        d["covered"] = (d["lower"] <= y) & (y <= d["upper"])
        d["width"] = d["upper"] - d["lower"]
        d["unsupported"] = ~supported
        for k, m in marks.items():
            d[f"rule:{k}"] = np.asarray(m, bool)
        d["w_covered"] = (w_lo[p].to_numpy() <= y) & (y <= w_hi[p].to_numpy())
        d["w_width"] = w_hi[p].to_numpy() - w_lo[p].to_numpy()
        out.append(d[ok])
    return pd.concat(out, ignore_index=True)


def rule_table(t: pd.DataFrame, by) -> pd.DataFrame:
    rules = [c for c in t.columns if c.startswith("rule:")]
    rows = []
    for key, g in t.groupby(by, sort=False):
        miss = ~g["covered"]
        for r in rules:
            m = g[r]
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "rule": r[5:], "n": len(g),
                         "coverage": g["covered"].mean(), "marked": m.mean(),
                         "cov_marked": g["covered"][m].mean() if m.any() else np.nan,
                         "cov_unmarked": g["covered"][~m].mean() if (~m).any() else np.nan,
                         "misses_marked": (m & miss).sum() / max(miss.sum(), 1)})
    return pd.DataFrame(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vae-epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "soilnb-bench-shift"))
    args = ap.parse_args()
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cfg, F, b = build(args)
    s = b.default_strategy["MIR"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; bundle built in "
          f"{time.perf_counter() - t0:.0f} s ({len(F.kssl_Y)} KSSL training samples, calibration n="
          f"{b.calibration[s].n}, VAE {cfg.vae_epochs} epochs, latent {cfg.latent_dim}); strategy {s}")
    test_Y = F.test_Y.rename(columns={"OC": "SOC", "clay": "Clay"})
    parts = [rows_of(b, F.test_mir, test_Y, "KSSL held out", s, COMPARED)]
    for name in SETS:
        lib = limesoda_library(name)
        _, X = prepare(b, lib)
        parts.append(rows_of(b, X, lib.properties.reset_index(drop=True), name, s, COMPARED))
    t = pd.concat(parts, ignore_index=True)
    pd.set_option("display.width", 200, "display.max_rows", 500)
    fmt = {c: "{:.2f}".format for c in ("coverage", "marked", "cov_marked", "cov_unmarked", "misses_marked")}
    rule = "unsupported"
    per_set = t.groupby(["dataset", "property"], sort=False).apply(lambda g: pd.Series({
        "n": len(g), "coverage": g["covered"].mean(), "unsupported": g[rule].mean(),
        "cov_unsupported": g["covered"][g[rule]].mean() if g[rule].any() else np.nan,
        "cov_supported": g["covered"][~g[rule]].mean() if (~g[rule]).any() else np.nan,
        "weighted": g["w_covered"].mean(), "width": g["width"].median(),
        "weighted_width": g["w_width"].median()}), include_groups=False).astype({"n": int})
    print(f"\nper data set and property: 90 % intervals (plain split conformal), the rows predict marks unsupported "
          f"(rule {SUPPORT_RULE}, a clipped value, or the batch rule: each data set one batch), and weighted split "
          "conformal (median widths)")
    print(per_set.to_string(float_format="{:.2f}".format))
    shifted = t[t["dataset"] != "KSSL held out"]
    print("\ncandidate rules on all LimeSoDa rows (misses_marked: share of the interval misses among marked rows)")
    print(rule_table(shifted, ["property"]).to_string(index=False, formatters=fmt))
    print("\ncandidate rules on the held-out KSSL rows (a rule should mark few of these)")
    print(rule_table(t[t["dataset"] == "KSSL held out"], ["property"]).to_string(index=False, formatters=fmt))
    pooled = shifted.groupby("property", sort=False).agg(
        n=("covered", "size"), coverage=("covered", "mean"), weighted=("w_covered", "mean"),
        width=("width", "median"), weighted_width=("w_width", "median"),
        at_bounds=("w_width", lambda w: np.mean(w >= np.nanmax(w) - 1e-9)))
    print("\nall LimeSoDa rows: plain vs weighted (at_bounds: share of weighted intervals spanning the physical range "
          "seen)")
    print(pooled.to_string(float_format="{:.2f}".format))
    c = t.groupby(["dataset", "property"], sort=False)["clipped"].sum()
    print("\nvalues clipped to their physical bounds:", ", ".join(f"{k[0]} {k[1]} {v}" for k, v in c.items() if v)
          or "none")


if __name__ == "__main__":
    main()
