/* Makes a small seed for the fuzzer out of a real trace file: the same
 * header and the same records, but each section in a single chunk just big
 * enough for what it holds (chunk 0 of a power-of-two size), one after the
 * other. A file of 300 KB, mostly space reserved for growth, becomes a few
 * dozen KB that reads the same (records and indexes are unchanged). The
 * seed is of the input's format version.
 *
 * Usage: lt-fuzz-mkseed IN OUT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static uint32_t pow2_at_least(uint64_t n)
{
        uint32_t b = 1;
        while (b < n)
                b <<= 1;
        return b;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: lt-fuzz-mkseed IN OUT\n");
                return 2;
        }
        struct lt_trace t;
        char why[512];
        if (lt_trace_load(argv[1], &t, why, sizeof(why)) < 0) {
                fprintf(stderr, "lt-fuzz-mkseed: %s: %s\n", argv[1], why);
                return 2;
        }
        const void *recs[LT_SEC__COUNT] = {
                [LT_SEC_STACKS] = t.stacks,       [LT_SEC_FRAMES] = t.frames,
                [LT_SEC_MODULES] = t.mods,        [LT_SEC_TIMERS] = t.timers,
                [LT_SEC_TIMER_SITES] = t.timer_sites, [LT_SEC_TIMELINE] = t.ticks,
                [LT_SEC_HISTORY] = t.hist,        [LT_SEC_SNAPSHOTS] = t.snaps,
                [LT_SEC_SNAPVALS] = t.snapvals,   [LT_SEC_MAP_SITES] = t.map_sites,
        };
        _Static_assert(LT_SEC__COUNT == 11, "every section is copied above");
        struct lt_header h = t.hdr;
        uint64_t off = t.hdr.header_size; /* the version's: lt_trace_load() checked it */
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                struct lt_section *s = &h.sections[k];
                if (!s->kind)
                        continue;
                memset(s->chunk_off, 0, sizeof(s->chunk_off));
                if (!s->count) {
                        s->nchunks = 0;
                        continue;
                }
                s->base = pow2_at_least(s->count);
                s->nchunks = 1;
                s->chunk_off[0] = off;
                off += (uint64_t)s->base * s->rec_size;
        }
        h.file_size = off;
        unsigned char *out = calloc(1, off);
        if (!out)
                return 2;
        memcpy(out, &h, sizeof(h)); /* version 2's further chunk slots: unused, zero */
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *s = &h.sections[k];
                if (s->kind && s->count)
                        memcpy(out + s->chunk_off[0], recs[k], s->count * s->rec_size);
        }
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(out, 1, off, f) != off || fclose(f)) {
                fprintf(stderr, "lt-fuzz-mkseed: %s: %s\n", argv[2], strerror(errno));
                return 2;
        }
        free(out);
        lt_trace_free(&t);
        return 0;
}
