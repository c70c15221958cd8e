/* Damaged trace files against the sanitized build of leaktrace: each known
 * kind of damage must give exit status 2 and exactly one line on stderr,
 * "leaktrace: FILE: what is wrong"; thousands of randomly mutated copies
 * (fixed seed, bounded time) must each give 0 or 2, never a crash, never a
 * sanitizer report.
 *
 * Usage: lt-test-badinput LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "synth.h"

#define NOINLINE __attribute__((noinline))
#define RETURN_ADDRESS() ((uint64_t)(uintptr_t)__builtin_return_address(0))

/* Mutation rounds stop here even if fewer copies were tried. */
#define FUZZ_COPIES 5000
#define FUZZ_BATCH 30
#define FUZZ_SECONDS 45

static const char *leaktrace;
static char *dir;
static unsigned char *base, *base_v1; /* the same records in format 2 and 1 */
static size_t base_len, base_v1_len;
static int ncase;

static NOINLINE uint64_t frame_here(void)
{
        return RETURN_ADDRESS();
}

/* A valid file with a bit of everything: real frames in this program, a
 * module for it and one for a missing library, stacks in several chunks,
 * and a timeline in 36 (chunks 32..35 in format 2's extension of the
 * header). Then the same in format 1. */
static void build_base(void)
{
        struct synth s;
        const char *argv[] = {"victim", "--flag"};
        synth_init(&s, 777, 2, argv);
        s.hdr.totals.peak_live_bytes = 4096;
        struct lt_module_rec m;
        if (synth_self_module(&m) < 0)
                exit(2);
        synth_add_module(&s, &m);
        memset(&m, 0, sizeof(m));
        strcpy(m.path, "/nonexistent/libgone.so");
        m.path_len = (uint16_t)strlen(m.path);
        m.bias = m.lo = 0x10000000;
        m.hi = 0x10001000;
        m.gen_loaded = 1;
        m.gen_unloaded = LT_MOD_LOADED;
        synth_add_module(&s, &m);
        uint64_t f[6] = {frame_here(), frame_here(), frame_here(), 0x10000010, 0x42, frame_here()};
        for (unsigned i = 0; i < 12; i++)
                synth_add_stack(&s, f + i % 3, 1 + i % 4, 2, 100 * i, i, i + 1, 100 * i);
        /* Timers: sites of stacks 1 and 5 and one inherited (stack 0), live
         * timers of each, and an ended slot, over several chunks. */
        synth_add_timer_site(&s, 1, LT_TIMER_TIMERFD, 2, 3);
        synth_add_timer_site(&s, 0, LT_TIMER_TIMERFD, 1, 1);
        synth_add_timer_site(&s, 5, LT_TIMER_POSIX, 1, 1);
        synth_add_timer_site(&s, 12, LT_TIMER_ALARM, 1, 1);
        for (unsigned i = 0; i < 6; i++) {
                struct lt_timer_rec r;
                memset(&r, 0, sizeof(r));
                r.state = i == 3 ? LT_TIMER_FREE : LT_TIMER_LIVE;
                r.site = i % 4;
                r.kind = r.site == 2   ? LT_TIMER_POSIX
                         : r.site == 3 ? LT_TIMER_ALARM
                                       : LT_TIMER_TIMERFD;
                r.created_ns = s.hdr.start_ns + i;
                r.arm_stack = r.site == 1 ? 0 : 2;
                r.interval_ns = i * 1000000;
                r.value_ns = 1000000;
                r.flags = LT_TIMER_ARMED;
                synth_add_timer(&s, &r);
        }
        /* History: 8 ticks in the grid, a history of stack 1 and one of
         * mapping site 0, a snapshot with 2 values. */
        struct lt_tick_rec ticks[LT_HIST_COLS];
        memset(ticks, 0, sizeof(ticks));
        for (unsigned i = 0; i < 8; i++) {
                ticks[i].time_ns = ticks[LT_HIST_LONG + i].time_ns =
                    s.hdr.start_ns + i * 1000000000ull;
                ticks[i].tick = ticks[LT_HIST_LONG + i].tick = i;
                ticks[i].live_bytes = ticks[LT_HIST_LONG + i].live_bytes = 100 * i;
        }
        s.hdr.history.nlong = s.hdr.history.nrecent = s.hdr.history.recent_next = 8;
        s.hdr.history.period = 1;
        s.hdr.history.ticks = 8;
        struct lt_history_rec hist[2];
        memset(hist, 0, sizeof(hist));
        hist[0].stack = 1;
        hist[1].stack = 0 | LT_HIST_MAPPING;
        for (unsigned i = 0; i < LT_HIST_COLS; i++) {
                hist[0].bytes[i] = hist[1].bytes[i] = 100 * (i % 8);
                hist[0].blocks[i] = hist[1].blocks[i] = (int32_t)(i % 8);
        }
        struct lt_snapshot_rec snap;
        memset(&snap, 0, sizeof(snap));
        snap.time_ns = s.hdr.start_ns + 3500000000ull;
        snap.nvals = 2;
        strcpy(snap.name, "warm");
        struct lt_snapval_rec vals[2] = {{0, 1, 100, 1, 1}, {0, 2, 200, 2, 2}};
        struct lt_map_site_rec map;
        memset(&map, 0, sizeof(map));
        map.stack = 3;
        map.live_bytes = 4096;
        map.regions = 1;
        synth_set_records(&s, LT_SEC_TIMELINE, ticks, LT_HIST_COLS);
        synth_set_records(&s, LT_SEC_HISTORY, hist, 2);
        synth_set_records(&s, LT_SEC_SNAPSHOTS, &snap, 1);
        synth_set_records(&s, LT_SEC_SNAPVALS, vals, 2);
        synth_set_records(&s, LT_SEC_MAP_SITES, &map, 1);
        s.base[LT_SEC_TIMELINE] = 1;
        if (synth_build(&s, &base, &base_len) < 0 || synth_set_version(&s, 1) < 0 ||
            synth_build(&s, &base_v1, &base_v1_len) < 0)
                exit(2);
        synth_free(&s);
}

