import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression

from soilnb.stats.conversion import (
    PLS2Converter,
    conversion_scores,
    conversion_table,
    rmse_by_channel,
    spectral_correlation,
)


def test_spectral_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 40)), rng.normal(size=(5, 40))
    expected = [np.corrcoef(a, b)[0, 1] for a, b in zip(A, B)]
    np.testing.assert_allclose(spectral_correlation(A, B), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="differ in shape"):
        spectral_correlation(A, B[:, :3])


def test_rmse_by_channel_and_scores_by_hand():
    obs = np.array([[0.0, 1.0], [2.0, 3.0]])
    pred = np.array([[1.0, 2.0], [2.0, 5.0]])
    np.testing.assert_allclose(rmse_by_channel(obs, pred), [np.sqrt(0.5), np.sqrt(2.5)])
    assert conversion_scores(obs, pred)["rmse"] == pytest.approx(np.sqrt(6 / 4))
    with pytest.raises(ValueError, match="constant spectrum at row"):
        spectral_correlation(obs, np.array([[1.0, 1.0], [2.0, 5.0]]))
    t = conversion_table({"test": {"observed": obs, "m": pred, "latent": obs}})
    assert list(t["method"]) == ["m"] and t.loc[0, "n"] == 2


def test_pls2_with_all_target_components_equals_sklearn():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 12))
    Y = X[:, :3] @ rng.normal(size=(3, 20)) + 0.1 * rng.normal(size=(60, 20))
    conv = PLS2Converter(max_components=4, n_target_components=20).fit(X, Y)
    k = conv.n_components_
    ref = PLSRegression(n_components=k, scale=False, tol=1e-15, max_iter=5000).fit(X, Y)
    np.testing.assert_allclose(conv.predict(X), ref.predict(X), rtol=1e-4, atol=1e-4)
