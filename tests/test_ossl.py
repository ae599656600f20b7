"""soilnb.data.ossl on small OSSL-format files written here and on the real sample files (skipped if absent)."""
import gzip
import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, OSSL_COLUMNS, PROPERTIES
from soilnb.data import ossl

MIR_COLS = [f"scan_mir.{int(w)}_abs" for w in MIR_AXIS_CM1]
NIR_COLS = [f"scan_nir.{int(w)}_ref" for w in NIR_AXIS_NM]


def mir_row(k):
    """A deterministic absorbance spectrum, linear in the wavenumber (exact under interpolation) and falling
    towards 4000 cm-1 as soil absorbance does, so the O-H band (3300-3500) lies above the 3850-3950 baseline."""
    return 0.9 + 0.1 * k - 1e-4 * MIR_AXIS_CM1


def nir_row(v):
    return 0.3 + 0.01 * v + 1e-5 * (NIR_AXIS_NM - 1350)


def lab_row(tc, tn=0.1, ic=np.nan, ph=6.0, cec=10.0, clay=20.0, silt=30.0, sand=50.0):
    return dict(zip(OSSL_COLUMNS.values(), (tc, tn, ic, ph, cec, clay, silt, sand)))


LAYERS = {"101": 0, "102": 1, "103": 2, "104": 3}       # KSSL layer id -> MIR row factor


@pytest.fixture
def ossl_dir(tmp_path):
    """Tiny OSSL v1.2 data folder: 4 KSSL + 1 AfSIS MIR rows, 6 Neospectra samples."""
    d = tmp_path / "ossl"
    d.mkdir()
    uuid = {lay: ossl.kssl_layer_uuid(lay) for lay in LAYERS}
    mir = pd.DataFrame([mir_row(k) for k in LAYERS.values()] + [mir_row(9)], columns=MIR_COLS)
    mir.insert(0, "id.scan_local_c", [f"XS{i}" for i in range(5)])
    mir.insert(0, "id.layer_uuid_txt", [uuid[x] for x in LAYERS] + ["afsis-1"])
    mir.insert(0, "dataset.code_ascii_txt", ["KSSL.SSL"] * 4 + ["AFSIS1.SSL"])
    mir.to_csv(d / "ossl_mir_L0_v1.2.csv.gz", index=False)
    lab = pd.DataFrame([lab_row(1.0), lab_row(2.0, ic=5.0), lab_row(3.0, ic=-0.4), lab_row(np.nan),
                        lab_row(4.0)])
    lab.insert(0, "id.layer_uuid_txt", [uuid[x] for x in LAYERS] + ["afsis-1"])
    lab.insert(0, "dataset.code_ascii_txt", ["KSSL.SSL"] * 4 + ["AFSIS1.SSL"])
    lab.to_csv(d / "ossl_soillab_L0_v1.2.csv.gz", index=False)
    site = lab[["dataset.code_ascii_txt", "id.layer_uuid_txt"]].assign(
        **{"id.layer_local_c": list(LAYERS) + ["icr1"]})
    site.to_csv(d / "ossl_soilsite_L0_v1.2.csv.gz", index=False)
    # Neospectra: samples 1..6 with 1-3 scanner rows; MIR for 1..5 and 7; KSSL layers 101..106
    rows, ids, scans = [], [], []
    for s, n_scanners in zip(range(1, 7), (3, 2, 1, 2, 2, 1)):
        for j in range(n_scanners):
            rows.append(nir_row(s + j))           # mean over scanners = nir_row(s + (n-1)/2)
            ids.append(str(s))
            scans.append(f"NEO{j + 1}_{s:06d}")
    nir = pd.DataFrame(rows, columns=NIR_COLS)
    nir.insert(0, "scan.nir.model.name_utf8_txt", [c.split("_")[0] for c in scans])
    nir.insert(0, "id.scan_local_c", scans)
    nir.insert(0, "id.sample_local_c", ids)
    nir.to_csv(d / "neospectra_nir_v1.2.csv.gz", index=False)
    nmir = pd.DataFrame([mir_row(10 + s) for s in (1, 2, 3, 4, 5, 7)], columns=MIR_COLS)
    nmir.insert(0, "id.sample_local_c", ["1", "2", "3", "4", "5", "7"])
    nmir.to_csv(d / "neospectra_mir_v1.2.csv.gz", index=False)
    nlab = pd.DataFrame([lab_row(float(s), ic=(2.0 if s == 2 else np.nan)) for s in range(1, 8)])
    nlab.insert(0, "id.sample_local_c", [str(s) for s in range(1, 8)])
    nlab.insert(0, "", range(1, 8))
    nlab.to_csv(d / "neospectra_soillab_v1.2.csv.gz", index=False)
    nsite = pd.DataFrame({"id.sample_local_c": [str(s) for s in range(1, 8)],
                          "id.layer_local_c": [str(100 + s) for s in range(1, 8)],
                          "location.country_iso.3166_txt": ["USA"] * 7,
                          "dataset.code_ascii_txt": ["NEOSPECTRA.SSL"] * 7})
    nsite.to_csv(d / "neospectra_soilsite_v1.2.csv.gz", index=False)
    return d


# ------------------------------------------------------------------------------- registry
def test_registry_lists_the_public_files():
    reg = ossl.read_registry()
    assert set(reg) == set(ossl.OSSL_FILES) and len(reg) == 8
    for name, entry in reg.items():
        assert entry["url"] == f"https://storage.googleapis.com/soilspec4gg-public/{name}"
        assert entry["sha256"] == "unknown" or len(entry["sha256"]) == 64


