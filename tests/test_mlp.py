"""soilnb.models.mlp.MLPRegressor: learning, determinism, scikit-learn compliance, the schedule rule."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import r2_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from soilnb.models.loop import MIN_STEPS, capped_batch_size
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


@parametrize_with_checks([MLPRegressor(device="cpu", epochs=50)])  # 50 epochs: the checks need a fit, not a good one
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- the schedule rule (batch cap, minimum steps)
def _fit_recording(X, Y, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = MLPRegressor(device="cpu", **kw).fit(X, Y)
    return m, [str(w.message) for w in rec]


def test_batch_is_capped_at_an_eighth_of_the_training_rows_with_a_warning():
    X, Y = make_data(400, 6)                                   # 320 training rows after the 20 % validation split
    m, msgs = _fit_recording(X, Y, hidden=8, epochs=30, batch_size=128, patience=None)
    assert m.history_["batch_size"] == 40 and m.history_["steps"] == 30 * 8
    assert [s for s in msgs if "capped" in s] == ["MLP: batch 128 capped at 40 for 320 training rows "
                                                  "(at most an eighth of them per batch)"]
    for batch in (40, 16):                                     # at or under the cap: kept, no warning
        m, msgs = _fit_recording(X, Y, hidden=8, epochs=30, batch_size=batch, patience=None)
        assert m.history_["batch_size"] == batch and not any("capped" in s for s in msgs)
    m, msgs = _fit_recording(X[:60], Y[:60], hidden=8, epochs=4, batch_size=128, patience=None)
    assert m.history_["batch_size"] == 16 and any("capped at 16 for 48 training rows" in s for s in msgs)
    assert capped_batch_size(128, 3044) == 128                 # the default profile's KSSL MLPs keep their batch
    assert capped_batch_size(128, 384) == 48                   # its NIR-MLP (Paired training split) does not


def test_early_stopping_waits_for_the_minimum_number_of_steps():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(200, 5)).astype(np.float32), rng.normal(size=(200, 2))   # nothing to learn
    kw = dict(hidden=64, epochs=200, batch_size=16, patience=2, lr=1e-2, dropout=0.0)  # 10 steps per epoch
    quick, _ = _fit_recording(X, Y, min_steps=0, **kw)
    ruled, msgs = _fit_recording(X, Y, **kw)
    assert quick.history_["steps"] < MIN_STEPS                 # an epoch-counted patience stops after a few dozen steps
    assert MIN_STEPS <= ruled.history_["steps"] < MIN_STEPS + 10 * (kw["patience"] + 1)
    assert not any("optimiser steps (" in s for s in msgs)     # no under-training warning once the rule holds
    # the best epoch is still the one restored: the same early epochs, the same weights
    assert ruled.history_["val_loss"][:len(quick.history_["epoch"])] == quick.history_["val_loss"]


def test_warnings_for_too_few_steps_and_still_improving_fire_exactly_when_due():
    X, Y = make_data(160, 8)                                   # 128 training rows: batch 16, 8 steps per epoch
    kw = dict(hidden=16, batch_size=16, patience=None, lr=1e-4, dropout=0.0)
    _, msgs = _fit_recording(X, Y, epochs=24, **kw)            # 192 steps
    assert any("only 192 optimiser steps (8 batches of 16 x 24 epochs)" in s for s in msgs)
    assert any("still falling at the last of 24 epochs" in s for s in msgs)   # lr 1e-4: far from converged
    m, msgs = _fit_recording(X, Y, epochs=25, **kw)            # 200 steps: enough
    assert m.history_["steps"] == 200 and not any("optimiser steps (" in s for s in msgs)
    m, msgs = _fit_recording(X, Y, epochs=400, **{**kw, "lr": 3e-3, "patience": 10})
    assert not m.history_["still_improving"] and not msgs    # converged and stopped early: silent


def test_three_hundred_rows_train_to_a_low_error_with_the_default_batch():
    """300 rows with the default batch (128), lr, dropout and patience: capped at 30 (8 steps per epoch instead
    of one), the fit reaches R2 > 0.9 on every output (without the rule, 150 steps of batch 128: 0.88, 0.95, 0.56)."""
    X, Y = make_data(300, 0)
    m, msgs = _fit_recording(X, Y, hidden=64, epochs=150)
    assert m.history_["batch_size"] == 30 and m.history_["steps"] >= MIN_STEPS
    assert not any("optimiser steps (" in s for s in msgs)
    Xt, Yt = make_data(300, 1)
    r2 = r2_score(Yt, m.predict(Xt), multioutput="raw_values")
    assert np.all(r2 > 0.9), r2
