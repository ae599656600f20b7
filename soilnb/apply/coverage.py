"""Coverage measured, not assumed: the empirical coverage and width of the conformal intervals.

* :func:`world_coverage`: a run's bundle on the world's data, three conditions:

  - ``exchangeable``: the held-out calibration samples themselves, split at random into two halves many times
    (one half calibrates, the other is covered or not): samples drawn like the calibration data, never seen by
    the regressors (the label-free VAE was pretrained on every KSSL scan, these samples' scans included, as in
    the paper). The split-conformal guarantee applies here, with half the calibration samples.
  - ``Paired validation (MIR)``: the MIR strategies on the Paired validation spectra (other soils, the KSSL
    instrument; in neither their training nor their calibration), full calibration.
  - ``independent test``: the independent test set (NAPT-like soils scanned on other instruments: a shift),
    full calibration; coverage also among samples flagged (shift or novelty) and not flagged.

* :func:`limesoda_coverage`: PLSR with CV+ intervals (MAPIE's CrossConformalRegressor, Barber et al. 2021) on the
  LimeSoDa datasets' own ten folds: calibration inside the nine training folds only (5-fold CV+), the test fold
  covered or not; the number of PLS components is chosen once per outer fold by 5-fold CV of the training folds.
  The shift flag there is the robust Mahalanobis distance of the test fold's PCA scores (10 components of the
  training folds) with its Pomerantsev limit, the same statistic as the latent flag.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from mapie.regression import CrossConformalRegressor
from sklearn.decomposition import PCA
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from soilnb.apply.build import calibration_split
from soilnb.apply.inference import STRATEGY_INPUTS, predict_arrays
from soilnb.apply.intervals import COVERAGE, Calibration, conformal_rank, coverage_and_width
from soilnb.core.cache import cached, code_hash
from soilnb.core.config import Config
from soilnb.stages.limesoda import fold_data
from soilnb.stages.limesoda_data import (LIMESODA_RANGES, LIMESODA_SETS, LIMESODA_SMOKE_SETS, LOG_TARGETS,
                                         absorbance_snv, bin_channels, dataset_digest, load_set)
from soilnb.stats.pls import PLSR
from soilnb.stats.shift import ShiftDetector

#: Random halvings of the calibration samples in the exchangeable condition.
HALVES = 200


def _summarise(cov: pd.DataFrame, keys: dict, flagged=None) -> list[dict]:
    """One row per property of a long ``coverage_and_width`` table, with the flagged / unflagged split."""
    rows = []
    for p, g in cov.groupby("property", sort=False):
        r = {**keys, "property": p, "n": len(g), "coverage": g["covered"].mean(), "mean_width": g["width"].mean()}
        if flagged is not None:
            f = np.asarray(flagged, bool)[g["row"].to_numpy()]
            r.update(n_flagged=int(f.sum()), coverage_flagged=g["covered"][f].mean() if f.any() else np.nan,
                     coverage_unflagged=g["covered"][~f].mean() if (~f).any() else np.nan)
        rows.append(r)
    return rows


def conformal_quantile(scores: np.ndarray, coverage: float) -> np.ndarray:
    """Per column, the score :meth:`Calibration.intervals` uses at ``coverage`` (crepes' rule,
    :func:`~soilnb.apply.intervals.conformal_rank`): the ``int((1 - coverage)(n + 1))``-th largest of ``n``, i.e. the
    ``ceil((n + 1) coverage)``-th smallest (inf when there are too few scores)."""
    k = conformal_rank(scores.shape[0], coverage)
    return -np.sort(-scores, axis=0)[k] if k >= 0 else np.full(scores.shape[1:], np.inf)


def halves_coverage(cal: Calibration, pred: pd.DataFrame, observed: pd.DataFrame, coverage=COVERAGE,
                    normalized=False, repeats=HALVES, seed=0) -> pd.DataFrame:
    """Coverage and width when one random half of the calibration samples calibrates the other, ``repeats``
    times (mean per property over the repeats; ``n`` is the size of the covered half; ``expected`` the exact
    split-conformal expectation for continuous residuals, ``ceil((m + 1) coverage) / (m + 1)`` with ``m``
    calibration samples per half).

    The calibration of each half is crepes' rule (:func:`conformal_quantile`, checked against
    :meth:`Calibration.intervals` in the tests), vectorised over properties because it runs thousands of times.
    """
    fwd = [np.log1p if s == "log1p" else np.asarray for s in cal.scales]
    inv = [np.expm1 if s == "log1p" else np.asarray for s in cal.scales]
    y = np.column_stack([f(observed[p].to_numpy(float)) for f, p in zip(fwd, cal.properties)])
    yhat = np.column_stack([f(pred[p].to_numpy(float)) for f, p in zip(fwd, cal.properties)])
    lo_b = np.array([f(v) if np.isfinite(v) else -np.inf for f, v in zip(fwd, cal.lower)])
    hi_b = np.array([f(v) if np.isfinite(v) else np.inf for f, v in zip(fwd, cal.upper)])
    sig = np.asarray(cal.sigmas, float)[:, None] if normalized else np.ones((len(y), 1))
    scores = np.abs(y - yhat) / sig
    rng = np.random.default_rng(seed)
    n = len(y)
    covered = np.zeros((repeats, len(cal.properties)))
    width = np.zeros_like(covered)
    for r in range(repeats):
        perm = rng.permutation(n)
        a, b = perm[: n // 2], perm[n // 2:]
        half = conformal_quantile(scores[a], coverage) * sig[b]
        lo, hi = np.maximum(yhat[b] - half, lo_b), np.minimum(yhat[b] + half, hi_b)
        covered[r] = ((lo <= y[b]) & (y[b] <= hi)).mean(axis=0)
        width[r] = np.mean(np.column_stack([g(hi[:, j]) - g(lo[:, j]) for j, g in enumerate(inv)]), axis=0)
    m = n // 2                    # calibration samples per half: textbook expectation ceil((m + 1) c) / (m + 1)
    return pd.DataFrame({"property": cal.properties, "n": n - m, "coverage": covered.mean(axis=0),
                         "mean_width": width.mean(axis=0), "expected": math.ceil((m + 1) * coverage - 1e-9) / (m + 1)})


def world_coverage(cfg: Config, F, bundle, coverage: float = COVERAGE, normalized: bool = False) -> pd.DataFrame:
    """Empirical coverage of the bundle's intervals on the world's data (see the module docstring): one row per
    condition, strategy and property, with ``n``, ``coverage``, ``mean_width`` and, where flags apply,
    ``n_flagged``, ``coverage_flagged``, ``coverage_unflagged`` (flagged: shift or novelty flag)."""
    b, rows, interval = bundle, [], "normalized" if normalized else "plain"
    sets = {}
    if "MIR" in b.grids and F.kssl is not None:
        cal = calibration_split(cfg, F)[1]
        sets["MIR"] = {"exchangeable": (F.kssl[cal], F.kssl_Y.iloc[cal].reset_index(drop=True))}
        if F.paired_mir is not None and F.paired_split is not None:
            va = F.paired_split[1]
            sets["MIR"]["Paired validation (MIR)"] = (F.paired_mir[va], F.paired_Y.iloc[va].reset_index(drop=True))
        if F.test_mir is not None:
            sets["MIR"]["independent test"] = (F.test_mir, F.test_Y)
    if "NIR" in b.grids and F.paired_split is not None:
        va = F.paired_split[1]
        sets["NIR"] = {"exchangeable": (F.paired_nir[va], F.paired_Y.iloc[va].reset_index(drop=True))}
        if F.test_nir is not None:
            sets["NIR"]["independent test"] = (F.test_nir, F.test_Y)
    for rng, conds in sets.items():
        own = [s for s in b.strategies if STRATEGY_INPUTS[s][0] == rng]
        if normalized and any(b.calibration[s].sigmas is None for s in own):
            warnings.warn(f"normalized intervals: {rng} skipped (this bundle has no latent space for {rng} input "
                          "to scale the residuals by)", stacklevel=2)
            continue
        for cond, (X, Y) in conds.items():
            per, fl = predict_arrays(b, rng, X, own, coverage, normalized)
            flagged = (fl["shift_flag"] | fl["novelty_flag"]).to_numpy()
            for s in own:
                pred, lo, hi = per[s]
                keys = {"condition": cond, "range": rng, "strategy": s, "interval": interval}
                if cond == "exchangeable":
                    h = halves_coverage(b.calibration[s], pred, Y, coverage, normalized, seed=cfg.seed)
                    rows += [{**keys, **r} for r in h.to_dict("records")]
                else:
                    rows += _summarise(coverage_and_width(Y, lo, hi), keys, flagged)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=["condition", "range", "strategy", "interval", "property", "n", "coverage",
                                     "mean_width", "relative_width"])
    sd = {(r, c, p): Y[p].std() for r, conds in sets.items() for c, (_, Y) in conds.items() for p in Y.columns}
    out["relative_width"] = [w / sd[k] if (k := (r, c, p)) in sd else np.nan for r, c, p, w in
                             zip(out["range"], out["condition"], out["property"], out["mean_width"])]
    return out


def coverage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per condition, strategy and interval kind: coverage averaged over properties (and its range), the mean
    relative width (interval width over the property's standard deviation in that set), the exact expectation
    (exchangeable rows), and the coverage among flagged and unflagged samples (averaged over properties)."""
    g = table.groupby(["condition", "strategy", "interval"], sort=False)
    out = g.agg(n=("n", "max"), properties=("property", "size"), coverage=("coverage", "mean"),
                coverage_min=("coverage", "min"), coverage_max=("coverage", "max"),
                relative_width=("relative_width", "mean"))
    if "expected" in table:
        out = out.join(g.agg(expected=("expected", "mean")))
    if "n_flagged" in table:
        out = out.join(g.agg(n_flagged=("n_flagged", "max"), coverage_flagged=("coverage_flagged", "mean"),
                             coverage_unflagged=("coverage_unflagged", "mean")))
    return out.reset_index()


