#!/bin/sh
# The torture program built with UBSan, run under the preload: it must end
# cleanly, with no runtime error from the sanitizer, and its trace files
# must report. Usage: ubsan_torture.sh BUILD_DIR
set -u
build=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
LD_PRELOAD="$build/libleaktrace.so" LEAKTRACE_DIR="$d" UBSAN_OPTIONS=halt_on_error=1 \
  "$build/tests/torture_ubsan" run 20000 4 </dev/null >"$d/out" 2>"$d/err"
rc=$?
status=0
failed=0
if [ $rc -ne 0 ]; then echo "not ok 1 - torture_ubsan exited $rc"; status=1; failed=$((failed + 1)); else echo "ok 1 - torture_ubsan exited 0"; fi
if grep -q 'runtime error' "$d/err"; then
  echo "not ok 2 - UBSan reported:"; grep 'runtime error' "$d/err" | head -5; status=1; failed=$((failed + 1))
else
  echo "ok 2 - no UBSan report"
fi
if grep -q '^torture: [0-9]* ops' "$d/out"; then echo "ok 3 - $(grep '^torture:' "$d/out")"; else echo "not ok 3 - no closing line"; status=1; failed=$((failed + 1)); fi
n=$(ls "$d"/leaktrace.*.lt 2>/dev/null | wc -l)
if [ "$n" -ge 1 ] && "$build/leaktrace" report "$d"/leaktrace.*.lt >/dev/null 2>"$d/rep.err"; then
  echo "ok 4 - $n trace files report"
else
  echo "not ok 4 - $n trace files; report: $(head -3 "$d/rep.err")"; status=1; failed=$((failed + 1))
fi
echo "$((4 - failed)) passed, $failed failed"
exit $status
