import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, PROPERTIES
from soilnb.data.library import World
from soilnb.data.simulate.bands import (
    BANDS,
    CONSTITUENTS,
    MIR_BANDS,
    NIR_BANDS,
    band_matrix,
    pseudo_voigt,
)
from soilnb.data.simulate.composition import apply_missingness, sample_soils
from soilnb.data.simulate.physics import INSTRUMENTS
from soilnb.data.simulate.spectra import mir_spectra, nir_spectra
from soilnb.data.simulate.world import simulate_world


@pytest.fixture(scope="module")
def world():
    return simulate_world(n_kssl=150, n_scans=4, n_paired=60, n_test=40, nir_repeats=6, seed=3)


def test_shapes_axes_units(world):
    assert isinstance(world, World) and world.source == "simulated"
    k = world.kssl
    assert k.X.shape == (600, 1701) and k.X.dtype == np.float32
    np.testing.assert_array_equal(k.axis, np.arange(600, 4001, 2))
    assert (k.unit, k.quantity) == ("cm-1", "absorbance")
    assert k.n_samples == 150
    np.testing.assert_array_equal(k.scan_id, np.tile(np.arange(4), 150))
    for lib, n in ((world.paired_mir, 60), (world.test_mir, 40)):
        assert lib.X.shape == (n, 1701) and lib.unit == "cm-1" and lib.quantity == "absorbance"
        np.testing.assert_array_equal(lib.axis, MIR_AXIS_CM1)
    for lib, n in ((world.paired_nir, 60), (world.test_nir, 40)):
        assert lib.X.shape == (n, 601) and lib.unit == "nm" and lib.quantity == "reflectance"
        np.testing.assert_array_equal(lib.axis, np.arange(1350, 2551, 2))
        np.testing.assert_array_equal(lib.axis, NIR_AXIS_NM)


def test_paired_ids_equal_and_ordered(world):
    np.testing.assert_array_equal(world.paired_nir.sample_id, world.paired_mir.sample_id)
    np.testing.assert_array_equal(world.test_nir.sample_id, world.test_mir.sample_id)
    assert list(world.paired_mir.sample_id[:3]) == ["P000000", "P000001", "P000002"]
    assert np.unique(world.paired_mir.sample_id).size == 60
    # the Paired and test properties are complete and identical across the two ranges
    for a, b in ((world.paired_nir, world.paired_mir), (world.test_nir, world.test_mir)):
        assert not a.properties.isna().any().any()
        pd.testing.assert_frame_equal(a.properties, b.properties)


def test_property_identities(world):
    for lib in (world.kssl, world.paired_mir, world.test_mir):
        P = lib.properties
        tex = P[["clay", "silt", "sand"]].dropna()
        np.testing.assert_allclose(tex.sum(axis=1), 100.0, atol=1e-9)
        assert (tex.to_numpy() >= 0).all()
        ok = P[["TC", "EOC", "IC"]].dropna()
        assert (ok.TC >= ok.EOC - 1e-12).all()
        np.testing.assert_allclose(ok.EOC, np.maximum(ok.TC - 0.12 * ok.IC, 0.0), atol=1e-12)
        cn = (P.EOC / P.TN).dropna()
        assert 8 < cn.median() < 15                         # soil C:N ratio
    # IC is never missing in KSSL; missingness leaves about 60 % of samples complete
    samples = world.kssl.average_scans()
    assert samples.properties["IC"].notna().all()
    frac = samples.properties.notna().all(axis=1).mean()
    assert 0.45 < frac < 0.78


def test_missingness_rate_matches_product_of_groups():
    _, P = sample_soils(20000, "kssl", random_state=1)
    out = apply_missingness(P[list(PROPERTIES)], random_state=2)
    # independent groups: 0.89 * 0.94 * 0.90 * 0.85 complete (see MISSING_RATES)
    np.testing.assert_allclose(out.notna().all(axis=1).mean(), 0.89 * 0.94 * 0.90 * 0.85, atol=0.01)
    with pytest.raises(ValueError, match="unknown properties"):
        apply_missingness(P[list(PROPERTIES)], rates={("Zn",): 0.1})


def test_cec_follows_mineralogy_and_ph_carbonates():
    F, P = sample_soils(4000, "kssl", random_state=0)
    smect = F[:, CONSTITUENTS.index("smectite")]
    kaol = F[:, CONSTITUENTS.index("kaolinite")]
    # CEC per unit clay rises with the smectite share of the clay (smectite >> kaolinite)
    clayish = (P.clay > 20).to_numpy() & (smect + kaol > 0.01)
    share = smect[clayish] / (smect[clayish] + kaol[clayish])
    r = np.corrcoef(share, P.CEC[clayish] / P.clay[clayish])[0, 1]
    assert r > 0.3
    assert P.pH[P.IC > 5].mean() > P.pH[P.IC == 0].mean() + 1.0


