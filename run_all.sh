#!/usr/bin/env bash
# Regenerate every figure and table of the paper by executing the numbered notebooks with papermill.
#
#   ./run_all.sh                          # embedded default (simulated world, CPU, minutes)
#   ./run_all.sh --profile smoke          # tiny, for a quick check (< 3 min on 2 cores)
#   ./run_all.sh --profile paper          # the paper's sizes, meant for one GPU
#   ./run_all.sh --only 02,03             # some notebooks only (by number)
#   ./run_all.sh --force                  # execute every notebook, even those that are up to date
#   ./run_all.sh -p seed 1 -p vae_epochs 5
#   ./run_all.sh -p source ossl -p data_dir /path/to/ossl   # real OSSL v1.2 files (see soilnb.data.ossl.download)
#   ./run_all.sh -p source files -p data_dir my_mir.csv -p properties OC,clay,CEC   # any spectra with properties
#
# Executed notebooks go to build/notebooks/<profile>/, figures (PNG + PDF) and tables (CSV) to figures/
# (default profile) or figures/<profile>/ (the others), each folder with a manifest.json of the runs that wrote it.
# The run ends with a summary (what ran, what was skipped and why, the outputs, the claims table), recorded in that
# manifest.json (runs, last_run), and an HTML report: build/report/index.html (default) or build/report/<profile>/.
# A notebook whose code, parameters, data and earlier notebooks are unchanged since it last ran through, and whose
# outputs are still there, is not executed again ("up to date"; soilnb.core.stamps); --force executes it.
set -euo pipefail
cd "$(dirname "$0")"

profile=default
only=""
force=""
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
    --force) force=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

