"""Tests of soilnb.stats.targets: ILR (Egozcue et al. 2003), zero replacement, TargetTransformer."""
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from soilnb.core.vocab import PROPERTIES
from soilnb.stats.targets import (
    TargetTransformer,
    helmert_basis,
    ilr,
    ilr_inverse,
    replace_zeros,
)


def _compositions(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.dirichlet([2.0, 3.0, 4.0], size=n) * 100.0
    return x


def test_basis_orthonormal_and_contrast():
    V = helmert_basis(3)
    np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-15)
    np.testing.assert_allclose(V.sum(axis=0), 0.0, atol=1e-15)


def test_ilr_hand_value():
    # z1 = sqrt(1/2) ln(clay/silt); z2 = sqrt(2/3) ln(sqrt(clay*silt)/sand)   (Egozcue 2003, Eq. 10)
    z = ilr([[20.0, 30.0, 50.0]])
    expected = [math.sqrt(0.5) * math.log(20 / 30), math.sqrt(2 / 3) * math.log(math.sqrt(600.0) / 50)]
    np.testing.assert_allclose(z[0], expected, rtol=1e-14)
    np.testing.assert_allclose(z[0], [-0.2867071, -0.5826178], atol=5e-8)


def test_round_trip_and_sum():
    x = _compositions(500)
    back = ilr_inverse(ilr(x), total=100.0)
    np.testing.assert_allclose(back, x, rtol=1e-10, atol=1e-10)
    z = np.random.default_rng(1).normal(scale=8.0, size=(1000, 2))   # extreme coordinates
    comp = ilr_inverse(z)
    assert (comp > 0).all()
    np.testing.assert_allclose(comp.sum(axis=1), 100.0, rtol=1e-12)
    np.testing.assert_allclose(ilr(comp), z, atol=1e-8)


def test_isometry_aitchison_distance():
    x, y = _compositions(50, 2), _compositions(50, 3)

    def aitchison(a, b):   # d_A^2 = 1/(2D) sum_i sum_j (ln(a_i/a_j) - ln(b_i/b_j))^2
        la, lb = np.log(a), np.log(b)
        diff = (la[:, :, None] - la[:, None, :]) - (lb[:, :, None] - lb[:, None, :])
        return np.sqrt((diff ** 2).sum(axis=(1, 2)) / (2 * a.shape[1]))

    np.testing.assert_allclose(np.linalg.norm(ilr(x) - ilr(y), axis=1), aitchison(x, y), rtol=1e-12)


def test_scale_invariance():
    x = _compositions(20)
    np.testing.assert_allclose(ilr(x), ilr(x / 100.0 * 3.7), rtol=1e-12)


def test_zero_replacement_by_hand():
    r = replace_zeros([[0.0, 40.0, 60.0], [0.0, 0.0, 100.0]], delta=5e-4)
    np.testing.assert_allclose(r[0], [5e-4, 0.4 * (1 - 5e-4), 0.6 * (1 - 5e-4)], rtol=1e-15)
    np.testing.assert_allclose(r[1], [5e-4, 5e-4, 1 - 1e-3], rtol=1e-15)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=1e-15)
    z = ilr([[0.0, 40.0, 60.0]])
    expected2 = math.sqrt(2 / 3) * math.log(math.sqrt(5e-4 * 0.4 * (1 - 5e-4)) / (0.6 * (1 - 5e-4)))
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[0, 1], expected2, rtol=1e-13)
    # ratios between non-zero parts are unchanged
    np.testing.assert_allclose(r[0, 2] / r[0, 1], 1.5, rtol=1e-14)


def test_bad_compositions():
    with pytest.raises(ValueError, match="non-negative"):
        ilr([[-1.0, 50.0, 51.0]])
    with pytest.raises(ValueError, match="NaN"):
        ilr([[np.nan, 50.0, 50.0]])
    with pytest.raises(ValueError, match="all-zero row"):
        ilr([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="coords must be 2-d"):
        ilr_inverse([1.0, 2.0])


def _props(n=200, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "TC": rng.gamma(1.5, 1.5, n), "TN": rng.gamma(1.5, 0.1, n), "IC": rng.gamma(0.5, 1.0, n),
        "EOC": rng.gamma(1.5, 1.2, n), "pH": rng.normal(6.5, 1.0, n), "CEC": rng.gamma(2.0, 8.0, n),
    })
    df.loc[:4, "IC"] = 0.0
    tex = _compositions(n, seed + 10)
    df["clay"], df["silt"], df["sand"] = tex.T
    return df[list(PROPERTIES)]