static char *case_path(const char *tag)
{
        char *p;
        if (asprintf(&p, "%s/%04d-%s.lt", dir, ncase++, tag) < 0)
                abort();
        return p;
}

static char *write_case(const char *tag, const void *buf, size_t len)
{
        char *p = case_path(tag);
        if (synth_write_file(p, buf, len) < 0)
                abort();
        return p;
}

static int sanitizer_said(const char *err)
{
        return strstr(err, "AddressSanitizer") || strstr(err, "runtime error") ||
               strstr(err, "LeakSanitizer") || strstr(err, "UndefinedBehaviorSanitizer");
}

static char *const run_env[] = {"ASAN_OPTIONS=detect_leaks=1:exitcode=99",
                                "UBSAN_OPTIONS=print_stacktrace=1:exitcode=98", NULL};

/* Reports PATH: status 2 and one line naming it, containing WANT if given. */
static void expect_bad(const char *what, const char *path, const char *want)
{
        char *argv[] = {(char *)leaktrace, "report", (char *)path, NULL};
        struct proc_result r;
        proc_run(&r, argv, run_env, NULL);
        char *prefix;
        if (asprintf(&prefix, "leaktrace: %s: ", path) < 0)
                abort();
        int ok = r.status == 2 && count_lines(r.err) == 1 &&
                 !strncmp(r.err, prefix, strlen(prefix)) && r.err[strlen(r.err) - 1] == '\n' &&
                 !r.out[0] && (!want || strstr(r.err, want));
        if (!tap_ok(ok, "%s: status 2, one line naming the file", what))
                tap_diag("status %d, stdout %zu bytes, stderr: %s", r.status, strlen(r.out), r.err);
        free(prefix);
        proc_free(&r);
}

static char *with_patch(const char *tag, const unsigned char *file, size_t len, size_t off,
                        const void *val, size_t n)
{
        unsigned char *copy = malloc(len);
        memcpy(copy, file, len);
        if (off + n > len)
                abort();
        memcpy(copy + off, val, n);
        char *p = write_case(tag, copy, len);
        free(copy);
        return p;
}

