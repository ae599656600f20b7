"""The ``soilnb`` command: predict soil properties of spectrum files with a model bundle, or describe a bundle.

::

    soilnb predict --model DIR FILES... [-o predictions.csv] [--coverage 0.9] [--strategy NAME|all]
                   [--normalized] [--convert-mir] [--per-spectrum] [--quiet]
    soilnb info DIR [--json]
    soilnb --help | --version

Exit status: 0 every file predicted; 1 some files (or rows) not predicted, each named on stderr in one line, the
CSV holding the rest; 2 nothing predicted, a bundle that cannot be read, or a usage error; 3 an internal error
(a bug: rerun with ``--debug`` for the traceback). A user error never prints a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from soilnb import __version__
from soilnb.apply.bundle import load_bundle, read_manifest
from soilnb.apply.heads import BundleError
from soilnb.apply.intervals import COVERAGE
from soilnb.core.cache import atomic_path
from soilnb.data.readers import list_files, read_spectra

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_INTERNAL = 0, 1, 2, 3


def _say(message: str) -> None:
    """One line on stderr (through tqdm, so that a progress bar is not torn)."""
    tqdm.write("soilnb: " + " ".join(str(message).split()), file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soilnb", description="Predict soil properties from MIR or NIR spectra with a soilnb model bundle "
        "(written by run_all.sh, notebook 08), with conformal intervals and shift / novelty flags.",
        epilog="exit status: 0 all predicted; 1 some files or rows not predicted (named on stderr); 2 nothing "
        "predicted, unreadable bundle or usage error; 3 internal error")
    parser.add_argument("--version", action="version", version=f"soilnb {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("predict", help="predict the spectra in FILES (OPUS, ASD, CSV/Parquet tables, folders)",
                       description="Predict every sample in FILES; one CSV row per sample (its scans in a file averaged): predictions, "
                       "intervals, shift and novelty flags, reading-quality flags.")
    p.add_argument("--model", "-m", required=True, metavar="DIR", help="the bundle folder")
    p.add_argument("files", nargs="+", metavar="FILE", help="spectrum files or folders")
    p.add_argument("-o", "--output", default="predictions.csv", metavar="CSV", help="default: %(default)s")
    p.add_argument("--coverage", type=float, default=COVERAGE, help="nominal interval coverage (default %(default)s)")
    p.add_argument("--strategy", default=None, metavar="NAME",
                   help="a strategy name, or 'all'; default: the bundle's default strategy for each range")
    p.add_argument("--normalized", action="store_true", help="intervals scaled by the latent distance")
    p.add_argument("--convert-mir", action="store_true", help="for NIR input, add the converted MIR spectrum")
    p.add_argument("--per-spectrum", action="store_true",
                   help="one row per spectrum (default: the scans of one sample id in a file are averaged)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")
    i = sub.add_parser("info", help="what a bundle holds and was trained on",
                       description="Check a bundle (format, version, sha256 of every file) and describe it.")
    i.add_argument("model", metavar="DIR", help="the bundle folder")
    i.add_argument("--json", action="store_true", help="print the manifest and description as JSON")
    return parser


def _predict(args) -> int:
    if not 0 < args.coverage < 1:
        _say(f"--coverage must be between 0 and 1 (e.g. 0.9), got {args.coverage}")
        return EXIT_FAILED
    bundle = load_bundle(args.model)
    files, missing, skipped = list_files(args.files)
    failed = [f"{m.file}: {m.message}" for m in missing]
    for line in failed:
        _say(line)
    if not files and not missing:
        _say(f"no spectrum files in {', '.join(map(str, args.files))}"
             + (f" (skipped: {'; '.join(f'{n.file}: {n.message}' for n in skipped[:5])})" if skipped else ""))
        return EXIT_FAILED
    frames, partial, said = [], False, set()
    for f in tqdm(files, desc="soilnb predict", unit="file", disable=args.quiet, file=sys.stderr):
        read = read_spectra([f], progress=False)
        if not read.libraries:
            msg = "; ".join(p.message for p in read.problems) or "no spectra found"
            failed.append(f"{f}: {msg}")
            _say(failed[-1])
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                pred = bundle.predict(read, coverage=args.coverage, strategy=args.strategy,
                                      normalized=args.normalized, convert_mir=args.convert_mir,
                                      average_scans=not args.per_spectrum)
            except ValueError as exc:
                failed.append(_named(f, str(exc).removeprefix("nothing predicted: ")))
                _say(failed[-1])
                continue
        for w in caught:      # what the user must know (e.g. too few calibration samples), once per message
            text = str(w.message)
            if issubclass(w.category, UserWarning) and text not in said:
                said.add(text)
                _say(_named(f, f"warning: {text}"))
        for problem in pred.attrs.get("problems", []):
            partial = True
            _say(_named(f, problem))
        frames.append(pred)
    if not frames:
        _say(f"nothing predicted ({len(failed)} of {len(files) + len(missing)} inputs failed); no CSV written")
        return EXIT_FAILED
    out = Path(args.output)
    table = pd.concat(frames, ignore_index=True)
    try:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    except OSError as exc:
        _say(f"{out}: cannot write the predictions ({exc.strerror or exc})")
        return EXIT_FAILED
    if not args.quiet:
        _say(f"wrote {len(table)} predictions of {len(frames)} file(s) to {out} (coverage {args.coverage:g}); "
             f"{len(failed)} input(s) not predicted")
    return EXIT_PARTIAL if failed or partial else EXIT_OK


def _named(path, message: str) -> str:
    """``message`` beginning with the file's name (once)."""
    return message if message.startswith(str(path)) else f"{path}: {message}"


def _info(args) -> int:
    bundle = load_bundle(args.model)
    if args.json:
        man = read_manifest(args.model)
        print(json.dumps({"manifest": man, "info": bundle.info, "strategies": {s: list(v) for s, v in
                                                                               bundle.strategies.items()},
                          "default_strategy": bundle.default_strategy}, indent=1, default=str))
    else:
        print(bundle.describe())
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``soilnb`` command (``[project.scripts]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_FAILED
    try:
        return _predict(args) if args.command == "predict" else _info(args)
    except BundleError as exc:
        _say(f"bundle {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the command's promise: a one-line message, never a traceback
        if args.debug:
            raise
        _say(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
