"""The transfer benchmark (notebook 09): a bundle trained on real KSSL spectra, applied to the five LimeSoDa MIR
sets as they are, adapted with k of their samples, and beside a PLSR on those k samples alone.

The bundle is trained as :func:`~soilnb.apply.train_bundle` trains one (smoke sizes, organic carbon and clay;
:func:`transfer_bundle`) on the 500 real KSSL spectra of the toy file, cut to :data:`GRID` (752-3798 cm-1, the range every one of the five LimeSoDa MIR sets
covers; the NRW and O sets end at 3799-3800 cm-1, and the grid policy refuses what a bundle's grid does not
cover). Each LimeSoDa set (its % reflectance as fractions, on the bundle's grid, :func:`prepare`) is scored with
LimeSoDa's SOC against the bundle's OC and its clay against clay, with the MIR-PLSR strategy (the head that is
spiked, and the local baseline's model):

* ``none``: the bundle as trained, on every sample of the set (``k`` = 0);
* ``adapted``: :func:`~soilnb.apply.adaptation.adapt` with k local samples drawn at random (seeded; :data:`REPEATS`
  draws, more on small sets until :data:`MIN_SCORED` test predictions are scored, :func:`draws`), scored on the
  rest of the set;
* ``local_only``: a PLSR per property on the k samples alone (components by CV inside them), with split-conformal
  intervals from K-fold out-of-fold residuals inside the k samples, scored on the same rest.

:func:`transfer_table` gives one row per set, property, method and k (mean over the repeats): ``ccc``,
``coverage`` and ``width`` of the 90 % intervals, ``n_test``, ``repeats``. The whole table is cached.
"""
from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from soilnb.apply.adaptation import Library, adapt, local_folds
from soilnb.apply.build import MIR_HEADS, build_bundle, mir_regressors
from soilnb.apply.coverage import conformal_quantile
from soilnb.apply.evaluate import score
from soilnb.apply.inference import _Features, predict_arrays, prepare
from soilnb.apply.support import batch_marks, interval_support
from soilnb.apply.intervals import COVERAGE
from soilnb.apply.realdata import limesoda_library
from soilnb.core.cache import cached, code_hash, file_sha256
from soilnb.core.config import Config, get_config
from soilnb.data import real_path
from soilnb.data.files import load_files_library
from soilnb.data.library import World
from soilnb.models.torchutil import IDLE_WORKER_S, available_cpus, torch_threads
from soilnb.stages.features import get_features
from soilnb.stages.limesoda_data import dataset_digest
from soilnb.stages.plan import get_models
from soilnb.stages.strategies import StrategyResults
from soilnb.stages.training import get_vae
from soilnb.stats.pls import PLSR

#: The five LimeSoDa MIR sets, and the smoke profile's two.
TRANSFER_SETS = ("H.138", "NRW.115", "NRW.62", "NRW.42", "O.32")
SMOKE_SETS = ("NRW.62", "NRW.42")
#: Local sample counts per profile, and repeats (random draws) of each.
KS = {"smoke": (10, 25), "default": (10, 25, 50), "paper": (10, 25, 50)}
REPEATS = {"smoke": 1, "default": 10, "paper": 10}
#: ... and more draws on small sets, until at least this many test predictions are scored per set, property, k
#: and method (the mean coverage of a set whose 12 remaining samples are scored 10 times is too noisy to judge).
MIN_SCORED = {"smoke": 0, "default": 300, "paper": 300}
#: LimeSoDa target -> the bundle's property.
COMPARED = {"SOC": "OC", "Clay": "clay"}
#: The spectral range every LimeSoDa MIR set covers (cm-1).
GRID = (752, 3798)
#: At least this many samples are left to score after drawing k local ones (else that k is skipped for the set).
MIN_TEST = 10
STRATEGY = "MIR-PLSR"
METHODS = ("none", "adapted", "local_only")
COLUMNS = ("dataset", "property", "method", "k", "ccc", "coverage", "width", "marked", "misses_marked", "n_test",
           "repeats")


