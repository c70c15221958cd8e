/* Real trace files, damaged in every way that can be named, through the
 * analyzer (harness.c), under AddressSanitizer and UBSan:
 *   - the whole file is accepted;
 *   - cut at every 512 bytes, at every 8 bytes of the header, and one byte
 *     around each chunk's start and end: refused, saying "truncated" (or
 *     "empty", or "magic" below 8 bytes);
 *   - each header field, each section descriptor field (with every chunk
 *     slot in use and the next, in version 2's extension too), and each
 *     4-byte word of the first and last record of every section, set to 0, 1, -1,
 *     its value + 1, - 1, doubled, with the top bit flipped: accepted or
 *     refused with one line, never a crash or a sanitizer report.
 * analyzer/tests/test_badinput.c does the same kinds of damage to synthetic
 * files, with exact messages; this does it to what the preload writes.
 *
 * Usage: lt-fuzz-realfile FILE...
 * Prints a TAP line per file and check, then "N passed, N failed". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include "harness.h"
#include "leaktrace/format.h"

static int passed, failed, ncase;

/* The input being tried, written out if a sanitizer stops the program, so
 * that it can join fuzz/corpus/ as a regression test. */
static const unsigned char *cur;
static size_t cur_size;
static const char *cur_what = "";

static void save_input(void)
{
        const char *dir = getenv("LT_FUZZ_ARTIFACTS");
        char path[4096];
        snprintf(path, sizeof(path), "%s/realfile-crash.lt", dir ? dir : ".");
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
                ssize_t w = write(fd, cur, cur_size);
                (void)w;
                close(fd);
        }
        fprintf(stdout, "lt-fuzz-realfile: stopped on %s; the input is in %s\n", cur_what, path);
        fflush(stdout);
}

static int try_one(const unsigned char *buf, size_t size, char *why, size_t len)
{
        cur = buf;
        cur_size = size;
        return lt_fuzz_one(buf, size, why, len);
}

static void result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(int ok, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        printf("%s %d - ", ok ? "ok" : "not ok", ++ncase);
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        if (ok)
                passed++;
        else
                failed++;
        fflush(stdout);
}

static unsigned char *slurp(const char *path, size_t *size)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        size_t cap = 1 << 20, n = 0;
        unsigned char *buf = malloc(cap);
        for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
                n += got;
                if (n == cap) {
                        unsigned char *nb = realloc(buf, cap *= 2);
                        if (!nb) {
                                free(buf);
                                buf = NULL;
                        }
                        buf = nb;
                }
        }
        fclose(f);
        *size = n;
        return buf;
}

/* A cut at `at` must be refused for the right reason. Returns 1 when it is. */
static int cut_refused(const unsigned char *buf, size_t at, char *why, size_t len)
{
        if (try_one(buf, at, why, len) != 1)
                return snprintf(why, len, "accepted"), 0;
        const char *want = at == 0 ? "empty" : at < LT_MAGIC_LEN ? "magic" : "truncated";
        return strstr(why, want) != NULL;
}

static void truncations(const char *name, const unsigned char *buf, size_t size)
{
        const struct lt_header *h = (const void *)buf;
        const struct lt_layout *lay = lt_layout_of(h->version);
        size_t tried = 0, bad = 0;
        char why[512], first_bad[700] = "";
        /* Offsets: every 512 bytes, every 8 of the header, around each chunk. */
        size_t cap = size / 512 + lay->header_size / 8 + 4 * LT_MAX_SECTIONS * LT_MAX_CHUNKS + 4;
        size_t *at = malloc(cap * sizeof(*at)), n = 0;
        for (size_t o = 0; o < size; o += 512)
                at[n++] = o;
        for (size_t o = 8; o < lay->header_size && o < size; o += 8)
                at[n++] = o;
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *s = &h->sections[k];
                for (unsigned c = 0; c < s->nchunks && c < lay->max_chunks; c++) {
                        uint64_t lo = lt_chunk_off(h, (unsigned)k, c);
                        uint64_t hi = lo + s->rec_size * lt_chunk_recs(c, s->base, lay->chunk_lg);
                        uint64_t cand[] = { lo - 1, lo + 1, hi - 1, hi + 1 };
                        for (int i = 0; i < 4; i++)
                                if (cand[i] < size)
                                        at[n++] = (size_t)cand[i];
                }
        }
        at[n++] = size - 1;
        for (size_t i = 0; i < n; i++) {
                tried++;
                if (!cut_refused(buf, at[i], why, sizeof(why))) {
                        if (!bad++)
                                snprintf(first_bad, sizeof(first_bad), "; first: cut at %zu of %zu: %s",
                                         at[i], size, why);
                }
        }
        free(at);
        result(!bad, "%s: %zu cuts refused as truncated (%zu not)%s", name, tried, bad, first_bad);
}

