"""soilnb.data.ossl.parallel: a big table parsed in byte ranges by forked processes gives exactly what one process
gives (the values bit for bit, the ids, the file rows named in warnings and errors, the cache entry's bytes), and
any trouble in a worker falls back to reading in one process, leaving no partial file behind."""
import multiprocessing
import os
import re
import warnings

import numpy as np
import pytest

from soilnb.data import ossl
from soilnb.data.ossl import fastcsv, parallel
from test_ossl_tables import AXIS, COLS, hostile_table, mir_abs, reference


@pytest.fixture
def ranges(monkeypatch):
    """Tables of any size read in parallel; the list records what each parallel parse returned (None: a worker
    failed and the file was read again in one process); a read not started in parallel records nothing."""
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 1)
    calls, real = [], parallel.Parsing.result

    def spy(self):
        calls.append(real(self))
        return calls[-1]
    monkeypatch.setattr(parallel.Parsing, "result", spy)
    return calls


def read(path, cache_dir, **kwargs):
    """read_mir_table through the cache (the parallel path), its warnings recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=cache_dir, **kwargs)
    return lib, [str(w.message) for w in caught]


def one_process(path, monkeypatch, cache_dir, **kwargs):
    monkeypatch.setenv("SOILNB_READ_WORKERS", "1")
    try:
        return read(path, cache_dir, **kwargs)
    finally:
        monkeypatch.delenv("SOILNB_READ_WORKERS")


def plain_table(path, n_rows, newline="\n", bad=None):
    """``n_rows`` rows of 7-digit absorbances, every 5th of another dataset; ``bad``: {row index: cell text}
    put in the 4th spectral column."""
    rng = np.random.default_rng(n_rows)
    lines = [",".join(["dataset.code_ascii_txt", "id.layer_uuid_txt"] + COLS)]
    for i in range(n_rows):
        cells = [f"{v:.7g}" for v in mir_abs(i % 3) + rng.normal(0, 0.01, AXIS.size)]
        if bad and i in bad:
            cells[3] = bad[i]
        lines.append(",".join(["AFSIS1.SSL" if i % 5 == 4 else "KSSL.SSL", f"r{i}"] + cells))
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def assert_same(lib, ref):
    np.testing.assert_array_equal(lib.X.view(np.uint32), ref.X.view(np.uint32))        # bit for bit
    assert list(lib.sample_id) == list(ref.sample_id)
    assert lib.meta["n_dropped_nonfinite"] == ref.meta["n_dropped_nonfinite"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("n_workers", [2, 3, 7])
def test_parallel_read_equals_one_process_and_the_csv_module(tmp_path, monkeypatch, ranges, newline, n_workers):
    # 15 rows (an odd number), NA and inf rows named in the warning by file row, a blank line, a quoted id with a
    # comma, assorted number formats; 7 workers: about one row each
    path = tmp_path / "mir.csv"
    ids, X, dropped = reference(hostile_table(path, newline))
    ref, ref_warnings = one_process(path, monkeypatch, tmp_path / "one")
    assert ranges == []                                             # one worker: not attempted
    monkeypatch.setenv("SOILNB_READ_WORKERS", str(n_workers))
    lib, caught = read(path, tmp_path / "many")
    assert ranges[-1] is not None and len(ranges[-1]) > n_workers   # read in ranges (several a worker)
    assert_same(lib, ref)
    np.testing.assert_array_equal(lib.X.view(np.uint32), X.view(np.uint32))
    assert list(lib.sample_id) == list(ids) and "id,7" in ids
    assert caught == ref_warnings and f"rows {dropped[0]}, {dropped[1]} (ids u05, u09;" in caught[0]
    entries = [next((tmp_path / d).glob("ossl_mir_table-*.npy")).read_bytes() for d in ("one", "many")]
    assert entries[0] == entries[1]                                 # the same cache entry, byte for byte
    assert not list((tmp_path / "many").glob(".ossl_table-*"))


def test_fewer_rows_than_workers_and_ranges_without_rows(tmp_path, monkeypatch, ranges):
    path = plain_table(tmp_path / "three.csv", 3)
    ref, _ = one_process(path, monkeypatch, tmp_path / "one")
    monkeypatch.setenv("SOILNB_READ_WORKERS", "8")
    lib, _ = read(path, tmp_path / "many")
    assert ranges[-1] is not None and len(ranges[-1]) == 3          # one row each: 3 ranges, not 8
    assert_same(lib, ref)
    # a range whose rows are all of another dataset writes nothing; the next one's rows move down past it
    path = plain_table(tmp_path / "other.csv", 4)
    path.write_text(path.read_text().replace("KSSL.SSL,r1,", "AFSIS1.SSL,r1,"))
    ref, _ = one_process(path, monkeypatch, tmp_path / "one")
    monkeypatch.setenv("SOILNB_READ_WORKERS", "8")
    lib, _ = read(path, tmp_path / "many")
    assert [p["n"] for p in ranges[-1]] == [1, 1, 1, 1] and [len(p["finite"]) for p in ranges[-1]] == [1, 0, 1, 1]
    assert_same(lib, ref)
    assert list(lib.sample_id) == ["r0", "r2", "r3"]
    # ranges holding blank lines only (not rows, as pandas counts): the rows after them keep their file rows
    path = plain_table(tmp_path / "blank.csv", 4, bad={3: "nan"})
    lines = path.read_text().split("\n")
    path.write_text("\n".join(lines[:4] + [""] * 5000 + lines[4:]))
    ref, ref_warnings = one_process(path, monkeypatch, tmp_path / "one")
    lib, caught = read(path, tmp_path / "many")
    assert [p["n"] for p in ranges[-1]].count(0) > 4
    assert_same(lib, ref)
    assert caught == ref_warnings and "row 5 (id r3;" in caught[0]


def test_a_bad_row_in_the_second_half_names_its_row(tmp_path, monkeypatch, ranges):
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    # an unclosed quote in row 31 of 40 (file line 32): pandas counts the header as row 0
    path = plain_table(tmp_path / "quote.csv", 40, bad={30: '"0.5'})
    with pytest.raises(ValueError) as parallel_error:
        read(path, tmp_path / "c")
    assert ranges[-1] is None                                       # a worker failed: read again in one process
    message = str(parallel_error.value)
    assert re.search(r"cannot read .*quote\.csv: ParserError: .*EOF inside string starting at row 31$", message)
    with pytest.raises(ValueError) as one_error:
        one_process(path, monkeypatch, tmp_path / "c")
    assert str(one_error.value) == message
    # a value that is not a number in the second half: the message of one process
    path = plain_table(tmp_path / "text.csv", 40, bad={33: "n.d."})
    with pytest.raises(ValueError, match=r"cannot parse .*text\.csv: could not convert string to float: 'n\.d\.'"):
        read(path, tmp_path / "c")
    assert ranges[-1] is None
    assert not [f.name for f in (tmp_path / "c").iterdir() if not f.name.endswith((".lock", ".json"))]


def test_a_cut_inside_a_quoted_field_falls_back(tmp_path, monkeypatch, ranges):
    # the id, last on each line, of the row holding the middle of the file has a line break inside its quotes:
    # the cut after the first line end past the middle falls inside that field
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    head = ",".join(COLS + ["dataset.code_ascii_txt", "id.layer_uuid_txt"]) + "\n"
    lines = [",".join(f"{v:.7g}" for v in mir_abs(i % 3)) + f",KSSL.SSL,r{i}\n" for i in range(9)]
    middle = len(head) + sum(map(len, lines)) // 2
    row = next(i for i in range(9) if len(head) + sum(map(len, lines[:i + 1])) > middle)
    lines[row] = lines[row].replace(f"r{row}\n", f'"r{row}\nsecond line"\n')
    path = tmp_path / "quoted.csv"
    path.write_text(head + "".join(lines))
    text = path.read_text()
    cut = text.index("\n", len(head) + (len(text) - len(head)) // 2)
    assert text[:cut].endswith(f',"r{row}')                        # the cut falls inside the quotes
    lib, _ = read(path, tmp_path / "c")
    assert ranges[-1] is None
    assert list(lib.sample_id) == [f"r{i}" if i != row else f"r{row}\nsecond line" for i in range(9)]
    np.testing.assert_array_equal(lib.X, one_process(path, monkeypatch, tmp_path / "one")[0].X)


def test_a_worker_that_dies_falls_back_and_leaves_nothing(tmp_path, monkeypatch, ranges):
    monkeypatch.setenv("SOILNB_READ_WORKERS", "3")
    path = plain_table(tmp_path / "mir.csv", 30)
    real = parallel._parse_range

    def dies(name, head, ranges, k, *args):
        if k == 1:
            os._exit(3)                                            # killed, out of memory: no word sent
        return real(name, head, ranges, k, *args)
    monkeypatch.setattr(parallel, "_parse_range", dies)
    lib, _ = read(path, tmp_path / "c")
    assert ranges[-1] is None
    monkeypatch.undo()
    ref, _ = one_process(path, monkeypatch, tmp_path / "one")
    assert_same(lib, ref)
    assert not list((tmp_path / "c").glob(".ossl_table-*"))
    assert not multiprocessing.active_children()


def warn_in_each_range(monkeypatch, message, category):
    """Each range's parse warns first, in its worker."""
    real = parallel._parse_range

    def warns(*args):
        warnings.warn(message, category)
        return real(*args)
    monkeypatch.setattr(parallel, "_parse_range", warns)


