"""Per-spectrum quality flags: real spectra pass, each kind of bad spectrum is flagged with its reason."""
import numpy as np
import pytest

from soilnb.data.realism import load_real_kssl_toy, load_real_nirsoil
from soilnb.spectra.quality import NOISE_MAX, spectrum_quality


@pytest.fixture
def kssl(real_dir):
    return load_real_kssl_toy(real_dir)


def test_real_spectra_pass(kssl, real_dir):
    X, _ = kssl
    q = spectrum_quality(X)
    assert q["ok"].all(), q.loc[~q["ok"], "reason"].head().tolist()
    pytest.importorskip("rdata")
    A, _ = load_real_nirsoil(real_dir)
    assert spectrum_quality(A)["ok"].all()
    assert spectrum_quality(10.0 ** -A, quantity="reflectance")["ok"].all()


def test_each_bad_spectrum_is_named(kssl):
    X = kssl[0][:6].copy()
    X[0, 100] = np.nan                                   # one NaN channel
    X[1, 400:420] = 6.0                                  # a detector cap inside 600-4000 cm-1
    X[2] = 0.7                                           # a dead, constant spectrum
    X[3] += np.random.default_rng(0).normal(0, 0.02, X.shape[1])   # noise
    q = spectrum_quality(X)
    assert q["ok"].tolist() == [False, False, False, False, True, True]
    assert q.loc[0, "nonfinite"] and q.loc[0, "reason"] == "1 NaN or inf channel(s)"
    assert q.loc[1, "saturated"] and q.loc[1, "reason"] == "saturated: 20 channels at the cap 6"
    assert q.loc[2, "flat"] and not q.loc[2, "noisy"]
    assert q.loc[3, "noisy"] and f"above {NOISE_MAX:g}" in q.loc[3, "reason"]
    # the noise ratio by hand for row 3
    d2 = np.median(np.abs(np.diff(X[3], 2))) / X[3].std()
    assert q.loc[3, "reason"] == f"noisy: noise ratio {d2:.3g} above {NOISE_MAX:g}"


def test_band_shape_against_the_quantity_is_flagged_per_spectrum(kssl):
    X, axis = kssl
    X = X[:8].copy()
    X[[1, 4]] = 10.0 ** -X[[1, 4]]                       # reflectance among absorbance
    X[6] = 0.7                                           # flat: no band shape, not judged
    q = spectrum_quality(X, axis=axis, unit="cm-1")
    assert np.flatnonzero(q["orientation"]).tolist() == [1, 4]
    assert q.loc[1, "reason"] == ("band shape looks like reflectance, file says absorbance (the water/O-H band at "
                                  "3300-3500 cm-1 is a minimum)")
    assert q.loc[6, "reason"].startswith("flat:") and not q.loc[6, "orientation"]
    assert not spectrum_quality(X)["orientation"].any()             # without the axis: not judged


def test_reflectance_out_of_range_and_floor():
    R = np.vstack([np.linspace(0.1, 0.6, 100), np.linspace(-0.1, 0.6, 100), np.r_[np.full(10, 1e-3), np.linspace(0.1, 0.5, 90)]])
    q = spectrum_quality(R, quantity="reflectance")
    assert q["ok"].tolist() == [True, False, False]
    assert q.loc[1, "out_of_range"] and q.loc[2, "saturated"]
    with pytest.raises(ValueError, match="quantity"):
        spectrum_quality(R, quantity="transmittance")


def test_read_spectra_carries_a_quality_column(tmp_path):
    from soilnb.data import read_spectra

    X = np.tile(np.linspace(0.2, 1.2, 200), (3, 1)) + np.linspace(0, 0.1, 3)[:, None]
    X[1, 50:60] = 6.0
    cols = [f"{w:g}" for w in np.linspace(4000, 600, 200)]
    import pandas as pd

    pd.DataFrame(X, columns=cols).assign(sample_id=["a", "b", "c"]).to_csv(tmp_path / "mir.csv", index=False)
    lib = read_spectra(tmp_path / "mir.csv", quantity="absorbance", progress=False).library
    by_id = dict(zip(lib.sample_id, lib.meta["quality"]))
    assert by_id["a"] == "" and by_id["c"] == ""
    assert by_id["b"] == "saturated: 10 channels at the cap 6"
    assert lib.meta["quality_ok"].tolist() == [s == "" for s in lib.meta["quality"]]


def test_property_values_are_flagged_not_rescaled():
    import pandas as pd

    from soilnb.data.properties import property_quality
    from soilnb.stats.targets import TargetTransformer

    df = pd.DataFrame({"TC": [1.0, -1.0, 2.0, 1.0, 1.0], "TN": 0.1, "IC": 0.0, "EOC": [1.0, 0.0, 2.0, 1.0, 1.0],
                       "pH": [6.5, 6.0, 20.0, 7.0, 7.0], "CEC": [10.0, -5.0, 10.0, 10.0, 10.0],
                       "clay": [20.0, 20.0, 20.0, 0.2, 40.0], "silt": [30.0, 30.0, 30.0, 0.3, 40.0],
                       "sand": [50.0, 50.0, 50.0, 0.5, 40.0]})
    q = property_quality(df)
    assert q["ok"].tolist() == [True, False, False, False, False]
    assert q.loc[1, "reason"] == "TC -1 is negative; CEC -5 is negative"
    assert q.loc[2, "reason"] == "pH 20 outside 0-14"
    assert q.loc[3, "reason"] == "texture sums to 1 (given as fractions? expected percent)"
    assert q.loc[4, "reason"] == "texture sums to 120, not 100 +- 5 %"
    with pytest.warns(UserWarning, match=r"sums to 1\.\.120 in 2 of 3 rows"):   # the transform warns too
        TargetTransformer().fit(df.iloc[[0, 3, 4]])


def test_snv_refuses_nan_naming_the_row():
    from soilnb.spectra.scatter import snv

    X = np.tile(np.linspace(0.1, 1.0, 20), (3, 1))
    X[2, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or inf: 1 row\\(s\\), e.g. row 2"):
        snv(X)


def test_dead_channels_are_flagged_with_where(kssl):
    """100 zeroed channels inside a real KSSL absorbance spectrum: flagged ``dead_channels`` with the run's length
    and wavenumbers; the same spectrum untouched (its longest run of equal stored values is far shorter) passes."""
    from soilnb.core.vocab import MIR_AXIS_CM1
    X = kssl[0][:2].copy()
    X[0, 300:400] = 0.0
    q = spectrum_quality(X, axis=MIR_AXIS_CM1, unit="cm-1")
    assert q["dead_channels"].tolist() == [True, False] and q["ok"].tolist() == [False, True]
    a, b = MIR_AXIS_CM1[300], MIR_AXIS_CM1[399]
    assert q.loc[0, "reason"] == f"dead channels: 100 consecutive channels at 0 at {a:g}-{b:g} cm-1"
