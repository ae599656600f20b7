"""The summary ``run_all.sh`` prints at the end of a run, and records in the figures folder's ``manifest.json``.

::

    python -m soilnb.report.summary --times build/notebooks/smoke/run.tsv --figures figures/smoke \\
        --notebooks build/notebooks/smoke --report build/report/smoke --profile smoke --run-id ID \\
        --started 2025-01-01T12:00:00 [--param NAME VALUE]...

The times file is what ``run_all.sh`` writes while it runs, one tab-separated line per notebook it was asked
to run: ``notebook  status  seconds  note``, with status ``ran``, ``current`` (up to date, not executed again;
note: the run that last executed it, whose skips it keeps), ``skipped`` (note: why, from
:func:`soilnb.stages.plan.notebook_plan`), ``failed`` (note: its log) or ``not run`` (note: why, e.g. an earlier
notebook failed). The items skipped inside notebooks are those :func:`soilnb.report.output.record_skip` recorded
under the run's id.

The summary says what ran (each notebook with its wall time), what was skipped and why, which notebook failed and
where its log is, where the outputs are (figures folder, executed notebooks, HTML report, results page) and the
claims table (``table_claims.csv``, written by :mod:`soilnb.report.claims`), one line per claim. It is written
into ``manifest.json`` as ``runs[<id>]`` (profile, parameters, soilnb version, start and end time, the
notebooks, the skips, the outputs) with ``last_run`` naming it; the executed notebooks are tidied
(:func:`soilnb.report.html.tidy_notebook`) and rendered with the index (:func:`soilnb.report.html.build_report`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from soilnb import __version__
from soilnb.core import paths
from soilnb.report.html import HTMLExporter, build_report, read_table, tidy_notebook
from soilnb.report.output import update_run

STATUSES = ("ran", "current", "skipped", "failed", "not run")


def read_times(path) -> list[dict]:
    """The notebooks of a run from ``run_all.sh``'s times file (see the module's docstring), in order."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        name, status, seconds, note = (line.split("\t") + ["", "", ""])[:4]
        if status not in STATUSES:
            raise ValueError(f"{path}: unknown status {status!r} for {name} (one of {', '.join(STATUSES)})")
        row = {"notebook": name, "status": status, "seconds": float(seconds) if seconds else None}
        if status == "failed":
            row["log"] = note
        elif status == "current":
            row["executed_by"] = note
        elif note:
            row["reason"] = note
        rows.append(row)
    return rows


def _kept_skips(figures: Path, nbs: list[dict]) -> list[dict]:
    """The items the up-to-date notebooks skipped when they last ran (recorded under that run in the manifest)."""
    try:
        runs = json.loads((figures / "manifest.json").read_text()).get("runs", {})
    except (OSError, ValueError):
        return []
    return [s for n in nbs if n["status"] == "current"
            for s in (runs.get(n.get("executed_by", ""), {}).get("skipped") or []) if s.get("notebook") == n["notebook"]]


