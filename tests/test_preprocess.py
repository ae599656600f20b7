"""soilnb.spectra against hand computations and second implementations (numpy, scipy)."""
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, NIR_TRIM_NM
from soilnb.data.library import SpectralLibrary
from soilnb.data.prepare import preprocess_library
from soilnb.spectra.grid import Resample, Trim, check_grid, drop_nonfinite
from soilnb.spectra.pipeline import spectral_pipeline
from soilnb.spectra.scatter import SNV, snv
from soilnb.spectra.orientation import CHECK_MIN_T, check_orientation, orientation_rows
from soilnb.spectra.units import (
    ReflectanceToAbsorbance,
    cm1_to_nm,
    nm_to_cm1,
    reflectance_fraction,
    reflectance_rows,
)


# ------------------------------------------------------------------------------------- constants
def test_grids_and_unit_conversion():
    assert MIR_AXIS_CM1.size == 1701 and MIR_AXIS_CM1[0] == 600 and MIR_AXIS_CM1[-1] == 4000
    assert NIR_AXIS_NM.size == 601 and NIR_AXIS_NM[0] == 1350 and NIR_AXIS_NM[-1] == 2550
    assert NIR_TRIM_NM == (1400, 2500)
    np.testing.assert_allclose(nm_to_cm1(2500), 4000.0, rtol=1e-15)
    np.testing.assert_allclose(cm1_to_nm([4000.0, 10000.0]), [2500.0, 1000.0], rtol=1e-15)
    # 1350-2550 nm is 7407-3922 cm-1 (shared README)
    np.testing.assert_allclose(nm_to_cm1([1350, 2550]), [7407.407407, 3921.568627], rtol=1e-9)
    np.testing.assert_allclose(cm1_to_nm(nm_to_cm1(NIR_AXIS_NM)), NIR_AXIS_NM, rtol=1e-14)
    with pytest.raises(ValueError, match="> 0 nm"):
        nm_to_cm1([0.0])


def test_check_grid():
    check_grid(MIR_AXIS_CM1.copy(), MIR_AXIS_CM1, "mir")
    with pytest.raises(ValueError, match=r"mir: wrong grid: expected 1701 channels 600\.\.4000, step 2, "
                                         r"got 1700 channels 600\.\.3998"):
        check_grid(MIR_AXIS_CM1[:-1], MIR_AXIS_CM1, "mir")
    with pytest.raises(ValueError, match="wrong grid"):
        check_grid(MIR_AXIS_CM1 + 0.5, MIR_AXIS_CM1, "mir")


# ------------------------------------------------------------------------------------------- SNV
def test_snv_hand_values():
    np.testing.assert_allclose(snv([[1.0, 2.0, 3.0]]), [[-1.2247448714, 0.0, 1.2247448714]], rtol=1e-10)
    np.testing.assert_allclose(snv([[1.0, 2.0, 3.0]], ddof=1), [[-1.0, 0.0, 1.0]], rtol=1e-12)


