# Sourced by run_all.sh and run_tests.sh: sets $PY to a Python that has soilnb's dependencies,
# creating or reusing the local virtual environment .venv when they are missing.
# Override with SOILNB_PYTHON=/path/to/python (e.g. a conda env built from environment.yml).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_check='import soilnb, torch, numpy, pandas, sklearn, scipy, papermill, ipykernel, ikpls, xicor, pooch, tqdm, seaborn, nbval'
if [ -n "${SOILNB_PYTHON:-}" ]; then
  PY="$SOILNB_PYTHON"
elif [ -x "$_root/.venv/bin/python" ] && (cd "$_root" && "$_root/.venv/bin/python" -W ignore -c "$_check") >/dev/null 2>&1; then
  PY="$_root/.venv/bin/python"
else
  echo "[env] setting up $_root/.venv (one time; torch==2.13.0 CPU wheel + pyproject dependencies)" >&2
  if [ ! -x "$_root/.venv/bin/python" ]; then
    python3 -m venv "$_root/.venv" || { echo "[env] could not create .venv (is python3-venv installed?)" >&2; exit 1; }
  fi
  PY="$_root/.venv/bin/python"
  # torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
  "$PY" -m pip install -qq "torch==2.13.0" >&2 || { echo "[env] pip install torch==2.13.0 failed" >&2; exit 1; }
  "$PY" -m pip install -qq -e "$_root[test]" >&2 || { echo "[env] pip install -e .[test] failed" >&2; exit 1; }
  (cd "$_root" && "$PY" -W ignore -c "$_check") || { echo "[env] dependencies still missing after install" >&2; exit 1; }
fi
export PY
