"""The ``soilnb`` command: predict soil properties of spectrum files with a model bundle, or describe a bundle.

::

    soilnb predict --model DIR FILES... [-o predictions.csv|-] [--coverage 0.9] [--strategy NAME|all]
                   [--normalized | --weighted] [--convert-mir] [--per-spectrum] [--force] [--quiet]
    soilnb info DIR [--json]
    soilnb train FILES... [-p OC,clay,CEC] [--lab TABLE [--id-rule stem|pattern:REGEX|column:NAME]
                 [--unit OC=g/kg ...]] [--profile smoke|default] [--seed N] [--out DIR]
    soilnb evaluate --model DIR FILES... [--lab TABLE ...] [-o evaluation.csv] [--figure PNG]
                    [--predictions CSV] [--coverage 0.9] [--strategy NAME|all|default] [--normalized]
    soilnb adapt --model DIR FILES... [--lab TABLE ...] --out DIR [--weights 1,4,16,64,256] [--folds 10] [--seed N]
    soilnb --help | --version

Exit status: 0 every file predicted (trained, evaluated); 1 some files (or rows) not predicted, each named on
stderr in one line, the CSV holding the rest; 2 nothing predicted, a bundle that cannot be read, data that cannot
train or be scored (a missing lab table, no joined sample, an unknown property, too few samples), or a usage
error; 3 an internal error (a bug: rerun with ``--debug`` for the traceback). A user error never prints a
traceback. An output that exists already (a CSV, a figure, a bundle folder) is not overwritten without ``--force``
(``-f``); ``--debug`` (``-v``) may stand anywhere on the command line.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from soilnb import __version__
from soilnb.apply.console import EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_PARTIAL  # noqa: F401
from soilnb.apply.console import say as _say
from soilnb.apply.defaults import COVERAGE, MIN_SAMPLES, OUTER_FOLDS, WEIGHTS, BundleError, evaluation_figure
from soilnb.core.config import PROFILES

#: Flags taken anywhere on the command line (before or after the subcommand).
DEBUG_FLAGS = ("--debug", "-v")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soilnb", description="Predict soil properties from MIR or NIR spectra with a soilnb model bundle "
        "(written by run_all.sh, notebook 08, or by 'soilnb train' on your own spectra), with conformal intervals "
        "and shift / novelty flags; score a bundle against lab values ('soilnb evaluate').",
        epilog="exit status: 0 all predicted; 1 some files or rows not predicted (named on stderr); 2 nothing "
        "predicted, unreadable bundle or usage error; 3 internal error")
    parser.add_argument("--version", action="version", version=f"soilnb {__version__}")
    parser.add_argument("--debug", "-v", action="store_true",
                        help="show the traceback of an internal error (taken anywhere on the command line)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("predict", help="predict the spectra in FILES (OPUS, ASD, CSV/Parquet tables, folders)",
                       description="Predict every sample in FILES; one CSV row per sample (its scans in a file averaged): predictions, "
                       "intervals, shift and novelty flags, reading-quality flags.")
    p.add_argument("--model", "-m", required=True, metavar="DIR", help="the bundle folder")
    p.add_argument("files", nargs="+", metavar="FILE", help="spectrum files or folders")
    p.add_argument("-o", "--output", default="predictions.csv", metavar="CSV",
                   help="default: %(default)s; - writes the CSV to standard output")
    p.add_argument("--coverage", type=float, default=COVERAGE, help="nominal interval coverage (default %(default)s)")
    p.add_argument("--strategy", default=None, metavar="NAME",
                   help="a strategy name, or 'all'; default: the bundle's default strategy for each range")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--normalized", action="store_true", help="intervals scaled by the latent distance")
    kind.add_argument("--weighted", action="store_true",
                      help="weighted split-conformal intervals for covariate shift (each file one batch): wider "
                      "where its spectra differ from the calibration samples")
    p.add_argument("--convert-mir", action="store_true", help="for NIR input, add the converted MIR spectrum")
    p.add_argument("--per-spectrum", action="store_true",
                   help="one row per spectrum (default: the scans of one sample id in a file are averaged)")
    _force(p, "the predictions CSV")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar and no 'wrote' line (flagged, clipped and unsupported rows are still said)")
    i = sub.add_parser("info", help="what a bundle holds and was trained on",
                       description="Check a bundle (format, version, sha256 of every file) and describe it.")
    i.add_argument("model", metavar="DIR", help="the bundle folder")
    i.add_argument("--json", action="store_true", help="print the manifest and description as JSON")
    t = sub.add_parser("train", help="train a bundle on your own spectra and lab values",
                       description="Train a model bundle on FILES (spectra with their properties, or spectra plus "
                       "--lab) on all samples (a grouped 20%% held out inside to calibrate the intervals), without "
                       "the paper's notebooks.")
    t.add_argument("files", nargs="+", metavar="FILE", help="spectrum files or folders (one range: MIR or NIR)")
    t.add_argument("-p", "--properties", default="", metavar="P,Q",
                   help="comma-separated properties to model (default: every property with values)")
    _lab_options(t)
    t.add_argument("--profile", default="smoke", choices=sorted(PROFILES),
                   help="model sizes and epochs of a run_all.sh profile (default %(default)s)")
    t.add_argument("--seed", type=int, default=0, help="default %(default)s")
    t.add_argument("--out", default="bundle", metavar="DIR", help="the bundle folder (default %(default)s; an "
                   "existing bundle there is replaced with --force, anything else refused)")
    t.add_argument("--min-samples", type=int, default=MIN_SAMPLES,
                   help="refuse to train on fewer samples with every property (default %(default)s)")
    _force(t, "the bundle folder")
    t.add_argument("--quiet", "-q", action="store_true", help="no report, warnings or progress")
    e = sub.add_parser("evaluate", help="score a bundle's predictions and intervals against lab values",
                       description="Predict FILES with a bundle and score each property and strategy against the "
                       "lab values (the spectra table's own, or --lab): n, CCC, RMSE, RPIQ, bias, interval coverage "
                       "and width, for all, unflagged and flagged samples; a CSV and a figure.")
    e.add_argument("--model", "-m", required=True, metavar="DIR", help="the bundle folder")
    e.add_argument("files", nargs="+", metavar="FILE", help="spectrum files or folders")
    _lab_options(e)
    e.add_argument("-o", "--output", default="evaluation.csv", metavar="CSV", help="default: %(default)s")
    e.add_argument("--figure", default=None, metavar="PNG",
                   help="observed vs predicted with intervals (default: the CSV's name with .png; 'none': no figure)")
    e.add_argument("--predictions", default=None, metavar="CSV",
                   help="also write the predictions with the observed values")
    e.add_argument("--coverage", type=float, default=COVERAGE, help="nominal interval coverage (default %(default)s)")
    e.add_argument("--strategy", default="all", metavar="NAME",
                   help="a strategy, 'all' (default) or 'default' (the bundle's default strategy per range)")
    e.add_argument("--normalized", action="store_true", help="intervals scaled by the latent distance")
    _force(e, "the CSV, figure and predictions")
    e.add_argument("--quiet", "-q", action="store_true", help="no report lines")
    _adapt_parser(sub)
    return parser


def _adapt_parser(sub) -> None:
    a = sub.add_parser("adapt", help="adapt a bundle to a new instrument with a few local samples (10-100)",
                       description="Adapt a bundle with local reference samples (spectra of the new instrument "
                       "with lab values): PLS heads refit with the local samples spiked into the training data "
                       "(weight, components and a local correction chosen by CV inside the local samples), other "
                       "heads bias-corrected, intervals "
                       "recalibrated on out-of-fold local residuals, novelty (and shift) references extended; "
                       "written to a new folder.")
    a.add_argument("--model", "-m", required=True, metavar="DIR", help="the parent bundle folder")
    a.add_argument("files", nargs="+", metavar="FILE", help="the local samples' spectrum files or folders")
    _lab_options(a)
    a.add_argument("--out", required=True, metavar="DIR", help="the adapted bundle's folder (not the parent's)")
    a.add_argument("--weights", default=",".join(f"{w:g}" for w in WEIGHTS), metavar="W,W",
                   help="candidate weights (copies) of the local samples (default %(default)s)")
    a.add_argument("--folds", type=int, default=OUTER_FOLDS,
                   help="folds of the out-of-fold residuals that calibrate the intervals (default %(default)s)")
    a.add_argument("--seed", type=int, default=0, help="default %(default)s")
    _force(a, "the adapted bundle's folder")
    a.add_argument("--quiet", "-q", action="store_true", help="no report lines")


def _force(p, what: str) -> None:
    p.add_argument("--force", "-f", action="store_true", help=f"overwrite {what} if it exists (default: refuse)")


def existing_outputs(args) -> list[str]:
    """The outputs of this command line that exist already (they are not overwritten without ``--force``)."""
    if getattr(args, "force", True):
        return []
    if args.command == "predict":
        paths = [] if args.output == "-" else [args.output]
    elif args.command == "evaluate":
        paths = [args.output, evaluation_figure(args.output, args.figure), args.predictions]
    else:
        paths = [args.out]
    return [str(p) for p in paths if p and Path(p).exists()]


def _lab_options(p) -> None:
    p.add_argument("--lab", default=None, metavar="TABLE", help="a lab table (CSV or Excel) joined to the spectra "
                   "by sample id (default: the properties of the spectra table)")
    p.add_argument("--id-rule", default="stem", metavar="RULE",
                   help="how a spectrum finds its lab row: 'stem' (its sample id: file stem, table id), "
                   "'pattern:REGEX' (first group on the file name) or 'column:NAME' (a spectra-table column)")
    p.add_argument("--id-column", default=None, metavar="NAME", help="the lab table's id column (default: found)")
    p.add_argument("--sheet", default=None, metavar="NAME", help="the sheet of an Excel lab table")
    p.add_argument("--unit", action="append", default=[], metavar="P=UNIT",
                   help="unit of a lab-table column, e.g. OC=g/kg (repeat for several)")


def main(argv=None) -> int:
    """Entry point of the ``soilnb`` command (``[project.scripts]``); returns the exit status."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = any(a in DEBUG_FLAGS for a in argv)        # --debug (or -v) anywhere, as git and pip take it
    args = parser.parse_args([a for a in argv if a not in DEBUG_FLAGS])
    args.debug = debug
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FAILED
    there = existing_outputs(args)
    if there:                      # said before any work is done, as git and pip refuse to clobber
        _say(f"{', '.join(there)}: exists already; pass --force to overwrite"
             + (" (or -o another file, or -o - for standard output)" if args.command == "predict" else ""))
        return EXIT_FAILED
    shown = warnings.showwarning
    warnings.showwarning = _warning_line       # every warning one line, as every other message
    try:
        # the command's stack, imported once the command line is valid (predict and info: the predict path only)
        if args.command in ("predict", "info"):
            from soilnb.apply.commands import COMMANDS
        else:
            from soilnb.apply.model_commands import COMMANDS
        return COMMANDS[args.command](args)
    except BundleError as exc:
        _say(f"bundle {exc}")
        return EXIT_FAILED
    except ValueError as exc:       # data that cannot train or be scored (TrainingDataError, LabTableError, ...)
        if args.debug or args.command not in ("train", "evaluate", "adapt"):
            return _internal(args, exc)
        _say(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the command's promise: a one-line message, never a traceback
        return _internal(args, exc)
    finally:
        warnings.showwarning = shown


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of the command: ``soilnb: warning: <message>`` on one line, no source line (a
    library's own warnings included; the commands also collect the expected ones and say each once)."""
    kind = "" if issubclass(category, UserWarning) else f"{category.__name__}: "
    _say(f"warning: {kind}{message}")


def _internal(args, exc: Exception) -> int:
    """An internal error: one line (the traceback with ``--debug``)."""
    if args.debug:
        raise exc
    _say(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