def test_snv_matches_scipy_zscore():
    X = np.random.default_rng(0).normal(size=(7, 50)) * 3 + 10
    out = SNV().fit_transform(X)
    np.testing.assert_allclose(out, stats.zscore(X, axis=1, ddof=0), rtol=1e-12)
    np.testing.assert_allclose(SNV(ddof=1).fit_transform(X), stats.zscore(X, axis=1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-12)


def test_snv_in_row_blocks_equals_one_float64_pass_bit_for_bit():
    """Blocks of SNV_BLOCK rows (3 blocks and a part here), float32 input widened per block, float32 output:
    the numbers of the plain formula on one float64 copy, cast at the end."""
    from soilnb.spectra.kernels import SNV_BLOCK

    X = (np.random.default_rng(3).normal(size=(3 * SNV_BLOCK + 17, 60)) * 2 + 5).astype(np.float32)
    X64 = X.astype(np.float64)
    ref = (X64 - X64.mean(axis=1, keepdims=True)) / X64.std(axis=1, ddof=1, keepdims=True)
    assert np.array_equal(snv(X, ddof=1), ref) and snv(X).dtype == np.float64
    out = snv(X, ddof=1, dtype=np.float32)
    assert out.dtype == np.float32 and np.array_equal(out, ref.astype(np.float32))
    F = np.asfortranarray(X64[: SNV_BLOCK + 1])          # a DataFrame's layout: one pass, as before
    Fm, Fs = F.mean(axis=1, keepdims=True), F.std(axis=1, keepdims=True)
    assert np.array_equal(snv(F), (F - Fm) / Fs)
    with pytest.raises(ValueError, match=r"NaN or inf: 1 row\(s\), e.g. row 2050"):
        snv(np.where(np.arange(len(X))[:, None] == 2050, np.nan, X), dtype=np.float32)


def test_snv_errors():
    with pytest.raises(ValueError, match=r"constant spectra \(std 0\): 1 row\(s\), e.g. row 1"):
        snv([[1.0, 2.0], [5.0, 5.0]])
    with pytest.raises(ValueError, match="ddof must be 0 or 1"):
        SNV(ddof=2).fit([[1.0, 2.0]])
    snv_ = SNV().fit(np.ones((2, 4)) + np.arange(4))
    with pytest.raises(ValueError, match="X has 3 features, but SNV is expecting 4"):
        snv_.transform(np.arange(6.0).reshape(2, 3))


@parametrize_with_checks([SNV()], expected_failed_checks=lambda est: {
    # the check feeds integer rows 0..2 with 5 features; one of them is constant, which SNV rejects
    "check_estimators_dtypes": "constant spectra raise by design (SNV undefined)"})
def test_snv_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("est, X", [
    (ReflectanceToAbsorbance(), [[0.2, 0.5, 0.9, 0.7, 0.3]]),
    (Trim(1, 2, axis=np.arange(5.0)), [[0.2, 0.5, 0.9, 0.7, 0.3]]),
    (Resample(np.arange(5.0), [0.5, 1.5]), [[0.2, 0.5, 0.9, 0.7, 0.3]]),
], ids=lambda e: type(e).__name__)
def test_api_checks_of_domain_specific_transformers(est, X):
    # The generic data checks do not apply (random data with negatives is not reflectance, the
    # axis fixes n_features); the API contract does.
    name = type(est).__name__
    ec.check_no_attributes_set_in_init(name, est)
    ec.check_get_params_invariance(name, est)
    ec.check_set_params(name, est)
    ec.check_parameters_default_constructible(name, est)
    out = est.fit_transform(X)
    np.testing.assert_array_equal(clone(est).fit_transform(X), out)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(X), out)
    with pytest.raises(ValueError, match=f"X has 4 features, but {name} is expecting 5"):
        est.transform(np.full((1, 4), 0.5))


# --------------------------------------------------------------------------------- reflectance
def test_reflectance_to_absorbance_hand_values():
    out = ReflectanceToAbsorbance().fit_transform([[0.1, 1.0, 0.01, 0.5]])
    np.testing.assert_allclose(out, [[1.0, 0.0, 2.0, np.log10(2.0)]], rtol=1e-14)
    # a scan slightly above the white reference is accepted (negative absorbance)
    np.testing.assert_allclose(ReflectanceToAbsorbance().fit_transform([[1.2, 0.5]])[0, 0], -np.log10(1.2))


def test_reflectance_percent_handling():
    X = [[10.0, 50.0, 100.0]]
    with pytest.warns(UserWarning, match="looks like percent; dividing by 100"):
        out = ReflectanceToAbsorbance().fit_transform(X)
    np.testing.assert_allclose(out, [[1.0, np.log10(2.0), 0.0]], rtol=1e-14)
    np.testing.assert_allclose(ReflectanceToAbsorbance(percent=True).fit_transform(X), out)
    with pytest.raises(ValueError, match="looks like percent, not a fraction"):
        ReflectanceToAbsorbance(percent=False).fit_transform(X)
    with pytest.raises(ValueError, match="percent=True but the maximum is 0.5"):
        ReflectanceToAbsorbance(percent=True).fit_transform([[0.2, 0.5]])
    with pytest.raises(ValueError, match="percent must be 'auto', True or False"):
        ReflectanceToAbsorbance(percent="yes").fit([[0.5]])


