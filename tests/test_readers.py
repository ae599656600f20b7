"""soilnb.data.readers: real OPUS/ASD/OSSL sample files (fetched into data/real; skipped when they cannot be got) checked
against a second route, and small synthetic tables and binary files written here."""
import struct
import types
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import MIR_AXIS_CM1, NIR_AXIS_NM, PROPERTIES
from soilnb.data import ossl
from soilnb.data.readers import (
    ReadResult,
    detect_unit,
    read_asd,
    read_spectra,
)
from soilnb.data.readers import opus as opus_module
from soilnb.data.realism import load_real_kssl_toy, load_real_nirsoil
from soilnb.spectra.grid import Resample
from soilnb.spectra.units import reflectance_rows

SAMPLES = "ossl_sample_inputs"


def read(*paths, **kw):
    return read_spectra(list(paths), progress=False, **kw)


# ------------------------------------------------------------------------- synthetic spectra
def mir_abs(axis, k=0):
    """MIR absorbance with the O-H band at 3400 cm-1 a maximum (as check_orientation expects)."""
    axis = np.asarray(axis, float)
    return 0.5 + 0.1 * k + 0.8 * np.exp(-((axis - 3400) / 150) ** 2) + 1e-5 * axis


def nir_ref(axis, k=0):
    """NIR reflectance (fraction) with the 1.9 um water band a minimum."""
    axis = np.asarray(axis, float)
    return 0.4 + 0.02 * k - 0.15 * np.exp(-((axis - 1920) / 40) ** 2) + 1e-5 * (axis - 1000)


def wide(path, axis, rows, names=None, ids=None, **other):
    """Write a wide CSV: optional other columns, then one column per channel (named by ``names``)."""
    names = [f"{a:g}" for a in axis] if names is None else names
    df = pd.DataFrame(np.asarray(rows), columns=names)
    front = pd.DataFrame(({"sample_id": ids} if ids is not None else {}) | other)
    pd.concat([front, df], axis=1).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------------------ Bruker OPUS
@pytest.mark.real
def test_opus_absorbance_block_equals_the_single_channel_ratio(real_dir):
    """AB block as read == log10(ScRf/ScSm) computed here from brukeropus's raw single-channel blocks."""
    brukeropus = pytest.importorskip("brukeropus")
    d = real_dir / SAMPLES
    res = read(d / "235157XS01.0", d / "icr056141.0")
    assert not res.problems
    assert len(res.libraries) == 2           # a VERTEX 70 and an Alpha: two native grids, two libraries
    expect = {"235157XS01": (3578, 599.766285, 7498.042823, "Bruker VERTEX 70"),
              "icr056141": (1715, 499.815131, 3996.480987, "Bruker Alpha")}
    for lib in res.libraries.values():
        sid = lib.sample_id[0]
        n, lo, hi, instrument = expect[sid]
        assert (lib.unit, lib.quantity, lib.X.shape) == ("cm-1", "absorbance", (1, n))
        assert lib.axis[0] == pytest.approx(lo, abs=1e-5) and lib.axis[-1] == pytest.approx(hi, abs=1e-5)
        assert np.all(np.diff(lib.axis) > 0)                        # files store it decreasing
        assert lib.instrument[0] == instrument
        assert lib.meta["source"][0] == "OPUS AB block (absorbance)"
        file = lib.meta["source_file"][0]
        assert lib.meta["files"][file]["block"] == "OPUS AB block (absorbance)"
        raw = brukeropus.read_opus(file)
        sm_x, sm, rf_x, rf = raw.sm.x, raw.sm.y, raw.rf.x, raw.rf.y
        ratio = np.log10(np.interp(sm_x[::-1], rf_x[::-1], rf[::-1]) / sm[::-1])   # increasing order
        np.testing.assert_allclose(lib.X[0], ratio, atol=1e-6)
    kssl = next(lib for lib in res.libraries.values() if lib.sample_id[0] == "235157XS01")
    # a few absorbance values of the KSSL file, at 599.8, 1712.5 and 7498.0 cm-1
    np.testing.assert_allclose(kssl.X[0, [0, 577, -1]], [1.411342, 1.121875, -0.152799], atol=1e-5)


