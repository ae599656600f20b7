"""Predictions that stay physical and intervals that say when the calibration data do not support them: point
predictions clipped to the bounds of their intervals (flagged and counted), the interval-support rule on rows
built far from the calibration samples, the shift limit of ``soilnb info`` on predict's ``shift_distance`` scale,
and the weights of weighted split conformal against a hand computation."""
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from apply_world import make_tiny
from sklearn.linear_model import LogisticRegression

from soilnb import apply
from soilnb.apply.inference import flags
from soilnb.apply.intervals import shift_distance_limit
from soilnb.apply import support
from soilnb.apply.domain import batch_shift_test, shift_weights
from soilnb.apply.intervals import calibration_distance_limit
from soilnb.apply.support import interval_support
from soilnb.apply.prediction_summary import summary_text
from soilnb.apply.intervals import weighted_quantiles
from soilnb.data.library import SpectralLibrary
from soilnb.stats.shift import ShiftDetector


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    yield from make_tiny(tmp_path_factory)


def _lib(F, rows, name="t"):
    X = F.test_mir[rows] + 3.0                         # SNV spectra shifted: positive absorbances, same shape
    return SpectralLibrary(X=X, axis=F.mir_axis, unit="cm-1", quantity="absorbance",
                           sample_id=[f"s{i}" for i in range(len(X))], name=name)


class _Pushed:
    """A head whose predictions of chosen rows and properties are replaced (values a regressor extrapolating far
    from its training data could give)."""

    def __init__(self, head, values: dict):
        self.head, self.targets, self.values = head, head.targets, values

    def predict(self, X):
        out = self.head.predict(X)
        for (row, prop), v in self.values.items():
            out.loc[row, prop] = v
        return out


# ------------------------------------------------------------------------------------------ clipping
def test_point_predictions_are_clipped_to_the_bounds_of_their_intervals(tiny):
    b, F = tiny["loaded"], tiny["F"]
    pushed = replace(b, heads={**b.heads, "MIR-PLSR": _Pushed(b.heads["MIR-PLSR"],
                                                               {(0, "clay"): 174.0, (1, "pH"): 20.0, (1, "TC"): -3.0})})
    out = pushed.predict(_lib(F, [0, 1, 2]), strategy="MIR-PLSR")
    plain = b.predict(_lib(F, [0, 1, 2]), strategy="MIR-PLSR")
    assert out.loc[0, "clay"] == 100.0 and out.loc[1, "pH"] == 14.0 and out.loc[1, "TC"] == 0.0
    assert list(out["clipped"]) == ["clay", "TC;pH", ""] or list(out["clipped"]) == ["clay", "pH;TC", ""]
    assert out.attrs["n_clipped"] == 3 and plain.attrs["n_clipped"] == 0
    # every value inside its own interval, every interval inside the bounds
    for p in ("clay", "pH", "TC"):
        assert (out[f"{p}_lower"] <= out[p]).all() and (out[p] <= out[f"{p}_upper"]).all()
    c = b.calibration["MIR-PLSR"]
    q = np.sort(np.abs(c.residuals), axis=0)[math.ceil((c.n + 1) * 0.9) - 1]
    # the interval of a clipped value is the conformal interval around the clipped value, clipped to the bounds
    assert out.loc[1, "pH_lower"] == pytest.approx(max(14.0 - q[c.properties.index("pH")], 0.0), rel=1e-12)
    assert out.loc[1, "pH_upper"] == 14.0 and out.loc[0, "clay_upper"] == 100.0
    assert out.loc[1, "TC_lower"] == 0.0
    assert out.loc[1, "TC_upper"] == pytest.approx(np.expm1(q[c.properties.index("TC")]), rel=1e-12)
    # a clipped row's interval is not supported (the regressor extrapolates), with the reason
    assert not out.loc[0, "interval_supported"] and "clay predicted outside the physical bounds" in \
        out.loc[0, "interval_note"]
    # the rest of the row is what the plain bundle predicts
    np.testing.assert_allclose(out.loc[2, c.properties].to_numpy(float), plain.loc[2, c.properties].to_numpy(float))
    assert "3 predicted value(s) clipped" in summary_text(out)
    both = pd.concat([out, plain], ignore_index=True)             # what the command summarises, attrs or not
    both.attrs = {}
    assert "; 3 predicted value(s) clipped" in summary_text(both)   # after the quality-flag count


