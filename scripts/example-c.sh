#!/usr/bin/env bash
# The small native example: sets up and builds what is missing, runs a
# leaking C program under `leaktrace run`, and prints its report.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
out=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-example.XXXXXX")
echo "example: tracing build/examples/leaky; trace files go to $out" >&2
build/leaktrace run -o "$out" -- build/examples/leaky 1000
