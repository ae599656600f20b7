"""Tests of soilnb.stats.pls against scikit-learn's PLSRegression (NIPALS)."""
import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.utils.estimator_checks import check_estimator

from soilnb.stats.pls import PLSR, ikpls1_one_pass, pls1_from_gram


def _latent_data(n=300, K=50, k=4, m=3, noise=0.05, seed=0):
    """X and Y built from ``k`` latent factors with well separated variances (4, 2, 1, ...),
    each factor contributing variance of order 1 to every Y column."""
    rng = np.random.default_rng(seed)
    scales = 4.0 * 0.5 ** np.arange(k)
    T = rng.normal(size=(n, k)) * scales
    X = T @ rng.normal(size=(k, K)) + noise * rng.normal(size=(n, K)) + 3.0
    Y = (T / scales) @ (1.0 + rng.uniform(size=(k, m))) + noise * rng.normal(size=(n, m)) + 1.0
    return X, Y


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("n_components", [1, 3, 8])
def test_single_target_equals_sklearn(n_components):
    X, Y = _latent_data()
    Xt, _ = _latent_data(seed=1)
    ours = PLSR(n_components=n_components).fit(X, Y[:, 0])
    ref = PLSRegression(n_components, scale=False).fit(X, Y[:, 0])
    pred = ours.predict(Xt)
    assert pred.shape == (Xt.shape[0],)
    assert _rel(pred, ref.predict(Xt).ravel()) < 1e-8
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-12)


def test_single_target_scaled_equals_sklearn():
    X, Y = _latent_data()
    X = X * np.linspace(0.1, 10, X.shape[1])
    ours = PLSR(n_components=5, scale=True).fit(X, Y[:, 1])
    ref = PLSRegression(5, scale=True).fit(X, Y[:, 1])
    assert _rel(ours.predict(X), ref.predict(X).ravel()) < 1e-8


def test_multi_target_equals_sklearn():
    # sklearn's NIPALS iterates the PLS2 inner loop to `tol`; tighten it to compare to 1e-8.
    X, Y = _latent_data()
    ours = PLSR(n_components=6).fit(X, Y)
    ref = PLSRegression(6, scale=False, tol=1e-15, max_iter=100_000).fit(X, Y)
    assert ours.predict(X).shape == Y.shape
    assert _rel(ours.predict(X), ref.predict(X)) < 1e-8
    np.testing.assert_allclose(ours.x_mean_, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(ours.y_mean_, Y.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(ours.predict(X), X @ ours.coef_.T + ours.intercept_, rtol=1e-14)


@pytest.mark.parametrize("multi", [False, True])
def test_cv_picks_number_of_latent_factors(multi):
    X, Y = _latent_data(k=4)
    y = Y if multi else Y[:, 0]
    model = PLSR(max_components=12, cv=5, random_state=0).fit(X, y)
    assert model.n_components_ == 4
    assert model.cv_rmse_.shape == (12,)
    assert np.argmin(model.cv_rmse_) == 3
    # CV RMSE at the right number is near the noise level (0.05), far below 1 component
    assert model.cv_rmse_[3] < 0.1 * model.cv_rmse_[0]


def test_cv_deterministic_and_grouped():
    X, Y = _latent_data(k=3, noise=0.3)
    groups = np.arange(X.shape[0]) // 4
    a = PLSR(random_state=3).fit(X, Y[:, 0], groups=groups)
    b = PLSR(random_state=3).fit(X, Y[:, 0], groups=groups)
    np.testing.assert_array_equal(a.cv_rmse_, b.cv_rmse_)
    folds = PLSR(cv=5, random_state=3)._folds(X.shape[0], groups)
    for g in np.unique(groups):
        assert len(np.unique(folds[groups == g])) == 1       # a group never straddles folds


def test_pls1_from_gram_equals_sklearn():
    X, Y = _latent_data(m=3)
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    B = pls1_from_gram(Xc.T @ Xc, Xc.T @ Yc, 7)
    B_unc = pls1_from_gram(X.T @ X, X.T @ Y, 7, X.sum(axis=0), Y.sum(axis=0), X.shape[0])
    for a in (1, 4, 7):
        for j in range(3):
            ref = PLSRegression(a, scale=False).fit(X, Y[:, j]).predict(X).ravel()
            assert _rel(Xc @ B[a - 1, :, j] + Y[:, j].mean(), ref) < 1e-10
            assert _rel(Xc @ B_unc[a - 1, :, j] + Y[:, j].mean(), ref) < 1e-9


def test_errors():
    X, Y = _latent_data()
    with pytest.raises(ValueError, match="n_components must be an int"):
        PLSR(n_components=0).fit(X, Y)
    with pytest.raises(ValueError, match="cv must be an integer"):
        PLSR(cv=1).fit(X, Y)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        PLSR().fit(X, Y, groups=[1, 2, 3])


def test_check_estimator():
    check_estimator(PLSR())
    check_estimator(PLSR(n_components=1, scale=True))


def test_pls1_from_gram_rank_exhaustion_and_tiny_scale():
    # rank-5 X at a 1e-6 scale: components past the rank add nothing (B carried forward), and the
    # stopping rule is relative, so tiny-magnitude data are not mistaken for exhausted ones.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 5)) * 1e-6, rng.normal(size=(30, 2)) * 1e-7
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    B = pls1_from_gram(Xc.T @ Xc, Xc.T @ Yc, 8)
    np.testing.assert_array_equal(B[7], B[4])
    ref = PLSRegression(3, scale=False).fit(X, Y[:, 1]).predict(X).ravel()
    assert _rel(Xc @ B[2, :, 1] + Y[:, 1].mean(), ref) < 1e-10


def test_plsr_fits_in_threads_leave_stdout_alone():
    """ikpls's cross-validation runs with stdout silenced; PLSR fits in several threads at once (as the transfer
    benchmark's draws run) must leave ``sys.stdout`` the object it was (unlocked, the swaps interleave and every
    later print can vanish into a discarded buffer)."""
    import sys
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 30)), rng.normal(size=40)
    before = sys.stdout
    with ThreadPoolExecutor(4) as pool:
        fits = list(pool.map(lambda s: PLSR(max_components=5, cv=3, random_state=s).fit(X, y), range(24)))
    assert sys.stdout is before and all(f.n_components_ >= 1 for f in fits)


