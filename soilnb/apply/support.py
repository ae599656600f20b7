"""Whether the calibration data support a prediction's interval (``interval_supported``, ``interval_note``).

A split-conformal interval holds for rows exchangeable with the calibration samples. Two kinds of evidence that a
row is not:

* **the row** (:func:`interval_support`, :data:`SUPPORT_RULE`): its latent distance above the conformal limit of
  the calibration samples' distances, its reconstruction error above the novelty limit, or a predicted value
  outside its physical bounds;
* **its batch** (:func:`batch_marks`): the spectra predicted together (every file of one ``predict`` call, per
  range) told apart from the calibration samples by a domain classifier on the latent embeddings -- a classifier
  two-sample test (Lopez-Paz and Oquab 2017): logistic regression, out-of-fold scores, their AUC and a one-sided
  Mann-Whitney p-value. Scans of another instrument or laboratory are rarely far from the library one by one
  (on real soils of other laboratories, ``benchmarks/bench_shift_intervals.py``, the row rule marked few of the
  interval misses), but as a population they are told apart at once (AUC above 0.95 on each of the five
  LimeSoDa MIR sets, about 0.55 on KSSL samples), and it is exchangeability of the population that the interval
  needs. An adapted bundle is calibrated on local samples of the new instrument, so its batches pass.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from soilnb.apply.intervals import calibration_distance_limit, shift_distance_limit

#: The batch rule (:func:`batch_marks`): at least this many rows, an out-of-fold AUC of at least ``BATCH_AUC``
#: (a shift worth naming, not one a large batch makes significant) and a p-value below ``BATCH_ALPHA``.
MIN_BATCH = 10
BATCH_AUC = 0.7
BATCH_ALPHA = 0.01

#: The rule :func:`interval_support` applies (one of :func:`unsupported_rules`' keys; a clipped value marks its
#: row too), chosen on real shifted soils by ``benchmarks/bench_shift_intervals.py``: as many of the misses as the
#: flags' union at the same share of marked rows, and defined by the calibration samples themselves.
SUPPORT_RULE = "latent>cal-limit|novelty"


def flag_limits(b) -> dict:
    """Per range: the shift limit on the ``shift_distance`` scale (and the detector's own, Pomerantsev scale),
    the novelty limit on the ``recon_error`` scale, and per strategy the limit of the calibration samples' latent
    distances beyond which ``interval_supported`` is False (None where there is none)."""
    out = {}
    for r in b.grids:
        d = {}
        if r in b.shift:
            det = b.shift[r]
            d["shift_distance_limit"] = shift_distance_limit(det)
            d["shift_pomerantsev"] = {"limit": det.limit_, "d0": det.d0_, "Fd": int(det.Fd_), "alpha": det.alpha,
                                      "squared": bool(det.squared)}
        if r in b.novelty:
            d["recon_error_limit"] = b.novelty[r].limit if np.isfinite(b.novelty[r].limit) else None
        sup = {s: calibration_distance_limit(b.calibration[s], support_alpha(b, r))
               for s, v in b.strategies.items() if v[0] == r and s in b.calibration}
        sup = {s: float(v) if np.isfinite(v) else None for s, v in sup.items()}
        if any(v is not None for v in sup.values()):
            d["interval_support_distance_limit"] = sup
        out[r] = d
    return out


def support_alpha(b, rng: str) -> float:
    """The significance level of range ``rng``'s flags (its shift detector's, else its novelty reference's)."""
    if rng in b.shift:
        return b.shift[rng].alpha
    return b.novelty[rng].alpha if rng in b.novelty else 0.05


def unsupported_rules(b, rng: str, strategy: str, fl: pd.DataFrame) -> dict:
    """Candidate rules marking the rows whose interval the calibration data do not support, each a boolean array
    over the rows of ``fl`` (:func:`flags`): the latent distance above the largest, or above the conformal
    ``1 - alpha`` limit, of the calibration samples' distances (the population the interval was calibrated
    on); the reconstruction error above the largest held-out error, or above the novelty limit; the shift flag
    (Pomerantsev limit of the training embeddings); and combinations."""
    cal, ref, alpha = b.calibration[strategy], b.novelty.get(rng), support_alpha(b, rng)
    d, q = fl["shift_distance"].to_numpy(float), fl["recon_error"].to_numpy(float)
    no = np.zeros(len(fl), bool)
    has_d = cal.sigmas is not None and np.isfinite(d).all()
    lat_max = d > np.max(cal.sigmas) if has_d else no
    lat_lim = d > calibration_distance_limit(cal, alpha) if has_d else no
    rec_max = q > ref.scores.max() if ref is not None else no
    nov = fl["novelty_flag"].to_numpy(bool)
    shift = fl["shift_flag"].to_numpy(bool)
    return {"shift|novelty": shift | nov, "shift": shift, "novelty": nov, "recon>ref-max": rec_max,
            "latent>cal-max": lat_max, "latent>cal-limit": lat_lim, "latent>cal-max|recon>ref-max": lat_max | rec_max,
            "latent>cal-limit|novelty": lat_lim | nov, "latent>cal-limit|shift|novelty": lat_lim | shift | nov}


def batch_marks(b, strategy: str, z) -> tuple[bool, str]:
    """``(unsupported, reason)`` of a batch of spectra with latent embeddings ``z`` (module docstring): True when
    it has at least :data:`MIN_BATCH` rows and a domain classifier tells it from ``strategy``'s calibration
    samples (:func:`soilnb.apply.domain.batch_shift_test`: out-of-fold AUC >= :data:`BATCH_AUC`, p <
    :data:`BATCH_ALPHA`)."""
    cal = b.calibration[strategy]
    if z is None or cal.latent is None or len(z) < MIN_BATCH:
        return False, ""
    # scikit-learn and SciPy only for a batch large enough to test (``soilnb predict`` on a few files starts
    # without them; the predict path's import-linter contract ignores this one edge)
    from soilnb.apply.domain import batch_shift_test  # noqa: PLC0415

    auc, p = batch_shift_test(cal.latent, z)
    if auc >= BATCH_AUC and p < BATCH_ALPHA:
        return True, (f"the batch ({len(z)} spectra) is told apart from the calibration samples (domain classifier, "
                      f"out-of-fold AUC {auc:.2f}, p {p:.1g}): not exchangeable with them, no interval of it is "
                      "guaranteed; adapt the bundle with local samples (soilnb adapt)")
    return False, ""


def interval_support(b, rng: str, strategy: str, fl: pd.DataFrame, clipped: pd.DataFrame | None = None,
                     batch: tuple[bool, str] = (False, "")) -> tuple[np.ndarray, np.ndarray]:
    """``(supported, note)`` per row of ``fl``: whether the calibration data support the row's interval, and why
    not ("" when supported).

    A row is unsupported (:data:`SUPPORT_RULE`) when its latent distance (``shift_distance``) exceeds the
    conformal ``1 - alpha`` limit of the calibration samples' distances (the population the interval was
    calibrated on: at most a share ``alpha`` of rows drawn like them is marked), when the novelty flag is raised
    (reconstruction error above its conformal limit), when a predicted value lay outside its property's
    physical bounds (``clipped``: the regressor extrapolates), or, every row, when its batch as a whole is told
    apart from the calibration samples (``batch``, :func:`batch_marks`). On real soils of other laboratories
    (``benchmarks/bench_shift_intervals.py``) the row rule alone marked about half of the interval misses, the
    batch rule all of them; no mark makes an interval hold."""
    cal, ref, alpha = b.calibration[strategy], b.novelty.get(rng), support_alpha(b, rng)
    rules = unsupported_rules(b, rng, strategy, fl)
    d, q = fl["shift_distance"].to_numpy(float), fl["recon_error"].to_numpy(float)
    lim = calibration_distance_limit(cal, alpha)
    why = {"latent>cal-limit": lambda i: f"latent distance {d[i]:.3g} above the calibration samples' limit {lim:.3g}",
           "latent>cal-max": lambda i: f"latent distance {d[i]:.3g} above the calibration samples' largest "
                                       f"{np.max(cal.sigmas):.3g}",
           "novelty": lambda i: f"reconstruction error {q[i]:.3g} above the novelty limit {ref.limit:.3g}",
           "recon>ref-max": lambda i: f"reconstruction error {q[i]:.3g} above the largest held-out error "
                                      f"{ref.scores.max():.3g}",
           "shift": lambda i: f"latent distance {d[i]:.3g} above the shift limit "
                              f"{shift_distance_limit(b.shift[rng]):.3g}"}
    notes = [[] for _ in range(len(fl))]
    for part in SUPPORT_RULE.split("|"):          # the rule's marks, each with its reason
        for i in np.flatnonzero(rules[part]):
            notes[i].append(why[part](i))
    if clipped is not None:
        m = clipped.to_numpy(bool)
        for i in np.flatnonzero(m.any(axis=1)):
            notes[i].append(f"{', '.join(clipped.columns[m[i]])} predicted outside the physical bounds")
    if batch[0]:
        for x in notes:
            x.append(batch[1])
    supported = ~(rules[SUPPORT_RULE] | (clipped.to_numpy(bool).any(axis=1) if clipped is not None else False)
                  | bool(batch[0]))
    note = np.array(["; ".join(x) for x in notes], dtype=object)
    if not (np.isfinite(lim) or (ref is not None and np.isfinite(ref.limit))):
        note = np.array(["; ".join(["not checked: no latent or novelty reference for this range"] + x)
                         for x in notes], dtype=object)
    return supported, note
