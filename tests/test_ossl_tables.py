"""soilnb.data.ossl.read_mir_table / read_nir_table on files written here: the values against a reference parsed
with the csv module, the binary cache entry and its content key, and tables holding the wrong quantity."""
import csv
import gzip
import hashlib
import io
import mmap
import os
import re
import threading

import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import NIR_AXIS_NM
from soilnb.data import ossl
from soilnb.data.ossl import bigtable, tablefile
from soilnb.data.readers import read_spectra

AXIS = np.arange(3000.0, 4001.0, 10.0)         # covers the O-H band (3300-3500) and its 3850-3950 shoulder
COLS = [f"scan_mir.{int(w)}_abs" for w in AXIS]
MISSING = {"", "NA"}                             # the missing-value strings these files use (pandas reads them as NaN)


def mir_abs(k):
    """Absorbance with the O-H band at 3400 cm-1 a maximum, falling towards 4000 cm-1."""
    return 0.8 + 0.05 * k + 0.6 * np.exp(-((AXIS - 3400) / 150) ** 2) - 1e-4 * (AXIS - 3000)


def hostile_table(path, newline="\n"):
    """15 rows in assorted number formats: 2 of another dataset, one with NA, one with inf, one blank line,
    a quoted id holding a comma. Returns its text."""
    rng = np.random.default_rng(7)
    fmts = ["{:.7g}", "{:.3e}", "{:.15g}", "{:g}", "{:+.6f}", "{:.9E}"]
    lines = [",".join(["dataset.code_ascii_txt", "id.layer_uuid_txt", "id.scan_local_c"] + COLS)]
    for i in range(15):
        x = mir_abs(i % 4) + rng.normal(0, 0.02, AXIS.size)
        x[::7] *= 1e-3                               # 7-digit values near 0.001 round to float32 the hard way
        cells = [rng.choice(fmts).format(v) for v in x]
        if i == 5:
            cells[3] = "NA"
        if i == 9:
            cells[40] = "inf"
        ident = '"id,7"' if i == 7 else f"u{i:02d}"
        lines.append(",".join(["AFSIS1.SSL" if i in (2, 11) else "KSSL.SSL", ident, f"{i}XS"] + cells))
        if i == 12:
            lines.append("")
    text = newline.join(lines) + newline
    path.write_bytes(text.encode())
    return text