def test_texture_sums_to_100_and_is_never_clipped(tiny):
    b, F = tiny["loaded"], tiny["F"]
    out = b.predict(_lib(F, list(range(len(F.test_mir)))), strategy="all")
    np.testing.assert_allclose(out[["clay", "silt", "sand"]].sum(axis=1), 100.0, rtol=1e-6)
    assert not out["clipped"].str.contains("clay|silt|sand").any()
    for p in ("clay", "silt", "sand"):
        assert out[p].between(0, 100).all() and (out[f"{p}_upper"] <= 100).all() and (out[f"{p}_lower"] >= 0).all()


# ------------------------------------------------------------------------------------------ interval support
def test_rows_beyond_the_calibration_distances_are_unsupported(tiny):
    """The rule by hand on the calibration samples' own distances and on rows built beyond them."""
    b = tiny["loaded"]
    c = b.calibration["MIR-PLSR"]
    alpha = b.shift["MIR"].alpha
    lim = calibration_distance_limit(c, alpha)
    k = math.ceil((c.n + 1) * (1 - alpha) - 1e-9)
    assert lim == np.sort(c.sigmas)[k - 1] if k <= c.n else math.isinf(lim)
    fl = pd.DataFrame({"shift_distance": [0.0, lim, lim * 1.001, 10 * c.sigmas.max()], "shift_flag": False,
                       "recon_error": 0.0, "novelty_p": 1.0, "novelty_flag": [False, False, False, True]})
    sup, note = interval_support(b, "MIR", "MIR-PLSR", fl)
    assert list(sup) == [True, True, False, False]
    assert note[0] == "" and "above the calibration samples' limit" in note[2]
    assert "latent distance" in note[3] and "reconstruction error" in note[3]
    # rows drawn like the calibration samples: at most a share alpha marked
    fl = pd.DataFrame({"shift_distance": c.sigmas, "shift_flag": False, "recon_error": 0.0, "novelty_p": 1.0,
                       "novelty_flag": False})
    assert (~interval_support(b, "MIR", "MIR-PLSR", fl)[0]).mean() <= alpha


def test_interval_support_applies_the_support_rule(tiny, monkeypatch):
    """``interval_support`` marks what ``unsupported_rules(...)[SUPPORT_RULE]`` marks (plus clipped rows), with a
    reason per part of the rule: change the rule and the marks follow."""
    b = tiny["loaded"]
    lim = calibration_distance_limit(b.calibration["MIR-PLSR"], b.shift["MIR"].alpha)
    fl = pd.DataFrame({"shift_distance": [0.0, 2 * lim, 0.0, 0.0], "shift_flag": [False, False, True, False],
                       "recon_error": 0.0, "novelty_p": 1.0, "novelty_flag": [False, False, False, True]})
    clipped = pd.DataFrame({"clay": [False, False, False, False], "pH": [True, False, False, False]})
    rules = support.unsupported_rules(b, "MIR", "MIR-PLSR", fl)
    sup, note = interval_support(b, "MIR", "MIR-PLSR", fl, clipped)
    np.testing.assert_array_equal(~sup, rules[support.SUPPORT_RULE] | clipped.any(axis=1).to_numpy())
    assert list(sup) == [False, False, True, False] and "pH predicted outside" in note[0] and note[2] == ""
    monkeypatch.setattr(support, "SUPPORT_RULE", "shift")
    sup, note = interval_support(b, "MIR", "MIR-PLSR", fl)
    assert list(sup) == [True, True, False, True] and "above the shift limit" in note[2]
    # a batch told apart from the calibration samples marks every row, with its reason
    sup, note = interval_support(b, "MIR", "MIR-PLSR", fl, batch=(True, "the batch is told apart"))
    assert not sup.any() and all(n.endswith("the batch is told apart") for n in note)


def test_batch_shift_test_is_a_classifier_two_sample_test():
    """Exchangeable batches: AUC near 0.5, p not small; a batch shifted by two standard deviations along one
    latent axis: AUC near the best classifier's Phi(2 / sqrt 2) = 0.921, p tiny. The AUC is the Mann-Whitney U of the out-of-fold scores over n1 n2 (scipy, by
    hand from ranks here)."""
    rng = np.random.default_rng(1)
    cal = rng.normal(size=(100, 8))
    same = batch_shift_test(cal, rng.normal(size=(60, 8)))
    shifted = batch_shift_test(cal, rng.normal(size=(60, 8)) + np.r_[2.0, np.zeros(7)])
    assert 0.35 < same[0] < 0.65 and same[1] > 0.01 and shifted[1] < 1e-6
    assert shifted[0] == pytest.approx(0.921, abs=0.06)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    z = np.vstack([cal, rng.normal(size=(30, 8)) + 0.5])
    y = np.r_[np.zeros(100), np.ones(30)]
    s = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), z, y,
                          cv=StratifiedKFold(5, shuffle=True, random_state=0), method="decision_function")
    ranks = pd.Series(s).rank().to_numpy()
    u = ranks[y == 1].sum() - 30 * 31 / 2
    assert batch_shift_test(cal, z[100:])[0] == pytest.approx(u / (100 * 30))