def test_reflectance_rejects_absorbance_zero_and_out_of_range():
    with pytest.raises(ValueError, match=r"looks like absorbance, not reflectance: values 0\.5\.\.2\.2"):
        ReflectanceToAbsorbance().fit_transform([[0.5, 2.2, 1.0]])          # typical MIR absorbance
    with pytest.raises(ValueError, match=r"values <= 0 \(min -0\.2\) in 1 row\(s\), e.g. row 1; "
                                         r"these data look like absorbance"):
        ReflectanceToAbsorbance().fit_transform([[0.5, 0.6], [-0.2, 0.9]])
    with pytest.raises(ValueError, match=r"log10\(1/0\) is infinite"):
        ReflectanceToAbsorbance().fit_transform([[0.0, 0.5]])
    with pytest.raises(ValueError, match=r"neither a fraction \(<= 1.5\) nor a percentage \(<= 150\)"):
        ReflectanceToAbsorbance().fit_transform([[50.0, 151.0]])
    # per spectrum, up to 150 % is percent and kept above 1 (real scans outshine the white reference)
    with pytest.warns(UserWarning, match="looks like percent"):
        np.testing.assert_allclose(ReflectanceToAbsorbance().fit_transform([[50.0, 150.0]]),
                                   [[np.log10(2.0), -np.log10(1.5)]], rtol=1e-14)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ReflectanceToAbsorbance().fit_transform([[np.nan, 0.5]])


def test_reflectance_fraction_ignores_nonfinite_and_names_source():
    with pytest.warns(UserWarning, match="f.csv: reflectance up to 50 looks like percent"):
        out = reflectance_fraction([[np.nan, 50.0, 20.0]], name="f.csv")
    np.testing.assert_allclose(out, [[np.nan, 0.5, 0.2]])
    with pytest.raises(ValueError, match="lib: input looks like absorbance"):
        reflectance_fraction([[0.3, 3.0]], name="lib")


def test_reflectance_rows_decide_each_spectrum_and_name_the_odd_ones():
    r = reflectance_rows([[0.2, 0.5], [0.3, 0.6], [30.0, 60.0], [0.25, 0.4]])
    assert r.percent.tolist() == [False, False, True, False] and r.minority.tolist() == [False, False, True, False]
    np.testing.assert_allclose(r.X[2], [0.3, 0.6])                       # only that row divided by 100
    assert r.named == {2: "read as percent (maximum 60 > 1.5) among 3 spectra read as fractions: divided by 100"}
    r = reflectance_rows([[30.0, 60.0], [20.0, 40.0], [0.3, 0.6]])      # a fraction among percent rows
    assert r.percent.tolist() == [True, True, False] and list(r.named) == [2]
    assert r.named[2].startswith("read as a fraction (maximum 0.6) among 2 spectra in percent")
    r = reflectance_rows([[2.0, 4.0], [30.0, 60.0]])                     # max <= 5 %: absorbance-like, named
    assert r.percent.all() and r.dark.tolist() == [True, False] and list(r.named) == [0]
    assert not reflectance_rows([[0.2, 0.5], [30.0, 60.0]], percent=True).percent[0]
    assert sorted(reflectance_rows([[0.2, 0.5], [30.0, 60.0]], percent=True).rejected) == [0]
    assert sorted(reflectance_rows([[0.2, 0.5], [30.0, 60.0]], percent=False).rejected) == [1]
    assert reflectance_rows([[np.nan, np.nan]]).rejected == {}          # no finite value: not judged


