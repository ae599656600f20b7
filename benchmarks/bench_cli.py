"""Benchmark: how long the ``soilnb`` command takes to start, and to predict one OPUS file.

Runs ``soilnb --help`` and ``soilnb predict --model BUNDLE icr056141.0 -o -`` (the OSSL example OPUS file,
fetched and verified by ``python -m soilnb.data fetch icr056141.0``) each ``--repeats`` times as fresh processes and
prints the median and the fastest wall time beside the machine's load average; then, once, the time ``predict``
spends importing (``python -X importtime``) and the five slowest top-level imports.

The bundle is ``--model`` (default: the default run's ``figures/bundle``, else the smoke run's
``figures/smoke/bundle``: run ``./run_all.sh --profile smoke`` first).

Usage::

    .venv/bin/python benchmarks/bench_cli.py [--repeats 5] [--model DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "soilnb"]


def wall(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def import_seconds(cmd) -> tuple[float, list]:
    """Seconds of imports of ``cmd`` (python -X importtime) and its five slowest third-party packages (each
    package's own cumulative time where it was first imported, its dependencies included)."""
    err = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], capture_output=True, text=True).stderr
    total, packages = 0.0, []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = line.split("|")
            if not cum.strip().isdigit():
                continue
            if not name.startswith("  "):                     # top level: one space after the bar
                total += int(cum) / 1e6
            mod = name.strip()
            if "." not in mod and not mod.startswith(("soilnb", "_")):
                packages.append((int(cum) / 1e6, mod))
    return total, sorted(packages, reverse=True)[:5]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from soilnb.data.realdata import fetch_real, local_root

    model = Path(args.model) if args.model else next(
        (p for p in (ROOT / "figures" / "bundle", ROOT / "figures" / "smoke" / "bundle") if p.is_dir()), None)
    if model is None:
        sys.exit("no bundle: run ./run_all.sh --profile smoke (or pass --model DIR)")
    got = fetch_real(["icr056141.0"], progressbar=False)
    if not got.ok:
        sys.exit("the OPUS example file is missing: " + "; ".join(got.missing.values()))
    opus = local_root() / "ossl_sample_inputs" / "icr056141.0"
    commands = {"soilnb --help": [*EXE, "--help"],
                "soilnb predict (one OPUS file)": [*EXE, "predict", "--model", str(model), str(opus), "-o", "-", "-q"]}
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"bundle {model.relative_to(ROOT) if model.is_relative_to(ROOT) else model}")
    for name, cmd in commands.items():
        wall(cmd)                                          # warm the file cache
        times = [wall(cmd) for _ in range(args.repeats)]
        imports, top = import_seconds(cmd)
        print(f"{name}: median {statistics.median(times):.2f} s, fastest {min(times):.2f} s over {args.repeats} runs; "
              f"imports {imports:.2f} s (slowest: {', '.join(f'{n} {s:.2f} s' for s, n in top)})")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