static void patch_case(const char *what, size_t off, const void *val, size_t n, const char *want)
{
        char *p = with_patch("patch", base, base_len, off, val, n);
        expect_bad(what, p, want);
        free(p);
}

#define PATCH(what, field_off, value, want)                                                        \
        do {                                                                                       \
                __typeof__(value) v_ = (value);                                                    \
                patch_case(what, field_off, &v_, sizeof(v_), want);                                \
        } while (0)

/* The same, to the format-1 file. */
#define PATCH_V1(what, field_off, value, want)                                                     \
        do {                                                                                       \
                __typeof__(value) v_ = (value);                                                    \
                char *p_ =                                                                         \
                    with_patch("patch-v1", base_v1, base_v1_len, field_off, &v_, sizeof(v_));      \
                expect_bad(what, p_, want);                                                        \
                free(p_);                                                                          \
        } while (0)

static size_t sec_off(int k)
{
        return offsetof(struct lt_header, sections) + (size_t)k * sizeof(struct lt_section);
}

/* File offset of record i of section k in the base file. */
static size_t rec_off(int k, uint64_t i)
{
        struct lt_section sec;
        memcpy(&sec, base + sec_off(k), sizeof(sec));
        uint64_t within;
        unsigned c = lt_chunk_of(i, sec.base, LT_CHUNK_LG, &within);
        return (size_t)(lt_chunk_off((const struct lt_header *)base, (unsigned)k, c) +
                        within * sec.rec_size);
}

/* File offset of the slot of chunk c of section k in the base file. */
static size_t slot_off(int k, unsigned c)
{
        return (size_t)((unsigned char *)lt_chunk_slot((struct lt_header *)base, (unsigned)k, c) -
                        base);
}

