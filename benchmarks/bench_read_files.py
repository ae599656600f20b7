"""Benchmark: :func:`soilnb.data.readers.read_spectra` on a folder of many one-spectrum CSV files.

Instruments and lab pipelines often export one small CSV per scan; a folder of a few thousand of them must
read in seconds, not minutes. This script writes ``--files`` one-row CSV files (default 2,000) into a
temporary folder, each an id column and 1,701 MIR absorbance columns 600..4000 cm-1 (7 significant digits,
every file a different spectrum), then reads the folder once with ``read_spectra`` and prints the files per
second beside the machine's load average (:func:`os.getloadavg`: on a shared machine the figure moves with
the other jobs).

Column layouts (``--names``):

* ``bare``: ``sample_id, 600, 602, ..., 4000`` (quantity told by the O-H band shape);
* ``ossl``: ``id.sample_local_c, scan_mir.600_abs, ...`` (unit and quantity told by the names);
* ``ossl-layer``: ``id.layer_uuid_txt, scan_mir.600_abs, ...``, the layout of the OSSL MIR export, which
  goes through :func:`soilnb.data.ossl.read_mir_table` (its binary cache is switched off, as it would
  otherwise write one cache entry per file into the user's cache folder).

The values read are checked against the values written, so a fast but wrong reader does not pass.

Usage::

    .venv/bin/python benchmarks/bench_read_files.py                 # 2,000 files, bare and ossl names
    .venv/bin/python benchmarks/bench_read_files.py --files 200     # quick run
    .venv/bin/python benchmarks/bench_read_files.py --names ossl-layer --profile   # cProfile, top 25
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

import numpy as np
from scratch import scratch_folder

from soilnb.data.readers import read_spectra

AXIS = np.arange(600, 4001, 2)
ID_COLUMN = {"bare": "sample_id", "ossl": "id.sample_local_c", "ossl-layer": "id.layer_uuid_txt"}


def spectra(n: int, seed: int = 0) -> np.ndarray:
    """``n`` MIR absorbance spectra rounded to 7 significant digits, the O-H band at 3400 cm-1 a maximum."""
    rng = np.random.default_rng(seed)
    band = 0.8 * np.exp(-((AXIS - 3400.0) / 150.0) ** 2) + 0.3 * np.exp(-((AXIS - 1000.0) / 80.0) ** 2)
    X = 0.5 + rng.uniform(0.0, 0.4, (n, 1)) + band * rng.uniform(0.7, 1.3, (n, 1)) \
        + 0.005 * rng.standard_normal((n, AXIS.size))
    return np.array([[float(f"{v:.7g}") for v in row] for row in X])


def write_files(folder: Path, X: np.ndarray, names: str) -> float:
    """One CSV per row of ``X``: header and one data row. Returns the seconds it took."""
    t0 = time.perf_counter()
    cols = [f"{w}" for w in AXIS] if names == "bare" else [f"scan_mir.{w}_abs" for w in AXIS]
    header = ",".join([ID_COLUMN[names]] + cols)
    for i, row in enumerate(X):
        (folder / f"scan_{i:05d}.csv").write_text(f"{header}\ns{i:05d}," + ",".join(f"{v:.7g}" for v in row) + "\n")
    return time.perf_counter() - t0


def read_once(folder: Path, profile: bool):
    """``(result, seconds)`` of one ``read_spectra`` over the folder (no progress bar, no binary cache)."""
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    res = read_spectra(folder, progress=False, use_cache=False)
    if prof:
        prof.disable()
    dt = time.perf_counter() - t0
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return res, dt


def check(res, X: np.ndarray) -> None:
    """The folder read as one library holding exactly the values written, in file order."""
    assert not res.problems, res.problems[:3]
    lib = res.library
    assert lib.X.shape == X.shape, lib.X.shape
    np.testing.assert_array_equal(lib.axis, AXIS.astype(float))
    np.testing.assert_allclose(lib.X, X, rtol=1e-6)        # the library may hold float32
    assert list(lib.sample_id) == [f"s{i:05d}" for i in range(X.shape[0])]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=2000, help="number of one-spectrum CSV files (default 2000)")
    ap.add_argument("--names", nargs="+", choices=list(ID_COLUMN), default=["bare", "ossl"],
                    help="column layouts to time (default: bare ossl)")
    ap.add_argument("--profile", action="store_true", help="print the 25 costliest calls (cProfile)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    X = spectra(args.files)
    with scratch_folder("soilnb-bench-read-", args.keep) as tmp:
        for names in args.names:
            folder = tmp / names
            folder.mkdir()
            secs = write_files(folder, X, names)
            print(f"wrote {args.files} files ({names} names, {AXIS.size} channels) in {secs:.1f} s")
            load0 = os.getloadavg()[0]
            res, dt = read_once(folder, args.profile)
            check(res, X)
            print(f"read_spectra, {names} names: {args.files} files in {dt:.2f} s = {args.files / dt:.3g} files/s "
                  f"(load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
