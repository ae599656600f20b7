"""The compiled reader (soilnb.data.ossl.fastcsv) against pandas' chunked reader, the reference: the same tuples, bit
for bit, on random numbers of every form pandas reads; every row it does not read exactly as pandas does is refused
(Unsupported: the worker then parses that range with pandas)."""
import importlib.util
import io

import numpy as np
import pandas as pd
import pytest

from soilnb.data.ossl import fastcsv
from soilnb.data.ossl.format import pandas_chunks
from test_ossl_columns import assert_same_chunks
from test_ossl_tables import COLS, hostile_table

IDS = ["id.layer_uuid_txt", "id.scan_local_c"]
HEAD = ["dataset.code_ascii_txt", "id.layer_uuid_txt", "id.scan_local_c"]
needs_numba = pytest.mark.skipif(not fastcsv.available(), reason="numba is not installed: pandas reads every range")


def test_the_compiled_reader_runs_where_numba_is_installed(monkeypatch):
    # not skipped: a numba that no longer imports or compiles with the lock's NumPy must not switch the reader off
    # unseen (available() then says False and the tests below would skip)
    monkeypatch.delenv("SOILNB_FAST_CSV", raising=False)
    if importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed")
    assert fastcsv.available()


def fast(text: bytes, dataset="KSSL.SSL", chunksize=4000, options=None, names=COLS, ids=IDS):
    """The reader's chunks of a whole file (its header line cut off, as a worker's range is)."""
    options = {"index_col": False, **(options or {})}
    start = text.index(b"\n") + 1
    plan = fastcsv.plan(text[:start], ids, names, "dataset.code_ascii_txt", dataset, options)
    assert plan is not None
    buf = np.frombuffer(text, np.uint8)
    return list(plan.chunks(buf, start, len(text), chunksize))


def reference(text: bytes, dataset="KSSL.SSL", chunksize=4000, options=None, names=COLS, ids=IDS):
    options = {"index_col": False, **(options or {})}
    return list(pandas_chunks(io.BytesIO(text), ids, names, "dataset.code_ascii_txt", dataset, chunksize=chunksize,
                              csv_options=options))


def random_numbers(n, rng):
    """``n`` numbers written in every form pandas reads: 1 to 25 digits, leading zeros, a point first or last, signs,
    exponents from -40 to 12 (some of them outside the exact fast path), zeros with signs."""
    out = []
    for _ in range(n):
        digits = "".join(rng.choice(list("0123456789"), int(rng.integers(1, 26))))
        k = int(rng.integers(0, len(digits) + 1))
        t = digits[:k] + "." + digits[k:] if rng.random() < 0.8 else digits
        if rng.random() < 0.3:
            e = int(rng.integers(-40, 13))
            t += rng.choice(["e", "E"]) + ("-" if e < 0 else rng.choice(["", "+"])) + str(abs(e))
        out.append(rng.choice(["", "", "-", "+"]) + t)
    return out


