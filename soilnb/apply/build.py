"""Build a run's bundle from its cached stages: final regressors, calibration, shift and novelty references.

**Calibration scheme (split conformal, every calibration sample unseen by the regressor it calibrates).**

* MIR strategies (MIR-PLSR, MIR-MLP, MIR-SSL-MLP): the KSSL samples are split by sample id
  (:func:`calibration_split`, :data:`CAL_FRACTION` = 20 %); the bundle's MIR regressors are *refit* on the other
  80 % with the run's settings and seeds (cached, :func:`mir_regressors`), and calibrated on the held-out 20 %.
  (The regressors of notebook 04 trained on all KSSL samples, so none of their samples could calibrate them.)
* NIR strategies: the Paired validation split (the grouped 20 % of :attr:`Features.paired_split`). NIR-PLSR and
  NIR-MLP (notebook 04's, trained on the Paired training split) never saw it; the NIRtoMIR strategies read the
  NIR encoder (trained on the Paired training split, early-stopped on this validation split: a mild use, said
  here) and the refit MIR heads (trained on KSSL only).

**Shift reference** (per range, the paper's Eqs. 15-19, as notebook 05): MIR, the robust Mahalanobis distance of
the VAE embedding from the embeddings of all KSSL regression samples; NIR, from the NIR encoder's embeddings of
the Paired training split (the population the NIR route learned; against the KSSL embeddings every NIR sample of
the simulated world is beyond the limit, notebook 05, which would make the flag say nothing).

**Novelty reference** (per range): reconstruction errors of spectra the model did not train on: the VAE's own
validation scans (its grouped split) for MIR, the Paired validation NIR through the NIR encoder and its auxiliary
NIR decoder for NIR; the limit is conformal (:class:`~soilnb.apply.intervals.NoveltyReference`).

**Default strategy per range**: the one with the narrowest 90 % intervals on its calibration samples (mean
over properties of the interval half-width on the modelled scale divided by the calibration values' standard
deviation): chosen on held-out data only.
"""
from __future__ import annotations

import contextlib
import hashlib
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from soilnb import __version__
from soilnb.apply.bundle import Bundle
from soilnb.apply.regressor_heads import head_from_regressor
from soilnb.apply.torch_encoders import torch_model
from soilnb.apply.inference import PREPROCESSING, STRATEGY_INPUTS, latent, predict_arrays, reconstruction_error
from soilnb.apply.intervals import COVERAGE, Calibration, NoveltyReference
from soilnb.core.cache import cached, code_hash
from soilnb.core.config import Config
from soilnb.core.vocab import EXTRA_UNITS, STRATEGIES, UNITS
from soilnb.data.library import group_sums
from soilnb.models.inference import embed
from soilnb.models.torchutil import torch_threads
from soilnb.spectra.scatter import snv
from soilnb.stages.features import Features, world_of
from soilnb.stages.strategies import REGRESSORS, fit_regressors
from soilnb.stages.training import REG_CODE, vae_params
from soilnb.stats.shift import ShiftDetector
from soilnb.stats.splits import grouped_split

#: Share of the KSSL samples held out to calibrate the MIR strategies.
CAL_FRACTION = 0.2
#: Added to the run's seed for the calibration split (so it is not the same permutation as other splits).
CAL_SEED_OFFSET = 101
#: The MIR heads and how notebook 04 fits them (kind, seed offset, input).
MIR_HEADS = {h: REGRESSORS[h] for h in ("MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP")}
#: The code the refit's cache key holds.
APPLY_CODE = REG_CODE + ("apply.build",)


def bundle_dir(cfg: Config):
    """Where a run writes its bundle: ``bundle/`` in the run's figures folder (``figures/bundle`` for the
    default profile, ``figures/<profile>/bundle`` for the others), beside the tables it reports."""
    return cfg.figures_dir / "bundle"


def calibration_split(cfg: Config, F: Features) -> tuple[np.ndarray, np.ndarray]:
    """``(proper, calibration)`` rows of ``F.kssl``: a grouped split, :data:`CAL_FRACTION` of the samples held out."""
    return grouped_split(F.kssl_id, val_fraction=CAL_FRACTION, seed=cfg.seed + CAL_SEED_OFFSET)


