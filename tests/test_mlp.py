"""soilnb.models.mlp.MLPRegressor: learning, determinism, scikit-learn compliance."""
import numpy as np
import pytest
from sklearn.metrics import r2_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from soilnb.models.mlp import MLPRegressor


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 5))
    Y = np.column_stack([np.sin(2 * X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 3], np.abs(X[:, 4])])
    return X.astype(np.float32), Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = make_data(600, 0)
    return MLPRegressor(hidden=64, epochs=150, batch_size=64, patience=20, lr=3e-3, dropout=0.0,
                        device="cpu").fit(X, Y, groups=np.arange(600) // 2)


def test_learns_a_nonlinear_multi_output_function(fitted):
    X, Y = make_data(300, 1)
    pred = fitted.predict(X)
    assert pred.shape == (300, 3) and pred.dtype == np.float64
    r2 = r2_score(Y, pred, multioutput="raw_values")
    assert np.all(r2 > 0.85), r2  # predicting the mean scores 0
    assert fitted.n_features_in_ == 5 and fitted.n_outputs_ == 3
    assert len(fitted.history_["val_loss"]) == len(fitted.history_["epoch"])


def test_deterministic_for_a_random_state(fitted):
    X, Y = make_data(600, 0)
    again = MLPRegressor(**fitted.get_params()).fit(X, Y, groups=np.arange(600) // 2)
    Xt, _ = make_data(50, 2)
    np.testing.assert_array_equal(again.predict(Xt), fitted.predict(Xt))
    other = MLPRegressor(**{**fitted.get_params(), "random_state": 1, "epochs": 3}).fit(X, Y)
    assert not np.allclose(other.predict(Xt), fitted.predict(Xt))


def test_target_scaling_is_undone():
    X, Y = make_data(200, 3)
    kw = dict(hidden=16, epochs=5, device="cpu")
    a = MLPRegressor(**kw).fit(X, Y).predict(X[:20])
    b = MLPRegressor(**kw).fit(X, 1000.0 * Y + 5.0).predict(X[:20])
    np.testing.assert_allclose(b, 1000.0 * a + 5.0, rtol=1e-4, atol=1e-3)


def test_one_dimensional_target_and_no_validation():
    X, Y = make_data(100, 4)
    m = MLPRegressor(hidden=8, epochs=4, val_fraction=0.0, device="cpu").fit(X, Y[:, 0])
    assert m.predict(X).shape == (100,)
    assert m.history_["epoch"] == [0, 1, 2, 3] and m.history_["best_epoch"] == 3


@pytest.mark.parametrize("params, msg", [({"hidden": 0}, "hidden must be a positive int"),
                                         ({"dropout": 1.5}, "dropout must be in"),
                                         ({"val_fraction": 1.0}, "val_fraction must be in")])
def test_bad_parameters(params, msg):
    X, Y = make_data(20, 5)
    with pytest.raises(ValueError, match=msg):
        MLPRegressor(**params).fit(X, Y)


def test_bad_input():
    X, Y = make_data(20, 5)
    m = MLPRegressor(hidden=4, epochs=1, device="cpu").fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :3])
    with pytest.raises(ValueError, match="groups must have shape"):
        MLPRegressor(epochs=1).fit(X, Y, groups=np.arange(3))


@parametrize_with_checks([MLPRegressor(device="cpu")])
def test_sklearn_compatible(estimator, check):
    check(estimator)
