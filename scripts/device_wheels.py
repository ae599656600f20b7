"""Fetch the wheels the lent GPU machine lacks, so that `scripts/device_paper.sh` can run there.

The device image (see /work/.library/device/KINDS.md) has Python 3.12, torch, numpy, pandas, scikit-learn,
seaborn, matplotlib, pytest and tqdm, but not papermill, nbval, xicor, ikpls, pooch, rdata, brukeropus, limesoda, safetensors, crepes, mapie or the Jupyter kernel
stack, and it cannot reach PyPI. This script (run here, where PyPI is reachable) resolves soilnb's
notebook and test dependencies for CPython 3.12 on manylinux x86-64 with ``pip install --dry-run
--report``, drops the packages the image already holds, and downloads the rest, without their
dependencies, into ``.whl/`` (listed in ``.gitignore``; the device tool carries it when named in ``carry``)::

    python3 scripts/device_wheels.py            # then carry ".whl" in the device call

Prints each wheel and the total size (the device tool carries at most 64 MiB in all).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WANTED = ["papermill>=2.5", "ipykernel>=6.29", "nbformat>=5.9", "nbval>=0.11", "xicor>=1.0", "ikpls>=6.0",
          "pooch>=1.8", "rdata>=1.0",   # rdata: the NIR realism check of notebook 01
          "brukeropus>=1.4", "limesoda>=0.1.5",   # read_spectra; the LimeSoDa benchmark of notebook 07
          "safetensors>=0.4", "crepes>=0.7", "mapie>=1.0"]   # model bundles and intervals (notebook 08)
#: Packages of the device image (KINDS.md, "Python packages already there", read 2026-11-17) that the
#: resolution above also names: these are not carried.
ON_DEVICE = {"numpy", "scipy", "scikit-learn", "pandas", "pytest", "requests", "tqdm", "click", "pyyaml", "coverage",
             "attrs", "certifi", "charset-normalizer", "cloudpickle", "idna", "iniconfig", "narwhals", "pathspec",
             "pluggy", "psutil", "pygments", "python-dateutil", "threadpoolctl", "typing-extensions", "urllib3",
             "packaging", "joblib", "mypy-extensions", "pytest-cov", "jinja2", "markupsafe", "six", "filelock",
             "setuptools", "jax", "jaxlib", "matplotlib", "seaborn", "torch", "tzdata"}
PLATFORM = ["--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:"] + [
    a for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                "manylinux1_x86_64") for a in ("--platform", p)]


def norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def main() -> int:
    dest = ROOT / ".whl"
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), "--target", str(Path(tmp) / "t"), *PLATFORM, *WANTED], check=True)
        resolved = [(i["metadata"]["name"], i["metadata"]["version"]) for i in json.loads(report.read_text())["install"]]
    carry = sorted((n, v) for n, v in resolved if norm(n) not in ON_DEVICE)
    dest.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(dest), *PLATFORM,
                    *[f"{n}=={v}" for n, v in carry]], check=True)
    wheels = sorted(dest.glob("*.whl"))
    for w in wheels:
        print(f"{w.stat().st_size / 2**20:7.2f} MiB  {w.name}")
    total = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"{len(wheels)} wheels, {total:.1f} MiB in {dest} (device limit: 64 MiB for the whole working tree)")
    return 0 if total < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