def test_download_records_then_verifies_hash(tmp_path, monkeypatch):
    import pooch

    registry = tmp_path / "registry.txt"
    name = "neospectra_soillab_v1.2.csv.gz"
    registry.write_text(f"# test\n{name} {ossl.OSSL_FILES[name]} unknown\n")
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append(known_hash)
        out = os.path.join(path, fname)
        with open(out, "wb") as fh:
            fh.write(b"soil")
        return out

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    ossl.download(tmp_path / "d", names=[name], registry=registry, progressbar=False)
    sha = hashlib.sha256(b"soil").hexdigest()
    assert ossl.read_registry(registry)[name]["sha256"] == sha        # recorded after the first download
    ossl.download(tmp_path / "d", names=[name], registry=registry, progressbar=False)
    assert calls == [None, f"sha256:{sha}"]                           # verified thereafter
    assert ossl.verify_files(tmp_path / "d", [name], registry) == {name: "ok"}
    (tmp_path / "d" / name).write_bytes(b"changed")
    with pytest.raises(ValueError, match=f"{name}: sha256 differs from the registry"):
        ossl.verify_files(tmp_path / "d", [name], registry)
    with pytest.raises(KeyError, match="not in the registry"):
        ossl.download(tmp_path / "d", names=["nope.csv"], registry=registry)


# ------------------------------------------------------------------------------- MIR table
def test_read_mir_table_filters_and_caches(ossl_dir, tmp_path, capsys):
    path = ossl_dir / "ossl_mir_L0_v1.2.csv.gz"
    lib = ossl.read_mir_table(path, dataset="KSSL.SSL", cache_dir=tmp_path / "c", verbose=True)
    assert lib.X.shape == (4, 1701) and lib.X.dtype == np.float32
    assert lib.unit == "cm-1" and lib.quantity == "absorbance"
    np.testing.assert_array_equal(lib.axis, MIR_AXIS_CM1)
    np.testing.assert_allclose(lib.X, np.stack([mir_row(k) for k in LAYERS.values()]), rtol=1e-6)
    assert list(lib.sample_id) == [ossl.kssl_layer_uuid(x) for x in LAYERS]
    assert "computed" in capsys.readouterr().out
    again = ossl.read_mir_table(path, dataset="KSSL.SSL", cache_dir=tmp_path / "c", verbose=True)
    assert "loaded" in capsys.readouterr().out
    np.testing.assert_array_equal(again.X, lib.X)
    np.testing.assert_array_equal(again.sample_id, lib.sample_id)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))   # touched, same content
    ossl.read_mir_table(path, dataset="KSSL.SSL", cache_dir=tmp_path / "c", verbose=True)
    assert "loaded" in capsys.readouterr().out                                      # keyed by content
    ossl.read_mir_table(path, dataset="AFSIS1.SSL", cache_dir=tmp_path / "c", verbose=True)
    assert "computed" in capsys.readouterr().out                                    # other arguments
    all_rows = ossl.read_mir_table(path, use_cache=False)
    assert all_rows.n_scans == 5


def test_mir_table_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path, capsys):
    # the table cache was keyed by path, size and mtime: an edit keeping all three returned the old values
    path = tmp_path / "mir.csv"
    df = pd.DataFrame([mir_row(1)], columns=MIR_COLS)
    df.insert(0, "id.layer_uuid_txt", ["a"])
    df.to_csv(path, index=False)
    first = ossl.read_mir_table(path, cache_dir=tmp_path / "c", verbose=True)
    assert "computed" in capsys.readouterr().out
    st = path.stat()
    head, row = path.read_text().split("\n", 1)
    value = row.split(",")[1]                                # the 600 cm-1 absorbance (first after the id)
    edited = value[:-1] + ("1" if value[-1] != "1" else "2")  # same length, another value
    path.write_text(head + "\n" + row.replace(value, edited, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))      # restore the times
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    again = ossl.read_mir_table(path, cache_dir=tmp_path / "c", verbose=True)
    assert "computed" in capsys.readouterr().out
    assert again.X[0, 0] == pytest.approx(float(edited)) and again.X[0, 0] != first.X[0, 0]
    np.testing.assert_array_equal(again.X[0, 1:], first.X[0, 1:])


def test_read_mir_table_other_grids(tmp_path):
    # decreasing columns (4000 -> 600): picked exactly; 4 cm-1 grid: resampled (linear -> exact)
    df = pd.DataFrame([mir_row(1)[::-1]], columns=MIR_COLS[::-1]).assign(**{"id.layer_uuid_txt": ["a"]})
    df.to_csv(tmp_path / "dec.csv", index=False)
    lib = ossl.read_mir_table(tmp_path / "dec.csv", use_cache=False)
    np.testing.assert_allclose(lib.X[0], mir_row(1), rtol=1e-6)
    ax4 = np.arange(600.0, 4001.0, 4.0)
    df = pd.DataFrame([0.9 - 1e-4 * ax4], columns=[f"scan_mir.{int(w)}_abs" for w in ax4])
    df.insert(0, "id.layer_uuid_txt", ["b"])
    df.to_csv(tmp_path / "coarse.csv", index=False)
    lib = ossl.read_mir_table(tmp_path / "coarse.csv", use_cache=False)
    np.testing.assert_allclose(lib.X[0], 0.9 - 1e-4 * MIR_AXIS_CM1, rtol=1e-6)
    df = pd.DataFrame([mir_row(1)[:1201]], columns=MIR_COLS[:1201]).assign(**{"id.layer_uuid_txt": ["c"]})
    df.to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match=r"short.csv: spectral grid 600\.\.3000 cm-1 does not cover the "
                                         r"requested range 600\.\.4000 cm-1"):
        ossl.read_mir_table(tmp_path / "short.csv", use_cache=False)


