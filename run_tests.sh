#!/usr/bin/env bash
# Run the test suite: unit tests + the numbered notebooks under nbval on the smoke profile.
# Extra arguments go to pytest (e.g. ./run_tests.sh -k metrics, ./run_tests.sh -m slow).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/env.sh
export MPLBACKEND=Agg PYTHONHASHSEED=0
exec "$PY" -m pytest -m "not slow and not gpu" tests soilnb --nbval-lax notebooks/ --nbval-current-env -q "$@"
