#!/usr/bin/env bash
# The benchmark suite: leaktrace against the untraced program and against
# heaptrack. Runs every case of a part in alternation (A B A B ...), so that
# a noisy machine hurts them alike, and prints medians, ratios to untraced
# and the raw figures; the tables also go to BUILD/bench/results.txt.
#
#   ./bench/run.sh [-n RUNS] [PART...]
#
# PART: malloc, node-start, js, servers, analyzer, size (the default: all
# six, about 25 minutes on 2 cores), and, only when named, size-long (a
# 10-minute server run) and instructions (the servers in steady state under
# callgrind, about 3 minutes; bench/instructions.sh). RUNS: runs of each
# case (default 3; node-start does 4 times as many and servers twice as
# many, their runs being short). See bench/README.md for each case.
#
# Environment: BENCH_BUILD (default build: scripts/setup.sh installs what is
# missing and builds there; another directory is only configured and
# built), BENCH_SECONDS and BENCH_WARMUP (each load of the servers part,
# default 3 s), BENCH_STEADY_RATE (requests/s of the 60 s and 10 min
# runs, default 100), BENCH_STEADY_SECONDS and BENCH_LONG_SECONDS (their
# lengths, default 60 and 600), BENCH_SSR_DIR (the SSR example, default
# examples/ssr-leak), BENCH_KEEP (1: keep the runs' files, the trace files
# of the size parts among them, and say where).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
parts=()
while [ $# -gt 0 ]; do
  case $1 in
    -n) [ $# -ge 2 ] || { echo "bench: -n needs a number of runs" >&2; exit 2; }
        runs=$2; shift 2 ;;
    [0-9]*) runs=$1; shift ;;
    malloc|node-start|js|servers|analyzer|size|size-long|instructions) parts+=("$1"); shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench: unknown part $1 (malloc node-start js servers analyzer size size-long instructions)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench: runs $runs: not a number from 1 up" >&2; exit 2; }
[ ${#parts[@]} -gt 0 ] || parts=(malloc node-start js servers analyzer size)
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }

build=${BENCH_BUILD:-build}
if [ "$build" = build ]; then
  ./scripts/setup.sh
else
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
fi
[ "$(id -u)" -eq 0 ] && SUDO="" || SUDO=sudo
if ! command -v heaptrack >/dev/null 2>&1; then
  echo "bench: installing heaptrack, the tracer we compare with" >&2
  $SUDO apt-get install -y -qq heaptrack >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq heaptrack >/dev/null; }
fi
if want instructions && ! command -v callgrind_control >/dev/null 2>&1; then
  echo "bench: installing valgrind, for the instructions part" >&2
  $SUDO apt-get install -y -qq valgrind >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq valgrind >/dev/null; }
fi
if want analyzer && [ ! -x /usr/bin/time ]; then
  echo "bench: installing time, for the analyzer's peak memory" >&2
  $SUDO apt-get install -y -qq time >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq time >/dev/null; }