/* The values a field of `width` bytes holding `v` is set to. */
static size_t variants(uint64_t v, unsigned width, uint64_t *out)
{
        uint64_t mask = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
        uint64_t top = 1ull << (8 * width - 1);
        uint64_t all[] = { 0, 1, mask, v + 1, v - 1, v * 2, v ^ top, top - 1 };
        size_t n = 0;
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
                uint64_t x = all[i] & mask;
                if (x != (v & mask))
                        out[n++] = x;
        }
        return n;
}

/* Sets the field at off (width 1, 2, 4 or 8) to each variant in turn. */
static size_t corrupt(unsigned char *buf, size_t size, size_t off, unsigned width, size_t *refused)
{
        if (off + width > size)
                return 0;
        uint64_t v = 0;
        memcpy(&v, buf + off, width);
        uint64_t vals[8];
        size_t n = variants(v, width, vals);
        char why[512];
        for (size_t i = 0; i < n; i++) {
                memcpy(buf + off, &vals[i], width);
                *refused += try_one(buf, size, why, sizeof(why));
        }
        memcpy(buf + off, &v, width);
        return n;
}

#define HFIELD(f) { #f, offsetof(struct lt_header, f), sizeof(((struct lt_header *)0)->f) }
struct field {
        const char *name;
        size_t off;
        unsigned width;
};
static const struct field header_fields[] = {
        HFIELD(version), HFIELD(header_size), HFIELD(flags), HFIELD(pid), HFIELD(ppid),
        HFIELD(depth), HFIELD(start_ns), HFIELD(update_ns), HFIELD(end_ns), HFIELD(file_size),
        HFIELD(session), HFIELD(mod_gen), HFIELD(exit_status), HFIELD(cmdline_len), HFIELD(argc),
        HFIELD(fork_parent), HFIELD(exec_count), HFIELD(proc_start), HFIELD(sample_bytes),
        HFIELD(totals.live_bytes), HFIELD(totals.live_blocks), HFIELD(totals.peak_live_bytes),
        HFIELD(totals.mapped_bytes), HFIELD(totals.peak_mapped_bytes),
        HFIELD(control.req_seq), HFIELD(control.req_cmd), HFIELD(control.done_seq),
        HFIELD(history.state), HFIELD(history.tick_ms), HFIELD(history.ticks),
        HFIELD(history.period), HFIELD(history.nlong), HFIELD(history.nrecent),
        HFIELD(history.recent_next), HFIELD(history.pid_alive), HFIELD(history.tracer_bytes),
        HFIELD(history.start_tick_ns), HFIELD(history.stop_tick_ns), HFIELD(history.stopped_ns),
        HFIELD(history.restarts), HFIELD(history.reserved[0]),
};

static void header_damage(const char *name, unsigned char *buf, size_t size)
{
        size_t tried = 0, refused = 0;
        for (size_t i = 0; i < sizeof(header_fields) / sizeof(header_fields[0]); i++)
                tried += corrupt(buf, size, header_fields[i].off, header_fields[i].width, &refused);
        for (int k = 0; k < LT_DROP__COUNT; k++)
                tried += corrupt(buf, size, offsetof(struct lt_header, drops) + 8 * (size_t)k, 8, &refused);
        /* The command line and the executable: their last bytes, the NULs. */
        const struct lt_header *h = (const void *)buf;
        if (h->cmdline_len)
                tried += corrupt(buf, size, offsetof(struct lt_header, cmdline) + h->cmdline_len - 1, 1,
                                 &refused);
        tried += corrupt(buf, size, offsetof(struct lt_header, exe) + strlen(h->exe), 1, &refused);
        result(1, "%s: header fields damaged %zu ways, %zu refused, the rest reported, no crash", name,
               tried, refused);
}

