"""The static HTML report of a run: one page a reviewer opens, offline, without JavaScript.

``run_all.sh`` builds it at the end of every run (through :mod:`soilnb.report.summary`) into
``build/report/`` (default profile) or ``build/report/<profile>/``:

* ``index.html``: the run summary (what ran, its wall time, what was skipped and why), the claims table
  (``table_claims.csv``), each figure of the figures folder (PNG, copied into ``figures/`` beside the page) with the
  tables that put ours beside the paper's values, the run's other tables (folded) and links to the notebook pages;
* one page per executed notebook (nbconvert's :class:`~nbconvert.HTMLExporter`; the notebooks' images are
  already embedded in their outputs).

Tables are the CSVs' text as written (read as strings), so the page shows exactly the numbers of the files.

:func:`tidy_notebook` drops the progress bars' widget outputs and saved widget state from an executed notebook:
their state is bulky (a dozen widget models per bar), and outside a live kernel they only show the bar's first
frame. ``python -m soilnb.report.html --tidy NOTEBOOK...`` does that to notebooks given on the command line.
"""
from __future__ import annotations

import argparse
import html
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd

try:                                 # nbconvert renders the notebook pages; without it the index says so
    from nbconvert import HTMLExporter
except ImportError:
    HTMLExporter = None

from soilnb.core.cache import atomic_path
from soilnb.report.output import read_manifest

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: Sections of the index: a title, the figures (PNG stems) and the tables (CSV stems) shown together; the
#: tables listed are those that put ours beside the paper's values or summarise the figure. Figures and tables
#: that no section names are shown under "Other figures" and "Other tables".
SECTIONS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("Appendix A and Fig. 1: the data", ("fig1_bands", "data_mir_repeats", "data_nir_examples",
                                         "realism_mir_overlay", "realism_nir_overlay"),
     ("table_appendix_a_vs_paper",)),
    ("Fig. 3: the MIR VAE and its latent space", ("vae_training", "vae_reconstruction", "fig3_latent"),
     ("table_latent_size", "table_latent_xi_peaks")),
    ("Fig. 4: NIR to MIR through the frozen decoder", ("nir_to_mir_training", "fig4_nir_to_mir",
                                                      "conversion_error_by_wavenumber"),
     ("table_conversion",)),
    ("Figs. 2, 5, 6 and Appendix B: the strategies", ("fig2_strategies", "fig5_ccc", "fig6_rpiq"),
     ("table_strategy_means", "table_paper_vs_reproduced")),
    ("Fig. 7: reliability and the latent shift", ("fig7_reliability", "fig_shift"),
     ("table_fig7_summary", "table_shift")),
    ("Fig. 8 and Fig. C9: the ILR and FNO ablations", ("fig8_ilr", "figC9_fno"),
     ("table_ilr_ablation", "table_fno_ablation", "table_latent_prior_summary")),
    ("LimeSoDa: real spectra against published results", ("fig_limesoda_r2",),
     ("table_limesoda_vs_published",)),
    ("The model bundle on new scans", ("fig_coverage",), ("table_coverage_summary", "table_bundle_on_limesoda")),
]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.scroll { max-height: 28em; overflow: auto; display: inline-block; max-width: 100%; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.holds { background: #e3f4e3; } .does-not-hold { background: #f9e0e0; } .not-run, .undetermined { color: #777; }
.ran { color: #1a6e1a; } .failed { color: #b00; font-weight: bold; } .skipped, .not-run-nb { color: #777; }
.old { color: #a60; }
code { background: #f5f5f5; padding: 0 3px; }
"""


# ----------------------------------------------------------------------------- executed notebooks
def tidy_notebook(path) -> int:
    """Drop widget outputs (the progress bars) and saved widget state from the notebook at ``path``, in place.
    Returns how many outputs were dropped (the file is rewritten only when something changed)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    dropped = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
        dropped += len(cell.outputs) - len(keep)
        cell.outputs = keep
    state = nb.metadata.pop("widgets", None)
    if dropped or state is not None:
        with atomic_path(path) as tmp:
            nbformat.write(nb, str(tmp))
    return dropped


def notebook_page(notebook, out_html) -> Path:
    """Render an executed notebook to a standalone HTML page (nbconvert, images embedded)."""
    if HTMLExporter is None:
        raise ImportError("nbconvert is not installed (pip install nbconvert)")
    nb = nbformat.read(Path(notebook), as_version=4)
    nb.metadata.pop("widgets", None)                 # no widget state: the page needs no widget renderer
    body, _ = HTMLExporter(template_name="lab", embed_images=True).from_notebook_node(nb)
    out_html = Path(out_html)
    with atomic_path(out_html) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return out_html


# ----------------------------------------------------------------------------- the index
def _e(text) -> str:
    return html.escape(str(text))


def read_table(path) -> pd.DataFrame:
    """A CSV as written (every cell a string, empty cells empty), so the page shows the file's own numbers."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def table_html(df: pd.DataFrame, max_rows: int | None = None, classes: str = "") -> str:
    """``df`` as an HTML table (pandas ``to_html``), at most ``max_rows`` rows (the rest counted below it)."""
    more = ""
    if max_rows is not None and len(df) > max_rows:
        more = f"<p>… {len(df) - max_rows} more rows in the CSV.</p>"
        df = df.head(max_rows)
    return f'<div class="scroll">{df.to_html(index=False, border=0, classes=classes or None, escape=True)}</div>{more}'


def claims_html(claims: pd.DataFrame) -> str:
    """The claims table with each row coloured by its verdict."""
    cols = [c for c in ("claim_id", "source", "claim", "paper", "ours", "rule", "verdict") if c in claims.columns]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    rows = []
    for _, r in claims.iterrows():
        cls = str(r.get("verdict", "")).replace(" ", "-")
        rows.append(f'<tr class="{_e(cls)}">' + "".join(f"<td>{_e(r[c])}</td>" for c in cols) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _written(manifest: dict, name: str, started: str | None) -> str:
    """A figure's caption note from the manifest: when it was written, and whether by an earlier run."""
    entry = manifest.get(name)
    if not isinstance(entry, dict) or "written" not in entry:
        return ""
    when = entry["written"]
    if started and when < started:
        return f' <span class="old">(from an earlier run, {_e(when)})</span>'
    return f" (written {_e(when)})"


def _link(where: str, report_dir: Path) -> str:
    """``where`` (a path, relative to the working folder, maybe followed by a note in brackets) as a link relative to
    the report's folder where that path exists, so that the page opens it; else as code."""
    target = Path(where.split(" (")[0])
    if target.exists() and not (report_dir / "index.html").resolve() == target.resolve():
        href = os.path.relpath(target.resolve(), report_dir.resolve())
        return f'<a href="{_e(Path(href).as_posix())}"><code>{_e(where)}</code></a>'
    return f"<code>{_e(where)}</code>"


def _run_html(run: dict, pages: dict[str, str], report_dir: Path) -> str:
    """The run summary as HTML: the notebooks (status, wall time, why skipped, where the log is), the items
    skipped inside notebooks, and where the outputs are."""
    rows = []
    for nb in run.get("notebooks", []):
        name, status = nb["notebook"], nb["status"]
        link = f'<a href="{_e(pages[name])}">{_e(name)}</a>' if name in pages else _e(name)
        secs = f"{nb['seconds']:.1f} s" if nb.get("seconds") is not None else ""
        note = _e(nb.get("reason", ""))
        if nb.get("log"):
            note += f" log: <code>{_e(nb['log'])}</code>"
        cls = "not-run-nb" if status == "not run" else status
        rows.append(f'<tr><td>{link}</td><td class="{_e(cls)}">{_e(status)}</td><td>{secs}</td><td>{note}</td></tr>')
    out = ["<table><thead><tr><th>notebook</th><th>status</th><th>wall time</th><th>note</th></tr></thead>"
           f"<tbody>{''.join(rows)}</tbody></table>"]
    skipped = run.get("skipped", [])
    if skipped:
        items = "".join(f"<li>{_e(s.get('notebook') or '?')}: <b>{_e(s['item'])}</b>: {_e(s['reason'])} "
                        f"(get it: <code>{_e(s['fix'])}</code>)</li>" for s in skipped)
        out.append(f"<p>Skipped inside the notebooks:</p><ul>{items}</ul>")
    else:
        out.append("<p>Nothing was skipped inside the notebooks.</p>")
    where = run.get("outputs", {})
    if where:
        items = "".join(f"<li>{_e(k)}: {_link(v, report_dir)}</li>" for k, v in where.items())
        out.append(f"<p>Where the outputs are:</p><ul>{items}</ul>")
    return "\n".join(out)


def build_report(run: dict, figures_dir, report_dir, notebooks=()) -> Path:
    """Write ``<report_dir>/index.html`` for ``run`` (the run's record, see :mod:`soilnb.report.summary`), one HTML
    page per executed notebook in ``notebooks``, and copies of the figures folder's PNGs in ``<report_dir>/figures/``.
    Returns the index's path."""
    figures_dir, report_dir = Path(figures_dir), Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    for old in report_dir.glob("*.html"):            # pages of an earlier run (a notebook this one did not run)
        old.unlink()
    shutil.rmtree(report_dir / "figures", ignore_errors=True)
    (report_dir / "figures").mkdir()

    pages, failed_pages = {}, []
    for nb in notebooks:
        nb = Path(nb)
        try:
            notebook_page(nb, report_dir / f"{nb.stem}.html")
            pages[nb.name] = f"{nb.stem}.html"
        except Exception as exc:                      # a damaged notebook must not cost the index
            failed_pages.append(f"{nb.name}: {type(exc).__name__}: {exc}")

    manifest = read_manifest(figures_dir)
    started = run.get("started")
    pngs = {p.stem: p for p in sorted(figures_dir.glob("*.png"))}
    csvs = {p.stem: p for p in sorted(figures_dir.glob("*.csv"))}
    for p in pngs.values():
        shutil.copy2(p, report_dir / "figures" / p.name)

    def figure(stem: str) -> str:
        name = f"{stem}.png"
        return (f'<figure><img src="figures/{_e(name)}" alt="{_e(stem)}">'
                f"<figcaption>{_e(name)}{_written(manifest, name, started)}</figcaption></figure>")

    def table(stem: str, max_rows: int | None = None) -> str:
        try:
            df = read_table(csvs[stem])
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            return f"<p>{_e(stem)}.csv could not be read: {_e(exc)}</p>"
        return f"<h4>{_e(stem)}.csv{_written(manifest, stem + '.csv', started)}</h4>{table_html(df, max_rows)}"

    status = run.get("status", "?")
    title = f"soilnb run, profile {run.get('profile', '?')}: {status}"
    params = run.get("parameters") or {}
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>run <code>{_e(run.get('id', ''))}</code>, soilnb {_e(run.get('soilnb', ''))}, started "
            f"{_e(started or '?')}, ended {_e(run.get('ended', '?'))}; parameters: "
            + (", ".join(f"<code>{_e(k)}={_e(v)}</code>" for k, v in params.items()) or "the profile's") + "</p>",
            "<h2>Run summary</h2>", _run_html(run, pages, report_dir)]
    if failed_pages:
        body.append("<p>Notebook pages that could not be rendered:</p><ul>"
                    + "".join(f"<li>{_e(f)}</li>" for f in failed_pages) + "</ul>")

    body.append("<h2>Claims</h2>")
    if "table_claims" in csvs:
        body.append(f"<p>table_claims.csv{_written(manifest, 'table_claims.csv', started)}</p>")
        body.append(claims_html(read_table(csvs["table_claims"])))
    else:
        body.append("<p>No claims table (table_claims.csv) in the figures folder.</p>")

    body.append("<h2>Paper figures and tables</h2>")
    shown_figs, shown_tabs = set(), {"table_claims"}
    for heading, figs, tabs in SECTIONS:
        have_figs = [f for f in figs if f in pngs]
        have_tabs = [t for t in tabs if t in csvs]
        if not have_figs and not have_tabs:
            continue
        body.append(f"<h3>{_e(heading)}</h3>")
        body.extend(figure(f) for f in have_figs)
        body.extend(table(t) for t in have_tabs)
        shown_figs.update(have_figs)
        shown_tabs.update(have_tabs)
    rest_figs = [f for f in pngs if f not in shown_figs]
    if rest_figs:
        body.append("<h3>Other figures</h3>")
        body.extend(figure(f) for f in rest_figs)
    rest_tabs = [t for t in csvs if t not in shown_tabs]
    if rest_tabs:
        body.append("<h2>Other tables</h2>")
        body.extend(f"<details><summary>{_e(t)}.csv</summary>{table(t, max_rows=200)}</details>" for t in rest_tabs)

    body.append("<h2>Notebooks</h2>")
    if pages:
        body.append("<ul>" + "".join(f'<li><a href="{_e(p)}">{_e(n)}</a></li>' for n, p in pages.items()) + "</ul>")
    else:
        body.append("<p>No notebook ran in this run.</p>")
    body.append(f"<p><small>written {time.strftime('%Y-%m-%dT%H:%M:%S')} by soilnb.report.html from "
                f"{_e(figures_dir)}</small></p>")

    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    index = report_dir / "index.html"
    with atomic_path(index) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return index


def main(argv=None) -> int:
    """``python -m soilnb.report.html --tidy NOTEBOOK...``, or ``FIGURES_DIR REPORT_DIR [NOTEBOOK...]`` to build the
    report from the manifest's last run."""
    ap = argparse.ArgumentParser(prog="python -m soilnb.report.html", description=__doc__.split("\n")[0])
    ap.add_argument("--tidy", action="store_true", help="only drop widget outputs and state from the notebooks given")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args(argv)
    if args.tidy:
        for nb in args.paths:
            print(f"{nb}: {tidy_notebook(nb)} widget outputs dropped")
        return 0
    if len(args.paths) < 2:
        ap.error("give FIGURES_DIR REPORT_DIR [NOTEBOOK...] (or --tidy NOTEBOOK...)")
    manifest = read_manifest(args.paths[0])
    run = manifest.get("runs", {}).get(manifest.get("last_run", ""), {})
    print(build_report(run, args.paths[0], args.paths[1], args.paths[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