def test_a_warning_in_a_worker_falls_back(tmp_path, monkeypatch, ranges):
    # read in one process, the warning reaches the caller (its filters, a test's -W error) as it always did
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    path = plain_table(tmp_path / "mir.csv", 20)
    warn_in_each_range(monkeypatch, "something odd", UserWarning)
    lib, caught = read(path, tmp_path / "c")
    assert ranges[-1] is None and caught == []
    assert_same(lib, one_process(path, monkeypatch, tmp_path / "one")[0])


def test_a_parse_started_while_hashing_stops_on_a_cache_hit(tmp_path, monkeypatch, capsys, ranges):
    # a file whose hash is not remembered is parsed while it is hashed; when the cache has its table after all
    # (here: the memo removed), the workers are stopped and what they wrote is removed
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    path = plain_table(tmp_path / "mir.csv", 30)
    first, _ = read(path, tmp_path / "c")
    assert ranges[-1] is not None
    started, real = [], parallel.Parsing.__init__

    def init(self, *args):
        started.append(self)
        real(self, *args)
    monkeypatch.setattr(parallel.Parsing, "__init__", init)
    for memo in (tmp_path / "c").glob("file_sha256-*.json"):
        memo.unlink()
    again, _ = read(path, tmp_path / "c", verbose=True)
    assert len(started) == 1 and len(ranges) == 1                  # started, stopped unwaited for
    assert "loaded" in capsys.readouterr().out
    assert_same(again, first)
    assert not list((tmp_path / "c").glob(".ossl_table-*")) and not multiprocessing.active_children()


