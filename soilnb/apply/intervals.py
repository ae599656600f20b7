"""Conformal prediction intervals (split conformal, crepes' rule in NumPy) and the conformal novelty limit.

**Intervals.** For each strategy and property, the absolute residuals of held-out calibration samples (samples
the strategy's regressor never trained on, see :mod:`soilnb.apply.build`) calibrate a split-conformal regressor
(Vovk et al. 2005), computed as crepes' :class:`ConformalRegressor` computes it (Bostrom 2022): the half-width is
one order statistic of the scores (:func:`conformal_rank`). It is written out here rather than calling crepes
because ``soilnb predict`` must start without importing crepes and SciPy (about 0.9 s);
``tests/test_encoders.py::test_intervals_are_crepes_number_for_number`` checks it against crepes, number for
number. The residuals are taken on the scale the targets are modelled on: ``log1p`` for the properties the
:class:`~soilnb.stats.targets.TargetTransformer` log-transforms (so an interval of TC is multiplicative, wider for
larger values), the original scale for the rest (pH, texture, ...). Because ``log1p`` is monotone, an interval
that covers ``log1p(y)`` covers ``y``: the split-conformal guarantee (coverage >= the nominal level on
exchangeable data, and below it by at most ``1 / (n_cal + 1)``) holds on the original scale. Intervals are clipped
to the physical range of each property (contents >= 0, percentages <= 100, pH 0-14), which changes no coverage.

*Normalised* intervals (``normalized=True``) divide each residual by a difficulty estimate ``sigma`` (crepes'
normalised conformal regressor): here the robust Mahalanobis distance of the sample's latent embedding from the
regressor's training embeddings (the shift statistic, :mod:`soilnb.stats.shift`), so samples far from the
training data get wider intervals.

**Novelty limit.** :class:`NoveltyReference` holds the VAE reconstruction errors of held-out spectra; a new
spectrum's conformal p-value is ``(1 + #{reference >= q}) / (n + 1)`` and it is flagged when ``q`` exceeds the
``ceil((n + 1)(1 - alpha))``-th smallest reference error, which flags at most a share ``alpha`` of exchangeable
spectra (conformal anomaly detection, Laxhammar and Falkman 2015).

**Weighted split conformal** (``weights=`` of :meth:`Calibration.intervals`; Tibshirani et al. 2019, covariate
shift): each calibration residual counts with the density ratio ``w(x_i) = dP_new / dP_cal`` at its sample and the
new row with its own ``w(x)``; the interval's half-width is the ``coverage`` quantile of the weighted residuals
with the new row's weight put on +inf. :func:`soilnb.apply.domain.shift_weights` estimates the ratios with a domain
classifier (logistic regression on standardised latent means, calibration against the batch being predicted).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soilnb.apply.defaults import COVERAGE
from soilnb.data.properties import NON_NEGATIVE, PERCENT

#: crepes picks the ``int((1 - c)(n + 1))``-th largest score; 1 - 0.9 is 0.09999999999999998 in floating point,
#: which drops that rank by one whenever ``(n + 1) / 10`` is whole (a one-rank wider interval than the textbook
#: ``ceil((n + 1) c)``-th smallest). Asking for ``c - NUDGE`` restores the exact rank and changes nothing else.
NUDGE = 1e-9


def conformal_rank(n: int, coverage: float) -> int:
    """The 0-based index, among ``n`` calibration scores sorted from the largest, of the score that bounds a
    ``coverage`` interval: crepes' ``int((1 - confidence)(n + 1)) - 1`` asked at ``coverage - NUDGE``, i.e. the
    ``ceil((n + 1) coverage)``-th smallest score; negative when the scores are too few (an infinite interval).

    Examples
    --------
    >>> conformal_rank(19, 0.9), conformal_rank(99, 0.9), conformal_rank(8, 0.9)
    (1, 9, -1)
    """
    return int((1 - (coverage - NUDGE)) * (n + 1)) - 1


#: Physical bounds of properties not covered by NON_NEGATIVE / PERCENT.
BOUNDS = {"pH": (0.0, 14.0)}


def score_scales(targets) -> list[str]:
    """Per property of ``targets``: ``"log1p"`` where the transformer log-transforms it, else ``"identity"``."""
    return ["log1p" if p in targets.log_ else "identity" for p in targets.properties_]


def physical_bounds(targets) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` per property on the original scale: 0 for contents (and any property the transformer
    clips at 0), 100 for percentages, pH 0-14, else unbounded."""
    clipped = set(getattr(targets, "_clip", ()))
    lo, hi = [], []
    for p in targets.properties_:
        a, b = BOUNDS.get(p, (-np.inf, np.inf))
        if p in NON_NEGATIVE or p in clipped:
            a = max(a, 0.0)
        if p in PERCENT:
            b = min(b, 100.0)
        lo.append(a)
        hi.append(b)
    return np.array(lo, float), np.array(hi, float)


