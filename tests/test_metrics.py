"""Tests of soilnb.stats.metrics against hand computations and scikit-learn / scipy."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import mean_squared_error, r2_score

from soilnb.core.vocab import PROPERTIES
from soilnb.stats.metrics import (
    ccc,
    mean_error,
    metrics_table,
    r2,
    regression_metrics,
    rmse,
    rpiq,
)

# Toy case, by hand: y = [1, 2, 3, 4], y_pred = [2, 2, 4, 3]
#   errors y_pred - y = [1, 0, 1, -1]      -> ME = 1/4 = 0.25, SSE = 3, RMSE = sqrt(3/4)
#   mean(y) = 2.5, SST = 2.25 + 0.25 + 0.25 + 2.25 = 5 -> R2 = 1 - 3/5 = 0.4
#   mean(y_pred) = 2.75, dy = [-1.5, -.5, .5, 1.5], dp = [-.75, -.75, 1.25, .25]
#   dy.dp = 1.125 + .375 + .625 + .375 = 2.5, dp.dp = .5625*2 + 1.5625 + .0625 = 2.75
#   N (mean diff)^2 = 4 * 0.25^2 = 0.25 -> CCC = 2*2.5 / (5 + 2.75 + 0.25) = 5/8
#   Q1 = 1.75, Q3 = 3.25 (linear) -> RPIQ = 1.5 / sqrt(0.75) = sqrt(3)
Y_TOY = np.array([1.0, 2.0, 3.0, 4.0])
P_TOY = np.array([2.0, 2.0, 4.0, 3.0])


def test_toy_values_by_hand():
    np.testing.assert_allclose(rmse(Y_TOY, P_TOY), np.sqrt(0.75), rtol=1e-15)
    np.testing.assert_allclose(mean_error(Y_TOY, P_TOY), 0.25, rtol=1e-15)
    np.testing.assert_allclose(r2(Y_TOY, P_TOY), 0.4, rtol=1e-14)
    np.testing.assert_allclose(ccc(Y_TOY, P_TOY), 0.625, rtol=1e-14)
    np.testing.assert_allclose(rpiq(Y_TOY, P_TOY), np.sqrt(3.0), rtol=1e-14)


def test_mean_error_sign_negative_means_underprediction():
    assert mean_error([10.0, 20.0], [8.0, 18.0]) == pytest.approx(-2.0, abs=1e-15)


def test_bundle_matches_functions():
    m = regression_metrics(Y_TOY, P_TOY)
    assert list(m) == ["rmse", "me", "r2", "ccc", "rpiq"]
    np.testing.assert_allclose([m["rmse"], m["me"], m["r2"], m["ccc"], m["rpiq"]],
                               [np.sqrt(0.75), 0.25, 0.4, 0.625, np.sqrt(3.0)], rtol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_sklearn_and_scipy(seed):
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, 3.0, size=257)
    p = 0.8 * y + rng.normal(0.5, 1.5, size=y.size)
    np.testing.assert_allclose(rmse(y, p), np.sqrt(mean_squared_error(y, p)), rtol=1e-12)
    np.testing.assert_allclose(r2(y, p), r2_score(y, p), rtol=1e-12)
    np.testing.assert_allclose(mean_error(y, p), np.mean(p) - np.mean(y), rtol=1e-12)
    # Lin's CCC through the Pearson identity: 2 rho sx sy / (sx^2 + sy^2 + (mx - my)^2)
    rho = stats.pearsonr(y, p).statistic
    sx, sy = np.std(y), np.std(p)
    expected = 2 * rho * sx * sy / (sx ** 2 + sy ** 2 + (y.mean() - p.mean()) ** 2)
    np.testing.assert_allclose(ccc(y, p), expected, rtol=1e-12)
    np.testing.assert_allclose(rpiq(y, p), stats.iqr(y) / np.sqrt(mean_squared_error(y, p)), rtol=1e-12)


def test_perfect_prediction():
    y = np.array([0.5, 1.0, 3.0, 7.0])
    assert ccc(y, y) == pytest.approx(1.0, abs=1e-15)
    assert r2(y, y) == pytest.approx(1.0, abs=1e-15)
    assert rmse(y, y) == 0.0
    assert rpiq(y, y) == np.inf


@pytest.mark.parametrize("fn", [rmse, mean_error, r2, ccc, rpiq, regression_metrics])
def test_bad_input(fn):
    with pytest.raises(ValueError, match="y_pred contains 1 NaN"):
        fn([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        fn([np.nan, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="length mismatch: y has 3 values, y_pred has 2"):
        fn([1.0, 2.0, 3.0], [1.0, 2.0])


def test_constant_y_r2_undefined():
    with pytest.raises(ValueError, match="constant"):
        r2([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])


def _frames(seed=0, n=40):
    rng = np.random.default_rng(seed)
    y = pd.DataFrame(rng.gamma(2.0, 2.0, size=(n, len(PROPERTIES))), columns=PROPERTIES)
    preds = {"A": y + rng.normal(0, 0.5, size=y.shape), "B": y * 1.1}
    return y, preds


def test_metrics_table_layout_and_values():
    y, preds = _frames()
    tab = metrics_table(y, preds)
    assert list(tab.columns) == ["property", "strategy", "rmse", "me", "r2", "ccc", "rpiq"]
    assert len(tab) == 2 * len(PROPERTIES)
    assert list(tab["property"]) == [p for p in PROPERTIES for _ in range(2)]
    assert list(tab["strategy"]) == ["A", "B"] * len(PROPERTIES)
    row = tab[(tab.property == "CEC") & (tab.strategy == "B")].iloc[0]
    ref = regression_metrics(y["CEC"], preds["B"]["CEC"])
    np.testing.assert_allclose(row[["rmse", "me", "r2", "ccc", "rpiq"]].to_numpy(float),
                               list(ref.values()), rtol=1e-15)


def test_metrics_table_takes_arrays_with_their_properties_named():
    """Arrays (one column per property) give the table of the same values as DataFrames; an array without the
    properties named is a TypeError saying what to pass, not an AttributeError."""
    y, preds = _frames()
    want = metrics_table(y, preds)
    got = metrics_table(y.to_numpy(), {k: v.to_numpy() for k, v in preds.items()}, properties=list(y.columns))
    pd.testing.assert_frame_equal(got, want)
    one = metrics_table(y["CEC"].to_numpy(), {"A": preds["A"]["CEC"].to_numpy()}, properties=["CEC"])
    assert one["rmse"].iloc[0] == pytest.approx(want.set_index(["property", "strategy"]).loc[("CEC", "A"), "rmse"])
    with pytest.raises(TypeError, match=r"y_true must be a DataFrame .*got ndarray of shape \(\d+, \d+\).*properties="):
        metrics_table(y.to_numpy(), preds)


def test_metrics_table_errors():
    y, preds = _frames()
    with pytest.raises(ValueError, match="has no column 'pH'"):
        metrics_table(y, {"A": preds["A"].drop(columns="pH")})
    with pytest.raises(ValueError, match="length mismatch"):
        metrics_table(y, {"A": preds["A"].iloc[:-1]})
    shuffled = y.sample(frac=1.0, random_state=0)  # perfect predictions, rows in another order
    with pytest.raises(ValueError, match="different row indexes"):
        metrics_table(y, {"A": shuffled})
    assert metrics_table(y, {"A": shuffled.loc[y.index]})["ccc"].eq(1.0).all()
    bad = preds["A"].copy()
    bad.loc[3, "TN"] = np.nan
    with pytest.raises(ValueError, match="TN / A: y_pred contains 1 NaN"):
        metrics_table(y, {"A": bad})
