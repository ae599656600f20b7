"""soilnb.data.readers on hostile folders: many small files read together must give what each gives alone; a
header mixing two grids is refused whatever the arguments; a bad row is reported once, by one layer."""
import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from soilnb.core.vocab import MIR_AXIS_CM1
from soilnb.data.readers import batch, collect, read_spectra

MIR = np.arange(600.0, 4001.0, 4.0)
NIR = np.arange(1400.0, 2501.0, 2.0)


def mir_abs(axis, k=0):
    """MIR absorbance, the O-H band at 3400 cm-1 a maximum, 7 significant digits as instruments export."""
    axis = np.asarray(axis, float)
    x = 0.5 + 0.013 * k + 0.8 * np.exp(-((axis - 3400) / 150) ** 2) + 1e-5 * axis + 1e-4 * np.sin(k + axis / 7)
    return np.array([float(f"{v:.7g}") for v in x])


def one_row(path, header, cells):
    path.write_text(",".join(header) + "\n" + ",".join(str(c) for c in cells) + "\n")
    return path


def read(paths, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # nothing may escape the ReadResult as a warning
        return read_spectra(paths, progress=False, **kw)


def read_alone(paths, monkeypatch, **kw):
    """The same files read one by one (no batching): the route every file took before batching."""
    with monkeypatch.context() as m:
        m.setattr(collect, "plan_batches", lambda files: [])
        return read(paths, **kw)


def assert_same(a, b):
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert [str(n) for n in a.notes] == [str(n) for n in b.notes]
    assert a.files == b.files and list(a.libraries) == list(b.libraries)
    for la, lb in zip(a.libraries.values(), b.libraries.values()):
        np.testing.assert_array_equal(la.X, lb.X)
        np.testing.assert_array_equal(la.axis, lb.axis)
        assert (la.unit, la.quantity) == (lb.unit, lb.quantity)
        np.testing.assert_array_equal(la.sample_id, lb.sample_id)
        pd.testing.assert_frame_equal(la.properties, lb.properties)
        assert la.meta.keys() == lb.meta.keys()
        for k in la.meta:
            if k == "extra":
                pd.testing.assert_frame_equal(pd.DataFrame(la.meta[k]), pd.DataFrame(lb.meta[k]))
            elif k == "files":
                assert la.meta[k] == lb.meta[k]
            else:
                np.testing.assert_array_equal(la.meta[k], lb.meta[k])


# ------------------------------------------------------------------------------ batching
def test_a_folder_of_one_row_files_reads_as_each_file_alone(tmp_path, monkeypatch):
    """Typing that depends on the other files (text in one file's property or spectral column, an integer
    column in one file and a float in another), blank lines, CRLF, gzip, an empty file, a bad row and a
    second header: the folder read in batches == each file read alone, and the values are those written."""
    d = tmp_path / "scans"
    d.mkdir()
    head = ["sample_id", "TC", "depth", "site"] + [f"{a:g}" for a in MIR]
    X = np.vstack([mir_abs(MIR, k) for k in range(12)])
    props = [(1.5, 10, "north"), ("n.d.", 20, "south"), (2.0, 12.5, 7), (0.8, "", "west")] + [(1.0, 5, "x")] * 8
    for k in range(12):
        one_row(d / f"s{k:02d}.csv", head, [f"s{k:02d}", *props[k], *X[k]])
    cells = [f"{v:.7g}" for v in X[5]]
    cells[40] = "abc"                                                 # text in a spectral cell
    one_row(d / "s05.csv", head, ["s05", *props[5], *cells])
    cells = [f"{v:.7g}" for v in X[6]]
    cells[3] = ""                                                     # a missing value
    one_row(d / "s06.csv", head, ["s06", *props[6], *cells])
    for k in (7, 11):                                                 # CRLF, and a trailing blank line
        (d / f"s{k:02d}.csv").write_bytes((d / f"s{k:02d}.csv").read_text().replace("\n", "\r\n").encode() + b"\r\n")
    (d / "s08.csv.gz").write_bytes(gzip.compress((d / "s08.csv").read_bytes()))
    (d / "s08.csv").unlink()
    (d / "s09.csv").write_text(",".join(head) + "\n")                 # a header without rows
    two = (d / "s10.csv").read_text() + ",".join(["s10b", "1", "5", "x", *(f"{v:.7g}" for v in X[0])]) + "\n"
    (d / "s10.csv").write_text(two)                                   # two rows
    one_row(d / "t0.csv", ["id"] + [f"{a:g}" for a in MIR], ["t0", *X[0]])      # another header, alone
    one_row(d / "t1.csv", ["id"] + [f"{a:g}" for a in MIR], ["t1", *X[1]])
    files = sorted(p for p in d.iterdir())
    plan = batch.plan_batches(files)
    assert len(plan) == 3                                             # LF, CRLF and the other header
    together = {p.name for g in plan for p in batch.read_batch(g)}    # text, empty: read alone
    assert together == {p.name for p in files} - {"s05.csv", "s09.csv"}
    res = read(d)
    assert_same(res, read_alone(d, monkeypatch))
    lib = res.library
    keep = [k for k in range(12) if k not in (5, 6, 9)]
    ids = [f"s{k:02d}" for k in keep]
    ids.insert(ids.index("s10") + 1, "s10b")
    assert list(lib.sample_id) == ids + ["t0", "t1"]
    expect = np.vstack([X[k] for k in keep[:keep.index(10) + 1]] + [X[0]] + [X[k] for k in keep[keep.index(10) + 1:]]
                       + [X[0], X[1]])
    np.testing.assert_allclose(lib.X, expect, rtol=1e-6)              # float32 in the library
    # s01's "n.d." keeps TC out of the properties of its own file only (typed per file, as alone)
    np.testing.assert_array_equal(lib.properties["TC"].iloc[:4], [1.5, np.nan, 2.0, 0.8])
    bad = {p.file.rsplit("/", 1)[-1]: p for p in res.problems}
    assert set(bad) == {"s05.csv", "s06.csv", "s09.csv"}
    assert "'abc' in column 760" in bad["s05.csv"].message and bad["s05.csv"].row == 1
    assert "empty or NA in column 612" in bad["s06.csv"].message


def test_ossl_mir_tables_batched_equal_read_mir_table(tmp_path, monkeypatch):
    """One-row OSSL MIR exports (id.layer_uuid_txt, scan_mir.*_abs) read together == read_mir_table per file;
    a file with a NaN row and one with a repeated id go to read_mir_table and say so once."""
    head = ["id.layer_uuid_txt", "id.scan_local_c"] + [f"scan_mir.{int(a)}_abs" for a in MIR_AXIS_CM1]
    for k in range(6):
        one_row(tmp_path / f"m{k}.csv", head, [f"u{k}", f"{k}XS01", *mir_abs(MIR_AXIS_CM1, k)])
    x = mir_abs(MIR_AXIS_CM1, 9)
    (tmp_path / "m2.csv").write_text(f"{','.join(head)}\nu2,2XS01,{','.join(map(str, x))}\n"
                                     f"u2b,2XS02,{','.join(['nan'] + [str(v) for v in x[1:]])}\n")
    (tmp_path / "m3.csv").write_text(f"{','.join(head)}\nu3,a,{','.join(map(str, x))}\nu3,b,{','.join(map(str, x))}\n")
    r = 100 * 10 ** -mir_abs(MIR_AXIS_CM1, 6)                         # reflectance in percent under _abs names
    one_row(tmp_path / "m6.csv", head, ["u6", "6XS01", *(f"{v:.7g}" for v in r)])
    one_row(tmp_path / "m7.csv", head, ["u7", "7XS01", *mir_abs(MIR_AXIS_CM1, 7)])
    (group,) = batch.plan_batches(sorted(tmp_path.iterdir()))
    assert sorted(p.name for p in batch.read_batch(group)) == ["m0.csv", "m1.csv", "m4.csv", "m5.csv", "m7.csv"]
    res = read(tmp_path, use_cache=False)
    assert_same(res, read_alone(tmp_path, monkeypatch, use_cache=False))
    lib = res.library
    assert [i for i in lib.sample_id if i != "u6"] == ["u0", "u1", "u2", "u4", "u5", "u7"]   # u6: read_mir_table's call
    np.testing.assert_array_equal(lib.X[1], mir_abs(MIR_AXIS_CM1, 1).astype(np.float32))
    assert set(lib.meta["source"]) == {"OSSL MIR table (soilnb.data.ossl.read_mir_table)"}
    msgs = [str(i) for i in res.problems + res.notes if "m2.csv" in i.file]
    assert len(msgs) == 1 and "dropped 1 of 2 rows holding NaN or inf" in msgs[0] and "u2b" in msgs[0]
    assert {"m2.csv", "m3.csv"} <= {p.file.rsplit("/", 1)[-1] for p in res.problems}


@pytest.mark.real
def test_real_table_cut_into_one_row_files_reads_as_the_table(real_dir, tmp_path):
    """The 20 real OSSL MIR sample spectra, one file each, read together == the table read as one file."""
    src = real_dir / "ossl_sample_inputs" / "sample_mir_data.csv"
    head, *rows = src.read_text().splitlines()
    for k, row in enumerate(rows):
        (tmp_path / f"r{k:02d}.csv").write_text(f"{head}\n{row}\n")
    whole = read(src).library
    lib = read(tmp_path).library
    np.testing.assert_array_equal(lib.X, whole.X)
    np.testing.assert_array_equal(lib.sample_id, whole.sample_id)
    assert lib.X.shape == (20, 1765)


# ------------------------------------------------------------------------- two grids in one header
@pytest.mark.parametrize("kw", [{}, {"quantity": "reflectance"}, {"quantity": "absorbance"}, {"unit": "nm"},
                                {"unit": "cm-1", "quantity": "absorbance"}])
def test_a_header_mixing_nm_and_cm1_is_refused_whatever_is_passed(tmp_path, kw):
    cm1 = np.arange(600.0, 4001.0, 2.0)
    x = np.concatenate([0.4 - 0.1 * np.exp(-((NIR - 1920) / 40) ** 2), mir_abs(cm1)])
    head = ["sample_id"] + [f"{a:g}" for a in np.concatenate([NIR, cm1])]
    path, again = (one_row(tmp_path / name, head, ["a", *x]) for name in ("both.csv", "both2.csv"))
    res = read([path, again], **kw)
    assert not res.libraries and len(res.problems) == 2 and not any("pass quantity" in str(p) for p in res.problems)
    msg = res.problems[0].message
    assert res.problems[0].file == str(path) and "\n" not in msg
    assert "both.csv: the header mixes two grids: columns 1400..2500 (551 columns) then 600..4000 (1701 columns)" in msg
    assert "break after column '2500'" in msg
    assert "split the file into one file per grid" in msg and "scan_nir.1400_ref, scan_mir.600_abs" in msg


def test_a_descending_block_then_an_ascending_one_names_the_right_break(tmp_path):
    cm1 = np.arange(600.0, 4001.0, 2.0)
    names = [f"{a:g}" for a in np.concatenate([NIR[::-1], cm1])]
    res = read(one_row(tmp_path / "x.csv", ["id"] + names, ["a", *np.ones(len(names))]))
    assert "columns 2500..1400 (551 columns) then 600..4000 (1701 columns)" in res.problems[0].message


# ------------------------------------------------------------------------------ a bad row, once
def issues_about(res, file="bad.csv"):
    """Problems of ``file``, and its notes that speak of rows or values (not the unit/quantity note)."""
    return [str(i) for i in res.problems + res.notes if i.file.endswith(file) and (
        i in res.problems or any(w in i.message for w in ("row", "missing", "usable", "NaN", "b1")))]


def test_one_text_cell_in_a_table_is_one_problem(tmp_path):
    X = np.vstack([mir_abs(MIR, k) for k in range(4)]).astype(object)
    X[2, 10] = "abc"
    df = pd.DataFrame(X, columns=[f"{a:g}" for a in MIR])
    df.insert(0, "sample_id", list("abcd"))
    df.to_csv(tmp_path / "t.csv", index=False)
    res = read(tmp_path / "t.csv")
    assert res.library.n_scans == 3 and not any("row 3" in n for n in map(str, res.notes))
    assert [str(p) for p in res.problems] == [f"{tmp_path / 't.csv'}, row 3: id c: 1 missing, non-numeric or "
                                              "infinite value(s), first 'abc' in column 640: spectrum dropped"]


@pytest.mark.parametrize("names", ["bare", "ossl"])
def test_a_one_row_file_with_a_missing_value_is_one_problem(tmp_path, names):
    """Alone or among good files; before, a bare-number file was refused with "pass quantity=" (misleading) and
    a named one reported its row and then "no usable spectrum left"."""
    cols = [f"{a:g}" if names == "bare" else f"scan_mir.{a:g}_abs" for a in MIR]
    for k in range(3):
        one_row(tmp_path / f"g{k}.csv", ["sample_id"] + cols, [f"g{k}", *mir_abs(MIR, k)])
    cells = list(mir_abs(MIR, 5))
    cells[7] = ""
    bad = one_row(tmp_path / "bad.csv", ["sample_id"] + cols, ["b1", *cells])
    col = cols[7]
    expect = [f"{bad}, row 1: id b1: 1 missing, non-numeric or infinite value(s), first empty or NA in column "
              f"{col}: spectrum dropped"]
    assert issues_about(read(bad)) == expect
    res = read(tmp_path)
    assert issues_about(res) == expect and res.library.n_scans == 3


def test_a_failing_batch_falls_back_to_reading_each_file(tmp_path, monkeypatch):
    """An unexpected error in the batched parse costs speed, never a read: every file is then read alone."""
    from soilnb.data.readers import collect

    axis = np.arange(600, 4001, 2)
    for i in range(3):
        row = 0.5 + 0.3 * np.cos(axis / 700.0) + 0.01 * i
        (tmp_path / f"s{i}.csv").write_text("sample_id," + ",".join(map(str, axis)) + "\n"
                                            + f"s{i}," + ",".join(f"{v:.6f}" for v in row) + "\n")
    alone = read_spectra(tmp_path, progress=False)

    def broken(*a, **k):
        raise MemoryError("simulated")

    monkeypatch.setattr(collect, "read_batch", broken)
    fallback = read_spectra(tmp_path, progress=False)
    assert list(fallback.libraries) == list(alone.libraries) and not fallback.problems
    a, b = next(iter(alone.libraries.values())), next(iter(fallback.libraries.values()))
    np.testing.assert_array_equal(a.X, b.X)
    assert list(a.sample_id) == list(b.sample_id) == ["s0", "s1", "s2"]