def _forward(v, scale: str):
    return np.log1p(v) if scale == "log1p" else np.asarray(v, dtype=float)


def _inverse(v, scale: str):
    return np.expm1(v) if scale == "log1p" else np.asarray(v, dtype=float)


@dataclass
class Calibration:
    """The calibration of one strategy: signed residuals (observed - predicted, on each property's scale) of
    held-out samples, the standard deviation of their observed values on that scale (``spread``) and their
    difficulty estimates (``sigmas``, None when the bundle has no latent space), and their latent embeddings
    (``latent``, for weighted intervals; None in bundles written before they were stored)."""

    properties: list
    scales: list
    lower: np.ndarray
    upper: np.ndarray
    residuals: np.ndarray
    spread: np.ndarray
    sigmas: np.ndarray | None = None
    latent: np.ndarray | None = None
    _fitted: dict = field(default_factory=dict, repr=False)

    @classmethod
    def fit(cls, observed: pd.DataFrame, predicted: pd.DataFrame, targets,
            sigmas=None, latent=None) -> "Calibration":
        """From observed and predicted properties (original scale) of the calibration samples."""
        props = list(targets.properties_)
        scales = score_scales(targets)
        missing = [p for p in props if p not in observed.columns]
        if missing:
            raise ValueError(f"calibration: observed values lack {missing}")
        obs = np.column_stack([_forward(observed[p].to_numpy(float), s) for p, s in zip(props, scales)])
        res = obs - np.column_stack([_forward(predicted[p].to_numpy(float), s) for p, s in zip(props, scales)])
        lo, hi = physical_bounds(targets)
        sig = None if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        z = None if latent is None else np.asarray(latent, dtype=np.float64)
        return cls(props, scales, lo, hi, res, obs.std(axis=0), sig, z)

    @property
    def n(self) -> int:
        return self.residuals.shape[0]

    def scores(self, j: int, normalized: bool) -> np.ndarray:
        """The calibration scores of property ``j`` sorted from the largest, as crepes' ``ConformalRegressor.fit``
        sorts them: ``|residual|``, divided by the difficulty ``sigma`` when ``normalized`` (a sigma of 0 gives inf,
        or NaN for a residual of 0, silently, as crepes gives them). Read-only: the array is cached."""
        key = (j, normalized)
        if key not in self._fitted:
            a = np.abs(self.residuals[:, j])
            with np.errstate(divide="ignore", invalid="ignore"):
                scores = np.sort(a / self.sigmas if normalized else a)[::-1]
            scores.setflags(write=False)
            self._fitted[key] = scores
        return self._fitted[key]

    def intervals(self, predicted: pd.DataFrame, coverage: float = COVERAGE, sigmas=None, weights=None):
        """``(lower, upper)`` DataFrames (original scale, the columns of ``predicted`` that were calibrated).

        ``sigmas`` (difficulty of each predicted row) switch to normalised intervals; ``weights`` =
        ``(w_cal, w_new)`` (density ratios of the calibration samples and of each predicted row,
        :func:`soilnb.apply.domain.shift_weights`) to weighted split conformal. A calibration set too small for
        ``coverage`` gives the widest interval (the physical bounds), with a warning.
        """
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be in (0, 1), got {coverage!r}")
        if weights is not None:
            if sigmas is not None:
                raise ValueError("weighted intervals are not normalised: give sigmas or weights, not both")
            return self._weighted(predicted, coverage, *weights)
        normalized = sigmas is not None
        if normalized and self.sigmas is None:
            raise ValueError("normalized intervals need difficulty estimates; this bundle has no latent space")
        sig = None if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        k = conformal_rank(self.n, coverage)
        lower, upper = {}, {}
        for j, (p, s) in enumerate(zip(self.properties, self.scales)):
            y_hat = _forward(predicted[p].to_numpy(float), s)
            y_min = _forward(self.lower[j], s) if np.isfinite(self.lower[j]) else -np.inf
            y_max = _forward(self.upper[j], s) if np.isfinite(self.upper[j]) else np.inf
            # crepes' ConformalRegressor.predict_int, step by step
            iv = np.zeros((len(y_hat), 2))
            if k >= 0:
                alpha = self.scores(j, normalized)[k]
                with np.errstate(invalid="ignore", over="ignore"):        # inf * 0 is NaN, as in crepes
                    half = alpha * sig if normalized else alpha
                    iv[:, 0], iv[:, 1] = y_hat - half, y_hat + half
            else:
                iv[:, 0], iv[:, 1] = -np.inf, np.inf
            if y_min > -np.inf:
                iv[iv < y_min] = y_min
            if y_max < np.inf:
                iv[iv > y_max] = y_max
            lower[p], upper[p] = _inverse(iv[:, 0], s), _inverse(iv[:, 1], s)
        if k < 0:
            warnings.warn(f"{self.n} calibration samples are too few for {coverage * 100:g} % intervals: they span the "
                          "physical range", stacklevel=2)
        return pd.DataFrame(lower, index=predicted.index), pd.DataFrame(upper, index=predicted.index)

    def _weighted(self, predicted, coverage, w_cal, w_new):
        q = weighted_quantiles(np.abs(self.residuals), w_cal, w_new, coverage)      # (n_new, n_properties)
        lower, upper = {}, {}
        for j, (p, s) in enumerate(zip(self.properties, self.scales)):
            y_hat = _forward(predicted[p].to_numpy(float), s)
            y_min = _forward(self.lower[j], s) if np.isfinite(self.lower[j]) else -np.inf
            y_max = _forward(self.upper[j], s) if np.isfinite(self.upper[j]) else np.inf
            with np.errstate(invalid="ignore"):
                lo, hi = np.maximum(y_hat - q[:, j], y_min), np.minimum(y_hat + q[:, j], y_max)
            lower[p], upper[p] = _inverse(lo, s), _inverse(hi, s)
        return pd.DataFrame(lower, index=predicted.index), pd.DataFrame(upper, index=predicted.index)

    def arrays(self) -> dict:
        out = {"residuals": self.residuals, "spread": self.spread, "lower": self.lower, "upper": self.upper}
        if self.sigmas is not None:
            out["sigmas"] = self.sigmas
        if self.latent is not None:
            out["latent"] = self.latent
        return out

    def spec(self) -> dict:
        return {"properties": list(self.properties), "scales": list(self.scales), "n": self.n}

    @classmethod
    def from_arrays(cls, spec: dict, arrays: dict) -> "Calibration":
        return cls(list(spec["properties"]), list(spec["scales"]), np.asarray(arrays["lower"], float),
                   np.asarray(arrays["upper"], float), np.asarray(arrays["residuals"], float),
                   np.asarray(arrays["spread"], float), np.asarray(arrays["sigmas"], float) if "sigmas" in arrays else None,
                   np.asarray(arrays["latent"], float) if "latent" in arrays else None)