@pytest.mark.real
def test_opus_grid_is_the_grid_of_the_ossl_mir_export(real_dir):
    """The KSSL file's grid over 600-4000 cm-1 is the 1,765 columns of sample_mir_data.csv (same instrument).

    235157XS01 itself is not in sample_mir_data.csv (its ids are 1..20), so values cannot be compared.
    """
    pytest.importorskip("brukeropus")
    d = real_dir / SAMPLES
    lib = read(d / "235157XS01.0").library
    table = pd.read_csv(d / "sample_mir_data.csv", dtype={"sample_id": str})
    assert "235157XS01" not in set(table["sample_id"]) and "235157" not in set(table["sample_id"])
    cols = np.sort(table.columns[1:].astype(float).to_numpy())
    inside = lib.axis[(lib.axis > cols[0] - 0.01) & (lib.axis < cols[-1] + 0.01)]
    assert inside.size == cols.size == 1765
    np.testing.assert_allclose(inside, cols, atol=1e-3)      # the CSV rounds positions to 3-4 decimals


def fake_brukeropus(real, keep, replace=None):
    """A stand-in for the brukeropus module whose read_opus hides blocks of the real file."""
    def read_opus(path):
        o = real.read_opus(path)
        o.data_keys = [k for k in o.data_keys if k in keep]
        for k, v in (replace or {}).items():
            setattr(o, k, v)
            o.data_keys.append(k)
        return o
    return types.SimpleNamespace(read_opus=read_opus)


@pytest.mark.real
def test_opus_without_ab_block_is_converted_and_says_so(real_dir, monkeypatch):
    """Hiding the AB block, the reader's ScSm/ScRf route and R-block route give the file's own AB values."""
    brukeropus = pytest.importorskip("brukeropus")
    path = real_dir / SAMPLES / "235157XS01.0"
    ab = read(path).library.X[0]
    monkeypatch.setattr(opus_module, "brukeropus", fake_brukeropus(brukeropus, keep=("sm", "rf")))
    res = read(path)
    np.testing.assert_allclose(res.library.X[0], ab, atol=1e-6)
    assert "ScRf/ScSm" in res.library.meta["source"][0]
    assert any("no AB, R or TR block" in n.message for n in res.notes)
    # an R block in percent (as OPUS may store it): 100 * 10^-A, converted back with log10(1/R); the Alpha
    # file, as the KSSL one has A < 0 above 4000 cm-1 (R > 100 %, refused by the percent rule)
    path = real_dir / SAMPLES / "icr056141.0"
    monkeypatch.setattr(opus_module, "brukeropus", brukeropus)
    ab = read(path).library.X[0]
    a = brukeropus.read_opus(str(path)).a
    r_block = types.SimpleNamespace(x=a.x, y=100 * 10 ** (-a.y), params=a.params)
    monkeypatch.setattr(opus_module, "brukeropus", fake_brukeropus(brukeropus, keep=(), replace={"r": r_block}))
    res = read(path)
    np.testing.assert_allclose(res.library.X[0], ab, atol=1e-5)
    assert res.library.meta["source"][0].startswith("log10(1/R)")


# -------------------------------------------------------------------------------------- ASD
@pytest.mark.real
def test_asd_reflectance_is_target_over_white_reference(real_dir):
    d = real_dir / SAMPLES
    res = read(d / "101453MD01.asd", d / "235157MD01.asd")
    assert not res.problems
    lib = res.library
    assert (lib.unit, lib.quantity, lib.X.shape) == ("nm", "reflectance", (2, 2151))
    np.testing.assert_array_equal(lib.axis, np.arange(350.0, 2501.0))
    assert lib.X.min() > 0.05 and lib.X.max() < 0.7                # within (0, 1.2), a plausible soil
    assert list(lib.sample_id) == ["101453MD01", "235157MD01"]
    assert set(lib.instrument) == {"ASD FieldSpec FR #4139", "ASD FieldSpec FR #4161"}
    for i, name in enumerate(("101453MD01.asd", "235157MD01.asd")):
        # second route: the two arrays at the offsets of the format (header 484 bytes, doubles, then the
        # 20-byte white-reference header with an empty description), divided here
        buf = (d / name).read_bytes()
        target = np.frombuffer(buf, "<f8", 2151, 484)
        white = np.frombuffer(buf, "<f8", 2151, 484 + 8 * 2151 + 20)
        np.testing.assert_allclose(lib.X[i], target / white, rtol=1e-6)
        # two dates stored in different encodings (C struct tm, OLE days) agree: the header is read right
        m = lib.meta["files"][str(d / name)]
        gap = datetime.fromisoformat(m["saved"]) - datetime.fromisoformat(m["reference_taken"])
        assert 0 <= gap.total_seconds() < 3600
        assert m["splice_nm"] == [1000.0, 1830.0] and m["data_type"] == "raw"
        # no detector step at the splices beyond the spectrum's own slope
        for s in (1000, 1830):
            assert abs(lib.X[i, s - 350 + 1] - lib.X[i, s - 350]) < 0.01