def reference(text, dataset="KSSL.SSL"):
    """``(ids, X, dropped file rows)`` parsed with the csv module and float(), as pandas is documented to read
    it: blank lines skipped (and not counted), pandas' missing-value strings as NaN, float64 rounded to float32."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    head, ids, X, dropped = rows[0], [], [], []
    for n, r in enumerate(rows[1:], start=2):
        if r[0] != dataset:
            continue
        x = np.array([np.nan if v in MISSING else float(v) for v in r[3:]], np.float64).astype(np.float32)
        if np.isfinite(x).all():
            ids.append(r[head.index("id.layer_uuid_txt")])
            X.append(x)
        else:
            dropped.append(n)
    return np.array(ids), np.stack(X), dropped


@pytest.fixture(params=[3, 4000], ids=["3-row chunks", "one chunk"])
def chunks(request):
    return request.param


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_mir_table_equals_the_csv_module_reference(tmp_path, chunks, newline):
    path = tmp_path / "mir.csv"
    ids, X, dropped = reference(hostile_table(path, newline))
    with pytest.warns(UserWarning, match=rf"mir\.csv: dropped 2 of 13 rows holding NaN or inf: rows "
                                         rf"{dropped[0]}, {dropped[1]} \(ids u05, u09;"):
        lib = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", use_cache=False, chunksize=chunks)
    assert list(lib.sample_id) == list(ids) and "id,7" in ids
    assert lib.X.dtype == np.float32
    np.testing.assert_array_equal(lib.X.view(np.uint32), X.view(np.uint32))        # bit for bit


def test_gzip_and_decreasing_columns_equal_the_reference(tmp_path, chunks):
    text = hostile_table(tmp_path / "plain.csv")
    ids, X, _ = reference(text)
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df = df[df.columns[:3].tolist() + COLS[::-1]]                                   # 4000 -> 3000 cm-1
    (tmp_path / "dec.csv.gz").write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    with pytest.warns(UserWarning, match="dec.csv.gz: dropped 2 of 13 rows"):
        lib = ossl.read_mir_table(tmp_path / "dec.csv.gz", axis=AXIS, dataset="KSSL.SSL", use_cache=False,
                                  chunksize=chunks)
    assert list(lib.sample_id) == list(ids)
    np.testing.assert_array_equal(lib.X.view(np.uint32), X.view(np.uint32))


def test_nonfinite_rows_are_dropped_when_resampled(tmp_path):
    # on another grid every file channel is read and resampled: a row with NaN is named and dropped (it made
    # the resampling raise scikit-learn's "Input contains NaN", naming no file)
    df = pd.DataFrame([mir_abs(k) for k in range(3)], columns=COLS)
    df.iloc[1, 4] = np.nan
    df.insert(0, "id.layer_uuid_txt", ["a", "b", "c"])
    df.to_csv(tmp_path / "grid.csv", index=False)
    out = np.arange(3005.0, 3996.0, 10.0)
    with pytest.warns(UserWarning, match=r"grid\.csv: dropped 1 of 3 rows holding NaN or inf: row 3 \(id b;"):
        lib = ossl.read_mir_table(tmp_path / "grid.csv", axis=out, use_cache=False)
    expect = [np.interp(out, AXIS, mir_abs(k)) for k in (0, 2)]
    assert list(lib.sample_id) == ["a", "c"]
    np.testing.assert_allclose(lib.X, expect, rtol=1e-6)


@pytest.mark.parametrize("in_file", [False, True], ids=["memory", "table file"])
@pytest.mark.parametrize("mremap", [True, False], ids=["mremap", "no mremap"])
def test_rows_grow_past_the_estimate_and_drop_rows_in_place(tmp_path, monkeypatch, in_file, mremap):
    if not mremap:                      # as on macOS: resizing a mapping raises, the rows are mapped anew
        class NoResize(mmap.mmap):
            def resize(self, size):
                raise SystemError("mmap: resizing not available--no mremap()")
        monkeypatch.setattr(bigtable.mmap, "mmap", NoResize)
    rng = np.random.default_rng(1)
    # grown well past the first page: a shared anonymous mapping grew its range but not its memory (SIGBUS)
    parts = [rng.normal(size=(k, 7)) for k in (3, 5, 1, 8, 400, 1200)]
    parts[2][0, 3] = np.nan
    rows = bigtable._Rows(2, tmp_path / "t.part" if in_file else None)
    if in_file:
        (tmp_path / "t.part").touch()
    finite = np.concatenate([rows.append(x) for x in parts])
    everything = np.concatenate(parts).astype(np.float32)
    np.testing.assert_array_equal(finite, np.isfinite(everything).all(axis=1))
    keep = finite & (np.arange(len(everything)) % 4 != 1)
    X = rows.take(keep)
    np.testing.assert_array_equal(X, everything[keep])
    X[0, 0] = 42.0                                          # writable
    if in_file:
        np.testing.assert_array_equal(np.load(tmp_path / "t.part"), everything[keep])   # a .npy, as written


# ------------------------------------------------------------------------------ cache entry and key
def test_reload_maps_the_cached_table_and_keeps_its_meta(tmp_path, capsys, monkeypatch):
    def no_copy(lib, path):
        raise AssertionError("the rows were copied into the cache entry, not written there as they were read")
    monkeypatch.setattr(tablefile, "save_table", no_copy)
    path = tmp_path / "mir.csv"
    ids, X, _ = reference(hostile_table(path))
    with pytest.warns(UserWarning, match="dropped 2 of 13"):
        first = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c", verbose=True)
    again = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c", verbose=True)
    out = capsys.readouterr().out
    assert "computed" in out and "loaded" in out
    assert isinstance(again.X.base, np.memmap)                    # mapped, not read
    np.testing.assert_array_equal(again.X, X)
    assert list(again.sample_id) == list(ids) == list(first.sample_id)
    assert again.meta["n_dropped_nonfinite"] == 2 == first.meta["n_dropped_nonfinite"]
    again.X[0, 0] = -9.0                                          # copy-on-write: the entry stays as it was
    third = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c")
    assert third.X[0, 0] == X[0, 0]
    entry = next((tmp_path / "c").glob("ossl_mir_table-*.npy"))
    np.testing.assert_array_equal(np.load(entry), X)              # a plain .npy to any reader
    # the first read wrote the rows straight into the entry: it maps it too, and left no partial file behind
    assert isinstance(first.X.base, np.memmap)
    first.X[0, 0] = -9.0
    np.testing.assert_array_equal(np.load(entry), X)
    assert not list((tmp_path / "c").glob(".ossl_table-*"))
    assert entry.stat().st_mode == entry.with_name(entry.name + ".json").stat().st_mode   # the cache's file mode


def test_content_sha256_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\n")
    monkeypatch.setattr(bigtable, "SETTLE_S", 3600.0)            # changed "just now": it may change again unseen
    assert bigtable.content_sha256(path, tmp_path) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert not list(tmp_path.glob("file_sha256-*.json"))
    monkeypatch.setattr(bigtable, "SETTLE_S", -1.0)               # as if written long ago
    bigtable.content_sha256(path, tmp_path)
    memo = next(tmp_path.glob("file_sha256-*.json"))
    memo.write_text(memo.read_text().replace(hashlib.sha256(b"a,b\n1,2\n").hexdigest(), "f" * 64))
    assert bigtable.content_sha256(path, tmp_path) == "f" * 64   # the memo is what answered
    st = path.stat()
    path.write_bytes(b"a,b\n1,3\n")                               # same size, same mtime
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    while path.stat().st_ctime_ns == st.st_ctime_ns:            # a clock tick coarser than this test: wait it out
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert bigtable.content_sha256(path, tmp_path) == hashlib.sha256(b"a,b\n1,3\n").hexdigest()
    monkeypatch.setenv("SOILNB_CACHE", "refresh")
    memo.write_text(memo.read_text().replace(hashlib.sha256(b"a,b\n1,3\n").hexdigest(), "e" * 64))
    assert bigtable.content_sha256(path, tmp_path) == hashlib.sha256(b"a,b\n1,3\n").hexdigest()


# ------------------------------------------------------------------------------ the wrong quantity
def nir_table(path, rows):
    df = pd.DataFrame(np.asarray(rows), columns=[f"scan_nir.{int(w)}_ref" for w in NIR_AXIS_NM])
    df.insert(0, "id.sample_local_c", [f"s{i}" for i in range(len(rows))])
    df.to_csv(path, index=False)
    return path


def water(w, centre=1925.0):
    return np.exp(-0.5 * ((w - centre) / 30) ** 2)


def read(path):
    return read_spectra([path], progress=False, use_cache=False)


def test_nir_absorbance_in_reflectance_columns_is_refused(tmp_path):
    # 0.4-0.7 with the 1.9 um water band a maximum: absorbance, although every value fits a reflectance fraction
    path = nir_table(tmp_path / "nir_abs.csv", [0.4 + 0.3 * water(NIR_AXIS_NM) + 1e-6 * k for k in range(3)])
    message = (r"^nir_abs\.csv: values 0\.4\.\.0\.7 look like absorbance \(log10 1/R\), not reflectance: the "
               r"water/O-H band at 1900-1950 nm is a maximum in all 3 spectra judged \(reflectance has a minimum "
               r"there\), but scan_nir\.<nm>_ref columns hold reflectance; convert the values with R = 10\*\*-A, or "
               r"name the columns scan_nir\.<nm>_abs and read the file with soilnb\.data\.readers\.read_spectra$")
    with pytest.raises(ValueError, match=message):
        ossl.read_nir_table(path)
    assert not read(path).libraries                               # read_spectra refuses it too
    renamed = pd.read_csv(path).rename(columns=lambda c: c.replace("_ref", "_abs"))
    renamed.to_csv(tmp_path / "renamed.csv", index=False)        # the fix the message gives
    assert read(tmp_path / "renamed.csv").library.quantity == "absorbance"
    # 0.2-2.5: some rows pass for percent (maximum above 1.5), the others for fractions; all are absorbance
    path = nir_table(tmp_path / "mixed.csv", [b + 0.5 * water(NIR_AXIS_NM) for b in (0.2, 1.0, 2.0)])
    with pytest.raises(ValueError, match=r"^mixed\.csv: values 0\.2\.\.2\.5 look like absorbance \(log10 1/R\), "
                                         r"not reflectance: the water/O-H band .* is a maximum in all 3 spectra"):
        ossl.read_nir_table(path)
    assert not read(path).libraries


def test_mir_reflectance_in_absorbance_columns_is_refused(tmp_path):
    R = np.asarray([10 ** -mir_abs(k) for k in range(3)])                   # 0.03-0.2, O-H band a minimum
    df = pd.DataFrame(R, columns=COLS)
    df.insert(0, "id.layer_uuid_txt", ["a", "b", "c"])
    df.to_csv(tmp_path / "mir_ref.csv", index=False)
    with pytest.raises(ValueError, match=rf"^mir_ref\.csv: values {re.escape(f'{R.min():.3g}..{R.max():.3g}')} look "
                                         r"like reflectance, not absorbance: the water/O-H band at 3300-3500 cm-1 is "
                                         r"a minimum in all 3 spectra judged \(absorbance has a maximum there\), but "
                                         r"scan_mir\.<cm-1>_abs columns hold absorbance \(log10 1/R\); convert the "
                                         r"values with A = log10\(1/R\) \(R as a fraction\), or name the columns "
                                         r"scan_mir\.<cm-1>_ref and read the file with "
                                         r"soilnb\.data\.readers\.read_spectra$"):
        ossl.read_mir_table(tmp_path / "mir_ref.csv", axis=AXIS, cache_dir=tmp_path / "c")
    assert not [f for f in (tmp_path / "c").iterdir() if not f.name.endswith(".lock")]   # no entry, no partial file
    assert not read(tmp_path / "mir_ref.csv").libraries
    df[COLS] *= 100                                                          # reflectance in percent
    df.to_csv(tmp_path / "mir_pct.csv", index=False)
    pct = f"{100 * R.min():.3g}..{100 * R.max():.3g}"
    with pytest.raises(ValueError, match=rf"^mir_pct\.csv: values {re.escape(pct)} look like reflectance in "
                                         r"percent, not absorbance: 3 of 3 spectra reach above 5, beyond the usual "
                                         r"log10\(1/R\) range, but scan_mir.* convert the values with "
                                         r"A = log10\(100/R\), or name"):
        ossl.read_mir_table(tmp_path / "mir_pct.csv", axis=AXIS, use_cache=False)
    assert not read(tmp_path / "mir_pct.csv").libraries


def test_a_few_odd_spectra_do_not_refuse_a_table(tmp_path):
    # the rule of read_spectra: refused only when every spectrum judged has the other shape
    rows = [mir_abs(k) for k in range(3)] + [10 ** -mir_abs(0)]
    df = pd.DataFrame(rows, columns=COLS)
    df.insert(0, "id.layer_uuid_txt", list("abcd"))
    df.to_csv(tmp_path / "odd.csv", index=False)
    lib = ossl.read_mir_table(tmp_path / "odd.csv", axis=AXIS, use_cache=False)
    np.testing.assert_allclose(lib.X, np.asarray(rows), rtol=1e-6)
    # an axis that misses the band is not judged by shape
    far = np.arange(3000.0, 3201.0, 10.0)
    lib = ossl.read_mir_table(tmp_path / "odd.csv", axis=far, use_cache=False)
    np.testing.assert_allclose(lib.X, np.asarray(rows)[:, :far.size], rtol=1e-6)


def test_table_files_of_gone_processes_are_removed(tmp_path):
    """A run killed while reading leaves its table file; the next read removes the files whose writer is gone."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f".ossl_table-{int(gone.stdout)}-abc.part"
    orphan.write_bytes(b"x" * 100)
    mine = tablefile.new_table_file(tmp_path)
    assert not orphan.exists() and mine.exists() and mine.name.startswith(f".ossl_table-{os.getpid()}-")
    assert tablefile.new_table_file(tmp_path) is not None and mine.exists()      # a live process's file is kept