fi
npm_ci() { # installs the pinned packages of $1 when they are missing
  if [ ! -d "$1/node_modules" ]; then
    echo "bench: npm ci in $1" >&2
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
if want servers || want analyzer || want size || want size-long; then
  npm_ci bench
fi

preload=$PWD/$build/libleaktrace.so
[[ $build == /* ]] && preload=$build/libleaktrace.so
lt=${preload%/libleaktrace.so}/leaktrace
ssr=${BENCH_SSR_DIR:-examples/ssr-leak}
steady_rate=${BENCH_STEADY_RATE:-100}
steady_seconds=${BENCH_STEADY_SECONDS:-60}
long_seconds=${BENCH_LONG_SECONDS:-600}
tmp=$(mktemp -d)
if [ "${BENCH_KEEP:-}" = 1 ]; then
  trap 'echo "bench: the runs'"'"' files are kept in $tmp" >&2' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi
out=${preload%/libleaktrace.so}/bench/results.txt
mkdir -p "${out%/*}"

seconds() { # prints the wall time of "$@" and its CPU time (user + system), in seconds
  local TIMEFORMAT='%3R %3U %3S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "bench: failed: $*" >&2; return 1; }
  awk '{printf "%s %.3f", $1, $2 + $3}' <<<"$t"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
say() { echo "$@" | tee -a "$out"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
{
  echo "# leaktrace benchmarks, $(date -u '+%F %H:%M UTC'): ${parts[*]}, $runs runs"
  echo "# $(nproc) cores ($cpu), kernel $(uname -r), node $(node --version), $(heaptrack --version 2>/dev/null | head -1)"
  echo "# ratios to untraced within one run are what count: absolute figures on a shared machine are noise"
} >"$out"
cat "$out"

# "name|environment" of the cases run as `env ENVIRONMENT PROGRAM`;
# heaptrack is run as heaptrack --raw: it records, compressed, and does
# not interpret (heaptrack_interpret runs afterwards and is not timed).
lt_env="LD_PRELOAD=$preload LEAKTRACE_DIR=$tmp LEAKTRACE_QUIET=1"
run_case() { # run_case ENVIRONMENT PROGRAM ARGS...: prints the seconds it took
  local envs=$1
  shift
  rm -rf "${tmp:?}"/*
  if [ "$envs" = heaptrack ]; then
    seconds heaptrack --raw -o "$tmp/heaptrack.bench" "$@"
  else
    seconds env $envs "$@"
  fi
}

# table LABEL ROUNDS WARMUP "name|env"... -- PROGRAM ARGS: runs every case
# in turn, WARMUP rounds not counted then ROUNDS counted, and prints one
# line per case: median wall and CPU seconds, each with its ratio to untraced.
table() {
  local label=$1 rounds=$2 warmup=$3
  shift 3
  local cases=()
  while [ "$1" != -- ]; do cases+=("$1"); shift; done
  shift
  declare -A wall=() cpu=()
  local r c t
  for ((r = -warmup; r < rounds; r++)); do
    for c in "${cases[@]}"; do
      t=$(run_case "${c#*|}" "$@")
      [ $r -lt 0 ] && continue
      wall[${c%%|*}]+="${t% *} "
      cpu[${c%%|*}]+="${t#* } "
    done
  done
  local w0 c0 w1 c1
  w0=$(echo "${wall[untraced]}" | median)
  c0=$(echo "${cpu[untraced]}" | median)
  for c in "${cases[@]}"; do
    c=${c%%|*}
    w1=$(echo "${wall[$c]}" | median)
    c1=$(echo "${cpu[$c]}" | median)
    say "$(printf "%-10s %-21s %8.3f %6sx %8.3f %6sx   raw: %s| %s" "$label" "$c" "$w1" "$(ratio "$w1" "$w0")" \
      "$c1" "$(ratio "$c1" "$c0")" "${wall[$c]}" "${cpu[$c]% }")"
  done
}

if want malloc; then
  say ""
  say "## malloc: bench/malloc_bench.c, a sliding window of 1024 blocks of 16 B to 4 KB, call depth 2 to 40, 1M steps a thread"
  say "# wall and CPU (user + system) seconds, median of $runs; ratios to untraced with as many threads"
  say "$(printf "%-10s %-21s %8s %7s %8s %7s" threads case seconds ratio "CPU s" ratio)"
  for threads in 1 2; do
    table "$threads" "$runs" 0 "untraced|" "full|$lt_env" "sampled 524288|$lt_env LEAKTRACE_SAMPLE=524288" \
      "paused|$lt_env LEAKTRACE_START=paused" "heaptrack --raw|heaptrack" \
      -- "${preload%/libleaktrace.so}/bench/malloc_bench" "$threads" 1000000
  done
fi

if want node-start; then
  say ""
  say "## node-start: node -e 0, median of $((4 * runs)) after one round not counted"
  say "# full and sampled load the JS timer module (as users get them); 'no JS module': LEAKTRACE_JS=0"
  # With it set, node parses that certificate bundle at every start: on a
  # Debian bundle 430 k more allocations, 25 times node's own 17 k.
  [ -z "${NODE_EXTRA_CA_CERTS:-}" ] ||
    say "# NODE_EXTRA_CA_CERTS is set: node loads $NODE_EXTRA_CA_CERTS at start-up, many more mallocs"
  say "$(printf "%-10s %-21s %8s %7s %8s %7s" "" case seconds ratio "CPU s" ratio)"
  table "node -e 0" $((4 * runs)) 1 "untraced|" "full|$lt_env" "full, no JS module|$lt_env LEAKTRACE_JS=0" \
    "sampled 524288|$lt_env LEAKTRACE_SAMPLE=524288" "sampled, no JS module|$lt_env LEAKTRACE_SAMPLE=524288 LEAKTRACE_JS=0" \
    "heaptrack --raw|heaptrack" -- node -e 0
fi

if want js; then
  say ""
  say "## js: the JS timer module alone (node/bench/bench.js), with and without --require leaktrace.js"
  node node/bench/bench.js "$runs" | tee -a "$out"
fi

if want servers; then
  servers=(native)
  if [ -f "$ssr/server.js" ]; then
    [ -n "${BENCH_SSR_DIR:-}" ] || npm_ci "$ssr"
    servers+=(ssr)
  fi
  say ""
  say "## servers: requests/s and p99 latency, as fast as it goes (max) and at a fixed rate"
  [ -f "$ssr/server.js" ] || say "# ssr: skipped, $ssr/server.js is not there"
  BENCH_SSR_DIR=$(cd "$ssr" 2>/dev/null && pwd || echo "$ssr") \
    node bench/servers.js table "$preload" $((2 * runs)) "${servers[@]}" | tee -a "$out"
fi

if want instructions; then
  [ ! -f "$ssr/server.js" ] || [ -n "${BENCH_SSR_DIR:-}" ] || npm_ci "$ssr"
  say ""
  say "## instructions: the node servers in steady state"
  [ -f "$ssr/server.js" ] || say "# ssr: skipped, $ssr/server.js is not there"
  mkdir -p "$tmp/instructions"
  bench/instructions.sh "$preload" "$(cd "$ssr" 2>/dev/null && pwd || echo "$ssr")" "$tmp/instructions" | tee -a "$out"
fi

# steady SECONDS: the native server traced (every stack, JS module on)
# under a fixed rate; prints the path of its trace file.
steady() {
  local d=$tmp/steady-$1
  mkdir -p "$d"
  node bench/servers.js steady "$preload" "$d" "$1" "$steady_rate"
}
size_line() { # size_line LABEL "TRACE RPS P99": sizes of the trace and its JS state
  local f=${2%% *} js=${2%%.lt *}.js.json
  say "$(printf "%-10s %12s %12s %10s   served %s requests/s, p99 %s ms" "$1" "$(stat -c %s "$f")" \
    "$(($(stat -c %b "$f") * $(stat -c %B "$f")))" "$([ -f "$js" ] && stat -c %s "$js" || echo none)" \
    "$(cut -d' ' -f2 <<<"$2")" "$(cut -d' ' -f3 <<<"$2")")"
}
trace60=""
if want analyzer || want size || want size-long; then
  echo "bench: a $steady_seconds s run of the native server, traced, at $steady_rate requests/s" >&2
  trace60=$(steady "$steady_seconds")
fi

if want analyzer; then
  say ""
  say "## analyzer: leaktrace report (text) of the trace of a $steady_seconds s run of the native server at $steady_rate requests/s"
  say "# $(stat -c %s "${trace60%% *}") bytes; /usr/bin/time -v; median of $runs"
  say "$(printf "%-10s %9s %9s %12s" "" seconds "user s" "max RSS KB")"
  wall=() user=() rss=()
  for ((r = 0; r < runs; r++)); do
    /usr/bin/time -v -o "$tmp/time.txt" "$lt" report "${trace60%% *}" >/dev/null 2>"$tmp/report.err" ||
      { echo "bench: leaktrace report failed:" >&2; cat "$tmp/report.err" >&2; exit 1; }
    wall+=("$(awk -F': ' '/Elapsed/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$tmp/time.txt")")
    user+=("$(awk -F': ' '/User time/ {print $2}' "$tmp/time.txt")")
    rss+=("$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp/time.txt")")
  done
  say "$(printf "%-10s %9s %9s %12s   raw: %s | %s | %s" report "$(echo "${wall[*]}" | median)" "$(echo "${user[*]}" | median)" \
    "$(echo "${rss[*]}" | median)" "${wall[*]}" "${user[*]}" "${rss[*]}")"
fi

if want size || want size-long; then
  say ""
  say "## size: trace files of the native server, traced (every stack, JS module on), at $steady_rate requests/s"
  say "$(printf "%-10s %12s %12s %10s" run "bytes" "on disk" ".js.json")"
  size_line "$steady_seconds s" "$trace60"
fi
if want size-long; then
  echo "bench: a $long_seconds s run of the native server, traced, at $steady_rate requests/s" >&2
  trace_long=$(steady "$long_seconds")
  size_line "$long_seconds s" "$trace_long"
  say "# $long_seconds s over $steady_seconds s: $(ratio "$(stat -c %s "${trace_long%% *}")" "$(stat -c %s "${trace60%% *}")")x (target: at most 1.2x)"
fi
echo "bench: the tables are in $out" >&2