def transfer_bundle(cfg: Config) -> tuple:
    """``(bundle, library)``: the toy KSSL bundle on :data:`GRID` and its training spectra (:class:`Library`).

    Built as :func:`~soilnb.apply.train_bundle` builds one (a ``source="files"`` world of every sample, smoke sizes,
    the MIR heads refit on the proper 80 %, a grouped 20 % calibrating), but from the spectra cut to :data:`GRID`:
    ``train_bundle`` puts its input on the full MIR model grid (600-4000 cm-1), which the LimeSoDa sets do not
    cover. The stages are cached."""
    src = real_path("kssl_mir_toy/toy_kssl_mir.csv.gz")
    tcfg = get_config("smoke", source="files", data_dir=str(src), properties="OC,clay", seed=cfg.seed)
    lib = load_files_library(src, "training").on_grid(np.arange(GRID[0], GRID[1] + 1, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F = get_features(tcfg, World(kssl=lib, source="files"))
        vae, _ = get_models(tcfg, F, progress=False)
        history = get_vae(tcfg, F, progress=False)[1]
        res = StrategyResults(models=mir_regressors(tcfg, F, vae, tuple(MIR_HEADS)))
        b = build_bundle(tcfg, F, vae, None, res, history)
    return b, Library(np.asarray(F.kssl, np.float64), F.kssl_Y.reset_index(drop=True), np.asarray(F.kssl_id))


def local_only(X_loc, y_loc, X_test, seed: int = 0, coverage: float = COVERAGE, max_components: int = 10):
    """``(pred, lower, upper)`` of a PLSR fit on the local samples alone, its interval half-width the conformal
    quantile of K-fold out-of-fold absolute residuals inside them."""
    folds = local_folds(np.arange(len(X_loc)), 5, seed)
    res = np.empty(len(X_loc))
    for f in np.unique(folds):
        te = folds == f
        m = PLSR(max_components=max_components, cv=min(5, int((~te).sum()) - 1), random_state=seed)
        res[te] = y_loc[te] - m.fit(X_loc[~te], y_loc[~te]).predict(X_loc[te])
    q = float(conformal_quantile(np.abs(res)[:, None], coverage)[0])
    pred = PLSR(max_components=max_components, cv=5, random_state=seed).fit(X_loc, y_loc).predict(X_test)
    return pred, pred - q, pred + q


def _scores(y, pred, lo, hi) -> dict:
    """The table's metrics: those of :func:`soilnb.apply.evaluate.score`, under this table's names."""
    sc = score(y, pred, lo, hi)
    return {"ccc": sc["ccc"], "coverage": sc["coverage"], "width": sc["mean_width"], "n_test": sc["n"]}


def _bundle_rows(b, X, Y: pd.DataFrame) -> list[dict]:
    """The table's metrics of a bundle on ``X``, and its support marks (the scored rows one batch, as a
    ``soilnb predict`` call of them would mark them): ``marked`` the share of rows with ``interval_supported``
    False, ``misses_marked`` the share of the interval misses among them."""
    feats = _Features(b, "MIR", np.asarray(X, np.float32))
    per, fl = predict_arrays(b, "MIR", X, [STRATEGY], features=feats)
    pred, lo, hi = per[STRATEGY]
    supported, _ = interval_support(b, "MIR", STRATEGY, fl, pred.attrs["clipped"],
                                    batch_marks(b, STRATEGY, feats["latent"]))
    rows = []
    for p in Y.columns:
        y, lower, upper = Y[p].to_numpy(float), lo[p].to_numpy(float), hi[p].to_numpy(float)
        miss = ~((lower <= y) & (y <= upper))
        rows.append({"property": p, **_scores(y, pred[p].to_numpy(float), lower, upper),
                     "marked": float(np.mean(~supported)),
                     "misses_marked": float((miss & ~supported).sum() / miss.sum()) if miss.any() else np.nan})
    return rows


def draws(n_test: int, repeats: int, min_scored: int) -> int:
    """Draws of one set and k: ``repeats``, or more until ``min_scored`` test predictions are scored."""
    return max(repeats, -(-min_scored // max(n_test, 1)))


def _draw_rows(name: str, b, library, X, Y: pd.DataFrame, ids, k: int, r: int, seed: int) -> list[dict]:
    """The ``adapted`` and ``local_only`` rows of draw ``r`` of ``k`` local samples of set ``name`` (the draw is
    seeded by set, k and r alone, so rows do not depend on the order draws run in)."""
    draw = np.random.default_rng([seed, k, r, int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)])
    loc = np.zeros(len(X), bool)
    loc[draw.choice(len(X), k, replace=False)] = True
    ad, _ = adapt(b, X[loc], Y[loc], ids[loc], "MIR", library, seed=seed + r)
    base = {"dataset": name, "k": k, "repeat": r}
    rows = [{**base, "method": "adapted", **x} for x in _bundle_rows(ad, X[~loc], Y[~loc])]
    for p in Y.columns:
        pred, lo, hi = local_only(X[loc], Y[p].to_numpy(float)[loc], X[~loc], seed + r)
        rows.append({**base, "method": "local_only", "property": p,
                     **_scores(Y[p].to_numpy(float)[~loc], pred, lo, hi)})
    return rows


def _draw_batch(name: str, b, library, X, Y: pd.DataFrame, ids, tasks, seed: int) -> list[list[dict]]:
    """The rows of each draw ``(k, r)`` of set ``name`` in ``tasks`` (a list per draw), on one BLAS and one torch
    thread."""
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"), torch_threads(1):
        warnings.simplefilter("ignore")
        return [_draw_rows(name, b, library, X, Y, ids, k, r, seed) for k, r in tasks]


def _set_data(name: str, b):
    """``(X, Y, ids)`` of LimeSoDa set ``name`` on the bundle's grid: the samples with every compared property."""
    lib = limesoda_library(name)
    _, X = prepare(b, lib)
    Y = lib.properties[list(COMPARED)].rename(columns=COMPARED).reset_index(drop=True)
    ok = Y.notna().all(axis=1).to_numpy()
    X, Y = X[ok], Y[ok].reset_index(drop=True)
    return X, Y[[p for p in b.properties if p in Y.columns]], np.asarray(lib.sample_id)[ok]


def _sets_rows(names, b, library, ks, repeats: int, seed: int, min_scored: int = 0,
               workers: int | None = None) -> list[dict]:
    """Every row of the sets ``names``, set by set: the bundle as trained (``none``), then each draw's rows.

    The draws of all sets are computed by ``workers`` processes (default one per CPU) from one queue. A draw is
    mostly small NumPy operations (refits of a few hundred rows), so threads hold each other up on the GIL (two
    threads ran 1.2-1.5 times as fast as one); separate processes (joblib's loky, as the LimeSoDa benchmark uses)
    run twice as fast on two cores. Each set's draws go out in a few interleaved batches, so that its costly large
    k spread over the processes; a draw's rows do not depend on the process (it is seeded by set, k and r, on one
    BLAS and one torch thread), and the rows come back in their order."""
    workers = available_cpus() if workers is None else int(workers)
    head, jobs = {}, []                          # the "none" rows per set; (set, task indices, delayed call)
    for name in names:
        X, Y, ids = _set_data(name, b)
        head[name] = [{"dataset": name, "method": "none", "k": 0, "repeat": 0, **r} for r in _bundle_rows(b, X, Y)]
        tasks = [(k, r) for k in ks if len(X) - k >= MIN_TEST
                 for r in range(draws(len(X) - k, repeats, min_scored))]
        n_batches = min(len(tasks), 3 * workers) if workers > 1 else min(len(tasks), 1)
        for i in range(n_batches):
            idx = list(range(i, len(tasks), n_batches))
            jobs.append((name, idx, (name, b, library, X, Y, ids, [tasks[j] for j in idx], seed)))
    if workers > 1 and len(jobs) > 1:
        parts = Parallel(n_jobs=workers, backend="loky", batch_size=1, idle_worker_timeout=IDLE_WORKER_S)(
            delayed(_draw_batch)(*args) for _, _, args in jobs)
    else:
        parts = [_draw_batch(*args) for _, _, args in jobs]
    draws_of = {name: {} for name in names}
    for (name, idx, _), part in zip(jobs, parts):
        draws_of[name].update(zip(idx, part))
    return [row for name in names
            for row in head[name] + [r for j in sorted(draws_of[name]) for r in draws_of[name][j]]]


def transfer_runs(cfg: Config, sets=None, ks=None, repeats=None) -> pd.DataFrame:
    """Every run of the benchmark (one row per set, property, method, k and repeat), cached."""
    profile = cfg.profile if cfg.profile in KS else "default"
    sets = tuple(sets or (SMOKE_SETS if profile == "smoke" else TRANSFER_SETS))
    ks = tuple(ks or KS[profile])
    repeats = int(repeats or REPEATS[profile])
    params = {"sets": sets, "ks": ks, "repeats": repeats, "min_scored": MIN_SCORED[profile], "seed": cfg.seed,
              "grid": GRID,
              "data": {s: dataset_digest(s) for s in sets},
              "toy": file_sha256(real_path("kssl_mir_toy/toy_kssl_mir.csv.gz")),
              "code": code_hash("apply", "stats.pls", "stages", "models")}

    def compute():
        b, library = transfer_bundle(cfg)
        return pd.DataFrame(_sets_rows(sets, b, library, ks, repeats, cfg.seed, MIN_SCORED[profile]))

    return cached("transfer_runs", params, compute)


def transfer_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per set, property, method and k: the runs' means and the number of repeats."""
    g = runs.groupby(["dataset", "property", "method", "k"], sort=False)
    out = g[["ccc", "coverage", "width", "marked", "misses_marked", "n_test"]].mean() \
        .join(g.size().rename("repeats")).reset_index()
    out["method"] = pd.Categorical(out["method"], METHODS)
    out = out.sort_values(["dataset", "property", "method", "k"], kind="stable").reset_index(drop=True)
    out["method"] = out["method"].astype(str)
    return out[list(COLUMNS)]


def transfer_checks(table: pd.DataFrame, k_min: int = 25, band=(0.85, 0.95)) -> list[str]:
    """Verdicts on :func:`transfer_table` (notebook 09's checked cell)."""
    ad = table[(table["method"] == "adapted") & (table["k"] >= k_min)]
    cov_ok = bool(len(ad)) and bool(ad["coverage"].between(*band).all())
    wins = []
    for (d, p, k), row in ad.set_index(["dataset", "property", "k"]).iterrows():
        none = table[(table["dataset"] == d) & (table["property"] == p) & (table["method"] == "none")]["ccc"]
        loc = table[(table["dataset"] == d) & (table["property"] == p) & (table["method"] == "local_only")
                    & (table["k"] == k)]["ccc"]
        wins.append(bool(row["ccc"] >= none.max() and row["ccc"] >= loc.max()))
    none = table[table["method"] == "none"]
    pooled = table[table["method"] == "adapted"].groupby("k")["coverage"].mean()
    misses = none["n_test"] * (1 - none["coverage"])                 # counts per set and property
    by_prop = pd.DataFrame({"marked": misses * none["misses_marked"].fillna(0), "misses": misses}) \
        .groupby(none["property"].to_numpy(), sort=False).sum()
    most = bool(len(by_prop)) and bool(((by_prop["marked"] > by_prop["misses"] / 2) | (by_prop["misses"] == 0)).all())
    held = ", ".join(f"{p} {r['marked']:.0f} of {r['misses']:.0f}" for p, r in by_prop.iterrows())
    return [f"adapted k>={k_min} coverage within {band[0]:.2f}-{band[1]:.2f} on every set and property: {cov_ok}",
            f"adapted CCC >= none and >= local_only for k >= {k_min}: {bool(wins) and all(wins)} "
            f"({sum(wins)} of {len(wins)} cases)",
            f"adapted coverage (mean over sets and properties) closer to 0.90 than none's: "
            f"{bool(abs(pooled.iloc[-1] - 0.9) <= abs(none['coverage'].mean() - 0.9)) if len(pooled) else False}",
            f"the bundle as trained misses 0.85 coverage somewhere (the shift to adapt to): "
            f"{bool((none['coverage'] < band[0]).any())}",
            f"without local samples, the rows marked unsupported hold most of the interval misses (per property, "
            f"pooled over the sets): {most} ({held})"]
