"""The model bundle (soilnb.apply): heads equal to the run's regressors, a bit-identical round trip, refusal of
tampered, pickled or incompatible bundles, honest calibration, flags as notebook 05 computes them, intervals by
hand, and coverage on exchangeable simulated data within binomial tolerance of the nominal level."""
import json
import math
import pickle
import re
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from apply_world import TINY, make_tiny

import soilnb
from soilnb import apply, stages
from soilnb.apply import BundleError
from soilnb.apply.build import mir_regressors
from soilnb.apply.heads import targets_state
from soilnb.core import paths
from soilnb.core.cache import file_sha256
from soilnb.core.config import get_config
from soilnb.data.library import SpectralLibrary
from soilnb.models.inference import embed
from soilnb.stages.reliability import latent_shift
from soilnb.stats.splits import grouped_split
from soilnb.stats.fitted import FittedTargets
from soilnb.stats.targets import TargetTransformer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    yield from make_tiny(tmp_path_factory)


def _copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def _rehash(folder):
    """Rewrite the manifest's sha256 entries (what someone who edits a bundle on purpose would do)."""
    man = json.loads((folder / "manifest.json").read_text())
    for name in man["files"]:
        man["files"][name]["sha256"] = file_sha256(folder / name)
    (folder / "manifest.json").write_text(json.dumps(man))


# ------------------------------------------------------------------------------------------ contents
def test_bundle_holds_every_strategy_and_part(tiny):
    b = tiny["loaded"]
    assert list(b.strategies) == ["MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP", "NIR-PLSR", "NIR-MLP", "NIRtoMIR-MLP",
                                  "NIRtoMIR-SSL-MLP"]
    assert set(b.heads) == {"MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP", "NIR-PLSR", "NIR-MLP"}
    np.testing.assert_array_equal(b.grids["MIR"], tiny["F"].mir_axis)
    np.testing.assert_array_equal(b.grids["NIR"], tiny["F"].nir_axis)
    assert b.vae is not None and b.n2m is not None and set(b.shift) == set(b.novelty) == {"MIR", "NIR"}
    assert b.info["fingerprint"]["world_key"] == stages.world_key(tiny["cfg"])
    assert sorted(p.name for p in tiny["folder"].iterdir()) == [
        "arrays.npz", "bundle.json", "heads.safetensors", "manifest.json", "nir_to_mir.safetensors",
        "vae.safetensors"]
    # nothing in the folder is a pickle (no pickle protocol header in any file)
    for f in tiny["folder"].iterdir():
        assert not f.read_bytes().startswith(b"\x80"), f.name


def test_heads_predict_what_the_regressors_predict(tiny):
    """Each head (coefficients or NumPy MLP) against the fitted estimator it came from (an independent implementation:
    ikpls PLSR, the torch MLP)."""
    cfg, F, b = tiny["cfg"], tiny["F"], tiny["loaded"]
    regs = {**{h: tiny["res"].models[h] for h in ("NIR-PLSR", "NIR-MLP")},
            **mir_regressors(cfg, F, tiny["vae"], set(b.heads))}
    inputs = {"MIR-PLSR": F.test_mir, "MIR-MLP": F.test_mir, "MIR-SSL-MLP": embed(tiny["vae"], F.test_mir),
              "NIR-PLSR": F.test_nir, "NIR-MLP": F.test_nir}
    for h, X in inputs.items():
        pd.testing.assert_frame_equal(b.heads[h].predict(X), regs[h].predict(X), rtol=1e-9, atol=1e-9)


def test_target_transformer_survives_the_round_trip(tiny):
    """The loaded head's fitted transform (FittedTargets, no scikit-learn) maps outputs back and properties forth
    exactly as the fitted TargetTransformer it was stored from, and stores the same state again."""
    tt = tiny["res"].models["NIR-PLSR"].targets
    back = tiny["loaded"].heads["NIR-PLSR"].targets
    assert isinstance(tt, TargetTransformer) and isinstance(back, FittedTargets)
    assert back.log_ == tt.log_ and back.output_names_ == tt.output_names_
    Z = np.random.default_rng(0).normal(size=(20, len(tt.output_names_)))
    pd.testing.assert_frame_equal(back.inverse_transform(Z), tt.inverse_transform(Z), rtol=0, atol=0)
    Y = tt.inverse_transform(Z)
    np.testing.assert_array_equal(back.transform(Y), tt.transform(Y))
    (j1, a1), (j2, a2) = targets_state(back), targets_state(tt)
    assert j1 == j2 and a1.keys() == a2.keys() and all(np.array_equal(a1[k], a2[k]) for k in a1)


