#!/usr/bin/env bash
# Regenerate every figure and table of the paper by executing the numbered notebooks with papermill.
#
#   ./run_all.sh                          # embedded default (simulated world, CPU, minutes)
#   ./run_all.sh --profile smoke          # tiny, for a quick check (< 3 min on 2 cores)
#   ./run_all.sh --profile paper          # the paper's sizes, meant for one GPU
#   ./run_all.sh --only 02,03             # some notebooks only (by number)
#   ./run_all.sh -p seed 1 -p vae_epochs 5
#   ./run_all.sh -p source ossl -p data_dir /path/to/ossl   # real OSSL v1.2 files (see soilnb.ossl.download)
#
# Executed notebooks go to build/notebooks/<profile>/, figures (PNG + PDF) and tables (CSV) to figures/
# (default profile) or figures/<profile>/ (the others), each folder with a manifest.json of the runs that wrote it.
set -euo pipefail
cd "$(dirname "$0")"

profile=default
only=""
params=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --only) only="$2"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    -p|--parameter) params+=(-p "$2" "$3"); names+=("$2"); shift 3 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/env.sh
export MPLBACKEND=Agg PYTHONHASHSEED=0
"$PY" -c "import sys; from soilnb.config import PROFILES, check_keys; p=sys.argv[1]; \
(p in PROFILES) or sys.exit(f'unknown profile {p!r}; choose one of {sorted(PROFILES)}'); check_keys(sys.argv[2:])" \
  "$profile" ${names[@]+"${names[@]}"}

out="build/notebooks/$profile"
mkdir -p "$out" figures
notebooks=(notebooks/[0-9][0-9]_*.ipynb)
total_start=$(date +%s)
printf '%-28s %10s\n' "notebook ($profile)" "wall time"
for nb in "${notebooks[@]}"; do
  base="$(basename "$nb")"
  num="${base%%_*}"
  if [ -n "$only" ] && [[ ",$only," != *",$num,"* ]]; then continue; fi
  start=$(date +%s.%N)
  if ! "$PY" -m papermill "$nb" "$out/$base" -p profile "$profile" ${params[@]+"${params[@]}"} \
        --kernel python3 --cwd notebooks --log-level WARNING > "$out/${base%.ipynb}.log" 2>&1; then
    echo "FAILED: $nb (executed copy kept at $out/$base, log at $out/${base%.ipynb}.log)" >&2
    tail -n 30 "$out/${base%.ipynb}.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  awk -v b="$base" -v s="$start" -v e="$end" 'BEGIN{printf "%-28s %9.1fs\n", b, e-s}'
done
figs="figures"; [ "$profile" = default ] || figs="figures/$profile"
echo "all done in $(( $(date +%s) - total_start )) s; figures and tables in ${SOILNB_FIGURES:-figures}${figs#figures}/, executed notebooks in $out/"