def coverage_and_width(observed: pd.DataFrame, lower: pd.DataFrame, upper: pd.DataFrame) -> pd.DataFrame:
    """Per row and property of ``lower``: ``covered`` (lower <= observed <= upper) and ``width`` (upper - lower), long."""
    rows = []
    for p in lower.columns:
        if p not in observed.columns:
            continue
        y = observed[p].to_numpy(float)
        lo, hi = lower[p].to_numpy(float), upper[p].to_numpy(float)
        rows.append(pd.DataFrame({"row": np.arange(len(y)), "property": p, "covered": (lo <= y) & (y <= hi),
                                  "width": hi - lo}))
    return pd.concat(rows, ignore_index=True)


def binomial_tolerance(coverage: float, n_test: int, n_cal: int | None = None, k: float = 3.0) -> float:
    """``k`` standard deviations of an empirical coverage on ``n_test`` samples: the binomial sd of the test
    count, plus (with ``n_cal``) the sd of the split-conformal coverage given the calibration set (a Beta law,
    Vovk 2012; variance about ``c (1 - c) / (n_cal + 2)``)."""
    var = coverage * (1 - coverage) / n_test
    if n_cal:
        var += coverage * (1 - coverage) / (n_cal + 2)
    return k * math.sqrt(var)


def clip_to_bounds(predicted: pd.DataFrame, targets) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(clipped, mask)``: ``predicted`` clipped to :func:`physical_bounds` and, per value, whether it was
    outside them (NaN stays NaN, unmarked)."""
    lo, hi = physical_bounds(targets)
    out, mask = predicted.copy(), pd.DataFrame(False, index=predicted.index, columns=predicted.columns)
    for j, p in enumerate(targets.properties_):
        if p not in predicted.columns:
            continue
        v = predicted[p].to_numpy(float)
        mask[p] = (v < lo[j]) | (v > hi[j])
        out[p] = np.clip(v, lo[j], hi[j])
    return out, mask


# ------------------------------------------------------------------------------------------ covariate shift
def weighted_quantiles(scores, w_cal, w_new, coverage: float = COVERAGE) -> np.ndarray:
    """Per new row (and column of ``scores``): the ``coverage`` quantile of the calibration ``scores`` with
    weights ``w_cal`` plus a point mass of weight ``w_new[i]`` at +inf (Tibshirani et al. 2019, Eq. 7): the
    smallest score ``s`` with ``sum(w_cal[scores <= s]) / (sum(w_cal) + w_new[i]) >= coverage``, inf if none.
    Equal weights give the plain split-conformal ``ceil((n + 1) coverage)``-th smallest score."""
    S = np.asarray(scores, np.float64)
    S = S[:, None] if S.ndim == 1 else S
    w_cal, w_new = np.asarray(w_cal, np.float64), np.atleast_1d(np.asarray(w_new, np.float64))
    out = np.empty((w_new.size, S.shape[1]))
    total = w_cal.sum() + w_new                                          # (n_new,)
    for j in range(S.shape[1]):
        order = np.argsort(S[:, j], kind="stable")
        cum = np.cumsum(w_cal[order])                                    # (n_cal,)
        # the first k with cum[k] >= coverage * total (a tolerance keeps equal-weight ranks exact)
        k = np.searchsorted(cum, coverage * total * (1 - 1e-12), side="left")
        s = np.append(S[order, j], np.inf)
        out[:, j] = s[k]
    return out


# ------------------------------------------------------------------------------------------ novelty and limits
@dataclass
class NoveltyReference:
    """Reconstruction errors of held-out spectra and the conformal limit at ``alpha``."""

    scores: np.ndarray
    alpha: float

    def __post_init__(self):
        self.scores = np.sort(np.asarray(self.scores, dtype=np.float64))
        if self.scores.ndim != 1 or self.scores.size < 1 or not np.isfinite(self.scores).all():
            raise ValueError("novelty reference: need finite reconstruction errors")

    @property
    def limit(self) -> float:
        """The ``ceil((n + 1)(1 - alpha))``-th smallest reference error (inf when the reference is too small)."""
        k = math.ceil((self.scores.size + 1) * (1 - self.alpha) - 1e-9)
        return float(self.scores[k - 1]) if k <= self.scores.size else math.inf

    def p_value(self, q) -> np.ndarray:
        """Conformal p-value of each error ``q``: ``(1 + #{reference >= q}) / (n + 1)``."""
        q = np.asarray(q, dtype=np.float64)
        n_ge = self.scores.size - np.searchsorted(self.scores, q, side="left")
        return (1.0 + n_ge) / (self.scores.size + 1.0)

    def flag(self, q) -> np.ndarray:
        return np.asarray(q, dtype=np.float64) > self.limit


def calibration_distance_limit(cal, alpha: float) -> float:
    """The conformal limit of the latent distances of a strategy's calibration samples (``cal.sigmas``): the
    ``ceil((n + 1)(1 - alpha))``-th smallest, inf when they are too few (or NaN without a latent space)."""
    if cal.sigmas is None or not np.isfinite(cal.sigmas).all():
        return np.nan
    return NoveltyReference(cal.sigmas, alpha).limit


def shift_distance_limit(det) -> float:
    """The value of the robust Mahalanobis distance ``d`` (predict's ``shift_distance``) above which the
    :class:`~soilnb.stats.shift.ShiftDetector` ``det`` flags a row. The detector compares ``Fd * d / d0`` (or
    ``Fd * d**2 / d0`` with ``squared``) with the Pomerantsev limit, so this is ``limit * d0 / Fd`` (its square
    root with ``squared``)."""
    t = det.limit_ * det.d0_ / det.Fd_
    return float(np.sqrt(t) if det.squared else t)