def test_round_trip_gives_identical_predictions(tiny):
    b, loaded, F = tiny["bundle"], tiny["loaded"], tiny["F"]
    for rng, X in (("MIR", F.test_mir), ("NIR", F.test_nir)):
        names = [s for s in b.strategies if b.strategies[s][0] == rng]
        for norm in (False, True):
            a, fa = apply.predict_arrays(b, rng, X, names, normalized=norm)
            c, fc = apply.predict_arrays(loaded, rng, X, names, normalized=norm)
            pd.testing.assert_frame_equal(fa, fc, check_exact=True)
            for s in names:
                for k in range(3):
                    pd.testing.assert_frame_equal(a[s][k], c[s][k], check_exact=True)


def test_round_trip_on_real_files(tiny, real_dir):
    files = real_dir / "ossl_sample_inputs"
    a = tiny["bundle"].predict(files, strategy="all", convert_mir=True)
    c = tiny["loaded"].predict(files, strategy="all", convert_mir=True)
    pd.testing.assert_frame_equal(a, c, check_exact=True)
    assert a["file"].nunique() == 7 and not a.attrs["problems"]
    assert set(a.loc[a["range"] == "MIR", "strategy"]) == {"MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP"}
    nir = a["range"] == "NIR"
    assert a.loc[nir, "mir_600"].notna().all() and a.loc[~nir, "mir_600"].isna().all()
    for p in tiny["loaded"].properties:
        assert (a[f"{p}_lower"] <= a[p] + 1e-9).all() and (a[p] <= a[f"{p}_upper"] + 1e-9).all()


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize("name", ["bundle.json", "arrays.npz", "heads.safetensors", "vae.safetensors"])
def test_a_changed_file_is_refused_by_name(tiny, tmp_path, name):
    folder = _copy(tiny["folder"], tmp_path)
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=rf"{name}: sha256 differs"):
        apply.load_bundle(folder)


def test_save_replaces_a_bundle_but_nothing_else(tiny, tmp_path):
    other = tmp_path / "figures"
    other.mkdir()
    (other / "keep.csv").write_text("x")
    with pytest.raises(BundleError, match="exists and is not a soilnb bundle; not replaced"):
        tiny["bundle"].save(other)
    assert (other / "keep.csv").read_text() == "x"
    first = tiny["bundle"].save(tmp_path / "b")
    assert tiny["bundle"].save(first) == first and apply.read_manifest(first)["format"] == "soilnb-bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "figures"]      # no temporary folder left


def test_missing_and_foreign_folders_are_refused(tiny, tmp_path):
    folder = _copy(tiny["folder"], tmp_path)
    (folder / "vae.safetensors").unlink()
    with pytest.raises(BundleError, match=r"vae.safetensors: missing"):
        apply.load_bundle(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"manifest.json: not valid JSON"):
        apply.load_bundle(folder)
    with pytest.raises(BundleError, match=r"is not a soilnb bundle"):
        apply.load_bundle(tmp_path)
    with pytest.raises(BundleError, match="no bundle folder"):
        apply.load_bundle(tmp_path / "nowhere")