def test_not_in_parallel(tmp_path, monkeypatch, ranges):
    monkeypatch.setenv("SOILNB_READ_WORKERS", "4")
    path = plain_table(tmp_path / "mir.csv", 12)
    ref = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", use_cache=False)   # in memory: one process
    import gzip
    (tmp_path / "mir.csv.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert_same(read(tmp_path / "mir.csv.gz", tmp_path / "c")[0], ref)      # a gzip stream: one process
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", path.stat().st_size)
    assert_same(read(path, tmp_path / "c2")[0], ref)                          # too small to share out
    assert ranges == []
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 1)
    assert_same(read(path, tmp_path / "c3")[0], ref)
    assert ranges[-1] is not None


def expected(path):
    """``(ids, X)`` of the KSSL rows of a :func:`plain_table`, parsed with split and float() (a field past the
    header's, as a trailing comma makes, ignored)."""
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line]
    kept = [r for r in rows if r[0] == "KSSL.SSL"]
    return [r[1] for r in kept], np.array([[float(v) for v in r[2:2 + len(COLS)]] for r in kept], np.float32)


@pytest.mark.parametrize("trailing", [(7,), (1, 7)], ids=["a range's first row", "and the file's"])
def test_a_trailing_comma_on_the_first_row_of_a_range_or_of_the_file(tmp_path, monkeypatch, ranges, trailing):
    # one field more than the header on a stream's first data row: pandas took the first column for the index
    # and shifted every column of the stream (the rows of that range vanished, or in one process all of them)
    # (only where a column is not read: a scan id, third on the line)
    path = plain_table(tmp_path / "mir.csv", 10)
    ids, X = expected(path)
    lines = [line.split(",") for line in path.read_text().split("\n")[:-1]]
    lines = [",".join(cells[:2] + [f"x{i}" if i else "id.scan_local_c"] + cells[2:]) for i, cells in enumerate(lines)]
    for i in trailing:                  # 1: the file's first row; 7: a row that starts a range (one row each)
        lines[i] += ","
    path.write_text("\n".join(lines) + "\n")
    ref, ref_warnings = one_process(path, monkeypatch, tmp_path / "one")
    assert list(ref.sample_id) == ids and ref_warnings == []
    np.testing.assert_array_equal(ref.X.view(np.uint32), X.view(np.uint32))
    monkeypatch.setenv("SOILNB_READ_WORKERS", "7")
    lib, caught = read(path, tmp_path / "many")
    assert ranges[-1] is not None and [p["n"] for p in ranges[-1]][:8] == [1] * 8
    assert caught == [] and list(lib.sample_id) == ids
    assert_same(lib, ref)


