"""Tests of soilnb.stats.xi against the ``xicor`` package and closed forms (Chatterjee 2021)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from soilnb.stats.xi import bin_spectra, xi_correlation, xi_matrix


@pytest.fixture(scope="module")
def Xi():
    """``xicor.xicor.Xi``, loaded from its file: the package ``__init__`` imports ``pkg_resources``,
    which recent setuptools no longer ship, so ``from xicor.xicor import Xi`` fails there."""
    spec = importlib.util.find_spec("xicor")
    if spec is None:
        pytest.skip("xicor is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "xicor.py"
    mod_spec = importlib.util.spec_from_file_location("_xicor_impl", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module.Xi


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equals_xicor_tie_free(Xi, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=300)
    y = np.sin(3 * x) + rng.normal(scale=0.5, size=x.size)
    np.testing.assert_allclose(xi_correlation(x, y), Xi(x, y).correlation, rtol=0, atol=1e-12)


def test_equals_xicor_with_ties_in_y(Xi):
    # ties in y are handled exactly by both (only ties in x are broken at random by xicor)
    rng = np.random.default_rng(5)
    x = rng.normal(size=400)
    y = np.round(x ** 2 + rng.normal(scale=0.3, size=x.size), 1)
    assert len(np.unique(y)) < y.size
    np.testing.assert_allclose(xi_correlation(x, y), Xi(x, y).correlation, rtol=0, atol=1e-12)


def test_matrix_equals_pairwise_xicor(Xi):
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(150, 4))
    S = np.column_stack([Z[:, 0] ** 2, np.cos(Z[:, 1]), rng.normal(size=150), Z[:, 3] + Z[:, 2]])
    M = xi_matrix(Z, S)
    assert M.shape == (4, 4)
    ref = np.array([[Xi(Z[:, i], S[:, j]).correlation for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(M, ref, rtol=0, atol=1e-12)


def test_hand_values():
    # monotone, no ties: r = 1..5, sum|dr| = 4 -> 1 - 3*4/(25-1) = 0.5
    assert xi_correlation([1, 2, 3, 4, 5], [1, 4, 9, 16, 25]) == pytest.approx(0.5, abs=1e-15)
    # ties in y: y = [1, 3, 2, 3]; r = #{y_j <= y_i} = [1, 4, 2, 4], sum|dr| = 3+2+2 = 7;
    # l = #{y_j >= y_i} = [4, 2, 3, 2], sum l(n-l) = 0+4+3+4 = 11 -> 1 - 4*7/(2*11) = -3/11
    assert xi_correlation([1, 2, 3, 4], [1, 3, 2, 3]) == pytest.approx(-3 / 11, abs=1e-15)


def test_ties_in_x_broken_by_row_order():
    # x = [1, 1, 2, 2]: stable order keeps rows 0..3 -> r = [2, 1, 4, 3], sum|dr| = 5 -> 1 - 15/15 = 0
    x, y = [1, 1, 2, 2], [2, 1, 4, 3]
    assert xi_correlation(x, y) == 0.0
    assert xi_correlation(x, y) == xi_correlation(x, y)


def _xi_by_definition(x, y):
    """Chatterjee's xi straight from its definition, ties in x broken by row order (Python's sort is stable)."""
    n = len(x)
    ys = [y[i] for i in sorted(range(n), key=lambda i: x[i])]
    r = [sum(v <= yi for v in y) for yi in ys]
    l = [sum(v >= yi for v in y) for yi in ys]
    den = 2 * sum(li * (n - li) for li in l)
    return np.nan if den == 0 else 1 - n * sum(abs(r[i + 1] - r[i]) for i in range(n - 1)) / den


def test_matrix_with_ties_equals_definition():
    # columns with and without ties side by side, more y columns than are ranked at once, a constant y, and
    # -0.0 next to 0.0 (equal values: a tie, kept in row order like any other)
    rng = np.random.default_rng(11)
    n = 120
    Z = np.column_stack([rng.normal(size=n), np.round(rng.normal(size=n), 1), rng.integers(0, 3, n) * 1.0,
                         np.where(rng.random(n) < 0.5, -0.0, 0.0), rng.normal(size=n)])
    S = np.column_stack([np.round(Z[:, i % 5] + rng.normal(scale=0.5 + i / 10, size=n), i % 3) for i in range(39)]
                        + [np.full(n, 2.0), np.where(rng.random(n) < 0.5, -0.0, 0.0)])
    M = xi_matrix(Z, S)
    ref = np.array([[_xi_by_definition(Z[:, i], S[:, j]) for j in range(S.shape[1])] for i in range(Z.shape[1])])
    np.testing.assert_allclose(M, ref, rtol=0, atol=1e-12)
    assert np.isnan(M[:, 39]).all() and np.isnan(M[:, 40]).all()


def test_functional_and_independent_limits():
    n = 5000
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=n)
    # strictly monotone, no ties: sum|dr| = n - 1 -> xi = 1 - 3/(n+1) exactly
    assert xi_correlation(x, np.exp(x)) == pytest.approx(1 - 3 / (n + 1), abs=1e-12)
    assert xi_correlation(x, np.sin(2 * x)) > 0.99          # non-monotone, noise-free
    # independence: sd of xi_n is sqrt(2/5)/sqrt(n) = 0.0089 at n = 5000 -> 5 sd band
    assert abs(xi_correlation(x, rng.normal(size=n))) < 5 * np.sqrt(0.4 / n)


def test_constant_y_is_nan():
    assert np.isnan(xi_correlation([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))


def test_xi_errors():
    with pytest.raises(ValueError, match="length mismatch"):
        xi_matrix(np.zeros((5, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        xi_correlation([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="must be 1-d"):
        xi_correlation(np.zeros((3, 2)), np.zeros(3))


def test_bin_spectra_paper_grid():
    axis = np.arange(600.0, 4000.1, 2.0)                 # KSSL MIR: 1701 channels
    X = np.random.default_rng(0).normal(size=(3, axis.size))
    Xb, centers = bin_spectra(X, axis, width=25.0)
    assert Xb.shape == (3, 136)
    np.testing.assert_allclose(centers[[0, -1]], [612.5, 3987.5])
    first = (axis >= 600) & (axis < 625)                  # 600, 602, ..., 624: 13 channels
    np.testing.assert_allclose(Xb[:, 0], X[:, first].mean(axis=1), rtol=1e-13)
    last = axis >= 3975                                   # 3976 ... 4000 (4000 joins the last bin)
    np.testing.assert_allclose(Xb[:, -1], X[:, last].mean(axis=1), rtol=1e-13)


def test_bin_spectra_errors():
    with pytest.raises(ValueError, match="width must be positive"):
        bin_spectra(np.zeros((2, 3)), np.arange(3.0), width=0)
    with pytest.raises(ValueError, match=r"X must be \(n, p\)"):
        bin_spectra(np.zeros((2, 3)), np.arange(4.0))
