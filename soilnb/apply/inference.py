"""Predictions from a bundle: spectra in (files, a ReadResult or a SpectralLibrary), one row per spectrum out.

The path of a spectrum: its library is put on the bundle's grid of its range with
:meth:`SpectralLibrary.on_grid <soilnb.data.library.SpectralLibrary.on_grid>` (resampled only where the input
covers the grid within 5 units, never extrapolated; otherwise the gap is named), preprocessed as the training
spectra were (:func:`soilnb.data.prepare.preprocess_library`: NIR trimmed, reflectance -> log10(1/R), SNV), then
each requested strategy predicts (:func:`predict_arrays`; values clipped to their physical bounds, as the
intervals are), with a conformal interval per property (:class:`soilnb.apply.intervals.Calibration`; weighted
split conformal on request), the latent shift flag (robust Mahalanobis distance, Pomerantsev limit), the
reconstruction novelty flag, and whether the calibration data support the row's intervals
(:func:`interval_support`). This module works on any object with the attributes of
:class:`soilnb.apply.bundle.Bundle`; its VAE and NIR encoder are NumPy models (:mod:`soilnb.apply.encoders`, the
``soilnb`` command's: no torch import) or torch modules (:mod:`soilnb.apply.torch_encoders`) with one interface.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.apply.intervals import COVERAGE, clip_to_bounds
from soilnb.apply.support import (SUPPORT_RULE, batch_marks, flag_limits, interval_support,  # noqa: F401
                                  support_alpha, unsupported_rules)
from soilnb.data.library import SpectralLibrary
from soilnb.data.prepare import preprocess_library
from soilnb.data.readers import ReadResult, read_spectra
from soilnb.spectra.coverage import coverage_gap, in_unit
from soilnb.spectra.quality import spectrum_quality

#: The range a unit belongs to, and the unit of each range's grid.
RANGE_OF_UNIT = {"cm-1": "MIR", "nm": "NIR"}
#: The preprocessing :func:`prepare` applies (``soilnb.data.prepare.preprocess_library``), recorded in every
#: bundle; a bundle that records other steps is refused on loading (its models expect other inputs).
PREPROCESSING = {"grid": "linear resampling onto the bundle's grid, input covering it within 5 units, never "
                         "extrapolated",
                 "NIR": "trimmed to 1400-2500 nm; reflectance as log10(1/R); SNV per spectrum",
                 "MIR": "reflectance as log10(1/R); SNV per spectrum",
                 "samples": "the scans of one sample id in one file averaged before preprocessing"}
GRID_UNITS = {"MIR": "cm-1", "NIR": "nm"}
#: Per strategy: its range, the features its head reads ("spectra", "latent" or "converted") and its head.
STRATEGY_INPUTS = {"MIR-PLSR": ("MIR", "spectra", "MIR-PLSR"), "MIR-MLP": ("MIR", "spectra", "MIR-MLP"),
                   "MIR-SSL-MLP": ("MIR", "latent", "MIR-SSL-MLP"), "NIR-PLSR": ("NIR", "spectra", "NIR-PLSR"),
                   "NIR-MLP": ("NIR", "spectra", "NIR-MLP"), "NIRtoMIR-MLP": ("NIR", "converted", "MIR-MLP"),
                   "NIRtoMIR-SSL-MLP": ("NIR", "latent", "MIR-SSL-MLP")}
FLAG_COLUMNS = ("shift_distance", "shift_flag", "recon_error", "novelty_p", "novelty_flag")


class NotPredictedWarning(UserWarning):
    """Inputs :func:`predict_spectra` could not predict (also in the result's ``attrs["problems"]``, which the
    ``soilnb`` command says instead)."""


def reconstruction_error(b, rng: str, X) -> np.ndarray:
    """Mean squared reconstruction error per spectrum (SNV units squared): the VAE's ``decode(embed(x))`` for
    MIR, the NIR encoder's auxiliary NIR decoder for NIR; NaN when the bundle has no such model."""
    X = np.asarray(X, dtype=np.float32)
    model = {"MIR": b.vae, "NIR": b.n2m}.get(rng)
    if model is None:
        return np.full(len(X), np.nan)
    return np.mean((model.reconstruct(X).astype(np.float64) - X) ** 2, axis=1)