static void specific_cases(void)
{
        char *p = case_path("missing");
        expect_bad("missing file", p, "No such file");
        free(p);
        p = write_case("empty", "", 0);
        expect_bad("empty file", p, "empty");
        free(p);
        p = case_path("dir");
        mkdir(p, 0700);
        expect_bad("a directory", p, "directory");
        free(p);

        char what[64];
        for (size_t at = 64; at < LT_HEADER_SIZE; at += at < LT_HEADER_SIZE_V1 ? 64 : 512) {
                snprintf(what, sizeof(what), "truncated at %zu", at);
                p = write_case("trunc", base, at);
                expect_bad(what, p, at < 8 ? "magic" : "truncated");
                free(p);
        }
        for (int i = 0; i < 24; i++) {
                size_t at = LT_HEADER_SIZE + (base_len - LT_HEADER_SIZE) * (size_t)i / 24;
                snprintf(what, sizeof(what), "truncated at %zu of %zu", at, base_len);
                p = write_case("trunc", base, at);
                expect_bad(what, p, "truncated");
                free(p);
        }
        p = write_case("trunc", base, base_len - 1);
        expect_bad("truncated by one byte", p, "truncated");
        free(p);
        p = write_case("short", "LEAK", 4);
        expect_bad("4 bytes", p, "magic");
        free(p);

        PATCH("wrong magic", 0, (uint64_t)0x4b41454c4e4f4e, "magic");
        PATCH("future version", offsetof(struct lt_header, version), (uint32_t)3,
              "written by a newer leaktrace (format 3); this one reads formats 1 to 2");
        PATCH("version 0", offsetof(struct lt_header, version), (uint32_t)0,
              "unknown format version 0");
        PATCH("header size", offsetof(struct lt_header, header_size), (uint32_t)4096,
              "header size 4096, format 2 has 32768");
        PATCH("format 2 with format 1's header size", offsetof(struct lt_header, header_size),
              (uint32_t)LT_HEADER_SIZE_V1, "header size 8192, format 2 has 32768");
        PATCH("file size beyond the file", offsetof(struct lt_header, file_size),
              (uint64_t)base_len + 1, "truncated");
        PATCH("file size below the header", offsetof(struct lt_header, file_size), (uint64_t)100,
              "file size");
        PATCH("file size huge", offsetof(struct lt_header, file_size), UINT64_MAX, "truncated");
        PATCH("cmdline length", offsetof(struct lt_header, cmdline_len),
              (uint32_t)LT_CMDLINE_MAX + 1, "command line");
        {
                char fill[LT_PATH_MAX];
                memset(fill, 'x', sizeof(fill));
                patch_case("exe path without NUL", offsetof(struct lt_header, exe), fill,
                           sizeof(fill), "executable");
        }

        static const char *const names[] = {"stacks",  "frames",          "modules",
                                            "timers",  "timer sites",     "timeline",
                                            "history", "snapshot values", "mapping sites"};
        int kinds[] = {LT_SEC_STACKS,  LT_SEC_FRAMES,      LT_SEC_MODULES,
                       LT_SEC_TIMERS,  LT_SEC_TIMER_SITES, LT_SEC_TIMELINE,
                       LT_SEC_HISTORY, LT_SEC_SNAPVALS,    LT_SEC_MAP_SITES};
        for (int i = 0; i < 9; i++) {
                int k = kinds[i];
                size_t so = sec_off(k);
                struct lt_section sec;
                memcpy(&sec, base + so, sizeof(sec));
                char w[96];
#define SEC_CASE(label, field, value, want)                                                        \
        do {                                                                                       \
                snprintf(w, sizeof(w), "%s section: %s", names[i], label);                         \
                PATCH(w, so + offsetof(struct lt_section, field), value, want);                    \
        } while (0)
                SEC_CASE("kind", kind, (uint32_t)(k == 1 ? 2 : 1), "kind");
                SEC_CASE("record size", rec_size, sec.rec_size + 8, "record size");
                SEC_CASE("chunk size 0", base, (uint32_t)0, "power of two");
                SEC_CASE("chunk size 3", base, (uint32_t)3, "power of two");
                SEC_CASE("chunk size 2^31", base, (uint32_t)1 << 31, NULL);
                SEC_CASE("209 chunks", nchunks, (uint32_t)LT_MAX_CHUNKS + 1,
                         "209 chunks, at most 208 in format 2");
                SEC_CASE("2^32-1 chunks", nchunks, UINT32_MAX, "at most 208");
                SEC_CASE("more chunks than listed", nchunks, sec.nchunks + 1, "outside");
                SEC_CASE("count beyond its chunks", count,
                         lt_chunk_start(sec.nchunks, sec.base, LT_CHUNK_LG) + 1, "hold");
                SEC_CASE("count 2^64-1", count, UINT64_MAX, "hold");
                SEC_CASE("chunk 0 past the end", chunk_off[0], (uint64_t)base_len, "outside");
                SEC_CASE("chunk 0 ending past the end", chunk_off[0], (uint64_t)base_len - 8,
                         "outside");
                SEC_CASE("chunk 0 inside the header", chunk_off[0], (uint64_t)64, "outside");
                SEC_CASE("chunk 0 at 2^64-8", chunk_off[0], UINT64_MAX - 7, "outside");
                if (sec.nchunks > 1)
                        SEC_CASE("chunks 0 and 1 overlap", chunk_off[1], sec.chunk_off[0] + 8,
                                 "overlap");
        }
        /* The timeline's chunks 32..35: their slots in format 2's extension. */
        struct lt_section tl;
        memcpy(&tl, base + sec_off(LT_SEC_TIMELINE), sizeof(tl));
        if (!tap_ok(tl.nchunks == 36, "the base file's timeline has 36 chunks"))
                tap_diag("it has %u", tl.nchunks);
        uint64_t off32 = lt_chunk_off((const struct lt_header *)base, LT_SEC_TIMELINE, 32);
        PATCH("timeline chunk 33 past the end", slot_off(LT_SEC_TIMELINE, 33), (uint64_t)base_len,
              "timeline section: chunk 33 (offset");
        PATCH("timeline chunk 35 ending past the end", slot_off(LT_SEC_TIMELINE, 35),
              (uint64_t)base_len - 8, "timeline section: chunk 35");
        PATCH("timeline chunk 32 inside format 2's header", slot_off(LT_SEC_TIMELINE, 32),
              (uint64_t)LT_HEADER_SIZE_V1 + 64, "timeline section: chunk 32 (offset 8256");
        PATCH("timeline chunk 34 at 2^64-8", slot_off(LT_SEC_TIMELINE, 34), UINT64_MAX - 7,
              "outside");
        PATCH("timeline chunks 32 and 33 overlap", slot_off(LT_SEC_TIMELINE, 33), off32 + 64,
              "timeline chunk 32 and timeline chunk 33 overlap");
        PATCH("timeline chunk 35 over stacks chunk 0", slot_off(LT_SEC_TIMELINE, 35),
              lt_chunk_off((const struct lt_header *)base, LT_SEC_STACKS, 0),
              "stacks chunk 0 and timeline chunk 35 overlap");
        /* Format 1: the same checks, by its own sizes. */
        for (size_t at = 64; at < LT_HEADER_SIZE_V1; at += 1024) {
                snprintf(what, sizeof(what), "format 1, truncated at %zu", at);
                p = write_case("trunc-v1", base_v1, at);
                expect_bad(what, p, "shorter than the 8192-byte header");
                free(p);
        }
        p = write_case("trunc-v1", base_v1, base_v1_len - 1);
        expect_bad("format 1, truncated by one byte", p, "truncated");
        free(p);
        PATCH_V1("format 1 with format 2's header size", offsetof(struct lt_header, header_size),
                 (uint32_t)LT_HEADER_SIZE, "header size 32768, format 1 has 8192");
        PATCH_V1(
            "format 1, 33 chunks", sec_off(LT_SEC_STACKS) + offsetof(struct lt_section, nchunks),
            (uint32_t)LT_MAX_CHUNKS_V1 + 1, "stacks section: 33 chunks, at most 32 in format 1");
        PATCH_V1("format 1, chunk 0 inside the header",
                 sec_off(LT_SEC_FRAMES) + offsetof(struct lt_section, chunk_off), (uint64_t)4096,
                 "frames section: chunk 0 (offset 4096");
        PATCH_V1("format 1, chunk 1 past the end",
                 sec_off(LT_SEC_FRAMES) + offsetof(struct lt_section, chunk_off) + 8,
                 (uint64_t)base_v1_len, "frames section: chunk 1 (offset");
        {
                struct lt_section sec;
                memcpy(&sec, base_v1 + sec_off(LT_SEC_STACKS), sizeof(sec));
                PATCH_V1("format 1, count beyond its chunks",
                         sec_off(LT_SEC_STACKS) + offsetof(struct lt_section, count),
                         lt_chunk_start(sec.nchunks, sec.base, LT_CHUNK_LG_V1) + 1, "hold");
        }

        size_t st = rec_off(LT_SEC_STACKS, 5);
        PATCH("stack depth 257", st + offsetof(struct lt_stack_rec, depth),
              (uint16_t)(LT_MAX_DEPTH + 1), "depth");
        PATCH("stack depth 65535", st + offsetof(struct lt_stack_rec, depth), (uint16_t)65535,
              "depth");
        struct lt_section fr;
        memcpy(&fr, base + sec_off(LT_SEC_FRAMES), sizeof(fr));
        PATCH("frames index at the count", st + offsetof(struct lt_stack_rec, frames), fr.count,
              "outside");
        PATCH("frames index 2^64-1", st + offsetof(struct lt_stack_rec, frames), UINT64_MAX,
              "outside");
        {
                /* depth 2 from the last frame of chunk 0: across chunks 0 and 1 */
                unsigned char *copy = malloc(base_len);
                memcpy(copy, base, base_len);
                uint64_t at = fr.base - 1;
                uint16_t depth = 2;
                memcpy(copy + st + offsetof(struct lt_stack_rec, frames), &at, sizeof(at));
                memcpy(copy + st + offsetof(struct lt_stack_rec, depth), &depth, sizeof(depth));
                p = write_case("straddle", copy, base_len);
                expect_bad("stack frames across a chunk boundary", p, "straddle");
                free(p);
                free(copy);
        }

        size_t mo = rec_off(LT_SEC_MODULES, 1);
        {
                char fill[sizeof(((struct lt_module_rec *)0)->path)];
                memset(fill, 'y', sizeof(fill));
                patch_case("module path without NUL", mo + offsetof(struct lt_module_rec, path),
                           fill, sizeof(fill), "NUL");
        }
        PATCH("module path length", mo + offsetof(struct lt_module_rec, path_len), (uint16_t)3,
              "length");
        PATCH("module build-id length 33", mo + offsetof(struct lt_module_rec, build_id_len),
              (uint16_t)33, "build-id");
        PATCH("module 9 segments", mo + offsetof(struct lt_module_rec, nsegs), (uint32_t)9,
              "segments");
        PATCH("module range reversed", mo + offsetof(struct lt_module_rec, lo),
              (uint64_t)0x20000000, "range");

        size_t ts = rec_off(LT_SEC_TIMER_SITES, 2);
        PATCH("timer site kind 0", ts + offsetof(struct lt_timer_site_rec, kind), (uint8_t)0,
              "timer site 2: unknown kind 0");
        PATCH("timer site kind js", ts + offsetof(struct lt_timer_site_rec, kind),
              (uint8_t)LT_TIMER_JS, "timer site 2: unknown kind");
        PATCH("timer site kind 255", ts + offsetof(struct lt_timer_site_rec, kind), (uint8_t)255,
              "timer site 2: unknown kind 255");
        PATCH("timer site stack beyond the stacks", ts + offsetof(struct lt_timer_site_rec, stack),
              (uint32_t)13, "timer site 2: stack 13 beyond the 12 recorded");
        PATCH("timer site stack 2^32-1", ts + offsetof(struct lt_timer_site_rec, stack), UINT32_MAX,
              "beyond");
        size_t tr = rec_off(LT_SEC_TIMERS, 4);
        PATCH("timer state 2", tr + offsetof(struct lt_timer_rec, state), (uint32_t)2,
              "timer 4: unknown state 2");
        PATCH("timer kind 0", tr + offsetof(struct lt_timer_rec, kind), (uint8_t)0,
              "timer 4: unknown kind 0");
        PATCH("timer kind 77", tr + offsetof(struct lt_timer_rec, kind), (uint8_t)77,
              "timer 4: unknown kind 77");
        PATCH("timer kind not its site's", tr + offsetof(struct lt_timer_rec, kind),
              (uint8_t)LT_TIMER_ITIMER, "its site's");
        PATCH("timer site beyond the sites", tr + offsetof(struct lt_timer_rec, site), (uint32_t)4,
              "timer 4: site 4 beyond the 4 timer sites");
        PATCH("timer site 2^32-1", tr + offsetof(struct lt_timer_rec, site), UINT32_MAX, "beyond");
        PATCH("timer arming stack beyond the stacks", tr + offsetof(struct lt_timer_rec, arm_stack),
              (uint32_t)99, "arming stack 99");

        size_t hr = rec_off(LT_SEC_HISTORY, 0);
        PATCH("history of stack 0", hr + offsetof(struct lt_history_rec, stack), (uint32_t)0,
              "history 0: stack 0 not recorded");
        PATCH("history of a stack beyond the stacks", hr + offsetof(struct lt_history_rec, stack),
              (uint32_t)13, "history 0: stack 13 not recorded");
        PATCH("history of a mapping site beyond the sites",
              hr + offsetof(struct lt_history_rec, stack), (uint32_t)(LT_HIST_MAPPING | 1),
              "history 0: mapping site 1 not recorded");
        size_t ms = rec_off(LT_SEC_MAP_SITES, 0);
        PATCH("mapping site of a stack beyond the stacks",
              ms + offsetof(struct lt_map_site_rec, stack), (uint32_t)13,
              "mapping site 0: stack 13 beyond the 12 recorded");
        size_t sv = rec_off(LT_SEC_SNAPVALS, 1);
        PATCH("snapshot value of stack 0", sv + offsetof(struct lt_snapval_rec, stack), (uint32_t)0,
              "snapshot value 1: stack 0 not recorded");
        size_t sn = rec_off(LT_SEC_SNAPSHOTS, 0);
        PATCH("snapshot values beyond the section", sn + offsetof(struct lt_snapshot_rec, nvals),
              (uint32_t)3, "snapshot 1: values 0..3 lie outside the 2 recorded");
        PATCH("snapshot values at 2^64-1", sn + offsetof(struct lt_snapshot_rec, first_val),
              UINT64_MAX, "lie outside");
        {
                char fill[sizeof(((struct lt_snapshot_rec *)0)->name)];
                memset(fill, 'z', sizeof(fill));
                patch_case("snapshot name without NUL", sn + offsetof(struct lt_snapshot_rec, name),
                           fill, sizeof(fill), "snapshot 1: name not NUL-terminated");
        }
}