def test_rows_moved_down_over_themselves_by_one_memmove():
    X = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    expected = X.copy()
    expected[2:2 + 30] = X[5:35].copy()             # overlapping: rows 5..34 to 2..31
    bigtable._move_rows(X, 2, 5, 30)
    np.testing.assert_array_equal(X, expected)
    for dst, src, m in ((5, 2, 3), (0, 30, 11), (-1, 3, 2)):   # upwards, past the end, before the start
        with pytest.raises(RuntimeError, match="cannot move"):
            bigtable._move_rows(X, dst, src, m)


@pytest.mark.parametrize("thread", ["works", "fails"])
def test_the_entry_is_hashed_while_its_rows_are_checked_and_its_sidecar_holds_its_sha256(tmp_path, monkeypatch,
                                                                                          thread):
    from soilnb.core import cache
    hashed, real_file, real_range = [], cache.file_sha256, tablefile._hash_range
    monkeypatch.setattr(cache, "file_sha256", lambda p, *a: hashed.append(p) or real_file(p, *a))
    if thread == "fails":
        def failing(sha, path, lo, hi, *a):
            if lo == 0:
                raise OSError("disk gone")
            return real_range(sha, path, lo, hi, *a)
        monkeypatch.setattr(tablefile, "_hash_range", failing)
    path = plain_rows_csv(tmp_path / "mir.csv")
    lib = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c")
    # the CSV is hashed for the key; the entry by the thread, or by the cache where the thread failed
    others = [p for p in hashed if p != path]
    assert len(others) == (0 if thread == "works" else 1)
    assert not [k for k in tablefile._HASHING if k.startswith(str(tmp_path))]     # nothing left behind
    assert not [t for t in threading.enumerate() if isinstance(t, tablefile._Hashing)]
    entry = next((tmp_path / "c").glob("ossl_mir_table-*.npy"))
    assert cache.verify(entry)["sha256"] == hashlib.sha256(entry.read_bytes()).hexdigest()
    again = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(again.X, lib.X)