def test_incompatible_versions_are_refused(tiny, tmp_path):
    folder = _copy(tiny["folder"], tmp_path)
    man = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**man, "format_version": 2}))
    with pytest.raises(BundleError, match=r"manifest.json: bundle format version 2; this soilnb .* reads version 1"):
        apply.load_bundle(folder)
    (folder / "manifest.json").write_text(json.dumps({**man, "soilnb_version": "9.0.0"}))
    with pytest.raises(BundleError, match=r"manifest.json: written by soilnb 9.0.0, incompatible"):
        apply.load_bundle(folder)
    major, minor = (int(x) for x in soilnb.__version__.split(".")[:2])
    (folder / "manifest.json").write_text(json.dumps({**man, "soilnb_version": f"{major}.{minor}.99"}))
    assert apply.load_bundle(folder).properties == tiny["loaded"].properties      # another patch release: read
    older = f"{major}.{minor - 1}.0" if major == 0 and minor > 0 else f"{major - 1}.0.0"
    (folder / "manifest.json").write_text(json.dumps({**man, "soilnb_version": older}))
    with pytest.raises(BundleError, match=rf"written by soilnb {older}, incompatible with this soilnb "
                                          rf"{re.escape(soilnb.__version__)}"):
        apply.load_bundle(folder)
    assert [apply.compatible(v, "0.1.0") for v in ("0.1.5", "0.2.0", "1.1.0", "x")] == [True, False, False, False]
    assert [apply.compatible(v, "1.4.2") for v in ("1.0.0", "1.9.1", "2.0.0", "0.4.2")] == [True, True, False, False]


def test_a_bundle_of_other_preprocessing_is_refused(tiny, tmp_path):
    """The bundle records the preprocessing its models expect; one recording other steps (e.g. written by a
    soilnb that trimmed NIR differently) is refused, never fed inputs prepared another way."""
    folder = _copy(tiny["folder"], tmp_path)
    doc = json.loads((folder / "bundle.json").read_text())
    assert doc["info"]["preprocessing"]["NIR"].startswith("trimmed to 1400-2500 nm")
    doc["info"]["preprocessing"]["NIR"] = "trimmed to 1350-2550 nm; SNV per spectrum"
    (folder / "bundle.json").write_text(json.dumps(doc))
    _rehash(folder)
    with pytest.raises(BundleError, match=r"bundle.json: its models expect the preprocessing .*1350-2550"):
        apply.load_bundle(folder)


def test_loading_runs_no_code(tiny, tmp_path):
    """A pickle placed in the arrays (with the manifest rehashed to match) is refused, and its code never runs."""
    folder = _copy(tiny["folder"], tmp_path)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    evil = np.empty(1, dtype=object)
    evil[0] = Payload()
    with open(folder / "arrays.npz", "wb") as fh:
        np.savez(fh, **arrays, evil=evil)
    _rehash(folder)
    with pytest.raises(BundleError, match=r"arrays.npz: cannot be read without pickle"):
        apply.load_bundle(folder)
    with open(folder / "arrays.npz", "wb") as fh:
        np.savez(fh, **arrays)
    (folder / "heads.safetensors").write_bytes(pickle.dumps(Payload()))
    _rehash(folder)
    with pytest.raises(BundleError, match=r"heads.safetensors: not a readable safetensors file"):
        apply.load_bundle(folder)
    assert not marker.exists()


# ------------------------------------------------------------------------------------------ calibration
def test_calibration_samples_are_held_out(tiny):
    """MIR: the calibration samples are not among the refit regressors' training samples; their residuals are the
    observed values minus the refit regressor's predictions (recomputed here without the bundle)."""
    cfg, F, b = tiny["cfg"], tiny["F"], tiny["loaded"]
    proper, cal = apply.calibration_split(cfg, F)
    assert not set(F.kssl_id[proper]) & set(F.kssl_id[cal]) and len(proper) + len(cal) == len(F.kssl)
    reg = mir_regressors(cfg, F, tiny["vae"], {"MIR-PLSR"})["MIR-PLSR"]
    assert reg.model.n_features_in_ == F.kssl.shape[1]
    pred = reg.predict(F.kssl[cal])
    obs = F.kssl_Y.iloc[cal].reset_index(drop=True)
    c = b.calibration["MIR-PLSR"]
    j = c.properties.index("pH")
    np.testing.assert_allclose(c.residuals[:, j], obs["pH"] - pred["pH"], rtol=1e-9, atol=1e-12)
    j = c.properties.index("TC")          # a log1p property: residuals on that scale
    np.testing.assert_allclose(c.residuals[:, j], np.log1p(obs["TC"]) - np.log1p(pred["TC"]), rtol=1e-9, atol=1e-12)
    # NIR: the Paired validation split, never in NIR-PLSR's training rows
    assert b.calibration["NIR-PLSR"].n == len(F.paired_split[1])