def read_resampled(path, cache_dir, **kwargs):
    mid = (AXIS[:-1] + AXIS[1:]) / 2                                # between the file's channels: resampled
    return ossl.read_mir_table(path, axis=mid, dataset="KSSL.SSL", cache_dir=cache_dir, **kwargs)


@pytest.mark.parametrize("chunksize", [1, 2, 4000])
def test_resampled_with_a_dataset_filter_and_chunks_without_kept_rows(tmp_path, monkeypatch, ranges, chunksize):
    # a chunk (or a whole range) without rows of the dataset gave the file's width, not the output grid's
    path = plain_table(tmp_path / "mir.csv", 24)
    path.write_text(path.read_text().replace("KSSL.SSL,r0,", "AFSIS1.SSL,r0,").replace("KSSL.SSL,r1,", "AFSIS1.SSL,r1,"))
    ref = read_resampled(path, None, use_cache=False)               # in memory, one chunk
    assert ref.X.shape == (18, AXIS.size - 1)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "1")
    assert_same(read_resampled(path, tmp_path / "one", chunksize=chunksize), ref)
    assert ranges == []
    monkeypatch.setenv("SOILNB_READ_WORKERS", "3")
    assert_same(read_resampled(path, tmp_path / "many", chunksize=chunksize), ref)
    parts = ranges[-1]
    assert parts is not None and [len(p["finite"]) for p in parts][0] == 0
    assert {p["width"] for p in parts if p["width"] is not None} == {AXIS.size - 1}
    if chunksize == 1:
        assert max(p["n"] for p in parts) > 1                      # several chunks in a range


def test_several_chunks_per_range_write_where_one_process_does(tmp_path, monkeypatch, ranges):
    path = plain_table(tmp_path / "mir.csv", 60)
    ref, _ = one_process(path, monkeypatch, tmp_path / "one", chunksize=2)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    lib, _ = read(path, tmp_path / "many", chunksize=2)
    parts = ranges[-1]
    assert parts is not None and min(p["n"] for p in parts) > 2
    assert_same(lib, ref)


def test_a_range_has_a_slot_per_line_end_and_only_the_last_one_more(tmp_path, monkeypatch, ranges):
    # rows all kept, no blank line: each range's rows are written where they end up (nothing to move)
    path = plain_table(tmp_path / "mir.csv", 40)
    path.write_text(path.read_text().replace("AFSIS1.SSL,", "KSSL.SSL,"))
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    lib, _ = read(path, tmp_path / "c")
    parts = ranges[-1]
    assert parts is not None and len(lib.X) == 40
    assert [p["slots"] for p in parts] == [p["n"] for p in parts[:-1]] + [parts[-1]["n"] + 1]
    assert [p["slot"] for p in parts] == list(np.cumsum([0] + [p["n"] for p in parts[:-1]]))


SIGNAL_SCRIPT = """
import os, signal, sys, warnings
sys.path.insert(0, {tests!r})
import numpy as np
from soilnb.data import ossl
from soilnb.data.ossl import fastcsv, parallel
import test_ossl_parallel as t
from pathlib import Path
parallel.MIN_PART_BYTES = 1
os.environ["SOILNB_READ_WORKERS"] = "3"
if {mode!r} == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *a: print("handler ran in", os.getpid(), flush=True))
real = parallel._parse_range
def dies(fd, head, ranges, k, *args):
    if k == 1:
        os._exit(3)                     # dies before it publishes its count: range 2 waits for it
    return real(fd, head, ranges, k, *args)
parallel._parse_range = dies
path = t.plain_table(Path({tmp!r}) / "mir.csv", 30)
lib = ossl.read_mir_table(path, axis=t.AXIS, dataset="KSSL.SSL", cache_dir=Path({tmp!r}) / "c")
print("rows", len(lib.X), flush=True)
"""