def test_read_mir_table_bad_input(tmp_path):
    good = pd.DataFrame([mir_row(0), mir_row(1), mir_row(2)], columns=MIR_COLS)
    good.insert(0, "id.layer_uuid_txt", ["a", "b", "c"])
    good.drop(columns=["id.layer_uuid_txt"]).to_csv(tmp_path / "noid.csv", index=False)
    with pytest.raises(ValueError, match=r"noid.csv: missing required column\(s\) \['id.layer_uuid_txt'\]"):
        ossl.read_mir_table(tmp_path / "noid.csv", use_cache=False)
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['dataset.code_ascii_txt'\]"):
        good.to_csv(tmp_path / "g.csv", index=False)
        ossl.read_mir_table(tmp_path / "g.csv", dataset="KSSL.SSL", use_cache=False)
    good.assign(**{"id.layer_uuid_txt": ["a", "b", "a"]}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ValueError, match=r"dup.csv: 1 duplicate id\(s\), e.g. \['a'\]"):
        ossl.read_mir_table(tmp_path / "dup.csv", use_cache=False)
    nan = good.copy()
    nan.loc[1, MIR_COLS[5]] = np.nan
    nan.loc[2, MIR_COLS[7]] = np.inf
    nan.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.warns(UserWarning, match="nan.csv: dropped 2 of 3 rows holding NaN or inf"):
        lib = ossl.read_mir_table(tmp_path / "nan.csv", use_cache=False)
    assert list(lib.sample_id) == ["a"]
    (tmp_path / "corrupt.csv.gz").write_bytes(gzip.compress(good.to_csv(index=False).encode())[:3000])
    with pytest.raises(ValueError, match="cannot read .*corrupt.csv.gz"):
        ossl.read_mir_table(tmp_path / "corrupt.csv.gz", use_cache=False)
    (tmp_path / "junk.csv.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(ValueError, match="cannot read .*junk.csv.gz"):
        ossl.read_mir_table(tmp_path / "junk.csv.gz", use_cache=False)
    txt = good.astype(object)
    txt.loc[0, MIR_COLS[3]] = "n.d."
    txt.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(ValueError, match="cannot parse .*text.csv"):
        ossl.read_mir_table(tmp_path / "text.csv", use_cache=False)
    with pytest.raises(FileNotFoundError, match="absent.csv not found"):
        ossl.read_mir_table(tmp_path / "absent.csv", use_cache=False)


# ------------------------------------------------------------------------------- lab table
def test_read_soillab_carbonate_and_eoc(ossl_dir):
    lab = ossl.read_soillab(ossl_dir / "ossl_soillab_L0_v1.2.csv.gz")
    u = [ossl.kssl_layer_uuid(x) for x in LAYERS]
    assert list(lab.columns) == list(PROPERTIES) + ["kssl"]
    # KSSL: empty CaCO3 -> 0, negative -> 0; AfSIS: stays missing
    assert lab.loc[u[0], "IC"] == 0.0 and lab.loc[u[2], "IC"] == 0.0 and np.isnan(lab.loc["afsis-1", "IC"])
    np.testing.assert_allclose(lab.loc[u[1], "EOC"], 2.0 - 0.12 * 5.0, rtol=1e-14)    # 1.4
    np.testing.assert_allclose(lab.loc[u[0], "EOC"], 1.0, rtol=1e-14)
    assert np.isnan(lab.loc[u[3], "EOC"]) and np.isnan(lab.loc["afsis-1", "EOC"])
    assert lab["kssl"].tolist() == [True] * 4 + [False]


def test_read_soillab_bad_input(tmp_path, ossl_dir):
    lab = pd.read_csv(ossl_dir / "ossl_soillab_L0_v1.2.csv.gz")
    lab.drop(columns=["ph.h2o_usda.a268_index", "cec_usda.a723_cmolc.kg"]).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(ValueError, match=r"l.csv: missing required column\(s\) \['ph.h2o_usda.a268_index', "
                                         r"'cec_usda.a723_cmolc.kg'\]"):
        ossl.read_soillab(tmp_path / "l.csv")
    pd.concat([lab, lab.iloc[:2]]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ValueError, match=r"d.csv: 2 duplicate id.layer_uuid_txt\(s\)"):
        ossl.read_soillab(tmp_path / "d.csv")


@pytest.mark.real
def test_read_soillab_reproduces_appendix_a_paired(real_dir):
    """Neospectra lab + site: the 2,016 complete US rows match the paper's Appendix A 'Paired' statistics."""
    from soilnb.core.references import read_reference

    t = real_dir / "neospectra_tables"
    lab = ossl.read_soillab(t / "neospectra_soillab_v1.2.csv", site=t / "neospectra_soilsite_v1.2.csv")
    assert len(lab) == 2106 and int(lab["kssl"].sum()) == 2016
    complete = lab[list(PROPERTIES)].dropna()
    assert len(complete) == 2016
    ref = read_reference("appendix_a")
    ref = ref[ref["dataset"] == "Paired"]
    names = {"Clay": "clay", "Silt": "silt", "Sand": "sand"}
    for _, r in ref.iterrows():
        v = complete[names.get(r["property"], r["property"])]
        assert len(v) == r["n"]
        got = [v.min(), v.mean(), v.std(ddof=1), v.max()]
        np.testing.assert_allclose(got, [r["min"], r["mean"], r["sd"], r["max"]], atol=0.005 + 1e-9,
                                   err_msg=r["property"])
    # the TC figures of the paper's Appendix A: 2016 / 2.29 / 2.80 / 0.02 / 53.88
    tc = complete["TC"]
    np.testing.assert_allclose([tc.mean(), tc.std(), tc.min(), tc.max()], [2.29, 2.80, 0.02, 53.88], atol=0.005)


# ------------------------------------------------------------------------------------ loaders
def test_load_kssl_joins_kssl_rows_only(ossl_dir, tmp_path):
    lib = ossl.load_kssl(ossl_dir, cache_dir=tmp_path / "c", verbose=False)
    assert lib.n_scans == 4 and lib.name == "kssl"
    u = [ossl.kssl_layer_uuid(x) for x in LAYERS]
    assert list(lib.sample_id) == u
    np.testing.assert_allclose(lib.properties["TC"].to_numpy()[:3], [1.0, 2.0, 3.0])
    assert np.isnan(lib.properties.loc[3, "TC"])
    assert lib.complete().n_scans == 3


def test_load_neospectra_averages_scanners_and_pairs(ossl_dir, tmp_path):
    nir, mir = ossl.load_neospectra(ossl_dir, cache_dir=tmp_path / "c", verbose=False)
    assert list(nir.sample_id) == ["1", "2", "3", "4", "5"] == list(mir.sample_id)   # 6: no MIR, 7: no NIR
    assert nir.unit == "nm" and nir.quantity == "reflectance" and nir.X.shape == (5, 601)
    n_scanners = {1: 3, 2: 2, 3: 1, 4: 2, 5: 2}
    expected = np.stack([nir_row(s + (n - 1) / 2) for s, n in n_scanners.items()])
    np.testing.assert_allclose(nir.X, expected, rtol=1e-6)
    np.testing.assert_allclose(mir.X, np.stack([mir_row(10 + s) for s in range(1, 6)]), rtol=1e-6)
    assert nir.instrument[0] == "NeoSpectra mean of 3 scans"
    np.testing.assert_allclose(nir.properties["TC"], [1, 2, 3, 4, 5])
    np.testing.assert_allclose(nir.properties["IC"], [0, 2, 0, 0, 0])           # US = KSSL rows: empty -> 0
    np.testing.assert_array_equal(nir.properties.to_numpy(), mir.properties.to_numpy())
    assert list(nir.meta["kssl_uuid"]) == [ossl.kssl_layer_uuid(100 + s) for s in range(1, 6)]


def test_nir_percent_and_absorbance_input(ossl_dir, tmp_path):
    nir = pd.read_csv(ossl_dir / "neospectra_nir_v1.2.csv.gz")
    pct = nir.copy()
    pct[NIR_COLS] *= 100
    pct.to_csv(tmp_path / "pct.csv", index=False)
    with pytest.warns(UserWarning, match="pct.csv: reflectance up to .* looks like percent; dividing by 100"):
        lib = ossl.read_nir_table(tmp_path / "pct.csv")
    ref = ossl.read_nir_table(ossl_dir / "neospectra_nir_v1.2.csv.gz")
    np.testing.assert_allclose(lib.X, ref.X, rtol=1e-6)
    with pytest.raises(ValueError, match="pct.csv: reflectance up to .* looks like percent, not a fraction"):
        ossl.read_nir_table(tmp_path / "pct.csv", percent=False)
    ab = nir.copy()
    ab[NIR_COLS] = np.log10(1 / ab[NIR_COLS]) - 0.5            # absorbance with negatives
    ab.to_csv(tmp_path / "abs.csv", index=False)
    with pytest.raises(ValueError, match=r"abs\.csv: values .* look like absorbance \(log10 1/R\), not reflectance"):
        ossl.read_nir_table(tmp_path / "abs.csv")


def test_load_world_holdout_without_leakage(ossl_dir, tmp_path):
    # 10 KSSL layers so that the Neospectra samples 1..5 (layers 101..105) exist in KSSL
    mir = pd.read_csv(ossl_dir / "ossl_mir_L0_v1.2.csv.gz")
    extra = mir.iloc[[0]].copy()
    extra["id.layer_uuid_txt"] = ossl.kssl_layer_uuid("105")
    pd.concat([mir, extra]).to_csv(ossl_dir / "ossl_mir_L0_v1.2.csv.gz", index=False)
    w = ossl.load_world(ossl_dir, seed=3, holdout=0.4, cache_dir=tmp_path / "c", verbose=False)
    assert w.source == "ossl"
    assert w.test_nir.n_scans == 2 and w.paired_nir.n_scans == 3          # round(0.4 * 5 complete) = 2
    assert set(w.test_nir.sample_id).isdisjoint(w.paired_nir.sample_id)
    np.testing.assert_array_equal(w.test_nir.sample_id, w.test_mir.sample_id)
    test_uuid = {ossl.kssl_layer_uuid(100 + int(s)) for s in w.test_nir.sample_id}
    assert test_uuid.isdisjoint(w.kssl.sample_id)
    assert w.kssl.n_scans == 5 - len(test_uuid & {ossl.kssl_layer_uuid(x) for x in (101, 102, 103, 104, 105)})
    w2 = ossl.load_world(ossl_dir, seed=3, holdout=0.4, cache_dir=tmp_path / "c", verbose=False)
    np.testing.assert_array_equal(w.test_nir.sample_id, w2.test_nir.sample_id)            # seeded
    others = {tuple(ossl.load_world(ossl_dir, seed=s, holdout=0.4, cache_dir=tmp_path / "c",
                                    verbose=False).test_nir.sample_id) for s in range(6)}
    assert len(others) > 1
    with pytest.raises(ValueError, match=r"holdout must be in \(0, 1\)"):
        ossl.load_world(ossl_dir, holdout=0.0)


def test_missing_data_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ossl_mir_L0_v1.2.csv.gz not found; fetch the OSSL files"):
        ossl.load_kssl(tmp_path)


# ------------------------------------------------------------------------------------ test set
def _write_test_dir(d, n=3, lab_names="canonical"):
    d.mkdir()
    ids = [f"napt{i}" for i in range(n)]
    nm = np.arange(1340.0, 2561.0, 5.0)                      # another instrument's grid
    nir = pd.DataFrame([0.4 + 0.01 * i + 1e-5 * (nm - 1340) for i in range(n)], columns=[f"{w:g}" for w in nm])
    nir.insert(0, "sample_id", ids)
    pd.concat([nir, nir.iloc[[0]].assign(**{f"{nm[0]:g}": 0.5})]).to_csv(d / "nir.csv", index=False)  # a repeat
    cm = np.arange(4002.0, 598.0, -1.9)
    # absorbance rising towards the O-H region (a maximum near 3400 cm-1 against 3900, as in soils)
    mir = pd.DataFrame([1.0 + 0.1 * i - 1e-5 * cm for i in range(n)], columns=[f"{w:g}" for w in cm])
    mir.insert(0, "sample_id", ids)
    mir.to_csv(d / "mir.csv", index=False)
    if lab_names == "canonical":
        lab = pd.DataFrame({"sample_id": ids, "TC": 1.0, "TN": 0.1, "IC": [0.0, 1.0, 2.0], "pH": 6.5,
                            "CEC": 12.0, "clay": 20.0, "silt": 40.0, "sand": 40.0})
    else:
        lab = pd.DataFrame({"sample_id": ids} | {c: 1.0 for c in OSSL_COLUMNS.values()})
    lab.to_csv(d / "lab.csv", index=False)
    return ids, nm, cm


def test_load_test_set(tmp_path):
    ids, nm, cm = _write_test_dir(tmp_path / "t")
    nir, mir = ossl.load_test_set(tmp_path / "t")
    assert list(nir.sample_id) == ids == list(mir.sample_id)
    np.testing.assert_allclose(nir.X[1], 0.41 + 1e-5 * (NIR_AXIS_NM - 1340), rtol=1e-6)
    # sample 0 has two rows: the repeat differs only at 1340 nm, outside the output grid except via
    # interpolation between 1340 and 1345 for 1340 < x < 1345 (none on the 2 nm grid from 1350)
    np.testing.assert_allclose(nir.X[0], 0.40 + 1e-5 * (NIR_AXIS_NM - 1340), rtol=1e-6)
    np.testing.assert_allclose(mir.X[2], 1.2 - 1e-5 * MIR_AXIS_CM1, rtol=1e-6)
    np.testing.assert_allclose(nir.properties["EOC"], [1.0, 0.88, 0.76], rtol=1e-12)
    _write_test_dir(tmp_path / "o", lab_names="ossl")
    nir, _ = ossl.load_test_set(tmp_path / "o")
    np.testing.assert_allclose(nir.properties["EOC"], 1.0 - 0.12)


def test_load_test_set_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="test set folder .* not found"):
        ossl.load_test_set(tmp_path / "none")
    _write_test_dir(tmp_path / "a")
    (tmp_path / "a" / "mir.csv").unlink()
    nir, mir = ossl.load_test_set(tmp_path / "a")          # a NIR-only test set
    assert mir is None and nir.n_scans == 3
    (tmp_path / "a" / "nir.csv").unlink()
    with pytest.raises(FileNotFoundError, match="missing nir.csv and mir.csv"):
        ossl.load_test_set(tmp_path / "a")
    _write_test_dir(tmp_path / "b")
    lab = pd.read_csv(tmp_path / "b" / "lab.csv").drop(columns=["CEC"])
    lab["K"] = [0.1, 0.2, 0.3]
    lab.to_csv(tmp_path / "b" / "lab.csv", index=False)
    nir, mir = ossl.load_test_set(tmp_path / "b")          # any set of properties: no CEC, an extra K
    assert "CEC" not in nir.property_names and nir.property_names[-1] == "K"
    np.testing.assert_allclose(mir.properties["K"], [0.1, 0.2, 0.3])
    lab[["sample_id"]].to_csv(tmp_path / "b" / "lab.csv", index=False)
    with pytest.raises(ValueError, match=r"lab.csv: no property column besides sample_id"):
        ossl.load_test_set(tmp_path / "b")
    _write_test_dir(tmp_path / "c")
    lab = pd.read_csv(tmp_path / "c" / "lab.csv")
    lab.iloc[:2].to_csv(tmp_path / "c" / "lab.csv", index=False)
    with pytest.raises(ValueError, match=r"1 sample\(s\) missing from lab.csv, e.g. \['napt2'\]"):
        ossl.load_test_set(tmp_path / "c")
    _write_test_dir(tmp_path / "e")
    mir = pd.read_csv(tmp_path / "e" / "mir.csv")
    mir[mir.columns[1:]] = 10 ** -mir[mir.columns[1:]] * 100      # reflectance % where absorbance is expected
    mir.to_csv(tmp_path / "e" / "mir.csv", index=False)
    with pytest.raises(ValueError, match="mir.csv: values up to .* look like reflectance in percent"):
        ossl.load_test_set(tmp_path / "e")
    _write_test_dir(tmp_path / "g")
    nir = pd.read_csv(tmp_path / "g" / "nir.csv")
    keep = ["sample_id"] + [c for c in nir.columns[1:] if 1400 <= float(c) <= 2500]
    nir[keep].to_csv(tmp_path / "g" / "nir.csv", index=False)
    with pytest.raises(ValueError, match=r"nir.csv: spectral grid 1400\.\.2500 nm does not cover the requested "
                                         r"range 1350\.\.2550 nm"):
        ossl.load_test_set(tmp_path / "g")
    # NIR absorbance (0.2-0.9, a maximum at the 1.9 um water band) given where reflectance is expected:
    # the value range alone cannot tell it from reflectance fractions
    _write_test_dir(tmp_path / "h")
    nir = pd.read_csv(tmp_path / "h" / "nir.csv")
    w = nir.columns[1:].astype(float)
    nir[nir.columns[1:]] = 0.4 + 0.3 * np.exp(-0.5 * ((w - 1925) / 30) ** 2)
    nir.to_csv(tmp_path / "h" / "nir.csv", index=False)
    with pytest.raises(ValueError, match=r"nir.csv: these look like absorbance, not reflectance: the water/O-H band "
                                         r"at 1900-1950 nm is a maximum in 100% of the spectra"):
        ossl.load_test_set(tmp_path / "h")
    nir[nir.columns[1:]] = 10 ** -nir[nir.columns[1:]]          # the same as reflectance: accepted
    nir.to_csv(tmp_path / "h" / "nir.csv", index=False)
    ossl.load_test_set(tmp_path / "h")
    # MIR reflectance fractions (0.1-0.6) where absorbance is expected: the O-H band is a minimum
    _write_test_dir(tmp_path / "i")
    mir = pd.read_csv(tmp_path / "i" / "mir.csv")
    mir[mir.columns[1:]] = 10 ** -mir[mir.columns[1:]].to_numpy()
    mir.to_csv(tmp_path / "i" / "mir.csv", index=False)
    with pytest.raises(ValueError, match=r"mir.csv: these look like reflectance, not absorbance: the water/O-H band "
                                         r"at 3300-3500 cm-1 is a minimum"):
        ossl.load_test_set(tmp_path / "i")
    _write_test_dir(tmp_path / "f")
    lab = pd.read_csv(tmp_path / "f" / "lab.csv")
    pd.concat([lab, lab.iloc[[1]]]).to_csv(tmp_path / "f" / "lab.csv", index=False)
    with pytest.raises(ValueError, match=r"lab.csv: 1 duplicate sample id\(s\), e.g. \['napt1'\]"):
        ossl.load_test_set(tmp_path / "f")