def test_seed_determinism():
    a = simulate_world(n_kssl=20, n_scans=2, n_paired=10, n_test=10, nir_repeats=2, seed=5)
    b = simulate_world(n_kssl=20, n_scans=2, n_paired=10, n_test=10, nir_repeats=2, seed=5)
    c = simulate_world(n_kssl=20, n_scans=2, n_paired=10, n_test=10, nir_repeats=2, seed=6)
    for (name, la), (_, lb), (_, lc) in zip(a.items(), b.items(), c.items()):
        np.testing.assert_array_equal(la.X, lb.X, err_msg=name)
        pd.testing.assert_frame_equal(la.properties, lb.properties)
        assert np.abs(la.X - lc.X).max() > 1e-3, name


def test_repeats_closer_than_other_samples(world):
    X = world.kssl.X.reshape(150, 4, -1).astype(float)
    within = np.linalg.norm(X[:, 0] - X[:, 1], axis=1)
    between = np.linalg.norm(X[:, 0] - np.roll(X[:, 1], 1, axis=0), axis=1)
    assert np.median(within) < 0.5 * np.median(between)
    assert (within > 0).all()                    # repeats are not identical copies


def test_spectral_ranges_are_plausible(world):
    for lib in (world.paired_nir, world.test_nir):
        assert lib.X.min() > 0 and lib.X.max() < 1
        assert 0.15 < np.median(lib.X) < 0.65
    A = world.kssl.X
    assert -0.5 < A.min() and A.max() < 3.0
    assert 0.2 < np.median(A) < 1.5


def test_nir_darker_with_organic_matter():
    F, P = sample_soils(800, "paired", random_state=4)
    R = nir_spectra(F, P, n_repeats=2, random_state=5)
    r = np.corrcoef(np.log(P.EOC), R.mean(axis=1))[0, 1]
    assert r < -0.4


def test_test_instruments_differ(world):
    assert set(world.kssl.instrument) == {"vertex70"}
    assert set(world.paired_mir.instrument) == {"vertex70"}
    assert set(world.paired_nir.instrument) == {"neospectra2022"}
    assert set(world.test_mir.instrument) == {"invenio"}
    assert set(world.test_nir.instrument) == {"neospectra2024"}
    # the same soils look different on the test instruments
    F, P = sample_soils(30, "napt", random_state=0)
    for kind, a, b, fn in (("mir", "vertex70", "invenio", mir_spectra), ("nir", "neospectra2022", "neospectra2024",
                                                                          nir_spectra)):
        xa = fn(F, P, 1, a, random_state=1)
        xb = fn(F, P, 1, b, random_state=1)
        assert np.abs(xa.mean(0) - xb.mean(0)).max() > 0.01, kind
    with pytest.raises(ValueError, match="is a NIR instrument"):
        mir_spectra(F, P, 1, "neospectra2022")
    with pytest.raises(ValueError, match="unknown instrument"):
        nir_spectra(F, P, 1, "foss")


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="n_kssl must be an integer >= 1"):
        simulate_world(n_kssl=0)
    with pytest.raises(ValueError, match="unknown profile"):
        sample_soils(5, "mars")


def test_band_tables():
    # Fig. 1 caption positions (Weyer 1985)
    row = BANDS.set_index("group")
    assert row.loc["polysaccharide C-O", "mir_cm1"] == 1170 and row.loc["polysaccharide C-O", "nir_nm"] == 2137
    assert row.loc["carboxylic C=O", "nir_nm"] == 1930 and row.loc["hydroxyl O-H", "nir_nm"] == 1400
    assert set(MIR_BANDS.constituent) <= set(CONSTITUENTS) and set(NIR_BANDS.constituent) <= set(CONSTITUENTS)
    # pseudo-Voigt: unit height at the centre, half height at centre +- FWHM/2 (both components)
    np.testing.assert_allclose(pseudo_voigt(np.array([100.0, 105.0, 95.0]), 100.0, 10.0, 0.3), [1.0, 0.5, 0.5])
    K = band_matrix(MIR_BANDS, MIR_AXIS_CM1)
    calcite = K[CONSTITUENTS.index("calcite")]
    assert MIR_AXIS_CM1[np.argmax(calcite)] == pytest.approx(1440, abs=4)
    kaol = K[CONSTITUENTS.index("kaolinite")]
    at = {w: kaol[np.searchsorted(MIR_AXIS_CM1, w)] for w in (3600, 3620, 3640, 3675, 3695, 3715)}
    assert at[3695] > at[3675] and at[3695] > at[3715] and at[3620] > at[3600] and at[3620] > at[3640]


