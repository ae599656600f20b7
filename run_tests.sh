#!/usr/bin/env bash
# Run the test suite: unit tests + the numbered notebooks under nbval on the smoke profile.
# Extra arguments go to pytest (e.g. ./run_tests.sh -k metrics, ./run_tests.sh -m slow); test files or folders
# among them (./run_tests.sh tests/test_cache.py notebooks/01_data.ipynb) are run instead of the whole suite.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
export MPLBACKEND=Agg PYTHONHASHSEED=0
targets=(tests soilnb notebooks/)
for arg in "$@"; do
  path="${arg%%::*}"                       # tests/test_cache.py::test_x names a test in that file
  if [[ "$arg" != -* && -e "$path" && ( "$path" == *.py || "$path" == *.ipynb || "$path" == */* ) ]]; then
    targets=(); break
  fi
done
exec "$PY" -m pytest -m "not slow and not gpu" ${targets[@]+"${targets[@]}"} --nbval-lax --nbval-current-env \
  --nbval-sanitize-with tests/nbval_sanitize.cfg -q "$@"
