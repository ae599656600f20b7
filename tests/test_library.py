import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import PROPERTIES
from soilnb.data.library import SpectralLibrary, estimated_organic_carbon


def make_lib(n_samples=3, repeats=2, p=5):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples * repeats, p))
    sid = np.repeat([f"s{i}" for i in range(n_samples)], repeats)
    props = pd.DataFrame(np.repeat(rng.uniform(1, 2, (n_samples, 9)), repeats, axis=0), columns=list(PROPERTIES))
    return SpectralLibrary(X, np.arange(p) * 2.0 + 600, "cm-1", "absorbance", sid,
                           scan_id=np.tile(np.arange(repeats), n_samples), properties=props, name="toy")


def test_average_scans_is_the_mean_of_repeats():
    lib = make_lib()
    avg = lib.average_scans()
    assert avg.n_scans == 3 and list(avg.sample_id) == ["s0", "s1", "s2"]
    np.testing.assert_allclose(avg.X[1], (lib.X[2] + lib.X[3]) / 2, rtol=1e-6)
    np.testing.assert_allclose(avg.Y[1], lib.Y[2])


def test_group_sums_equal_add_at_bit_for_bit():
    """Rank by rank against np.add.at (each group's rows added one after another in their order), on float64 rows
    of magnitudes from 1e-8 to 1e8, where another order of the additions gives other last bits (checked: a pairwise
    sum differs), on shuffled and on already grouped codes, groups of 1 to 9 rows."""
    from soilnb.data.library import group_sums

    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 40)) * 10.0 ** rng.uniform(-8, 8, size=(3000, 40))
    codes = np.repeat(np.arange(700), np.bincount(rng.integers(0, 700, 3000 - 700), minlength=700) + 1)
    assert set(np.bincount(codes)) >= {1, 5} and len(codes) == 3000
    for c in (rng.permutation(codes), codes):
        ref = np.zeros((700, 40))
        np.add.at(ref, c, X)
        assert np.array_equal(group_sums(X, c, 700), ref)
    # the order of the additions shows on these numbers: summing a group's rows backwards changes some sums
    groups = [X[codes == g] for g in np.flatnonzero(np.bincount(codes) >= 3)[:50]]
    assert any(not np.array_equal(R.cumsum(axis=0)[-1], R[::-1].cumsum(axis=0)[-1]) for R in groups)
    with pytest.raises(ValueError, match="each of the 700 groups at least one"):
        group_sums(X[:2000], np.arange(2000) % 699, 700)
    with pytest.raises(ValueError, match="each of the 2 groups"):
        group_sums(X[:2], np.array([0, 2]), 2)


def test_eoc_formula():
    np.testing.assert_allclose(estimated_organic_carbon([2.0, 0.5], [5.0, 10.0]), [2.0 - 0.6, 0.0])


def test_validation_messages():
    with pytest.raises(ValueError, match="NaN or inf"):
        SpectralLibrary(np.array([[1.0, np.nan]]), [1.0, 2.0], "nm", "reflectance", ["a"])
    with pytest.raises(ValueError, match="axis has 3 values"):
        SpectralLibrary(np.ones((1, 2)), [1.0, 2.0, 3.0], "nm", "reflectance", ["a"])
    with pytest.raises(ValueError, match="strictly increasing"):
        SpectralLibrary(np.ones((1, 2)), [2.0, 1.0], "nm", "reflectance", ["a"])
    with pytest.raises(ValueError, match=r"property 'OC' has 1 non-numeric value\(s\), e.g. row 1: 'n.d.'"):
        SpectralLibrary(np.ones((2, 2)), [1.0, 2.0], "nm", "reflectance", ["a", "b"],
                        properties=pd.DataFrame({"OC": ["1.5", "n.d."]}))
    with pytest.raises(ValueError, match=r"no property column\(s\) \['pH'\]"):
        SpectralLibrary(np.ones((1, 2)), [1.0, 2.0], "nm", "reflectance", ["a"],
                        properties=pd.DataFrame({"TC": [1]})).complete(["pH"])


def test_any_property_set_canonical_first_and_round_trip(tmp_path):
    """A library carries whatever properties the data has: the paper's names first, in the paper's order,
    others after them as given; a save/load keeps names and values."""
    props = pd.DataFrame({"K": [0.2, 0.4], "clay": [10.0, np.nan], "OC": ["1.5", "2"], "TC": [2.0, 3.0]})
    lib = SpectralLibrary(np.ones((2, 2)), [1.0, 2.0], "nm", "reflectance", ["a", "b"], properties=props)
    assert lib.property_names == ["TC", "clay", "K", "OC"]
    np.testing.assert_array_equal(lib.Y, [[2.0, 10.0, 0.2, 1.5], [3.0, np.nan, 0.4, 2.0]])
    assert lib.complete().n_scans == 1 and lib.complete(["TC", "OC"]).n_scans == 2
    back = SpectralLibrary.load(lib.save(tmp_path / "lib.npz"))
    pd.testing.assert_frame_equal(back.properties, lib.properties)
    assert SpectralLibrary(np.ones((1, 2)), [1.0, 2.0], "nm", "reflectance", ["a"]).property_names == []


def test_save_load_round_trip_and_corrupt_file(tmp_path):
    lib = make_lib()
    path = lib.save(tmp_path / "lib.npz")
    back = SpectralLibrary.load(path)
    np.testing.assert_array_equal(back.X, lib.X)
    assert list(back.sample_id) == list(lib.sample_id) and back.unit == "cm-1"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read spectral library"):
        SpectralLibrary.load(path)


def test_align_and_complete():
    lib = make_lib().average_scans()
    lib.properties.loc[1, "pH"] = np.nan
    assert lib.complete().n_scans == 2
    assert list(lib.align_to(["s2", "s0"]).sample_id) == ["s2", "s0"]
    with pytest.raises(ValueError, match="not in"):
        lib.align_to(["zz"])


def test_non_finite_values_are_refused_without_a_warning():
    """+inf in one spectrum and -inf in another (their sum is NaN) are refused, naming 2 spectra; the largest float32
    values are finite and kept (the check sums in float64, which cannot overflow)."""
    import warnings

    X = np.ones((3, 4), np.float32)
    X[1, 2], X[2, 0] = np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="library: 2 spectra contain NaN or inf"):
            SpectralLibrary(X=X, axis=np.arange(1.0, 5.0), unit="nm", quantity="absorbance", sample_id=list("abc"))
        big = np.full((3, 4), np.finfo(np.float32).max, np.float32)
        assert SpectralLibrary(X=big, axis=np.arange(1.0, 5.0), unit="nm", quantity="absorbance",
                               sample_id=list("abc")).X.shape == (3, 4)