static void section_damage(const char *name, unsigned char *buf, size_t size)
{
        size_t tried = 0, refused = 0;
        struct lt_header *h = (void *)buf;
        const struct lt_layout *lay = lt_layout_of(h->version);
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                size_t so = offsetof(struct lt_header, sections) + (size_t)k * sizeof(struct lt_section);
                const struct lt_section *s = (const void *)(buf + so);
                unsigned nchunks = s->nchunks < lay->max_chunks ? s->nchunks : lay->max_chunks;
                tried += corrupt(buf, size, so + offsetof(struct lt_section, kind), 4, &refused);
                tried += corrupt(buf, size, so + offsetof(struct lt_section, rec_size), 4, &refused);
                tried += corrupt(buf, size, so + offsetof(struct lt_section, base), 4, &refused);
                tried += corrupt(buf, size, so + offsetof(struct lt_section, nchunks), 4, &refused);
                tried += corrupt(buf, size, so + offsetof(struct lt_section, count), 8, &refused);
                for (unsigned c = 0; c < nchunks + 1 && c < lay->max_chunks; c++)
                        tried += corrupt(
                            buf, size,
                            (size_t)((unsigned char *)lt_chunk_slot(h, (unsigned)k, c) - buf), 8,
                            &refused);
        }
        result(1, "%s: section descriptors damaged %zu ways, %zu refused, no crash", name, tried,
               refused);
}

/* Every 4-byte word of the first and the last published record of each
 * section: ids, counts, depths, indexes, figures. */
static void record_damage(const char *name, unsigned char *buf, size_t size)
{
        const struct lt_header *h = (const void *)buf;
        const struct lt_layout *lay = lt_layout_of(h->version);
        size_t tried = 0, refused = 0;
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *s = &h->sections[k];
                if (!s->kind || !s->count || !s->nchunks || !s->base || s->rec_size > 4096)
                        continue;
                uint64_t idx[2] = { 0, s->count - 1 };
                for (int e = 0; e < 2; e++) {
                        uint64_t within;
                        unsigned c = lt_chunk_of(idx[e], s->base, lay->chunk_lg, &within);
                        if (c >= s->nchunks)
                                continue;
                        uint64_t off = lt_chunk_off(h, (unsigned)k, c) + within * s->rec_size;
                        /* Long records (modules, history): their first 128 bytes. */
                        unsigned len = s->rec_size < 128 ? s->rec_size : 128;
                        for (unsigned w = 0; w + 4 <= len; w += 4)
                                tried += corrupt(buf, size, (size_t)off + w, 4, &refused);
                }
        }
        result(1, "%s: records damaged %zu ways, %zu refused, the rest reported, no crash", name,
               tried, refused);
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: lt-fuzz-realfile FILE...\n");
                return 2;
        }
        lt_fuzz_quiet();
        __sanitizer_set_death_callback(save_input);
        for (int i = 1; i < argc; i++) {
                size_t size;
                unsigned char *buf = slurp(argv[i], &size);
                const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
                cur_what = argv[i];
                const struct lt_layout *lay =
                    buf && size >= LT_HEADER_SIZE_V1
                        ? lt_layout_of(((const struct lt_header *)buf)->version)
                        : NULL;
                if (!lay || size < lay->header_size) {
                        result(0, "%s: cannot read a trace of at least a header (%s)", name,
                               buf ? "too short, or of an unknown version" : strerror(errno));
                        free(buf);
                        continue;
                }
                char why[512] = "";
                int whole = try_one(buf, size, why, sizeof(why));
                result(whole == 0, "%s: the whole file (%zu bytes) is accepted%s%s", name, size,
                       whole ? ": " : "", whole ? why : "");
                truncations(name, buf, size);
                header_damage(name, buf, size);
                section_damage(name, buf, size);
                record_damage(name, buf, size);
                free(buf);
        }
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
