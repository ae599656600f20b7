"""Sect. 3.4 and Eqs. 15-19: internal vs independent performance, and latent distribution shift."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from soilnb.core.config import Config
from soilnb.core.vocab import DATASET_NAMES, PAPER_NAMES
from soilnb.models.inference import embed
from soilnb.stats.metrics import paper_metrics_table
from soilnb.stats.shift import ShiftDetector


def strategy_points(res, strategies) -> pd.DataFrame:
    """CCC and RPIQ of ``strategies`` on the Paired validation split and the test set (Fig. 7 markers)."""
    out = []
    for split, name in DATASET_NAMES.items():
        t = paper_metrics_table(res.observed[split], {s: res.predictions[split][s] for s in strategies})
        t.insert(0, "dataset", name)
        out.append(t)
    return pd.concat(out, ignore_index=True)


def internal_vs_independent(cv: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Where each marker of Fig. 7 falls within its dataset's internal CV range (percentile of CV CCC)."""
    rows = []
    for r in points.itertuples(index=False):
        v = cv[(cv["dataset"] == r.dataset) & (cv["property"] == r.property)]
        rows.append({"dataset": r.dataset, "strategy": r.strategy, "property": r.property, "ccc": r.ccc,
                     "rpiq": r.rpiq, "cv_ccc_median": v["ccc"].median(), "cv_rpiq_median": v["rpiq"].median(),
                     "ccc_percentile_in_cv": float((v["ccc"] < r.ccc).mean() * 100) if len(v) else np.nan})
    return pd.DataFrame(rows)


@dataclass
class LatentShift:
    detector: ShiftDetector
    distances: dict          # set name -> raw Mahalanobis distances d
    flags: dict              # set name -> bool flags
    table: pd.DataFrame      # set, n, d_median, flagged_share
    d0: float
    Fd: int
    limit: float


def latent_shift(cfg: Config, F, vae, n2m) -> LatentShift:
    """Fit the robust Mahalanobis detector on the KSSL embeddings and apply it to every set.

    Sets: KSSL (training), Paired validation (MIR embeddings and NIR-derived embeddings), test
    (MIR embeddings and NIR-derived embeddings).
    """

    _, va = F.paired_split
    Z = {"KSSL (training)": embed(vae, F.kssl),
         "Paired validation, MIR": embed(vae, F.paired_mir[va]),
         "Paired validation, NIR->latent": embed(n2m, F.paired_nir[va]),
         "test, MIR": embed(vae, F.test_mir),
         "test, NIR->latent": embed(n2m, F.test_nir)}
    det = ShiftDetector(alpha=cfg.alpha).fit(Z["KSSL (training)"])
    dist = {k: det.mahalanobis_.distance(z) for k, z in Z.items()}
    flags = {k: det.predict(z) for k, z in Z.items()}
    table = pd.DataFrame([{"set": k, "n": len(d), "d_median": float(np.median(d)),
                           "flagged_share": float(flags[k].mean())} for k, d in dist.items()])
    table["limit"] = det.limit_
    table["Fd"] = det.Fd_
    table["d0"] = det.d0_
    return LatentShift(det, dist, flags, table, float(det.d0_), int(det.Fd_), float(det.limit_))


#: (strategy, embedding set) pairs whose errors :func:`flags_vs_errors` relates to the shift flags: each
#: strategy is judged by the embeddings it reads (the SSL strategies read exactly these latent vectors).
FLAG_PAIRS = (("NIRtoMIR-SSL-MLP", "test, NIR->latent"), ("MIR-SSL-MLP", "test, MIR"))


def _spearman(a, b) -> float:
    """Spearman's rho, NaN (without scipy's warning) when either side is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b).statistic)


def flags_vs_errors(shift: LatentShift, res, pairs=FLAG_PAIRS) -> pd.DataFrame:
    """Are samples far from the KSSL embeddings predicted worse? One row per pair and property.

    For each (strategy, set) of ``pairs`` (a set of the test split, see :func:`latent_shift`): mean
    absolute error of flagged vs not-flagged samples and their ratio, and Spearman's rank correlation
    between the Mahalanobis distance and the absolute error. The MAE comparison needs both groups;
    when every sample (or none) is flagged it is NaN and the rank correlation is the answer.
    """
    obs = res.observed["test"]
    rows = []
    for strategy, flag_set in pairs:
        if not flag_set.startswith("test"):
            raise ValueError(f"flag set {flag_set!r} is not a test-set embedding; errors exist for the test set only")
        pred = res.predictions["test"][strategy]
        if not pred.index.equals(obs.index):
            raise ValueError(f"predictions of {strategy} and the observed test values have different row indexes")
        err = (pred - obs).abs()
        f, d = np.asarray(shift.flags[flag_set], bool), np.asarray(shift.distances[flag_set], float)
        if len(f) != len(obs):
            raise ValueError(f"{flag_set}: {len(f)} flags for {len(obs)} test samples")
        for p in obs.columns:
            e = err[p].to_numpy()
            rows.append({"strategy": strategy, "set": flag_set, "property": PAPER_NAMES.get(p, p),
                         "n_flagged": int(f.sum()), "n_ok": int((~f).sum()),
                         "mae_flagged": float(e[f].mean()) if f.any() else np.nan,
                         "mae_ok": float(e[~f].mean()) if (~f).any() else np.nan,
                         "spearman_distance_error": _spearman(d, e)})
    out = pd.DataFrame(rows)
    out["ratio"] = out["mae_flagged"] / out["mae_ok"]
    return out


def flag_summary(flag_err: pd.DataFrame) -> pd.DataFrame:
    """Per strategy and set: how many test samples are flagged, and the median over properties of the
    Spearman correlation between a sample's distance and its absolute error."""
    g = flag_err.groupby(["strategy", "set"], sort=False)
    return pd.DataFrame({"n_flagged": g["n_flagged"].first(), "n": g["n_flagged"].first() + g["n_ok"].first(),
                         "median_spearman": g["spearman_distance_error"].median()}).reset_index()
