# Sourced by run_all.sh and run_tests.sh: sets $PY to a Python that has soilnb's dependencies,
# creating or reusing the local virtual environment .venv when they are missing.
# Override with SOILNB_PYTHON=/path/to/python (e.g. a conda env built from environment.yml).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_check='import soilnb, torch, numpy, pandas, sklearn, scipy, papermill, ipykernel, ikpls, xicor, pooch, tqdm, seaborn, nbval, brukeropus, LimeSoDa, safetensors, crepes, mapie, importlinter, ruff'
# Where a Python imports soilnb from, asked from / so that the current directory cannot stand in for
# the installed package (notebook kernels and scripts elsewhere see only the install).
_soilnb_at() { (cd / && "$1" -W ignore -c 'import os, soilnb; print(os.path.realpath(soilnb.__file__))') 2>/dev/null; }
# True when that is this checkout: a .venv copied from another checkout keeps an editable install
# pointing there, and would silently run that checkout's code.
_soilnb_ours() { case "$(_soilnb_at "$1")" in "$(cd "$_root" && pwd -P)/soilnb/"*) return 0 ;; *) return 1 ;; esac; }
_venv="$_root/.venv/bin/python"
if [ -n "${SOILNB_PYTHON:-}" ]; then
  PY="$SOILNB_PYTHON"
elif [ -x "$_venv" ] && (cd "$_root" && "$_venv" -W ignore -c "$_check") >/dev/null 2>&1; then
  PY="$_venv"
  if ! _soilnb_ours "$PY"; then
    _at="$(_soilnb_at "$PY")" || true      # || true: callers source this under set -e
    if [ -n "$_at" ]; then _why="imports soilnb from $_at, not from this checkout (a .venv copied from elsewhere?)"
    else _why="has no soilnb installed (only the current directory provided it)"; fi
    echo "[env] $_root/.venv $_why; reinstalling $_root into it" >&2
    "$PY" -m pip install -qq -e "$_root[test]" >&2 || { echo "[env] pip install -e .[test] failed" >&2; exit 1; }
    _soilnb_ours "$PY" || { echo "[env] soilnb still imported from $(_soilnb_at "$PY") after reinstalling" >&2; exit 1; }
  fi
else
  echo "[env] setting up $_root/.venv (one time; torch==2.13.0 CPU wheel + pyproject dependencies)" >&2
  if [ ! -x "$_venv" ]; then
    python3 -m venv "$_root/.venv" || { echo "[env] could not create .venv (is python3-venv installed?)" >&2; exit 1; }
  fi
  PY="$_venv"
  # torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
  "$PY" -m pip install -qq "torch==2.13.0" >&2 || { echo "[env] pip install torch==2.13.0 failed" >&2; exit 1; }
  "$PY" -m pip install -qq -e "$_root[test]" >&2 || { echo "[env] pip install -e .[test] failed" >&2; exit 1; }
  (cd "$_root" && "$PY" -W ignore -c "$_check") || { echo "[env] dependencies still missing after install" >&2; exit 1; }
  _soilnb_ours "$PY" || { echo "[env] soilnb imported from $(_soilnb_at "$PY"), not $_root, after install" >&2; exit 1; }
fi
unset -f _soilnb_at _soilnb_ours
unset _venv _at _why
export PY
