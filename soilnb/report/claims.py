"""The claims table: each qualitative claim of the paper, and each of our own, checked on a run's tables.

One row per claim: ``claim_id``, ``source`` (where the claim is made), ``claim``, ``paper`` (the paper's value, or
its words where it gives no number), ``ours``, ``rule`` (what "holds" means, stated before looking at a result)
and ``verdict``: ``holds``, ``does not hold``, ``not run`` (the run did not write the table the claim needs, e.g. a
MIR-only world, ``run_all.sh --only``, or a table there written by a run with other parameters) or ``undetermined`` (the table is there but lacks what the rule needs).

Every rule compares with something that could come out the other way: a baseline strategy, an ablation's other
arm, the paper's own table, a binomial bound, a guarantee. None holds by construction (texture sums after ILR, Xi
at most 1, shapes and row counts are tested in ``tests/``, not claimed here). Where the paper states the claim on
numbers (Appendix B), the ``paper`` column applies the same rule to the paper's own table
(:func:`soilnb.core.references.read_reference`), so both columns are computed alike.

``python -m soilnb.report.claims FIGURES_DIR`` reads the tables a run wrote there and writes
``table_claims.csv`` beside them (``run_all.sh`` calls it at the end of every run); the notebooks print the rows
their own tables decide (:func:`claims_table` with the tables in memory, :func:`claims_text`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from soilnb.apply.intervals import binomial_tolerance
from soilnb.core.references import read_reference
from soilnb.core.vocab import PAPER_NAMES, TEXTURE
from soilnb.core.cache import atomic_path
from soilnb.report.output import _record, read_manifest
from soilnb.stages.strategies import strategy_means

COLUMNS = ["claim_id", "source", "claim", "paper", "ours", "rule", "verdict"]
VERDICTS = ("holds", "does not hold", "not run", "undetermined")
MIR, NIR, CONV = ("MIR-PLSR", "MIR-MLP"), ("NIR-PLSR", "NIR-MLP"), ("NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP")
#: The properties for which the paper reports that conversion helped NIR (Sect. 3.3).
PAPER_CONVERSION_HELPS = ("IC", "CEC", "Silt", "Sand")
#: Nominal coverage of the bundle's intervals (notebook 08) and the CV+ bound 1 - 2 alpha (Barber et al. 2021).
COVERAGE, CV_PLUS_BOUND = 0.90, 0.80


@dataclass(frozen=True)
class Claim:
    """A claim, the tables it needs and the function that returns ``(ours, holds)`` from them."""

    claim_id: str
    source: str
    claim: str
    paper: str | Callable[[], str]
    rule: str
    needs: tuple[str, ...]
    check: Callable[..., tuple[str, bool | None]]


def _verdict(holds) -> str:
    if holds is None or (isinstance(holds, float) and math.isnan(holds)):
        return "undetermined"
    return "holds" if bool(holds) else "does not hold"


def _means(table_b: pd.DataFrame, metric: str = "ccc") -> pd.Series:
    return strategy_means(table_b).set_index("strategy")[metric]


def _have(series: pd.Series, names) -> bool:
    return all(n in series.index and np.isfinite(series[n]) for n in names)


def _fmt(series: pd.Series, names) -> str:
    return "/".join(f"{series[n]:.2f}" for n in names)


# --------------------------------------------------------------------------------------------- Sect. 3.3
def mir_beats_nir(table_b):
    m = _means(table_b)
    if not _have(m, MIR + NIR):
        return "", None
    return (f"mean CCC MIR-PLSR/MIR-MLP {_fmt(m, MIR)} vs NIR-PLSR/NIR-MLP {_fmt(m, NIR)}",
            m[list(MIR)].min() > m[list(NIR)].max())


def ssl_beats_raw_mir(table_b, metric="ccc"):
    m = _means(table_b, metric)
    if not _have(m, ("MIR-SSL-MLP",) + MIR):
        return "", None
    return (f"mean {metric.upper()} MIR-SSL-MLP {m['MIR-SSL-MLP']:.2f} vs MIR-PLSR/MIR-MLP {_fmt(m, MIR)}",
            m["MIR-SSL-MLP"] > m[list(MIR)].max())


def conversion_beats_nir(table_b):
    m = _means(table_b)
    if not _have(m, CONV + NIR):
        return "", None
    return (f"mean CCC NIRtoMIR-MLP/NIRtoMIR-SSL-MLP {_fmt(m, CONV)} vs NIR-PLSR/NIR-MLP {_fmt(m, NIR)}",
            m[list(CONV)].max() > m[list(NIR)].max())


def conversion_helps_properties(table_b):
    piv = table_b.pivot_table(index="property", columns="strategy", values="ccc")
    if not set(CONV + NIR) <= set(piv.columns):
        return "", None
    names = {PAPER_NAMES.get(p, p): p for p in piv.index}
    helped = [n for n, p in names.items() if piv.loc[p, list(CONV)].max() > piv.loc[p, list(NIR)].max()]
    of_paper = [n for n in PAPER_CONVERSION_HELPS if n in helped]
    asked = [n for n in PAPER_CONVERSION_HELPS if n in names]
    if not asked:
        return f"helps for {', '.join(helped) or 'none'}", None
    return (f"helps for {', '.join(helped) or 'none'} ({len(of_paper)} of the paper's {len(asked)})",
            len(of_paper) >= math.ceil(len(asked) / 2))


# --------------------------------------------------------------------------------------------- Sect. 3.4
def independent_below_internal(fig7):
    napt = fig7[fig7["dataset"] == "NAPT"]["ccc_percentile_in_cv"].dropna()
    if napt.empty:
        return "", None
    below = float((napt < 50).mean())
    return (f"{below:.0%} of {len(napt)} NAPT markers below the internal CV median CCC "
            f"(median percentile {napt.median():.0f})", below >= 0.75)


def validation_within_internal(fig7):
    paired = fig7[fig7["dataset"] == "Paired"]["ccc_percentile_in_cv"].dropna()
    if paired.empty:
        return "", None
    inside = float(((paired >= 5) & (paired <= 95)).mean())
    return (f"{inside:.0%} of {len(paired)} Paired-validation markers within the 5-95th percentiles of "
            f"internal CV CCC", inside >= 0.5)


def training_share_flagged(shift):
    row = shift[shift["set"] == "KSSL (training)"]
    if row.empty:
        return "", None
    share = float(row["flagged_share"].iloc[0])
    return f"{share:.3f} of the KSSL training embeddings flagged", 0.02 <= share <= 0.10


# --------------------------------------------------------------------------------------------- ablations
def _texture_mean(metrics, variant):
    rows = metrics[(metrics["variant"] == variant) & metrics["property"].isin([PAPER_NAMES[t] for t in TEXTURE]
                                                                                + list(TEXTURE))]
    return rows["ccc"].mean() if len(rows) else np.nan


def ilr_helps_mir(ilr):
    a, b = _texture_mean(ilr, "MIR-ILR-MLP"), _texture_mean(ilr, "MIR-MLP")
    if not (np.isfinite(a) and np.isfinite(b)):
        return "", None
    return f"mean texture CCC MIR-ILR-MLP {a:.3f} vs MIR-MLP {b:.3f}", a > b


def ilr_hurts_conversion(ilr):
    a, b = _texture_mean(ilr, "NIRtoMIR-ILR-MLP"), _texture_mean(ilr, "NIRtoMIR-MLP")
    if not (np.isfinite(a) and np.isfinite(b)):
        return "", None
    return f"mean texture CCC NIRtoMIR-ILR-MLP {a:.3f} vs NIRtoMIR-MLP {b:.3f}", a < b


def fno_inferior(fno):
    piv = fno.pivot_table(index="property", columns="variant", values="ccc")
    mlp, f = "NIRtoMIR-MLP (MLP conversion)", "NIRtoMIR-MLP (FNO conversion)"
    if not {mlp, f} <= set(piv.columns):
        return "", None
    worse = int((piv[f] < piv[mlp]).sum())
    return (f"mean CCC FNO {piv[f].mean():.3f} vs MLP {piv[mlp].mean():.3f}; FNO lower for {worse} of "
            f"{len(piv)} properties", piv[f].mean() < piv[mlp].mean() and worse > len(piv) / 2)


# --------------------------------------------------------------------------------------------- our own
def decoder_beats(conversion, baseline):
    r = conversion.set_index(["method", "dataset"])["rmse"]
    sets = [d for d in ("validation", "test") if ("frozen-decoder", d) in r.index and (baseline, d) in r.index]
    if not sets:
        return "", None
    return ("; ".join(f"{d} MIR RMSE {r[('frozen-decoder', d)]:.4f} vs {r[(baseline, d)]:.4f}" for d in sets),
            all(r[("frozen-decoder", d)] < r[(baseline, d)] for d in sets))


def exchangeable_coverage(coverage):
    ex = coverage[(coverage["condition"] == "exchangeable") & (coverage["interval"] == "plain")]
    if ex.empty:
        return "", None
    parts, ok = [], True
    for rng, g in ex.groupby("range", sort=True):
        m = int(g["n"].iloc[0])
        tol = binomial_tolerance(COVERAGE, m * len(g), m)
        parts.append(f"{rng} {g['coverage'].mean():.3f} (+-{tol:.3f}, {len(g)} models x {m} samples)")
        ok &= abs(g["coverage"].mean() - COVERAGE) <= tol
    return "; ".join(parts), ok


def limesoda_cv_plus(coverage_limesoda):
    c = coverage_limesoda.dropna(subset=["coverage", "n"])
    if c.empty:
        return "", None
    pooled = float((c["coverage"] * c["n"]).sum() / c["n"].sum())
    return f"pooled CV+ coverage {pooled:.3f} over {len(c)} cases", pooled >= CV_PLUS_BOUND


def _paper(check, *args):
    """The paper's value of a claim made on Appendix B: the same rule on the paper's own table."""
    return lambda: check(read_reference("appendix_b"), *args)[0]


CLAIMS: tuple[Claim, ...] = (
    Claim("mir_beats_nir", "paper, Sect. 3.3, Fig. 5", "MIR models beat NIR models",
          _paper(mir_beats_nir), "lowest mean test CCC of MIR-PLSR, MIR-MLP > highest of NIR-PLSR, NIR-MLP",
          ("table_appendix_b",), mir_beats_nir),
    Claim("ssl_beats_mir_ccc", "paper, Sect. 3.3, Fig. 5", "SSL embeddings beat raw MIR spectra (CCC)",
          _paper(ssl_beats_raw_mir), "mean test CCC of MIR-SSL-MLP > both raw-MIR baselines",
          ("table_appendix_b",), ssl_beats_raw_mir),
    Claim("ssl_beats_mir_rpiq", "paper, Sect. 3.3, Fig. 6", "SSL embeddings beat raw MIR spectra (RPIQ)",
          _paper(ssl_beats_raw_mir, "rpiq"), "mean test RPIQ of MIR-SSL-MLP > both raw-MIR baselines",
          ("table_appendix_b",), lambda t: ssl_beats_raw_mir(t, "rpiq")),
    Claim("conversion_beats_nir", "paper, Sect. 3.3 and abstract", "NIR -> MIR conversion beats the NIR baselines",
          _paper(conversion_beats_nir), "best mean test CCC of the two NIRtoMIR strategies > both NIR baselines",
          ("table_appendix_b",), conversion_beats_nir),
    Claim("conversion_helps_properties", "paper, Sect. 3.3", "conversion helps NIR for IC, CEC, silt and sand",
          _paper(conversion_helps_properties),
          "a NIRtoMIR strategy beats both NIR baselines (test CCC) for at least half of IC, CEC, silt, sand",
          ("table_appendix_b",), conversion_helps_properties),
    Claim("independent_below_internal", "paper, Sect. 3.4, Fig. 7",
          "independent-test performance falls below the internal CV range",
          "NAPT consistently lower than its internal 10x10 CV range",
          "at least 75 % of the NAPT markers (NIR-PLSR, NIRtoMIR-SSL-MLP) below the internal CV median CCC",
          ("table_fig7_summary",), independent_below_internal),
    Claim("validation_within_internal", "paper, Sect. 3.4, Fig. 7",
          "random-split validation performance falls within the internal CV range",
          "Paired validation within the expected range",
          "at least half of the Paired-validation markers within the 5-95th percentiles of internal CV CCC",
          ("table_fig7_summary",), validation_within_internal),
    Claim("training_share_flagged", "paper, Sect. 2.5, Eq. 19",
          "at alpha = 0.05, about 5 % of training objects lie beyond the Pomerantsev limit",
          "0.05 expected", "KSSL training share flagged between 0.02 and 0.10",
          ("table_shift",), training_share_flagged),
    Claim("ilr_helps_mir", "paper, Sect. 3.5, Fig. 8", "ILR texture targets improve the MIR-MLP",
          "improves clay, silt and sand", "mean test CCC over clay, silt, sand: MIR-ILR-MLP > MIR-MLP",
          ("table_ilr_ablation",), ilr_helps_mir),
    Claim("ilr_hurts_conversion", "paper, Sect. 3.5, Fig. 8", "ILR texture targets worsen the NIRtoMIR-MLP",
          "worsened", "mean test CCC over clay, silt, sand: NIRtoMIR-ILR-MLP < NIRtoMIR-MLP",
          ("table_ilr_ablation",), ilr_hurts_conversion),
    Claim("fno_inferior", "paper, Appendix C, Fig. C.9", "an FNO converter is inferior to the MLP encoder",
          "inferior in all predicted models",
          "test CCC of the FNO conversion below the MLP conversion on average and for most (over half) properties",
          ("table_fno_ablation",), fno_inferior),
    Claim("decoder_beats_pls2", "ours, notebook 03",
          "the frozen-decoder conversion beats a direct PLS2 NIR -> MIR", "-",
          "MIR RMSE of the frozen decoder < PLS2 baseline, on Paired validation and on the test set",
          ("table_conversion",), lambda t: decoder_beats(t, "PLS2 baseline")),
    Claim("decoder_beats_mean", "ours, notebook 03",
          "the frozen-decoder conversion beats the training-mean MIR spectrum", "-",
          "MIR RMSE of the frozen decoder < training-mean spectrum, on Paired validation and on the test set",
          ("table_conversion",), lambda t: decoder_beats(t, "training-mean spectrum")),
    Claim("exchangeable_coverage", "ours, notebook 08",
          "90 % split-conformal intervals cover 90 % of exchangeable held-out samples", "-",
          "mean coverage within 3 binomial sd (test and calibration) of 0.90, per spectral range",
          ("table_coverage",), exchangeable_coverage),
    Claim("limesoda_cv_plus", "ours, notebook 08",
          "CV+ intervals on the real LimeSoDa sets keep their guarantee", "-",
          "pooled coverage of the 90 % CV+ intervals at least 1 - 2 alpha = 0.80 (Barber et al. 2021)",
          ("table_coverage_limesoda",), limesoda_cv_plus),
)


def claims_table(tables: dict[str, pd.DataFrame], only_decided: bool = False) -> pd.DataFrame:
    """The claims decided by ``tables`` (table name -> frame, e.g. ``{"table_appendix_b": table_b}``); claims
    whose tables are absent are ``not run`` (left out with ``only_decided``)."""
    rows = []
    for c in CLAIMS:
        paper = c.paper() if callable(c.paper) else c.paper
        missing = [n for n in c.needs if n not in tables or tables[n] is None]
        if missing:
            if not only_decided:
                rows.append([c.claim_id, c.source, c.claim, paper, f"({', '.join(missing)} not written)", c.rule,
                             "not run"])
            continue
        ours, holds = c.check(*(tables[n] for n in c.needs))
        rows.append([c.claim_id, c.source, c.claim, paper, ours, c.rule, _verdict(holds)])
    return pd.DataFrame(rows, columns=COLUMNS)


def _signature(entry) -> str:
    """The run parameters a manifest entry records (profile, source, seed, sizes, overrides), as one key."""
    keep = {k: v for k, v in (entry or {}).items() if k not in ("written", "seconds", "soilnb")}
    return json.dumps(keep, sort_keys=True, default=str)


def claims_from_folder(folder) -> pd.DataFrame:
    """:func:`claims_table` on the CSV tables a run wrote into ``folder``: those written with the parameters of the
    newest of them (a table left there by a run with other parameters, e.g. another seed, counts as not written)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    names = sorted({n for c in CLAIMS for n in c.needs})
    present = [n for n in names if (folder / f"{n}.csv").exists()]
    entries = {n: manifest.get(f"{n}.csv") if isinstance(manifest.get(f"{n}.csv"), dict) else {} for n in present}
    newest = max(present, key=lambda n: str(entries[n].get("written", "")), default=None)
    wanted = _signature(entries[newest]) if newest else None
    tables = {n: pd.read_csv(folder / f"{n}.csv") for n in present if _signature(entries[n]) == wanted}
    return claims_table(tables)