/* xorshift64*: the same mutations on every machine. */
static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void)
{
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return rng * 0x2545f4914f6cdd1dull;
}

static const uint64_t interesting[] = {
    0,
    1,
    2,
    7,
    8,
    63,
    64,
    255,
    256,
    4096,
    8191,
    8192,
    8193,
    65535,
    65536,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x100000000ull,
    INT64_MAX,
    (uint64_t)INT64_MAX + 1,
    UINT64_MAX,
    UINT64_MAX - 1,
    UINT64_MAX - 7,
};

/* Where mutations land: the header's fields, its section table, format
 * 2's further chunk slots, or the records, so that most copies are damaged
 * where it matters. HSIZE: the file's header size. */
static size_t pick_offset(size_t len, size_t hsize)
{
        switch (next_rand() % 5) {
        case 0:
                return next_rand() % 256;
        case 1:
                return offsetof(struct lt_header, sections) +
                       next_rand() % (LT_SEC__COUNT * sizeof(struct lt_section));
        case 2:
                return offsetof(struct lt_header, cmdline) + next_rand() % 64;
        case 3:
                if (hsize == LT_HEADER_SIZE) /* the first 8 slots of a section */
                        return LT_HEADER_SIZE_V1 +
                               (1 + next_rand() % (LT_SEC__COUNT - 1)) *
                                   sizeof(((struct lt_header_more *)0)->chunk_off[0]) +
                               8 * (next_rand() % 8);
                /* fall through */
        default:
                return hsize + next_rand() % (len - hsize);
        }
}