def test_interval_is_the_conformal_quantile_by_hand(tiny):
    """Plain intervals: half-width = the ceil((n + 1) 0.9)-th smallest |residual| (on the property's scale)."""
    b, F = tiny["loaded"], tiny["F"]
    per, _ = apply.predict_arrays(b, "MIR", F.test_mir, ["MIR-PLSR"])
    pred, lower, upper = per["MIR-PLSR"]
    c = b.calibration["MIR-PLSR"]
    r = np.sort(np.abs(c.residuals), axis=0)
    q = r[math.ceil((c.n + 1) * 0.9) - 1]
    j = c.properties.index("pH")
    np.testing.assert_allclose(upper["pH"], np.minimum(pred["pH"] + q[j], 14.0), rtol=1e-12)
    np.testing.assert_allclose(lower["pH"], np.maximum(pred["pH"] - q[j], 0.0), rtol=1e-12)
    j = c.properties.index("CEC")
    np.testing.assert_allclose(upper["CEC"], np.expm1(np.log1p(pred["CEC"]) + q[j]), rtol=1e-12)
    np.testing.assert_allclose(lower["CEC"], np.maximum(np.expm1(np.log1p(pred["CEC"]) - q[j]), 0.0), rtol=1e-12)


def test_halves_match_crepes(tiny):
    """The vectorised halving of :func:`halves_coverage` against crepes through Calibration, for one split."""
    from soilnb.apply.coverage import conformal_quantile
    from soilnb.apply.intervals import conformal_rank

    c = tiny["loaded"].calibration["MIR-MLP"]
    checked = 0
    for cov in (0.8, 0.9, 0.95):
        for n in (9, 19, 20, 24):
            res = c.residuals[:n]
            if conformal_rank(len(res), cov) < 0:   # too few scores: an infinite interval, with a warning
                continue
            part = apply.Calibration(c.properties, c.scales, c.lower, c.upper, res, c.spread)
            pred = pd.DataFrame({p: np.full(3, 5.0) for p in c.properties})
            lo, hi = part.intervals(pred, cov)
            checked += 1
            q = conformal_quantile(np.abs(res), cov)
            j = c.properties.index("pH")
            assert hi["pH"].iloc[0] == pytest.approx(min(5.0 + q[j], 14.0), rel=1e-12)
    assert checked == 11                            # every case but 9 scores at 0.95 (too few)


def test_shift_flags_equal_notebook_05(tiny):
    """The bundle's MIR shift statistic is notebook 05's (latent_shift). The bundle is built with one torch
    thread, notebook 05 with the machine's: float32 embeddings differ in the last bits, the distances by < 1e-4."""
    cfg, F = tiny["cfg"], tiny["F"]
    ref = latent_shift(cfg, F, tiny["vae"], tiny["n2m"])
    fl = apply.inference.flags(tiny["loaded"], "MIR", F.test_mir)
    np.testing.assert_allclose(fl["shift_distance"], ref.distances["test, MIR"], rtol=1e-4)
    assert tiny["loaded"].shift["MIR"].limit_ == pytest.approx(ref.limit, rel=1e-4)
    clear = np.abs(ref.detector.score(embed(tiny["vae"], F.test_mir)) / ref.limit - 1) > 1e-3
    np.testing.assert_array_equal(fl["shift_flag"][clear], ref.flags["test, MIR"][clear])


def test_novelty_reference_by_hand():
    ref = apply.NoveltyReference(np.arange(19, 0, -1.0), alpha=0.05)       # 1..19, unsorted on purpose
    assert ref.limit == 19.0                                                 # ceil(20 * 0.95) = 19th smallest
    np.testing.assert_allclose(ref.p_value([0.5, 10.0, 19.0, 19.5]), [20 / 20, 11 / 20, 2 / 20, 1 / 20])
    np.testing.assert_array_equal(ref.flag([18.9, 19.0, 19.1]), [False, False, True])
    assert apply.NoveltyReference(np.arange(10.0), alpha=0.05).limit == math.inf       # too few to flag at 5 %