@pytest.mark.real
def test_asd_arrays_agree_with_pyasdreader(real_dir, monkeypatch, tmp_path):
    """Optional third route: pyASDReader (MIT) parses the same raw arrays (it writes a log file into the
    working directory when imported, hence not a dependency)."""
    monkeypatch.chdir(tmp_path)
    pyasd = pytest.importorskip("pyASDReader")
    from soilnb.data.readers.asd import read_asd_arrays

    for name in ("101453MD01.asd", "235157MD01.asd"):
        path = real_dir / SAMPLES / name
        theirs = pyasd.ASDFile(str(path))
        _, wl, target, white = read_asd_arrays(path)
        np.testing.assert_array_equal(np.asarray(theirs.digitalNumber), target)
        np.testing.assert_array_equal(np.asarray(theirs.referenceData.spectra), white)
        np.testing.assert_array_equal(theirs.wavelengths, wl)


@pytest.mark.real
def test_asd_joins_the_ossl_visnir_samples_on_one_grid(real_dir):
    """ASD files and sample_visnir_data.csv share the 350-2500 nm, 1 nm grid: one library of 22 rows.

    The ASD samples are not among the CSV's 20 (ids 1..20): only plausibility is compared.
    """
    d = real_dir / SAMPLES
    lib = read(d / "101453MD01.asd", d / "235157MD01.asd", d / "sample_visnir_data.csv").library
    assert lib.X.shape == (22, 2151)
    asd, csv = lib.X[:2], lib.X[2:]
    assert 0.0 < csv.min() and csv.max() < 1.0
    for a in asd:
        assert np.abs(csv - a).mean(axis=1).min() < 0.15        # close to some real vis-NIR soil


# --------------------------------------------------------------------------- OSSL samples
@pytest.mark.real
def test_ossl_sample_csvs_native_match_the_existing_readers(real_dir):
    """Read natively here, then resampled onto the paper grids == soilnb.data.ossl's sample readers."""
    d = real_dir / SAMPLES
    mir = read(d / "sample_mir_data.csv").library
    assert (mir.unit, mir.quantity, mir.X.shape) == ("cm-1", "absorbance", (20, 1765))
    ref = ossl.read_ossl_sample_mir(d / "sample_mir_data.csv")
    np.testing.assert_allclose(Resample(mir.axis, MIR_AXIS_CM1).fit_transform(mir.X), ref.X, atol=1e-5)
    neo = read(d / "sample_neospectra_data.csv")
    lib = neo.library
    assert (lib.unit, lib.quantity, lib.X.shape) == ("nm", "reflectance", (10, 257))
    assert lib.meta["percent"].all() and lib.X.max() < 1.0           # percent, divided by 100 per spectrum
    assert any("10 of 10 spectra in percent" in n.message for n in neo.notes)
    ref = ossl.read_ossl_sample_neospectra(d / "sample_neospectra_data.csv")
    np.testing.assert_allclose(Resample(lib.axis, NIR_AXIS_NM, tol=0.01).fit_transform(lib.X), ref.X, atol=1e-5)


@pytest.mark.real
def test_the_sample_folder_at_once(real_dir):
    pytest.importorskip("brukeropus")
    res = read_spectra(real_dir / SAMPLES, progress=False)
    assert isinstance(res, ReadResult) and not res.problems
    assert len(res.files) == 7
    shapes = sorted(lib.X.shape for lib in res.libraries.values())
    assert shapes == [(1, 1715), (1, 3578), (10, 257), (20, 1765), (22, 2151)]
    with pytest.raises(ValueError, match="5 libraries"):
        res.library