# ------------------------------------------------------- messages name the file, the rows and the problem
def _messages(record):
    return [str(w.message) for w in record]


def test_nan_rows_are_named_and_their_samples_leave_both_spectra_files(tmp_path):
    # item 1: a NaN row failed the whole set with "1 sample(s) missing from nir.csv" for a sample in the file
    _write_test_dir(tmp_path / "clean")
    clean_nir, clean_mir = ossl.load_test_set(tmp_path / "clean")
    _write_test_dir(tmp_path / "t")
    nir = pd.read_csv(tmp_path / "t" / "nir.csv")
    nir.iloc[1, 40] = np.nan                                   # napt1's only NIR row: file row 3
    nir.to_csv(tmp_path / "t" / "nir.csv", index=False)
    mir = pd.read_csv(tmp_path / "t" / "mir.csv")
    mir.iloc[2, 100] = np.inf                                  # napt2's MIR row: file row 4
    mir.to_csv(tmp_path / "t" / "mir.csv", index=False)
    with pytest.warns(UserWarning) as record:
        test_nir, test_mir = ossl.load_test_set(tmp_path / "t")
    msgs = _messages(record)
    assert "nir.csv: dropped 1 of 4 rows holding NaN or inf: row 3 (id napt1; the header is row 1)" in msgs
    assert "mir.csv: dropped 1 of 3 rows holding NaN or inf: row 4 (id napt2; the header is row 1)" in msgs
    assert any("2 sample(s) ['napt1', 'napt2'] left out of the test set (nir.csv, mir.csv, lab.csv alike): every "
               "row of theirs holds NaN or inf in nir.csv: napt1 at row(s) 3; mir.csv: napt2 at row(s) 4" in m
               for m in msgs), msgs
    assert list(test_nir.sample_id) == ["napt0"] == list(test_mir.sample_id)      # consistently in both
    np.testing.assert_array_equal(test_nir.X[0], clean_nir.X[0])
    np.testing.assert_array_equal(test_mir.X[0], clean_mir.X[0])
    np.testing.assert_array_equal(test_nir.properties.to_numpy(), clean_nir.properties.to_numpy()[:1])
    # a NaN in one scan repeat (row 5, napt0's second NIR row) drops that row only: the sample stays
    _write_test_dir(tmp_path / "r")
    nir = pd.read_csv(tmp_path / "r" / "nir.csv")
    nir.iloc[3, 40] = np.nan
    nir.to_csv(tmp_path / "r" / "nir.csv", index=False)
    with pytest.warns(UserWarning, match=r"nir\.csv: dropped 1 of 4 rows holding NaN or inf: row 5 \(id napt0;") \
            as record:
        test_nir, _ = ossl.load_test_set(tmp_path / "r")
    assert not any("left out" in m for m in _messages(record))
    assert list(test_nir.sample_id) == ["napt0", "napt1", "napt2"]


