"""A run's bundle on real spectra: readable views of predictions, and the LimeSoDa spectra through the bundle.

The simulated world's bundle applied to real scans is the hardest shift there is (another world, other
instruments, other soils): :func:`apply_to_limesoda` reports per LimeSoDa dataset whether the bundle can read it
(the grid policy refuses a range it does not cover, naming the gap), how many spectra the shift and novelty
flags mark, and how often the intervals cover the measured pH, clay and organic carbon (LimeSoDa's SOC against
the bundle's EOC, the carbon that is not carbonate), so that what the flags promise can be checked.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from soilnb.apply.intervals import COVERAGE
from soilnb.data.library import SpectralLibrary
from soilnb.data.units import conversion
from soilnb.stages.limesoda import load_set

#: LimeSoDa target -> the bundle property it is compared with.
LIMESODA_PROPERTY = {"pH": "pH", "Clay": "clay", "SOC": "EOC"}
#: LimeSoDa targets not in the model's unit (SOC and clay in %). LimeSoDa states no unit per set; NRW.42's SOC
#: (7.4-19.8 on a 1.5 ha arable field on loess and slope deposits) is g/kg: a PLSR of the two other MIR sets of the
#: same region and laboratory (NRW.62, NRW.115, SOC 1.2-3.3 %) predicts its samples at a tenth of their values,
#: correlated with them (tests/test_limesoda_units.py computes it), and a bundle trained on KSSL soils does alike.
LIMESODA_UNITS = {("NRW.42", "SOC"): "g/kg"}


def prediction_view(pred: pd.DataFrame, properties=None, max_properties: int = 3) -> pd.DataFrame:
    """A compact view of :meth:`Bundle.predict` output: file name, sample, strategy, ``value [lower, upper]`` for
    a few properties, and the flags."""
    props = list(properties) if properties is not None else \
        [c for c in pred.columns if f"{c}_lower" in pred.columns][:max_properties]
    out = pd.DataFrame({"file": pred["file"].map(lambda f: Path(str(f)).name), "sample": pred["sample_id"],
                        "range": pred["range"], "strategy": pred["strategy"]})
    for p in props:
        out[p] = [f"{v:.3g} [{lo:.3g}, {hi:.3g}]" for v, lo, hi in zip(pred[p], pred[f"{p}_lower"],
                                                                        pred[f"{p}_upper"])]
    out["shift"] = np.where(pred["shift_flag"], "flagged", "")
    out["novelty"] = np.where(pred["novelty_flag"], "flagged", "")
    out["quality"] = pred["quality"].fillna("").replace("", "ok")
    return out


def limesoda_library(name: str) -> SpectralLibrary:
    """A LimeSoDa dataset as a library: its raw % reflectance as fractions, its targets as properties in the
    model's units (SOC and clay in %, :data:`LIMESODA_UNITS` converted)."""
    ds = load_set(name)
    order = np.argsort(ds.axis)
    props = ds.targets.copy()
    for (set_name, target), unit in LIMESODA_UNITS.items():
        if set_name == name and target in props:
            props[target] = props[target] * conversion("OC", unit, "%")
    return SpectralLibrary(X=ds.raw[:, order] / 100.0, axis=ds.axis[order], unit=ds.unit, quantity="reflectance",
                           sample_id=np.array([f"{name}:{i}" for i in range(ds.n)]),
                           properties=props, name=name)


def apply_to_limesoda(bundle, names, coverage: float = COVERAGE) -> pd.DataFrame:
    """Each LimeSoDa dataset of ``names`` through ``bundle`` (default strategy of its range): one row per dataset
    and compared property with ``status`` ("predicted" or the refusal), the share of spectra flagged (shift,
    novelty, either) and the coverage of the intervals for the measured value."""
    rows = []
    for name in names:
        lib = limesoda_library(name)
        base = {"dataset": name, "axis": f"{lib.axis[0]:g}-{lib.axis[-1]:g} {lib.unit}", "n": lib.n_scans}
        try:
            pred = bundle.predict(lib, coverage=coverage)
        except ValueError as exc:
            rows.append({**base, "status": str(exc).removeprefix("nothing predicted: ").removeprefix(f"{name}: ")})
            continue
        either = pred["shift_flag"] | pred["novelty_flag"]
        flags = {"status": "predicted", "strategy": pred["strategy"].iloc[0],
                 "shift_flagged": pred["shift_flag"].mean(), "novelty_flagged": pred["novelty_flag"].mean(),
                 "any_flagged": either.mean()}
        compared = [(t, p) for t, p in LIMESODA_PROPERTY.items() if t in lib.properties and p in pred.columns]
        for t, p in compared:
            y = lib.properties[t].to_numpy(float)
            covered = (pred[f"{p}_lower"] <= y) & (y <= pred[f"{p}_upper"])
            rows.append({**base, **flags, "target": t, "property": p, "coverage": covered.mean(),
                         "coverage_flagged": covered[either].mean() if either.any() else np.nan,
                         "coverage_unflagged": covered[~either].mean() if (~either).any() else np.nan})
        if not compared:
            rows.append({**base, **flags})
    return pd.DataFrame(rows)
