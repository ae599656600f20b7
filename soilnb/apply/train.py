"""Train a model bundle on your own spectra (``soilnb train``, :func:`train_bundle`), without the paper's notebooks.

Spectra in (anything :func:`~soilnb.data.readers.read_spectra` reads: a table carrying its properties, or OPUS,
ASD and table files plus a lab table joined by sample id, :func:`labelled_libraries`), a bundle out. The run
reuses the paper's stages on a one-range world built from *all* the samples (no test set is held out):
:func:`~soilnb.stages.get_features`, :func:`~soilnb.stages.get_models` (the MIR VAE, pretrained label-free on
every scan), :func:`~soilnb.stages.get_regressions` (NIR heads) or :func:`~soilnb.apply.build.mir_regressors`
(MIR heads) and :func:`~soilnb.apply.build_bundle`, each cached.

**Honest intervals.** The samples are all used, but not all for everything: :func:`~soilnb.apply.build_bundle`
holds a grouped 20 % of them out (:func:`~soilnb.apply.calibration_split` for MIR, the Paired validation split
for NIR) and the bundle's regressors are the ones fitted on the other 80 %. They are *not* refit on every sample
afterwards: the intervals are calibrated on residuals of the very regressors the bundle holds, on samples those
regressors never saw, which is what the split-conformal guarantee needs (a refit on all samples would be a
different model, calibrated on its own training samples).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soilnb.apply.build import CAL_FRACTION, MIR_HEADS, build_bundle, calibration_split, mir_regressors
from soilnb.apply.defaults import MIN_SAMPLES
from soilnb.apply.bundle import Bundle
from soilnb.core.config import Config, get_config
from soilnb.data.files import clean_library, library_with_properties
from soilnb.data.labjoin import join_lab
from soilnb.data.labtable import read_lab_table
from soilnb.data.library import SpectralLibrary, World
from soilnb.data.readers import read_spectra
from soilnb.stages.features import get_features
from soilnb.stages.plan import get_models
from soilnb.stages.regressions import get_regressions
from soilnb.stages.strategies import StrategyResults, available_strategies
from soilnb.stages.training import get_vae

#: The id rules of a lab-table join (``--id-rule``): the spectrum's file stem, a regular expression's first group
#: (or whole match) on the file name, or a column of a spectra table.
ID_RULES = ("stem", "pattern", "column")


class TrainingDataError(ValueError):
    """The spectra or the lab table cannot make a training (or evaluation) set: the message says why."""


@dataclass
class Labelled:
    """Spectra with their laboratory values: one library per kind of spectra read, and what was done."""

    libraries: list
    report: list = field(default_factory=list)      # lines for the user: the lab table, the join report
    joined: int | None = None                       # samples with a lab value (None without a lab table)
    problems: list = field(default_factory=list)    # what could not be read (file, row: message)


def parse_id_rule(text: str | None) -> dict:
    """``"stem"``, ``"pattern:REGEX"`` or ``"column:NAME"`` as keyword arguments of ``join_lab``.

    >>> parse_id_rule("pattern:^([A-Z0-9]+)XS")
    {'rule': 'pattern', 'pattern': '^([A-Z0-9]+)XS'}
    >>> parse_id_rule("column:lab_id")
    {'rule': 'column', 'column': 'lab_id'}
    """
    text = (text or "stem").strip()
    rule, _, arg = text.partition(":")
    if rule not in ID_RULES or (rule == "stem") != (not arg):
        raise TrainingDataError(f"--id-rule must be 'stem', 'pattern:REGEX' or 'column:NAME', got {text!r}")
    if rule == "pattern":
        try:
            re.compile(arg)
        except re.error as exc:
            raise TrainingDataError(f"--id-rule pattern {arg!r} is not a regular expression ({exc})") from None
        return {"rule": "pattern", "pattern": arg}
    return {"rule": rule} if rule == "stem" else {"rule": "column", "column": arg}


def parse_units(items) -> dict:
    """``["OC=g/kg", "CEC=cmol/kg"]`` (repeated ``--unit``) as ``{"OC": "g/kg", "CEC": "cmol/kg"}``."""
    out = {}
    for item in items or ():
        name, sep, unit = str(item).partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise TrainingDataError(f"--unit must be PROPERTY=UNIT (e.g. OC=g/kg), got {item!r}")
        out[name.strip()] = unit.strip()
    return out


def labelled_libraries(spectra, lab=None, *, id_rule="stem", units=None, id_column=None, sheet=None,
                       name: str = "spectra") -> Labelled:
    """Read ``spectra`` and give each spectrum its laboratory values: the properties a spectra table carries
    (``lab=None``; OSSL column names mapped, :func:`~soilnb.data.files.library_with_properties`), or those of the
    lab table ``lab`` joined by sample id (``soilnb.data.labtable``; ``id_rule`` as :func:`parse_id_rule`,
    ``units`` a ``{property: unit}`` of the table's columns; only the spectra that joined are kept). Nothing else
    is filtered here; reading problems, the lab table's summary and the join report are in ``report``. A missing lab table, or no spectrum matched, is a :class:`TrainingDataError`."""
    paths = [spectra] if isinstance(spectra, (str, Path)) else list(spectra)
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise TrainingDataError(f"no such spectra file or folder: {', '.join(missing)}")
    if lab is not None and not Path(lab).is_file():
        raise TrainingDataError(f"lab table {lab}: no such file")
    rule = parse_id_rule(id_rule) if isinstance(id_rule, (str, type(None))) else dict(id_rule)
    res = read_spectra(paths, progress=False)
    problems = [f"{p.file}{f' row {p.row}' if p.row is not None else ''}: {p.message}" for p in res.problems]
    if not res.libraries:
        raise TrainingDataError(f"{name} {', '.join(map(str, paths))}: no spectra could be read"
                                + (f" ({'; '.join(problems[:3])})" if problems else ""))
    if lab is None:
        with warnings.catch_warnings():      # columns without any value are dropped: nothing to model or score
            warnings.filterwarnings("ignore", message=r".*have no value in any of the")
            libs = [library_with_properties(lib, f"{name} {key}") for key, lib in res.libraries.items()]
        return Labelled(libs, [], None, problems)
    libs, lines = _lab_join(res.libraries, lab, rule, units, id_column, sheet)
    joined = sum(int(np.unique(lib.sample_id).size) for lib in libs)
    if joined == 0:
        raise TrainingDataError(f"lab table {lab}: no spectrum matched a sample of the table by {_rule_text(rule)}"
                                f" ({'; '.join(ln for ln in lines if 'without' in ln or 'unjoined' in ln)[:500]})")
    return Labelled(libs, lines, joined, problems)


def _rule_text(rule: dict) -> str:
    return {"stem": "file stem", "pattern": f"pattern {rule.get('pattern')!r}",
            "column": f"column {rule.get('column')!r}"}[rule["rule"]]


def _lab_join(libraries: dict, lab, rule: dict, units, id_column, sheet):
    """``(the joined spectra of each library, report lines)``: :func:`~soilnb.data.labtable.read_lab_table`, then
    :func:`~soilnb.data.labtable.join_lab` per library; spectra without a lab row are left out (and reported)."""
    table = read_lab_table(lab, id_column=id_column, units=units or None, sheet=sheet)
    libs, report = [], [line.strip() for line in table.summary().splitlines() if line.strip()]
    for lib in libraries.values():
        jr = join_lab(lib, table, **rule)
        report += [line for line in jr.summary().splitlines() if line.strip()]
        if jr.joined.any():
            libs.append(jr.matched())
    return libs, report


def training_library(lib: SpectralLibrary, name: str = "training") -> SpectralLibrary:
    """``lib`` as a training library, as :func:`soilnb.data.files.load_files_library` makes one
    (:func:`soilnb.data.files.clean_library`); a :class:`TrainingDataError` when every spectrum is flagged."""
    try:
        return clean_library(lib, name, name)
    except ValueError as exc:
        raise TrainingDataError(str(exc)) from None


def training_world(lib: SpectralLibrary) -> World:
    """The World a training library is trained in: MIR (cm-1) as the KSSL part, NIR as the Paired part (a
    sample's scans averaged)."""
    if lib.unit == "cm-1":
        return World(kssl=lib, source="files")
    return World(paired_nir=lib.average_scans(), source="files")


def _regressors(cfg: Config, F, vae, n2m) -> StrategyResults:
    """The regressors the bundle holds: the NIR heads of :func:`~soilnb.stages.get_regressions` (trained on the
    Paired training split), the MIR heads of :func:`~soilnb.apply.build.mir_regressors` (trained on the proper
    part of the calibration split; build_bundle loads them from the cache). get_regressions' MIR heads, trained on
    every sample, would be fitted for nothing: the bundle never holds them."""
    runnable, skipped = available_strategies(F)
    nir = [s for s in runnable if s.startswith("NIR")]
    res = StrategyResults(skipped=skipped)
    if nir:
        with warnings.catch_warnings():      # no test set by design: nothing to say about it
            warnings.filterwarnings("ignore", message="skipped: ")
            got = get_regressions(cfg, F, vae, n2m, strategies=nir)
        res = StrategyResults(models=dict(got.models), skipped={**skipped, **got.skipped})
    res.models.update(mir_regressors(cfg, F, vae, [s for s in runnable if s in MIR_HEADS]))
    return res


@dataclass
class TrainResult:
    """What :func:`train_bundle` made: the bundle, where it was saved (None when not), the number of samples it
    learned from, the report (lab table, join), the run's configuration and the reading problems."""

    bundle: Bundle
    folder: Path | None
    samples: int
    report: list
    config: Config
    problems: list = field(default_factory=list)
    #: per range, the sample ids of the bundle's calibration set (held out from its regressors)
    calibration_ids: dict = field(default_factory=dict)


def train_bundle(spectra, properties=None, *, lab=None, id_rule="stem", units=None, id_column=None, sheet=None,
                 profile: str = "smoke", seed: int = 0, out=None, min_samples: int = MIN_SAMPLES,
                 progress: bool = False, log=None, **overrides) -> TrainResult:
    """Train a bundle on ``spectra`` (files or folders, one range: MIR or NIR) and their laboratory values.

    Parameters
    ----------
    spectra : path or list of paths
        Anything :func:`~soilnb.data.readers.read_spectra` reads: a table carrying its properties, or spectrum
        files whose properties come from ``lab``.
    properties : str or list of str, optional
        The properties to model (``"OC,clay,CEC"``); default every property the data has values of.
    lab, id_rule, units, id_column, sheet
        A lab table joined to the spectra by sample id (see :func:`labelled_libraries`).
    profile, seed, overrides
        The run's configuration (:func:`soilnb.core.config.get_config`; ``source="files"``, ``data_dir`` the
        first spectra path): model sizes and epochs of the profile, any key as an override.
    out : path, optional
        Save the bundle into this folder (an existing bundle there is replaced, anything else refused).
    min_samples : int
        Refuse to train on fewer samples with every modelled property (:data:`MIN_SAMPLES`).
    log : callable, optional
        Called with each line of the reading problems and the join report as soon as the data are read (before
        the training starts); they are in the result too.

    Every sample trains: no test set is held out. The calibration split inside the bundle stays (module
    docstring). A :class:`TrainingDataError` (a ValueError) says what is wrong with the data.
    """
    if isinstance(properties, str):
        properties = [p.strip() for p in properties.split(",") if p.strip()]
    properties = list(properties or [])
    lab_data = labelled_libraries(spectra, lab, id_rule=id_rule, units=units, id_column=id_column, sheet=sheet,
                                  name="training spectra")
    if len(lab_data.libraries) > 1:
        raise TrainingDataError("training spectra: " + f"{len(lab_data.libraries)} kinds of spectra ("
                                + ", ".join(f"{lib.unit} {lib.quantity}, {lib.n_scans} spectra"
                                            for lib in lab_data.libraries)
                                + "); train one range on one grid at a time")
    for line in (lab_data.problems + lab_data.report) if log is not None else ():
        log(line)
    lib = lab_data.libraries[0]
    have = [p for p in lib.property_names if lib.properties[p].notna().any()]
    unknown = [p for p in properties if p not in have]
    if unknown:
        raise TrainingDataError(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: the "
                                f"{'joined lab values hold' if lab is not None else 'spectra hold'} "
                                f"{', '.join(have) or 'no property'}")
    lib = training_library(lib)
    first = [spectra] if isinstance(spectra, (str, Path)) else list(spectra)
    cfg = get_config(profile, **{**overrides, "source": "files", "data_dir": str(first[0]),
                                 "properties": ",".join(properties), "seed": seed})
    world = training_world(lib)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*dropped \d+ of \d+ samples with missing properties")
        F = get_features(cfg, world)
    Y = F.kssl_Y if F.kssl_Y is not None else F.paired_Y
    n = len(Y)
    if n < min_samples:
        raise TrainingDataError(
            f"only {n} sample(s) with every one of {', '.join(F.properties)}: at least {min_samples} are needed "
            f"to train and to calibrate the intervals (a grouped {CAL_FRACTION:.0%} is held out for them)")
    vae, n2m = get_models(cfg, F, progress=progress)
    history = get_vae(cfg, F, progress=False)[1] if vae is not None else None
    bundle = build_bundle(cfg, F, vae, n2m, _regressors(cfg, F, vae, n2m), history)
    files = [str(Path(p)) for p in first]
    bundle.info["training"] = {**bundle.info.get("training", {}),
                               "data": f"{n} samples from {', '.join(files[:3])}"
                               + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
                               + (f"; lab values from {lab}" if lab is not None else "")}
    bundle.info["training_data"] = {"spectra": files, "lab_table": str(lab) if lab is not None else None,
                                    "id_rule": id_rule if lab is not None else None, "units": units or {},
                                    "samples": n, "joined": lab_data.joined, "report": lab_data.report[:50],
                                    "problems": lab_data.problems[:50]}
    cal_ids = {"MIR": F.kssl_id[calibration_split(cfg, F)[1]]} if F.kssl is not None else \
        {"NIR": F.paired_id[F.paired_split[1]]}
    folder = bundle.save(out) if out is not None else None
    return TrainResult(bundle, folder, n, lab_data.report, cfg, lab_data.problems, cal_ids)

