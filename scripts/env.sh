# Sourced by run_all.sh and run_tests.sh: sets $PY to a Python that has soilnb's dependencies, creating the local
# virtual environment .venv or bringing it in line with requirements/lock.txt (the tested set, hash-checked).
#
#   SOILNB_PYTHON=/path/to/python   use that Python as it is (e.g. a conda env built from environment.yml)
#   SOILNB_TORCH=cpu|cuda           which torch 2.13.0 build .venv gets (default: cpu on Linux without an NVIDIA
#                                   GPU, from https://download.pytorch.org/whl/cpu; else PyPI's, CUDA on Linux)
#   SOILNB_TORCH_INDEX=URL          the package index torch 2.13.0 is taken from (e.g. another CUDA build's)
#   SOILNB_UV=0                     pip, not uv, installs requirements/lock.txt
#
# .venv is installed in three steps: torch==2.13.0 first (by version: its file depends on the build), then
# `pip install --require-hashes --no-deps -r requirements/lock.txt` (by uv, a pinned hash-checked wheel, where it
# can be had: SOILNB_UV=0 for pip), then `pip install --no-deps -e .`. Where the
# lock does not apply (not CPython 3.11 on Linux x86_64) the second step is `pip install -e .[test]` (pyproject's
# ranges). A successful install records the lock's sha256 and the torch build in .venv/soilnb-lock.sha256; a
# .venv whose record or installed versions differ from the lock is installed again.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_torch_version=2.13.0
_uv_version=0.13.8      # the manylinux x86_64 wheel (the lock's platform)
_uv_sha256=e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984
_cpu_index=https://download.pytorch.org/whl/cpu
_lock="$_root/requirements/lock.txt"
_stamp="$_root/.venv/soilnb-lock.sha256"
_check='import soilnb, torch, numpy, pandas, sklearn, scipy, papermill, ipykernel, ipywidgets, filelock, ikpls, xicor, pooch, tqdm, seaborn, nbval, brukeropus, LimeSoDa, safetensors, crepes, mapie, importlinter, ruff, nbconvert, openpyxl'
# Where a Python imports soilnb from, asked from / so that the current directory cannot stand in for
# the installed package (notebook kernels and scripts elsewhere see only the install).
_soilnb_at() { (cd / && "$1" -W ignore -c 'import os, soilnb; print(os.path.realpath(soilnb.__file__))') 2>/dev/null; }
# True when that is this checkout: a .venv copied from another checkout keeps an editable install
# pointing there, and would silently run that checkout's code.
_soilnb_ours() { case "$(_soilnb_at "$1")" in "$(cd "$_root" && pwd -P)/soilnb/"*) return 0 ;; *) return 1 ;; esac; }
# True where the lock applies: CPython 3.11 on Linux x86_64.
_lock_applies() {
  [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] &&
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) or sys.implementation.name != "cpython")'
}
# The torch build: "cpu" or "pypi" (PyPI's default: CUDA on Linux), or "index <URL>".
_torch_build() {
  if [ -n "${SOILNB_TORCH_INDEX:-}" ]; then echo "index $SOILNB_TORCH_INDEX"; return; fi
  case "${SOILNB_TORCH:-auto}" in
    cpu) echo cpu ;;
    cuda) echo pypi ;;
    auto)
      if [ "$(uname -s)" = Linux ] && ! { ls /proc/driver/nvidia/gpus/* >/dev/null 2>&1 ||
                                           nvidia-smi -L 2>/dev/null | grep -q '^GPU'; }; then
        echo cpu
      else
        echo pypi
      fi ;;
    *) echo "[env] SOILNB_TORCH must be cpu, cuda or auto, not '$SOILNB_TORCH'" >&2; return 1 ;;
  esac
}
# What .venv's install record must say: the lock's sha256 (or "ranges") and the torch build.
_wanted() {
  local lock=ranges build
  build="$(_torch_build)" || return 1
  if _lock_applies "$1"; then
    lock="$("$1" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$_lock")"
  fi
  echo "$lock torch==$_torch_version $build"
}
# Exit status 0 when every package the lock names is installed at the lock's version (torch at 2.13.0).
_matches_lock() {
  "$1" -W ignore - "$_lock" "$_torch_version" <<'PY'
import re, sys
from importlib import metadata
want = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", open(sys.argv[1]).read(), re.M))
want["torch"] = sys.argv[2]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
have = {norm(d.metadata["Name"] or ""): d.version for d in metadata.distributions()}
bad = [f"{n} {have.get(norm(n), 'missing')} (lock: {v})" for n, v in want.items()
       if have.get(norm(n), "").split("+")[0] != v]
if bad:
    print("[env] .venv differs from requirements/lock.txt: " + ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""),
          file=sys.stderr)
sys.exit(bool(bad))
PY
}
# The torch download is the large one, so its build is chosen by version and index, never left to chance.
# $3: "force" replaces an installed torch of the right version but another build.
_install_torch() {
  local py="$1" build="$2" force=()
  [ "${3:-}" = force ] && force=(--force-reinstall)
  case "$build" in
    cpu)
      # a short probe, so that a machine that cannot reach the CPU index does not wait through pip's retries
      if "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)' \
           "$_cpu_index" >/dev/null 2>&1; then
        echo "[env] torch==$_torch_version, CPU build, from $_cpu_index" >&2
        "$py" -m pip install -qq --no-compile --no-deps ${force[@]+"${force[@]}"} --index-url "$_cpu_index" \
          "torch==$_torch_version" >&2           # its dependencies are in the lock
        return
      fi
      echo "[env] $_cpu_index not reachable: torch==$_torch_version from the configured package index instead" \
           "(on Linux, PyPI's is the large CUDA build; SOILNB_TORCH_INDEX=URL names another index)" >&2
      set -- ;;
    pypi)
      echo "[env] torch==$_torch_version from the configured package index (PyPI: the CUDA build on Linux)" >&2
      set -- ;;
    index\ *)
      echo "[env] torch==$_torch_version from ${build#index }" >&2
      set -- --extra-index-url "${build#index }" ;;
  esac
  # torch alone first (a forced reinstall of its dependencies would be wasted), then what it needs and the
  # environment lacks, e.g. the CUDA build's libraries, at the versions torch pins
  "$py" -m pip install -qq --no-compile --no-deps ${force[@]+"${force[@]}"} "$@" "torch==$_torch_version" >&2 &&
    "$py" -m pip install -qq --no-compile "$@" "torch==$_torch_version" >&2
}
# True when .venv's torch is 2.13.0 of the build asked for: the install record names the build it was
# installed as; without a record (an older .venv), a +cpu version counts as the CPU build.
_torch_ok() {
  local have recorded
  have="$("$1" -c 'from importlib.metadata import version; print(version("torch"))' 2>/dev/null)" || return 1
  [ "${have%%+*}" = "$_torch_version" ] || return 1
  recorded="$(cut -d' ' -f3- "$_stamp" 2>/dev/null)" || recorded=""
  [ "$recorded" = "$2" ] && return 0
  [ -z "$recorded" ] || return 1
  case "$2" in
    cpu) [ "${have#*+}" = cpu ] ;;
    pypi) [ "${have#*+}" != cpu ] ;;
    *) return 1 ;;
  esac
}
# uv, a pinned and hash-checked wheel, kept in .venv: it installs the lock's wheels in about 3 s where pip takes
# about 19 s (pip unpacks and records them one by one). Nothing where it cannot be had (offline, another platform's
# wheel, SOILNB_UV=0): pip installs the lock then, as before. A copy that does not run is removed and fetched again.
_get_uv() {
  local dir="$_root/.venv/soilnb-uv-$_uv_version"
  [ "${SOILNB_UV:-1}" != 0 ] || return 1
  if ! "$dir/bin/uv" --version >/dev/null 2>&1; then
    rm -rf "$dir"
    printf 'uv==%s --hash=sha256:%s\n' "$_uv_version" "$_uv_sha256" > "$dir.txt" &&
      "$1" -m pip install -qq --no-compile --no-deps --require-hashes --retries 0 --timeout 15 --target "$dir" \
        -r "$dir.txt" >/dev/null 2>&1
    rm -f "$dir.txt"
    "$dir/bin/uv" --version >/dev/null 2>&1 || return 1
  fi
  echo "$dir/bin/uv"
}
# Install (or bring in line) .venv: torch, then the lock (or pyproject's ranges), then soilnb itself.
_install() {
  local py="$1" wanted build force="" uv="" warm
  wanted="$(_wanted "$py")" && build="$(_torch_build)" || return 1
  if ! _torch_ok "$py" "$build"; then                  # torch again only when its version or its build changed
    "$py" -c 'import importlib.metadata as m; m.version("torch")' 2>/dev/null && force=force
    _install_torch "$py" "$build" $force || { echo "[env] installing torch==$_torch_version failed" >&2; return 1; }
  fi
  if _lock_applies "$py"; then
    # (uv reads no pip configuration: pip's index, where one is set, is passed on)
    if uv="$(_get_uv "$py")"; then
      "$uv" pip install -q --python "$py" --link-mode=copy --require-hashes --no-deps \
        ${PIP_INDEX_URL:+--index-url "$PIP_INDEX_URL"} -r "$_lock" >&2 ||
        { echo "[env] uv could not install requirements/lock.txt; pip installs it" >&2; uv=""; }
    fi
    if [ -z "$uv" ]; then
      "$py" -m pip install -qq --no-compile --require-hashes --no-deps -r "$_lock" >&2 ||
        { echo "[env] pip install --require-hashes -r requirements/lock.txt failed" >&2; return 1; }
    fi
    "$py" -m pip install -qq --no-deps --no-build-isolation -e "$_root" >&2 ||
      { echo "[env] pip install -e . failed" >&2; return 1; }
  else
    echo "[env] requirements/lock.txt is for CPython 3.11 on Linux x86_64; installing pyproject.toml's ranges" >&2
    "$py" -m pip install -qq --no-compile -e "$_root[test]" >&2 || { echo "[env] pip install -e .[test] failed" >&2; return 1; }
    # numba reads big CSV tables faster; where it cannot be installed (a Python it does not support yet), pandas does
    "$py" -m pip install -qq --no-compile -e "$_root[test,fast]" >&2 ||
      echo "[env] numba (the fast extra) could not be installed: big CSV tables are read by pandas alone" >&2
  fi
  # pip compiles every installed module to bytecode in one process (about 30 s for torch and the lock on 2 cores);
  # compileall does it on every core, leaving out the packages' own test suites (a quarter of the files, never
  # imported) and the trees a default run does not import (torch.compile's sympy, networkx, inductor and dynamo,
  # the ONNX exporter, the terminal IPython's prompt_toolkit and jedi: a fifth of the rest; compiled where something
  # imports them). A file that does not compile (a template, another Python's syntax) is skipped, as pip skips it.
  # numba compiles the CSV reader of big tables (soilnb.data.ossl.fastcsv) into its cache beside it once, about
  # 1 s, here rather than in the first load of a big table; beside compileall
  (cd "$_root" && "$py" -W ignore -c 'from soilnb.data.ossl import fastcsv; fastcsv.available()') >/dev/null 2>&1 &
  warm=$!
  "$py" -m compileall -qq -j 0 \
    -x 'site-packages/((.*/)?tests?|sympy|networkx|torch/(_inductor|_dynamo|onnx)|prompt_toolkit|jedi)/' \
    "$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
  wait "$warm" || true
  (cd "$_root" && "$py" -W ignore -c "$_check") || { echo "[env] dependencies still missing after install" >&2; return 1; }
  _soilnb_ours "$py" || { echo "[env] soilnb imported from $(_soilnb_at "$py"), not $_root, after install" >&2; return 1; }
  echo "$wanted" > "$_stamp"
}
# Why .venv needs an install (printed), or exit status 1 when it does not.
_needs_install() {
  local at wanted
  if ! (cd "$_root" && "$1" -W ignore -c "$_check") >/dev/null 2>&1; then echo "dependencies missing"; return 0; fi
  if ! _soilnb_ours "$1"; then
    at="$(_soilnb_at "$1")" || true
    if [ -n "$at" ]; then echo "imports soilnb from $at, not from this checkout (a .venv copied from elsewhere?)"
    else echo "has no soilnb installed (only the current directory provided it)"; fi
    rm -f "$_stamp"
    return 0
  fi
  wanted="$(_wanted "$1")" || return 0
  if [ "$(cat "$_stamp" 2>/dev/null)" != "$wanted" ]; then echo "installed from another lock or torch build"; return 0; fi
  if _lock_applies "$1" && ! _matches_lock "$1"; then echo "installed versions differ from the lock"; return 0; fi
  return 1
}
_venv="$_root/.venv/bin/python"
if [ -n "${SOILNB_PYTHON:-}" ]; then
  PY="$SOILNB_PYTHON"
else
  _torch_build >/dev/null || exit 1
  if [ ! -x "$_venv" ]; then
    echo "[env] setting up $_root/.venv (one time; torch==$_torch_version, then requirements/lock.txt)" >&2
    python3 -m venv "$_root/.venv" || { echo "[env] could not create .venv (is python3-venv installed?)" >&2; exit 1; }
  fi
  PY="$_venv"
  if _why="$(_needs_install "$PY")"; then
    # one install at a time into one .venv (two test runs started at once): wait for the other, then look again
    if command -v flock >/dev/null 2>&1; then exec 9>>"$_root/.venv/soilnb-install.lock" && flock 9; fi
    if _why="$(_needs_install "$PY")"; then
      echo "[env] $_root/.venv: $_why; installing (torch==$_torch_version, requirements/lock.txt, soilnb)" >&2
      _install "$PY" || exit 1
    fi
    if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
  fi
fi
unset -f _soilnb_at _soilnb_ours _lock_applies _torch_build _wanted _matches_lock _install_torch _torch_ok _install _needs_install _get_uv
unset _venv _why _root _torch_version _uv_version _uv_sha256 _cpu_index _lock _stamp _check
export PY
