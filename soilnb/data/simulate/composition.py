"""Soil compositions and the nine laboratory properties that follow from them.

A simulated soil sample is a mass-fraction vector over :data:`soilnb.data.simulate.bands.CONSTITUENTS` (quartz,
clay minerals, Fe oxides, carbonates, four organic functional groups, adsorbed water, feldspar) plus its
particle-size distribution. The properties are computed *from* that composition, so that the spectra
(drawn from the same composition) carry the information a model must learn:

* IC (CaCO3 equivalent, wt%) = calcite + dolomite x 100.09 / 92.2 (CaCO3 per CaMg(CO3)2 carbonate).
* EOC = organic C; TC = EOC + 0.12 IC (paper Sect. 2.1; ``soilnb.data.library.estimated_organic_carbon``).
* TN = OC / (C:N), C:N lognormal around 11.5 (Cleveland & Liptzin 2007, doi:10.1007/s10533-007-9132-0).
* CEC = sum of clay-mineral CEC (smectite ~100, illite ~25, kaolinite ~6 cmolc/kg) plus organic
  matter (~200 cmolc/kg OM), with lognormal lab noise (Sposito 2008, *The Chemistry of Soils*).
* pH: acid to neutral without carbonates, buffered at 7.8-8.4 with calcite.
* clay + silt + sand = 100 exactly.

The three profiles mimic the paper's Appendix A datasets: ``"kssl"`` (wide, skewed, with organic
horizons and calcareous soils), ``"paired"`` (mineral soils) and ``"napt"`` (cropland proficiency-test
soils: narrower, all slightly calcareous).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from soilnb.core.vocab import PROPERTIES
from soilnb.data.library import estimated_organic_carbon
from soilnb.data.simulate.bands import CONSTITUENTS

#: Sampling parameters per dataset profile (see module docstring).
PROFILES: dict[str, dict] = {
    # sand ~ Beta(a, b); clay share of the fine earth ~ Beta; OC lognormal mixture; carbonate presence.
    "kssl": dict(sand_ab=(0.72, 1.10), clay_share_ab=(1.7, 2.9), oc_median=0.75, oc_sigma=1.05,
                 p_organic=0.035, organic_median=18.0, p_carbonate=0.34, caco3_median=3.4, caco3_sigma=1.45,
                 ph_mean=5.9, ph_sd=0.95),
    "paired": dict(sand_ab=(0.80, 1.10), clay_share_ab=(1.7, 3.2), oc_median=1.15, oc_sigma=0.85,
                   p_organic=0.004, organic_median=20.0, p_carbonate=0.34, caco3_median=1.6, caco3_sigma=1.5,
                   ph_mean=5.7, ph_sd=0.95),
    "napt": dict(sand_ab=(1.05, 1.70), clay_share_ab=(3.0, 7.0), oc_median=1.45, oc_sigma=0.55,
                 p_organic=0.0, organic_median=0.0, p_carbonate=1.0, caco3_median=0.8, caco3_sigma=1.2, caco3_min=0.2, sand_range=(0.03, 0.965),
                 ph_mean=6.4, ph_sd=0.75),
}

#: Fraction of KSSL-like samples lacking each analyte group (independently); about 61 % of the
#: samples end up complete for all nine properties, as in the paper (51,508 of 83,971).
MISSING_RATES: dict[tuple[str, ...], float] = {
    ("TC", "TN", "EOC"): 0.11, ("pH",): 0.06, ("CEC",): 0.10, ("clay", "silt", "sand"): 0.15,
}
#: log-sd of the hygroscopic water of air-dried samples (laboratory humidity; plausible 0.2-0.6).
WATER_SD = 0.45
#: hygroscopic water of air-dried soil (mass fraction): a clay-independent film on all grain surfaces and
#: oxides (plausible 0.005-0.02) plus a part per unit clay fraction (plausible 0.005-0.05)
WATER_BASE = 0.015
WATER_PER_CLAY = 0.005
#: Dirichlet concentration of the kaolinite/smectite/illite shares of the clay fraction. Small values
#: give the near-monomineralic clays of strongly weathered (kaolinitic) or vertic (smectitic) soils
#: next to mixed temperate mineralogies (total concentration 2.5; plausible 1.1-5.6); mean shares 43/24/32 %.
CLAY_MINERAL_ALPHA = (1.06, 0.60, 0.80)
#: Beta parameters of the feldspar share of the sand + silt minerals (quartz is the rest); mean 0.12,
#: within the 5-25 % feldspar of typical soil sand/silt fractions (plausible mean 0.05-0.4).
FELDSPAR_AB = (1.5, 11.25)
OM_PER_OC = 1.72            # van Bemmelen factor: organic matter = 1.72 x organic C
DOLOMITE_TO_CACO3 = 100.09 / 92.19   # CaCO3-equivalent of one unit of dolomite (per carbonate)


def _beta(rng, ab, n):
    return rng.beta(ab[0], ab[1], n)


def sample_soils(n: int, profile: str = "kssl", random_state=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Draw ``n`` soil compositions and their nine properties.

    Parameters
    ----------
    n : int
        Number of samples.
    profile : {"kssl", "paired", "napt"}
    random_state : int or numpy Generator

    Returns
    -------
    F : ndarray of shape (n, n_constituents)
        Mass fractions over :data:`soilnb.data.simulate.bands.CONSTITUENTS` (rows sum to 1).
    props : DataFrame of shape (n, 9 + 3)
        Columns :data:`soilnb.core.vocab.PROPERTIES` (all measured) plus ``coarse`` (sand share,
        drives DRIFT scatter), ``darkness`` (0-1 colour factor) and ``grain`` (mean particle size, a.u.).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    if int(n) < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    rng = np.random.default_rng(random_state)
    p = PROFILES[profile]
    n = int(n)
    # ---- texture (pipette method: clay + silt + sand = 100)
    sand = np.clip(_beta(rng, p["sand_ab"], n), *p.get("sand_range", (0.001, 1.0)))
    share = _beta(rng, p["clay_share_ab"], n)
    clay = (1.0 - sand) * share
    silt = 1.0 - sand - clay
    # ---- organic carbon (wt%): lognormal mineral soils, a few organic horizons; more OC with clay
    z_clay = (share - share.mean()) / (share.std() + 1e-12)
    oc = p["oc_median"] * np.exp(p["oc_sigma"] * rng.standard_normal(n) + 0.15 * z_clay)
    organic = rng.random(n) < p["p_organic"]
    oc[organic] = np.minimum(p["organic_median"] * np.exp(0.45 * rng.standard_normal(organic.sum())), 58.0)
    oc = np.clip(oc, 0.01, 58.0)
    om = OM_PER_OC * oc / 100.0                                # mass fraction of organic matter
    # ---- carbonates (CaCO3 equivalent wt%)
    calcareous = rng.random(n) < p["p_carbonate"]
    caco3 = np.where(calcareous, p["caco3_median"] * np.exp(p["caco3_sigma"] * rng.standard_normal(n)), 0.0)
    caco3 = np.where(calcareous, np.clip(caco3, p.get("caco3_min", 0.0), 95.0), 0.0)
    dolo_share = np.where(calcareous, rng.beta(1.0, 4.0, n), 0.0)
    carb = caco3 / 100.0
    # ---- mineral matrix: what is left after OM and carbonate, split by texture
    # hygroscopic water of the air-dried sample: set by clay and OM, times the (independent) laboratory
    # humidity at scanning -- a lognormal factor (air-dry water of one soil varies ~1.5-fold with RH)
    water = np.clip((WATER_BASE + WATER_PER_CLAY * clay + 0.08 * om) * np.exp(WATER_SD * rng.standard_normal(n)), 0.002, 0.12)
    mineral = np.clip(1.0 - om - carb - water, 0.0, 1.0)
    fe = np.clip(rng.gamma(2.0, 0.012, n) * (0.3 + 1.4 * clay), 0.0, 0.15) * mineral
    clay_min = rng.dirichlet(CLAY_MINERAL_ALPHA, n)            # kaolinite, smectite, illite shares
    clay_mass = np.clip(clay * mineral - fe * 0.5, 0.0, None)
    primary = np.clip(mineral - clay_mass - fe, 0.0, None)       # sand + silt minerals
    feldspar = primary * rng.beta(*FELDSPAR_AB, n)
    quartz = primary - feldspar
    F = np.zeros((n, len(CONSTITUENTS)))
    col = {c: i for i, c in enumerate(CONSTITUENTS)}
    F[:, col["quartz"]] = quartz
    F[:, col["kaolinite"]] = clay_mass * clay_min[:, 0]
    F[:, col["smectite"]] = clay_mass * clay_min[:, 1]
    F[:, col["illite"]] = clay_mass * clay_min[:, 2]
    F[:, col["fe_oxide"]] = fe
    F[:, col["calcite"]] = carb * (1.0 - dolo_share)
    F[:, col["dolomite"]] = carb * dolo_share / DOLOMITE_TO_CACO3
    om_split = rng.dirichlet([4.0, 2.0, 3.0, 3.0], n)          # aliphatic, carboxylic, aromatic, polysacch.
    for j, c in enumerate(("om_aliphatic", "om_carboxylic", "om_aromatic", "om_polysaccharide")):
        F[:, col[c]] = om * om_split[:, j]
    F[:, col["water"]] = water
    F[:, col["feldspar"]] = feldspar
    F /= F.sum(axis=1, keepdims=True)
    # ---- properties from composition
    ic = 100.0 * (F[:, col["calcite"]] + F[:, col["dolomite"]] * DOLOMITE_TO_CACO3)
    tc = oc + 0.12 * ic
    cn = np.where(organic, 22.0, 11.5) * np.exp(0.18 * rng.standard_normal(n))
    tn = oc / cn
    smect, illi, kaol = (F[:, col[c]] * 100 for c in ("smectite", "illite", "kaolinite"))
    cec = (1.2 * smect + 0.30 * illi + 0.08 * kaol + 2.4 * 100 * om) * np.exp(0.12 * rng.standard_normal(n))
    base_ph = p["ph_mean"] + p["ph_sd"] * rng.standard_normal(n) - 0.35 * np.log1p(oc / 5.0)
    ph = np.where(calcareous & (caco3 > 1.5), 7.9 + 0.12 * np.log1p(caco3) + 0.3 * rng.standard_normal(n),
                  base_ph + 0.25 * np.log1p(caco3))
    ph = np.clip(ph, 3.0, 10.5)
    props = pd.DataFrame({
        "TC": tc, "TN": tn, "IC": ic, "EOC": estimated_organic_carbon(tc, ic), "pH": ph, "CEC": cec,
        "clay": 100 * clay, "silt": 100 * silt, "sand": 100 * sand,
    })
    props["silt"] = 100.0 - props["clay"] - props["sand"]      # exact closure after rounding error
    props["coarse"] = sand
    props["darkness"] = np.clip(1.0 - np.exp(-(oc / 2.5 + 6.0 * fe)), 0.0, 1.0)
    props["grain"] = np.exp(0.25 * rng.standard_normal(n)) * (0.6 + 0.8 * sand)
    return F, props


def apply_missingness(props: pd.DataFrame, random_state=None, rates=None) -> pd.DataFrame:
    """Blank out analytes as a soil-survey laboratory does (not every analyte on every sample).

    Parameters
    ----------
    props : DataFrame with columns :data:`soilnb.core.vocab.PROPERTIES`
    random_state : int or numpy Generator
    rates : dict mapping a tuple of property names to the probability that the group is missing
        (default :data:`MISSING_RATES`). IC is never blanked: KSSL reports no carbonate where
        there is none, which the data loaders read as 0.

    Returns
    -------
    DataFrame, a copy with NaN where not measured.
    """
    rng = np.random.default_rng(random_state)
    rates = MISSING_RATES if rates is None else rates
    out = props.copy()
    for group, rate in rates.items():
        unknown = [g for g in group if g not in PROPERTIES]
        if unknown:
            raise ValueError(f"missingness rates name unknown properties {unknown}")
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"missing rate for {group} must be in [0, 1), got {rate}")
        gone = rng.random(len(out)) < rate
        out.loc[gone, list(group)] = np.nan
    return out
