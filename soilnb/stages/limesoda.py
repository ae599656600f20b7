"""Real spectra in: the project's single-range strategies on the LimeSoDa collection, scored as its authors score.

LimeSoDa (Schmidinger et al. 2025, arXiv:2502.20139; PyPI ``limesoda``, import ``LimeSoDa``, CC BY-SA 4.0) ships
31 small soil datasets with predefined outer folds (``Folds``, 1..10). Thirteen hold laboratory spectra of one
range, each with three targets (SOC or SOM, pH, clay): 39 cases.

Protocol (the authors' benchmarking protocol, ``soilnb/core/reference/README.md``):

* one model per outer fold ``k``, trained on the nine other folds (:func:`fold_data` builds every array a model
  sees; the test fold enters only ``predict``);
* every choice made inside the training folds: PLS components by 5-fold CV of the training folds
  (:class:`~soilnb.stats.pls.PLSR`), early stopping of the VAE and of the MLPs on a random 20 % of the training
  folds' samples (the rest trains); no setting is taken from the published scores, which serve as comparison only;
* R2 = 1 - SSE/SST and RMSE computed once on the out-of-fold predictions pooled over the ten folds
  (:func:`pooled_scores`), not as a mean of per-fold scores.

Strategies (all on spectra only; the published learners also used ERa on SL.125 and UL.120):

* ``PLSR``: one PLS1 per target, at most 20 components, on the full-resolution spectra;
* ``MLP``: the project's multi-task MLP (all three targets at once, standardised) on the spectra;
* ``SSL``: per outer fold, a VAE pretrained self-supervised on the unlabelled spectra of the nine *training*
  folds of that dataset only (``Fold.X_train``: 80 % of them train it, 20 % stop it early; never a spectrum of
  the test fold, nor of another dataset), then the multi-task MLP on its latent means (32-d in the paper; here
  16-d, 32-d on SSP.460, see :func:`fold_settings`). The test fold's spectra are only embedded by the encoder.

Preprocessing (paper Sect. 2.3), row by row and so without fitted state: raw % reflectance -> fraction (/100)
-> log10(1/R) -> SNV. Values above 100 % are kept, not clipped: they are reflectance relative to the
instrument's reference (H.138 exceeds it in 77 of 138 spectra over 2295-5398 cm-1, up to 140 %; NRW.115 in 5),
and log10(1/R) is merely negative there. Values <= 0 or non-finite are rejected
(:class:`~soilnb.spectra.ReflectanceToAbsorbance`). The neural strategies (MLP and SSL) see the same spectrum
averaged in bins of ``ceil(K / 512)`` adjacent channels (at most 512 inputs; cost only, see
:func:`fold_settings`); PLSR sees every channel. Targets: log1p for SOC and SOM (the paper log-transforms
carbon), pH and clay as they are; predictions are mapped back and SOC, SOM and clay clipped at 0. Loading and
preprocessing live in :mod:`soilnb.stages.limesoda_data` (re-exported here).

Computation: each dataset x strategy is one cached entry; the entries not cached yet are computed by worker
processes, one per CPU, each training on one thread (see :func:`_runs`; the numbers do not depend on it).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed

from soilnb.core import references
from soilnb.core.cache import cached, code_hash
from soilnb.core.config import Config
from soilnb.models.inference import embed
from soilnb.models.mlp import MLPRegressor
from soilnb.models.nets import VAEConfig
from soilnb.models.torchutil import IDLE_WORKER_S, available_cpus, resolve_device, torch_threads
from soilnb.models.train import train_vae
from soilnb.stages.limesoda_data import (  # noqa: F401  (re-exported: the data half of this module)
    LIMESODA_RANGES,
    LIMESODA_SETS,
    LIMESODA_SMOKE_SETS,
    LOG_TARGETS,
    MAX_NN_CHANNELS,
    NONNEGATIVE_TARGETS,
    LimeSoDaSet,
    _targets_forward,
    _targets_inverse,
    absorbance_snv,
    bin_channels,
    dataset_digest,
    load_set,
    require_limesoda,
)
from soilnb.stages.training import is_cached
from soilnb.stats.metrics import r2, rmse
from soilnb.stats.pls import PLSR

LIMESODA_STRATEGIES = ("PLSR", "MLP", "SSL")
PUBLISHED_FILE = "limesoda_published.csv"
CODE = ("stages.limesoda", "stages.limesoda_data", "stats", "models", "spectra")


# ------------------------------------------------------------------------------------------------ folds
@dataclass
class Fold:
    """What one outer fold's models see: the training rows' arrays, and the test rows' inputs to predict."""

    k: int
    train: np.ndarray              # row indices of the nine training folds
    test: np.ndarray               # row indices of fold k
    X_train: np.ndarray            # preprocessed spectra, full resolution
    X_test: np.ndarray
    Y_train: pd.DataFrame
    Y_test: pd.DataFrame