def plain_rows_csv(path, n=30):
    rng = np.random.default_rng(3)
    lines = [",".join(["dataset.code_ascii_txt", "id.layer_uuid_txt"] + COLS)]
    lines += [",".join(["KSSL.SSL" if i % 4 else "AFSIS1.SSL", f"s{i}"]
                       + [f"{v:.7g}" for v in mir_abs(i % 3) + rng.normal(0, 0.01, AXIS.size)]) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_read_that_fails_after_its_rows_are_taken_stops_its_hashing(tmp_path, monkeypatch):
    started, real, real_range = [], tablefile.start_hash, tablefile._hash_range
    monkeypatch.setattr(bigtable, "start_hash", lambda *a: started.append(a) or real(*a))

    def slow(sha, path, lo, hi, stopping=None, *args):     # a big table's hash: still running when the read fails
        stopping.wait(30)
        return real_range(sha, path, lo, hi, stopping, *args)
    monkeypatch.setattr(tablefile, "_hash_range", slow)
    path = plain_rows_csv(tmp_path / "mir.csv")
    path.write_text(path.read_text().replace(",s5,", ",s1,"))                  # two soils under one id
    with pytest.raises(ossl.OSSLFormatError, match="s1"):
        ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c")
    assert started                                                      # the rows were taken, hashing begun
    assert not [t for t in threading.enumerate() if isinstance(t, tablefile._Hashing)]
    assert not [k for k in tablefile._HASHING if k.startswith(str(tmp_path))]
    assert not list((tmp_path / "c").glob(".ossl_table-*")) and not list((tmp_path / "c").glob("*.npy"))