def test_reflectance_fraction_per_spectrum_warns_naming_rows():
    X = [[0.2, 0.5], [0.3, 0.6], [30.0, 60.0], [0.25, 0.4]]
    with pytest.warns(UserWarning, match=r"f.csv: reflectance up to 60 looks like percent; dividing by 100 \(1 of 4 "
                                         r"spectra, e.g. row 12, .*; row 12 read as percent \(maximum 60"):
        out = reflectance_fraction(X, name="f.csv", labels=[10, 11, 12, 13])
    np.testing.assert_allclose(out, [[0.2, 0.5], [0.3, 0.6], [0.3, 0.6], [0.25, 0.4]])
    with pytest.warns(UserWarning, match="looks like percent"):
        A = ReflectanceToAbsorbance().fit_transform(X)
    np.testing.assert_allclose(A[2], A[1], rtol=1e-14)                  # the same spectrum, whatever its unit
    with pytest.raises(ValueError, match=r"percent=True but the maximum is 0.5: .* \(1 of 2 spectra, e.g. row 1\)"):
        ReflectanceToAbsorbance(percent=True).fit_transform([[30.0, 60.0], [0.2, 0.5]])
    with pytest.raises(ValueError, match=r"looks like percent, not a fraction.* \(1 of 2 spectra, e.g. row 1\)"):
        ReflectanceToAbsorbance(percent=False).fit_transform([[0.2, 0.5], [30.0, 60.0]])
    with pytest.raises(ValueError, match="input looks like absorbance"):  # every row in the log10(1/R) range
        reflectance_fraction([[0.5, 2.2], [0.4, 3.0]])
    with pytest.warns(UserWarning, match=r"row 0 read as percent but its maximum 2.2 lies in the usual log10"):
        reflectance_fraction([[0.5, 2.2], [30.0, 60.0]])                # one such row among percent rows: named


# ----------------------------------------------------------------------------------------- Trim
def test_trim_nir_range():
    X = np.tile(NIR_AXIS_NM, (2, 1))
    t = Trim(*NIR_TRIM_NM, axis=NIR_AXIS_NM).fit(X)
    out = t.transform(X)
    assert out.shape == (2, 551)
    np.testing.assert_array_equal(out[0], np.arange(1400.0, 2502.0, 2.0))
    np.testing.assert_array_equal(t.axis_out_, out[0])
    # decreasing axis (MIR files stored 4000 -> 600): same channels, input order kept
    ax = MIR_AXIS_CM1[::-1]
    out = Trim(1000, 1004, axis=ax).fit_transform(ax[None, :])
    np.testing.assert_array_equal(out, [[1004.0, 1002.0, 1000.0]])


def test_trim_errors():
    with pytest.raises(ValueError, match=r"Trim range 1300\.\.2500 is not covered by the axis \(1350\.\.2550\)"):
        Trim(1300, 2500, axis=NIR_AXIS_NM).fit(np.ones((1, 601)))
    with pytest.raises(ValueError, match="X has 600 feature"):
        Trim(1400, 2500, axis=NIR_AXIS_NM).fit(np.ones((1, 600)))
    with pytest.raises(ValueError, match="low < high"):
        Trim(2500, 1400, axis=NIR_AXIS_NM).fit(np.ones((1, 601)))
    with pytest.raises(ValueError, match="strictly increasing or strictly decreasing"):
        Trim(1, 2, axis=[1, 3, 2]).fit(np.ones((1, 3)))


# ------------------------------------------------------------------------------------- Resample
def test_resample_hand_values():
    r = Resample([0.0, 1.0, 2.0], [0.0, 0.25, 1.5, 2.0]).fit(np.zeros((1, 3)))
    np.testing.assert_allclose(r.transform([[0.0, 10.0, 40.0]]), [[0.0, 2.5, 25.0, 40.0]], rtol=1e-14)


def test_resample_matches_np_interp_on_decreasing_axis():
    rng = np.random.default_rng(1)
    axis_in = np.sort(rng.uniform(599, 4002, 300))[::-1]     # irregular, decreasing, like 4002 -> 600
    axis_in[0], axis_in[-1] = 4002.0, 599.5
    X = rng.normal(size=(4, axis_in.size))
    out = Resample(axis_in, MIR_AXIS_CM1).fit_transform(X)
    ref = np.stack([np.interp(MIR_AXIS_CM1, axis_in[::-1], x[::-1]) for x in X])
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_resample_errors_name_both_ranges():
    with pytest.raises(ValueError, match=r"axis_out 500\.\.4000 is not inside axis_in 600\.\.4000"):
        Resample(MIR_AXIS_CM1, np.arange(500.0, 4001.0, 2.0)).fit(np.ones((1, 1701)))
    # within tol: end value
    out = Resample([1.0, 2.0], [0.995, 2.0], tol=0.01).fit_transform([[3.0, 5.0]])
    np.testing.assert_allclose(out, [[3.0, 5.0]])
    with pytest.raises(ValueError, match="X has 2 feature"):
        Resample([1.0, 2.0, 3.0], [1.5]).fit(np.ones((1, 2)))