def test_all_nan_file_is_named(tmp_path):
    # item 2: scikit-learn's "Found array with 0 sample(s)" named no file
    _write_test_dir(tmp_path / "t")
    mir = pd.read_csv(tmp_path / "t" / "mir.csv")
    mir[mir.columns[1:]] = np.nan
    mir.to_csv(tmp_path / "t" / "mir.csv", index=False)
    with pytest.raises(ValueError, match=r"^every spectrum in mir\.csv is NaN/inf: rows 2, 3, 4 "
                                         r"\(ids napt0, napt1, napt2; the header is row 1\)$"):
        ossl.load_test_set(tmp_path / "t")
    table = pd.DataFrame(np.nan, index=range(2), columns=MIR_COLS)
    table.insert(0, "id.layer_uuid_txt", ["a", "b"])
    table.to_csv(tmp_path / "nan_table.csv", index=False)
    with pytest.raises(ValueError, match=r"^every spectrum in nan_table\.csv is NaN/inf: rows 2, 3 \(ids a, b;"):
        ossl.read_mir_table(tmp_path / "nan_table.csv", use_cache=False)


def test_constant_spectra_are_named_as_flat(tmp_path):
    # item 3: an all-constant MIR set was reported as "these look like reflectance"
    _write_test_dir(tmp_path / "t")
    mir = pd.read_csv(tmp_path / "t" / "mir.csv")
    mir[mir.columns[1:]] = 0.7
    mir.to_csv(tmp_path / "t" / "mir.csv", index=False)
    with pytest.raises(ValueError, match=r"^every spectrum in mir\.csv is constant/flat \(sd < 1e-06 over its "
                                         r"channels\): rows 2, 3, 4 \(ids napt0, napt1, napt2; the header is row 1\)$"):
        ossl.load_test_set(tmp_path / "t")
    # one flat row among good ones: named, kept, and not taken for reflectance
    _write_test_dir(tmp_path / "one")
    mir = pd.read_csv(tmp_path / "one" / "mir.csv")
    mir.iloc[1, 1:] = 0.7
    mir.to_csv(tmp_path / "one" / "mir.csv", index=False)
    with pytest.warns(UserWarning, match=r"mir\.csv: constant/flat spectra \(sd < 1e-06 over their channels\) in "
                                         r"row 3 \(id napt1; the header is row 1\)"):
        _, test_mir = ossl.load_test_set(tmp_path / "one")
    np.testing.assert_allclose(test_mir.X[1], 0.7, rtol=1e-6)


