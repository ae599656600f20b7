"""The workers' parse (soilnb.data.ossl.columns) against pandas' chunked reader, the reference: the same tuples, bit
for bit, on hostile tables; anything it was not checked for is an exception (the main process then reads the file
in one process)."""
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soilnb.data.ossl import columns
from soilnb.data.ossl.format import pandas_chunks
from test_ossl_tables import COLS, hostile_table

IDS = ["id.layer_uuid_txt", "id.scan_local_c"]
OPTIONS = {"index_col": False}


def both(source_bytes, dataset, chunksize, names=COLS, ids=IDS):
    return [list(f(io.BytesIO(source_bytes), ids, names, "dataset.code_ascii_txt", dataset, chunksize=chunksize,
                   csv_options=OPTIONS)) for f in (pandas_chunks, columns.column_chunks)]


def assert_same_chunks(ref, got):
    assert len(ref) == len(got) > 0
    for (n, keep, strings, X), (n2, keep2, strings2, X2) in zip(ref, got):
        assert n == n2
        assert (keep is None) == (keep2 is None)
        if keep is not None:
            np.testing.assert_array_equal(keep, keep2)
        assert list(strings) == list(strings2)
        for c in strings:
            assert strings[c].dtype == strings2[c].dtype
            np.testing.assert_array_equal(strings[c], strings2[c])
        assert X.dtype == X2.dtype == np.float32 and X2.flags.c_contiguous
        np.testing.assert_array_equal(X.view(np.uint32), X2.view(np.uint32))        # NaN and inf included


LOCKED_PANDAS = re.search(r"^pandas==(\S+)", (Path(__file__).parents[1] / "requirements" / "lock.txt").read_text(),
                          re.M).group(1)
# (pyproject's ranges allow other pandas, with which the workers parse with read_csv: nothing here to compare)
pytestmark = pytest.mark.skipif(not columns.usable() and pd.__version__ != LOCKED_PANDAS,
                                reason=f"pandas {pd.__version__}: the workers' parse is not used with it")


def test_the_pandas_of_the_lock_is_one_checked():
    # the parallel parse uses the fast path only with these; a new pandas in the lock must be checked (these
    # tests) and added
    assert columns.usable(), f"pandas {pd.__version__}: run these tests, then add it to CHECKED_PANDAS"


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("dataset", ["KSSL.SSL", None], ids=["one dataset", "all rows"])
@pytest.mark.parametrize("chunksize", [2, 4, 4000])
def test_hostile_table_gives_pandas_chunks_exactly(tmp_path, newline, dataset, chunksize):
    # NA, inf, a blank line, a quoted id with a comma, six number formats, rows of another dataset
    text = hostile_table(tmp_path / "t.csv", newline)
    ref, got = both(text.encode(), dataset, chunksize)
    assert_same_chunks(ref, got)
    assert sum(len(c[3]) for c in got) == (13 if dataset else 15)


def test_columns_asked_in_another_order_than_the_files(tmp_path):
    text = hostile_table(tmp_path / "t.csv").encode()
    ref, got = both(text, "KSSL.SSL", 5, names=COLS[::-1], ids=IDS[::-1])
    assert_same_chunks(ref, got)
    np.testing.assert_array_equal(got[0][3][:, 0], ref[0][3][:, 0])


def test_no_data_rows_gives_the_same_empty_chunk():
    ref, got = both(b"dataset.code_ascii_txt,id.layer_uuid_txt,id.scan_local_c,a,b\n", "K", 3, names=["a", "b"])
    assert_same_chunks(ref, got)
    assert got[0][3].shape == (0, 2)


def test_a_cell_that_is_no_number_raises_as_pandas_does():
    source = b"dataset.code_ascii_txt,id.layer_uuid_txt,id.scan_local_c,a,b\nK,u1,s1,0.5,x\n"
    for f in (pandas_chunks, columns.column_chunks):
        with pytest.raises(ValueError, match="could not convert string to float: 'x'"):
            list(f(io.BytesIO(source), IDS, ["a", "b"], "dataset.code_ascii_txt", "K", chunksize=3,
                   csv_options=OPTIONS))


def test_an_unchecked_pandas_or_an_index_column_is_refused(monkeypatch):
    source = b"dataset.code_ascii_txt,id.layer_uuid_txt,id.scan_local_c,a\nK,u1,s1,0.5\n"
    with pytest.raises(RuntimeError, match="index column"):
        list(columns.column_chunks(io.BytesIO(source), IDS, ["a"], "dataset.code_ascii_txt", "K", chunksize=3,
                                   csv_options={}))
    monkeypatch.setattr(columns.pd, "__version__", "9.0.0")
    assert not columns.usable()
    with pytest.raises(RuntimeError, match="pandas 9.0.0"):
        list(columns.column_chunks(io.BytesIO(source), IDS, ["a"], "dataset.code_ascii_txt", "K", chunksize=3,
                                   csv_options=OPTIONS))


def test_a_piece_that_is_not_float32_is_refused():
    # what read_csv would have made of it is the reference; a reader giving anything else is not trusted
    pieces = [{0: np.array(["K"], object), 1: np.array(["u1"], object), 2: np.array(["s"], object),
               3: np.array([0.5], np.float64)}]
    labels = {0: "dataset.code_ascii_txt", 1: IDS[0], 2: IDS[1], 3: "a"}
    with pytest.raises(RuntimeError, match="column 'a' came as ndarray float64"):
        columns._from_pieces(pieces, labels, IDS, ["a"], "dataset.code_ascii_txt", "K")
    for bad in ("u1", np.array(["u1", "u2"], object)):    # a text column as no array, or one of other length
        piece = {**pieces[0], 1: bad, 3: np.array([0.5], np.float32)}
        with pytest.raises(RuntimeError, match=f"column '{IDS[0]}' came as"):
            columns._from_pieces([piece], labels, IDS, ["a"], "dataset.code_ascii_txt", "K")
    with pytest.raises(RuntimeError, match="lack columns"):
        columns._from_pieces(pieces, {0: "dataset.code_ascii_txt", 1: IDS[0], 2: IDS[1]}, IDS, ["a"],
                             "dataset.code_ascii_txt", "K")


def test_columns_not_asked_for_are_skipped_wherever_they_stand():
    # a text column and a number column the reader does not ask for, before, between and after the asked ones
    head = "notes,dataset.code_ascii_txt,id.layer_uuid_txt,depth,a,b,id.scan_local_c,extra\n"
    rows = ['"x, y",K,u1,10,0.5,0.25,s1,7\n', 'z,L,u2,20,1e-3,NA,s2,8\n', ',K,u3,30,-2.5,inf,s3,\n']
    ref, got = both((head + "".join(rows)).encode(), "K", 2, names=["b", "a"])
    assert_same_chunks(ref, got)
    np.testing.assert_array_equal(np.concatenate([c[3] for c in got]),
                                  np.array([[0.25, 0.5], [np.inf, -2.5]], np.float32))
    assert list(np.concatenate([c[2]["id.scan_local_c"] for c in got])) == ["s1", "s3"]
