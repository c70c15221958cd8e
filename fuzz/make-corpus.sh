#!/bin/sh
# Regenerates the seed corpus: real trace files written by the preload for
# small programs, each made small by lt-fuzz-mkseed (one chunk per section,
# just big enough), named seed-vVERSION-NAME-N.trace. Run after a change of
# the format, from the top of the tree, with a build in build/:
#   sh fuzz/make-corpus.sh [BUILD_DIR]
# Only the seeds of the version the preload writes are replaced: those of
# earlier versions stay, as the tests of the reader's older paths. Crash
# inputs that the fuzzer found (crash-*) are kept: they are the regression
# tests.
set -eu
build=${1:-build}
version=$(sed -n 's/^#define LT_VERSION \([0-9]*\).*/\1/p' include/leaktrace/format.h)
corpus=fuzz/corpus
tests=$build/tests
mkseed=$build/fuzz/clang/lt-fuzz-mkseed
dir=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-corpus-XXXXXX")
trap 'rm -rf "$dir"' EXIT
pre="$(cd "$build" && pwd)/libleaktrace.so"

run() { # NAME [VAR=VALUE...] PROG ARGS...: traced in a directory of its own
        name=$1
        shift
        mkdir -p "$dir/$name"
        env LD_PRELOAD="$pre" LEAKTRACE_DIR="$dir/$name" LEAKTRACE_TICK_MS=10 "$@" >/dev/null 2>&1 || true
}

run deep "$tests/deep"
run timers "$tests/timers"
run fork "$tests/forks" basic
run exec "$tests/execs" first execve
run tables LEAKTRACE_MAX_STACKS=256 LEAKTRACE_MAX_LIVE=1024 LEAKTRACE_HISTORY_SITES=16 "$tests/outofspace" tables 9 3000 keep
run sampled LEAKTRACE_SAMPLE=4096 LEAKTRACE_SEED=7 "$tests/threads" 20000 5 24
run depth LEAKTRACE_DEPTH=4 "$tests/deep"
# Killed while busy, after a snapshot: incomplete, with a timeline, histories,
# a snapshot and mapping sites (the threads' own stacks).
mkdir -p "$dir/killed"
LD_PRELOAD=$pre LEAKTRACE_DIR=$dir/killed LEAKTRACE_TICK_MS=10 "$tests/busy" 30 >/dev/null &
busy=$!
sleep 0.3
"$build/leaktrace" ctl "$busy" snapshot seed >/dev/null
sleep 0.2
kill -KILL "$busy"
wait "$busy" 2>/dev/null || true

rm -f "$corpus"/seed-v"$version"-*
for d in "$dir"/*/; do
        name=$(basename "$d")
        n=0
        for f in "$d"leaktrace.*.lt; do
                n=$((n + 1))
                "$mkseed" "$f" "$corpus/seed-v$version-$name-$n.trace"
        done
done
ls -l "$corpus"