# ------------------------------------------------------------------------- synthetic tables
MIR_AXIS = np.arange(600.0, 4001.0, 4.0)
NIR_AXIS = np.arange(350.0, 2501.0, 5.0)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("style", ["bare", "prefixed"])
@pytest.mark.parametrize("kind", ["mir", "nir"])
def test_table_unit_orientation_and_quantity_detected(tmp_path, kind, style, descending):
    axis = MIR_AXIS if kind == "mir" else NIR_AXIS
    rows = [mir_abs(axis, k) if kind == "mir" else 100 * nir_ref(axis, k) for k in range(3)]  # NIR in percent
    if descending:
        axis, rows = axis[::-1], [r[::-1] for r in rows]
    prefix = {"mir": "wn_", "nir": "wl_"}[kind] if style == "prefixed" else ""
    path = wide(tmp_path / "t.csv", axis, rows, names=[f"{prefix}{a:g}" for a in axis], ids=["a", "b", "c"])
    lib = read(path).library
    unit, quantity = ("cm-1", "absorbance") if kind == "mir" else ("nm", "reflectance")
    assert (lib.unit, lib.quantity) == (unit, quantity)
    assert np.all(np.diff(lib.axis) > 0) and lib.axis[0] == axis.min()
    expect = mir_abs(lib.axis, 2) if kind == "mir" else nir_ref(lib.axis, 2)
    np.testing.assert_allclose(lib.X[2], expect, rtol=1e-5)         # values follow their positions
    assert list(lib.sample_id) == ["a", "b", "c"]


def test_ossl_style_names_and_unit_rules(tmp_path):
    axis = np.arange(600.0, 4001.0, 2.0)
    path = wide(tmp_path / "m.csv", axis, [mir_abs(axis)], names=[f"scan_mir.{a:g}_abs" for a in axis],
                **{"id.sample_local_c": ["s1"]})
    res = read(path)
    assert res.library.unit == "cm-1" and res.library.sample_id[0] == "s1"
    assert any("column names" in n.message for n in res.notes)
    # positions alone: 350-2600 is nm; a maximum above 2600 is cm-1; unit= wins; nonsense is refused
    assert detect_unit(NIR_AXIS)[0] == "nm" and detect_unit(MIR_AXIS)[0] == "cm-1"
    assert detect_unit(np.arange(600.0, 2500.0), unit="cm-1") == ("cm-1", "given")
    with pytest.raises(ValueError, match="pass unit="):
        detect_unit([10.0, 20.0, 30.0])


def test_quantity_given_when_values_cannot_tell(tmp_path):
    axis = np.arange(1000.0, 1400.0, 10.0)          # misses the water band; values 0.3-0.5 fit both
    path = wide(tmp_path / "q.csv", axis, [0.3 + 1e-4 * (axis - 1000)], ids=["x"])
    res = read(path)
    assert not res.libraries and "pass quantity=" in res.problems[0].message
    assert read(path, quantity="reflectance").library.quantity == "reflectance"


def test_declared_quantity_against_the_band_shape_is_refused(tmp_path):
    path = wide(tmp_path / "r.csv", NIR_AXIS, [nir_ref(NIR_AXIS, k) for k in range(3)], ids=list("abc"))
    res = read(path, quantity="absorbance")
    assert not res.libraries and "look like reflectance" in res.problems[0].message


