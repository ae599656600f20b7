"""The model bundle: everything a run learned that predicting new spectra needs, in one folder, without pickle.

Layout of a bundle folder (``Bundle.save``)::

    manifest.json            format name and version, soilnb version, creation time, and the sha256 and size of
                             every other file
    bundle.json              properties and units, grids' units, preprocessing, strategies (range, features, head),
                             default strategy per range, each head's kind and target transform, the VAE and NIR
                             encoder configurations, shift and novelty limits, calibration sizes and scheme, the
                             training data's fingerprint and the run's configuration
    arrays.npz               grids, target transform means/scales, shift references (median, IQR, covariance,
                             precision), novelty reference errors, calibration residuals and difficulties
                             (read with ``allow_pickle=False``)
    heads.safetensors        the regressors: PLS coefficients, MLP weights and standardisation
    vae.safetensors          the MIR VAE (encoder and decoder), when the run has one
    nir_to_mir.safetensors   the NIR encoder with its frozen MIR decoder, when the run has one

Loading (:func:`load_bundle`) runs no code from the folder: JSON, NumPy arrays without pickle and safetensors.
It checks the format version and the soilnb version (same major version, and same minor version before 1.0)
and every file's sha256 against the manifest before reading anything else; any failure is a
:class:`BundleError` naming the file.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import safetensors
import safetensors.numpy

from soilnb import __version__
from soilnb.apply.bundle_check import check_consistency
from soilnb.apply.bundle_io import finite, fsync_dir, fsync_folder, lock_of, no_constant, swap_in
from soilnb.apply.describe import describe
from soilnb.apply.encoders import numpy_encoder
from soilnb.apply.heads import BundleError, head_from_arrays, targets_from_state, targets_state
from soilnb.apply.inference import GRID_UNITS, PREPROCESSING, predict_spectra
from soilnb.apply.intervals import COVERAGE, Calibration, NoveltyReference, shift_distance_limit
from soilnb.apply.support import flag_limits
from soilnb.core.cache import exclusive, file_sha256, json_default
from soilnb.stats.fitted import FittedMahalanobis, FittedShift

_UMASK = os.umask(0)
os.umask(_UMASK)
FORMAT = "soilnb-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED = ("bundle.json", "arrays.npz", "heads.safetensors")


@dataclass
class Bundle:
    """A fitted run, ready to predict (see the module docstring for what it holds and how it is stored).

    ``strategies[name] = (range, features, head)``; ``heads[head]`` a :class:`~soilnb.apply.heads.PLSHead` or
    :class:`~soilnb.apply.heads.MLPHead`; ``calibration[name]`` a :class:`~soilnb.apply.intervals.Calibration`;
    ``shift[range]`` a fitted :class:`~soilnb.stats.shift.ShiftDetector` (a
    :class:`~soilnb.stats.fitted.FittedShift` once loaded); ``novelty[range]`` a
    :class:`~soilnb.apply.intervals.NoveltyReference`; ``vae`` / ``n2m`` the MIR VAE and the NIR encoder (or None):
    torch modules behind :class:`~soilnb.apply.torch_encoders.TorchModel`, or their NumPy evaluation
    (:mod:`soilnb.apply.encoders`) in a bundle loaded with ``engine="numpy"``.
    """

    info: dict
    grids: dict
    strategies: dict
    default_strategy: dict
    heads: dict
    calibration: dict
    shift: dict = field(default_factory=dict)
    novelty: dict = field(default_factory=dict)
    vae: object | None = None
    n2m: object | None = None

    @property
    def properties(self) -> list:
        return list(self.info["properties"])

    @property
    def ranges(self) -> tuple:
        return tuple(self.grids)

    def shift_limit(self, rng: str) -> float:
        """The shift limit of range ``rng`` on the scale of predict's ``shift_distance`` column: ``shift_flag`` is
        raised where ``shift_distance`` exceeds it (:func:`~soilnb.apply.intervals.shift_distance_limit`)."""
        return shift_distance_limit(self.shift[rng])

    def limits(self) -> dict:
        """The flags' limits per range on the scales of predict's columns (``soilnb info`` reports them;
        :func:`~soilnb.apply.support.flag_limits`)."""
        return flag_limits(self)

    def predict(self, spectra, *, coverage: float = COVERAGE, strategy=None, normalized: bool = False,
                convert_mir: bool = False, average_scans: bool = True, weighted: bool = False) -> pd.DataFrame:
        """Predict soil properties of ``spectra``: one row per sample (and strategy).

        Parameters
        ----------
        spectra : path, folder, list of paths, ReadResult or SpectralLibrary
            Anything :func:`soilnb.data.read_spectra` reads, MIR or NIR (each library is resampled onto the grid
            of the range it covers; input that does not cover it is refused with the gap named).
        coverage : float
            Nominal coverage of the conformal intervals (default 0.9).
        strategy : None, "all", str or list
            None: the bundle's default strategy per range (``default_strategy``); "all": every strategy that
            reads the input's range; or names.
        normalized : bool
            Intervals scaled by the latent Mahalanobis distance (wider far from the training data).
        weighted : bool
            Weighted split-conformal intervals (Tibshirani et al. 2019): the calibration residuals weighted by the
            density ratio of each library's spectra (the batch) against the calibration samples, from a domain
            classifier on the latent embeddings; wider where the batch differs from the calibration data (up to
            the physical bounds). Meaningful for batches of tens of spectra or more; not with ``normalized``.
        convert_mir : bool
            For NIR input, add the converted MIR spectrum (SNV) as columns ``mir_<cm-1>``.
        average_scans : bool
            Average the spectra of one sample id (scan repeats in a library) before predicting, as the training
            spectra were averaged (``n_spectra`` says how many); False predicts every spectrum.

        Returns
        -------
        DataFrame
            ``sample_id``, ``file``, ``row``, ``n_spectra``, ``range``, ``strategy``; per property ``P``, ``P_lower``,
            ``P_upper``; ``shift_distance``, ``shift_flag`` (Pomerantsev limit), ``recon_error``, ``novelty_p``,
            ``novelty_flag``; ``quality``, ``quality_ok`` (the reading checks of every spectrum of the sample);
            ``clipped`` (the properties whose predicted value lay outside its physical bounds and was clipped to
            them, ";"-separated, "" for none); ``interval_supported`` and ``interval_note`` (whether the
            calibration data support the row's intervals, and why not:
            :func:`soilnb.apply.support.interval_support`); ``bundle_id`` (sha256 of the bundle's manifest.json,
            which names every file of the bundle by its hash: the model that made the row). ``attrs["problems"]`` names what could not be
            predicted (a ValueError when nothing could); ``attrs["n_clipped"]`` counts the clipped values,
            ``attrs["n_unsupported"]`` the unsupported rows.
        """
        return predict_spectra(self, spectra, coverage=coverage, strategy=strategy, normalized=normalized,
                               convert_mir=convert_mir, average_scans=average_scans, weighted=weighted)

    # ------------------------------------------------------------------------------------------ writing
    def to_json(self) -> tuple[dict, dict, dict]:
        """``(bundle_json, arrays, head_tensors)``: the bundle as JSON, NumPy arrays and head tensors."""
        arrays = {f"grid/{r}": np.asarray(g, np.float64) for r, g in self.grids.items()}
        tensors, heads = {}, {}
        for name, h in self.heads.items():
            t_json, t_arrays = targets_state(h.targets)
            heads[name] = {**h.spec(), "targets": t_json}
            arrays.update({f"targets/{name}/{k}": v for k, v in t_arrays.items()})
            tensors.update({f"{name}/{k}": np.ascontiguousarray(v) for k, v in h.arrays().items()})
        calib = {}
        for s, c in self.calibration.items():
            calib[s] = c.spec()
            arrays.update({f"calibration/{s}/{k}": v for k, v in c.arrays().items()})
        shift = {}
        for r, det in self.shift.items():
            m = det.mahalanobis_
            shift[r] = {"alpha": det.alpha, "squared": det.squared, "d0": det.d0_, "Fd": int(det.Fd_),
                        "limit": det.limit_, "distance_limit": shift_distance_limit(det),
                        "train_flag_rate": det.train_flag_rate_}
            arrays.update({f"shift/{r}/{k}": getattr(m, k) for k in ("median_", "iqr_", "covariance_", "precision_")})
        novelty = {}
        for r, ref in self.novelty.items():
            novelty[r] = {"alpha": ref.alpha, "limit": ref.limit, "n_reference": int(ref.scores.size)}
            arrays[f"novelty/{r}/scores"] = ref.scores
        models = {}
        if self.vae is not None:
            models["vae"] = dict(self.vae.config)
        if self.n2m is not None:
            models["nir_to_mir"] = dict(self.n2m.config)
        info = {k: v for k, v in self.info.items() if k != "bundle_id"}     # the id is the manifest's hash
        doc = {"info": info, "grid_units": {r: GRID_UNITS[r] for r in self.grids},
               "strategies": {s: dict(zip(("range", "features", "head"), v)) for s, v in self.strategies.items()},
               "default_strategy": self.default_strategy, "heads": heads, "calibration": calib, "shift": shift,
               "novelty": novelty, "models": models}
        return doc, arrays, tensors

    def save(self, folder) -> Path:
        """Write the bundle into ``folder`` (written beside it, fsynced, then moved into place, under the folder's
        lock: concurrent saves take turns, and :func:`load_bundle` waits for a swap). An existing bundle there is
        replaced; any other existing file or folder is refused (a BundleError), never deleted."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(lock_of(folder)):
            return self._save(folder)

    def _save(self, folder: Path) -> Path:
        if folder.exists() and not _is_bundle(folder):
            raise BundleError(f"{folder}: exists and is not a soilnb bundle; not replaced (choose a new folder)")
        doc, arrays, tensors = self.to_json()
        tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            (tmp / "bundle.json").write_text(json.dumps(finite(json.loads(json.dumps(doc, default=json_default))),
                                                        indent=1, allow_nan=False))
            with open(tmp / "arrays.npz", "wb") as fh:
                np.savez(fh, **arrays)
            safetensors.numpy.save_file(tensors, str(tmp / "heads.safetensors"))
            for name, model in (("vae", self.vae), ("nir_to_mir", self.n2m)):
                if model is not None:      # the bytes safetensors.torch writes for the torch module's state
                    state = {k: np.ascontiguousarray(v) for k, v in model.state().items()}
                    safetensors.numpy.save_file(state, str(tmp / f"{name}.safetensors"))
            for p in tmp.iterdir():                # safetensors writes 0600; give every file the mode open() gives
                os.chmod(p, 0o666 & ~_UMASK)
            files = {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size} for p in sorted(tmp.iterdir())}
            manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "soilnb_version": __version__,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": files}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
            fsync_folder(tmp)
            manifest_bytes = (tmp / MANIFEST).read_bytes()
            swap_in(tmp, folder)                   # one rename (an atomic exchange over an older bundle)
            fsync_dir(folder.parent)               # the rename itself (not the parent's other files: a FIFO blocks)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)   # the older bundle, after an exchange
        self.info["bundle_id"] = hashlib.sha256(manifest_bytes).hexdigest()
        return folder

    def describe(self) -> str:
        """What the bundle holds and was trained on, as text (``soilnb info``; :func:`.describe.describe`)."""
        return describe(self, FORMAT_VERSION)


