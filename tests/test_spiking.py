"""Spiked PLS refits (:mod:`soilnb.apply.spiking`) against independent references: ikpls fitted on the library
with the local rows repeated ``w`` times (what a weight means), a least-squares line for the slope-and-bias
correction, and out-of-fold residuals that do not move when their own fold's values do."""
import numpy as np
import pytest
from ikpls.numpy import PLS

from soilnb.apply.heads import PLSHead
from soilnb.apply.spiking import Spiker, choose, deal_folds, nested_residuals
from soilnb.stats.targets import TargetTransformer


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(5)
    K = 40                                               # more wavenumbers than rows: the basis is a real reduction
    X_lib, X_loc = rng.normal(size=(30, K)), rng.normal(size=(8, K)) + 0.3
    beta = rng.normal(size=(K, 2))
    T_lib, T_loc = X_lib @ beta + rng.normal(size=(30, 2)), X_loc @ beta * 0.5 + 1
    head = PLSHead(np.zeros((2, K)), np.zeros(2), TargetTransformer(), [4, 4])
    return Spiker(head, X_lib, T_lib, X_loc), X_lib, T_lib, X_loc, T_loc


def _ikpls(X, T, A, X_new):
    """Predictions of independent PLS1 models (one per column of T), 1..A components, by ikpls."""
    out = np.empty((A, len(X_new), T.shape[1]))
    for j in range(T.shape[1]):
        m = PLS(algorithm=1, center_X=True, center_Y=True, scale_X=False, scale_Y=False).fit(X, T[:, [j]], A)
        for a in range(A):
            out[a, :, j] = m.predict(X_new, n_components=a + 1)[:, 0]
    return out


@pytest.mark.parametrize("w", [1, 3])
def test_a_weight_is_the_local_rows_repeated(case, w):
    sp, X_lib, T_lib, X_loc, T_loc = case
    assert sp.V.shape == (X_lib.shape[1], 38)
    rows = np.arange(6)
    coef, icpt = sp.fit(rows, T_loc[rows], w)
    X = np.vstack([X_lib, np.repeat(X_loc[rows], w, axis=0)])
    T = np.vstack([T_lib, np.repeat(T_loc[rows], w, axis=0)])
    want = _ikpls(X, T, sp.A, X_loc)
    np.testing.assert_allclose(sp.outputs(coef, icpt, np.arange(8)), want, rtol=1e-6, atol=1e-8)


def test_infinite_weight_is_the_local_rows_alone(case):
    sp, X_lib, T_lib, X_loc, T_loc = case
    coef, icpt = sp.fit(np.arange(8), T_loc, np.inf)
    np.testing.assert_allclose(sp.outputs(coef, icpt, np.arange(8)), _ikpls(X_loc, T_loc, sp.A, X_loc),
                               rtol=1e-6, atol=1e-8)


def test_slope_correction_is_a_least_squares_line(case):
    sp, X_lib, T_lib, X_loc, T_loc = case
    rows = np.arange(8)
    plain = sp.outputs(*sp.fit(rows, T_loc, 1), rows)
    fixed = sp.outputs(*sp.fit(rows, T_loc, 1, "slope"), rows)
    for a in range(sp.A):
        for j in range(2):
            s, c = np.polyfit(plain[a, :, j], T_loc[:, j], 1)
            np.testing.assert_allclose(fixed[a, :, j], c + s * plain[a, :, j], rtol=1e-9, atol=1e-9)
    biased = sp.outputs(*sp.fit(rows, T_loc, 1, True), rows)
    np.testing.assert_allclose(biased.mean(1), np.broadcast_to(T_loc.mean(0), (sp.A, 2)), atol=1e-9)


def test_choose_ranks_options_per_output():
    errors = {(1, False): np.array([[3.0, 1.0], [2.0, 5.0]]), (16, True): np.array([[2.0, 0.5], [4.0, 0.5]])}
    assert choose(errors, top=2) == [[(1, False, 2), (16, True, 1)], [(16, True, 1), (16, True, 2)]]


def test_nested_residuals_do_not_see_their_own_fold(case):
    sp, X_lib, T_lib, X_loc, T_loc = case
    ids = np.arange(8)
    folds = deal_folds(ids, 4, seed=2)
    cands = [(1, False), (16, True)]
    oof = nested_residuals(sp, T_loc, ids, folds, cands)
    moved = T_loc.copy()
    moved[folds == 0] += 100.0
    again = nested_residuals(sp, moved, ids, folds, cands)
    np.testing.assert_allclose(again[folds == 0], oof[folds == 0], rtol=1e-9)
    assert not np.allclose(again[folds != 0], oof[folds != 0])


def test_transfer_draws_until_enough_test_predictions():
    from soilnb.apply.transfer import draws
    assert draws(88, 10, 300) == 10 and draws(12, 10, 300) == 25 and draws(17, 10, 300) == 18
    assert draws(17, 1, 0) == 1


def test_weights_solved_as_one_batch_equal_one_at_a_time(case):
    """The batched refits (every weight of a fold's CV in one PLS solve, and the corrections of a weight on one
    refit) give what each weight's own refit gives (up to the rounding of a matrix product taken over more
    columns at once), and agree with ikpls on the repeated rows."""
    sp, X_lib, T_lib, X_loc, T_loc = case
    rows = np.arange(7)
    weights = (1, 4, np.inf, 16)
    together = sp.bases(rows, T_loc[rows], weights)
    for w in weights:
        alone = sp.bases(rows, T_loc[rows], (w,))[w]
        np.testing.assert_allclose(together[w][0], alone[0], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(together[w][1], alone[1], rtol=1e-11, atol=1e-13)
        for bias in (False, True, "slope"):
            np.testing.assert_allclose(sp.correct(*together[w], rows, T_loc[rows], bias)[0],
                                       sp.fit(rows, T_loc[rows], w, bias)[0], rtol=1e-11, atol=1e-13)
    X = np.vstack([X_lib, np.repeat(X_loc[rows], 4, axis=0)])
    T = np.vstack([T_lib, np.repeat(T_loc[rows], 4, axis=0)])
    np.testing.assert_allclose(sp.outputs(*together[4], np.arange(8)), _ikpls(X, T, sp.A, X_loc), rtol=1e-6,
                               atol=1e-8)


def test_library_plus_local_is_the_formed_gram_times_r():
    """The product the batched PLS asks for, against the (K, K) matrices formed per weight: G + w Z^T Z, and
    Z^T Z alone for the infinite weight."""
    from soilnb.apply.spiking import LibraryPlusLocal

    rng = np.random.default_rng(3)
    K, k, m = 30, 6, 2
    Zl, Z = rng.normal(size=(50, K)), rng.normal(size=(k, K))
    G = Zl.T @ Zl
    R = rng.normal(size=(3, K, m))
    got = LibraryPlusLocal(G, Z, [1.0, 1.0, 0.0], [4.0, 64.0, 1.0]) @ R
    want = np.stack([(G + 4 * Z.T @ Z) @ R[0], (G + 64 * Z.T @ Z) @ R[1], (Z.T @ Z) @ R[2]])
    assert got.shape == (3, K, m)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)