# ------------------------------------------------------------------------------------------ LimeSoDa
def _cvplus_fold(fold, target: str, coverage: float, seed: int, max_components: int):
    """CV+ intervals of one outer fold and target: ``(predicted, lower, upper)`` for the test rows.

    Carbon targets are modelled and calibrated on the log1p scale, as the benchmark of notebook 07 fits them;
    the interval's ends are mapped back with expm1 (monotone, so coverage is kept)."""
    y = fold.Y_train[target].to_numpy(float)
    log = target in LOG_TARGETS
    z = np.log1p(y) if log else y
    a = PLSR(max_components=max_components, cv=5, random_state=seed).fit(fold.X_train, z).n_components_
    mapie = CrossConformalRegressor(PLSR(n_components=a), confidence_level=coverage, method="plus",
                                    cv=KFold(5, shuffle=True, random_state=seed), random_state=seed)
    mapie.fit_conformalize(fold.X_train, z)
    pred, pis = mapie.predict_interval(fold.X_test)
    back = np.expm1 if log else np.asarray
    return back(pred), back(pis[:, 0, 0]), back(pis[:, 1, 0])


def _shift_flags(fold, alpha: float) -> np.ndarray:
    k = int(min(10, len(fold.train) - 2, fold.X_train.shape[1]))
    pca = PCA(n_components=k, svd_solver="full").fit(fold.X_train)
    det = ShiftDetector(alpha=alpha).fit(pca.transform(fold.X_train))
    return det.predict(pca.transform(fold.X_test))


