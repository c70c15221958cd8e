#!/bin/sh
# Fuzzes for a bounded time, going on past crashes (-fork=1
# -ignore_crashes=1) so that one known bug does not hide the next. New inputs
# go to ./work, never to the source corpus; crash inputs to ./artifacts/.
# Fails when any crash was found, and shows where each one stops.
# Usage: fuzz.sh FUZZ_TRACE SECONDS CORPUS_DIR
set -u
bin=$1 secs=$2 corpus=$3
rm -rf artifacts
mkdir -p work artifacts
"$bin" -fork=1 -ignore_crashes=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=artifacts/ work "$corpus" >fuzz.log 2>&1
grep -E '^#[0-9]+' fuzz.log | tail -1
found=0
for f in artifacts/*; do
        [ -e "$f" ] || continue
        found=$((found + 1))
        echo "$f:"
        "$bin" "$f" 2>&1 | grep -E 'runtime error|ERROR: |SUMMARY|lt_fuzz:|^    #[0-3] ' | head -8
done
if [ "$found" -gt 0 ]; then
        echo "$found input(s) stop the analyzer: fix, and add each to fuzz/crashes/ as a regression test"
        exit 1
fi
echo "no crash in $secs s"