@pytest.mark.parametrize("mode", ["ignore", "handler"])
def test_a_parent_that_ignores_or_handles_sigterm_does_not_hang(tmp_path, mode):
    # forked workers inherited the parent's SIGTERM disposition: terminate() did nothing, cancel() waited forever
    # in join, and a worker waiting for the count of one that died waited forever too
    import subprocess
    import sys
    script = SIGNAL_SCRIPT.format(tests=os.path.dirname(__file__), mode=mode, tmp=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("rows 24") and "handler ran" not in done.stdout


def test_a_file_replaced_while_parsed_is_read_again(tmp_path, monkeypatch, ranges):
    # the workers read the file opened once by the main process: no mix of two versions; the replaced file is
    # then read in one process (what its hash describes)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    path = plain_table(tmp_path / "mir.csv", 40)
    new = tmp_path / "new.csv"
    new.write_text(path.read_text().replace(",r", ",s"))
    real = parallel._parse_range

    def replaces(fd, head, ranges, k, *args):
        if k == 1:
            os.replace(new, path)
        return real(fd, head, ranges, k, *args)
    monkeypatch.setattr(parallel, "_parse_range", replaces)
    lib, _ = read(path, tmp_path / "c")
    assert ranges[-1] is None
    assert list(lib.sample_id) == expected(path)[0] and lib.sample_id[0] == "s0"


def test_no_mmap_on_the_file_system_reads_in_one_process(tmp_path, monkeypatch, ranges):
    import mmap
    real = mmap.mmap

    def no_mmap(fileno, length, *args, **kwargs):
        if kwargs.get("access") == mmap.ACCESS_READ:
            raise OSError(19, "No such device")
        return real(fileno, length, *args, **kwargs)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    path = plain_table(tmp_path / "mir.csv", 12)
    ref = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", use_cache=False)
    monkeypatch.setattr(parallel.mmap, "mmap", no_mmap)
    lib, _ = read(path, tmp_path / "c")
    assert ranges == []
    assert_same(lib, ref)


def test_a_warning_the_callers_filters_hide_is_no_failure(tmp_path, monkeypatch, ranges):
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    path = plain_table(tmp_path / "mir.csv", 20)
    warn_in_each_range(monkeypatch, "hidden", ResourceWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", ResourceWarning)
        lib = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", cache_dir=tmp_path / "c")
    assert ranges[-1] is not None and not [w for w in caught if w.category is ResourceWarning]
    monkeypatch.undo()
    assert_same(lib, one_process(path, monkeypatch, tmp_path / "one")[0])


def test_row_names_as_r_writes_them_read_as_pandas_reads_them_in_one_process(tmp_path, monkeypatch, ranges):
    # R's write.table puts a row name before every data line (one field more than the header, the last one a
    # value): pandas' default reads it as the index where a column is not read (a scan id here), as before; no
    # part of such a file can be parsed alone
    path = plain_table(tmp_path / "mir.csv", 10)
    ids, X = expected(path)
    lines = [line.split(",") for line in path.read_text().split("\n")[:-1]]
    lines = [cells[:2] + [f"x{i}" if i else "id.scan_local_c"] + cells[2:] for i, cells in enumerate(lines)]
    path.write_text("\n".join([",".join(lines[0])] + [f'"{i}",' + ",".join(c) for i, c in enumerate(lines[1:], 1)])
                    + "\n")
    monkeypatch.setenv("SOILNB_READ_WORKERS", "7")
    lib, caught = read(path, tmp_path / "many")
    assert ranges == [] and caught == []                            # not started in parallel
    assert list(lib.sample_id) == ids
    np.testing.assert_array_equal(lib.X.view(np.uint32), X.view(np.uint32))


def test_rows_appended_between_the_cut_and_the_parse_are_not_lost(tmp_path, monkeypatch, ranges):
    # the file's identity is taken before it is cut: rows a writer appends after the cut make the parallel result
    # stale, and the file is read again in one process (all rows, also on the next, cached read)
    path = plain_table(tmp_path / "mir.csv", 40)
    extra = plain_table(tmp_path / "more.csv", 45).read_text().splitlines(True)[41:]
    cuts = parallel._cuts

    def cut_then_append(mm, n):
        out = cuts(mm, n)
        with open(path, "a") as fh:
            fh.write("".join(extra))
        return out
    monkeypatch.setattr(parallel, "_cuts", cut_then_append)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "3")
    lib, _ = read(path, tmp_path / "many")
    monkeypatch.setattr(parallel, "_cuts", cuts)
    assert ranges and ranges[-1] is None                            # the parallel result was not taken
    ref = ossl.read_mir_table(path, axis=AXIS, dataset="KSSL.SSL", use_cache=False)
    assert_same(lib, ref)
    assert_same(read(path, tmp_path / "many")[0], ref)


@pytest.mark.parametrize("fallocate", ["works", "unsupported"])
def test_rows_written_through_a_mapping_or_pwrite_land_on_the_bytes_asked(tmp_path, monkeypatch, fallocate):
    # a file of 5,000 bytes; rows written past its end at an offset off every page boundary (the mapping starts
    # at the page below), then over its middle: every other byte stays as it was
    if fallocate == "unsupported":
        monkeypatch.setattr(parallel.os, "posix_fallocate", no_fallocate)
    else:                                               # the mapping, not pwrite, wrote them
        monkeypatch.setattr(parallel.os, "pwrite", no_fallocate)
    path = tmp_path / "rows.bin"
    before = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)
    path.write_bytes(before.tobytes())
    far = np.arange(6 * 7, dtype=np.float32).reshape(6, 7) + 0.5
    mid = -np.ones((2, 3), np.float32)
    fd = os.open(path, os.O_RDWR)
    try:
        parallel._write_rows(fd, far, 12_345)
        parallel._write_rows(fd, mid, 101)
    finally:
        os.close(fd)
    expected = np.zeros(12_345 + far.nbytes, np.uint8)
    expected[:5000] = before
    expected[12_345:] = far.view(np.uint8).reshape(-1)
    expected[101:101 + mid.nbytes] = mid.view(np.uint8).reshape(-1)
    np.testing.assert_array_equal(np.frombuffer(path.read_bytes(), np.uint8), expected)