# executed notebooks and the HTML report follow the figures folder: build/report for the paper run (default
# profile, simulated world), build/report/<profile> for other profiles, build/report/<source>-<data>/<profile> for
# runs on OSSL or own files, so that no run writes over another's
rel="$("$PY" -c 'import os, sys; from soilnb.core import paths; r = os.path.relpath(sys.argv[1], paths.FIGURES); print("" if r == "." else r)' "$figs")"
case "$rel" in ..*|/*) rel="$profile" ;; esac   # a figures folder outside the figures root: by profile
out="build/notebooks/${rel:-default}"
report="build/report${rel:+/$rel}"
mkdir -p "$out" "$figs"
# the run's id names it in the figures folder's manifest.json; the notebooks' record_skip files items under it
run_id="$(date +%Y%m%dT%H%M%S)-$$"
summary_args=()
for ((i = 0; i < ${#pairs[@]}; i += 2)); do summary_args+=(--param "${pairs[i]}" "${pairs[i+1]}"); done
started="$(date +%Y-%m-%dT%H:%M:%S)"
export SOILNB_RUN_ID="$run_id"
times="$out/run.tsv"                         # notebook, status, seconds, note: what the summary reads
: > "$times"
stamps="$out/stamps"                         # one stamp per notebook that ran through (soilnb.core.stamps)
# every notebook of the project (a stamp's key chains all those before it, whatever --only selects), and those this
# world cannot run (not waited for); notebook<TAB>key<TAB>current|stale: why<TAB>last run or -<TAB>code key
all_nbs=(notebooks/[0-9][0-9]_*.ipynb)
skips=()
for nb in "${all_nbs[@]}"; do
  b="$(basename "$nb")"
  if printf '%s\n' "$plan" | awk -F'\t' -v n="${b%%_*}" '$1 == n {f=1} END {exit !f}'; then skips+=(--skip "$b"); fi
done
state="$("$PY" -m soilnb.core.stamps plan --profile "$profile" --stamps "$stamps" \
  ${summary_args[@]+"${summary_args[@]}"} ${skips[@]+"${skips[@]}"} "${all_nbs[@]}")" || exit 2
now() { "$PY" -c 'import time; print(f"{time.time():.3f}")'; }   # BSD date has no %N
failed=""
runner_pid=""
# the notebook runner dies with this script (kill -9 included: the parent-death signal), its kernel with the runner
# (ipykernel watches its parent), the kernel's worker pools within seconds (soilnb.models.torchutil.IDLE_WORKER_S): a killed
# run leaves no notebook writing tables behind it
guard=()
if command -v setpriv > /dev/null && setpriv --help 2>&1 | grep -q pdeathsig; then guard=(setpriv --pdeathsig KILL --); fi
printf '%-28s %10s\n' "notebook ($profile)" "wall time"
for nb in "${notebooks[@]}"; do
  base="$(basename "$nb")"
  log="$out/${base%.ipynb}.log"
  if [ -n "$failed" ]; then printf '%s\tnot run\t\t%s\n' "$base" "$failed failed before it" >> "$times"; continue; fi
  why="$(printf '%s\n' "$plan" | awk -F'\t' -v n="${base%%_*}" '$1 == n {print $2}')"
  if [ -n "$why" ]; then
    printf '%-28s skipped: %s\n' "$base" "$why"
    printf '%s\tskipped\t\t%s\n' "$base" "$why" >> "$times"
    continue
  fi
  IFS=$'\t' read -r _ _ current previous code_key < <(printf '%s\n' "$state" | awk -F'\t' -v b="$base" '$1 == b') \
    || true
  [ "$previous" != - ] || previous=""
  if [ -z "$force" ] && [ "$current" = current ]; then
    printf '%-28s up to date (--force executes it)\n' "$base"
    printf '%s\tcurrent\t\t%s\n' "$base" "$previous" >> "$times"
    continue
  fi
  rm -f "$stamps/$base.json"
  if [ -z "$runner_pid" ]; then
    # one kernel for the run's notebooks, each from a fresh kernel's state (soilnb.core.runner), fed one
    # notebook a line through a named pipe and answering on another (macOS bash 3.2 has no co-processes); its
    # own messages and the kernel's go to runner.log. Started in the background as a simple command, so the
    # guard's parent is this script.
    runner_dir="$(mktemp -d "${TMPDIR:-/tmp}/soilnb-runner.XXXXXX")"
    mkfifo "$runner_dir/requests" "$runner_dir/replies"
    ${guard[@]+"${guard[@]}"} "$PY" -m soilnb.core.runner --cwd notebooks -p profile "$profile" \
      ${params[@]+"${params[@]}"} < "$runner_dir/requests" > "$runner_dir/replies" 2> "$out/runner.log" &
    runner_pid=$!
    exec 7> "$runner_dir/requests" 8< "$runner_dir/replies"
    rm -rf "$runner_dir"                       # the open pipes stay usable
  fi
  : > "$log"
  start="$(now)"
  reply=""
  trap '' PIPE                                 # a runner that has ended: a failed write, not a killed script
  if printf '%s\t%s\t%s\n' "$nb" "$out/$base" "$log" 2> /dev/null >&7; then
    read -r reply <&8 || true
  fi
  trap - PIPE
  [ -n "$reply" ] || echo "the notebook runner stopped (its messages: $out/runner.log)" >> "$log"
  if [ "$reply" = ok ]; then
    status=ran note=""
    upto=()                                    # the project's notebooks up to this one
    for n in "${all_nbs[@]}"; do upto+=("$n"); [ "$n" != "$nb" ] || break; done
    "$PY" -m soilnb.core.stamps write --profile "$profile" ${summary_args[@]+"${summary_args[@]}"} \
      --stamp "$stamps/$base.json" --executed "$out/$base" --figures "$figs" --since "$start" \
      --code-key "$code_key" "${upto[@]}" || echo "run_all.sh: could not record $base as up to date" >&2
  else
    status=failed note="$log" failed="$base"
    echo "FAILED: $nb (executed copy kept at $out/$base, log at $log)" >&2
    tail -n 30 "$log" >&2
    # and what the kernel itself said while this notebook ran (a crash, a killed process), if anything
    awk -v head="[runner] $base" '$0 == head {on = 1; next} /^\[runner\] [0-9][0-9]_/ {on = 0} on' \
      "$out/runner.log" 2> /dev/null | tail -n 15 >&2 || true
  fi
  end="$(now)"
  secs="$(awk -v s="$start" -v e="$end" 'BEGIN{printf "%.1f", e-s}')"
  printf '%s\t%s\t%s\t%s\n' "$base" "$status" "$secs" "$note" >> "$times"
  [ "$status" = failed ] || printf '%-28s %9ss\n' "$base" "$secs"
done

if [ -n "$runner_pid" ]; then                 # no more notebooks: the runner shuts its kernel down and ends
  exec 7>&-
  wait "$runner_pid" 2>/dev/null || true
  exec 8<&-
fi

# the claims table (from the tables of this run's parameters) and, when every notebook ran, the results page
"$PY" -m soilnb.report.claims "$figs" > "$out/claims.log" 2>&1 \
  || echo "run_all.sh: the claims table failed (see $out/claims.log)" >&2
if [ -z "$failed" ]; then
  "$PY" -m soilnb.report.results_page "$figs" > "$out/results_page.log" 2>&1 \
    || echo "run_all.sh: the results page failed (see $out/results_page.log)" >&2
fi
# what ran, what was skipped and why, where the outputs are, the claims; into manifest.json and the HTML report
echo
"$PY" -m soilnb.report.summary --times "$times" --figures "$figs" --notebooks "$out" --report "$report" \
  --profile "$profile" --run-id "$run_id" --started "$started" ${summary_args[@]+"${summary_args[@]}"} \
  || echo "run_all.sh: the run summary failed" >&2
if [ -n "$failed" ]; then
  echo "run_all.sh: $failed failed (log: $out/${failed%.ipynb}.log)" >&2
  exit 1
fi
