"""``soilnb train``, ``evaluate`` and ``adapt`` (:mod:`soilnb.apply.cli` imports this module only for them)."""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from soilnb.apply.adaptation import adapt_bundle
from soilnb.apply.bundle import load_bundle
from soilnb.apply.console import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from soilnb.apply.console import say as _say
from soilnb.apply.defaults import evaluation_figure
from soilnb.apply.evaluate import evaluate_bundle, summary_lines
from soilnb.apply.evaluate_figure import save_evaluation_figure
from soilnb.apply.train import parse_units, train_bundle
from soilnb.core.cache import atomic_path


@contextlib.contextmanager
def _reported(quiet: bool):
    """Run a long step: its cache messages (stdout) go to stderr, or nowhere with ``quiet``; each UserWarning
    becomes one ``soilnb: warning:`` line (once per message)."""
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(os.devnull, "w")) if quiet else sys.stderr
        stack.enter_context(contextlib.redirect_stdout(sink))
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        try:
            yield
        finally:
            if not quiet:
                for text in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)):
                    _say(f"warning: {text}")


def _train(args) -> int:
    with _reported(args.quiet):      # the reading problems and the join report are said before the training starts
        result = train_bundle(args.files, args.properties, lab=args.lab, id_rule=args.id_rule,
                              units=parse_units(args.unit), id_column=args.id_column, sheet=args.sheet,
                              profile=args.profile, seed=args.seed, out=args.out, min_samples=args.min_samples,
                              progress=False, log=None if args.quiet else _say)
    for line in result.problems if args.quiet else ():
        _say(line)
    if not args.quiet:
        b = result.bundle
        cal = ", ".join(f"{s} n={c.n}" for s, c in b.calibration.items())
        _say(f"trained on {result.samples} samples ({', '.join(b.properties)}; profile {args.profile}, seed "
             f"{args.seed}); intervals calibrated on held-out samples ({cal}); bundle written to {result.folder}")
    return EXIT_PARTIAL if result.problems else EXIT_OK


def _evaluate(args) -> int:
    if not 0 < args.coverage < 1:
        _say(f"--coverage must be between 0 and 1 (e.g. 0.9), got {args.coverage}")
        return EXIT_FAILED
    bundle = load_bundle(args.model)        # the torch engine: the numbers of apply.evaluate_bundle(folder)
    strategy = None if args.strategy == "default" else args.strategy
    with _reported(args.quiet):
        ev = evaluate_bundle(bundle, args.files, args.lab, id_rule=args.id_rule, units=parse_units(args.unit),
                             id_column=args.id_column, sheet=args.sheet, coverage=args.coverage,
                             strategy=strategy, normalized=args.normalized)
    for line in ev.problems:
        _say(line)
    out = Path(args.output)
    figure = evaluation_figure(args.output, args.figure)
    written = []            # the figure first: a figure that cannot be drawn leaves no CSV behind
    try:
        if figure is not None:
            with atomic_path(figure) as tmp:
                save_evaluation_figure(ev, tmp)
            written.append(str(figure))
        with atomic_path(out) as tmp:
            ev.table.to_csv(tmp, index=False, float_format="%.6g")
        written.append(str(out))
        if args.predictions:
            with atomic_path(Path(args.predictions)) as tmp:
                ev.predictions.to_csv(tmp, index=False, float_format="%.6g")
    except OSError as exc:
        _say(f"cannot write the evaluation ({exc.strerror or exc}: {exc.filename or out}); "
             + (f"written: {', '.join(written)}" if written else "nothing written"))
        return EXIT_FAILED
    if not args.quiet:
        for line in ev.report + summary_lines(ev):
            _say(line)
        _say(f"wrote {out}" + (f" and {figure}" if figure is not None else "")
             + (f" and {args.predictions}" if args.predictions else "")
             + f"; {len(ev.problems)} input(s) not predicted")
    return EXIT_PARTIAL if ev.problems else EXIT_OK


def _adapt(args) -> int:
    try:
        weights = tuple(float(w) for w in args.weights.split(",") if w.strip())
    except ValueError:
        weights = ()
    if not weights or min(weights) <= 0:
        _say(f"--weights must be positive numbers separated by commas (e.g. 1,16,256), got {args.weights!r}")
        return EXIT_FAILED
    with _reported(args.quiet):
        res = adapt_bundle(args.model, args.files, args.lab, id_rule=args.id_rule, units=parse_units(args.unit),
                           id_column=args.id_column, sheet=args.sheet, weights=weights, n_folds=args.folds,
                           seed=args.seed, out=args.out)
    for line in res.problems:
        _say(line)
    if not args.quiet:
        r = res.record
        for line in res.report:
            _say(line)
        for head, h in r["heads"].items():
            _say(f"{head}: {h['method']}" + "".join(
                f"; {p}: weight {w:g}, {h['components'][p]} components, correction {h['correction'][p]}"
                for p, w in (h["weight"] or {}).items()))
        _say(f"adapted with {r['n_local']} local samples ({r['folds']}-fold local CV); intervals recalibrated on "
             f"their out-of-fold residuals; bundle written to {res.folder}")
    return EXIT_PARTIAL if res.problems else EXIT_OK


COMMANDS = {"train": _train, "evaluate": _evaluate, "adapt": _adapt}