def mir_regressors(cfg: Config, F: Features, vae, heads, texture: str = "ilr") -> dict:
    """The MIR heads refit on the proper-training part of :func:`calibration_split`, as notebook 04 fits them
    (same settings, seeds and target transforms), cached."""
    heads = tuple(h for h in MIR_HEADS if h in heads)
    if not heads:
        return {}
    # the VAE's key first: its own "code" entry must not replace this step's
    params = {**(vae_params(cfg, vae.cfg.latent_dim, F) if vae is not None else {}), **cfg.keys("regress"),
              "world": world_of(cfg, F), "heads": heads, "texture": texture, "cal_fraction": CAL_FRACTION,
              "cal_seed": cfg.seed + CAL_SEED_OFFSET, "code": code_hash(*APPLY_CODE)}

    def compute():
        proper, _ = calibration_split(cfg, F)
        X, Y, g = F.kssl[proper], F.kssl_Y.iloc[proper].reset_index(drop=True), F.kssl_id[proper]
        with one_torch_thread():         # each fit on one thread, as ever (here in turn, or in a worker)
            jobs = {}
            for h in heads:
                kind, offset, feats = MIR_HEADS[h]
                jobs[h] = (kind, embed(vae, X) if feats == "latent" else X, Y, g, offset)
            return fit_regressors(jobs, cfg, texture)

    return cached("bundle_regressors", params, compute)


def _sample_means(X, ids) -> np.ndarray:
    """SNV of the mean of each sample's (SNV) scans: the averaged spectrum a prediction sees, up to the SNV order."""
    _, inverse = np.unique(ids, return_inverse=True)
    counts = np.bincount(inverse)
    return snv(group_sums(X, inverse, counts.size) / counts[:, None], dtype=np.float32)


@contextlib.contextmanager
def one_torch_thread():
    """Run a block with one torch thread and one BLAS thread (restoring the caller's settings). The small
    networks and PLS fits here run 5-20 times faster so on a shared 2-core machine (MIR-SSL-MLP on 3,000
    default-profile samples: 5 s instead of 103 s, two threads spinning at every small operation), and the refit
    does not depend on the machine's thread count."""
    with torch_threads(1), threadpool_limits(1):
        yield


def ran_strategies(res, vae, n2m) -> list[str]:
    """The strategies of the run that a bundle can hold (their regressors and models exist)."""
    out = []
    for s in STRATEGIES:
        _, feats, head = STRATEGY_INPUTS[s]
        if s in res.skipped or head not in res.models or (s.startswith("NIRtoMIR") and n2m is None) or \
                (feats == "latent" and vae is None):
            continue
        out.append(s)
    return out


def fingerprint(F: Features) -> dict:
    """sha256 of the training arrays (spectra, properties, sample ids) and their sizes."""
    h = hashlib.sha256()
    sizes = {}
    for name in ("kssl", "kssl_Y", "kssl_id", "paired_nir", "paired_mir", "paired_Y", "paired_id"):
        v = getattr(F, name)
        if v is None:
            continue
        a = v.to_numpy() if isinstance(v, pd.DataFrame) else np.asarray(v)
        h.update(name.encode())
        h.update(np.ascontiguousarray(a.astype(str) if a.dtype.kind in "OUS" else a).tobytes())
        if name in ("kssl", "paired_nir"):
            sizes[name] = int(len(a))
    return {"sha256": h.hexdigest(), "samples": sizes}


def _default_strategy(calib: dict, strategies, rng: str, coverage: float = COVERAGE) -> str:
    """The strategy of ``rng`` with the narrowest calibrated intervals relative to the spread of the values."""
    scores = {}
    for s in strategies:
        if STRATEGY_INPUTS[s][0] != rng:
            continue
        r = np.abs(calib[s].residuals)
        k = min(int(np.ceil((len(r) + 1) * coverage)), len(r)) - 1
        scores[s] = float(np.mean(np.sort(r, axis=0)[k] / np.maximum(calib[s].spread, 1e-12)))
    return min(scores, key=scores.get)


def build_bundle(cfg: Config, F: Features, vae, n2m, res, vae_history: dict | None = None,
                 texture: str = "ilr") -> Bundle:
    """The run's :class:`~soilnb.apply.bundle.Bundle` from its stages (see the module docstring).

    ``F``: :func:`soilnb.stages.get_features`; ``vae``, ``vae_history``: :func:`soilnb.stages.get_vae` (None in a
    NIR-only world); ``n2m``: :func:`soilnb.stages.get_nir_to_mir` (None without a Paired set); ``res``:
    :func:`soilnb.stages.get_regressions`. Only the MIR regressors are refit (cached); the rest is fast.
    """
    with one_torch_thread():
        return _build(cfg, F, vae, n2m, res, vae_history, texture)


