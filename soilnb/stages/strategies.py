"""Stage 3: the paper's seven prediction strategies (Sect. 2.4, Figs 5-6, Appendix B).

===================  ====================================  ==============================
strategy             trained on                            input at prediction time
===================  ====================================  ==============================
MIR-PLSR             KSSL complete rows, averaged scans    MIR (SNV)
MIR-MLP              same                                  MIR (SNV)
MIR-SSL-MLP          same, 32-d VAE embeddings             VAE embedding of MIR
NIR-PLSR             Paired training split                 NIR (SNV)
NIR-MLP              same                                  NIR (SNV)
NIRtoMIR-MLP         = MIR-MLP                             NIR -> predicted MIR (frozen decoder)
NIRtoMIR-SSL-MLP     = MIR-SSL-MLP                         NIR -> latent (NIR encoder)
===================  ====================================  ==============================

Targets go through :class:`soilnb.stats.targets.TargetTransformer` (log1p for TC, TN, IC, EOC, CEC and
skewed extras; ILR for texture when clay, silt and sand are all modelled) fitted on each training set; every prediction is back-transformed to the
original scale before scoring. MLPs are multi-task (all targets at once); PLSR is fitted per
target with its number of components chosen by cross-validation.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from soilnb.core.config import Config
from soilnb.core.vocab import PAPER_TEXT_MEANS, STRATEGIES
from soilnb.models.inference import convert, embed
from soilnb.models.mlp import MLPRegressor
from soilnb.models.torchutil import IDLE_WORKER_S, available_cpus, resolve_device, torch_threads
from soilnb.stats.pls import PerTargetPLSR
from soilnb.stats.targets import TargetTransformer


def make_mlp(cfg: Config, seed_offset: int = 0):

    return MLPRegressor(hidden=cfg.mlp_hidden, depth=2, dropout=cfg.mlp_dropout, weight_decay=cfg.mlp_weight_decay,
                        lr=cfg.mlp_lr, epochs=cfg.mlp_epochs, batch_size=cfg.mlp_batch, patience=cfg.mlp_patience,
                        random_state=cfg.seed + seed_offset, device=cfg.device)


@dataclass
class Regressor:
    """A fitted model plus the target transformer of its training set."""

    model: object
    targets: TargetTransformer

    def predict(self, X) -> pd.DataFrame:
        return self.targets.inverse_transform(self.model.predict(X))


def fit_regressor(kind: str, X, Y: pd.DataFrame, groups, cfg: Config, texture: str = "ilr",
                  seed_offset: int = 0) -> Regressor:
    """Fit a PLSR (``kind="pls"``) or multi-task MLP (``kind="mlp"``) on transformed targets."""
    tt = TargetTransformer(texture=texture).fit(Y)
    T = tt.transform(Y)
    if kind == "pls":
        model = PerTargetPLSR(max_components=cfg.pls_max_components, cv=5, random_state=cfg.seed)
    elif kind == "mlp":
        model = make_mlp(cfg, seed_offset)
    else:
        raise ValueError(f"kind must be 'pls' or 'mlp', got {kind!r}")
    model.fit(np.asarray(X, np.float32), T, groups=groups)
    return Regressor(model, tt)


def _fit_on_one_thread(kind: str, X, Y, groups, cfg: Config, texture: str, seed_offset: int):
    """:func:`fit_regressor` on one torch and one BLAS thread, with the warnings it raised (as text and class:
    those of a worker process would otherwise be lost)."""
    with warnings.catch_warnings(record=True) as caught, torch_threads(1), threadpool_limits(1):
        warnings.simplefilter("always")
        reg = fit_regressor(kind, X, Y, groups, cfg, texture, seed_offset)
    return reg, [(str(w.message), w.category) for w in caught]


#: :func:`fit_regressors` starts worker processes only when its largest training matrix holds this many values
#: (rows x columns; the default profile's KSSL spectra: 10 million): smaller fits take less than a process start.
PARALLEL_MIN_VALUES = 2_000_000


def fit_regressors(jobs: dict, cfg: Config, texture: str = "ilr", workers: int | None = None,
                   min_values: int = PARALLEL_MIN_VALUES) -> dict:
    """``{name: Regressor}`` of ``jobs`` (``{name: (kind, X, Y, groups, seed_offset)}``), as :func:`fit_regressor`
    fits each.

    On the CPU, with two or more jobs and CPUs and a training matrix of ``min_values`` values or more, the jobs
    run at once in ``workers`` processes (default two, or one where one CPU is available: each holds its own copy
    of the training matrix; joblib's loky, as the LimeSoDa benchmark), each on one torch and one BLAS thread, the
    networks first (the costliest). A fit is the same bit for bit on one thread as on two (tested), and two fits
    side by side use a 2-core machine better than one fit on two threads (the default profile's five regressors,
    taken in turn: 14.6 s and 17.4 s side by side, 25.1 s and 18.7 s one after another on two threads; on one
    thread alone 8.5, 10.7, 4.1, 0.2 and 0.7 s). Their warnings are raised again here once all have ended (text
    and class; they point at the caller, not at the line that warned). Otherwise the jobs run here one after
    another, on the caller's threads.
    """
    workers = min(available_cpus(), 2) if workers is None else int(workers)
    largest = max((np.size(job[1]) for job in jobs.values()), default=0)
    on_cpu = all(job[0] != "mlp" for job in jobs.values()) or resolve_device(cfg.device).type == "cpu"
    if workers < 2 or len(jobs) < 2 or largest < min_values or not on_cpu:
        return {name: fit_regressor(kind, X, Y, g, cfg, texture, seed_offset=offset)
                for name, (kind, X, Y, g, offset) in jobs.items()}
    order = sorted(jobs, key=lambda name: jobs[name][0] != "mlp")          # networks first, stable otherwise
    done = Parallel(n_jobs=min(workers, len(jobs)), backend="loky", batch_size=1,
                    idle_worker_timeout=IDLE_WORKER_S)(
        delayed(_fit_on_one_thread)(kind, X, Y, g, cfg, texture, offset)
        for kind, X, Y, g, offset in (jobs[name] for name in order))
    fitted = dict(zip(order, done))
    for name in jobs:
        for message, category in fitted[name][1]:
            warnings.warn(message, category, stacklevel=2)
    return {name: fitted[name][0] for name in jobs}


@dataclass
class StrategyResults:
    """Fitted regressors and back-transformed predictions of each strategy on each evaluation set."""

    models: dict = field(default_factory=dict)
    predictions: dict = field(default_factory=dict)   # {dataset: {strategy: DataFrame}}
    observed: dict = field(default_factory=dict)      # {dataset: DataFrame}
    skipped: dict = field(default_factory=dict)       # {strategy or "strategy on dataset": reason}


#: What each strategy trains on (the Features parts it needs) and the range its input comes from.
NEEDS = {"MIR-PLSR": ("kssl",), "MIR-MLP": ("kssl",), "MIR-SSL-MLP": ("kssl",),
         "NIR-PLSR": ("paired_nir",), "NIR-MLP": ("paired_nir",),
         "NIRtoMIR-MLP": ("kssl", "paired_nir", "paired_mir"), "NIRtoMIR-SSL-MLP": ("kssl", "paired_nir", "paired_mir")}
LIBRARY_NAMES = {"kssl": "MIR library (KSSL)", "paired_nir": "Paired NIR", "paired_mir": "Paired MIR"}
#: How each regressor is fitted: (kind, seed offset, input: SNV spectra or the VAE's latent embedding). The
#: bundle's calibration refit (:mod:`soilnb.apply.build`) reads the same table, so both fit alike.
REGRESSORS = {"MIR-PLSR": ("pls", 0, "spectra"), "MIR-MLP": ("mlp", 1, "spectra"), "MIR-SSL-MLP": ("mlp", 2, "latent"),
              "NIR-PLSR": ("pls", 0, "spectra"), "NIR-MLP": ("mlp", 3, "spectra")}


def available_strategies(F, strategies=STRATEGIES) -> tuple[list[str], dict[str, str]]:
    """``(runnable, skipped)``: the ``strategies`` the features can train, and why each other one cannot."""
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {STRATEGIES}")
    ok, skipped = [], {}
    for s in strategies:
        missing = [LIBRARY_NAMES[n] for n in NEEDS[s] if getattr(F, n) is None]
        if missing:
            skipped[s] = f"needs {' and '.join(missing)} spectra, which this world does not hold"
        else:
            ok.append(s)
    return ok, skipped


def fit_strategies(cfg: Config, F, vae, n2m, strategies=STRATEGIES, texture: str = "ilr",
                   eval_sets=("test", "validation")) -> StrategyResults:
    """Fit ``strategies`` and predict the independent test set and the Paired validation split.

    ``F`` is a :class:`soilnb.stages.features.Features`, ``vae`` the stage-1 model, ``n2m`` the stage-2
    model. The Paired split is the same grouped 80/20 split that trained the NIR -> MIR model. A strategy
    the world cannot train (a MIR-only or NIR-only world), or an evaluation set without the range a
    strategy's input comes from, is skipped with a warning and recorded in ``skipped``.
    """

    unknown = sorted(set(eval_sets) - {"test", "validation"})
    if unknown:
        raise ValueError(f"unknown evaluation sets {unknown}; choose from ('test', 'validation')")
    strategies, skipped = available_strategies(F, strategies)
    sets = {}
    if F.test_Y is not None:
        sets["test"] = (F.test_mir, F.test_nir, F.test_Y)
    if F.paired_split is not None:
        va = F.paired_split[1]
        sets["validation"] = (None if F.paired_mir is None else F.paired_mir[va], F.paired_nir[va],
                              F.paired_Y.iloc[va].reset_index(drop=True))
    for name in eval_sets:
        if name not in sets:
            skipped[f"all on {name}"] = f"this world has no {'test' if name == 'test' else 'Paired'} set"
    eval_sets = [k for k in eval_sets if k in sets]
    res = StrategyResults(observed={k: sets[k][2] for k in eval_sets}, skipped=skipped)
    need = set(strategies)
    m = res.models
    # the regressors the strategies need (NIRtoMIR-* reuse the MIR ones), fitted as REGRESSORS says
    uses = {"MIR-PLSR": {"MIR-PLSR"}, "MIR-MLP": {"MIR-MLP", "NIRtoMIR-MLP"},
            "MIR-SSL-MLP": {"MIR-SSL-MLP", "NIRtoMIR-SSL-MLP"}, "NIR-PLSR": {"NIR-PLSR"}, "NIR-MLP": {"NIR-MLP"}}
    tr = F.paired_split[0] if F.paired_split is not None else None
    jobs = {}
    for name, (kind, offset, feats) in REGRESSORS.items():
        if not need & uses[name]:
            continue
        if name.startswith("MIR"):
            X, Y, g = F.kssl, F.kssl_Y, F.kssl_id
        else:
            X, Y, g = F.paired_nir[tr], F.paired_Y.iloc[tr].reset_index(drop=True), F.paired_id[tr]
        jobs[name] = (kind, embed(vae, X) if feats == "latent" else X, Y, g, offset)
    m.update(fit_regressors(jobs, cfg, texture))
    for name in eval_sets:
        mir, nir, observed = sets[name]
        inputs = {
            "MIR-PLSR": ("MIR-PLSR", lambda: mir), "MIR-MLP": ("MIR-MLP", lambda: mir),
            "MIR-SSL-MLP": ("MIR-SSL-MLP", lambda: embed(vae, mir)),
            "NIR-PLSR": ("NIR-PLSR", lambda: nir), "NIR-MLP": ("NIR-MLP", lambda: nir),
            "NIRtoMIR-MLP": ("MIR-MLP", lambda: convert(n2m, nir)),
            "NIRtoMIR-SSL-MLP": ("MIR-SSL-MLP", lambda: embed(n2m, nir)),
        }
        res.predictions[name] = {}
        for s in strategies:
            if (mir if s.startswith("MIR") else nir) is None:
                skipped[f"{s} on {name}"] = f"the {name} set has no {'MIR' if s.startswith('MIR') else 'NIR'} spectra"
                continue
            res.predictions[name][s] = m[inputs[s][0]].predict(inputs[s][1]())[list(observed.columns)]
    if skipped:
        warnings.warn("skipped: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()), stacklevel=2)
    return res


def strategy_means(table: pd.DataFrame, metrics=("ccc", "rpiq")) -> pd.DataFrame:
    """Average of each metric across properties per strategy (the averages the paper's text quotes)."""
    order = list(dict.fromkeys(table["strategy"]))
    return table.groupby("strategy", sort=False)[list(metrics)].mean().reindex(order).reset_index()


def qualitative_findings(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's qualitative claims, each checked on a metrics table (Appendix B layout); a claim about
    strategies that did not run (a MIR-only or NIR-only world) is left out."""
    means = strategy_means(table).set_index("strategy")
    piv = table.pivot(index="property", columns="strategy", values="ccc")
    ran = set(means.index)
    mir, nir, conv = ["MIR-PLSR", "MIR-MLP"], ["NIR-PLSR", "NIR-MLP"], ["NIRtoMIR-MLP", "NIRtoMIR-SSL-MLP"]
    rows = []
    if ran >= {*mir, *nir}:
        rows.append(("MIR models beat NIR models (mean CCC of MIR-PLSR/MIR-MLP > NIR-PLSR/NIR-MLP)",
                     means.loc[mir, "ccc"].min() > means.loc[nir, "ccc"].max()))
    if ran >= {*mir, "MIR-SSL-MLP"}:
        rows.append(("SSL embeddings beat raw MIR on average (mean CCC MIR-SSL-MLP > MIR-PLSR and MIR-MLP)",
                     means.loc["MIR-SSL-MLP", "ccc"] > means.loc[mir, "ccc"].max()))
        rows.append(("SSL embeddings beat raw MIR on average (mean RPIQ)",
                     means.loc["MIR-SSL-MLP", "rpiq"] > means.loc[mir, "rpiq"].max()))
    if ran >= {*nir, *conv}:
        helped = sorted(piv.index[piv[conv].max(axis=1) > piv[nir].max(axis=1)])
        rows.append((f"conversion helps NIR for some properties (CCC of a NIRtoMIR strategy > best NIR baseline): "
                     f"{', '.join(helped) or 'none'}", len(helped) > 0))
        rows.append(("conversion helps NIR on average (mean CCC of NIRtoMIR-MLP > both NIR baselines)",
                     means.loc["NIRtoMIR-MLP", "ccc"] > means.loc[nir, "ccc"].max()))
    return pd.DataFrame(rows, columns=["finding", "holds"])


def strategy_means_vs_paper(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`strategy_means` beside the averages the paper's text quotes (Sect. 3.3)."""
    return strategy_means(table).merge(PAPER_TEXT_MEANS, on="strategy")


def variant_means(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean CCC and RPIQ over properties per variant of an ablation table."""
    return metrics.groupby("variant", sort=False)[["ccc", "rpiq"]].mean().reset_index()