def test_header_without_rows_is_named(tmp_path):
    # item 4: a header with no rows was reported as "non-numeric values"
    for name in ("mir.csv", "nir.csv", "lab.csv"):
        d = tmp_path / name.split(".")[0]
        _write_test_dir(d)
        pd.read_csv(d / name).iloc[:0].to_csv(d / name, index=False)
        with pytest.raises(ValueError, match=rf"^{name.replace('.', '[.]')} has a header but no data rows$"):
            ossl.load_test_set(d)
    pd.DataFrame(columns=["id.layer_uuid_txt"] + MIR_COLS).to_csv(tmp_path / "empty_mir.csv", index=False)
    with pytest.raises(ValueError, match=r"^empty_mir\.csv has a header but no data rows$"):
        ossl.read_mir_table(tmp_path / "empty_mir.csv", use_cache=False)
    pd.DataFrame(columns=["id.layer_uuid_txt"] + list(OSSL_COLUMNS.values())).to_csv(tmp_path / "empty_lab.csv",
                                                                                     index=False)
    with pytest.raises(ValueError, match=r"^empty_lab\.csv has a header but no data rows$"):
        ossl.read_soillab(tmp_path / "empty_lab.csv")


def test_semicolon_and_tab_separated_files_are_read(tmp_path):
    # item 5: a ";"-separated file was reported as "missing required id column"
    _write_test_dir(tmp_path / "comma")
    ref_nir, ref_mir = ossl.load_test_set(tmp_path / "comma")
    for label, sep, decimal in (("semi", ";", "."), ("semi_decimal_comma", ";", ","), ("tab", "\t", ".")):
        d = tmp_path / label
        _write_test_dir(d)
        for name in ("nir.csv", "mir.csv", "lab.csv"):
            df = pd.read_csv(d / name)
            if decimal == ",":                                   # "4000,1" in the header too
                df.columns = [c.replace(".", ",") if c[0].isdigit() else c for c in df.columns]
            df.to_csv(d / name, index=False, sep=sep, decimal=decimal)
        test_nir, test_mir = ossl.load_test_set(d)
        np.testing.assert_array_equal(test_nir.X, ref_nir.X, err_msg=label)
        np.testing.assert_array_equal(test_mir.X, ref_mir.X, err_msg=label)
        np.testing.assert_array_equal(test_nir.properties.to_numpy(), ref_nir.properties.to_numpy(), err_msg=label)
    table = pd.DataFrame([mir_row(0), mir_row(1)], columns=MIR_COLS)
    table.insert(0, "id.layer_uuid_txt", ["a", "b"])
    table.to_csv(tmp_path / "comma.csv", index=False)
    table.to_csv(tmp_path / "semi.csv.gz", index=False, sep=";")
    np.testing.assert_array_equal(ossl.read_mir_table(tmp_path / "semi.csv.gz", use_cache=False).X,
                                  ossl.read_mir_table(tmp_path / "comma.csv", use_cache=False).X)


