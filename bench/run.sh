#!/usr/bin/env bash
# Runs the benchmarks, alternating the cases (A B A B ...) so that a noisy
# machine hurts them alike, and prints medians and ratios to untraced.
#
#   ./bench/run.sh [runs]        (default 5 runs of every case)
#
# The table also goes to build/bench/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
./scripts/setup.sh
if ! command -v heaptrack >/dev/null 2>&1; then
  echo "bench: installing heaptrack, the tracer we compare with" >&2
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO=sudo
  $SUDO apt-get install -y -qq heaptrack >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq heaptrack >/dev/null; }
fi
b=build/bench
preload=$PWD/build/libleaktrace.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# case name, then the command; the environment comes from the prefix.
cases=(
  "untraced|"
  "leaktrace|LD_PRELOAD=$preload LEAKTRACE_DIR=$tmp"
  "sampled|LD_PRELOAD=$preload LEAKTRACE_DIR=$tmp LEAKTRACE_SAMPLE=524288"
  "paused|LD_PRELOAD=$preload LEAKTRACE_DIR=$tmp LEAKTRACE_START=paused"
  "heaptrack|HEAPTRACK=1"
)

seconds() { # prints the wall time of "$@" in seconds
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  awk -v d=$((t1 - t0)) 'BEGIN {printf "%.4f", d / 1e9}'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

out=$b/results.txt
{
  echo "# malloc_bench: sliding window of 1024 blocks, 16 B - 4 KB, call depth 2-40"
  echo "# $(date -u +%F), $(nproc) cores, $runs runs each, alternating; medians"
  echo "# leaktrace: full stacks; sampled: LEAKTRACE_SAMPLE=524288; paused: LEAKTRACE_START=paused"
  printf "%-10s %-12s %10s %8s\n" threads case seconds ratio
} | tee "$out"
for threads in 1 2; do
  declare -A times=()
  for ((r = 0; r < runs; r++)); do
    for c in "${cases[@]}"; do
      name=${c%%|*}
      envs=${c#*|}
      rm -f "$tmp"/*.lt "$tmp"/heaptrack.*
      if [ "$envs" = HEAPTRACK=1 ]; then
        t=$(seconds heaptrack --raw -o "$tmp/heaptrack.bench" $b/malloc_bench "$threads" 1000000)
      else
        t=$(seconds env $envs $b/malloc_bench "$threads" 1000000)
      fi
      times[$name]+="$t "
    done
  done
  base=$(echo ${times[untraced]} | tr ' ' '\n' | median)
  for c in "${cases[@]}"; do
    name=${c%%|*}
    m=$(echo ${times[$name]} | tr ' ' '\n' | median)
    printf "%-10s %-12s %10.3f %7.2fx   raw: %s\n" "$threads" "$name" "$m" "$(awk -v m="$m" -v b="$base" 'BEGIN {print m / b}')" "${times[$name]}"
  done | tee -a "$out"
  unset times
done
