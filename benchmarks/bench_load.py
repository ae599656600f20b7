"""Benchmark: first (CSV) and cached (binary) load of a full-size OSSL MIR table.

Writes an OSSL v1.2-format MIR file of the KSSL size (default 85,000 rows x 1,701 channels
``scan_mir.600_abs``..``scan_mir.4000_abs`` plus ``dataset.code_ascii_txt``, ``id.layer_uuid_txt``,
``id.scan_local_c``) once into a temporary folder, then loads it twice with
:func:`soilnb.data.ossl.read_mir_table` (``dataset="KSSL.SSL"``), each time in a fresh subprocess so that
the peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that of the load alone.

Usage::

    .venv/bin/python benchmarks/bench_load.py              # 85,000 rows, plain CSV (about 1.2 GB)
    .venv/bin/python benchmarks/bench_load.py --rows 5000  # quick run
    .venv/bin/python benchmarks/bench_load.py --gzip       # .csv.gz, like the published file

Values are 7-significant-digit absorbances as in the OSSL file; 2,000 distinct spectra are cycled
(parsing cost does not depend on repetition). Every 17th row is another dataset (filtered out).
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AXIS = np.arange(600, 4001, 2)

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from soilnb.data.ossl import read_mir_table
lib = read_mir_table({path!r}, dataset="KSSL.SSL", cache_dir={cache!r})
dt = time.perf_counter() - t0
print(json.dumps({{"seconds": dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "shape": list(lib.X.shape), "checksum": float(lib.X[::97, ::13].astype("float64").sum())}}))
"""


def write_table(path: Path, rows: int, use_gzip: bool, seed: int = 0) -> float:
    """Write the synthetic OSSL-format MIR table; return the seconds it took."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_distinct = min(rows, 2000)
    base = 0.9 + 0.5 * np.sin(AXIS / 400.0)
    spectra = base + 0.3 * rng.standard_normal((n_distinct, 1)) + 0.01 * rng.standard_normal((n_distinct, AXIS.size))
    lines = [",".join(f"{v:.7g}" for v in row) for row in spectra]
    header = ",".join(["dataset.code_ascii_txt", "id.layer_uuid_txt", "id.scan_local_c"]
                      + [f"scan_mir.{w}_abs" for w in AXIS])
    opener = (lambda p: gzip.open(p, "wt", compresslevel=6)) if use_gzip else (lambda p: open(p, "w"))
    with opener(path) as fh:
        fh.write(header + "\n")
        for i in range(rows):
            code = "AFSIS1.SSL" if i % 17 == 16 else "KSSL.SSL"
            fh.write(f"{code},{i:032x},{i}XS01,{lines[i % n_distinct]}\n")
    return time.perf_counter() - t0


def run_child(path: Path, cache: Path) -> dict:
    code = CHILD.format(root=str(ROOT), path=str(path), cache=str(cache))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=85_000)
    ap.add_argument("--gzip", action="store_true", help="write .csv.gz (default: plain .csv)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="soilnb-bench-"))
    try:
        path = tmp / ("ossl_mir_L0_v1.2.csv" + (".gz" if args.gzip else ""))
        secs = write_table(path, args.rows, args.gzip)
        size = path.stat().st_size / 1e6
        print(f"wrote {path.name}: {args.rows} rows x {AXIS.size} channels, {size:.0f} MB in {secs:.0f} s")
        first = run_child(path, tmp / "cache")
        second = run_child(path, tmp / "cache")
        assert first["shape"] == second["shape"] and first["checksum"] == second["checksum"]
        n_kssl = first["shape"][0]
        print(f"first load (CSV, chunked float32):  {first['seconds']:7.1f} s, peak RSS "
              f"{first['peak_rss_mb']:6.0f} MB  -> {n_kssl} KSSL rows x {first['shape'][1]}")
        print(f"second load (cached .npz):          {second['seconds']:7.1f} s, peak RSS "
              f"{second['peak_rss_mb']:6.0f} MB")
        print(f"float32 array: {n_kssl * first['shape'][1] * 4 / 1e6:.0f} MB")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
