"""How close the world's spectra come to real ones (notebook 01): a classifier two-sample test
(:func:`soilnb.data.realism.realism_auc`) of real vs the world's MIR and NIR, with the spectra to draw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soilnb.core.config import Config
from soilnb.data.library import World
from soilnb.data.realism import (
    load_real_kssl_toy,
    load_real_nirsoil,
    nir_common_footing,
    realism_auc,
)
from soilnb.spectra.scatter import snv


@dataclass
class RealismCheck:
    """One check: its AUC (0.5 = indistinguishable) and the SNV spectra of both sides, or why it was skipped."""

    name: str
    auc: float | None = None
    axis: np.ndarray | None = None
    groups: dict | None = None
    unit: str = "cm-1"
    skipped: str = ""

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.name} realism check skipped: {self.skipped}"
        return (f"{self.name} realism AUC (real vs {self.name}, SNV, PCA + logistic regression, 5-fold CV): "
                f"{self.auc:.3f}")


def mir_realism(world: World, cfg: Config) -> RealismCheck:
    """Real KSSL MIR (the toy file of data/real, ``python -m soilnb.data fetch kssl_toy``) vs the world's averaged KSSL MIR."""
    name = f"{world.source} KSSL MIR"
    if world.kssl is None:
        return RealismCheck(name, skipped="this world holds no MIR library")
    try:
        real_X, real_axis = load_real_kssl_toy()
    except FileNotFoundError as exc:
        return RealismCheck(name, skipped=str(exc))
    sim = world.kssl.average_scans().X
    return RealismCheck(name, realism_auc(real_X, sim, seed=cfg.seed), real_axis,
                        {"real KSSL (toy file)": snv(real_X), f"{world.source} KSSL": snv(sim)})


def nir_realism(world: World, cfg: Config) -> RealismCheck:
    """Real NIR (prospectr's NIRsoil) vs the world's Paired NIR, at the Neospectra's resolution."""
    name = f"{world.source} Paired NIR"
    if world.paired_nir is None:
        return RealismCheck(name, skipped="this world holds no Paired NIR set", unit="nm")
    try:
        nir_A, nir_axis = load_real_nirsoil()
    except (FileNotFoundError, ImportError) as exc:
        return RealismCheck(name, skipped=str(exc), unit="nm")
    real_c, sim_c, axis_c = nir_common_footing(nir_A, nir_axis, world.paired_nir.X, world.paired_nir.axis)
    return RealismCheck(name, realism_auc(real_c, sim_c, seed=cfg.seed), axis_c,
                        {"real NIR (NIRsoil)": snv(real_c), f"{world.source} Paired NIR": snv(sim_c)}, unit="nm")
