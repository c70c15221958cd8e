#!/bin/sh
# Makes real trace files with the current preload (a program with a few
# dozen stacks and a timeline; one with timers of every kind), then feeds
# them and the small corpus seeds (under 64 KiB: each damaged file gets a
# whole report, and the big seed alone would take a minute) to
# lt-fuzz-realfile.
# Usage: realfile.sh BUILD_DIR LT_FUZZ_REALFILE CORPUS_DIR
set -eu
build=$1 realfile=$2 corpus=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-realfile-XXXXXX")
trap 'rm -rf "$dir"' EXIT
[ -z "${LT_FUZZ_ARTIFACTS:-}" ] || mkdir -p "$LT_FUZZ_ARTIFACTS"
traced() {
        LD_PRELOAD="$build/libleaktrace.so" LEAKTRACE_DIR="$dir" LEAKTRACE_TICK_MS=10 "$@" >/dev/null
}
traced "$build/tests/outofspace" stacks 5 0
traced "$build/tests/timers"
exec "$realfile" "$dir"/leaktrace.*.lt $(find "$corpus" -type f -size -64k | sort)
