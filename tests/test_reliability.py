"""Shift flags on simulated soil spectra: compatible sets flagged near alpha, a deliberately shifted set far more."""
import numpy as np
import pytest
from sklearn.decomposition import PCA

from soilnb.data.simulate.world import simulate_world
from soilnb.spectra.scatter import snv
from soilnb.stats.shift import ShiftDetector


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


def test_flags_vs_errors_by_hand():
    from types import SimpleNamespace

    import pandas as pd

    from soilnb.stages.reliability import LatentShift, flags_vs_errors

    obs = pd.DataFrame({"TC": [1.0, 2.0, 3.0, 4.0], "pH": [5.0, 6.0, 7.0, 8.0]})
    pred = obs + pd.DataFrame({"TC": [0.1, -0.2, 0.3, -0.4], "pH": [1.0, 1.0, 1.0, 1.0]})
    res = SimpleNamespace(observed={"test": obs}, predictions={"test": {"S": pred}})
    shift = LatentShift(None, {"test, X": np.array([1.0, 2.0, 3.0, 9.0])},
                        {"test, X": np.array([False, False, True, True])}, None, 0, 0, 0)
    t = flags_vs_errors(shift, res, pairs=(("S", "test, X"),)).set_index("property")
    # TC: |err| 0.1, 0.2 (ok) vs 0.3, 0.4 (flagged); distances and errors rise together
    assert t.loc["TC", "mae_ok"] == pytest.approx(0.15) and t.loc["TC", "mae_flagged"] == pytest.approx(0.35)
    assert t.loc["TC", "ratio"] == pytest.approx(0.35 / 0.15)
    assert t.loc["TC", "spearman_distance_error"] == pytest.approx(1.0)
    assert np.isnan(t.loc["pH", "spearman_distance_error"])          # constant error: undefined, not 0
    # every sample flagged: the MAE comparison is NaN, the rank correlation still answers
    shift.flags["test, X"] = np.ones(4, bool)
    t = flags_vs_errors(shift, res, pairs=(("S", "test, X"),)).set_index("property")
    assert np.isnan(t.loc["TC", "ratio"]) and t.loc["TC", "spearman_distance_error"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="test-set embedding"):
        flags_vs_errors(shift, res, pairs=(("S", "Paired validation, MIR"),))