@pytest.mark.filterwarnings("ignore:.*looks like reflectance")
def test_spectra_far_from_the_calibration_data_are_marked_in_predict(tiny):
    """Spectra turned upside down (absorbance negated) lie far from every calibration sample in the latent space:
    predict marks them, names the reason and counts them; the test spectra themselves are mostly supported."""
    b, F = tiny["loaded"], tiny["F"]
    n = len(F.test_mir)
    X = np.vstack([F.test_mir + 3.0, 3.0 - F.test_mir[:5]])
    lib = SpectralLibrary(X=X, axis=F.mir_axis, unit="cm-1", quantity="absorbance",
                          sample_id=[f"s{i}" for i in range(len(X))], name="far")
    out = b.predict(lib, strategy="MIR-PLSR")
    lim = calibration_distance_limit(b.calibration["MIR-PLSR"], b.shift["MIR"].alpha)
    far = out.iloc[n:]
    assert (far["shift_distance"] > lim).all() and not far["interval_supported"].any()
    assert far["interval_note"].str.contains("latent distance").all()
    expected = (out["shift_distance"] > lim) | out["novelty_flag"] | (out["clipped"] != "")
    np.testing.assert_array_equal(~out["interval_supported"], expected)
    assert out.attrs["n_unsupported"] == int(expected.sum())
    assert out["interval_supported"].iloc[:n].mean() > 0.5
    assert f"{out.attrs['n_unsupported']} of {len(out)} row(s)" in summary_text(out)
    assert b.info["limits"]["MIR"]["interval_support_distance_limit"]["MIR-PLSR"] == pytest.approx(lim)


# ------------------------------------------------------------------------------------------ info vs predict
def test_info_shift_limit_is_where_predict_flags(tiny):
    """``soilnb info`` states the shift limit on the scale of predict's ``shift_distance``: a latent point just
    below it is not flagged, just above it is."""
    b = tiny["loaded"]
    det = b.shift["MIR"]
    lim = b.shift_limit("MIR")
    assert b.info["limits"]["MIR"]["shift_distance_limit"] == lim
    assert f"above {lim:.4g}" in b.describe()
    m = det.mahalanobis_
    v = np.ones_like(m.median_)
    unit = m.distance((m.median_ + v)[None])[0]                     # d(median + t v) = t * unit
    z = m.median_ + np.outer([lim * (1 - 1e-6) / unit, lim * (1 + 1e-6) / unit], v)
    np.testing.assert_allclose(m.distance(z), [lim * (1 - 1e-6), lim * (1 + 1e-6)], rtol=1e-9)
    np.testing.assert_array_equal(det.predict(z), [False, True])
    # and flags() (predict's columns) agrees with the limit on the test spectra
    fl = flags(b, "MIR", tiny["F"].test_mir)
    clear = np.abs(fl["shift_distance"] / lim - 1) > 1e-9
    np.testing.assert_array_equal(fl["shift_flag"][clear], (fl["shift_distance"] > lim)[clear])
    # the squared variant of the detector too
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(300, 4))
    sq = ShiftDetector(squared=True).fit(Z)
    ls = shift_distance_limit(sq)
    d = sq.mahalanobis_.distance(Z)
    clear = np.abs(d / ls - 1) > 1e-9
    np.testing.assert_array_equal(sq.predict(Z)[clear], (d > ls)[clear])


def test_bundle_json_records_the_distance_limit(tiny):
    import json

    doc = json.loads((tiny["folder"] / "bundle.json").read_text())
    assert doc["shift"]["MIR"]["distance_limit"] == pytest.approx(tiny["loaded"].shift_limit("MIR"), rel=1e-12)


