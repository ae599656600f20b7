"""LimeSoDa's NRW.42 SOC is in g/kg, not % (``soilnb.apply.realdata.LIMESODA_UNITS``): the evidence, computed. A
PLSR of organic carbon on the two other MIR sets of the same region and laboratory (NRW.62, NRW.115, SOC in %)
predicts NRW.42's samples at about a tenth of their stated values, correlated with them; ``limesoda_library``
gives the values divided by ten, the other sets' unchanged."""
import numpy as np
import pytest

from soilnb.stats.pls import PLSR

pytest.importorskip("LimeSoDa", reason="the package 'limesoda' is not installed (pip install limesoda)")

from soilnb.apply.realdata import limesoda_library  # noqa: E402
from soilnb.stages.limesoda import load_set  # noqa: E402

GRID = np.arange(800.0, 3700.0, 4.0)


def _absorbance_snv(name):
    lib = limesoda_library(name).on_grid(GRID)
    A = -np.log10(np.clip(lib.X, 1e-6, None))
    return (A - A.mean(1, keepdims=True)) / A.std(1, keepdims=True)


def test_nrw42_soc_is_g_per_kg():
    X = np.vstack([_absorbance_snv("NRW.62"), _absorbance_snv("NRW.115")])
    y = np.r_[load_set("NRW.62").targets["SOC"], load_set("NRW.115").targets["SOC"]]
    pred = PLSR(max_components=10, cv=5, random_state=0).fit(X, y).predict(_absorbance_snv("NRW.42"))
    stated = load_set("NRW.42").targets["SOC"].to_numpy(float)
    assert 7 < np.median(stated) / np.median(pred) < 14 and np.corrcoef(pred, stated)[0, 1] > 0.6
    np.testing.assert_allclose(limesoda_library("NRW.42").properties["SOC"], stated / 10)
    for other in ("NRW.62", "H.138"):
        np.testing.assert_array_equal(limesoda_library(other).properties["SOC"], load_set(other).targets["SOC"])