def test_duplicated_spectral_position_is_named(tmp_path):
    # item 6: two columns at one wavenumber gave "Resample axis_in must be strictly increasing ..." (no file)
    _, nm, cm = _write_test_dir(tmp_path / "t")
    assert f"{cm[10]:g}" == "3983"
    mir = pd.read_csv(tmp_path / "t" / "mir.csv").rename(columns={f"{cm[9]:g}": "scan_mir.3983_abs"})
    mir.to_csv(tmp_path / "t" / "mir.csv", index=False)
    with pytest.raises(ValueError, match=r"^mir\.csv: duplicated spectral column position\(s\) 3983 "
                                         r"\(columns 11 'scan_mir\.3983_abs', 12 '3983'\)"):
        ossl.load_test_set(tmp_path / "t")
    # the same name twice (pandas would silently rename the second "1365" to "1365.1", i.e. 1365.1 nm)
    _write_test_dir(tmp_path / "u")
    head, rest = (tmp_path / "u" / "nir.csv").read_text().split("\n", 1)
    names = head.split(",")
    assert names[5:7] == ["1360", "1365"]
    names[5] = "1365"
    (tmp_path / "u" / "nir.csv").write_text(",".join(names) + "\n" + rest)
    with pytest.raises(ValueError, match=r"^nir\.csv: duplicated spectral column position\(s\) 1365 "
                                         r"\(columns 6 '1365', 7 '1365'\)"):
        ossl.load_test_set(tmp_path / "u")
    table = pd.DataFrame([mir_row(0)], columns=MIR_COLS).assign(**{"id.layer_uuid_txt": ["a"]})
    table.columns = [MIR_COLS[0] if c == MIR_COLS[1] else c for c in table.columns]
    table.to_csv(tmp_path / "dup_table.csv", index=False)
    with pytest.raises(ValueError, match=r"^dup_table\.csv: duplicated spectral column position\(s\) 600 "
                                         r"\(columns 1 'scan_mir\.600_abs', 2 'scan_mir\.600_abs'\)"):
        ossl.read_mir_table(tmp_path / "dup_table.csv", use_cache=False)


