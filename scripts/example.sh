#!/usr/bin/env bash
# The main job, on the case leaktrace was born from (examples/ssr-leak, a
# React server-rendering site whose component arms a window.setInterval on
# the server and never clears it): sets up and builds what is missing,
# starts the server under `leaktrace run`, loads it with autocannon on
# 127.0.0.1 at a fixed rate, lets it idle, stops it with SIGTERM, then prints
# the report (top 5 sites) and writes it, the JSON and markdown reports and
# the timeline into the output directory. The C example: scripts/example-c.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: scripts/example.sh [--fixed] [--seconds N] [--rate N] [-o DIR]
  --fixed      the fixed component (setInterval in componentDidMount)
  --seconds N  seconds of load (default 20)
  --rate N     requests a second (default 10)
  -o DIR       where traces and reports go (default: a new directory in /tmp)
EOF
}

fail() {
  echo "example: $*" >&2
  exit 1
}

number() { # NAME VALUE MAX: VALUE, when a whole number from 1 to MAX
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le "$3" ] ||
    { echo "example: $1 $2: not a number from 1 to $3" >&2; usage >&2; exit 2; }
  echo "$2"
}

fixed=0 seconds=20 rate=10 out=""
while [ $# -gt 0 ]; do
  case "$1" in
  --fixed) fixed=1 ;;
  --seconds) [ $# -ge 2 ] || { usage >&2; exit 2; }; seconds=$(number "$1" "$2" 3600); shift ;;
  --rate) [ $# -ge 2 ] || { usage >&2; exit 2; }; rate=$(number "$1" "$2" 1000); shift ;;
  -o) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "example: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

./scripts/setup.sh

if [ -n "$out" ]; then
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-ssr.XXXXXX")
fi
example=examples/ssr-leak
version=leaky
server_args=(--ready-file "$out/server.json")
if [ "$fixed" = 1 ]; then
  version=fixed
  server_args+=(--fixed)
fi
rm -f "$out/server.json"

# A point of the timeline every half second: 40 over the default run, enough
# for the verdicts and the growth per live timer.
echo "example: starting the $version server under leaktrace; traces go to $out" >&2
LEAKTRACE_TICK_MS="${LEAKTRACE_TICK_MS:-500}" \
  build/leaktrace run -o "$out" --no-report -- node "$example/server.js" "${server_args[@]}" &
run_pid=$!
pid=""
stop_server() {
  # Not ready yet: the server is the child of leaktrace run.
  [ -n "$pid" ] || pid=$(ps -o pid= --ppid "$run_pid" 2>/dev/null | tr -d ' ' | head -n 1) || true
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  wait "$run_pid" 2>/dev/null || true
}
trap stop_server EXIT

for _ in $(seq 600); do
  [ -f "$out/server.json" ] && break
  kill -0 "$run_pid" 2>/dev/null || fail "the server ended before it served (see above)"
  sleep 0.1
done
[ -f "$out/server.json" ] || fail "the server did not start serving within 60 s"
read -r pid port < <(node -e 'const s = require(process.argv[1]); console.log(s.pid, s.port)' "$out/server.json")

url="http://127.0.0.1:$port/"
amount=$((seconds * rate))
echo "example: $amount requests to $url at $rate a second (autocannon)" >&2
node "$example/node_modules/autocannon/autocannon.js" -j -R "$rate" -a "$amount" -c 2 -t 30 "$url" \
  >"$out/load.json" || fail "autocannon failed"
node -e '
const r = require(process.argv[1]);
console.error(`example: ${r["2xx"]} answered 200, ${r.non2xx} other, ${r.errors} errors, ` +
  `${r.timeouts} timeouts; latency ${r.latency.p50} ms median, ${r.latency.p97_5} ms at 97.5%, ${r.latency.max} ms at most`);
' "$out/load.json"

# A leak does not come back when the load stops: the timeline shows it.
echo "example: idle for 3 s, then SIGTERM" >&2
sleep 3
kill -TERM "$pid"
status=0
wait "$run_pid" || status=$?
trap - EXIT
[ "$status" = 0 ] || fail "the traced server exited with status $status"

trace="$out/leaktrace.$pid.lt"
build/leaktrace report --top 5 "$trace" | tee "$out/report.txt"
build/leaktrace report --format json "$trace" >"$out/report.json"
build/leaktrace report --format markdown "$trace" >"$out/report.md"
build/leaktrace timeline -o "$out/timeline.svg" "$trace"

node -e '
const path = require("path");
const rep = require(process.argv[1]);
const mine = rep.timers.filter((t) => t.kind === "js" && t.frames[0]?.file?.endsWith("/app/MapPanel.js"));
if (mine.length === 0) {
  console.error("example: no live timer from the component");
} else {
  const f = mine[0].frames[0];
  console.error(`example: live timers of ${path.basename(f.file)}:${f.line} (${f.function}): ${mine[0].live}` +
    `${rep.timers[0] === mine[0] ? ", the first site of the report" : ""}`);
}
' "$out/report.json"
cat >&2 <<EOF
example: report    $out/report.txt (top 5 sites; report.json and report.md: top 20)
example: timeline  $out/timeline.svg
example: trace     $trace (JS state: leaktrace.$pid.js.json)
EOF
