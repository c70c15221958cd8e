#!/usr/bin/env bash
# The small native example: sets up and builds what is missing, runs a
# leaking C program under `leaktrace run`, and prints its report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
out=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-example.XXXXXX")
echo "example: tracing build/examples/leaky; trace files go to $out" >&2
# 400 000 requests with a point of the timeline every 20 ms: about half a
# second, enough history for each site to be judged (leak, cache, ...);
# 1000 requests would end before the second point.
LEAKTRACE_TICK_MS=20 build/leaktrace run -o "$out" -- build/examples/leaky 400000