static size_t mutate(unsigned char *buf, size_t len, size_t hsize)
{
        int n = 1 + (int)(next_rand() % 6);
        for (int i = 0; i < n; i++) {
                size_t off = pick_offset(len, hsize);
                switch (next_rand() % 5) {
                case 0:
                        buf[off] = (unsigned char)next_rand();
                        break;
                case 1:
                        buf[off] ^= (unsigned char)(1u << (next_rand() % 8));
                        break;
                case 2: {
                        off &= ~(size_t)7;
                        uint64_t v = interesting[next_rand() % (sizeof(interesting) / 8)];
                        if (off + 8 <= len)
                                memcpy(buf + off, &v, 8);
                        break;
                }
                case 3: {
                        off &= ~(size_t)3;
                        uint32_t v = (uint32_t)interesting[next_rand() % (sizeof(interesting) / 8)];
                        if (off + 4 <= len)
                                memcpy(buf + off, &v, 4);
                        break;
                }
                default:
                        if (next_rand() % 4 == 0)
                                len = hsize + next_rand() % (len - hsize);
                        break;
                }
        }
        return len;
}

/* One run over FILES: 0 or 2, every stderr line either a warning or one
 * line about one of the files, at most one per file, no sanitizer. */
static int batch_ok(char **files, int n, struct proc_result *r)
{
        char *argv[FUZZ_BATCH + 4] = {(char *)leaktrace, "report", "--top", "5"};
        for (int i = 0; i < n; i++)
                argv[4 + i] = files[i];
        argv[4 + n] = NULL;
        proc_run(r, argv, run_env, NULL);
        if ((r->status != 0 && r->status != 2) || sanitizer_said(r->err))
                return 0;
        int *seen = calloc((size_t)n, sizeof(int));
        int ok = 1;
        for (char *line = r->err; ok && *line;) {
                char *end = strchr(line, '\n');
                if (!end) {
                        ok = 0;
                        break;
                }
                if (strncmp(line, "leaktrace: warning: ", 20)) {
                        int hit = -1;
                        for (int i = 0; i < n; i++) {
                                size_t l = strlen(files[i]);
                                if (!strncmp(line, "leaktrace: ", 11) &&
                                    !strncmp(line + 11, files[i], l) && line[11 + l] == ':')
                                        hit = i;
                        }
                        if (hit < 0 || seen[hit]++)
                                ok = 0;
                }
                line = end + 1;
        }
        free(seen);
        return ok;
}

