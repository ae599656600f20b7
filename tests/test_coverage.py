"""The grid policy: resample where the input covers the model's range, refuse (naming the gap) where not."""
import numpy as np
import pytest

from soilnb.core.vocab import MIR_AXIS_CM1
from soilnb.data.library import SpectralLibrary
from soilnb.spectra.coverage import common_range, coverage_gap, in_unit, to_grid


def _lib(axis, X, unit="cm-1", quantity="absorbance"):
    n = len(X)
    return SpectralLibrary(X=np.asarray(X, float), axis=np.asarray(axis, float), unit=unit, quantity=quantity,
                           sample_id=np.array([f"s{i}" for i in range(n)]), scan_id=np.zeros(n, int),
                           instrument=np.array(["x"] * n), name="test set")


def test_resampling_matches_numpy_interp():
    axis = np.linspace(598.0, 4002.0, 1200)
    X = np.vstack([np.sin(axis / 300.0), np.cos(axis / 500.0)])
    out = _lib(axis, X).on_grid(MIR_AXIS_CM1)
    np.testing.assert_allclose(out.X, np.vstack([np.interp(MIR_AXIS_CM1, axis, x) for x in X]), rtol=0, atol=1e-6)  # libraries hold float32
    assert out.axis[0] == 600 and out.axis[-1] == 4000 and out.X.shape == (2, 1701)


def test_a_grid_short_of_the_range_is_refused_with_the_gap():
    axis = np.arange(600.0, 3799.0, 2.0)             # the LimeSoDa MIR grids end at 3799 cm-1
    with pytest.raises(ValueError, match=r"test set: grid 600-3798 does not cover .* 600-4000 \(missing 3798-4000"):
        _lib(axis, np.ones((1, axis.size))).on_grid(MIR_AXIS_CM1)
    assert coverage_gap(axis, MIR_AXIS_CM1, tolerance=205) == ""
    lo, hi = common_range(axis, MIR_AXIS_CM1)
    assert (lo, hi) == (600.0, 3798.0)
    target = MIR_AXIS_CM1[MIR_AXIS_CM1 <= hi]
    assert to_grid(np.ones((1, axis.size)), axis, target).shape == (1, target.size)


def test_units_convert_and_nir_reaches_a_cm1_grid():
    nm = np.arange(1350.0, 2551.0, 2.0)
    cm1 = in_unit(nm, "nm", "cm-1")
    assert cm1[0] == pytest.approx(1e7 / 1350) and cm1[-1] == pytest.approx(1e7 / 2550)
    np.testing.assert_allclose(in_unit(cm1, "cm-1", "nm"), nm)
    target = np.arange(4000.0, 7400.0, 4.0)
    lib = _lib(nm, np.vstack([nm / 1000.0]), unit="nm", quantity="reflectance").on_grid(target, unit="cm-1")
    np.testing.assert_allclose(lib.X[0], 1e4 / target, rtol=2e-4)    # x = nm / 1000 = 1e4 / cm-1
    with pytest.raises(ValueError, match="share no range"):
        common_range([1, 2], [3, 4])