def test_ids_properties_and_extra_columns(tmp_path):
    path = wide(tmp_path / "p.csv", NIR_AXIS, [nir_ref(NIR_AXIS, k) for k in range(2)],
                **{"ID.sample_local_c": ["s1", "s2"], "TC": [2.0, 3.0], "caco3_usda.a54_w.pct": [10.0, 0.0],
                   "clay": [20.0, 30.0], "depth_cm": [10, 20], "site": ["north", "south"]})
    lib = read(path).library
    assert list(lib.sample_id) == ["s1", "s2"]
    np.testing.assert_allclose(lib.properties["TC"], [2.0, 3.0])
    np.testing.assert_allclose(lib.properties["IC"], [10.0, 0.0])
    np.testing.assert_allclose(lib.properties["EOC"], [2.0 - 1.2, 3.0])     # EOC = TC - 0.12 IC
    assert lib.properties["pH"].isna().all() and list(lib.properties.columns) == list(PROPERTIES)
    extra = pd.DataFrame(lib.meta["extra"])
    assert list(extra.columns) == ["depth_cm", "site"] and list(extra["site"]) == ["north", "south"]
    sub = lib.subset([1])                                                   # row-aligned meta follows
    assert pd.DataFrame(sub.meta["extra"])["site"].tolist() == ["south"]


def test_no_id_column_gives_row_ids(tmp_path):
    res = read(wide(tmp_path / "noid.csv", NIR_AXIS, [nir_ref(NIR_AXIS)]))
    assert res.library.sample_id[0] == "noid#1"
    assert any("no id column" in n.message for n in res.notes)


def test_percent_or_fraction_decided_per_spectrum(tmp_path):
    base = nir_ref(NIR_AXIS)
    over = 100 * base * (1.03 / base.max())          # a percent spectrum peaking at 103 %
    rows = [base, 100 * base, over, 180 * base / base.max(), base.copy(), base - 0.5]
    df = pd.DataFrame(np.asarray(rows), columns=[f"{a:g}" for a in NIR_AXIS]).astype(object)
    df.iloc[4, 10] = "n/a"                           # text in a spectral cell
    df.insert(0, "sample_id", [f"s{i}" for i in range(6)])
    df.to_csv(tmp_path / "mix.csv", index=False)
    res = read(tmp_path / "mix.csv")
    lib = res.library
    assert list(lib.sample_id) == ["s0", "s1", "s2"]
    np.testing.assert_allclose(lib.X[0], lib.X[1], rtol=1e-6)           # fraction and percent agree
    assert lib.meta["percent"].tolist() == [False, True, True]
    assert lib.X[2].max() == pytest.approx(1.03, rel=1e-6)              # above 100 %: kept, not clipped
    rows_named = {p.row: p.message for p in res.problems}
    assert set(rows_named) == {4, 5, 6}                                 # 1-based data rows
    assert "neither a fraction" in rows_named[4] and "non-numeric" in rows_named[5]
    assert "must be > 0" in rows_named[6]
    assert any("exceed 100 %" in n.message for n in res.notes)


def test_reflectance_rows_rule():
    r = reflectance_rows([[0.2, 1.4], [1.6, 40.0], [90.0, 120.0], [50.0, 151.0], [0.0, 0.5]])
    assert r.percent.tolist() == [False, True, True, False, False]
    assert sorted(r.rejected) == [3, 4] and r.over_100.tolist() == [False, False, True, False, False]
    np.testing.assert_allclose(r.X[2], [0.9, 1.2])
    assert r.minority.tolist() == [True, False, False, False, False] and list(r.named) == [0]