def test_grid_policy_names_the_gap_and_finds_the_range(tiny):
    b, F = tiny["loaded"], tiny["F"]
    keep = (F.mir_axis >= 1000) & (F.mir_axis <= 3500)
    short = SpectralLibrary(X=F.test_mir[:3, keep] + 2.0, axis=F.mir_axis[keep], unit="cm-1", quantity="absorbance",
                            sample_id=["a", "b", "c"], name="short")
    with pytest.raises(ValueError, match=r"short: grid 1000-3500 does not cover the model's range 600-4000 "
                                         r"\(missing 600-1000 and 3500-4000"):
        b.predict(short)
    # NIR reflectance given on a wavenumber axis is NIR (the grid it covers), not MIR
    nm = np.arange(1350.0, 2552.0, 2.0)
    wn = 1e7 / nm[::-1]
    R = np.exp(-((nm - 1900) / 60) ** 2) * -0.2 + 0.5
    lib = SpectralLibrary(X=np.tile(R[::-1], (2, 1)), axis=wn, unit="cm-1", quantity="reflectance",
                          sample_id=["x", "y"], name="nir-in-cm-1")
    out = b.predict(lib)
    assert set(out["range"]) == {"NIR"} and len(out) == 2


def test_scans_of_one_sample_are_averaged(tiny):
    """Two scans of sample "a" and one of "b": two rows; "a" is predicted from the mean of its scans (as the
    training spectra were averaged), its quality names both scans' reasons once; per spectrum on request."""
    F, b = tiny["F"], tiny["loaded"]
    raw = F.test_mir[:3] + 3.0           # SNV spectra shifted: positive absorbances, same shape
    lib = SpectralLibrary(X=raw, axis=F.mir_axis, unit="cm-1", quantity="absorbance", sample_id=["a", "b", "a"],
                          name="three", meta={"quality": np.array(["noisy", "", "noisy"], dtype=object),
                                              "quality_ok": np.array([False, True, False])})
    out = b.predict(lib, strategy="MIR-PLSR")
    assert list(out["sample_id"]) == ["a", "b"] and list(out["n_spectra"]) == [2, 1]
    assert list(out["quality"]) == ["noisy", ""] and list(out["quality_ok"]) == [False, True]
    mean = SpectralLibrary(X=raw[[0, 2]].mean(0, keepdims=True), axis=F.mir_axis, unit="cm-1", quantity="absorbance",
                           sample_id=["a"], name="mean")
    assert out.loc[0, "pH"] == pytest.approx(b.predict(mean, strategy="MIR-PLSR").loc[0, "pH"], rel=1e-6)
    assert len(b.predict(lib, strategy="MIR-PLSR", average_scans=False)) == 3
    # the same id in two files is two samples, never averaged together
    two = SpectralLibrary(X=raw, axis=F.mir_axis, unit="cm-1", quantity="absorbance", sample_id=["a", "b", "a"],
                          name="two files", meta={"source_file": np.array(["x.csv", "x.csv", "y.csv"]),
                                                  "source_row": np.array([2, 3, 2])})
    out = b.predict(two, strategy="MIR-PLSR")
    assert list(zip(out["sample_id"], out["file"], out["n_spectra"])) == [("a", "x.csv", 1), ("b", "x.csv", 1),
                                                                          ("a", "y.csv", 1)]
    alone = b.predict(replace(two, sample_id=np.array(["p", "q", "r"])), strategy="MIR-PLSR")
    np.testing.assert_allclose(out["pH"], alone["pH"], rtol=1e-12)