@pytest.mark.parametrize("texture", ["ilr", "none"])
@pytest.mark.parametrize("standardize", [True, False])
def test_transformer_round_trip(texture, standardize):
    df = _props()
    tt = TargetTransformer(texture=texture, standardize=standardize).fit(df)
    Z = tt.transform(df)
    assert Z.shape == (len(df), 8 if texture == "ilr" else 9)
    assert len(tt.output_names_) == Z.shape[1]
    back = tt.inverse_transform(Z)
    assert list(back.columns) == list(PROPERTIES)
    np.testing.assert_allclose(back.to_numpy(), df.to_numpy(), rtol=1e-10, atol=1e-10)
    if standardize:
        np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)


def test_transformer_values_unstandardized():
    df = _props()
    tt = TargetTransformer(standardize=False).fit(df)
    Z = tt.transform(df)
    assert tt.output_names_ == ["TC", "TN", "IC", "EOC", "pH", "CEC", "ilr1", "ilr2"]
    np.testing.assert_allclose(Z[:, 0], np.log1p(df["TC"]), rtol=1e-15)
    np.testing.assert_allclose(Z[:, 4], df["pH"], rtol=1e-15)
    np.testing.assert_allclose(Z[:, 6:], ilr(df[["clay", "silt", "sand"]].to_numpy()), rtol=1e-15)


def test_inverse_clips_and_closes():
    df = _props()
    tt = TargetTransformer(standardize=False).fit(df)
    Z = tt.transform(df)
    Z[:, 0] = -3.0                         # log1p-space below 0 -> expm1 < 0 -> clipped
    Z[:, 4] = -1.0                         # pH is not clipped
    Z[:, 6:] += 5.0
    back = tt.inverse_transform(Z)
    assert (back["TC"] == 0).all()
    assert (back["pH"] == -1.0).all()
    np.testing.assert_allclose(back[["clay", "silt", "sand"]].sum(axis=1), 100.0, rtol=1e-12)


def test_transformer_errors():
    df = _props()
    with pytest.raises(ValueError, match=r"missing property column\(s\): \['CEC'\]"):
        TargetTransformer().fit(df).transform(df.drop(columns="CEC"))
    with pytest.raises(ValueError, match="no property columns"):
        TargetTransformer().fit(df[[]])
    bad = df.copy()
    bad.loc[2, "TN"] = np.nan
    with pytest.raises(ValueError, match="column TN contains NaN"):
        TargetTransformer().fit(bad)
    with pytest.raises(ValueError, match="texture must be"):
        TargetTransformer(texture="clr").fit(df)
    with pytest.raises(ValueError, match=r"expected shape \(n, 8\)"):
        TargetTransformer().fit(df).inverse_transform(np.zeros((3, 9)))
    assert clone(TargetTransformer(texture="none")).get_params()["texture"] == "none"


def test_any_property_set_organic_carbon_clay_cec():
    """Three properties of a real KSSL extract: OC and CEC on the log1p scale (vocabulary), clay alone kept
    as a percentage (no ILR without silt and sand); outputs in the given order, hand-computed."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"OC": rng.lognormal(0, 1, 50), "clay": rng.uniform(5, 60, 50), "CEC": rng.lognormal(2, .5, 50)})
    tt = TargetTransformer(standardize=False).fit(df)
    assert tt.output_names_ == ["OC", "clay", "CEC"] and tt.log_ == ["OC", "CEC"]
    Z = tt.transform(df)
    np.testing.assert_allclose(Z, np.column_stack([np.log1p(df.OC), df.clay, np.log1p(df.CEC)]), rtol=1e-15)
    back = TargetTransformer().fit(df).inverse_transform(TargetTransformer().fit(df).transform(df))
    assert list(back.columns) == ["OC", "clay", "CEC"]
    np.testing.assert_allclose(back.to_numpy(), df.to_numpy(), rtol=1e-10)


def test_unknown_names_log_only_when_skewed_and_non_negative():
    rng = np.random.default_rng(4)
    n = 400
    df = pd.DataFrame({"Zn": rng.lognormal(0, 1, n),           # skewness ~6: log1p
                       "moisture": rng.normal(20, 3, n),       # symmetric: as is
                       "delta": rng.lognormal(0, 1, n) - 1,     # skewed but negative values: as is
                       "sand": rng.uniform(0, 90, n), "clay": rng.uniform(0, 10, n)})   # texture incomplete
    tt = TargetTransformer(standardize=False).fit(df)
    assert tt.log_ == ["Zn"]
    assert tt.output_names_ == ["Zn", "moisture", "delta", "sand", "clay"]   # no ILR without silt
    v = df["Zn"].to_numpy()
    assert ((v - v.mean()) ** 3).mean() / v.std() ** 3 > 1        # the rule's premise, by hand
    np.testing.assert_allclose(tt.transform(df)[:, 0], np.log1p(v), rtol=1e-15)
    back = tt.inverse_transform(tt.transform(df))
    np.testing.assert_allclose(back.to_numpy(), df.to_numpy(), rtol=1e-10, atol=1e-12)
