#!/bin/sh
# Seeds for fuzz_cfi: of each ELF file named, the bytes from the start of
# its .eh_frame_hdr to the end of its .eh_frame, as the loader maps them
# (the two sections in this order, as GNU ld places them).
# Usage: make-cfi-seeds.sh OUT_DIR ELF...
set -eu
out=$1
shift
mkdir -p "$out"
for elf in "$@"; do
        set -- $(readelf -SW "$elf" | sed 's/^ *\[ *[0-9]*\] *//' | awk '
                $1 == ".eh_frame_hdr" { h = $4 }
                $1 == ".eh_frame" { e = $4; n = $5 }
                END { if (h != "" && e != "") print h, e, n }')
        [ $# -eq 3 ] && [ $((0x$2)) -gt $((0x$1)) ] && set -- $((0x$1)) $((0x$2 + 0x$3 - 0x$1))
        [ $# -eq 2 ] || { echo "make-cfi-seeds: $elf: no .eh_frame_hdr before .eh_frame" >&2; exit 1; }
        dd if="$elf" of="$out/$(basename "$elf").seg" bs=1 skip="$1" count="$2" status=none
done