# ------------------------------------------------------------------------------------------ coverage
def test_split_conformal_coverage_on_simulated_exchangeable_data():
    """1,000 calibration and 5,000 test samples from one heteroscedastic model: plain and normalised intervals
    (true sd as difficulty) cover within 3 binomial sd (test count and calibration set) of 90 %; a log1p
    property (log-normal values) too. The normalised intervals are narrower where the noise is small."""
    rng = np.random.default_rng(0)
    n_cal, n_test = 1000, 5000
    tt = TargetTransformer().fit(pd.DataFrame({"pH": rng.normal(6, 1, 50), "CEC": rng.lognormal(2, 1, 50)}))

    def draw(n):
        x = rng.uniform(0, 1, n)
        sd = 0.1 + x
        obs = pd.DataFrame({"pH": 6 + x + rng.normal(0, sd), "CEC": np.expm1(2 + x + rng.normal(0, sd))})
        return pd.DataFrame({"pH": 6 + x, "CEC": np.expm1(2 + x)}), obs, sd

    p_cal, y_cal, s_cal = draw(n_cal)
    p_test, y_test, s_test = draw(n_test)
    tol = apply.binomial_tolerance(0.9, n_test, n_cal)
    width = {}
    for kind, sig_cal, sig_test in (("plain", None, None), ("normalized", s_cal, s_test)):
        c = apply.Calibration.fit(y_cal, p_cal, tt, sigmas=sig_cal)
        lo, hi = c.intervals(p_test, 0.9, sigmas=sig_test)
        cov = apply.coverage_and_width(y_test, lo, hi).groupby("property")["covered"].mean()
        assert abs(cov["pH"] - 0.9) <= tol and abs(cov["CEC"] - 0.9) <= tol, (kind, cov, tol)
        width[kind] = (hi - lo)["pH"]
    small = s_test < 0.3
    assert width["normalized"][small].mean() < 0.6 * width["plain"][small].mean()


