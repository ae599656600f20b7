"""Check a bundle against laboratory values (``soilnb evaluate``, :func:`evaluate_bundle`).

Spectra with their lab values (a spectra table carrying them, or spectrum files plus a lab table joined by sample
id, :func:`~soilnb.apply.train.labelled_libraries`) are predicted by the bundle as ``soilnb predict`` would
(:meth:`~soilnb.apply.bundle.Bundle.predict`: the scans of one sample id in one file averaged), each prediction
row is matched to its sample's observed values, and :func:`evaluation_table` scores every property and strategy:

* ``n``, ``ccc``, ``rmse``, ``rpiq``, ``bias`` (the paper's ME: mean of predicted - observed, negative when the
  model under-predicts) and ``r2``, exactly :mod:`soilnb.stats.metrics` on the original scale;
* ``coverage`` (share of observed values inside the conformal interval) and ``mean_width`` of the intervals at
  the nominal ``coverage_nominal``, with ``coverage_tolerance``: three binomial standard deviations
  (:func:`~soilnb.apply.intervals.binomial_tolerance` with the strategy's calibration size), the distance from
  the nominal level an exchangeable sample of this size may show;
* each of those on the subsets of :data:`SUBSETS`: all samples, those without any flag, those with one (shift,
  novelty or a reading-quality flag), and each flag alone. A metric a subset is too small for (fewer than two
  samples, constant values) is NaN.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soilnb.apply.bundle import Bundle, load_bundle
from soilnb.apply.inference import source_files
from soilnb.apply.intervals import COVERAGE, binomial_tolerance
from soilnb.apply.train import TrainingDataError, labelled_libraries
from soilnb.stats import metrics

#: The subsets each property and strategy is scored on: a row mask of the prediction table each.
SUBSETS = {"all": lambda t: np.ones(len(t), bool),
           "unflagged": lambda t: ~flagged(t),
           "flagged": lambda t: flagged(t),
           "shift": lambda t: t["shift_flag"].to_numpy(bool),
           "novelty": lambda t: t["novelty_flag"].to_numpy(bool),
           "quality": lambda t: ~t["quality_ok"].to_numpy(bool)}
#: The columns of :func:`evaluation_table`, in order.
COLUMNS = ("property", "strategy", "range", "subset", "n", "ccc", "rmse", "rpiq", "bias", "r2", "coverage",
           "mean_width", "coverage_nominal", "coverage_tolerance")
#: Suffix of the observed values' columns in :attr:`Evaluation.predictions`.
OBSERVED = "_observed"


def flagged(pred: pd.DataFrame) -> np.ndarray:
    """Rows of a prediction table with a shift, novelty or reading-quality flag."""
    return (pred["shift_flag"].to_numpy(bool) | pred["novelty_flag"].to_numpy(bool)
            | ~pred["quality_ok"].to_numpy(bool))


def flag_category(pred: pd.DataFrame) -> np.ndarray:
    """Per row: ``"quality"``, ``"novelty"``, ``"shift"`` (the first flag raised, in that order) or
    ``"unflagged"`` (the colours of the evaluation figure)."""
    out = np.full(len(pred), "unflagged", dtype=object)
    out[pred["shift_flag"].to_numpy(bool)] = "shift"
    out[pred["novelty_flag"].to_numpy(bool)] = "novelty"
    out[~pred["quality_ok"].to_numpy(bool)] = "quality"
    return out


@dataclass
class Evaluation:
    """What :func:`evaluate_bundle` found: ``table`` (:func:`evaluation_table`), ``predictions`` (the predict
    output with ``<P>_observed`` columns and ``flag``), the properties scored, the nominal coverage and the
    report lines (the lab table and its join, warnings) and the problems (what could not be read or predicted)."""

    table: pd.DataFrame
    predictions: pd.DataFrame
    properties: list
    coverage: float
    report: list = field(default_factory=list)
    problems: list = field(default_factory=list)    # inputs (files, rows, libraries) not predicted


def _safe(fn, y, p) -> float:
    try:
        return float(fn(y, p))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return float("nan")


def score(y, pred, lower, upper) -> dict:
    """The metrics of one property, strategy and subset (module docstring); NaN where undefined."""
    y, pred, lower, upper = (np.asarray(a, float) for a in (y, pred, lower, upper))
    out = {"n": int(y.size)}
    for name, fn in (("ccc", metrics.ccc), ("rmse", metrics.rmse), ("rpiq", metrics.rpiq),
                     ("bias", metrics.mean_error), ("r2", metrics.r2)):
        out[name] = _safe(fn, y, pred) if y.size >= 2 else float("nan")
    out["coverage"] = float(np.mean((lower <= y) & (y <= upper))) if y.size else float("nan")
    out["mean_width"] = float(np.mean(upper - lower)) if y.size else float("nan")
    return out


def evaluation_table(pred: pd.DataFrame, properties, coverage: float = COVERAGE, n_cal=None) -> pd.DataFrame:
    """Per property, strategy and subset (:data:`SUBSETS`, those with a sample): :func:`score` of the rows of
    ``pred`` (a prediction table with ``<P>_observed`` columns) whose observed value is known. ``n_cal``:
    ``{strategy: calibration size}`` for ``coverage_tolerance``."""
    rows = []
    for p in properties:
        for s, part in pred.groupby("strategy", sort=False):
            known = part[part[p + OBSERVED].notna()]
            for subset, mask_of in SUBSETS.items():
                sub = known[mask_of(known)] if len(known) else known
                if subset != "all" and sub.empty:
                    continue
                sc = score(sub[p + OBSERVED], sub[p], sub[f"{p}_lower"], sub[f"{p}_upper"])
                n_c = (n_cal or {}).get(s)
                tol = binomial_tolerance(coverage, sc["n"], n_c) if sc["n"] else float("nan")
                rng = part["range"].iloc[0] if "range" in part else ""
                rows.append({"property": p, "strategy": s, "range": rng, "subset": subset, **sc,
                             "coverage_nominal": coverage, "coverage_tolerance": tol})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def observed_per_sample(lib) -> pd.DataFrame:
    """The observed values of a library per sample and file (``sample_id``, ``file``, the properties), keyed as
    :func:`soilnb.apply.inference.per_sample` keys a prediction row (the same id in two files is two samples)."""
    obs = pd.concat([pd.DataFrame({"sample_id": lib.sample_id.astype(str), "file": source_files(lib)}),
                     lib.properties.reset_index(drop=True)], axis=1)
    return obs.groupby(["file", "sample_id"], sort=False).first().reset_index()


def evaluate_bundle(bundle, spectra, lab=None, *, id_rule="stem", units=None, id_column=None, sheet=None,
                    coverage: float = COVERAGE, strategy="all", normalized: bool = False) -> Evaluation:
    """Predict ``spectra`` with ``bundle`` (a :class:`~soilnb.apply.bundle.Bundle` or its folder) and score the
    predictions against the lab values (the spectra table's own, or ``lab`` joined as in
    :func:`~soilnb.apply.train.labelled_libraries`). ``strategy``: ``"all"`` (default) every strategy of the
    input's range, None the bundle's default, or names. A :class:`~soilnb.apply.train.TrainingDataError` when
    no spectrum has a value of a property the bundle predicts, or nothing could be predicted."""
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    data = labelled_libraries(spectra, lab, id_rule=id_rule, units=units, id_column=id_column, sheet=sheet,
                              name="evaluation spectra")
    report, problems = list(data.report), list(data.problems)
    have = sorted({p for lib in data.libraries for p in lib.property_names if lib.properties[p].notna().any()})
    props = [p for p in b.properties if p in have]
    if not props:
        raise TrainingDataError(f"no lab value of a property the bundle predicts ({', '.join(b.properties)}); "
                                f"the {'lab table' if lab is not None else 'spectra'} carr"
                                f"{'ies' if lab is not None else 'y'}: {', '.join(have) or 'nothing'}")
    frames = []
    for lib in data.libraries:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pred = b.predict(lib, coverage=coverage, strategy=strategy, normalized=normalized)
            except ValueError as exc:
                problems.append(str(exc).removeprefix("nothing predicted: "))
                continue
        report += list(dict.fromkeys(f"warning: {w.message}" for w in caught if issubclass(w.category, UserWarning)
                                     and not str(w.message).startswith("not predicted: ")))
        problems += list(pred.attrs.get("problems", []))
        obs = observed_per_sample(lib)[["file", "sample_id", *[p for p in props if p in lib.property_names]]]
        obs = obs.rename(columns={p: p + OBSERVED for p in props})
        pred = pred.assign(sample_id=pred["sample_id"].astype(str), file=pred["file"].astype(str))
        frames.append(pred.merge(obs, on=["file", "sample_id"], how="left", validate="many_to_one"))
    if not frames:
        raise TrainingDataError("nothing predicted: " + "; ".join(problems[-3:]))
    table = pd.concat(frames, ignore_index=True)
    for p in props:
        if p + OBSERVED not in table:
            table[p + OBSERVED] = np.nan
    table["flag"] = flag_category(table)
    problems += unit_suspicions(table, props)
    n_cal = {s: c.n for s, c in b.calibration.items()}
    return Evaluation(evaluation_table(table, props, coverage, n_cal), table, props, coverage, report, problems)


def unit_suspicions(table: pd.DataFrame, props) -> list[str]:
    """One line per property whose lab values look like the predictions in another unit: the median of the
    observed values over the median of the predictions (every strategy pooled) within a fifth of a decade of a
    power of ten other than 1, and the values scaled by that power fitting the predictions at least twice as well
    (RMSE) -- a lab table in g/kg read as %, or the reverse."""
    out = []
    for p in props:
        obs, pred = table[p + OBSERVED].to_numpy(float), table[p].to_numpy(float)
        ok = np.isfinite(obs) & np.isfinite(pred)
        if ok.sum() < 5 or np.median(obs[ok]) <= 0 or np.median(pred[ok]) <= 0:
            continue
        ratio = np.median(obs[ok]) / np.median(pred[ok])
        k = int(np.round(np.log10(ratio)))
        rmse = lambda o: float(np.sqrt(np.mean((o - pred[ok]) ** 2)))  # noqa: E731
        if k and abs(np.log10(ratio) - k) < 0.2 and rmse(obs[ok] / 10.0 ** k) < 0.5 * rmse(obs[ok]):
            out.append(f"{p}: the lab values are about {10.0 ** k:g} times the predictions (medians "
                       f"{np.median(obs[ok]):.3g} and {np.median(pred[ok]):.3g}): a unit read wrongly? Declare the "
                       f"lab table's unit (--unit {p}=UNIT, e.g. g/kg) or check its header")
    return out


def summary_lines(ev: Evaluation) -> list[str]:
    """One line per property and strategy: n, CCC, RMSE, bias and coverage of all samples, and the coverage of
    the flagged and unflagged ones (``soilnb evaluate`` prints them)."""
    t = ev.table.set_index(["property", "strategy", "subset"])
    lines = []
    for (p, s), _ in ev.table.groupby(["property", "strategy"], sort=False):
        a = t.loc[(p, s, "all")]
        line = (f"{p} {s}: n={a['n']}, CCC {a['ccc']:.3f}, RMSE {a['rmse']:.3g}, bias {a['bias']:+.3g}, "
                f"coverage {a['coverage']:.2f} (nominal {ev.coverage:g})")
        parts = [f"{sub} {t.loc[(p, s, sub), 'coverage']:.2f} (n={t.loc[(p, s, sub), 'n']})"
                 for sub in ("unflagged", "flagged") if (p, s, sub) in t.index]
        lines.append(line + (": " + ", ".join(parts) if parts else ""))
    return lines