static void fuzz(void)
{
        time_t start = time(NULL);
        int done = 0, bad = 0, rejected = 0;
        char *files[FUZZ_BATCH];
        unsigned char *buf = malloc(base_len > base_v1_len ? base_len : base_v1_len);
        while (done < FUZZ_COPIES && time(NULL) - start < FUZZ_SECONDS) {
                int n = 0;
                for (; n < FUZZ_BATCH && done + n < FUZZ_COPIES; n++) {
                        /* One copy in four of the format-1 file. */
                        int v1 = (done + n) % 4 == 3;
                        size_t len = v1 ? base_v1_len : base_len;
                        memcpy(buf, v1 ? base_v1 : base, len);
                        len = mutate(buf, len, v1 ? LT_HEADER_SIZE_V1 : LT_HEADER_SIZE);
                        if (asprintf(&files[n], "%s/fuzz-%05d.lt", dir, done + n) < 0 ||
                            synth_write_file(files[n], buf, len) < 0)
                                abort();
                }
                struct proc_result r;
                if (!batch_ok(files, n, &r)) {
                        bad++;
                        tap_diag("batch from copy %d: status %d; stderr: %.2000s", done, r.status,
                                 r.err);
                        /* Keep the copies for a look; name each failing one. */
                        for (int i = 0; i < n; i++) {
                                struct proc_result one;
                                if (!batch_ok(files + i, 1, &one))
                                        tap_diag("failing copy kept: %s (status %d)", files[i],
                                                 one.status);
                                proc_free(&one);
                        }
                } else {
                        for (const char *l = r.err; (l = strstr(l, dir)); l++)
                                rejected++;
                        for (int i = 0; i < n; i++)
                                unlink(files[i]);
                }
                proc_free(&r);
                for (int i = 0; i < n; i++)
                        free(files[i]);
                done += n;
        }
        free(buf);
        tap_ok(!bad && done >= 1000,
               "%d mutated copies in %ld s (%d rejected with a message): "
               "each exit 0 or 2, no sanitizer report",
               done, (long)(time(NULL) - start), rejected);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s LEAKTRACE_ASAN\n", argv[0]);
                return 2;
        }
        leaktrace = argv[1];
        dir = make_temp_dir("badinput");
        build_base();
        {
                char *p = write_case("valid", base, base_len);
                char *p1 = write_case("valid-v1", base_v1, base_v1_len);
                char *args[] = {(char *)leaktrace, "report", "--format", "json", p, NULL};
                struct proc_result r, r1;
                proc_run(&r, args, run_env, NULL);
                if (!tap_ok(r.status == 0 && strstr(r.out, "\"pid\":777") && !sanitizer_said(r.err),
                            "the undamaged file: exit 0, a report"))
                        tap_diag("status %d: %s", r.status, r.err);
                args[4] = p1;
                proc_run(&r1, args, run_env, NULL);
                if (!tap_ok(r1.status == 0 && !strcmp(r.out, r1.out) && !sanitizer_said(r1.err),
                            "the same records in format 1: exit 0, the same report"))
                        tap_diag("status %d: %s\nformat 2:\n%s\nformat 1:\n%s", r1.status, r1.err,
                                 r.out, r1.out);
                proc_free(&r);
                proc_free(&r1);
                free(p);
                free(p1);
        }
        specific_cases();
        fuzz();
        int status = tap_done();
        if (!status)
                rm_tree(dir);
        else
                printf("# files kept in %s\n", dir);
        return status;
}
