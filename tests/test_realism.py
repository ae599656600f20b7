import numpy as np
import pytest

from soilnb.composition import sample_soils
from soilnb.realism import load_real_kssl_toy, mean_sd_spectra, realism_auc
from soilnb.simulate import MIR_AXIS, mir_spectra


@pytest.fixture(scope="module")
def sim():
    F, P = sample_soils(400, "kssl", random_state=0)
    return mir_spectra(F, P, 4, random_state=1).reshape(400, 4, -1).mean(axis=1)


def test_two_halves_of_one_set_are_indistinguishable(sim):
    auc = realism_auc(sim[:200], sim[200:], seed=0)
    assert 0.35 < auc < 0.65


def test_obviously_wrong_spectra_are_detected(sim):
    fake = sim[200:].copy()
    fake += 0.5 * np.exp(-0.5 * ((MIR_AXIS - 2200) / 20) ** 2)      # a big peak where soils have none
    assert realism_auc(sim[:200], fake, seed=0) > 0.99


def test_auc_balances_and_validates(sim):
    # subsampling the larger set: same answer for the same seed, an error for mismatched channels
    a = realism_auc(sim[:100], sim[100:], seed=2)
    assert a == realism_auc(sim[:100], sim[100:], seed=2)
    with pytest.raises(ValueError, match="channels"):
        realism_auc(sim[:, :10], sim[:, :11])
    with pytest.raises(ValueError, match="NaN"):
        bad = sim[:50].copy()
        bad[0, 0] = np.nan
        realism_auc(bad, sim[50:100])
    with pytest.raises(ValueError, match="at least 10"):
        realism_auc(sim[:4], sim[4:8])


def test_mean_sd_spectra_matches_numpy(sim):
    m, s = mean_sd_spectra(sim)
    np.testing.assert_allclose(m, sim.astype(float).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s, np.std(sim.astype(float), axis=0, ddof=1), rtol=1e-6)
    with pytest.raises(ValueError, match="2-D"):
        mean_sd_spectra(sim[0])


def test_real_toy_file_and_realism(real_dir, sim):
    X, axis = load_real_kssl_toy(real_dir)
    assert X.shape == (500, 1701)
    np.testing.assert_array_equal(axis, MIR_AXIS)
    # real KSSL absorbance: roughly 0.2-2.5 log units, like the simulator's
    assert 0.1 < np.median(X) < 1.5 and 0.1 < np.median(sim) < 1.5
    auc = realism_auc(X, sim, seed=0)
    assert 0.5 <= auc <= 1.0
    # the simulator is closer to real spectra than spectra with a big fake peak are
    fake = sim + 0.5 * np.exp(-0.5 * ((MIR_AXIS - 2200) / 20) ** 2)
    assert realism_auc(X, fake, seed=0) >= auc


def test_simulator_realism_regression(real_dir):
    # guards the tuned DRIFT physics: with 3, 5 and 10 principal components the simulated KSSL-like spectra
    # are much closer to the real ones than the untuned simulator (AUC 0.85 and 0.997 at 3 and 5 PCs) and
    # than the first tuning (0.72, 0.988, 0.998 at 3, 5, 10 PCs)
    from soilnb.simulate import simulate_world

    X, _ = load_real_kssl_toy(real_dir)
    S = simulate_world(n_kssl=1000, n_paired=10, n_test=10, seed=0).kssl.average_scans().X
    assert realism_auc(X, S, n_components=3) < 0.80            # tuned: 0.71
    assert realism_auc(X, S, n_components=5) < 0.93            # tuned: 0.875
    assert realism_auc(X, S, n_components=10) < 0.97           # tuned: 0.935