# ---------------------------------------------------------------------------- drop_nonfinite
def test_drop_nonfinite_counts_and_filters_companions():
    X = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, np.inf], [4.0, 5.0]])
    ids = np.array(["a", "b", "c", "d"])
    df = pd.DataFrame({"TC": [1.0, 2.0, 3.0, 4.0]}, index=[10, 11, 12, 13])
    with pytest.warns(UserWarning, match="dropped 2 of 4 rows holding NaN or inf"):
        Xk, (ids_k, df_k), n = drop_nonfinite(X, ids, df)
    assert n == 2
    np.testing.assert_array_equal(Xk, [[1.0, 2.0], [4.0, 5.0]])
    np.testing.assert_array_equal(ids_k, ["a", "d"])
    assert df_k["TC"].tolist() == [1.0, 4.0] and list(df_k.index) == [0, 1]
    with pytest.raises(ValueError, match="has 3 rows, X has 4"):
        drop_nonfinite(X, ids[:3])


# ------------------------------------------------------------------------------------ pipelines
def _reflectance(n=3, seed=2):
    rng = np.random.default_rng(seed)
    return 0.3 + 0.2 * rng.random((n, NIR_AXIS_NM.size))


def test_nir_pipeline_equals_manual_steps():
    R = _reflectance()
    out = spectral_pipeline("nir").fit_transform(R)
    keep = (NIR_AXIS_NM >= 1400) & (NIR_AXIS_NM <= 2500)
    ref = stats.zscore(np.log10(1.0 / R[:, keep]), axis=1)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    A = np.random.default_rng(3).random((2, 1701)) + 0.5
    np.testing.assert_allclose(spectral_pipeline("mir").fit_transform(A), stats.zscore(A, axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match="kind must be 'mir' or 'nir'"):
        spectral_pipeline("vis")
    p = pickle.loads(pickle.dumps(spectral_pipeline("nir").fit(R)))
    np.testing.assert_allclose(p.transform(R), out)


def test_preprocess_library():
    R = _reflectance(4)
    nir = SpectralLibrary(X=R, axis=NIR_AXIS_NM, unit="nm", quantity="reflectance", sample_id=list("abcd"))
    X, axis = preprocess_library(nir)
    assert X.dtype == np.float32 and X.shape == (4, 551)
    np.testing.assert_array_equal(axis, np.arange(1400.0, 2502.0, 2.0))
    keep = (NIR_AXIS_NM >= 1400) & (NIR_AXIS_NM <= 2500)
    np.testing.assert_allclose(X, stats.zscore(np.log10(1 / R[:, keep].astype(np.float32).astype(float)), axis=1),
                               rtol=2e-6, atol=2e-6)
    A = np.random.default_rng(5).random((3, 1701)) + 0.2
    mir = SpectralLibrary(X=A, axis=MIR_AXIS_CM1, unit="cm-1", quantity="absorbance", sample_id=list("abc"),
                          name="m")
    X, axis = preprocess_library(mir)
    np.testing.assert_allclose(X, stats.zscore(A.astype(np.float32).astype(float), axis=1), rtol=1e-5, atol=1e-5)
    bad = SpectralLibrary(X=A + 2.0, axis=np.linspace(1350, 2550, 1701), unit="nm",
                          quantity="reflectance", sample_id=list("abc"), name="bad_nir")
    with pytest.raises(ValueError, match="bad_nir: (input looks|these look) like absorbance, not reflectance"):
        preprocess_library(bad)


@pytest.mark.real
def test_nir_pipeline_on_real_neospectra_sample(real_dir):
    from soilnb.data.ossl.testset import read_ossl_sample_neospectra

    lib = read_ossl_sample_neospectra(real_dir / "ossl_sample_inputs" / "sample_neospectra_data.csv")
    X, axis = preprocess_library(lib)
    assert X.shape == (10, 551) and np.isfinite(X).all()
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=1), 1, rtol=1e-5)