def test_empty_caco3_column_leaves_ic_missing(ossl_dir, tmp_path):
    # item 7: an entirely empty CaCO3 column set IC = 0 in every KSSL row (an empty cell still means 0)
    path = ossl_dir / "ossl_soillab_L0_v1.2.csv.gz"
    lab = pd.read_csv(path)
    lab[OSSL_COLUMNS["IC"]] = np.nan
    lab.to_csv(path, index=False)
    expected = (r"ossl_soillab_L0_v1\.2\.csv\.gz: column caco3_usda\.a54_w\.pct is empty in all 5 rows \(CaCO3 not "
                r"measured\): IC and EOC stay missing, not 0, for its 4 KSSL row\(s\)")
    with pytest.warns(UserWarning, match=expected):
        out = ossl.read_soillab(path)
    assert out["IC"].isna().all() and out["EOC"].isna().all()
    np.testing.assert_allclose(out["TC"].to_numpy()[:3], [1.0, 2.0, 3.0])
    with pytest.warns(UserWarning, match=expected):
        lib = ossl.load_kssl(ossl_dir, cache_dir=tmp_path / "c", verbose=False)
    assert lib.properties["IC"].isna().all() and lib.properties["EOC"].isna().all()


# ------------------------------------------------------------------------------- real inputs
@pytest.mark.real
def test_official_sample_inputs_resampled(real_dir):
    path = real_dir / "ossl_sample_inputs" / "sample_neospectra_data.csv"
    raw = pd.read_csv(path)
    nm = raw.columns[1:].astype(float).to_numpy()
    assert nm.size == 257
    lib = ossl.read_ossl_sample_neospectra(path)
    assert lib.X.shape == (10, 601) and lib.quantity == "reflectance"
    inner = (NIR_AXIS_NM > nm.min()) & (NIR_AXIS_NM < nm.max())
    ref = np.interp(NIR_AXIS_NM[inner], nm[::-1], raw.iloc[3, 1:].to_numpy(float)[::-1]) / 100
    np.testing.assert_allclose(lib.X[3, inner], ref, rtol=1e-6)
    assert 0.2 < lib.X.min() and lib.X.max() < 0.8          # fractions, not percent
    path = real_dir / "ossl_sample_inputs" / "sample_mir_data.csv"
    raw = pd.read_csv(path)
    cm = raw.columns[1:].astype(float).to_numpy()
    assert cm.size == 1765 and cm[0] > cm[-1]
    lib = ossl.read_ossl_sample_mir(path)
    assert lib.X.shape == (20, 1701)
    ref = np.interp(MIR_AXIS_CM1, cm[::-1], raw.iloc[7, 1:].to_numpy(float)[::-1])
    np.testing.assert_allclose(lib.X[7], ref, rtol=1e-6)


@pytest.mark.real
def test_neospectra_to_kssl_uuid_join_on_real_files(real_dir):
    """md5('KSSL.SSL' + layer id) of Neospectra samples finds their rows among 500 real KSSL spectra."""
    site = pd.read_csv(real_dir / "neospectra_tables" / "neospectra_soilsite_v1.2.csv",
                       dtype={"id.layer_local_c": str})
    toy = pd.read_csv(real_dir / "kssl_mir_toy" / "toy_kssl_mir.csv.gz", usecols=["id"])
    uuids = {ossl.kssl_layer_uuid(x) for x in site["id.layer_local_c"]}
    assert len(uuids & set(toy["id"])) == 19
    assert ossl.kssl_layer_uuid("37268") == hashlib.md5(b"KSSL.SSL37268").hexdigest()


def test_impossible_lab_values_are_named(tmp_path, ossl_dir):
    """pH 20, TC -1, clay -5 and CEC -3 in a test set's lab.csv: an error naming the values and samples; in an OSSL
    soillab table: those values set missing, a warning naming them (the other properties of the rows kept)."""
    _write_test_dir(tmp_path / "t")
    lab = pd.read_csv(tmp_path / "t" / "lab.csv")
    lab.loc[0, "pH"], lab.loc[1, "TC"], lab.loc[2, "clay"] = 20.0, -1.0, -5.0
    lab.to_csv(tmp_path / "t" / "lab.csv", index=False)
    with pytest.raises(ValueError, match=r"lab.csv: 3 value\(s\) no laboratory can report: TC -1 \(napt1\), "
                                         r"pH 20 \(napt0\), clay -5 \(napt2\); correct them"):
        ossl.load_test_set(tmp_path / "t")
    raw = pd.read_csv(ossl_dir / "ossl_soillab_L0_v1.2.csv.gz")
    raw.loc[0, "ph.h2o_usda.a268_index"], raw.loc[1, "cec_usda.a723_cmolc.kg"] = 20.0, -3.0
    raw.to_csv(tmp_path / "lab.csv", index=False)
    with pytest.warns(UserWarning, match=r"lab.csv: 2 value\(s\) no laboratory can report set missing: pH 20"):
        got = ossl.read_soillab(tmp_path / "lab.csv")
    want = ossl.read_soillab(ossl_dir / "ossl_soillab_L0_v1.2.csv.gz")
    assert np.isnan(got["pH"].iloc[0]) and np.isnan(got["CEC"].iloc[1])
    pd.testing.assert_series_equal(got["TC"], want["TC"])
