"""Tests of soilnb.stats.shift against scipy and the chi-square model of Pomerantsev (2008)."""
import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis
from scipy.stats import chi2, iqr
from sklearn.utils.estimator_checks import check_estimator

from soilnb.stats.shift import (
    RobustMahalanobis,
    ShiftDetector,
    flag_extreme,
    pomerantsev_limit,
)


def _gaussian(n, p=32, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    A = np.linalg.cholesky(0.5 * np.eye(p) + 0.5 / p * np.ones((p, p)) + 0.01 * np.diag(np.arange(p)))
    return rng.normal(size=(n, p)) @ A.T + shift


def test_distance_matches_scipy():
    Z = _gaussian(500, p=6) * [1, 2, 3, 4, 5, 6] + 10
    Znew = _gaussian(20, p=6, seed=1)
    rm = RobustMahalanobis().fit(Z)
    np.testing.assert_allclose(rm.median_, np.median(Z, axis=0), rtol=1e-14)
    np.testing.assert_allclose(rm.iqr_, iqr(Z, axis=0), rtol=1e-13)
    Zs = (Z - np.median(Z, axis=0)) / iqr(Z, axis=0)
    VI = np.linalg.inv(np.cov(Zs, rowvar=False))
    ref = [mahalanobis((z - rm.median_) / rm.iqr_, np.zeros(6), VI) for z in Znew]
    np.testing.assert_allclose(rm.distance(Znew), ref, rtol=1e-10)
    np.testing.assert_allclose(rm.transform(Znew), ref, rtol=1e-10)
    assert rm.transform(Znew).shape == (20,)


def test_pomerantsev_by_hand():
    # d = [1, 2, 3, 4]: d0 = 2.5, population var = 1.25, Fd = int(2 * 6.25 / 1.25) = 10
    lim = pomerantsev_limit([1.0, 2.0, 3.0, 4.0], alpha=0.05)
    assert lim["d0"] == 2.5 and lim["Fd"] == 10
    np.testing.assert_allclose(lim["limit"], chi2.ppf(0.95, 10), rtol=1e-15)
    np.testing.assert_allclose(lim["limit"], 18.307038, rtol=1e-7)
    # flagged when Fd * d / d0 > limit  <=>  d > 18.307 * 2.5 / 10 = 4.5768
    np.testing.assert_array_equal(flag_extreme([4.5, 4.6, 1.0], 2.5, 10, lim["limit"]), [False, True, False])


def test_training_flag_rate_near_alpha():
    # With p = 32 Gaussian features (the paper's latent size), Eqs. 16-19 applied to d flag
    # 4.7 % of 20,000 training rows (measured) against the nominal 5 %: the chi-square model
    # is an approximation. Binomial sd at 5 % and n = 20,000 is 0.0015; allow 4 sd.
    Z = _gaussian(20000)
    tol = 4 * np.sqrt(0.05 * 0.95 / 20000)
    for squared in (False, True):
        det = ShiftDetector(alpha=0.05, squared=squared).fit(Z)
        assert abs(det.train_flag_rate_ - 0.05) < tol, (squared, det.train_flag_rate_)
        fresh = det.predict(_gaussian(20000, seed=1)).mean()   # new data, same distribution
        assert abs(fresh - 0.05) < tol + 0.003
    # Fd on d**2 estimates the chi-square degrees of freedom of d**2, here about p = 32
    assert 26 <= ShiftDetector(squared=True).fit(Z).Fd_ <= 36


def test_shifted_data_flagged_more():
    Z = _gaussian(5000)
    det = ShiftDetector().fit(Z)
    shifted = det.predict(_gaussian(2000, seed=3, shift=1.0)).mean()
    assert shifted > 0.6
    np.testing.assert_allclose(det.score(Z) > det.limit_, det.predict(Z))


def test_score_is_normalised_distance():
    Z = _gaussian(1000, p=4)
    det = ShiftDetector().fit(Z)
    d = RobustMahalanobis().fit(Z).distance(Z)
    lim = pomerantsev_limit(d)
    np.testing.assert_allclose(det.score(Z), lim["Fd"] * d / lim["d0"], rtol=1e-12)
    assert det.limit_ == lim["limit"]


def test_errors():
    Z = _gaussian(100, p=3)
    Z[:, 1] = 1.0
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\] have zero IQR"):
        RobustMahalanobis().fit(Z)
    with pytest.raises(ValueError, match="alpha must be in"):
        pomerantsev_limit([1.0, 2.0], alpha=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        pomerantsev_limit([1.0, -2.0])
    with pytest.raises(ValueError, match="constant"):
        pomerantsev_limit([2.0, 2.0])


def test_sklearn_compatible():
    check_estimator(RobustMahalanobis())
