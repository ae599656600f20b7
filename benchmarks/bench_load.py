"""Benchmark: first (CSV) and cached (binary) load of a full-size OSSL MIR table.

Writes an OSSL v1.2-format MIR file of the KSSL size (default 85,000 rows x 1,701 channels
``scan_mir.600_abs``..``scan_mir.4000_abs`` plus ``dataset.code_ascii_txt``, ``id.layer_uuid_txt``,
``id.scan_local_c``) once into a temporary folder, then loads it twice with
:func:`soilnb.data.ossl.read_mir_table` (``dataset="KSSL.SSL"``), each time in a fresh subprocess so that
the peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that of the load alone. Each load
reports the seconds of the ``read_mir_table`` call and, apart, those of importing soilnb (about 1.5 s of
pandas, scikit-learn and SciPy that any caller pays once), the CPU seconds (user + system: on a shared machine
wall time also measures the neighbours) of the process and of the worker processes that parse a plain CSV in
parallel (:mod:`soilnb.data.ossl.parallel`), and the load average before and after. Memory: the peak resident
set of the process (as before) and of the largest worker, and the peak of the proportional set size (PSS) summed
over the process and its workers, sampled every 50 ms from outside (pages shared by several processes, such as
the forked interpreter's, counted once; the table file's pages count where they are mapped, as in RSS). That
sampling is done in loads of their own, one first and one second load after the timed ones: reading
``smaps_rollup`` walks the page tables of processes that map gigabytes, 20 times a second, and slows the load it
watches on two cores (the sampled loads' seconds are printed beside the timed ones).

Usage::

    .venv/bin/python benchmarks/bench_load.py              # 85,000 rows, plain CSV (about 1.2 GB)
    .venv/bin/python benchmarks/bench_load.py --rows 5000  # quick run
    .venv/bin/python benchmarks/bench_load.py --gzip       # .csv.gz, like the published file (read in one process)

The file is written to disk (``fsync``) before the loads: a file written seconds before is still being written
back while it is read, and the timing would include the kernel's work on the benchmark's own input, which a
downloaded file has long finished. ``--repeats N`` loads it N times into an empty cache each (the second load
reads the last one's) and reports the median first load in full, the others by their seconds: on a shared virtual
machine one load varies by a third from one minute to the next.

Values are 7-significant-digit absorbances as in the OSSL file; 2,000 distinct spectra are cycled
(parsing cost does not depend on repetition). Every 17th row is another dataset (filtered out).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scratch import scratch_folder

ROOT = Path(__file__).resolve().parents[1]
AXIS = np.arange(600, 4001, 2)

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = time.perf_counter()
from soilnb.data.ossl import read_mir_table
t1, c1 = time.perf_counter(), cpu()
lib = read_mir_table({path!r}, dataset="KSSL.SSL", cache_dir={cache!r}{extra})
t2 = time.perf_counter()
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": t2 - t1, "import_seconds": t1 - t0, "cpu_seconds": cpu() - c1,
                  "worker_cpu_seconds": kids.ru_utime + kids.ru_stime, "worker_rss_mb": kids.ru_maxrss / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
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
    with open(path, "rb") as fh:            # on disk before the loads (see the module docstring); after the
        os.fsync(fh.fileno())               # close, which writes a gzip stream's trailer
    return time.perf_counter() - t0


def tree_pss_mb(pid: int) -> float:
    """PSS (MB) of a process and its descendants, from /proc (0 where it cannot be read: not Linux, gone)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:")) / 1024
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total


def run_child(path: Path, cache: Path, chunksize=None, sample: bool = False) -> dict:
    """One load in a fresh interpreter: its JSON line, plus ``peak_pss_mb`` where ``sample`` (else None)."""
    extra = f", chunksize={int(chunksize)}" if chunksize else ""
    code = CHILD.format(root=str(ROOT), path=str(path), cache=str(cache), extra=extra)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc, peak = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err), 0.0
        while proc.poll() is None:          # (files, not pipes: a child writing much cannot block on them)
            if sample:
                peak = max(peak, tree_pss_mb(proc.pid))
            time.sleep(0.05)
        out.seek(0), err.seek(0)
        text = out.read()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, "read_mir_table", text, err.read())
    return json.loads(text.strip().splitlines()[-1]) | {"peak_pss_mb": peak if sample else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=85_000)
    ap.add_argument("--gzip", action="store_true", help="write .csv.gz (default: plain .csv)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--chunksize", type=int, help="rows per pandas chunk (default: read_mir_table's, 4,000)")
    ap.add_argument("--repeats", type=int, default=1, help="first loads, each into an empty cache (the median "
                    "is reported in full)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be 1 or more")

    with scratch_folder("soilnb-bench-", args.keep) as tmp:
        path = tmp / ("ossl_mir_L0_v1.2.csv" + (".gz" if args.gzip else ""))
        secs = write_table(path, args.rows, args.gzip)
        size = path.stat().st_size / 1e6
        print(f"wrote {path.name}: {args.rows} rows x {AXIS.size} channels, {size:.0f} MB in {secs:.0f} s")
        load = os.getloadavg()
        firsts = [run_child(path, tmp / f"cache{k}", args.chunksize) for k in range(args.repeats)]
        second = run_child(path, tmp / f"cache{args.repeats - 1}", args.chunksize)
        # memory, sampled from outside in loads of their own (the sampling slows the load: module docstring)
        pss = {"first": run_child(path, tmp / "cache_sampled", args.chunksize, sample=True)}
        pss["second"] = run_child(path, tmp / "cache_sampled", args.chunksize, sample=True)
        assert all(f["shape"] == second["shape"] and f["checksum"] == second["checksum"]
                   for f in firsts + list(pss.values()))
        first, n_kssl = sorted(firsts, key=lambda r: r["seconds"])[(len(firsts) - 1) // 2], second["shape"][0]
        print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if len(firsts) > 1:
            times = ", ".join(f"{r['seconds']:.2f}" for r in firsts)
            print(f"first loads (CSV), each into an empty cache: {times} s; the median one:")
        for label, r, m in (("first load (CSV):   ", first, pss["first"]),
                            ("second load (cache):", second, pss["second"])):
            workers = (f" + {r['worker_cpu_seconds']:.1f} s in workers (peak RSS {r['worker_rss_mb']:.0f} MB)"
                       if r["worker_cpu_seconds"] else "")
            print(f"{label} {r['seconds']:6.2f} s ({r['cpu_seconds']:5.1f} s CPU{workers}), peak RSS "
                  f"{r['peak_rss_mb']:5.0f} MB, peak PSS of all {m['peak_pss_mb']:5.0f} MB (a sampled load "
                  f"of {m['seconds']:.2f} s); "
                  f"imports {r['import_seconds']:.1f} s")
        print(f"-> {n_kssl} KSSL rows x {first['shape'][1]}; float32 array: "
              f"{n_kssl * first['shape'][1] * 4 / 1e6:.0f} MB")
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