def limesoda_set_coverage(cfg: Config, name: str, coverage: float = COVERAGE) -> pd.DataFrame:
    """One LimeSoDa dataset: per row and target, CV+ interval, observed value and shift flag, cached."""
    ds = load_set(name)
    max_components = 10 if cfg.profile == "smoke" else 20
    params = {"dataset": name, "coverage": coverage, "seed": cfg.seed, "alpha": cfg.alpha,
              "data": dataset_digest(name),
              "max_components": max_components, "code": code_hash("apply.coverage", "stats", "spectra", "stages.limesoda", "stages.limesoda_data")}

    def compute():
        X = bin_channels(absorbance_snv(ds.raw, ds.axis, ds.unit))
        out = []
        with threadpool_limits(1):     # small matrices: one BLAS thread is 15x faster on a shared 2-core machine
            for k in sorted(set(ds.folds)):
                fold = fold_data(X, ds.targets, ds.folds, k)
                flagged = _shift_flags(fold, cfg.alpha)
                for t in ds.targets.columns:
                    pred, lo, hi = _cvplus_fold(fold, t, coverage, cfg.seed + k, max_components)
                    out.append(pd.DataFrame({"dataset": name, "row": fold.test, "fold": k, "target": t,
                                             "observed": fold.Y_test[t].to_numpy(float), "predicted": pred,
                                             "lower": lo, "upper": hi, "flagged": flagged}))
        return pd.concat(out, ignore_index=True)

    return cached("limesoda_coverage", params, compute, verbose=False)


def limesoda_coverage(cfg: Config, datasets=None, coverage: float = COVERAGE) -> pd.DataFrame:
    """Per LimeSoDa dataset and target: n, coverage and mean width of the CV+ intervals (pooled over the ten
    outer folds), width relative to the target's standard deviation, and coverage among shift-flagged and
    unflagged test samples. ``datasets``: default the 13 spectral sets (two on the smoke profile)."""
    datasets = tuple(datasets) if datasets is not None else (
        LIMESODA_SMOKE_SETS if cfg.profile == "smoke" else LIMESODA_SETS)
    rows = []
    for name in datasets:
        d = limesoda_set_coverage(cfg, name, coverage)
        for t, g in d.groupby("target", sort=False):
            covered = (g["lower"] <= g["observed"]) & (g["observed"] <= g["upper"])
            f = g["flagged"].to_numpy(bool)
            rows.append({"dataset": name, "spectral_range": LIMESODA_RANGES[name], "target": t, "n": len(g),
                         "coverage": covered.mean(), "mean_width": (g["upper"] - g["lower"]).mean(),
                         "relative_width": (g["upper"] - g["lower"]).mean() / g["observed"].std(),
                         "n_flagged": int(f.sum()),
                         "coverage_flagged": covered[f].mean() if f.any() else np.nan,
                         "coverage_unflagged": covered[~f].mean() if (~f).any() else np.nan})
    return pd.DataFrame(rows)
