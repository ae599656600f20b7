#!/usr/bin/env bash
# The GPU checks of issues 4, 5 and 7, in one call on a lent device machine (see /work/.library/device).
#
# Here first:  python3 scripts/device_wheels.py      (fills .whl/ with what the device image lacks)
# Then one device call, e.g.  run(command="bash scripts/device_paper.sh", carry=[".whl"], timeout_s=600)
# Steps (each logged to $OUT, which the device tool returns; at most 8 files come back):
#   1. the VAE throughput benchmark at the paper's size (334,665 x 1,701), eager and compiled;
#   2. pytest -m gpu (the CUDA/bf16 training path);
#   3. ./run_all.sh --profile paper (all six notebooks, GPU), per-notebook times in run_all.log;
#      figures and tables packed into figures.tar.gz.
# STEPS="1 2" runs a subset; PAPER_ARGS="-p vae_epochs 20" passes overrides to run_all.sh.
# A device command may run 10 minutes: if the paper run needs longer, split it over calls made back to back
# (a warm machine keeps data/cache for 30 s): STEPS=3 PAPER_ARGS="--only 01,02", then STEPS=3 PAPER_ARGS="--only 03,04,05,06".
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/device_out}"
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed" | tee "$OUT/error.log"; exit 1; }
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD"
fi
export SOILNB_PYTHON=python3 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, soilnb; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" >> "$OUT/gpu.txt" 2>&1
STEPS="${STEPS:-1 2 3}"
rc=0
for s in $STEPS; do
  case "$s" in
    1) { python3 benchmarks/bench_vae.py --device cuda --epochs 4 \
         && python3 benchmarks/bench_vae.py --device cuda --epochs 4 --compile; } 2>&1 | tee "$OUT/bench_vae.log" || rc=1 ;;
    2) python3 -m pytest -q -m gpu tests/test_train.py 2>&1 | tee "$OUT/pytest_gpu.log" || rc=1 ;;
    3) # shellcheck disable=SC2086
       ./run_all.sh --profile paper ${PAPER_ARGS:-} 2>&1 | tee "$OUT/run_all.log" || rc=1
       tar czf "$OUT/figures.tar.gz" figures/paper build/notebooks/paper/*.log || rc=1 ;;   # paper outputs: figures/paper/
    *) echo "unknown step $s" ;;
  esac
done
exit $rc
