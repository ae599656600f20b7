"""Stage 3 and the reliability analysis as cached steps: the NIR -> MIR conversions of the
evaluation sets, the seven strategies (Sect. 2.4) and the internal 10 x 10 CV of Fig. 7.

Each step's cache key holds the configuration keys of its stage (:meth:`soilnb.core.config.Config.keys`)
and the code it runs (:func:`soilnb.core.cache.code_hash`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from soilnb.core.cache import cached, code_hash
from soilnb.core.config import Config
from soilnb.core.vocab import PAPER_NAMES, STRATEGIES
from soilnb.models.inference import convert, embed
from soilnb.stages.features import Features, world_of
from soilnb.stages.strategies import fit_strategies
from soilnb.stages.training import REG_CODE, vae_params
from soilnb.stats.conversion import PLS2Converter
from soilnb.stats.cv import repeated_cv_pls
from soilnb.stats.targets import TargetTransformer


def get_conversions(cfg: Config, F: Features, vae, n2m) -> dict:
    """Observed and predicted MIR of the Paired validation split and the test set, for the
    frozen-decoder method, the PLS2 baseline (fitted on the Paired training split) and the
    training-mean MIR spectrum (the no-information floor), cached."""

    params = {**cfg.keys("nir"), **vae_params(cfg, vae.cfg.latent_dim, F), "pls_max_components": cfg.pls_max_components,
              "code": code_hash(*REG_CODE)}

    def compute():
        tr, va = F.paired_split
        pls2 = PLS2Converter(max_components=cfg.pls_max_components, random_state=cfg.seed)
        pls2.fit(F.paired_nir[tr], F.paired_mir[tr], groups=F.paired_id[tr])
        out = {}
        for name, nir, mir in (("validation", F.paired_nir[va], F.paired_mir[va]), ("test", F.test_nir, F.test_mir)):
            out[name] = {"observed": mir, "frozen-decoder": convert(n2m, nir), "PLS2 baseline": pls2.predict(nir),
                         # the floor any converter must beat: the training-mean MIR spectrum, whatever the NIR
                         "training-mean spectrum": np.tile(F.paired_mir[tr].mean(0), (len(mir), 1)),
                         "latent": embed(n2m, nir)}
        out["pls2_components"] = pls2.n_components_
        return out

    conv = cached("conversions", params, compute)
    return {k: v for k, v in conv.items() if k != "pls2_components"}


# ---------------------------------------------------------------------------------- stage 3
def get_regressions(cfg: Config, F: Features, vae, n2m, strategies=None, texture: str = "ilr"):
    """Stage 3: the seven strategies fitted and evaluated (test set and Paired validation), cached."""

    strategies = tuple(strategies or STRATEGIES)
    params = {**cfg.keys("regress"), **vae_params(cfg, vae.cfg.latent_dim if vae is not None else None, F),
              "strategies": strategies,
              "texture": texture, "code": code_hash(*REG_CODE)}
    return cached("regressions", params, lambda: fit_strategies(cfg, F, vae, n2m, strategies, texture))


# ---------------------------------------------------------------------------------- reliability
def get_internal_cv(cfg: Config, F: Features) -> pd.DataFrame:
    """Fig. 7 background: repeated grouped CV of PLSR inside the Paired and the test NIR sets, cached.

    Targets go through the same transforms as the strategies (log1p, ILR); metrics on the
    original scale. Returns one row per (dataset, repeat, fold, property).
    """

    params = {**cfg.keys("cv"), "world": world_of(cfg, F),
              "code": code_hash(*REG_CODE)}

    def compute():
        out = []
        for name, X, Y, g in (("Paired", F.paired_nir, F.paired_Y, F.paired_id), ("NAPT", F.test_nir, F.test_Y, F.test_id)):
            cv = repeated_cv_pls(X, Y, g, n_splits=cfg.cv_folds, n_repeats=cfg.cv_repeats,
                                 max_components=cfg.pls_max_components, random_state=cfg.seed,
                                 target_transform=TargetTransformer())
            cv.insert(0, "dataset", name)
            out.append(cv)
        df = pd.concat(out, ignore_index=True)
        df["property"] = df["property"].map(lambda p: PAPER_NAMES.get(p, p))
        return df

    return cached("internal_cv", params, compute)