def latent(b, rng: str, X) -> np.ndarray | None:
    """The latent embedding of spectra of range ``rng`` (VAE for MIR, NIR encoder for NIR), None without one."""
    model = b.vae if rng == "MIR" else b.n2m
    return None if model is None else model.latent(X)


class _Features:
    """The inputs the heads of one range read, computed once each: spectra, latent embedding, converted MIR."""

    def __init__(self, b, rng, X):
        self.b, self.rng, self.X, self._cache = b, rng, np.asarray(X, dtype=np.float32), {}

    def __getitem__(self, kind):
        if kind not in self._cache:
            if kind == "spectra":
                self._cache[kind] = self.X
            elif kind == "latent":
                self._cache[kind] = latent(self.b, self.rng, self.X)
            elif kind == "converted":
                self._cache[kind] = self.b.n2m.convert(self.X)
            else:
                raise ValueError(f"unknown feature kind {kind!r}")
        return self._cache[kind]


def flags(b, rng: str, X, features: _Features | None = None) -> pd.DataFrame:
    """Per spectrum: the latent robust Mahalanobis distance and its Pomerantsev flag, the reconstruction error,
    its conformal p-value and novelty flag (NaN / False where the bundle has no model for it)."""
    feats = features or _Features(b, rng, X)
    n = len(feats.X)
    out = pd.DataFrame({c: np.full(n, np.nan) for c in FLAG_COLUMNS})
    out["shift_flag"] = False
    out["novelty_flag"] = False
    det = b.shift.get(rng)
    if det is not None:
        z = feats["latent"]
        out["shift_distance"] = det.mahalanobis_.distance(z)
        out["shift_flag"] = det.predict(z)
    ref = b.novelty.get(rng)
    if ref is not None:
        q = reconstruction_error(b, rng, feats.X)
        out["recon_error"] = q
        out["novelty_p"] = ref.p_value(q)
        out["novelty_flag"] = ref.flag(q)
    return out


def strategies_for(b, rng: str, strategy=None) -> list[str]:
    """The strategies to run on ``rng`` input: ``None`` the bundle's default for the range, ``"all"`` every
    strategy of the range, or a name / list of names (each must read ``rng`` input)."""
    own = [s for s, (r, _, _) in b.strategies.items() if r == rng]
    if strategy is None:
        return [b.default_strategy[rng]]
    if strategy == "all":
        return own
    names = [strategy] if isinstance(strategy, str) else list(strategy)
    wrong = [s for s in names if s not in own]
    if wrong:
        raise ValueError(f"strategy {wrong} cannot predict {rng} input with this bundle (its {rng} strategies: {own})")
    return names


def predict_arrays(b, rng: str, X, strategies, coverage: float = COVERAGE, normalized: bool = False,
                   weighted: bool = False, features=None):
    """Predictions of preprocessed spectra ``X`` (on the bundle's ``rng`` grid, SNV): ``(per_strategy, flags)``
    with ``per_strategy[s] = (predicted, lower, upper)`` DataFrames of the properties (original units).

    Predicted values are clipped to the physical bounds of their property (as their intervals are, so a value
    never lies outside its own interval); ``predicted.attrs["clipped"]`` marks, per value, those that were
    outside them. ``weighted``: weighted split-conformal intervals, the rows of ``X`` being the new batch whose
    density ratio against the calibration samples a domain classifier estimates (:func:`weights_for`)."""
    if normalized and weighted:
        raise ValueError("intervals are either normalized or weighted, not both")
    feats = features if features is not None else _Features(b, rng, X)
    fl = flags(b, rng, X, feats)
    out = {}
    for s in strategies:
        r, kind, head = b.strategies[s]
        if r != rng:
            raise ValueError(f"strategy {s} reads {r} spectra, not {rng}")
        pred, clipped = clip_to_bounds(b.heads[head].predict(feats[kind]), b.heads[head].targets)
        sig = fl["shift_distance"].to_numpy() if normalized else None
        if weighted:
            lower, upper = b.calibration[s].intervals(pred, coverage, weights=weights_for(b, s, feats["latent"]))
        else:
            lower, upper = b.calibration[s].intervals(pred, coverage, sigmas=sig)
        pred.attrs["clipped"] = clipped
        out[s] = (pred, lower, upper)
    return out, fl


