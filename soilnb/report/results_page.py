"""The results page: ``docs/results.md`` written from a run's figures folder, never typed by hand.

::

    python -m soilnb.report.results_page figures                    # default run -> docs/results.md (+ README block)
    python -m soilnb.report.results_page figures/smoke              # other profiles -> build/report/smoke/results.md
    python -m soilnb.report.results_page figures/smoke --out -      # print the page instead

The page holds the tables of the folder that exist (each section is left out when its CSV is missing): the
paper's claims with a verdict (``table_claims.csv``, else ``table_findings.csv``), the mean CCC and RPIQ per
strategy beside the means the paper's text quotes (``table_strategy_means.csv``), Appendix B's CCC per property
and strategy, ours beside the paper's (``table_paper_vs_reproduced.csv``), Appendix A beside the paper
(``table_appendix_a_vs_paper.csv``), the ablations (``table_ilr_ablation.csv``, ``table_fno_ablation.csv``,
``table_latent_prior_summary.csv``), the LimeSoDa benchmark (``table_limesoda_vs_published.csv``) and the interval
coverage (``table_coverage_summary.csv``). It is stamped with the soilnb version, profile, seed, source and date
that the folder's ``manifest.json`` records for those files, and names the command that regenerates it.

Cells copied from a table are the CSV's text as written (the CSVs are written with 4 significant digits by
:func:`soilnb.report.save_table`), so the page shows exactly the numbers of the files; cells computed here
(means over properties, LimeSoDa wins) are rounded to 3 decimals and say so.

Where it goes: a ``default``-profile folder writes ``docs/results.md`` and rewrites the block between
``<!-- results:start -->`` and ``<!-- results:end -->`` in ``README.md`` (the strategy means; no date, so an
unchanged run leaves the README unchanged); any other profile writes ``build/report/<profile>/results.md``, and
is refused if asked to write ``docs/results.md``, so a smoke run never overwrites the documented results.

The markdown tables are made by a small formatter here (:func:`markdown_table`), not ``DataFrame.to_markdown``:
that needs the ``tabulate`` package, which is not among soilnb's dependencies.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from soilnb.core import paths

START, END = "<!-- results:start -->", "<!-- results:end -->"
DOCS_PAGE = paths.ROOT / "docs" / "results.md"
README = paths.ROOT / "README.md"
METRICS = ("rmse", "me", "r2", "ccc", "rpiq")


# --- formatting -------------------------------------------------------------------------------------------------

def _cell(value) -> str:
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """``df`` as a GitHub-flavoured markdown table (cells as ``str`` gives them; empty for NaN/None).

    >>> print(markdown_table(pd.DataFrame({"a": ["1", "x|y"], "b": [0.5, None]})))
    | a | b |
    |---|---|
    | 1 | 0.5 |
    | x\\|y |  |
    """
    lines = ["| " + " | ".join(_cell(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    """A table of the folder as text (the CSV's cells verbatim), or None when it is absent."""
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _pick(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The ``columns`` of ``df`` that exist, renamed; all of ``df`` when none of them does."""
    have = [c for c in columns if c in df.columns]
    return df[have].rename(columns=columns) if have else df


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _r3(x) -> str:
    return "" if pd.isna(x) else f"{x:.3f}"


# --- sections: (title, note, table, files read) ----------------------------------------------------------------

def _claims(folder: Path):
    for name in ("table_claims", "table_findings"):
        df = _read(folder, name)
        if df is None:
            continue
        if name == "table_claims":
            df = _pick(df, {"claim_id": "id", "claim": "claim", "paper": "paper", "ours": "ours",
                            "verdict": "verdict"})
            note = ("Each qualitative claim (the paper's and our own), the paper's value, ours and a verdict; the "
                    "rule behind each verdict and where the claim is made are in the CSV.")
        else:
            note = "Each qualitative claim of the paper checked on our Appendix B."
        return "The paper's claims", note, df, [name]
    return None


def _strategy_means(folder: Path):
    df = _read(folder, "table_strategy_means")
    if df is None:
        return None
    df = _pick(df, {"strategy": "strategy", "ccc": "CCC (ours)", "ccc_paper_text": "CCC (paper)",
                    "rpiq": "RPIQ (ours)", "rpiq_paper_text": "RPIQ (paper)"})
    return ("Mean CCC and RPIQ per strategy", "Averages over the properties on the independent test set, beside "
            "the averages the paper's text quotes (Sect. 3.3; empty where it quotes none).", df,
            ["table_strategy_means"])


def _appendix_b(folder: Path):
    df = _read(folder, "table_paper_vs_reproduced")
    if df is None or not {"property", "strategy", "ccc"} <= set(df.columns):
        return None
    paper = df["ccc_paper"] if "ccc_paper" in df.columns else pd.Series("", index=df.index)
    cell = [f"{o} ({p})" if p else o for o, p in zip(df["ccc"], paper)]
    wide = (df.assign(cell=cell).pivot(index="property", columns="strategy", values="cell")
            .reindex(index=list(dict.fromkeys(df["property"])), columns=list(dict.fromkeys(df["strategy"])))
            .reset_index())
    return ("Appendix B: CCC per property and strategy", "Lin's CCC on the independent test set, ours (paper's). "
            "RMSE, ME, R² and RPIQ beside the paper's are in `table_paper_vs_reproduced.csv`.", wide,
            ["table_paper_vs_reproduced"])


def _appendix_a(folder: Path):
    df = _read(folder, "table_appendix_a_vs_paper")
    if df is None:
        return None
    df = _pick(df, {"property": "property", "dataset": "dataset", "n": "n", "n_paper": "n (paper)",
                    "mean": "mean", "mean_paper": "mean (paper)", "sd": "sd", "sd_paper": "sd (paper)"})
    return ("Appendix A: the data beside the paper's", "Summary statistics of each property per dataset "
            "(all statistics with differences in `table_appendix_a_vs_paper.csv`).", df,
            ["table_appendix_a_vs_paper"])


def _variant_means(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("variant", "strategy") if c in df.columns]
    metrics = [m for m in ("ccc", "rpiq") if m in df.columns]
    if not keys or not metrics:
        return df
    out = df.assign(**{m: _num(df[m]) for m in metrics}).groupby(keys, sort=False)[metrics].mean().reset_index()
    for m in metrics:
        out[m] = out[m].map(_r3)
    return out.rename(columns={"ccc": "mean CCC", "rpiq": "mean RPIQ"})


def _ablations(folder: Path):
    parts, used = [], []
    for name, title in (("table_ilr_ablation", "ILR transform of texture (Fig. 8)"),
                        ("table_fno_ablation", "FNO converter (Fig. C.9)")):
        df = _read(folder, name)
        if df is not None:
            parts.append((title, _variant_means(df)))
            used.append(name)
    prior = _read(folder, "table_latent_prior_summary")
    if prior is not None:
        parts.append(("NIR latent prior (beyond the paper)", prior))
        used.append("table_latent_prior_summary")
    if not parts:
        return None
    return ("Ablations", "Means over the properties per variant (computed here from the per-property tables, "
            "3 decimals).", parts, used)


def _limesoda(folder: Path):
    df = _read(folder, "table_limesoda_vs_published")
    if df is None or not {"r2", "published_r2"} <= set(df.columns):
        return None
    cols = ["r2"] + [c for c in df.columns if c.startswith("r2_") and c != "r2_diff"]
    rows = []
    for col in cols:
        diff = _num(df[col]) - _num(df["published_r2"])
        rows.append({"ours": "best of ours" if col == "r2" else col[3:], "cases": int(diff.notna().sum()),
                     "won": int((diff > 0).sum()), "median R² difference": _r3(diff.median())})
    summary = pd.DataFrame(rows)
    cases = _pick(df, {"dataset": "dataset", "spectral_range": "range", "n": "n", "target": "target",
                       **{c: c[3:] for c in cols[1:]}, "published_r2": "best published",
                       "published_learner": "learner", "r2_diff": "ours − published"})
    return ("LimeSoDa: real spectra against published results (beyond the paper)",
            "Pooled out-of-fold R² per case; cases where our best strategy beats the best published learner "
            "(both chosen after the fact; counts and medians computed here).",
            [("Wins", summary), ("Per case", cases)], ["table_limesoda_vs_published"])


def _coverage(folder: Path):
    df = _read(folder, "table_coverage_summary")
    if df is None:
        return None
    if "interval" in df.columns and (df["interval"] == "plain").any():
        df = df[df["interval"] == "plain"]
    df = _pick(df, {"condition": "condition", "strategy": "strategy", "n": "n", "coverage": "coverage",
                    "coverage_min": "min", "coverage_max": "max", "expected": "expected",
                    "relative_width": "rel. width", "n_flagged": "flagged", "coverage_flagged": "cov. flagged",
                    "coverage_unflagged": "cov. unflagged"})
    return ("Coverage of the bundle's prediction intervals (beyond the paper)",
            "Empirical coverage of the plain conformal intervals (at the bundle's nominal coverage), averaged "
            "over properties (min and max across them), per condition and strategy; width relative to the "
            "property's sd. Normalised intervals are in the CSV.", df, ["table_coverage_summary"])


SECTIONS = (_claims, _strategy_means, _appendix_b, _appendix_a, _ablations, _limesoda, _coverage)


# --- stamp ------------------------------------------------------------------------------------------------------

def read_stamp(folder: Path, files) -> dict:
    """What ``manifest.json`` records about the run(s) that wrote ``files`` (names without ``.csv``).

    Returns ``soilnb``, ``profile``, ``seed``, ``source``, ``overrides`` (each one value, or several joined with
    ", " when the files come from different runs) and ``written`` (the latest). Missing entries give ``"?"``.
    """
    man_path = folder / "manifest.json"
    try:
        manifest = json.loads(man_path.read_text()) if man_path.exists() else {}
    except json.JSONDecodeError:
        manifest = {}
    entries = [manifest[f"{f}.csv"] for f in files if isinstance(manifest.get(f"{f}.csv"), dict)]
    stamp = {}
    for key in ("soilnb", "profile", "seed", "source", "overrides"):
        values = list(dict.fromkeys(json.dumps(e.get(key), sort_keys=True) if key == "overrides"
                                    else str(e.get(key, "?")) for e in entries))
        stamp[key] = ", ".join(values) if values else "?"
    stamp["written"] = max((str(e.get("written", "")) for e in entries), default="") or "?"
    return stamp


def regenerate_command(folder: Path, stamp: dict) -> str:
    """The commands that rewrite this page: the run, then this module on its folder."""
    run = "./run_all.sh" if stamp["profile"] == "default" else f"./run_all.sh --profile {stamp['profile']}"
    try:
        overrides = json.loads(stamp["overrides"])
    except (TypeError, ValueError):
        overrides = None
    if isinstance(overrides, dict):
        run += "".join(f" -p {k} {v}" for k, v in overrides.items())
    try:
        shown = folder.resolve().relative_to(paths.ROOT)
    except ValueError:
        shown = folder
    return f"{run}\npython -m soilnb.report.results_page {shown}"


# --- the page -------------------------------------------------------------------------------------------------

def collect(folder) -> tuple[list, list[str]]:
    """The sections that the folder's tables allow, and the table names they read."""
    folder = Path(folder)
    found = [s for s in (make(folder) for make in SECTIONS) if s is not None]
    return found, [f for s in found for f in s[3]]


def results_page(folder) -> str:
    """The markdown page of the figures folder ``folder`` (see the module docstring)."""
    folder = Path(folder)
    sections, used = collect(folder)
    stamp = read_stamp(folder, used)
    over = "" if stamp["overrides"] in ("{}", "?") else f", overrides {stamp['overrides']}"
    out = ["# Results", "",
           "<!-- generated by soilnb.report.results_page; do not edit by hand -->", "",
           f"soilnb {stamp['soilnb']}, profile `{stamp['profile']}`, seed {stamp['seed']}, source "
           f"`{stamp['source']}`{over}; tables written {stamp['written']}.", "",
           "Regenerate with:", "", "```bash", regenerate_command(folder, stamp), "```", ""]
    if not sections:
        out += [f"No result tables found in `{folder}` (run `./run_all.sh` first).", ""]
    for title, note, table, files in sections:
        out += [f"## {title}", "", note, ""]
        for sub, df in (table if isinstance(table, list) else [(None, table)]):
            if sub:
                out += [f"### {sub}", ""]
            out += [markdown_table(df), ""]
        out += ["Source: " + ", ".join(f"`{f}.csv`" for f in files), ""]
    return "\n".join(out)


def readme_block(folder) -> str | None:
    """The README's short results block (strategy means, no date), or None without the strategy means table."""
    folder = Path(folder)
    made = _strategy_means(folder)
    if made is None:
        return None
    stamp = read_stamp(folder, made[3])
    return "\n".join([f"Mean CCC and RPIQ per strategy over the properties, independent test set (soilnb "
                      f"{stamp['soilnb']}, profile `{stamp['profile']}`, seed {stamp['seed']}, source "
                      f"`{stamp['source']}`; generated from `{made[3][0]}.csv`, all tables in "
                      "[docs/results.md](docs/results.md)):", "", markdown_table(made[2])])


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the results markers replaced by ``block`` (ValueError without them).

    >>> replace_block("a\\n<!-- results:start -->\\nold\\n<!-- results:end -->\\nb", "new")
    'a\\n<!-- results:start -->\\nnew\\n<!-- results:end -->\\nb'
    """
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"no {START} ... {END} block")
    return text[: i + len(START)] + "\n" + block.strip("\n") + "\n" + text[j:]


def default_out(profile: str, source: str = "simulated") -> Path:
    """``docs/results.md`` for the paper run (default profile, simulated world), ``build/report/<profile>/results.md``
    for the other profiles and ``build/report/<source>/<profile>/results.md`` for a run on OSSL or own files."""
    if source not in ("simulated", "?"):
        return paths.BUILD / "report" / source / profile / "results.md"
    return DOCS_PAGE if profile == "default" else paths.BUILD / "report" / profile / "results.md"


def write(folder, out=None, readme=None) -> Path | None:
    """Write the page of ``folder`` to ``out`` (default: :func:`default_out` of the folder's profile; ``"-"``:
    print it) and, for a default-profile folder, the README block (``readme``, default ``README.md``; ``False``:
    leave it). A non-default folder writing ``docs/results.md`` is refused (ValueError)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder (give a run's figures folder, e.g. figures or figures/smoke)")
    page = results_page(folder)
    stamp = read_stamp(folder, collect(folder)[1])
    profile, source = stamp["profile"], stamp["source"]
    paper_run = profile == "default" and source in ("simulated", "?")
    if out == "-":
        sys.stdout.write(page)
        return None
    target = Path(out) if out is not None else default_out(profile, source)
    if target.resolve() == DOCS_PAGE.resolve() and not paper_run:
        raise ValueError(f"{folder} holds a {profile!r} run on {source!r} data; only the default profile on the "
                         f"simulated world writes {DOCS_PAGE.name} under docs/ (default for this run: "
                         f"{default_out(profile, source)})")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page)
    if paper_run and readme is not False:
        path = Path(readme) if readme else README
        block = readme_block(folder)
        if block is not None and path.exists() and START in path.read_text():
            new = replace_block(path.read_text(), block)
            if new != path.read_text():
                path.write_text(new)
    return target


def main(argv=None) -> int:
    """``python -m soilnb.report.results_page FIGURES_DIR [--out PATH|-] [--readme PATH | --no-readme]``."""
    ap = argparse.ArgumentParser(prog="python -m soilnb.report.results_page",
                                 description="Write the results page (markdown) from a run's figures folder.")
    ap.add_argument("figures_dir", help="a run's figures folder (figures, figures/smoke, ...)")
    ap.add_argument("--out", help="where the page goes ('-': stdout); default docs/results.md for the default "
                    "profile, build/report/<profile>/results.md otherwise")
    ap.add_argument("--readme", help="README whose results block a default run rewrites (default README.md)")
    ap.add_argument("--no-readme", action="store_true", help="leave the README's results block alone")
    args = ap.parse_args(argv)
    try:
        target = write(args.figures_dir, args.out, False if args.no_readme else args.readme)
    except ValueError as exc:
        print(f"results_page: {exc}", file=sys.stderr)
        return 2
    if target is not None:
        print(f"results page written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