def test_instruments_table():
    assert {i.kind for i in INSTRUMENTS.values()} == {"mir", "nir"}


def test_feldspar_share_follows_its_beta():
    from scipy import stats

    from soilnb.data.simulate.composition import FELDSPAR_AB

    F, _ = sample_soils(20000, "kssl", random_state=7)
    q, f = F[:, CONSTITUENTS.index("quartz")], F[:, CONSTITUENTS.index("feldspar")]
    ok = (q + f) > 0.05
    share = f[ok] / (q[ok] + f[ok])
    # mean and sd of the share equal those of Beta(FELDSPAR_AB) (standard error of the mean ~0.001)
    np.testing.assert_allclose(share.mean(), stats.beta(*FELDSPAR_AB).mean(), atol=0.004)
    np.testing.assert_allclose(share.std(), stats.beta(*FELDSPAR_AB).std(), atol=0.004)
    np.testing.assert_allclose(F.sum(axis=1), 1.0, atol=1e-12)


def test_hygroscopic_water_is_lognormal_around_its_clay_om_mean():
    from soilnb.data.simulate.composition import (
        OM_PER_OC,
        WATER_BASE,
        WATER_PER_CLAY,
        WATER_SD,
    )

    F, P = sample_soils(20000, "paired", random_state=8)
    water = F[:, CONSTITUENTS.index("water")]
    mean = WATER_BASE + WATER_PER_CLAY * P.clay / 100 + 0.08 * OM_PER_OC * P.EOC / 100
    z = np.log(water / mean)
    inside = (water > 0.0021) & (water < 0.1199)                # not clipped
    assert inside.mean() > 0.95
    # median 0 and sd WATER_SD of a normal, checked on the unclipped central part via quantiles
    np.testing.assert_allclose(np.median(z), 0.0, atol=0.02)
    q16, q84 = np.quantile(z, [0.1587, 0.8413])
    np.testing.assert_allclose((q84 - q16) / 2, WATER_SD, rtol=0.03)


def test_overtone_coarse_adds_quartz_overtones_in_sandy_soils_only():
    from dataclasses import replace

    from soilnb.data.simulate.physics import DRIFT

    F, P = sample_soils(2, "kssl", random_state=0)
    P = P.copy()
    P["coarse"] = [0.95, 0.05]
    off = replace(DRIFT, overtone_coarse=0.0)
    on = replace(DRIFT, overtone_coarse=1.0)
    d = mir_spectra(F, P, 1, random_state=3, physics=on).astype(float) - \
        mir_spectra(F, P, 1, random_state=3, physics=off).astype(float)
    at = lambda w: np.searchsorted(MIR_AXIS_CM1, w)                 # noqa: E731
    assert d[0, at(1870)] > 0.003 and d[1, at(1870)] < -0.003    # sandy gains, silty loses
    # far from the quartz combination bands (O-H region) only their Lorentzian wings remain: < 5 %
    assert (np.abs(d[:, at(3200):at(3800)]).max(axis=1) < 0.05 * np.abs(d[:, at(1870)])).all()


def test_instrument_resolution_adds_in_quadrature():
    # a Gaussian band of FWHM 30 seen at a resolution of 40 has FWHM sqrt(30^2 + 40^2) = 50 (convolution of
    # two Gaussians); broaden multiplies the band's own width first
    table = pd.DataFrame([("quartz", 1000.0, 30.0, 1.0, "test")], columns=MIR_BANDS.columns)
    x = np.arange(800.0, 1200.0, 0.01)

    def fwhm(k):
        above = x[k >= 0.5 * k.max()]
        return above[-1] - above[0]

    qz = CONSTITUENTS.index("quartz")
    assert fwhm(band_matrix(table, x, eta=0.0)[qz]) == pytest.approx(30.0, abs=0.02)
    assert fwhm(band_matrix(table, x, eta=0.0, resolution=40.0)[qz]) == pytest.approx(50.0, abs=0.02)
    assert fwhm(band_matrix(table, x, eta=0.0, broaden=2.0, resolution=80.0)[qz]) == pytest.approx(100.0, abs=0.02)
    np.testing.assert_array_equal(band_matrix(MIR_BANDS, MIR_AXIS_CM1, resolution=0.0), band_matrix(MIR_BANDS, MIR_AXIS_CM1))
