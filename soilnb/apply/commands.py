"""``soilnb predict`` and ``info``: the predict path only (:mod:`soilnb.apply.cli` imports this module once the
command line is valid; an import-linter contract keeps the bundle, heads, inference and readers free of the
training and benchmark stack, and of torch, scikit-learn, SciPy and crepes). The bundle is loaded with
``engine="numpy"``: its VAE and NIR encoder run in NumPy (:mod:`soilnb.apply.encoders`)."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from soilnb.apply.bundle import load_bundle, read_manifest
from soilnb.apply.console import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from soilnb.apply.console import say as _say
from soilnb.apply.inference import NotPredictedWarning
from soilnb.apply.prediction_summary import summary_text
from soilnb.core.cache import atomic_path
from soilnb.data.readers import list_files, read_spectra


def _predict(args) -> int:
    if not 0 < args.coverage < 1:
        _say(f"--coverage must be between 0 and 1 (e.g. 0.9), got {args.coverage}")
        return EXIT_FAILED
    bundle = load_bundle(args.model, engine="numpy")
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
                                      normalized=args.normalized, weighted=args.weighted,
                                      convert_mir=args.convert_mir, average_scans=not args.per_spectrum)
            except ValueError as exc:
                failed.append(_named(f, str(exc).removeprefix("nothing predicted: ")))
                _say(failed[-1])
                continue
        for w in caught:      # what the user must know (e.g. too few calibration samples), once per message
            text = str(w.message)
            if issubclass(w.category, NotPredictedWarning):   # the same problems come in attrs, said once below
                continue
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
        if args.output == "-":                    # -o -: the CSV on stdout (messages stay on stderr)
            table.to_csv(sys.stdout, index=False, float_format="%.6g")
            out = "standard output"
        else:
            with atomic_path(out) as tmp:
                table.to_csv(tmp, index=False, float_format="%.6g")
    except OSError as exc:
        _say(f"{out}: cannot write the predictions ({exc.strerror or exc})")
        return EXIT_FAILED
    if not args.quiet:
        _say(f"wrote {len(table)} predictions of {len(frames)} file(s) to {out} (coverage {args.coverage:g}); "
             f"{len(failed)} input(s) not predicted")
    extra = summary_text(table)          # quality-flagged, clipped, unsupported rows: said even with --quiet
    if extra:
        _say(extra)
    return EXIT_PARTIAL if failed or partial else EXIT_OK


def _named(path, message: str) -> str:
    """``message`` beginning with the file's name (once)."""
    return message if message.startswith(str(path)) else f"{path}: {message}"


def _info(args) -> int:
    bundle = load_bundle(args.model, engine="numpy")
    if args.json:
        man = read_manifest(args.model)
        print(json.dumps({"manifest": man, "info": bundle.info, "strategies": {s: list(v) for s, v in
                                                                               bundle.strategies.items()},
                          "default_strategy": bundle.default_strategy}, indent=1, default=str))
    else:
        print(bundle.describe())
    return EXIT_OK


COMMANDS = {"predict": _predict, "info": _info}