@pytest.mark.parametrize("m, scale", [(1, False), (1, True), (3, False), (3, True)])
def test_one_pass_fit_equals_sklearn(m, scale, monkeypatch):
    # the one-pass IKPLS #1 (centring and scaling folded into the weights, X never copied) against NIPALS; small
    # blocks, so that each of the two spans of rows is read in several blocks, the last one shorter
    import soilnb.stats.pls as pls
    monkeypatch.setattr(pls, "_BLOCK_ROWS", 7)
    X, Y = _latent_data(n=301, m=m)
    X = X * np.linspace(0.2, 5, X.shape[1])
    from ikpls.numpy import PLS as IKPLS
    B, x_mean, y_mean, x_std = ikpls1_one_pass(X, Y[:, :m], 6, scale=scale)
    # scikit-learn's scale=True scales Y as well (which changes a PLS2 fit): scale X beforehand instead. Its PLS2
    # power iteration stops at a ~1e-9 difference whatever its tol, so ikpls's own algorithm #1 is the close check
    Xs = X / X.std(axis=0, ddof=1) if scale else X
    ref = PLSRegression(6, scale=False, tol=1e-15, max_iter=100_000).fit(Xs, Y[:, :m])
    pred = ((X - x_mean) / x_std) @ B + y_mean
    assert _rel(pred, ref.predict(Xs).reshape(pred.shape)) < (1e-10 if m == 1 else 1e-8)
    ikpls = IKPLS(algorithm=1, center_X=True, center_Y=True, scale_X=scale, scale_Y=False, ddof=1).fit(X, Y[:, :m], 6)
    assert _rel(pred, ikpls.predict(X, 6).reshape(pred.shape)) < 1e-12
    np.testing.assert_allclose(x_std, X.std(axis=0, ddof=1) if scale else 1.0, rtol=1e-12)


def test_one_pass_fit_more_targets_than_features():
    # M >= K takes the other branch of the weight step (dominant eigenvector of XTY XTY^T). K components use all of
    # X, so the fit is the least-squares one; fewer are compared with ikpls's own algorithm #1 (scikit-learn's
    # NIPALS stops its PLS2 power iteration at a 1e-8 difference here, whatever its tol)
    from ikpls.numpy import PLS as IKPLS
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3)) + 2.0
    Y = X @ rng.normal(size=(3, 5)) + 0.1 * rng.normal(size=(80, 5))
    coef, *_ = np.linalg.lstsq(X - X.mean(0), Y - Y.mean(0), rcond=None)
    np.testing.assert_allclose(ikpls1_one_pass(X, Y, 3)[0], coef, rtol=1e-10, atol=1e-12)
    ref = IKPLS(algorithm=1, center_X=True, center_Y=True, scale_X=False, scale_Y=False).fit(X, Y, 2)
    np.testing.assert_allclose(ikpls1_one_pass(X, Y, 2)[0], ref.B[1], rtol=1e-12, atol=1e-14)