def test_check_orientation_on_simulated_and_real_shapes():
    from soilnb.data.simulate.world import simulate_world
    from soilnb.spectra.orientation import check_orientation

    w = simulate_world(n_kssl=30, n_scans=1, n_paired=30, n_test=20, seed=1)
    check_orientation(w.paired_nir.X, w.paired_nir.axis, "nm", "reflectance")        # as simulated: fine
    check_orientation(w.kssl.X, w.kssl.axis, "cm-1", "absorbance")
    with pytest.raises(ValueError, match="look like absorbance, not reflectance"):
        check_orientation(np.log10(1 / w.paired_nir.X), w.paired_nir.axis, "nm", "reflectance", name="nir")
    with pytest.raises(ValueError, match="look like reflectance, not absorbance"):
        check_orientation(10.0 ** -w.kssl.X, w.kssl.axis, "cm-1", "absorbance", name="mir")
    # rows without values in the windows are not counted (3 NaN rows beside 4 good ones: still absorbance)
    X = np.vstack([w.kssl.X[:4], np.full((3, w.kssl.X.shape[1]), np.nan)])
    check_orientation(X, w.kssl.axis, "cm-1", "absorbance")
    # an axis that does not reach the band is not judged
    check_orientation(np.log10(1 / w.paired_nir.X[:, :100]), w.paired_nir.axis[:100], "nm", "reflectance")


def test_orientation_rows_judge_each_spectrum():
    from soilnb.data.simulate.world import simulate_world

    w = simulate_world(n_kssl=30, n_scans=1, n_paired=30, n_test=20, seed=1)
    X = w.kssl.X.astype(np.float64)
    turned = [2, 5, 11]
    X[turned] = 10.0 ** -X[turned]
    X[7] = 0.8                                                           # flat: no band shape
    X[9] = np.nan                                                        # no finite value in the windows
    agree = orientation_rows(X, w.kssl.axis, "cm-1", "absorbance")
    assert np.flatnonzero(agree == -1).tolist() == turned and np.flatnonzero(agree == 0).tolist() == [7, 9]
    np.testing.assert_array_equal(orientation_rows(X, w.kssl.axis, "cm-1", "reflectance")[[2, 7, 0]], [1, 0, -1])
    assert not orientation_rows(X[:, :100], w.kssl.axis[:100], "cm-1", "absorbance").any()   # band not covered
    assert not orientation_rows(X, w.kssl.axis, "um", "absorbance").any()
    check_orientation(X, w.kssl.axis, "cm-1", "absorbance", every_row=True)   # 3 of 28 judged rows disagree
    with pytest.raises(ValueError, match="minimum in 100% of the spectra"):
        check_orientation(X[turned + [7]], w.kssl.axis, "cm-1", "absorbance", every_row=True)
    X[:20] = 10.0 ** -w.kssl.X[:20]                                     # a majority, not all: only the default raises
    check_orientation(X, w.kssl.axis, "cm-1", "absorbance", every_row=True)
    with pytest.raises(ValueError, match="look like reflectance, not absorbance"):
        check_orientation(X, w.kssl.axis, "cm-1", "absorbance")