# ------------------------------------------------------------------------------------------ weighted conformal
def test_weighted_quantile_by_hand():
    """Tibshirani et al. (2019): the smallest score whose weighted share (the new point's weight on +inf)
    reaches the coverage; equal weights give the plain ceil((n + 1) c)-th smallest score."""
    s = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    # weights of the sorted scores 1..5: 1, 1, 2, 1, 3; new point 2 (total 10)
    w = np.array([2.0, 1.0, 1.0, 3.0, 1.0])
    # cumulative over the sorted scores: 1, 2, 4, 5, 8 (of 10): 0.5 -> 4th smallest, 0.8 -> 5th, 0.85 -> inf
    for cov, want in ((0.5, 4.0), (0.8, 5.0), (0.85, np.inf), (0.1, 1.0)):
        assert weighted_quantiles(s, w, [2.0], cov)[0, 0] == want
    for n in (9, 19, 20, 57):
        r = np.random.default_rng(n).normal(size=n) ** 2
        k = math.ceil((n + 1) * 0.9)
        want = np.sort(r)[k - 1] if k <= n else np.inf
        assert weighted_quantiles(r, np.ones(n), [1.0], 0.9)[0, 0] == want


def test_shift_weights_by_hand_on_a_1d_toy():
    """Density ratios from the domain classifier equal p / (1 - p) * n_cal / n_new of a logistic regression
    fitted by hand on the standardised feature; on two Gaussians they follow the true ratio's ordering."""
    rng = np.random.default_rng(1)
    z_cal, z_new = rng.normal(0, 1, size=(200, 1)), rng.normal(1, 1, size=(100, 1))
    w_cal, w_new = shift_weights(z_cal, z_new)
    Z = np.vstack([z_cal, z_new])
    zs = (Z - Z.mean()) / Z.std()
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(zs, np.r_[np.zeros(200), np.ones(100)])
    p = clf.predict_proba(zs)[:, 1]
    np.testing.assert_allclose(np.r_[w_cal, w_new], p / (1 - p) * 200 / 100, rtol=1e-8)
    # true ratio N(1,1)/N(0,1) = exp(z - 1/2): increasing in z, as the estimated one
    order = np.argsort(Z[:, 0])
    assert np.all(np.diff(np.r_[w_cal, w_new][order]) > 0)


@pytest.mark.filterwarnings("ignore:.*looks like reflectance")
def test_weighted_intervals_widen_for_a_shifted_batch(tiny):
    """Weighted intervals through predict: for a batch like the calibration samples about the plain width, for a
    batch far from them wider (up to the physical bounds); refused with normalized."""
    b, F = tiny["loaded"], tiny["F"]
    assert b.calibration["MIR-PLSR"].latent is not None
    near = _lib(F, list(range(len(F.test_mir))))
    plain = b.predict(near, strategy="MIR-PLSR")
    X = np.vstack([F.test_mir[:10] + 3.0, 3.0 - F.test_mir[:10]])
    far = SpectralLibrary(X=X, axis=F.mir_axis, unit="cm-1", quantity="absorbance",
                          sample_id=[f"f{i}" for i in range(20)], name="far")
    wf, pf = b.predict(far, strategy="MIR-PLSR", weighted=True), b.predict(far, strategy="MIR-PLSR")
    width = (lambda o: (o["pH_upper"] - o["pH_lower"]).to_numpy())
    assert (width(wf)[10:] >= width(pf)[10:] - 1e-12).all() and width(wf)[10:].mean() > width(pf)[10:].mean()
    assert wf.attrs["weighted"] and np.isfinite(width(b.predict(near, strategy="MIR-PLSR", weighted=True))).all()
    assert len(plain) == len(F.test_mir)
    with pytest.raises(ValueError, match="normalized or weighted"):
        b.predict(near, strategy="MIR-PLSR", weighted=True, normalized=True)
    # a bundle without calibration latents (written before they were stored) refuses weighted intervals
    old = replace(b, calibration={s: replace(c, latent=None) for s, c in b.calibration.items()})
    with pytest.raises(ValueError, match="latent embeddings"):
        old.predict(near, strategy="MIR-PLSR", weighted=True)
    assert apply.load_bundle(tiny["folder"]).calibration["MIR-PLSR"].latent.shape[0] == b.calibration["MIR-PLSR"].n


def test_summary_counts_rows_predicted_from_quality_flagged_spectra():
    from soilnb.apply.prediction_summary import summary_text

    pred = pd.DataFrame({"quality_ok": [True, False, False],
                         "quality": ["", "saturated: absorbance 5.2 above 5; flat", "saturated: absorbance 5.1 above 5"],
                         "interval_supported": [True, True, True]})
    assert summary_text(pred) == ("2 of 3 row(s) predicted from spectra with a reading-quality flag "
                                  "(saturated: 2, flat: 1): check column 'quality'")
    assert summary_text(pred.assign(quality_ok=True)) == ""