def _is_bundle(folder: Path) -> bool:
    """Whether ``folder`` holds a bundle (a manifest of this format), i.e. may be replaced by a new one."""
    try:
        return json.loads((folder / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------------------------------ reading
def compatible(version: str, ours: str = __version__) -> bool:
    """A bundle written by soilnb ``version`` is read by ``ours``: same major version (and minor, before 1.0)."""
    try:
        a, b = [tuple(int(x) for x in v.split(".")[:2]) for v in (version, ours)]
    except (ValueError, AttributeError):
        return False
    return a[0] == b[0] and (a[0] > 0 or a[1] == b[1])


def read_manifest(folder) -> dict:
    """The checked manifest of a bundle folder: format, versions, every listed file present with its sha256."""
    return _read_verified(Path(folder))[0]


def _read_verified(folder: Path) -> tuple[dict, dict, bytes]:
    """``(manifest, {file name: bytes}, manifest bytes)``: each file read once and hashed, the bytes then parsed
    by the caller (nothing is read twice, so what is parsed is what was verified)."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BundleError(f"{folder}: no bundle folder there")
    if not path.is_file():
        raise BundleError(f"{path}: missing; {folder} is not a soilnb bundle")
    raw = path.read_bytes()
    try:
        man = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(man, dict) or man.get("format") != FORMAT:
        raise BundleError(f"{path}: not a soilnb bundle manifest (format {man.get('format') if isinstance(man, dict) else None!r})")
    if man.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {man.get('format_version')!r}; this soilnb ({__version__}) "
                          f"reads version {FORMAT_VERSION}: re-export the bundle with a matching soilnb")
    if not compatible(str(man.get("soilnb_version"))):
        raise BundleError(f"{path}: written by soilnb {man.get('soilnb_version')}, incompatible with this soilnb "
                          f"{__version__} (a bundle is read by the same major version, and the same minor before 1.0)")
    files = man.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{path}: no file list")
    for name in REQUIRED:
        if name not in files:
            raise BundleError(f"{path}: does not list {name}")
    blobs = {}
    for name, entry in files.items():
        f = folder / name
        if Path(name).name != name:
            raise BundleError(f"{path}: file name {name!r} is not a plain name")
        if not f.is_file():
            raise BundleError(f"{f}: missing (listed in {MANIFEST})")
        blobs[name] = f.read_bytes()
        if not isinstance(entry, dict) or hashlib.sha256(blobs[name]).hexdigest() != entry.get("sha256"):
            raise BundleError(f"{f}: sha256 differs from the one in {MANIFEST} (the file was changed or corrupted)")
    stray = sorted(p.name for p in folder.iterdir() if p.name not in files and p.name != MANIFEST)
    if stray:
        raise BundleError(f"{folder}: {', '.join(stray)} not listed in {MANIFEST} (a bundle holds only the files it "
                          "lists: remove them, or re-export the bundle)")
    return man, blobs, raw


ENGINES = ("torch", "numpy")


def load_bundle(folder, engine: str = "torch") -> Bundle:
    """Read a bundle written by :meth:`Bundle.save`, checking it first (see the module docstring); under the
    folder's lock, so a save in progress is waited for, never half seen.

    ``engine`` evaluates the VAE and the NIR encoder: ``"torch"`` (default) with their torch modules, as the run
    that built the bundle did, so the loaded bundle predicts its numbers bit for bit; ``"numpy"`` in NumPy
    (:mod:`soilnb.apply.encoders`: equal to float32 rounding), without importing torch -- what ``soilnb predict``
    and ``info`` load, so that predicting starts in well under a second. Everything else is the same NumPy code
    either way, but a row within float32 rounding of a limit may get another ``shift_flag``, ``novelty_flag`` or
    ``interval_supported`` (a batch at the domain classifier's thresholds another batch mark) on the other engine.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    folder = Path(folder)
    with exclusive(lock_of(folder)):
        b = _load(folder)
    if engine == "torch" and (b.vae is not None or b.n2m is not None):
        # torch only when asked for (the predict path's import-linter contract ignores this one edge)
        from soilnb.apply.torch_encoders import on_torch  # noqa: PLC0415

        b.vae = on_torch(b.vae, str(folder / "vae.safetensors"))
        b.n2m = on_torch(b.n2m, str(folder / "nir_to_mir.safetensors"))
    return b


def _load(folder: Path) -> Bundle:
    man, blobs, raw = _read_verified(folder)
    try:
        doc = json.loads(blobs["bundle.json"], parse_constant=no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{folder / 'bundle.json'}: not valid JSON ({exc})") from None
    try:
        with np.load(io.BytesIO(blobs["arrays.npz"]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise BundleError(f"{folder / 'arrays.npz'}: cannot be read without pickle ({exc})") from None
    tensors = _safetensors(folder / "heads.safetensors", blobs, safetensors.numpy.load)
    try:
        b = _assemble(folder, doc, arrays, tensors, man, blobs)
        check_consistency(b, str(folder))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{folder / 'bundle.json'}: incomplete or inconsistent ({type(exc).__name__}: {exc})") from None
    b.info["bundle_id"] = hashlib.sha256(raw).hexdigest()
    return b


def _safetensors(path: Path, blobs: dict, loader):
    if path.name not in blobs:
        raise BundleError(f"{path}: missing (bundle.json describes this model; {MANIFEST} does not list it)")
    try:
        return loader(blobs[path.name])
    except (OSError, ValueError, safetensors.SafetensorError) as exc:
        raise BundleError(f"{path}: not a readable safetensors file ({exc})") from None


def _prefixed(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _assemble(folder: Path, doc: dict, arrays: dict, tensors: dict, man: dict, blobs: dict) -> Bundle:
    if doc["info"].get("preprocessing") != PREPROCESSING:
        raise BundleError(f"{folder / 'bundle.json'}: its models expect the preprocessing "
                          f"{doc['info'].get('preprocessing')}, not this soilnb's {PREPROCESSING}; rebuild the bundle")
    grids = {r: arrays[f"grid/{r}"] for r in doc["grid_units"]}
    heads = {}
    for name, spec in doc["heads"].items():
        tt = targets_from_state(spec["targets"], _prefixed(arrays, f"targets/{name}/"))
        heads[name] = head_from_arrays(spec, _prefixed(tensors, f"{name}/"), tt)
    calibration = {s: Calibration.from_arrays(spec, _prefixed(arrays, f"calibration/{s}/"))
                   for s, spec in doc["calibration"].items()}
    shift = {}
    for r, d in doc["shift"].items():
        m = FittedMahalanobis(*(arrays[f"shift/{r}/{k}"] for k in ("median_", "iqr_", "covariance_", "precision_")))
        shift[r] = FittedShift(m, d["alpha"], d["squared"], d["d0"], d["Fd"], d["limit"], d["train_flag_rate"])
    novelty = {r: NoveltyReference(arrays[f"novelty/{r}/scores"], d["alpha"]) for r, d in doc["novelty"].items()}
    vae = n2m = None
    if "vae" in doc["models"]:
        vae = _model(doc["models"]["vae"], folder / "vae.safetensors", blobs)
    if "nir_to_mir" in doc["models"]:
        n2m = _model(doc["models"]["nir_to_mir"], folder / "nir_to_mir.safetensors", blobs)
    strategies = {s: (v["range"], v["features"], v["head"]) for s, v in doc["strategies"].items()}
    for s, (_, _, head) in strategies.items():
        if head not in heads or s not in calibration:
            raise BundleError(f"{folder / 'bundle.json'}: strategy {s} lacks its head or its calibration")
    info = {**doc["info"], "manifest": {k: man[k] for k in ("soilnb_version", "created")}}
    b = Bundle(info, grids, strategies, doc["default_strategy"], heads, calibration, shift, novelty, vae, n2m)
    b.info["limits"] = b.limits()           # computed on loading, so ``soilnb info --json`` shows them
    return b


def _model(config: dict, path: Path, blobs: dict):
    """The NumPy model of ``config`` with the weights of ``path`` (a BundleError when they do not fit)."""
    return numpy_encoder(config, _safetensors(path, blobs, safetensors.numpy.load), str(path), path.stem)


def bundle_sha256(folder) -> str:
    """One hash of a bundle: sha256 of its manifest's file list (names and hashes)."""
    files = read_manifest(folder)["files"]
    return hashlib.sha256(json.dumps({k: v["sha256"] for k, v in sorted(files.items())}).encode()).hexdigest()