def test_orientation_rows_in_blocks_judge_as_the_whole_matrix_would():
    """orientation_rows widens a block of rows at a time: the verdicts on 5,000 float32 rows (past two block
    edges, turned, flat and NaN rows among them) are those of the band depth and row sd computed by hand on the
    whole matrix widened at once."""
    from soilnb.data.simulate.world import simulate_world
    from soilnb.spectra.bands import FLAT_SD, ORIENTATION_BANDS

    w = simulate_world(n_kssl=50, n_scans=1, n_paired=10, n_test=10, seed=2)
    rng = np.random.default_rng(0)
    X = w.kssl.X[rng.integers(0, 50, 5000)].astype(np.float32)
    X += rng.normal(0, 1e-3, X.shape).astype(np.float32)
    X[2047:2050] = (10.0 ** -X[2047:2050]).astype(np.float32)          # turned rows across the first block edge
    X[4095] = 0.5                                                        # flat
    X[4096, :] = np.nan                                                  # nothing finite
    X[rng.random(X.shape) < 0.02] = np.nan                               # scattered gaps
    W = X.astype(np.float64)
    (band, shoulders), ax = ORIENTATION_BANDS["cm-1"], w.kssl.axis
    mean_in = lambda lo, hi: np.nanmean(W[:, (ax >= lo) & (ax <= hi)], 1)   # noqa: E731
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        depth = mean_in(*band) - np.mean([mean_in(*s) for s in shoulders], 0)
        live = np.nanstd(W, axis=1) >= FLAT_SD
    expected = np.where(live & np.isfinite(depth), np.sign(depth), 0).astype(np.int8)
    got = orientation_rows(X, ax, "cm-1", "absorbance")
    np.testing.assert_array_equal(got, expected)
    assert got[2047:2050].tolist() == [-1, -1, -1] and got[4095] == 0 and got[4096] == 0 and (got == 1).sum() > 4900
    np.testing.assert_array_equal(orientation_rows(X, ax, "cm-1", "reflectance"), -expected)
    # with a noise threshold: rows whose band is shallower than 3 standard errors are not judged
    X[:10] = rng.normal(0, 1, (10, X.shape[1])).astype(np.float32)          # white noise: no band to judge
    W = X.astype(np.float64)
    masks = [(ax >= lo) & (ax <= hi) for lo, hi in (band, *shoulders)]
    window = np.logical_or.reduce(masks)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        depth = np.nanmean(W[:, masks[0]], 1) - np.mean([np.nanmean(W[:, m], 1) for m in masks[1:]], 0)
        live = np.nanstd(W, axis=1) >= FLAT_SD
        noise = np.nanstd(np.diff(W[:, window], axis=1), axis=1) / np.sqrt(2.0)
    se = noise * np.sqrt(1.0 / masks[0].sum() + 1.0 / sum(m.sum() for m in masks[1:]))
    live &= np.abs(depth) >= 3.0 * se
    expected = np.where(live & np.isfinite(depth), np.sign(depth), 0).astype(np.int8)
    got = orientation_rows(X, ax, "cm-1", "absorbance", min_t=3.0)
    np.testing.assert_array_equal(got, expected)
    assert (got[:10] == 0).sum() >= 8 and (got[10:] == 1).sum() > 4900


@pytest.mark.real
def test_orientation_rows_on_real_spectra(real_dir):
    from soilnb.data.realism import load_real_kssl_toy, load_real_nirsoil

    X, axis = load_real_kssl_toy(real_dir)
    assert (orientation_rows(X, axis, "cm-1", "absorbance") == 1).all()            # 500 of 500
    mixed = X[:60].copy()
    mixed[20:40] = 10.0 ** -mixed[20:40]
    assert np.flatnonzero(orientation_rows(mixed, axis, "cm-1", "absorbance") < 0).tolist() == list(range(20, 40))
    pytest.importorskip("rdata", reason="reading the real NIRsoil.RData needs the PyPI package rdata")
    A, nm = load_real_nirsoil(real_dir)
    assert (orientation_rows(10.0 ** -A, nm, "nm", "reflectance") == 1).all()     # 825 of 825
    R = 10.0 ** -A[:60]
    R[::3] = A[:60:3]
    assert np.flatnonzero(orientation_rows(R, nm, "nm", "reflectance") < 0).tolist() == list(range(0, 60, 3))


@pytest.mark.real
def test_check_orientation_accepts_real_spectra(real_dir):
    from soilnb.data.realism import load_real_kssl_toy, load_real_nirsoil
    from soilnb.spectra.orientation import check_orientation

    X, axis = load_real_kssl_toy(real_dir)
    check_orientation(X, axis, "cm-1", "absorbance", name="KSSL toy")
    with pytest.raises(ValueError, match="minimum in 100% of the spectra"):
        check_orientation(10.0 ** -X, axis, "cm-1", "absorbance", name="KSSL toy as R")
    A, nm = load_real_nirsoil(real_dir)
    check_orientation(A, nm, "nm", "absorbance", name="NIRsoil")
    check_orientation(10.0 ** -A, nm, "nm", "reflectance", name="NIRsoil as R")
    with pytest.raises(ValueError, match="maximum in 100% of the spectra"):
        check_orientation(A, nm, "nm", "reflectance", name="NIRsoil")