def test_a_bad_file_among_good_ones_is_reported_not_fatal(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    wide(d / "good.csv", NIR_AXIS, [nir_ref(NIR_AXIS, k) for k in range(2)], ids=["g1", "g2"])
    (d / "notes.txt").write_text("These are field notes.\nNothing to see here, no spectra.\n")
    (d / "broken.0").write_bytes(b"not an OPUS file at all")
    (d / "cut.asd").write_bytes(b"as7" + bytes(200))
    (d / "empty.csv").write_text("sample_id," + ",".join(f"{a:g}" for a in NIR_AXIS) + "\n")
    (d / "README.md").write_text("# folder\n")
    res = read_spectra(d, progress=False)
    assert list(res.library.sample_id) == ["g1", "g2"]
    assert res.files == [str(d / "good.csv")]
    bad = {p.file.rsplit("/", 1)[-1]: p.message for p in res.problems}
    assert set(bad) == {"notes.txt", "broken.0", "cut.asd", "empty.csv"}
    assert "no spectral columns" in bad["notes.txt"] and "not an OPUS file" in bad["broken.0"]
    assert "not an ASD file" in bad["cut.asd"] and "no rows" in bad["empty.csv"]
    assert any(n.file.endswith("README.md") and "skipped" in n.message for n in res.notes)
    issues = res.issues()
    assert set(issues["kind"]) == {"problem", "note"} and (issues["kind"] == "problem").sum() == 4
    missing = read(tmp_path / "nope.csv", d / "good.csv")
    assert "no such file" in missing.problems[0].message and missing.library.n_scans == 2


def test_same_grid_groups_different_grid_splits(tmp_path):
    a = wide(tmp_path / "a.csv", NIR_AXIS, [nir_ref(NIR_AXIS)], ids=["1"])
    b = wide(tmp_path / "b.csv", NIR_AXIS[::-1], [nir_ref(NIR_AXIS[::-1], 1)], ids=["1"])   # same grid, reversed
    c = wide(tmp_path / "c.csv", MIR_AXIS, [mir_abs(MIR_AXIS)], ids=["m"])
    res = read(a, b, c)
    assert len(res.libraries) == 2
    nir = next(lib for lib in res.libraries.values() if lib.unit == "nm")
    assert nir.X.shape == (2, NIR_AXIS.size) and nir.scan_id.tolist() == [0, 1]
    assert any("appear in several files" in n.message for n in res.notes)   # id "1" in a.csv and b.csv


def test_parquet_table(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame(np.asarray([mir_abs(MIR_AXIS, k) for k in range(2)]), columns=[f"{a:g}" for a in MIR_AXIS])
    df.insert(0, "id", ["p1", "p2"])
    df.to_parquet(tmp_path / "t.parquet")
    lib = read(tmp_path / "t.parquet").library
    assert (lib.unit, lib.quantity, list(lib.sample_id)) == ("cm-1", "absorbance", ["p1", "p2"])


def test_full_ossl_mir_table_goes_through_read_mir_table(tmp_path):
    cols = [f"scan_mir.{int(w)}_abs" for w in MIR_AXIS_CM1]
    df = pd.DataFrame(np.asarray([mir_abs(MIR_AXIS_CM1, k) for k in range(3)]), columns=cols)
    df.insert(0, "id.layer_uuid_txt", ["u1", "u2", "u3"])
    df.to_csv(tmp_path / "ossl_mir_L0_v1.2.csv", index=False)
    res = read(tmp_path / "ossl_mir_L0_v1.2.csv", use_cache=False)
    lib = res.library
    assert lib.X.shape == (3, MIR_AXIS_CM1.size) and list(lib.sample_id) == ["u1", "u2", "u3"]
    assert "read_mir_table" in lib.meta["source"][0]


# ------------------------------------------------------------------------- synthetic ASD files
def asd_bytes(target, white=None, version=b"as7", data_type=0, fmt=0, start=350.0, step=1.0):
    """A minimal ASD file: the header fields the reader uses, the spectrum, the white reference."""
    dtype = {0: "<f4", 2: "<f8"}[fmt]
    head = bytearray(484)
    head[0:3] = version
    struct.pack_into("<9h", head, 160, 0, 30, 10, 5, 2, 120, 0, 0, 0)     # 2020-03-05 10:30:00
    head[186], head[199] = data_type, fmt
    struct.pack_into("<ff", head, 191, start, step)
    struct.pack_into("<H", head, 204, len(target))
    body = np.asarray(target, dtype).tobytes()
    flag = 1 if white is not None else 0
    ref = struct.pack("<h2dH", flag, 43895.4, 43895.44, 0)
    ref += np.asarray(white if white is not None else np.zeros(len(target)), dtype).tobytes()
    return bytes(head) + body + ref


def test_asd_float32_with_reference_and_raw_without(tmp_path):
    wl = np.arange(350.0, 2501.0, 1.0)
    white = 1000.0 + wl
    target = white * nir_ref(wl)
    (tmp_path / "ok.asd").write_bytes(asd_bytes(target, white))
    (b,) = read_asd(tmp_path / "ok.asd")
    np.testing.assert_allclose(b.X[0], nir_ref(wl), rtol=1e-6)
    assert b.meta["saved"] == "2020-03-05T10:30:00" and b.meta["reference_taken"].startswith("2020-03-05")
    (tmp_path / "raw.asd").write_bytes(asd_bytes(target, None))
    res = read(tmp_path / "ok.asd", tmp_path / "raw.asd")
    assert res.library.n_scans == 1
    assert "without a white reference" in res.problems[0].message


def test_fraction_rows_among_percent_rows_are_named(tmp_path):
    """Per-spectrum decision, but a fraction-looking row among percent rows is named (it may be a dark percent one)."""
    import pandas as pd

    from soilnb.data import read_spectra

    nm = np.arange(1350.0, 2551.0, 10.0)
    base = 40 + 10 * np.sin(nm / 200.0)
    X = np.vstack([base, base * 1.1, base * 0.9, base / 100 * 1.2])   # three in percent, one as a fraction
    pd.DataFrame(X, columns=[f"{w:g}" for w in nm]).assign(sample_id=list("abcd")).to_csv(tmp_path / "nir.csv",
                                                                                          index=False)
    res = read_spectra(tmp_path / "nir.csv", quantity="reflectance", progress=False)
    notes = " | ".join(i.message for i in res.notes)
    assert "3 of 4 spectra in percent" in notes
    assert "1 spectra read as fractions among 3 in percent (rows 4)" in notes


# ------------------------------------------------- per-spectrum percent and band shape (issue 13, item 3)
BAND_SAYS_R = "band shape looks like reflectance, file says absorbance (the water/O-H band at 3300-3500 cm-1 is a minimum)"
BAND_SAYS_A = "band shape looks like absorbance, file says reflectance (the water/O-H band at 1900-1950 nm is a maximum)"


def mir_absorbance_60(request, source):
    """60 MIR absorbance spectra: the first 60 real KSSL toy spectra, or the synthetic fixture."""
    if source == "synthetic":
        return np.vstack([mir_abs(MIR_AXIS) + 0.01 * k for k in range(60)]), MIR_AXIS
    X, axis = load_real_kssl_toy(request.getfixturevalue("real_dir"))
    return X[:60], axis


def nir_reflectance_60(request, source):
    """60 NIR reflectance fractions: 10**-A of the first 60 real NIRsoil spectra, or the synthetic fixture."""
    if source == "synthetic":
        return np.vstack([nir_ref(NIR_AXIS) + 0.002 * k for k in range(60)]), NIR_AXIS
    pytest.importorskip("rdata", reason="reading the real NIRsoil.RData needs the PyPI package rdata")
    A, nm = load_real_nirsoil(request.getfixturevalue("real_dir"))
    return 10.0 ** -A[:60], nm


@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_one_percent_row_among_fractions_is_the_only_one_divided_and_named(tmp_path, request, source):
    R, nm = nir_reflectance_60(request, source)
    X = R.copy()
    X[17] *= 100                                                   # one spectrum exported in percent
    res = read(wide(tmp_path / "nir.csv", nm, X, ids=[f"s{i}" for i in range(60)]), quantity="reflectance")
    lib = res.library
    assert np.flatnonzero(lib.meta["percent"]).tolist() == [17]
    np.testing.assert_allclose(lib.X, R, rtol=1e-6)                # only that row divided by 100 (float32)
    named = [n.message for n in res.notes if "read as percent among" in n.message]
    assert named == ["1 spectra read as percent among 59 read as fractions (rows 18): only these divided by 100"]
    assert not res.problems and lib.meta["quality_ok"].all()


@pytest.mark.parametrize("wrong", [np.arange(0, 60, 3), np.arange(1, 60, 2)], ids=["20of60", "30of60"])
@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_mir_reflectance_rows_among_absorbance_are_flagged(tmp_path, request, source, wrong):
    A, cm1 = mir_absorbance_60(request, source)
    X = A.copy()
    X[wrong] = 10.0 ** -A[wrong]                                   # these rows given as reflectance
    X[58] = 0.8                                                    # a flat row: no band shape, not judged
    res = read(wide(tmp_path / "mir.csv", cm1, X, ids=[f"s{i}" for i in range(60)]), quantity="absorbance")
    lib = res.library                                              # read, not refused as a whole file
    assert not res.problems and lib.n_scans == 60
    q = lib.meta["quality"]
    assert [i for i in range(60) if BAND_SAYS_R in q[i]] == wrong.tolist()
    assert all(q[i] == BAND_SAYS_R for i in wrong)
    assert q[58].startswith("flat:") and BAND_SAYS_R not in q[58]
    assert np.flatnonzero(~lib.meta["quality_ok"]).tolist() == sorted([*wrong, 58])
    first = ", ".join(str(i + 1) for i in wrong[:10])
    assert [n.message for n in res.notes if "band shape" in n.message] == [
        f"{wrong.size} of 60 spectra: {BAND_SAYS_R} (rows {first} (+{wrong.size - 10} more)): kept, flagged in "
        "meta['quality']"]


@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_nir_absorbance_rows_among_reflectance_are_flagged(tmp_path, request, source):
    R, nm = nir_reflectance_60(request, source)
    wrong = np.arange(2, 60, 3)                                    # 20 rows given as absorbance log10(1/R)
    X = R.copy()
    X[wrong] = np.log10(1.0 / R[wrong])
    res = read(wide(tmp_path / "nir.csv", nm, X, ids=[f"s{i}" for i in range(60)]), quantity="reflectance")
    lib = res.library
    assert not res.problems and lib.n_scans == 60 and not lib.meta["percent"].any()
    assert np.flatnonzero(~lib.meta["quality_ok"]).tolist() == wrong.tolist()
    assert set(lib.meta["quality"][wrong]) == {BAND_SAYS_A} and set(np.delete(lib.meta["quality"], wrong)) == {""}
    assert sum("20 of 60 spectra: " + BAND_SAYS_A in n.message for n in res.notes) == 1


@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_reflectance_slightly_over_100_percent_is_kept(tmp_path, request, source):
    if source == "real":                                           # 10 real NeoSpectra scans in percent
        df = pd.read_csv(request.getfixturevalue("real_dir") / SAMPLES / "sample_neospectra_data.csv")
        ids, X, nm = df["sample_id"].astype(str), df.drop(columns="sample_id").to_numpy(float), df.columns[1:]
        nm = nm.astype(float)
    else:
        nm = NIR_AXIS
        X = np.vstack([100 * nir_ref(nm, k) for k in range(10)])
        ids = [f"s{i}" for i in range(10)]
    X[3] *= 103.0 / X[3].max()                                     # a scan that outshone its white reference
    res = read(wide(tmp_path / "neo.csv", nm, X, ids=ids), quantity="reflectance")
    lib = res.library
    assert not res.problems and lib.n_scans == 10 and lib.meta["percent"].all()
    assert lib.X[3].max() == pytest.approx(1.03, rel=1e-6)         # kept above 1, not clipped or refused
    assert lib.meta["quality_ok"].all()
    assert [n.message for n in res.notes if "exceed 100 %" in n.message] == [
        "1 spectra exceed 100 % reflectance: kept above 1 (real samples can outshine the white reference)"]


def test_a_mir_table_cut_short_names_the_grid_gap(tmp_path):
    """A MIR table ending at 3800 cm-1 with values that fit absorbance and reflectance alike: the message names
    the model grid it does not cover and the missing 3800-4000 cm-1 first, then the column-name fix."""
    axis = np.arange(600.0, 3801.0, 2.0)
    path = wide(tmp_path / "cut.csv", axis, [0.3 + 1e-5 * (axis - 600)], ids=["x"])
    msg = read(path).problems[0].message
    assert "600-3800 cm-1 does not cover the model grid (600-4000 cm-1; missing 3800-4000)" in msg
    assert "<position>_abs" in msg and msg.index("model grid") < msg.index("absorbance from reflectance")


def test_the_readers_know_the_ossl_column_names_the_ossl_readers_use():
    """The generic readers tell an OSSL table by soilnb.core.vocab's copies of the OSSL column names (so that
    reading an OPUS file does not import the OSSL stack); they must stay those of soilnb.data.ossl.format."""
    from soilnb.core import vocab

    assert (vocab.OSSL_LAYER_COL, vocab.OSSL_SAMPLE_COL) == (ossl.LAYER_COL, ossl.SAMPLE_COL)
    assert (vocab.OSSL_MIR_RE.pattern, vocab.OSSL_NIR_RE.pattern) == (ossl.MIR_RE.pattern, ossl.NIR_RE.pattern)
