#!/usr/bin/env bash
# The `instructions` part of bench/run.sh: the node servers in steady state,
# in instructions, which the noise of a shared machine does not move.
#
#   bench/instructions.sh PRELOAD SSR_DIR WORK_DIR
#
# Each server runs under callgrind (`--instr-atstart=no`, every thread in a
# file of its own) under each case; it is counted from `callgrind_control
# -i on`, after warm-up requests that let V8 finish compiling, to `-i off`
# after the counted ones, sent one at a time from 127.0.0.1. Traced cases
# run with LEAKTRACE_TICK_MS=3600000: callgrind runs a server about fifty
# times slower, and would bring fifty times the ticks a request (what a
# tick costs is measured apart; see the README's Speed section). Two
# servers run at once, one a core. Prints a table: the instructions of
# every thread, and the ratio to untraced.
set -euo pipefail
preload=$1 ssr=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v callgrind_control >/dev/null || { echo "bench: callgrind_control (valgrind) is not installed" >&2; exit 1; }

# requests PORT N: N GET / one after the other; fails on any other status than 200.
requests() {
  # shellcheck disable=SC2016 # JavaScript, not the shell's
  node -e '
    const http = require("http");
    const [port, n] = process.argv.slice(1).map(Number);
    let left = n;
    const next = () => {
      if (left-- === 0) return;
      http.get({ host: "127.0.0.1", port, path: "/" }, (res) => {
        res.resume();
        if (res.statusCode !== 200) { console.error(`status ${res.statusCode}`); process.exit(1); }
        res.on("end", next);
      }).on("error", (e) => { console.error(e.message); process.exit(1); });
    };
    next();' "$1" "$2"
}

# count NAME WARM N SCRIPT ARGS -- ENV...: prints the instructions of N
# requests after WARM, every thread of the server summed.
count() {
  local name=$1 warm=$2 n=$3 script=$4; shift 4
  local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  local d=$work/cg-$name
  rm -rf "$d" && mkdir -p "$d"
  env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS -u LD_PRELOAD LEAKTRACE_DIR="$d" LEAKTRACE_QUIET=1 "$@" \
    valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
    --callgrind-out-file="$d/cg.out" --log-file="$d/vg.log" \
    node "$script" "${args[@]}" --ready-file "$d/ready.json" >"$d/server.log" 2>&1 &
  local vpid=$! i
  for i in $(seq 1200); do [ -s "$d/ready.json" ] && break; sleep 0.25; done
  [ -s "$d/ready.json" ] || { echo "bench: $name did not serve within 300 s: $(tail -3 "$d/server.log")" >&2; kill "$vpid"; return 1; }
  local port
  port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).port)' "$d/ready.json")
  # A failed load stops the server too: no callgrind is left running.
  if ! { requests "$port" "$warm" && callgrind_control -i on "$vpid" >/dev/null 2>&1 &&
    requests "$port" "$n" && callgrind_control -i off "$vpid" >/dev/null 2>&1; }; then
    echo "bench: $name: the load failed" >&2
    kill -TERM "$vpid"
    wait "$vpid" || true
    return 1
  fi
  kill -TERM "$vpid"
  wait "$vpid" || true
  awk '/^totals:/ {s += $2} END {printf "%.0f\n", s}' "$d"/cg.out-*
}

run_case() { # SERVER CASE ENV...: the count into WORK_DIR/SERVER-CASE.count
  local server=$1 name=$1-${2// /_}; shift 2
  case $server in
    ssr) count "$name" 300 100 "$ssr/server.js" --fixed -- "$@" >"$work/$name.count" ;;
    native) count "$name" 500 300 "$here/native_server.js" -- "$@" >"$work/$name.count" ;;
  esac
}

servers=(native)
[ -f "$ssr/server.js" ] && servers+=(ssr)
cases=("untraced" "full" "full, no JS module" "sampled 524288")
envs=("" "LD_PRELOAD=$preload LEAKTRACE_TICK_MS=3600000"
  "LD_PRELOAD=$preload LEAKTRACE_TICK_MS=3600000 LEAKTRACE_JS=0"
  "LD_PRELOAD=$preload LEAKTRACE_TICK_MS=3600000 LEAKTRACE_SAMPLE=524288")
for server in "${servers[@]}"; do
  for i in 0 2; do
    # shellcheck disable=SC2086 # the case's variables, one word each
    run_case "$server" "${cases[$i]}" ${envs[$i]} &
    # shellcheck disable=SC2086
    run_case "$server" "${cases[$((i + 1))]}" ${envs[$((i + 1))]} &
    wait
  done
done

echo "# callgrind, every thread of the server; SSR: 100 requests after 300, native: 300 after 500, one at a time; ticks off"
printf '%-7s %-21s %15s %7s\n' server case instructions ratio
for server in "${servers[@]}"; do
  base=$(cat "$work/$server-untraced.count")
  for c in "${cases[@]}"; do
    v=$(cat "$work/$server-${c// /_}.count")
    if [ -z "$v" ] || [ -z "$base" ]; then
      echo "bench: $server ($c): no count (BENCH_KEEP=1 keeps the servers' logs)" >&2
      exit 1
    fi
    printf '%-7s %-21s %15s %7s\n' "$server" "$c" "$v" "$(awk -v a="$v" -v b="$base" 'BEGIN {printf "%.4fx", a / b}')"
  done
done
