"""Benchmark: one core's parsing speed of an OSSL-format MIR table, the compiled reader against pandas'.

Writes the rows of :mod:`bench_load` (7-significant-digit absorbances, 1,701 channels, every 17th row another
dataset), 8,000 of them by default (about 130 MB), and parses them in this process, one core, three ways, each the
best of ``--repeats`` passes: the compiled reader of the parallel parse's workers
(:meth:`soilnb.data.ossl.fastcsv.Plan.chunks`, from the file's bytes in memory), pandas' reader without DataFrames
(:func:`soilnb.data.ossl.columns.column_chunks`, what a worker uses for a range the compiled reader leaves), and
``read_csv`` in chunks (:func:`soilnb.data.ossl.format.pandas_chunks`, the one-process reference). Prints MB/s of
CSV text and checks that the three give the same float32 rows, bit for bit.

Usage::

    .venv/bin/python benchmarks/bench_parse.py              # 8,000 rows
    .venv/bin/python benchmarks/bench_parse.py --rows 2000 --repeats 1
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from bench_load import AXIS, write_table
from scratch import scratch_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from soilnb.data.ossl import columns, fastcsv, format as fmt  # noqa: E402

IDS = ["id.layer_uuid_txt", "id.scan_local_c"]
NAMES = [f"scan_mir.{w}_abs" for w in AXIS]
OPTIONS = {"index_col": False}


def rows_of(chunks) -> np.ndarray:
    return np.concatenate([c[3] for c in chunks])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=8000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if not fastcsv.available():
        sys.exit("numba is not installed (or SOILNB_FAST_CSV=0): the compiled reader cannot run")
    with scratch_folder("soilnb-bench-parse-") as tmp:
        path = tmp / "mir.csv"
        write_table(path, args.rows, False)
        data = path.read_bytes()
    start = data.index(b"\n") + 1
    mb = (len(data) - start) / 1e6
    plan = fastcsv.plan(data[:start], IDS, NAMES, "dataset.code_ascii_txt", "KSSL.SSL", OPTIONS)
    buf = np.frombuffer(data, np.uint8)
    ways = {
        "compiled reader (fastcsv)": lambda: plan.chunks(buf, start, len(data), 4000),
        "pandas' reader without DataFrames (columns)": lambda: columns.column_chunks(
            io.BytesIO(data), IDS, NAMES, "dataset.code_ascii_txt", "KSSL.SSL", chunksize=4000,
            csv_options=OPTIONS),
        "read_csv in chunks (format.pandas_chunks)": lambda: fmt.pandas_chunks(
            io.BytesIO(data), IDS, NAMES, "dataset.code_ascii_txt", "KSSL.SSL", chunksize=4000,
            csv_options=OPTIONS),
    }
    print(f"{args.rows} rows x {AXIS.size} channels, {mb:.0f} MB of CSV text; one core, best of {args.repeats}")
    results = {}
    for name, make in ways.items():
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            X = rows_of(make())
            best = min(best, time.perf_counter() - t0)
        results[name] = X
        print(f"  {name:46s} {best:6.2f} s  {mb / best:6.0f} MB/s")
    ref = results["read_csv in chunks (format.pandas_chunks)"]
    same = all(np.array_equal(X.view(np.uint32), ref.view(np.uint32)) for X in results.values())
    print(f"-> {len(ref)} KSSL rows; the same float32 rows bit for bit: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