def weights_for(b, strategy: str, z) -> tuple:
    """``(w_cal, w_new)``: density ratios of the new batch (latent embeddings ``z``) against the calibration
    samples of ``strategy`` (:func:`soilnb.apply.domain.shift_weights`)."""
    cal = b.calibration[strategy]
    if cal.latent is None or z is None:
        raise ValueError("weighted intervals need the calibration samples' latent embeddings: this bundle has "
                         "none (no latent space, or written by an older soilnb: rebuild it)")
    # scikit-learn only for weighted intervals (the predict path's import-linter contract ignores this one edge)
    from soilnb.apply.domain import shift_weights  # noqa: PLC0415

    return shift_weights(cal.latent, z)


# ------------------------------------------------------------------------------------------ spectra in
def _libraries(spectra, problems: list):
    """``[(library, label)]`` from paths, a ReadResult or a SpectralLibrary; reading problems appended."""
    if isinstance(spectra, SpectralLibrary):
        return [(spectra, spectra.name or "library")]
    if isinstance(spectra, (str, Path)) or (isinstance(spectra, (list, tuple)) and spectra
                                            and all(isinstance(s, (str, Path)) for s in spectra)):
        spectra = read_spectra(spectra, progress=False)
    if isinstance(spectra, ReadResult):
        problems += [f"{p.file}: {p.message}" + (f" (row {p.row})" if p.row else "") for p in spectra.problems]
        return [(lib, _files_of(lib)) for lib in spectra.libraries.values()]
    raise TypeError(f"predict takes file paths, a folder, a ReadResult or a SpectralLibrary, not {type(spectra).__name__}")


def _files_of(lib: SpectralLibrary) -> str:
    files = lib.meta.get("source_file")
    if files is None:
        return lib.name or "library"
    names = list(dict.fromkeys(str(f) for f in files))
    return ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")


def _quality(lib: SpectralLibrary) -> tuple[np.ndarray, np.ndarray]:
    if "quality" in lib.meta and "quality_ok" in lib.meta:
        return np.asarray(lib.meta["quality"], dtype=object), np.asarray(lib.meta["quality_ok"], dtype=bool)
    q = spectrum_quality(lib.X, lib.quantity, axis=lib.axis, unit=lib.unit)
    return q["reason"].to_numpy(dtype=object), q["ok"].to_numpy(dtype=bool)


def prepare(b, lib: SpectralLibrary) -> tuple[str, np.ndarray]:
    """``(range, X)``: ``lib`` on the bundle's grid of the range its axis covers, preprocessed as in training.

    The range is the one whose grid the input covers (within the 5-unit tolerance, in the grid's unit, so NIR
    given in cm-1 is NIR); input that covers none is refused with the gap to the grid of its own unit's range
    named (a ValueError), never extrapolated.
    """
    for rng, grid in b.grids.items():
        if not coverage_gap(in_unit(lib.axis, lib.unit, GRID_UNITS[rng]), grid):
            break
    else:
        rng = RANGE_OF_UNIT[lib.unit]
        if rng not in b.grids:
            raise ValueError(f"{lib.axis[0]:g}-{lib.axis[-1]:g} {lib.unit}: this bundle has no {rng} model and the "
                             f"spectra cover none of its grids ({_grids_text(b)})")
    X, _ = preprocess_library(lib.on_grid(b.grids[rng], unit=GRID_UNITS[rng]))
    return rng, X


def _grids_text(b) -> str:
    return ", ".join(f"{r} {g[0]:g}-{g[-1]:g} {GRID_UNITS[r]}" for r, g in b.grids.items()) or "none"


def source_files(lib: SpectralLibrary) -> np.ndarray:
    """The file of each spectrum as text (the library's name where none is recorded): with the sample id, the
    key of a sample (:func:`per_sample`; :func:`soilnb.apply.evaluate.observed_per_sample`)."""
    return np.asarray(lib.meta.get("source_file", np.full(lib.n_scans, lib.name or "")), dtype=object).astype(str)