def test_one_pass_fit_stops_at_the_rank_of_x():
    # rank-5 X: components past the rank add nothing, as in ikpls (the coefficients stay those of 5 components)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) @ rng.normal(size=(5, 12)) * 1e-3 + 1.0
    y = X @ rng.normal(size=12) + 1e-4 * rng.normal(size=60)
    B8, B5 = ikpls1_one_pass(X, y[:, None], 8)[0], ikpls1_one_pass(X, y[:, None], 5)[0]
    np.testing.assert_allclose(B8, B5, rtol=1e-9, atol=0)
    ref = PLSRegression(3, scale=False).fit(X, y).predict(X).ravel()
    B3, x_mean, y_mean, _ = ikpls1_one_pass(X, y[:, None], 3)
    assert _rel((X - x_mean) @ B3[:, 0] + y_mean, ref) < 1e-9


def test_plsr_takes_the_one_pass_fit_on_large_x(monkeypatch):
    # PLSR switches from ikpls to the one-pass fit above a size of X; with the threshold lowered, small data take
    # that path and must give ikpls's predictions (one model as reference) and scikit-learn's (NIPALS, to its
    # PLS2 convergence: 1e-9 here)
    import soilnb.stats.pls as pls
    X, Y = _latent_data(n=200, K=400, m=2)
    Xs = X / X.std(axis=0, ddof=1)
    for y, scale in ((Y[:, 0], False), (Y, False), (Y[:, 1], True), (Y, True)):
        by_ikpls = PLSR(n_components=5, scale=scale).fit(X, y).predict(X)
        with monkeypatch.context() as patch:
            patch.setattr(pls, "_ONE_PASS_BYTES", 0)
            patch.setattr(pls, "IKPLS", None)           # the final fit must not reach ikpls
            ours = PLSR(n_components=5, scale=scale).fit(X, y)
        ref = PLSRegression(5, scale=False, tol=1e-15, max_iter=100_000).fit(Xs if scale else X, y)
        pred = ours.predict(X)
        assert _rel(pred, by_ikpls) < 1e-12
        assert _rel(pred, ref.predict(Xs if scale else X).reshape(pred.shape)) < (1e-10 if y.ndim == 1 else 1e-8)
        np.testing.assert_allclose(ours.x_mean_, X.mean(axis=0), rtol=1e-14)


def test_one_pass_fit_leaves_the_blas_threads_as_they_were():
    # the fit runs on one BLAS thread; fits in several threads at once must leave the process's limit as it was
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info
    before = [d["num_threads"] for d in threadpool_info()]
    X, Y = _latent_data(n=400, K=300, m=1)
    with ThreadPoolExecutor(4) as pool:
        fits = list(pool.map(lambda a: ikpls1_one_pass(X, Y, a)[0], [1, 2, 3, 4, 5, 6, 7, 8] * 3))
    assert [d["num_threads"] for d in threadpool_info()] == before
    np.testing.assert_array_equal(fits[0], fits[8])


def test_pls1_from_gram_solves_a_batch_as_its_problems_one_by_one():
    """Leading dimensions are independent problems: each slice of a batched solve equals the 2-D solve of that
    problem exactly, and the 2-D solve equals scikit-learn's PLS."""
    rng = np.random.default_rng(3)
    probs = [(rng.normal(size=(n, 12)), rng.normal(size=(n, 2))) for n in (20, 25, 30)]
    XTX = np.stack([X.T @ X for X, _ in probs])
    XTY = np.stack([X.T @ Y for X, Y in probs])
    xs, ys = np.stack([X.sum(0) for X, _ in probs]), np.stack([Y.sum(0) for _, Y in probs])
    n = np.array([len(X) for X, _ in probs])
    B = pls1_from_gram(XTX, XTY, 5, xs, ys, n)
    assert B.shape == (3, 5, 12, 2)
    for i, (X, Y) in enumerate(probs):
        np.testing.assert_array_equal(B[i], pls1_from_gram(XTX[i], XTY[i], 5, xs[i], ys[i], n[i]))
        ref = PLSRegression(3, scale=False).fit(X, Y[:, 1]).predict(X).ravel()
        assert _rel((X - X.mean(0)) @ B[i, 2, :, 1] + Y[:, 1].mean(), ref) < 1e-9