def no_fallocate(*args):
    raise OSError(95, "Operation not supported")


def test_a_file_system_without_fallocate_gives_the_same_table(tmp_path, monkeypatch, ranges):
    path = plain_table(tmp_path / "mir.csv", 30)
    ref, _ = one_process(path, monkeypatch, tmp_path / "one")
    monkeypatch.setattr(parallel.os, "posix_fallocate", no_fallocate)
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    lib, _ = read(path, tmp_path / "many")
    assert ranges[-1] is not None
    assert_same(lib, ref)


@pytest.mark.skipif(not fastcsv.available(), reason="numba is not installed: pandas reads every range")
def test_the_compiled_reader_reads_plain_ranges_and_pandas_the_others(tmp_path, monkeypatch, ranges):
    # 40 plain rows, one "NA" cell in row 33: the ranges without it are read by the compiled reader (each one it
    # finishes is recorded in a file, from the worker), the range holding it by pandas; the table is one process's
    log = tmp_path / "fast.log"
    real = fastcsv.Plan.chunks

    def recorded(self, buf, lo, hi, chunksize, done=None):
        for chunk in real(self, buf, lo, hi, chunksize, done):
            with open(log, "a") as fh:
                fh.write(f"chunk {lo}\n")
            yield chunk
        with open(log, "a") as fh:
            fh.write(f"end {lo}\n")

    def ended():
        return {line.split()[1] for line in log.read_text().splitlines() if line.startswith("end")}
    monkeypatch.setattr(fastcsv.Plan, "chunks", recorded)
    path = plain_table(tmp_path / "mir.csv", 40, bad={33: "NA"})
    ref, ref_warnings = one_process(path, monkeypatch, tmp_path / "one")
    assert not log.exists()                                         # one process: pandas
    monkeypatch.setenv("SOILNB_READ_WORKERS", "2")
    lib, caught = read(path, tmp_path / "many")
    assert ranges[-1] is not None and len(ranges[-1]) == 8
    assert_same(lib, ref)
    assert caught == ref_warnings and "row 35 (id r33;" in caught[0]
    assert len(ended()) == 7                                        # every range but the one with "NA"
    entries = [next((tmp_path / d).glob("ossl_mir_table-*.npy")).read_bytes() for d in ("one", "many")]
    assert entries[0] == entries[1]
    # chunks of 2 rows: the range with "NA" has rows read and written by the compiled reader before it refuses the
    # chunk holding "NA"; pandas then reads the whole range again and writes the same rows at the same places
    log.unlink()
    lib, caught = read(path, tmp_path / "small", chunksize=2)
    assert ranges[-1] is not None and len(ended()) == 7
    begun = {line.split()[1] for line in log.read_text().splitlines() if line.startswith("chunk")}
    assert len(begun - ended()) == 1                                # the range with "NA": rows written, then refused
    assert_same(lib, ref)
    assert caught == ref_warnings
    monkeypatch.setenv("SOILNB_FAST_CSV", "0")                      # switched off: pandas reads every range
    log.unlink()
    lib, _ = read(path, tmp_path / "off")
    assert ranges[-1] is not None
    assert_same(lib, ref)
    assert not log.exists()