def per_sample(lib: SpectralLibrary, average: bool = True) -> tuple[SpectralLibrary, pd.DataFrame]:
    """``(library, rows)``: one spectrum per sample of each file (the mean of a sample's scans in that file, as
    the training spectra were averaged) and per sample its ``file``, ``row`` (of its first scan), ``n_spectra``,
    ``quality`` (every scan's reasons, named once) and ``quality_ok`` (every scan fine). The same id in two files is
    two samples (two rows), never averaged together. ``average=False``: every spectrum as it is."""
    quality, ok = _quality(lib)
    files = source_files(lib)
    rows = pd.DataFrame({"sample_id": lib.sample_id, "file": files,
                         "row": lib.meta.get("source_row", np.arange(1, lib.n_scans + 1)), "n_spectra": 1,
                         "quality": quality, "quality_ok": ok})
    key = np.asarray([f"{f}\x1f{i}" for f, i in zip(files, lib.sample_id)])
    if not average or len(np.unique(key)) == lib.n_scans:
        return lib, rows
    rows["key"] = key
    joined = rows.groupby("key", sort=False).agg(
        sample_id=("sample_id", "first"), file=("file", "first"), row=("row", "first"),
        n_spectra=("n_spectra", "size"), quality_ok=("quality_ok", "all"),
        quality=("quality", lambda q: "; ".join(dict.fromkeys(r for r in q if r))))
    avg = replace(lib, sample_id=key).average_scans()              # grouped by (file, sample id)
    joined = joined.reindex(avg.sample_id)
    avg = replace(avg, sample_id=joined["sample_id"].to_numpy())
    return avg, joined.reset_index(drop=True)


def predict_spectra(b, spectra, *, coverage: float = COVERAGE, strategy=None, normalized: bool = False,
                    convert_mir: bool = False, average_scans: bool = True, weighted: bool = False) -> pd.DataFrame:
    """Predict ``spectra`` (see :meth:`soilnb.apply.bundle.Bundle.predict`)."""
    problems: list[str] = []
    parts, latents = [], {}
    n_clipped = 0
    for lib, label in _libraries(spectra, problems):
        lib, info = per_sample(lib, average_scans)
        try:
            rng, X = prepare(b, lib)
            names = strategies_for(b, rng, strategy)
            feats = _Features(b, rng, X)
            per, fl = predict_arrays(b, rng, X, names, coverage, normalized, weighted, features=feats)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        latents.setdefault(rng, []).append(feats["latent"])
        quality, ok = info["quality"].to_numpy(), info["quality_ok"].to_numpy()
        base = info[["sample_id", "file", "row", "n_spectra"]].assign(range=rng)
        for s in names:
            pred, lower, upper = per[s]
            cols = {"strategy": s}
            for p in pred.columns:
                cols[p], cols[f"{p}_lower"], cols[f"{p}_upper"] = pred[p].to_numpy(), lower[p].to_numpy(), \
                    upper[p].to_numpy()
            mask = pred.attrs["clipped"]
            cols["clipped"] = [";".join(p for p, c in zip(mask.columns, r) if c) for r in mask.to_numpy(bool)]
            n_clipped += int(mask.to_numpy(bool).sum())
            frame = pd.concat([base, pd.DataFrame(cols), fl], axis=1)
            frame["quality"], frame["quality_ok"] = quality, ok
            if convert_mir and rng == "NIR" and b.n2m is not None:
                mir = feats["converted"]
                frame = pd.concat([frame, pd.DataFrame(mir, columns=[f"mir_{w:g}" for w in b.grids["MIR"]])],
                                  axis=1)
            parts.append((rng, s, frame, fl, mask))
    # the batch: every spectrum of a range predicted in this call (one spectrum per file is the common case)
    batch = {(r, s): batch_marks(b, s, None if any(z is None for z in zs) else np.vstack(zs))
             for r, zs in latents.items() for s in {s for r2, s, *_ in parts if r2 == r}}
    frames = []
    for rng, s, frame, fl, mask in parts:
        frame["interval_supported"], frame["interval_note"] = interval_support(b, rng, s, fl, mask,
                                                                                batch[rng, s])
        frames.append(frame)
    if not frames:
        raise ValueError("nothing predicted: " + ("; ".join(problems) if problems else "no spectra given"))
    if problems:
        warnings.warn("not predicted: " + "; ".join(problems), NotPredictedWarning, stacklevel=3)
    out = pd.concat(frames, ignore_index=True)
    out["bundle_id"] = b.info.get("bundle_id") or ""     # sha256 of the bundle's manifest ("" before it is saved)
    out.attrs.update(bundle_id=out["bundle_id"].iat[0], coverage=coverage, normalized=normalized, weighted=weighted,
                     problems=problems, n_clipped=n_clipped,
                     n_unsupported=int((~out["interval_supported"]).sum()))
    return out