def test_bundle_coverage_on_held_out_simulated_samples(tmp_path, monkeypatch):
    """A bundle built on a world whose KSSL set lost a grouped 40 % of its samples, applied to them: drawn like the
    calibration samples, never seen; MIR-PLSR's 90 % intervals cover within 3 binomial sd of 90 % (over the nine
    properties, each judged with the per-property tolerance, which is larger than the mean's)."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    monkeypatch.setenv("SOILNB_CACHE", "off")          # the features below are not get_features(cfg)'s
    cfg = get_config("smoke", **{**TINY, "n_kssl": 700})
    F = stages.get_features(cfg)
    keep, out = grouped_split(F.kssl_id, 0.4, seed=3)
    F2 = replace(F, kssl=F.kssl[keep], kssl_Y=F.kssl_Y.iloc[keep].reset_index(drop=True), kssl_id=F.kssl_id[keep])
    vae, vh = stages.get_vae(cfg, F2, progress=False)
    res = stages.get_regressions(cfg, F2, vae, None, strategies=("MIR-PLSR",))
    b = apply.build_bundle(cfg, F2, vae, None, res, vh)
    assert list(b.strategies) == ["MIR-PLSR"] and list(b.grids) == ["MIR"]
    per, _ = apply.predict_arrays(b, "MIR", F.kssl[out], ["MIR-PLSR"])
    cov = apply.coverage_and_width(F.kssl_Y.iloc[out].reset_index(drop=True), per["MIR-PLSR"][1], per["MIR-PLSR"][2])
    by_prop = cov.groupby("property")["covered"].mean()
    tol = apply.binomial_tolerance(0.9, len(out), b.calibration["MIR-PLSR"].n)
    assert abs(by_prop.mean() - 0.9) <= tol, (by_prop, tol)
    assert len(out) >= 100 and tol < 0.2


def test_world_coverage_table(tiny):
    cfg, F = tiny["cfg"], tiny["F"]
    t = apply.world_coverage(cfg, F, tiny["loaded"])
    assert set(t["condition"]) == {"exchangeable", "Paired validation (MIR)", "independent test"}
    test = t[(t["condition"] == "independent test") & (t["strategy"] == "MIR-PLSR")].set_index("property")
    # coverage of one property recomputed from the bundle's intervals
    per, fl = apply.predict_arrays(tiny["loaded"], "MIR", F.test_mir, ["MIR-PLSR"])
    _, lo, hi = per["MIR-PLSR"]
    y = F.test_Y["pH"]
    assert test.loc["pH", "coverage"] == pytest.approx(((lo["pH"] <= y) & (y <= hi["pH"])).mean())
    assert test.loc["pH", "n_flagged"] == int((fl["shift_flag"] | fl["novelty_flag"]).sum())
    s = apply.coverage_summary(t)
    assert s.set_index(["condition", "strategy"]).loc[("independent test", "MIR-PLSR"), "coverage"] == \
        pytest.approx(test["coverage"].mean())


def test_mir_only_bundle_from_real_kssl_spectra(real_dir, tmp_path, monkeypatch):
    """The issue's MIR-only case (real KSSL MIR with OC, clay, CEC): a bundle with the MIR strategies only, which
    predicts the OPUS and MIR table inputs and names the NIR files it cannot read."""
    monkeypatch.setattr(paths, "CACHE", tmp_path)
    path = real_dir / "kssl_mir_toy" / "toy_kssl_mir.csv.gz"
    cfg = get_config("smoke", source="files", data_dir=str(path), properties="OC,clay,CEC",
                     vae_hidden=64, vae_epochs=3, mlp_hidden=32, mlp_epochs=20, pls_max_components=8, latent_dim=8)
    F = stages.get_features(cfg)
    vae, vh = stages.get_vae(cfg, F, progress=False)
    with pytest.warns(UserWarning, match="skipped"):
        res = stages.get_regressions(cfg, F, vae, None)
    b = apply.build_bundle(cfg, F, vae, None, res, vh)
    b = apply.load_bundle(b.save(tmp_path / "bundle"))
    assert list(b.grids) == ["MIR"] and list(b.strategies) == ["MIR-PLSR", "MIR-MLP", "MIR-SSL-MLP"]
    with pytest.warns(UserWarning, match="no NIR model"):
        out = b.predict(real_dir / "ossl_sample_inputs")
    assert sorted(out["file"].map(lambda f: f.rsplit("/", 1)[-1]).unique()) == [
        "235157XS01.0", "icr056141.0", "sample_mir_data.csv"]
    assert {"OC", "OC_lower", "OC_upper", "clay", "CEC"} <= set(out.columns) and "TC" not in out
    problems = " ".join(out.attrs["problems"])
    assert all("no NIR model" in p for p in out.attrs["problems"])
    assert all(f in problems for f in ("101453MD01.asd", "sample_neospectra_data.csv", "sample_visnir_data.csv"))
    # real KSSL-like MIR through a model of real KSSL MIR: far fewer flags than the simulated world's bundle gets
    assert out["OC"].between(0, 100).all()


def _save_many(folder, target, n):
    b = apply.load_bundle(folder)
    for _ in range(n):
        b.save(target)


def _load_many(target, n, out):
    seen = 0
    for _ in range(n):
        try:
            apply.load_bundle(target)
            seen += 1
        except apply.BundleError as exc:       # only before the first save has landed
            if "no bundle folder" not in str(exc) or seen:
                out.put(str(exc))
                return
    out.put("ok")


def test_concurrent_saves_leave_one_complete_bundle_and_readers_never_see_half(tiny, tmp_path):
    """Three processes save into one folder (6 times each) while another loads it (30 times): no save fails,
    the reader never meets a missing or half-written bundle once one has landed, the folder ends a complete
    bundle, and nothing is left beside it."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    target = tmp_path / "shared"
    out = ctx.Queue()
    savers = [ctx.Process(target=_save_many, args=(tiny["folder"], target, 6)) for _ in range(3)]
    reader = ctx.Process(target=_load_many, args=(target, 30, out))
    for p in [*savers, reader]:
        p.start()
    for p in [*savers, reader]:
        p.join(300)
    assert [p.exitcode for p in savers] == [0, 0, 0] and reader.exitcode == 0 and out.get(timeout=5) == "ok"
    assert apply.load_bundle(target).properties == tiny["bundle"].properties
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"]


def test_unlisted_files_and_non_finite_numbers_are_refused(tiny, tmp_path):
    """A file the manifest does not list is refused by name; a NaN or Infinity in bundle.json (re-hashed) is
    refused naming the constant; saving writes none (a novelty limit too few spectra set is null, recomputed)."""
    copy = _copy(tiny["folder"], tmp_path)
    (copy / "extra.npy").write_bytes(b"x")
    with pytest.raises(BundleError, match=r"extra.npy not listed in manifest.json"):
        apply.load_bundle(copy)
    (copy / "extra.npy").unlink()
    doc = json.loads((copy / "bundle.json").read_text())
    assert "NaN" not in (copy / "bundle.json").read_text() and "Infinity" not in (copy / "bundle.json").read_text()
    doc["info"]["seed"] = float("nan")
    (copy / "bundle.json").write_text(json.dumps(doc))
    _rehash(copy)
    with pytest.raises(BundleError, match=r"bundle.json: not valid JSON \(NaN is not a number a bundle may hold"):
        apply.load_bundle(copy)
