"""Sect. 3.5 and Appendix C: the ILR ablation (Fig. 8) and the FNO converter ablation (Fig. C.9)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilnb.core.cache import code_hash
from soilnb.core.config import Config
from soilnb.core.vocab import TEXTURE
from soilnb.models.checkpoints import load_fno
from soilnb.models.inference import convert, embed
from soilnb.models.torchutil import resolve_device
from soilnb.models.train import train_fno
from soilnb.stages.features import world_of
from soilnb.stages.regressions import get_regressions
from soilnb.stages.training import VAE_CODE, get_nir_to_mir, model_cache
from soilnb.stats.conversion import conversion_scores
from soilnb.stats.metrics import paper_metrics_table
from soilnb.stats.shift import ShiftDetector


@dataclass
class AblationResult:
    metrics: pd.DataFrame
    closure: pd.DataFrame | None = None
    conversion: pd.DataFrame | None = None


def _scores(observed: pd.DataFrame, preds: dict, properties) -> pd.DataFrame:
    return paper_metrics_table(observed, preds, properties=properties).rename(columns={"strategy": "variant"})


def ilr_ablation(cfg: Config, F, vae, n2m) -> AblationResult:
    """MIR-MLP and NIRtoMIR-MLP with texture as two ILR coordinates vs three plain targets (test set)."""

    with_ilr = get_regressions(cfg, F, vae, n2m)
    plain = get_regressions(cfg, F, vae, n2m, strategies=("MIR-MLP", "NIRtoMIR-MLP"), texture="none")
    preds = {"MIR-MLP": plain.predictions["test"]["MIR-MLP"],
             "MIR-ILR-MLP": with_ilr.predictions["test"]["MIR-MLP"],
             "NIRtoMIR-MLP": plain.predictions["test"]["NIRtoMIR-MLP"],
             "NIRtoMIR-ILR-MLP": with_ilr.predictions["test"]["NIRtoMIR-MLP"]}
    closure = []
    for name, p in preds.items():
        dev = (p[list(TEXTURE)].sum(axis=1) - 100.0).abs()
        closure.append({"variant": name, "mean_abs_dev": float(dev.mean()), "max_abs_dev": float(dev.max()),
                        "share_off_by_more_than_1pct": float((dev > 1.0).mean())})
    return AblationResult(_scores(with_ilr.observed["test"], preds, TEXTURE), pd.DataFrame(closure))


def get_fno(cfg: Config, F):
    """The Appendix C FNO converter trained from scratch on the Paired training split, cached."""


    params = {**cfg.keys("fno"), "world": world_of(cfg, F), "device": resolve_device(cfg.device).type,
              "code": code_hash(*VAE_CODE, "stages.ablation")}
    return model_cache("fno", params, lambda: train_fno(
        F.paired_nir, F.paired_mir, F.paired_id, split=F.paired_split, modes=cfg.fno_modes, width=cfg.fno_width, epochs=cfg.fno_epochs,
        batch_size=cfg.nir_batch, lr=cfg.nir_lr, seed=cfg.seed, device=cfg.device), load_fno)


def fno_ablation(cfg: Config, F, vae, n2m) -> AblationResult:
    """NIR -> MIR by an FNO vs the frozen-decoder MLP, each followed by the same MIR-MLP (test set)."""

    res = get_regressions(cfg, F, vae, n2m)
    fno, _ = get_fno(cfg, F)
    n_mir = F.test_mir.shape[1]
    mir_fno = convert(fno, F.test_nir, n_out=n_mir)
    preds = {"NIRtoMIR-MLP (MLP conversion)": res.predictions["test"]["NIRtoMIR-MLP"],
             "NIRtoMIR-MLP (FNO conversion)": res.models["MIR-MLP"].predict(mir_fno)}
    _, va = F.paired_split
    conv = []
    for name, nir, mir in (("validation", F.paired_nir[va], F.paired_mir[va]), ("test", F.test_nir, F.test_mir)):
        conv.append({"dataset": name, "method": "MLP (frozen decoder)", **conversion_scores(mir, convert(n2m, nir))})
        conv.append({"dataset": name, "method": "FNO (from scratch)",
                     **conversion_scores(mir, convert(fno, nir, n_out=n_mir))})
    return AblationResult(_scores(res.observed["test"], preds, tuple(res.observed["test"].columns)),
                          conversion=pd.DataFrame(conv))


def latent_prior_ablation(cfg: Config, F, vae, n2m, weight: float = 1e-2) -> AblationResult:
    """The paper's NIR -> MIR loss vs the same loss plus a latent prior of ``weight`` (see
    :func:`soilnb.models.train.train_nir_to_mir`): NIRtoMIR-MLP and NIRtoMIR-SSL-MLP on the test set, the
    Paired-validation MIR error and the share of NIR embeddings flagged as shifted."""


    res = get_regressions(cfg, F, vae, n2m)
    det = ShiftDetector(alpha=cfg.alpha).fit(embed(vae, F.kssl))
    preds, rows = {}, []
    for w in dict.fromkeys((cfg.nir_latent_prior, weight)):    # once when the run already uses ``weight``
        model, hist = (n2m, None) if w == cfg.nir_latent_prior else get_nir_to_mir(
            dataclasses.replace(cfg, nir_latent_prior=w), F, vae)
        if hist is None:
            hist = get_nir_to_mir(cfg, F, vae)[1]
        z = embed(model, F.test_nir)
        preds[f"NIRtoMIR-MLP (prior {w:g})"] = res.models["MIR-MLP"].predict(convert(model, F.test_nir))
        preds[f"NIRtoMIR-SSL-MLP (prior {w:g})"] = res.models["MIR-SSL-MLP"].predict(z)
        rows.append({"latent_prior": w, "best_val_mir_mse": float(np.min(hist["val_mir_mse"])),
                     "test_nir_flagged_share": float(det.predict(z).mean())})
    return AblationResult(_scores(res.observed["test"], preds, tuple(res.observed["test"].columns)),
                          conversion=pd.DataFrame(rows))