def claims_text(table: pd.DataFrame) -> str:
    """One line per claim: verdict, claim, ours and (where it differs from ours) the paper's value."""
    lines = []
    for r in table.itertuples(index=False):
        paper = f" | paper: {r.paper}" if r.paper not in ("-", "") else ""
        lines.append(f"[{r.verdict}] {r.claim}: {r.ours}{paper}")
    return "\n".join(lines)


def write_claims(folder) -> pd.DataFrame:
    """Write ``table_claims.csv`` into ``folder`` from the tables there and return it; its manifest entry names the
    run (profile, seed, source, ...) that wrote the tables it was computed from."""
    folder = Path(folder)
    table = claims_from_folder(folder)
    manifest = read_manifest(folder)
    needed = [f"{n}.csv" for c in CLAIMS for n in c.needs]
    written = [manifest[n] for n in needed if isinstance(manifest.get(n), dict)]
    run = max(written, key=lambda e: str(e.get("written", "")), default={})
    path = folder / "table_claims.csv"
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    _record(folder, [path], None, {k: v for k, v in run.items() if k not in ("written", "seconds", "soilnb")})
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m soilnb.report.claims", description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="a run's figures folder (figures/ or figures/<profile>/)")
    ap.add_argument("-q", "--quiet", action="store_true", help="write the table, print nothing")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"claims: no figures folder at {folder}", file=sys.stderr)
        return 2
    table = write_claims(folder)
    if not args.quiet:
        print(f"claims ({(table['verdict'] == 'holds').sum()} hold, {(table['verdict'] == 'does not hold').sum()} "
              f"do not, {(table['verdict'] == 'not run').sum()} not run) -> {folder / 'table_claims.csv'}")
        print(claims_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
