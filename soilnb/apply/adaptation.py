"""Adapt a bundle to a new instrument or soil population with a few local reference samples (``soilnb adapt``).

A bundle plus 10-100 local samples (scanned on the new instrument, with lab values) gives an adapted bundle in a
new folder (:func:`adapt_bundle`; the array-level step is :func:`adapt`):

* **Regressors.** A bundle stores coefficients, not its training spectra. The spectra a ``soilnb train`` bundle
  learned from are recorded in it (``training_data``: files, lab table, id rule), so they are read again and
  checked against the bundle's training fingerprint (:func:`library_of`). With them, each PLS head reading
  spectra is *spiked* (:mod:`soilnb.apply.spiking`): refit on the library plus the local samples counted ``w``
  times, per property the weight, the number of components and a local correction (none, bias, slope and bias)
  ranked by cross-validation *inside the local samples only* (the whole library in every training fold), the head
  the mean of the best options' refits. MLP heads (and every head when the library cannot be had) are corrected
  by the local samples' mean residual on their output scale (a bias correction folded into the head's intercept).
* **Intervals.** Split conformal on out-of-fold local residuals (cross-conformal: each local sample's residual
  comes from a model fitted without its fold, :data:`LOCAL_FOLDS` folds); the final heads use every local sample,
  so the intervals are those of K-fold CV residuals around the refit (CV+ in its simplest, "naive" form). The
  choice of options is nested inside the folds: a fold's residuals come from the options a CV on the other folds
  alone chose, so the choice made on the same samples does not shrink the intervals. With k local samples a 90 %
  interval needs k >= 9 (here :data:`MIN_LOCAL` = 10).
* **Flags.** The novelty reference gets the local samples' reconstruction errors (spectra the VAE never saw); the
  shift reference is refit on the library's and the local samples' embeddings when the library is at hand (the
  bundle stores the reference as summaries, which cannot be extended without the embeddings), else kept. The
  local samples' latent distances that calibrate normalised intervals and the interval-support limit are out of
  sample, as the calibration samples' of a trained bundle are: each to the shift reference refit on the library
  and the other folds' local samples (or to the parent's reference when it is kept), never to the one they are in.

Only the strategies of the local samples' range stay in the adapted bundle (a head may be shared with the other
range, whose calibration would no longer hold). ``info["adapted"]`` records what it was adapted with.
"""
from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.apply.build import _default_strategy, fingerprint
from soilnb.apply.bundle import Bundle, bundle_sha256, load_bundle
from soilnb.apply.heads import PLSHead
from soilnb.apply.inference import _Features, latent, per_sample, prepare, reconstruction_error
from soilnb.apply.intervals import Calibration, NoveltyReference, clip_to_bounds
from soilnb.apply.spiking import CORRECTION_LABELS, CORRECTIONS, INNER_FOLDS, OUTER_FOLDS, WEIGHTS, Spiker, deal_folds, nested_residuals, select
from soilnb.apply.train import TrainingDataError, labelled_libraries, training_library, training_world
from soilnb.core.cache import file_sha256
from soilnb.core.config import get_config
from soilnb.stages.features import get_features
from soilnb.stats.shift import ShiftDetector

#: Fewer local samples (with every property of the bundle) than this and :func:`adapt` refuses.
MIN_LOCAL = 10
#: Folds of the local out-of-fold residuals (leave-one-out below that many samples); see :mod:`.spiking`.
LOCAL_FOLDS = OUTER_FOLDS
#: The local samples' folds (samples kept whole).
local_folds = deal_folds


class AdaptError(TrainingDataError):
    """The local samples cannot adapt this bundle: the message says why."""


@dataclass
class Library:
    """The spectra a bundle learned from, preprocessed on its grid: ``X`` (n, K), ``Y`` (properties), ``ids``."""

    X: np.ndarray
    Y: pd.DataFrame
    ids: np.ndarray


