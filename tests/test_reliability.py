"""Shift flags on simulated soil spectra: compatible sets flagged near alpha, a deliberately shifted set far more."""
import numpy as np
import pytest
from sklearn.decomposition import PCA

from soilnb.preprocess import snv
from soilnb.shift import ShiftDetector
from soilnb.simulate import simulate_world


@pytest.fixture(scope="module")
def scores():
    w = simulate_world(n_kssl=1500, n_scans=1, n_paired=300, n_test=20, seed=3)
    train = snv(w.kssl.X)
    pca = PCA(8, random_state=0).fit(train)
    axis = w.kssl.axis
    # a deliberate shift: a strong sloping baseline (e.g. a different reference or particle size), which SNV does not remove
    shifted = snv(w.paired_mir.X + 0.8 * (axis - axis.min()) / np.ptp(axis))
    return pca.transform(train), pca.transform(snv(w.paired_mir.X)), pca.transform(shifted)


def test_compatible_sets_flagged_near_alpha(scores):
    train, paired, _ = scores
    det = ShiftDetector(alpha=0.05).fit(train)
    assert 0.01 <= det.train_flag_rate_ <= 0.10
    assert det.predict(paired).mean() <= 0.15


def test_shifted_set_flagged_much_more(scores):
    train, paired, shifted = scores
    det = ShiftDetector(alpha=0.05).fit(train)
    assert det.predict(shifted).mean() >= 0.8
    assert np.median(det.score(shifted)) > 3 * np.median(det.score(paired))