def fold_data(X, Y: pd.DataFrame, folds, k: int) -> Fold:
    """The training set (rows with ``folds != k``) and the test set (``folds == k``) of outer fold ``k``.

    The only place where rows are split: every fit (PLS, MLP, VAE pretraining) gets ``X_train``/``Y_train``.
    """
    folds = np.asarray(folds)
    X = np.asarray(X)
    if len(X) != len(folds) or len(Y) != len(folds):
        raise ValueError(f"X ({len(X)}), Y ({len(Y)}) and folds ({len(folds)}) must have the same rows")
    test = np.flatnonzero(folds == k)
    train = np.flatnonzero(folds != k)
    if not len(test) or not len(train):
        raise ValueError(f"fold {k} leaves an empty training or test set")
    Y = Y.reset_index(drop=True)
    return Fold(int(k), train, test, X[train], X[test], Y.iloc[train].reset_index(drop=True),
                Y.iloc[test].reset_index(drop=True))


@dataclass(frozen=True)
class Settings:
    """The profile-level settings (the inputs of the size rule in :func:`fold_settings`)."""

    pls_max_components: int = 20
    pls_cv: int = 5
    latent_dim: int = 16
    hidden: int = 128
    max_steps: int = 1000          # optimiser steps (VAE and each MLP), early stopping usually ends sooner
    patience_steps: int = 100      # steps without a better validation loss before stopping
    lr: float = 1e-3
    dropout: float = 0.1
    weight_decay: float = 1e-4
    val_fraction: float = 0.2


def profile_settings(cfg: Config) -> Settings:
    """Smoke: lighter networks and budgets (nbval in under a minute); default and paper: :class:`Settings`."""
    if cfg.profile == "smoke":
        return Settings(pls_max_components=10, latent_dim=8, hidden=64, max_steps=300, patience_steps=50)
    return Settings()