def _build(cfg, F, vae, n2m, res, vae_history, texture) -> Bundle:
    strategies = ran_strategies(res, vae, n2m)
    if not strategies:
        raise ValueError("no strategy of this run can be bundled (res.models is empty)")
    heads_needed = {STRATEGY_INPUTS[s][2] for s in strategies}
    regs = {h: res.models[h] for h in heads_needed if h not in MIR_HEADS}
    regs.update(mir_regressors(cfg, F, vae, heads_needed, texture))
    grids = {}
    if any(STRATEGY_INPUTS[s][0] == "MIR" for s in strategies) or vae is not None:
        grids["MIR"] = np.asarray(F.mir_axis, np.float64)
    if any(STRATEGY_INPUTS[s][0] == "NIR" for s in strategies):
        grids["NIR"] = np.asarray(F.nir_axis, np.float64)
    b = Bundle(info={}, grids=grids, strategies={s: STRATEGY_INPUTS[s] for s in strategies}, default_strategy={},
               heads={h: head_from_regressor(r) for h, r in regs.items()}, calibration={},
               vae=torch_model(vae), n2m=torch_model(n2m))
    # shift and novelty references
    if vae is not None and F.kssl is not None:
        b.shift["MIR"] = ShiftDetector(alpha=cfg.alpha).fit(embed(vae, F.kssl))
        rows = np.asarray(vae_history["val_idx"], dtype=np.int64) if vae_history and "val_idx" in vae_history \
            else grouped_split(F.kssl_scans_id, 0.2, cfg.seed)[1]
        # predictions average a sample's scans, so the reference is the VAE's validation samples averaged likewise
        # (single scans reconstruct worse: a limit from them would flag averaged spectra too rarely)
        b.novelty["MIR"] = NoveltyReference(reconstruction_error(b, "MIR", _sample_means(F.kssl_scans[rows],
                                                                                        F.kssl_scans_id[rows])),
                                            cfg.alpha)
    if n2m is not None and F.paired_split is not None:
        tr, va = F.paired_split
        b.shift["NIR"] = ShiftDetector(alpha=cfg.alpha).fit(latent(b, "NIR", F.paired_nir[tr]))
        b.novelty["NIR"] = NoveltyReference(reconstruction_error(b, "NIR", F.paired_nir[va]), cfg.alpha)
    # calibration on held-out samples, through the same code path as predictions of new spectra
    sets = {}
    if any(STRATEGY_INPUTS[s][0] == "MIR" for s in strategies):
        _, cal = calibration_split(cfg, F)
        sets["MIR"] = (F.kssl[cal], F.kssl_Y.iloc[cal].reset_index(drop=True), f"KSSL calibration split ({len(cal)})")
    if any(STRATEGY_INPUTS[s][0] == "NIR" for s in strategies):
        va = F.paired_split[1]
        sets["NIR"] = (F.paired_nir[va], F.paired_Y.iloc[va].reset_index(drop=True),
                       f"Paired validation split ({len(va)})")
    cal_sets = {}
    for rng, (X, Y, label) in sets.items():
        own = [s for s in strategies if STRATEGY_INPUTS[s][0] == rng]
        per, fl = predict_arrays(_Uncalibrated(b), rng, X, own)
        sig = fl["shift_distance"].to_numpy() if rng in b.shift else None
        z = latent(b, rng, X)                    # for weighted intervals (density ratios against new batches)
        for s in own:
            b.calibration[s] = Calibration.fit(Y, per[s][0], b.heads[STRATEGY_INPUTS[s][2]].targets, sigmas=sig,
                                               latent=z)
            cal_sets[s] = label
        b.default_strategy[rng] = _default_strategy(b.calibration, own, rng)
    props = list(F.properties)
    b.info = {"soilnb_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "profile": cfg.profile, "source": cfg.source, "seed": cfg.seed, "properties": props,
              "preprocessing": PREPROCESSING,
              "units": {p: UNITS.get(p, EXTRA_UNITS.get(p, "?")) for p in props},
              "fingerprint": {**fingerprint(F), "world_key": world_of(cfg, F)},
              "training": _training_ranges(F, props), "calibration_sets": cal_sets,
              "calibration_scheme": "split conformal on held-out samples (soilnb.apply.build)",
              "config": cfg.as_dict()}
    return b


def _training_ranges(F: Features, props) -> dict:
    """Per training library: samples and the range of each property (what the bundle has seen)."""
    out = {}
    for name, Y in (("KSSL (MIR)", F.kssl_Y), ("Paired (NIR)", F.paired_Y)):
        if Y is not None:
            out[name] = f"{len(Y)} samples; " + ", ".join(f"{p} {Y[p].min():.3g}-{Y[p].max():.3g}" for p in props)
    return out


class _Uncalibrated:
    """A bundle seen without intervals (for computing the calibration residuals themselves)."""

    def __init__(self, b: Bundle):
        self._b = b
        self.calibration = {s: _NoIntervals() for s in b.strategies}

    def __getattr__(self, name):
        return getattr(self._b, name)


class _NoIntervals:
    def intervals(self, pred, coverage, sigmas=None):
        return pred, pred
