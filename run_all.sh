#!/usr/bin/env bash
# Regenerate every figure and table of the paper by executing the numbered notebooks with papermill.
#
#   ./run_all.sh                          # embedded default (simulated world, CPU, minutes)
#   ./run_all.sh --profile smoke          # tiny, for a quick check (< 3 min on 2 cores)
#   ./run_all.sh --profile paper          # the paper's sizes, meant for one GPU
#   ./run_all.sh --only 02,03             # some notebooks only (by number)
#   ./run_all.sh -p seed 1 -p vae_epochs 5
#   ./run_all.sh -p source ossl -p data_dir /path/to/ossl   # real OSSL v1.2 files (see soilnb.data.ossl.download)
#   ./run_all.sh -p source files -p data_dir my_mir.csv -p properties OC,clay,CEC   # any spectra with properties
#
# Executed notebooks go to build/notebooks/<profile>/, figures (PNG + PDF) and tables (CSV) to figures/
# (default profile) or figures/<profile>/ (the others), each folder with a manifest.json of the runs that wrote it.
set -euo pipefail
cd "$(dirname "$0")"

profile=default
only=""
params=()
pairs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) [ $# -ge 2 ] || { echo "run_all.sh: --profile needs a value" >&2; exit 2; }; profile="$2"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --only) [ $# -ge 2 ] || { echo "run_all.sh: --only needs notebook numbers (e.g. --only 02,03)" >&2; exit 2; }; only="$2"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    -p|--parameter)
      if [ $# -lt 3 ]; then echo "run_all.sh: $1 needs a NAME and a VALUE (e.g. -p seed 1)" >&2; exit 2; fi
      params+=(-p "$2" "$3"); pairs+=("$2" "$3"); shift 3 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

source scripts/env.sh
export MPLBACKEND=Agg PYTHONHASHSEED=0
# every parameter is validated (name, type, range, combinations) before any notebook starts, and Python
# says where the outputs go (soilnb.core.config.Config.figures_dir)
figs="$("$PY" -m soilnb.core --profile "$profile" ${pairs[@]+"${pairs[@]}"})" || exit 2
# the notebooks this run's world cannot run (a MIR-only or NIR-only world), one "NN<TAB>reason" line each
plan="$("$PY" -m soilnb.stages --profile "$profile" ${pairs[@]+"${pairs[@]}"})" || exit 2

if [ -n "$only" ]; then                      # --only 2,3 means 02,03
  norm=""
  for num in ${only//,/ }; do
    [[ "$num" =~ ^[0-9]+$ ]] || { echo "run_all.sh: --only takes notebook numbers, got '$num'" >&2; exit 2; }
    norm="$norm,$(printf '%02d' "$((10#$num))")"
  done
  only="${norm#,}"
fi
notebooks=()
for nb in notebooks/[0-9][0-9]_*.ipynb; do
  base="$(basename "$nb")"
  if [ -z "$only" ] || [[ ",$only," == *",${base%%_*},"* ]]; then notebooks+=("$nb"); fi
done
if [ -n "$only" ]; then
  for num in ${only//,/ }; do
    ls notebooks/"$num"_*.ipynb >/dev/null 2>&1 || {
      echo "run_all.sh: --only $num matches no notebook (have: $(cd notebooks && ls [0-9][0-9]_*.ipynb | cut -c1-2 | tr '\n' ' '))" >&2
      exit 2; }
  done
fi

out="build/notebooks/$profile"
mkdir -p "$out" "$figs"
total_start=$(date +%s)
printf '%-28s %10s\n' "notebook ($profile)" "wall time"
for nb in "${notebooks[@]}"; do
  base="$(basename "$nb")"
  why="$(printf '%s\n' "$plan" | awk -F'\t' -v n="${base%%_*}" '$1 == n {print $2}')"
  if [ -n "$why" ]; then printf '%-28s skipped: %s\n' "$base" "$why"; continue; fi
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
echo "all done in $(( $(date +%s) - total_start )) s; figures and tables in $figs/, executed notebooks in $out/"