def fold_settings(st: Settings, n_train: int) -> dict:
    """Concrete training settings for ``n_train`` training spectra (a documented rule, not tuned on results).

    * batch ``b = clip(n_fit // 8, 8, 32)`` with ``n_fit`` the 80 % of training rows that train (the rest
      stops early): eight steps per epoch from 64 training spectra to 256, fewer below (batches stay >= 8);
    * ``epochs = ceil(max_steps / steps_per_epoch)`` and ``patience = ceil(patience_steps / steps_per_epoch)``:
      the budget is counted in optimiser steps, whatever the set size (1,000 steps; stop after 100 without a
      better validation loss; an MLP never before 200 steps, :class:`~soilnb.models.mlp.MLPRegressor`'s rule);
    * VAE latent size ``st.latent_dim`` (16, half the paper's 32 for 10^3 times fewer spectra; 32 from 300
      training spectra on, i.e. SSP.460), hidden width 128, two layers, beta 1e-6 (the project's);
    * the networks' inputs are binned to at most 512 channels (a VAE or MLP step costs about its first layer:
      6 ms on 2,489 channels vs 2 ms on 500, one thread), PLSR keeps all channels.
    """
    n_fit = max(int(round(n_train * (1 - st.val_fraction))), 1)
    batch = int(min(32, max(8, n_fit // 8)))
    per_epoch = max(n_fit // batch, 1)
    latent = st.latent_dim * 2 if (n_train >= 300 and st.latent_dim >= 16) else st.latent_dim
    return dict(batch=batch, epochs=math.ceil(st.max_steps / per_epoch),
                patience=max(math.ceil(st.patience_steps / per_epoch), 1), latent_dim=latent)


def _mlp(st: Settings, fs: dict, seed: int, device) -> MLPRegressor:
    return MLPRegressor(hidden=st.hidden, depth=2, dropout=st.dropout, weight_decay=st.weight_decay, lr=st.lr,
                        epochs=fs["epochs"], batch_size=fs["batch"], patience=fs["patience"],
                        val_fraction=st.val_fraction, random_state=seed, device=device)


def fit_predict_fold(fold: Fold, strategy: str, st: Settings, seed: int = 0, device="cpu") -> np.ndarray:
    """Fit ``strategy`` on ``fold``'s training set only and predict its test set (original units, (n_test, t))."""
    cols = list(fold.Y_train.columns)
    Z = _targets_forward(fold.Y_train)
    fs = fold_settings(st, len(fold.train))
    if strategy == "PLSR":
        pred = np.column_stack([PLSR(max_components=st.pls_max_components, cv=st.pls_cv, random_state=seed)
                                .fit(fold.X_train, Z[:, j]).predict(fold.X_test) for j in range(Z.shape[1])])
    elif strategy == "MLP":
        pred = _mlp(st, fs, seed, device).fit(bin_channels(fold.X_train), Z).predict(bin_channels(fold.X_test))
    elif strategy == "SSL":
        Xtr, Xte = bin_channels(fold.X_train).astype(np.float32), bin_channels(fold.X_test).astype(np.float32)
        vcfg = VAEConfig(n_in=Xtr.shape[1], latent_dim=fs["latent_dim"], hidden=st.hidden, depth=2, beta=1e-6)
        vae, _ = train_vae(Xtr, np.arange(len(Xtr)), vcfg, epochs=fs["epochs"], batch_size=fs["batch"], lr=st.lr,
                           patience=fs["patience"], seed=seed, device=device, val_fraction=st.val_fraction,
                           weight_decay=st.weight_decay, progress=False)
        vae = vae.cpu()
        pred = _mlp(st, fs, seed + 1, device).fit(embed(vae, Xtr), Z).predict(embed(vae, Xte))
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {LIMESODA_STRATEGIES}")
    return _targets_inverse(np.asarray(pred, dtype=float).reshape(len(fold.test), -1), cols)


def out_of_fold(ds: LimeSoDaSet, strategy: str, st: Settings, seed: int = 0, device="cpu") -> pd.DataFrame:
    """Pooled out-of-fold predictions, long: dataset, row, fold, target, strategy, observed, predicted."""
    X = absorbance_snv(ds.raw, ds.axis, ds.unit)
    pred = np.full(ds.targets.shape, np.nan)
    with torch_threads(1):
        for k in sorted(set(ds.folds)):
            fold = fold_data(X, ds.targets, ds.folds, k)
            pred[fold.test] = fit_predict_fold(fold, strategy, st, seed=seed + k, device=device)
    rows = np.arange(ds.n)
    return pd.concat([pd.DataFrame({"dataset": ds.name, "row": rows, "fold": ds.folds, "target": c,
                                    "strategy": strategy, "observed": ds.targets[c].to_numpy(),
                                    "predicted": pred[:, j]}) for j, c in enumerate(ds.targets.columns)],
                     ignore_index=True)


# ------------------------------------------------------------------------------------------------ scores
def pooled_scores(y, pred) -> dict:
    """R2 = 1 - SSE/SST and RMSE computed once on all out-of-fold predictions together (the LimeSoDa protocol)."""
    return {"r2": r2(y, pred), "rmse": rmse(y, pred)}


def _params(cfg: Config, name: str, strategy: str) -> dict:
    """The cache key parameters of one dataset x strategy (the data's content, the settings, the code)."""
    return {"dataset": name, "strategy": strategy, "settings": asdict(profile_settings(cfg)), "seed": cfg.seed,
            "device": resolve_device(cfg.device).type, "data": dataset_digest(name),
            "limesoda": getattr(require_limesoda(), "__version__", "?"), "code": code_hash(*CODE)}


def _compute(name: str, strategy: str, st: Settings, seed: int, device: str) -> dict:
    """One dataset x strategy computed: ``{"predictions": DataFrame, "seconds": float, "warnings": list}``.

    Training warnings (e.g. a network still improving at its last step, or early stopping after few steps) are
    collected, not printed 130 times; :func:`limesoda_timings` counts them. Module-level, so that a worker
    process can run it (:func:`_runs`).
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = out_of_fold(load_set(name), strategy, st, seed=seed, device=device)
    return {"predictions": pred, "seconds": time.perf_counter() - t0, "warnings": [str(w.message) for w in caught]}


def _run(cfg: Config, name: str, strategy: str, computed: dict | None = None) -> dict:
    """One dataset x strategy, cached (:func:`_compute`); ``computed``: its result, already made by a worker."""
    params = _params(cfg, name, strategy)
    return cached("limesoda", params, lambda: computed if computed is not None else _compute(
        name, strategy, profile_settings(cfg), cfg.seed, params["device"]), verbose=False)


def _runs(cfg: Config, datasets, strategies, workers: int | None = None):
    """Every dataset x strategy, cached. Entries not cached yet are computed by ``workers`` processes at once
    (default: one per available CPU; 1 computes in this process) on the CPU. Each job trains its networks on one
    thread (:func:`soilnb.models.torchutil.torch_threads`), so the second core of a 2-core machine would otherwise sit idle; a job's
    numbers do not depend on the process that computes it (its seed and settings fix them)."""
    datasets = tuple(datasets) if datasets is not None else (
        LIMESODA_SMOKE_SETS if cfg.profile == "smoke" else LIMESODA_SETS)
    unknown = sorted(set(strategies) - set(LIMESODA_STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {LIMESODA_STRATEGIES}")
    require_limesoda()
    jobs = [(d, s) for d in datasets for s in strategies]
    device = resolve_device(cfg.device).type
    workers = available_cpus() if workers is None else int(workers)
    pending = [j for j in jobs if not is_cached("limesoda", _params(cfg, *j))] if device == "cpu" and workers > 1 else []
    computed = {}
    if len(pending) > 1:
        # the costliest first (SSL pretrains a VAE per fold, then the MLP; PLSR is cheap), so that no worker is
        # left with a long job at the end; joblib's loky processes (spawned, and needing no __main__ guard)
        pending.sort(key=lambda j: LIMESODA_STRATEGIES.index(j[1]), reverse=True)
        st = profile_settings(cfg)
        results = Parallel(n_jobs=min(workers, len(pending)), backend="loky", batch_size=1,
                           idle_worker_timeout=IDLE_WORKER_S)(
            delayed(_compute)(*j, st, cfg.seed, device) for j in pending)
        computed = dict(zip(pending, results))
    return {j: _run(cfg, *j, computed=computed.get(j)) for j in jobs}


def limesoda_predictions(cfg: Config, datasets=None, strategies=LIMESODA_STRATEGIES, workers=None) -> pd.DataFrame:
    """The pooled out-of-fold predictions behind :func:`limesoda_benchmark` (same cache)."""
    return pd.concat([r["predictions"] for r in _runs(cfg, datasets, strategies, workers).values()],
                     ignore_index=True)


def limesoda_timings(cfg: Config, datasets=None, strategies=LIMESODA_STRATEGIES, workers=None) -> pd.DataFrame:
    """Seconds each dataset x strategy took when it was computed (ten folds; a cached entry keeps its own), and
    the number of training warnings it raised."""
    return pd.DataFrame([{"dataset": d, "strategy": s, "seconds": r["seconds"], "warnings": len(r["warnings"])}
                         for (d, s), r in _runs(cfg, datasets, strategies, workers).items()])


def limesoda_benchmark(cfg: Config, datasets=None, strategies=LIMESODA_STRATEGIES, workers=None) -> pd.DataFrame:
    """Pooled out-of-fold R2 and RMSE per dataset x target x strategy (tidy), cached per dataset and strategy.

    ``datasets``: default all 13 (:data:`LIMESODA_SETS`), or :data:`LIMESODA_SMOKE_SETS` on the smoke profile.
    ``workers``: processes computing the entries not cached yet (default one per CPU, see :func:`_runs`).
    Columns: dataset, spectral_range, n, target, strategy, r2, rmse.
    """
    rows = []
    for (d, s), run in _runs(cfg, datasets, strategies, workers).items():
        for target, g in run["predictions"].groupby("target", sort=False):
            rows.append({"dataset": d, "spectral_range": LIMESODA_RANGES[d], "n": len(g), "target": target,
                         "strategy": s, **pooled_scores(g["observed"], g["predicted"])})
    return pd.DataFrame(rows, columns=["dataset", "spectral_range", "n", "target", "strategy", "r2", "rmse"])


# ------------------------------------------------------------------------------------------------ published
def read_published(path=None) -> pd.DataFrame:
    """The published LimeSoDa scores (package data, :func:`soilnb.core.references.read_reference`), or the
    file at ``path`` (a table with the same columns)."""
    return references.read_reference("limesoda") if path is None else pd.read_csv(path)


def compare_with_published(table: pd.DataFrame, path=None) -> pd.DataFrame:
    """Per case: our best strategy's R2 (and each strategy's), the best published R2 and learner, difference, win.

    Both "best"s are chosen after the fact, ours among our strategies, theirs among MLR, SVR, CatBoost and RF.
    ``win`` is ours > published. Every case run must have a published score (an error names those without).
    """
    pub = read_published(path)
    pub = pub[pub["metric"] == "R2"][["dataset", "target", "best_published", "best_published_score"]]
    pub = pub.rename(columns={"best_published": "published_learner", "best_published_score": "published_r2"})
    wide = table.pivot_table(index=["dataset", "spectral_range", "n", "target"], columns="strategy", values="r2",
                             sort=False)
    strategies = [s for s in LIMESODA_STRATEGIES if s in wide.columns]
    out = wide[strategies].add_prefix("r2_").reset_index()
    out["best_strategy"] = wide[strategies].idxmax(axis=1).to_numpy()
    out["r2"] = wide[strategies].max(axis=1).to_numpy()
    out = out.merge(pub, on=["dataset", "target"], how="left", validate="one_to_one")
    lost = out[out["published_r2"].isna()]
    if len(lost):
        raise ValueError(f"no published R2 for {len(lost)} case(s) run: "
                         f"{', '.join(lost['dataset'] + ' ' + lost['target'])}")
    out["r2_diff"] = out["r2"] - out["published_r2"]
    out["win"] = out["r2_diff"] > 0
    return out


def win_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Cases won out of the cases run and the median R2 difference, for our best and for each strategy alone."""
    cmp = comparison.dropna(subset=["published_r2"])
    rows = []
    for label, col in [("best of ours", "r2")] + [(c[3:], c) for c in cmp.columns if c.startswith("r2_")
                                                  and c != "r2_diff"]:
        diff = cmp[col] - cmp["published_r2"]
        rows.append({"ours": label, "cases": int(diff.notna().sum()), "won": int((diff > 0).sum()),
                     "median_r2_diff": float(diff.median())})
    return pd.DataFrame(rows)
