"""Tests of soilnb.stats.cv: the repeated grouped splitter and the fast nested repeated PLSR CV."""
import numpy as np
import pandas as pd
import pytest
from sklearn.cross_decomposition import PLSRegression

from soilnb.core.vocab import PROPERTIES
from soilnb.stats.cv import RepeatedGroupKFold, repeated_cv_pls
from soilnb.stats.metrics import regression_metrics
from soilnb.stats.targets import TargetTransformer


def _groups(n_groups=53, seed=0):
    rng = np.random.default_rng(seed)
    return np.repeat(np.arange(n_groups) * 7 + 3, rng.integers(1, 5, size=n_groups))


def test_splitter_groups_never_straddle_and_each_sample_once():
    groups = _groups()
    cv = RepeatedGroupKFold(n_splits=5, n_repeats=4, random_state=0)
    splits = list(cv.split(np.zeros((groups.size, 1)), groups=groups))
    assert len(splits) == cv.get_n_splits() == 20
    for r in range(4):
        seen = np.zeros(groups.size, dtype=int)
        for train, test in splits[5 * r: 5 * r + 5]:
            assert not set(groups[train]) & set(groups[test])
            assert train.size + test.size == groups.size
            seen[test] += 1
        np.testing.assert_array_equal(seen, 1)     # each sample tested exactly once per repeat


def test_splitter_balanced_repeats_differ_and_deterministic():
    groups = _groups()
    cv = RepeatedGroupKFold(n_splits=5, n_repeats=3, random_state=42)
    lab = cv.fold_labels(groups)
    for r in range(3):
        per_fold = [len(np.unique(groups[lab[r] == f])) for f in range(5)]
        assert max(per_fold) - min(per_fold) <= 1          # 53 groups -> 10 or 11 per fold
    assert not np.array_equal(lab[0], lab[1]) and not np.array_equal(lab[1], lab[2])
    np.testing.assert_array_equal(lab, RepeatedGroupKFold(5, 3, random_state=42).fold_labels(groups))
    assert not np.array_equal(lab, RepeatedGroupKFold(5, 3, random_state=43).fold_labels(groups))


def test_splitter_errors():
    with pytest.raises(ValueError, match="groups is required"):
        list(RepeatedGroupKFold().split(np.zeros((5, 1))))
    with pytest.raises(ValueError, match="cannot make 10 folds from 4 groups"):
        RepeatedGroupKFold(10, 1).fold_labels([1, 2, 3, 4])


def _data(n_groups=60, K=25, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), 2)
    T = rng.normal(size=(n_groups, 3))[groups] + 0.1 * rng.normal(size=(groups.size, 3))
    X = T @ rng.normal(size=(3, K)) + 0.3 * rng.normal(size=(groups.size, K)) + 1.0
    Y = pd.DataFrame(np.exp(0.3 * T @ rng.normal(size=(3, 9)) + 0.1 * rng.normal(size=(groups.size, 9))),
                     columns=PROPERTIES)
    tex = np.exp(T @ rng.normal(size=(3, 3)) * 0.4)
    Y[["clay", "silt", "sand"]] = 100 * tex / tex.sum(axis=1, keepdims=True)
    return X, Y, groups


def test_repeated_cv_pls_layout_and_determinism():
    X, Y, groups = _data()
    res = repeated_cv_pls(X, Y, groups, n_splits=4, n_repeats=2, max_components=6, random_state=1)
    assert len(res) == 2 * 4 * 9
    assert list(res.columns) == ["repeat", "fold", "property", "n_test", "n_components",
                                 "rmse", "me", "r2", "ccc", "rpiq"]
    assert list(res["property"][:9]) == list(PROPERTIES)
    assert res.groupby("repeat")["n_test"].sum().eq(9 * X.shape[0]).all()
    assert res["n_components"].between(1, 6).all()
    again = repeated_cv_pls(X, Y, groups, n_splits=4, n_repeats=2, max_components=6, random_state=1)
    pd.testing.assert_frame_equal(res, again)


@pytest.mark.parametrize("inner_splits, inner_folds", [(None, [[0], [1], [3]]), (2, [[0, 3], [1]])])
def test_repeated_cv_pls_equals_brute_force_sklearn(inner_splits, inner_folds):
    """Outer fold 2 of 4 recomputed from scratch with sklearn PLSRegression: the inner CV over
    the other folds (leave-one-fold-out, or folds 0 and 3 vs fold 1 for 2 inner splits) picks the
    components, then the outer fit scores the test fold."""
    X, Y, groups = _data(seed=3)
    n_splits, A = 4, 5
    res = repeated_cv_pls(X, Y, groups, n_splits=n_splits, n_repeats=1, max_components=A,
                          random_state=7, inner_splits=inner_splits)
    fold = RepeatedGroupKFold(n_splits, 1, random_state=7).fold_labels(groups)[0]
    i = 2
    for prop in ("TC", "pH", "sand"):
        y = Y[prop].to_numpy()
        sse = np.zeros(A)
        for val_folds in inner_folds:
            val = np.isin(fold, val_folds)
            train = (fold != i) & ~val
            for a in range(1, A + 1):
                pred = PLSRegression(a, scale=False).fit(X[train], y[train]).predict(X[val]).ravel()
                sse[a - 1] += np.sum((pred - y[val]) ** 2)
        a_best = int(np.argmin(sse)) + 1
        model = PLSRegression(a_best, scale=False).fit(X[fold != i], y[fold != i])
        ref = regression_metrics(y[fold == i], model.predict(X[fold == i]).ravel())
        row = res[(res.fold == i) & (res.property == prop)].iloc[0]
        assert row["n_components"] == a_best
        np.testing.assert_allclose(row[list(ref)].to_numpy(float), list(ref.values()), rtol=1e-8)


def test_repeated_cv_pls_identity_transform_matches_plain():
    X, Y, groups = _data(seed=4)
    Y = Y + 50.0          # keep predictions positive: the inverse transform clips at 0
    identity = TargetTransformer(log_properties=(), texture="none", standardize=False)
    a = repeated_cv_pls(X, Y, groups, n_splits=3, n_repeats=1, max_components=4)
    b = repeated_cv_pls(X, Y, groups, n_splits=3, n_repeats=1, max_components=4, target_transform=identity)
    assert "n_components" not in b.columns
    cols = ["rmse", "me", "r2", "ccc", "rpiq"]
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-9)
    c = repeated_cv_pls(X, Y - 50.0, groups, n_splits=3, n_repeats=1, max_components=4,
                        target_transform=TargetTransformer())
    assert np.isfinite(c[cols].to_numpy()).all() and len(c) == 27


def test_repeated_cv_pls_errors():
    X, Y, groups = _data()
    bad = Y.copy()
    bad.loc[5, "CEC"] = np.nan
    with pytest.raises(ValueError, match=r"Y contains NaN in column\(s\) \['CEC'\]"):
        repeated_cv_pls(X, bad, groups)
    with pytest.raises(ValueError, match="one row per row of Y"):
        repeated_cv_pls(X[:-1], Y, groups)
    with pytest.raises(ValueError, match="inner_splits must be an int >= 2"):
        repeated_cv_pls(X, Y, groups, n_splits=4, inner_splits=1)
    with pytest.raises(ValueError, match="nested CV needs n_splits >= 3"):
        repeated_cv_pls(X, Y, groups, n_splits=2)
    with pytest.raises(TypeError, match="Y must be a DataFrame"):
        repeated_cv_pls(X, Y.to_numpy(), groups)