def table(values, n_cols=len(COLS), datasets=("KSSL.SSL", "AFSIS1.SSL"), newline="\n", sep=","):
    rows = [sep.join(HEAD + COLS[:n_cols])]
    for i in range(len(values) // n_cols):
        cells = values[i * n_cols:(i + 1) * n_cols]
        rows.append(sep.join([datasets[i % len(datasets)], f"u{i:05d}", f"{i}XS"] + cells))
    return (newline.join(rows) + newline).encode()


@needs_numba
@pytest.mark.parametrize("chunksize", [1, 7, 4000])
def test_random_numbers_of_every_form_are_read_as_pandas_reads_them(chunksize, monkeypatch):
    monkeypatch.setattr(fastcsv, "SLOW_SHARE", 1.0)             # (about half of them are outside the fast path)
    rng = np.random.default_rng(0)
    values = random_numbers(1000 * len(COLS), rng)          # 101,000 numbers
    text = table(values)
    got = fast(text, chunksize=chunksize)
    assert_same_chunks(reference(text, chunksize=chunksize), got)
    # the values as Python reads them, rounded to float32: an independent reference (correct rounding)
    kept = np.concatenate([c[3] for c in got])
    expected = np.array([float(v) for v in values], np.float64).astype(np.float32).reshape(1000, -1)[::2]
    np.testing.assert_array_equal(kept.view(np.uint32), expected.view(np.uint32))


@needs_numba
def test_numbers_outside_the_fast_path_are_counted_to_a_limit(monkeypatch):
    # 17-digit numbers only: more of them than SLOW_SHARE allows is a chunk pandas reads faster
    values = [f"{v:.17g}" for v in np.random.default_rng(1).random(10 * len(COLS))]
    text = table(values)
    assert_same_chunks(reference(text), fast(text))            # 2 % of 4,000 rows' numbers: room for all of them
    with pytest.raises(fastcsv.Unsupported):
        fast(text, chunksize=40)                                # room for 2 % of 40 rows' numbers only


@needs_numba
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("dataset", ["KSSL.SSL", None], ids=["one dataset", "all rows"])
def test_line_ends_and_the_dataset_filter(newline, dataset):
    values = [f"{v:.7g}" for v in np.random.default_rng(2).random(9 * len(COLS))]
    text = table(values, newline=newline)
    got = fast(text, dataset, chunksize=4)
    assert_same_chunks(reference(text, dataset, chunksize=4), got)
    assert sum(len(c[3]) for c in got) == (5 if dataset else 9)
    assert [list(c[2]["id.scan_local_c"]) for c in got][0] == (["0XS", "2XS"] if dataset else ["0XS", "1XS", "2XS",
                                                                                                 "3XS"])


@needs_numba
@pytest.mark.parametrize("sep,decimal", [(";", ","), ("\t", "."), ("\t", ",")])
def test_other_separators_and_decimal_commas(sep, decimal):
    values = [f"{v:.7g}".replace(".", decimal) for v in np.random.default_rng(3).random(6 * len(COLS))]
    values[5] = ""                                  # empty: NaN
    values[8] = "-0" + decimal + "0"                # negative zero
    text = table(values, sep=sep)
    options = {"sep": sep} | ({"decimal": decimal} if decimal != "." else {})
    got = fast(text, options=options)
    assert_same_chunks(reference(text, options=options), got)
    assert np.isnan(got[0][3][0, 5]) and np.signbit(got[0][3][0, 8])


@needs_numba
def test_the_file_without_a_last_line_end_and_columns_in_another_order():
    values = [f"{v:.6g}" for v in np.random.default_rng(4).random(4 * len(COLS))]
    text = table(values)[:-1]
    for names, ids in [(COLS, IDS), (COLS[::-1], IDS[::-1])]:
        got = fast(text, names=names, ids=ids)
        assert_same_chunks(reference(text, names=names, ids=ids), got)
    assert got[0][3][0, -1] == np.float32(float(values[0]))


@pytest.mark.parametrize("cell,why", [
    ("NA", "a missing-value word"), ("inf", "infinity"), (" 0.5", "a space before"), ("0.5 ", "a space after"),
    ('"0.5"', "a quoted number"), ("1e", "an exponent without digits"), ("1e1234567", "a huge exponent"),
    ("-", "a sign alone"), (".", "a point alone"), ("0x10", "hexadecimal"), ("1_0", "an underscore"),
    ("1e39", "too big for float32"), ("0.5\r0.5", "a lone carriage return")])
@needs_numba
def test_a_cell_it_does_not_read_as_pandas_is_refused(cell, why):
    values = [f"{v:.7g}" for v in np.random.default_rng(5).random(3 * len(COLS))]
    values[len(COLS) + 4] = cell
    with pytest.raises(fastcsv.Unsupported):
        fast(table(values))


@pytest.mark.parametrize("change,why", [
    (lambda t: t.replace(b"u00001", b'"u,1"'), "a quoted id"), (lambda t: t.replace(b"u00001", b"NA"), "a missing id"),
    (lambda t: t.replace(b"u00001", b""), "an empty id"), (lambda t: t.replace(b"u00001", b"u\xff"), "not UTF-8"),
    (lambda t: t.replace(b"\nKSSL.SSL,u00002", b"\n\nKSSL.SSL,u00002"), "a blank line"),
    (lambda t: t.replace(b",1XS,", b",1XS,,"), "a field too many"),
    (lambda t: t.replace(b",1XS,", b",1XS"), "a field too few")])
@needs_numba
def test_a_row_it_does_not_read_as_pandas_is_refused(change, why):
    values = [f"{v:.7g}" for v in np.random.default_rng(6).random(3 * len(COLS))]
    text = change(table(values))
    with pytest.raises(fastcsv.Unsupported):
        fast(text)


@needs_numba
def test_the_hostile_table_is_refused_and_its_plain_rows_are_read(tmp_path):
    text = hostile_table(tmp_path / "t.csv").encode()
    with pytest.raises(fastcsv.Unsupported):
        fast(text)
    plain = b"\n".join(text.split(b"\n")[:5]) + b"\n"     # the header and 4 rows of six number formats: read
    assert_same_chunks(reference(plain), fast(plain))


@needs_numba
def test_not_used_without_numba_or_with_other_options(monkeypatch):
    head = (",".join(HEAD + COLS) + "\n").encode()
    args = (IDS, COLS, "dataset.code_ascii_txt", "KSSL.SSL")
    assert fastcsv.plan(head, *args, {"index_col": False}) is not None
    assert fastcsv.plan(head, *args, {}) is None                                     # an index column
    assert fastcsv.plan(head, *args, {"index_col": False, "thousands": ","}) is None
    assert fastcsv.plan(head.replace(b"id.scan_local_c", b"x"), *args, {"index_col": False}) is None
    monkeypatch.setattr(fastcsv, "_kernel", False)                                   # numba did not import
    assert fastcsv.plan(head, *args, {"index_col": False}) is None
    monkeypatch.undo()
    monkeypatch.setenv("SOILNB_FAST_CSV", "0")
    assert fastcsv.plan(head, *args, {"index_col": False}) is None


@needs_numba
def test_a_range_past_the_mapped_bytes_is_refused():
    # the file shrank after it was cut: pandas reads the range and says so
    text = table([f"{v:.7g}" for v in np.random.default_rng(9).random(2 * len(COLS))])
    start = text.index(b"\n") + 1
    plan = fastcsv.plan(text[:start], IDS, COLS, "dataset.code_ascii_txt", "KSSL.SSL", {"index_col": False})
    with pytest.raises(fastcsv.Unsupported, match="not all in the"):
        list(plan.chunks(np.frombuffer(text, np.uint8), start, len(text) + 10, 4000))


@needs_numba
def test_the_same_as_pandas_on_the_number_forms_pandas_documents():
    # pandas reads these as the numbers below; so does the reader (the pandas of the lock, checked here too)
    cells = ["5.", ".5", "+.5", "-0", "00012.50", "1E+05", "1e-05", "123456789012345678", "0.000000000000000000001"]
    values = cells + ["0.5"] * (len(COLS) - len(cells))
    text = table(values * 2)
    got = fast(text, dataset=None)
    assert_same_chunks(reference(text, dataset=None), got)
    want = [5.0, 0.5, 0.5, -0.0, 12.5, 1e5, 1e-5, 123456789012345678.0, 1e-21]
    np.testing.assert_array_equal(got[0][3][0, :len(want)], np.array(want, np.float32))
    assert pd.read_csv(io.BytesIO(text), index_col=False)[COLS[0]].iloc[0] == 5.0


def test_pandas_missing_words_are_the_ones_it_reads_as_missing():
    # the private list the reader refuses text by is the one read_csv uses
    words = sorted(fastcsv.STR_NA_VALUES - {""})
    text = ("a,b\n" + "\n".join(f"{w},1" for w in words) + "\nx,1\n").encode()
    col = pd.read_csv(io.BytesIO(text), dtype={"a": str})["a"]
    assert col.isna().sum() == len(words) and col.iloc[-1] == "x"


@needs_numba
def test_with_a_pandas_not_checked_numbers_outside_the_fast_path_go_to_pandas(monkeypatch):
    values = [f"{v:.7g}" for v in np.random.default_rng(8).random(3 * len(COLS))]
    values[3] = "0.12345678901234567"
    text = table(values)
    assert_same_chunks(reference(text), fast(text))
    monkeypatch.setattr(fastcsv, "usable", lambda: False)
    with pytest.raises(fastcsv.Unsupported):
        fast(text)