def shown(path) -> str:
    """``path`` relative to the repository root where it lies inside it (shorter to read), else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def _cut(text, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


PLURAL = {"holds": "hold", "does not hold": "do not hold"}


def claims_lines(claims: pd.DataFrame, width: int = 120) -> list[str]:
    """The claims table, two lines a claim: the verdict and the claim, then ours beside the paper's value (each
    line cut to ``width`` characters)."""
    counts = claims["verdict"].value_counts()
    head = ", ".join(f"{n} {PLURAL.get(v, v) if n != 1 else v}" for v, n in counts.items())
    lines = [f"claims ({head}):"]
    for _, r in claims.iterrows():
        lines.append(f"  {r['verdict']:<14} " + _cut(r["claim"], width - 17))
        ours, paper = (str(r.get(c, "")).strip() for c in ("ours", "paper"))
        if ours or paper not in ("", "-"):
            vs = f"ours: {ours or '-'}" + (f" | paper: {paper}" if paper not in ("", "-") else "")
            lines.append(" " * 17 + _cut(vs, width - 17))
    return lines


def summary_text(run: dict, figures_dir) -> str:
    """The printed summary of the run record ``run`` (as :func:`main` writes it into the manifest)."""
    nbs = run.get("notebooks", [])
    by = {s: [n for n in nbs if n["status"] == s] for s in STATUSES}
    status = run.get("status", "?")
    lines = [f"== run summary: profile {run.get('profile')}, {status}, run {run.get('id')}, "
             f"soilnb {run.get('soilnb')}, {run.get('started')} to {run.get('ended')} =="]
    params = run.get("parameters") or {}
    if params:
        lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    lines.append(f"ran ({len(by['ran'])}):" if by["ran"] else "ran: nothing")
    lines += [f"  {n['notebook']:<30} {n['seconds'] or 0:8.1f} s" for n in by["ran"]]
    if by["current"]:
        lines.append(f"up to date, not executed again ({len(by['current'])}; run_all.sh --force executes them):")
        lines += [f"  {n['notebook']:<30} as run {n.get('executed_by') or '?'} left it" for n in by["current"]]
    if by["failed"]:
        lines.append(f"FAILED ({len(by['failed'])}):")
        lines += [f"  {n['notebook']:<30} {n['seconds'] or 0:8.1f} s   log: {n.get('log', '?')}" for n in by["failed"]]
    if by["not run"]:
        lines.append(f"not run ({len(by['not run'])}):")
        lines += [f"  {n['notebook']:<30} {n.get('reason', '')}" for n in by["not run"]]
    if by["skipped"]:
        lines.append(f"skipped notebooks ({len(by['skipped'])}):")
        lines += [f"  {n['notebook']:<30} {n.get('reason', '')}" for n in by["skipped"]]
    skipped = run.get("skipped", [])
    if skipped:
        lines.append(f"skipped inside notebooks ({len(skipped)}):")
        lines += [f"  {s.get('notebook') or '?'}: {s['item']}: {s['reason']} (get it: {s['fix']})" for s in skipped]
    else:
        lines.append("skipped inside notebooks: nothing")
    lines.append("outputs:")
    lines += [f"  {k:<20} {v}" for k, v in run.get("outputs", {}).items()]
    claims = Path(figures_dir) / "table_claims.csv"
    if claims.exists():
        try:
            table = read_table(claims)
            lines += claims_lines(table)
            written = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(claims.stat().st_mtime))
            if run.get("started") and written < run["started"]:
                lines.append(f"  (table_claims.csv is from an earlier run, {written})")
        except (KeyError, ValueError, pd.errors.ParserError) as exc:
            lines.append(f"claims: {shown(claims)} could not be read ({exc})")
    else:
        lines.append("claims: no table_claims.csv in the figures folder")
    if run.get("seconds") is not None:
        lines.append(f"{status} in {run['seconds']:.0f} s")
    return "\n".join(lines)


def _results_page(figures_dir: Path, report_dir: Path, started: str | None) -> Path | None:
    """The results page (:mod:`soilnb.report.results_page`) if this run wrote one."""
    for page in (report_dir / "results.md", paths.ROOT / "docs" / "results.md"):
        if page.exists():
            written = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(page.stat().st_mtime))
            if not started or written >= started:
                return page
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soilnb.report.summary", description=__doc__.split("\n")[0])
    ap.add_argument("--times", required=True, help="run_all.sh's times file (notebook, status, seconds, note)")
    ap.add_argument("--figures", required=True, help="the run's figures folder")
    ap.add_argument("--notebooks", required=True, help="the folder of the executed notebooks")
    ap.add_argument("--report", required=True, help="where the HTML report goes")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--run-id", default=None, help="the run's id (default: $SOILNB_RUN_ID)")
    ap.add_argument("--started", default=None, help="when the run started (ISO, local time)")
    ap.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--no-html", action="store_true", help="leave the HTML report out")
    args = ap.parse_args(argv)

    figures, notebooks, report = Path(args.figures), Path(args.notebooks), Path(args.report)
    run_id = args.run_id or os.environ.get("SOILNB_RUN_ID") or time.strftime("%Y%m%dT%H%M%S")
    nbs = read_times(args.times)
    executed = [notebooks / n["notebook"] for n in nbs if n["status"] in ("ran", "failed")]
    executed = [p for p in executed if p.exists()]
    for nb in executed:
        try:
            tidy_notebook(nb)
        except Exception as exc:                 # a damaged notebook is named, never costs the summary
            print(f"summary: could not tidy {shown(nb)}: {type(exc).__name__}: {exc}", file=sys.stderr)

    ended = time.strftime("%Y-%m-%dT%H:%M:%S")
    failed = [n["notebook"] for n in nbs if n["status"] == "failed"]
    outputs = {"figures and tables": shown(figures) + "/", "manifest": f"{shown(figures / 'manifest.json')} "
               f"(runs.{run_id})", "executed notebooks": shown(notebooks) + "/"}
    html_note = None
    if not args.no_html:
        outputs["HTML report"] = shown(report / "index.html")
        if HTMLExporter is None:
            html_note = "HTML notebook pages left out: nbconvert is not installed (pip install nbconvert)"
    page = _results_page(figures, report, args.started)
    if page is not None:
        outputs["results page"] = shown(page)
    fields = {"id": run_id, "profile": args.profile, "parameters": dict(args.param), "soilnb": __version__,
              "started": args.started, "ended": ended, "status": "failed" if failed else "ok",
              "notebooks": nbs, "outputs": outputs}
    if args.started:
        try:
            fields["seconds"] = round(time.mktime(time.strptime(ended, "%Y-%m-%dT%H:%M:%S"))
                                      - time.mktime(time.strptime(args.started, "%Y-%m-%dT%H:%M:%S")), 1)
        except ValueError:
            pass
    if failed:
        fields["failed"] = failed
    run = update_run(figures, run_id, fields, last=True)
    for skip in _kept_skips(figures, nbs):        # an up-to-date notebook's skips, as its last execution said them
        run = update_run(figures, run_id, skip=skip)
    run.setdefault("skipped", [])
    executed += [notebooks / n["notebook"] for n in nbs
                 if n["status"] == "current" and (notebooks / n["notebook"]).exists()]

    if not args.no_html:
        try:
            build_report(run, figures, report, executed)
        except Exception as exc:                 # the printed summary still comes
            html_note = f"HTML report failed: {type(exc).__name__}: {exc}"
    print(summary_text(run, figures))
    if html_note:
        print(html_note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