@dataclass
class AdaptResult:
    """What :func:`adapt_bundle` made: the adapted bundle, its folder, the record, report lines and problems."""

    bundle: Bundle
    folder: Path | None
    record: dict
    report: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def library_of(b: Bundle) -> Library:
    """The training spectra of a ``soilnb train`` bundle, read again from the files it records and built into
    features as the training run built them; an :class:`AdaptError` when it records none, they cannot be read,
    or they are not the data it was trained on (fingerprint)."""
    td, conf = b.info.get("training_data"), dict(b.info.get("config") or {})
    if not td or not td.get("spectra"):
        raise AdaptError("the bundle records no training files (only 'soilnb train' bundles do)")
    missing = [p for p in td["spectra"] + ([td["lab_table"]] if td.get("lab_table") else []) if not Path(p).exists()]
    if missing:
        raise AdaptError(f"the bundle's training files are gone: {', '.join(missing[:3])}")
    cfg = get_config(conf.pop("profile", "smoke"), **conf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = labelled_libraries(td["spectra"], td.get("lab_table"), id_rule=td.get("id_rule") or "stem",
                                  units=td.get("units") or None, name="training spectra")
        F = get_features(cfg, training_world(training_library(data.libraries[0])))
    if fingerprint(F)["sha256"] != b.info["fingerprint"]["sha256"]:
        raise AdaptError("the bundle's training files changed since it was trained (fingerprint differs)")
    if F.kssl is not None:
        return Library(np.asarray(F.kssl, np.float64), F.kssl_Y.reset_index(drop=True), np.asarray(F.kssl_id))
    return Library(np.asarray(F.paired_nir, np.float64), F.paired_Y.reset_index(drop=True), np.asarray(F.paired_id))


def _label(w, bias) -> str:
    return f"{w:g}" + CORRECTION_LABELS[bias][0]


def _adapt_head(head, kind: str, X, T, folds, weights, library: Library | None, props, ids=None, seed: int = 0):
    """``(new head, out-of-fold outputs, record)`` of one head (module docstring)."""
    ids = np.arange(len(X)) if ids is None else np.asarray(ids)
    if library is not None and isinstance(head, PLSHead) and kind == "spectra":
        sp = Spiker(head, library.X, head.targets.transform(library.Y[props]), X)
        cands = [(w, bias) for w in weights for bias in CORRECTIONS]
        rows = np.arange(len(X))
        choice, errors = select(sp, rows, T, ids, cands, seed)
        oof = nested_residuals(sp, T, ids, folds, cands, seed)
        outs = list(head.targets.properties_)
        return sp.refit_head(T, rows, choice), oof, \
            {"method": "spiked PLS refit", "weight": {p: float(o[0][0]) for p, o in zip(outs, choice)},
             "correction": {p: CORRECTION_LABELS[o[0][1]][1] for p, o in zip(outs, choice)},
             "components": {p: int(o[0][2]) for p, o in zip(outs, choice)},
             "averaged": {p: [f"{_label(w, b)}/{a}" for w, b, a in o] for p, o in zip(outs, choice)},
             "cv_error": {p: {_label(*c): float(e[:, j].min()) for c, e in errors.items()} for j, p in enumerate(outs)}}
    out = head.outputs(X)
    oof = np.empty_like(T)
    for f in np.unique(folds):
        te = folds == f
        oof[te] = out[te] + (T[~te] - out[~te]).mean(0)
    offset = (T - out).mean(0)
    new = replace(head, intercept=head.intercept + offset) if isinstance(head, PLSHead) else \
        replace(head, y_mean=head.y_mean + offset)
    return new, oof, {"method": "bias correction", "weight": None, "correction": "bias",
                      "cv_error": {"bias": float(np.mean((T - oof) ** 2))}}


def adapt(b: Bundle, X, Y: pd.DataFrame, ids, rng: str, library: Library | None = None, *,
          weights=WEIGHTS, n_folds: int = LOCAL_FOLDS, seed: int = 0) -> tuple[Bundle, dict]:
    """``(adapted bundle, record)`` from local samples: ``X`` their preprocessed spectra on the bundle's ``rng``
    grid (one row per sample), ``Y`` their properties (every one of the bundle's), ``ids`` their sample ids;
    ``library`` the bundle's training spectra (:func:`library_of`) or None (bias correction only)."""
    X = np.asarray(X, np.float64)
    props = b.properties
    Y = Y.reset_index(drop=True)
    if len(X) < MIN_LOCAL:
        raise AdaptError(f"only {len(X)} local sample(s) with every one of {', '.join(props)}: at least "
                         f"{MIN_LOCAL} are needed (a 90 % interval from k out-of-fold residuals needs k >= 9)")
    own = [s for s, v in b.strategies.items() if v[0] == rng]
    if not own:
        raise AdaptError(f"the bundle has no {rng} strategy")
    folds = local_folds(ids, n_folds, seed)
    feats = _Features(b, rng, X.astype(np.float32))
    heads, oofs, per_head = dict(b.heads), {}, {}
    for s in own:
        _, kind, h = b.strategies[s]
        if h in per_head:
            continue
        T = b.heads[h].targets.transform(Y[props])
        heads[h], oofs[h], per_head[h] = _adapt_head(b.heads[h], kind, np.asarray(feats[kind], np.float64), T,
                                                     folds, tuple(weights), library, props, ids, seed)
    new = Bundle(info=dict(b.info), grids=dict(b.grids), strategies={s: b.strategies[s] for s in own},
                 default_strategy={}, heads=heads, calibration={}, shift=dict(b.shift), novelty=dict(b.novelty),
                 vae=b.vae, n2m=b.n2m)
    z = feats["latent"]                         # computed once (the heads that read it used the same)
    shift_note = "kept (no library at hand: the stored reference cannot be extended)"
    # the calibration distances (sigmas) of the local samples, each to a reference that did not see it: the
    # parent's, or with the library at hand the reference refit without the sample's fold (out of fold)
    sig = b.shift[rng].mahalanobis_.distance(z) if rng in b.shift and z is not None else None
    if sig is not None and library is not None:
        det, z_lib = b.shift[rng], latent(b, rng, library.X.astype(np.float32))
        new.shift[rng] = ShiftDetector(alpha=det.alpha, squared=det.squared).fit(np.vstack([z_lib, z]))
        shift_note = f"refit on the library and the local embeddings ({len(library.X)} + {len(X)})"
        for f in np.unique(folds):
            te = folds == f
            sig[te] = ShiftDetector(alpha=det.alpha, squared=det.squared).fit(
                np.vstack([z_lib, z[~te]])).mahalanobis_.distance(z[te])
    novelty_note = "none"
    if rng in b.novelty:
        ref = b.novelty[rng]
        new.novelty[rng] = NoveltyReference(np.r_[ref.scores, reconstruction_error(b, rng, X)], ref.alpha)
        novelty_note = f"{ref.scores.size} + {len(X)} local reconstruction errors"
    for s in own:
        h = b.strategies[s][2]
        pred, _ = clip_to_bounds(heads[h].targets.inverse_transform(oofs[h]), heads[h].targets)
        new.calibration[s] = Calibration.fit(Y, pred, heads[h].targets, sigmas=sig, latent=z)
    new.default_strategy = {rng: _default_strategy(new.calibration, own, rng)}
    record = {"n_local": int(len(X)), "range": rng, "folds": int(folds.max() + 1), "seed": seed,
              "weights_tried": [float(w) for w in weights], "inner_folds": INNER_FOLDS,
              "weight": next((v["weight"] for v in per_head.values() if v["weight"] is not None), None),
              "heads": per_head, "strategies": own,
              "dropped": [s for s in b.strategies if s not in own],
              "ids_sha256": hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "shift_reference": shift_note,
              "novelty_reference": novelty_note,
              "calibration": "split conformal on out-of-fold residuals of the local samples (K-fold, weight and "
                             "bias chosen inside each fold; soilnb.apply.adapt)"}
    new.info["adapted"] = record
    new.info["calibration_sets"] = {s: f"local samples, out-of-fold ({len(X)})" for s in own}
    new.info["calibration_scheme"] = record["calibration"]
    return new, record


def _summary(record: dict) -> str:
    w = record["weight"]
    chosen = ", ".join(f"{p} {v:g}" for p, v in w.items()) if isinstance(w, dict) else None
    return (f"{record['n_local']} local samples ({record['range']}), "
            + (f"weights {chosen} chosen by local CV" if chosen else "bias correction")
            + f", on {record['date'][:10]}; parent manifest sha256 {record.get('parent_manifest_sha256', '?')[:16]}")


def local_samples(b: Bundle, spectra, lab=None, **join) -> tuple[str, np.ndarray, pd.DataFrame, np.ndarray, list,
                                                                  list]:
    """``(range, X, Y, ids, report, problems)``: the local spectra joined to their lab values (as ``soilnb train``
    joins them), a sample's scans averaged, on the bundle's grid, only samples with every bundle property."""
    data = labelled_libraries(spectra, lab, name="local spectra", **join)
    props = b.properties
    Xs, Ys, ids, rngs = [], [], [], set()
    for lib in data.libraries:
        lacking = [p for p in props if p not in lib.property_names or lib.properties[p].isna().all()]
        if lacking:
            raise AdaptError(f"the local samples' {'lab table' if lab is not None else 'spectra'} lack "
                             f"{', '.join(lacking)} (the bundle predicts {', '.join(props)})")
        avg, _ = per_sample(lib)
        keep = avg.properties[props].notna().all(axis=1).to_numpy() if avg.n_scans else np.zeros(0, bool)
        rng, X = prepare(b, avg.subset(keep))
        Xs.append(X)
        Ys.append(avg.properties[props][keep].reset_index(drop=True))
        ids += list(np.asarray(avg.sample_id)[keep].astype(str))
        rngs.add(rng)
    if len(rngs) > 1:
        raise AdaptError("local spectra of two ranges; adapt one range at a time")
    return rngs.pop(), np.vstack(Xs), pd.concat(Ys, ignore_index=True), np.asarray(ids), data.report, data.problems


def adapt_bundle(bundle_dir, spectra, lab=None, *, id_rule="stem", units=None, id_column=None, sheet=None,
                 library: Library | None | str = "recorded", weights=WEIGHTS, n_folds: int = LOCAL_FOLDS,
                 seed: int = 0, out=None) -> AdaptResult:
    """Adapt the bundle in ``bundle_dir`` with local samples (``spectra`` with their properties, or files plus
    ``lab`` joined as ``soilnb train`` joins them) and save the adapted bundle into ``out`` (a new folder, never
    the parent's). ``library``: "recorded" (the training files the bundle records, :func:`library_of`; a bias
    correction, with a report line, when they cannot be had), a :class:`Library`, or None (bias correction)."""
    parent = Path(bundle_dir)
    if out is not None and Path(out).resolve() == parent.resolve():
        raise AdaptError(f"--out {out}: the adapted bundle goes to a new folder, not over its parent")
    b = load_bundle(parent)
    rng, X, Y, ids, report, problems = local_samples(b, spectra, lab, id_rule=id_rule, units=units,
                                                     id_column=id_column, sheet=sheet)
    report = list(report)
    if isinstance(library, str):
        try:
            library = library_of(b)
        except AdaptError as exc:
            report.append(f"no spiking: {exc}; the heads get a bias correction instead")
            library = None
    new, record = adapt(b, X, Y, ids, rng, library, weights=weights, n_folds=n_folds, seed=seed)
    paths = [Path(spectra)] if isinstance(spectra, (str, Path)) else [Path(p) for p in spectra]
    files = [p for q in paths for p in (sorted(q.rglob("*")) if q.is_dir() else [q]) if p.is_file()]
    record.update({"parent_manifest_sha256": b.info["bundle_id"], "parent_sha256": bundle_sha256(parent),
                   "parent_created": b.info.get("created"), "local_files": {p.name: file_sha256(p) for p in files[:200]},
                   "lab_table": {Path(lab).name: file_sha256(Path(lab))} if lab is not None else None})
    new.info["training"] = {**new.info.get("training", {}), "adapted": _summary(record)}
    folder = new.save(out) if out is not None else None
    return AdaptResult(new, folder, record, report, problems)