# ------------------------------------------------------------------ wrong quantity, judged by band shape
def _water_band(axis, centre, width, depth, base, n=4, seed=5):
    """Reflectance-like rows: ``base`` with a Gaussian dip of ``depth`` at ``centre`` and a little noise."""
    rng = np.random.default_rng(seed)
    dip = depth * np.exp(-0.5 * ((axis - centre) / width) ** 2)
    return base + 0.02 * rng.random((n, 1)) - dip + 1e-4 * rng.standard_normal((n, axis.size))


def test_nir_absorbance_given_as_reflectance_is_refused():
    R = _water_band(NIR_AXIS_NM, 1925.0, 40.0, 0.15, 0.45)          # fractions 0.3-0.47, a dip at 1.9 um
    A = np.log10(1.0 / R)                                              # 0.33-0.52: also "a fraction" by value
    keep = (NIR_AXIS_NM >= 1400) & (NIR_AXIS_NM <= 2500)
    np.testing.assert_allclose(spectral_pipeline("nir").fit_transform(R),
                               stats.zscore(np.log10(1.0 / R[:, keep]), axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"look like absorbance, not reflectance: the water/O-H band at 1900-1950 nm"):
        spectral_pipeline("nir").fit_transform(A)
    with pytest.raises(ValueError, match="look like absorbance, not reflectance"):
        ReflectanceToAbsorbance(axis=NIR_AXIS_NM).fit_transform(A)
    # without an axis only the values are judged (601 channels may as well be 400-1000 nm at 1 nm)
    np.testing.assert_allclose(ReflectanceToAbsorbance().fit_transform(A), np.log10(1.0 / A))
    with pytest.raises(ValueError, match="look like absorbance"):
        ReflectanceToAbsorbance(axis=NIR_AXIS_NM[keep]).fit_transform(A[:, keep])
    with pytest.raises(ValueError, match="axis has 3 positions, X has 601 channels"):
        ReflectanceToAbsorbance(axis=[1.0, 2.0, 3.0]).fit(R)


def test_mir_reflectance_given_as_absorbance_is_refused():
    R = _water_band(MIR_AXIS_CM1, 3400.0, 120.0, 0.25, 0.55)         # MIR reflectance 0.3-0.57
    A = np.log10(1.0 / R)
    np.testing.assert_allclose(spectral_pipeline("mir").fit_transform(A), stats.zscore(A, axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"look like reflectance, not absorbance: the water/O-H band at 3300-3500 cm-1"):
        spectral_pipeline("mir").fit_transform(R)
    np.testing.assert_allclose(ReflectanceToAbsorbance(axis=MIR_AXIS_CM1, unit="cm-1").fit_transform(R), A,
                               rtol=1e-12)                                  # the right way round
    B = np.log10(1.0 / _water_band(np.linspace(600, 4000, 850), 3400.0, 120.0, 0.25, 0.55))
    np.testing.assert_allclose(spectral_pipeline("mir").fit_transform(B), stats.zscore(B, axis=1), rtol=1e-12)


def test_band_check_leaves_noise_unjudged():
    """White noise has no band: judged at min_t = 0 (a coin flip per row), not judged by the pipelines' check."""
    rng = np.random.default_rng(2)
    R = 0.3 + 0.2 * rng.random((40, NIR_AXIS_NM.size))
    coin = orientation_rows(R, NIR_AXIS_NM, "nm", "reflectance")
    assert (coin != 0).all() and 5 < (coin < 0).sum() < 35
    assert (orientation_rows(R, NIR_AXIS_NM, "nm", "reflectance", min_t=CHECK_MIN_T) == 0).all()
    Rb = _water_band(NIR_AXIS_NM, 1925.0, 40.0, 0.15, 0.45)
    assert (orientation_rows(Rb, NIR_AXIS_NM, "nm", "reflectance", min_t=CHECK_MIN_T) == 1).all()
