/* `leaktrace report` on synthetic trace files whose every frame is a real
 * return address inside this program, at a line it knows: the JSON report
 * must be exactly the one expected, byte for byte, from the plain build and
 * the sanitized one alike. Covers symbolization (function, file, line,
 * inline frames), hiding of wrapper and tracer frames, aggregation, sort
 * order, module choice among overlapping modules of different generations,
 * missing and changed files, bare addresses, --top, incomplete and exec'd
 * processes, several files, and the text report's main lines.
 *
 * Usage: lt-test-report LEAKTRACE LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "captures.h"
#include "harness.h"
#include "synth.h"

/* The JSON of one expected frame. */
struct want_frame {
        const char *function, *file;
        unsigned line;
        const char *module;
        uint64_t address;
        int inlined;
};

static void put_str(FILE *w, const char *s)
{
        if (s)
                fprintf(w, "\"%s\"", s);
        else
                fputs("null", w);
}

/* What a site gains in a trace without a timeline. */
#define SITE_NO_HISTORY                                                                            \
        ",\"kind\":\"allocation\",\"verdict\":\"unclear\",\"reason\":\"no history: the timeline " \
        "has no point\",\"growth_bytes\":null,\"growth_bytes_per_s\":null,"                        \
        "\"growth_bytes_per_1k_allocations\":null,\"fit_r2\":null,\"fit_axis\":null,\"points\":0,"  \
        "\"history\":[]"

static void put_frames(FILE *w, const struct want_frame *f, int n)
{
        fputs("\"frames\":[", w);
        for (int i = 0; i < n; i++) {
                fprintf(w, "%s{\"function\":", i ? "," : "");
                put_str(w, f[i].function);
                fputs(",\"file\":", w);
                put_str(w, f[i].file);
                if (f[i].line)
                        fprintf(w, ",\"line\":%u", f[i].line);
                else
                        fputs(",\"line\":null", w);
                fputs(",\"module\":", w);
                put_str(w, f[i].module);
                fprintf(w, ",\"address\":\"0x%" PRIx64 "\"%s}", f[i].address,
                        f[i].inlined ? ",\"inlined\":true" : "");
        }
        putc(']', w);
}

static void put_site(FILE *w, int first, int64_t bytes, int64_t blocks, uint64_t allocs,
                     uint64_t bytes_allocated, const struct want_frame *f, int n)
{
        fprintf(w,
                "%s{\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64 ",\"allocations\":%" PRIu64
                ",\"bytes_allocated\":%" PRIu64 ",",
                first ? "" : ",", bytes, blocks, allocs, bytes_allocated);
        put_frames(w, f, n);
        fputs(SITE_NO_HISTORY "}", w);
}

/* A site of the "across" member: PIDS the JSON array's inside. */
static void put_across_site(FILE *w, int first, int64_t bytes, int64_t blocks, uint64_t allocs,
                            uint64_t bytes_allocated, int nprocs, const char *pids,
                            const struct want_frame *f, int n)
{
        fprintf(w,
                "%s{\"kind\":\"allocation\",\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                ",\"allocations\":%" PRIu64 ",\"bytes_allocated\":%" PRIu64
                ",\"processes\":%d,\"pids\":[%s],\"leak_in\":0,",
                first ? "" : ",", bytes, blocks, allocs, bytes_allocated, nprocs, pids);
        put_frames(w, f, n);
        putc('}', w);
}

/* What a report of a trace without a timeline ends with, for NSITES live
 * sites (history.h), no growth summary (growth.h): a buffer that lives
 * until the next call. */
static const char *no_history(int nsites)
{
        static char buf[512];
        snprintf(buf, sizeof(buf),
                 ",\"timeline\":[],\"snapshots\":[],\"verdicts\":{\"leak\":0,\"unclear\":%d,"
                 "\"cache\":0,\"transient\":0,\"points\":0,\"span_s\":0.000,\"tick_ms\":0,"
                 "\"estimated\":false,\"judged\":false,\"note\":\"no timeline in this trace\"},"
                 "\"growth\":null,"
                 "\"places\":[]",
                 nsites);
        return buf;
}

static const char *leaktrace, *leaktrace_asan;
static char exe[1024];
static const char *me = lt_test_captures_file;

#define GONE "/nonexistent/leaktrace-test/libgone.so"

struct stack_spec {
        const char *name;
        uint64_t f[4];
        unsigned depth;
        uint32_t gen;
        int64_t bytes, blocks;
        uint64_t allocs, bytes_allocated;
};

static char *report(const char *bin, const char *const *args, int nargs, int *status, char **err)
{
        char *argv[16] = {(char *)bin, "report"};
        int n = 2;
        for (int i = 0; i < nargs; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;
        struct proc_result r;
        proc_run(&r, argv, NULL, NULL);
        *status = r.status;
        *err = r.err;
        return r.out;
}

/* Runs the same report with both builds: same stdout, same stderr, status. */
static void check_report(const char *what, const char *const *args, int nargs, const char *want,
                         int want_warnings, const char *warn1, const char *warn2)
{
        const char *bins[2] = {leaktrace, leaktrace_asan};
        for (int b = 0; b < 2; b++) {
                int status;
                char *err, *out = report(bins[b], args, nargs, &status, &err);
                const char *which = b ? " (sanitized build)" : "";
                tap_ok(status == 0, "%s%s: exit status 0 (got %d)", what, which, status);
                if (!tap_ok(!strcmp(out, want), "%s%s: JSON exactly as expected", what, which)) {
                        size_t at = 0;
                        while (out[at] && out[at] == want[at])
                                at++;
                        tap_diag("they differ at byte %zu:", at);
                        tap_diag("got:  %.300s", out + (at > 100 ? at - 100 : 0));
                        tap_diag("want: %.300s", want + (at > 100 ? at - 100 : 0));
                }
                int ok = count_lines(err) == want_warnings;
                if (warn1)
                        ok &= strstr(err, warn1) != NULL;
                if (warn2)
                        ok &= strstr(err, warn2) != NULL;
                if (!tap_ok(ok, "%s%s: %d warning line(s), once per module", what, which,
                            want_warnings))
                        tap_diag("stderr: %s", err);
                free(out);
                free(err);
        }
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: %s LEAKTRACE LEAKTRACE_ASAN\n", argv[0]);
                return 2;
        }
        leaktrace = argv[1];
        leaktrace_asan = argv[2];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *dir = make_temp_dir("report");

        struct caps k;
        memset(&k, 0, sizeof(k));
        lt_test_capture_all(&k);

        const char *args_cmd[] = {"synthetic", "two words",   "quote\"back\\slash",
                                  "tab\tnl\n", "bad\xffutf8", "caf\xc3\xa9"};
        const char *want_cmd = "[\"synthetic\",\"two words\",\"quote\\\"back\\\\slash\","
                               "\"tab\\tnl\\n\",\"bad\\ufffdutf8\",\"caf\xc3\xa9\"]";
        struct synth s;
        synth_init(&s, 4242, 6, args_cmd);
        s.hdr.totals.peak_live_bytes = 999999;
        s.hdr.drops[LT_DROP_STACKS_FULL] = 7;
        s.hdr.drops[LT_DROP_TRUNCATED_STACKS] = 3;
        s.hdr.flags |= LT_F_DROPPED;

        /* X: this program in generation 2; Y: the same file mapped
         * elsewhere from generation 6 on, placed so that the address of
         * leaf_c's call in X is leaf_d's call in Y. Stacks of generation 3
         * choose X (nearer), of 4 Y (as near: the later). */
        struct lt_module_rec x, y, m;
        if (synth_self_module(&x) < 0)
                return 2;
        x.gen_loaded = 2;
        x.gen_unloaded = 3;
        uint64_t delta = k.c.f[0] - k.dd.f[0];
        y = x;
        y.bias += delta;
        y.lo += delta;
        y.hi += delta;
        y.flags = 0;
        y.gen_loaded = 6;
        y.gen_unloaded = LT_MOD_LOADED;

        memset(&m, 0, sizeof(m)); /* the tracer: its frames are hidden, its file never opened */
        strcpy(m.path, "/nonexistent/libleaktrace.so");
        m.path_len = (uint16_t)strlen(m.path);
        m.bias = m.lo = 0x40000000;
        m.hi = 0x40010000;
        m.flags = LT_MOD_SELF;
        m.gen_loaded = 1;
        m.gen_unloaded = LT_MOD_LOADED;
        synth_add_module(&s, &m);
        synth_add_module(&s, &x);
        synth_add_module(&s, &y);

        strcpy(m.path, GONE); /* a library whose file is gone */
        m.path_len = (uint16_t)strlen(m.path);
        m.bias = m.lo = 0x10000000;
        m.hi = 0x10010000;
        m.flags = 0;
        m.nsegs = 1;
        m.segs[0].memsz = 0x10000;
        synth_add_module(&s, &m);

        struct lt_module_rec g = x; /* this program's path, another build-id */
        g.bias = 0x20000000;
        g.lo = g.bias + (x.lo - x.bias);
        g.hi = g.bias + (x.hi - x.bias);
        g.flags = 0;
        g.gen_loaded = 1;
        g.gen_unloaded = LT_MOD_LOADED;
        g.build_id_len = 20;
        memset(g.build_id, 0xab, 20);
        synth_add_module(&s, &g);

        /* R: this program mapped far away, unloaded and loaded again at the
         * same place: two records, one module. */
        const uint64_t far = 0x40000000;
        struct lt_module_rec r = x;
        r.bias += far;
        r.lo += far;
        r.hi += far;
        r.flags = 0;
        r.gen_loaded = 10;
        r.gen_unloaded = 12;
        synth_add_module(&s, &r);
        r.gen_loaded = 14;
        r.gen_unloaded = LT_MOD_LOADED;
        synth_add_module(&s, &r);

        memset(&m, 0, sizeof(m)); /* the vDSO: no file, no warning */
        strcpy(m.path, "[vdso]");
        m.path_len = 6;
        m.bias = m.lo = 0x30000000;
        m.hi = 0x30002000;
        m.flags = LT_MOD_VDSO;
        m.gen_loaded = 1;
        m.gen_unloaded = LT_MOD_LOADED;
        synth_add_module(&s, &m);

        uint64_t g0 = g.lo + 0x100;
        const struct stack_spec stacks[] = {
            {"A", {k.a.f[0], k.a.f[1], k.a.f[2]}, 3, 2, 1000, 10, 12, 1200},
            {"B1 strdup", {k.wrapper_inner[0], k.b.f[0], k.b.f[1]}, 3, 3, 300, 3, 5, 500},
            {"B2 tracer+new",
             {0x40000010, k.wrapper_inner[1], k.b.f[0], k.b.f[1]},
             4,
             3,
             200,
             2,
             4,
             400},
            {"B3 new[] nothrow", {k.wrapper_inner[2], k.b.f[0], k.b.f[1]}, 3, 2, 500, 5, 6, 600},
            {"C xstrdup", {k.x.f[0], k.x.f[1]}, 2, 2, 1000, 5, 5, 1000},
            {"D inline", {k.d.f[0], k.d.f[1]}, 2, 2, 4096, 1, 1, 4096},
            {"W inlined wrapper", {k.w.f[0], k.w.f[1]}, 2, 3, 2000, 2, 2, 2000},
            {"M C++ name", {k.m.f[0], k.m.f[1]}, 2, 2, 900, 9, 9, 900},
            {"E1 gen 2", {k.c.f[0]}, 1, 2, 50, 1, 1, 50},
            {"E3 gen 1", {k.c.f[0]}, 1, 1, 30, 1, 2, 60},
            {"E2 gen 6", {k.c.f[0]}, 1, 6, 70, 1, 1, 70},
            {"E4 gen 4", {k.c.f[0]}, 1, 4, 5, 1, 1, 5},
            {"S1 reloaded, gen 11",
             {k.a.f[0] + far, k.a.f[1] + far, k.a.f[2] + far},
             3,
             11,
             40,
             1,
             1,
             40},
            {"S2 reloaded, gen 15",
             {k.a.f[0] + far, k.a.f[1] + far, k.a.f[2] + far},
             3,
             15,
             60,
             2,
             2,
             60},
            {"F gone", {0x10000123, 0x10000456}, 2, 2, 64, 1, 1, 64},
            {"G changed", {g0}, 1, 2, 32, 1, 1, 32},
            {"H bare", {0x42}, 1, 2, 16, 1, 1, 16},
            {"V vdso", {0x30000010}, 1, 2, 8, 1, 1, 8},
            {"J empty", {0}, 0, 2, 4, 1, 1, 4},
            {"Z freed", {k.a.f[1], k.a.f[2]}, 2, 2, 0, 0, 100, 10000},
        };
        int64_t live = 0, blocks = 0;
        uint64_t allocs = 0;
        for (size_t i = 0; i < sizeof(stacks) / sizeof(stacks[0]); i++) {
                const struct stack_spec *t = &stacks[i];
                synth_add_stack(&s, t->f, t->depth, t->gen, t->bytes, t->blocks, t->allocs,
                                t->bytes_allocated);
                live += t->bytes;
                blocks += t->blocks;
                allocs += t->allocs;
        }
        char *main_lt;
        if (asprintf(&main_lt, "%s/main.lt", dir) < 0 || synth_write(&s, main_lt) < 0)
                return 2;

        /* The sites, biggest first; A and B tie on bytes and blocks: the
         * lower innermost address first. */
        struct want_frame fa[] = {
            {"leaf_a", me, k.a.line[0], exe, k.a.f[0], 0},
            {"mid_a", me, k.a.line[1], exe, k.a.f[1], 0},
            {"capture_all", me, k.a.line[2], exe, k.a.f[2], 0},
        };
        struct want_frame fb[] = {
            {"leaf_b", me, k.b.line[0], exe, k.b.f[0], 0},
            {"capture_all", me, k.b.line[1], exe, k.b.f[1], 0},
        };
        struct want_frame fc[] = {
            {"xstrdup", lt_test_wrappers_file, k.x.line[0], exe, k.x.f[0], 0},
            {"capture_all", me, k.x.line[1], exe, k.x.f[1], 0},
        };
        struct want_frame fd[] = {
            {"inl_leaf", me, k.d.line[0], exe, k.d.f[0], 1},
            {"inl_outer", me, k.d.line[1], exe, k.d.f[0], 0},
            {"capture_all", me, k.d.line[2], exe, k.d.f[1], 0},
        };
        struct want_frame fw[] = {
            {"inline_wrapper_user", lt_test_wrappers_file, k.w.line[0], exe, k.w.f[0], 0},
            {"capture_all", me, k.w.line[1], exe, k.w.f[1], 0},
        };
        struct want_frame fm[] = {
            {"leaktrace::test::mangled(unsigned long*)", lt_test_wrappers_file, k.m.line[0], exe,
             k.m.f[0], 0},
            {"capture_all", me, k.m.line[1], exe, k.m.f[1], 0},
        };
        struct want_frame fe[] = {{"leaf_c", me, k.c.line[0], exe, k.c.f[0], 0}};
        struct want_frame fe2[] = {{"leaf_d", me, k.dd.line[0], exe, k.c.f[0], 0}};
        struct want_frame fr[3];
        for (int i = 0; i < 3; i++) {
                fr[i] = fa[i];
                fr[i].address += far;
        }
        struct want_frame ff[] = {{NULL, NULL, 0, GONE, 0x10000123, 0},
                                  {NULL, NULL, 0, GONE, 0x10000456, 0}};
        struct want_frame fg[] = {{NULL, NULL, 0, exe, g0, 0}};
        struct want_frame fh[] = {{NULL, NULL, 0, NULL, 0x42, 0}};
        struct want_frame fv[] = {{NULL, NULL, 0, "[vdso]", 0x30000010, 0}};

        char *sites_all = NULL, *sites_top3 = NULL;
        size_t len;
        for (int pass = 0; pass < 2; pass++) {
                FILE *w = open_memstream(pass ? &sites_top3 : &sites_all, &len);
                int a_first = k.a.f[0] < k.b.f[0];
                put_site(w, 1, 4096, 1, 1, 4096, fd, 3);
                put_site(w, 0, 2000, 2, 2, 2000, fw, 2);
                for (int i = 0; i < (pass ? 1 : 2); i++) {
                        if (i == !a_first)
                                put_site(w, 0, 1000, 10, 12, 1200, fa, 3);
                        else
                                put_site(w, 0, 1000, 10, 15, 1500, fb, 2);
                }
                if (!pass) {
                        put_site(w, 0, 1000, 5, 5, 1000, fc, 2);
                        put_site(w, 0, 900, 9, 9, 900, fm, 2);
                        put_site(w, 0, 100, 3, 3, 100, fr, 3);
                        put_site(w, 0, 80, 2, 3, 110, fe, 1);
                        put_site(w, 0, 75, 2, 2, 75, fe2, 1);
                        put_site(w, 0, 64, 1, 1, 64, ff, 2);
                        put_site(w, 0, 32, 1, 1, 32, fg, 1);
                        put_site(w, 0, 16, 1, 1, 16, fh, 1);
                        put_site(w, 0, 8, 1, 1, 8, fv, 1);
                        put_site(w, 0, 4, 1, 1, 4, NULL, 0);
                }
                fclose(w);
        }
        char *want_main, *want_top3;
        const char *head_fmt =
            "{\"tool\":\"leaktrace\",\"version\":1,\"process\":{\"pid\":4242,"
            "\"command\":%s,\"complete\":true,\"ended\":\"exited\"},\"summary\":{\"live_bytes\":%" PRId64
            ",\"live_blocks\":%" PRId64 ",\"allocations\":%" PRIu64 ",\"frees\":%" PRId64
            ",\"peak_live_bytes\":999999,\"drops\":"
            "{\"stacks_full\":7}},\"sites\":[%s],\"timers\":[]%s}\n";
        if (asprintf(&want_main, head_fmt, want_cmd, live, blocks, allocs, (int64_t)allocs - blocks,
                     sites_all, no_history(14)) < 0 ||
            asprintf(&want_top3, head_fmt, want_cmd, live, blocks, allocs, (int64_t)allocs - blocks,
                     sites_top3, no_history(14)) < 0)
                return 2;

        const char *a1[] = {"--format", "json", "--top", "0", main_lt};
        check_report("every site", a1, 5, want_main, 2, GONE, "build-id");
        const char *a2[] = {"--format=json", main_lt};
        check_report("default --top 20 shows all 14", a2, 2, want_main, 2, GONE, "build-id");
        const char *a3[] = {main_lt, "--top", "3", "--format", "json"};
        check_report("--top 3 after the file name: no warning for modules not shown", a3, 5,
                     want_top3, 0, NULL, NULL);
        /* The same records in a file of format 1 (8 KiB header, chunks
         * doubling): the same report. */
        char *main_v1;
        if (asprintf(&main_v1, "%s/main-v1.lt", dir) < 0 || synth_set_version(&s, 1) < 0 ||
            synth_write(&s, main_v1) < 0 || synth_set_version(&s, LT_VERSION) < 0)
                return 2;
        const char *a4[] = {"--format", "json", "--top", "0", main_v1};
        check_report("a file of format 1: every site", a4, 5, want_main, 2, GONE, "build-id");

        /* The text report: its main lines, exactly. */
        {
                int status;
                char *err;
                const char *a[] = {main_lt};
                char *out = report(leaktrace, a, 1, &status, &err);
                tap_ok(status == 0, "text: exit status 0");
                char *line;
                int ok = 1;
                char human[64];
                snprintf(human, sizeof(human), "%.1f KiB (%" PRId64 " bytes)", live / 1024.0, live);
                const char *expect[32];
                int ne = 0;
                char *tmp[16];
                int nt = 0;
#define EXPECT_LINE(...)                                                                           \
        do {                                                                                       \
                if (asprintf(&tmp[nt], __VA_ARGS__) < 0)                                           \
                        return 2;                                                                  \
                expect[ne++] = tmp[nt++];                                                          \
        } while (0)
                EXPECT_LINE("pid 4242: synthetic 'two words' 'quote\"back\\slash' "
                            "'tab\\x09nl\\x0a' 'bad\xffutf8' 'caf\xc3\xa9' (exited)\n");
                EXPECT_LINE("live: %s in %" PRId64 " blocks; %" PRIu64 " allocations, %" PRId64
                            " frees; peak 976.6 KiB (999999 bytes)\n",
                            human, blocks, allocs, (int64_t)allocs - blocks);
                EXPECT_LINE("note: stack table full (LEAKTRACE_MAX_STACKS); allocations not recorded: 7\n");
                EXPECT_LINE("note: stacks cut at LEAKTRACE_DEPTH (raise it to keep their outer frames); stacks "
                            "cut: 3\n");
                EXPECT_LINE("\n#1: 4.0 KiB (4096 bytes) live in 1 block; 1 allocation here, "
                            "4.0 KiB in all\n  #0 inl_leaf (%s:%u) [lt-test-report] "
                            "(inlined)\n  #1 inl_outer (%s:%u) [lt-test-report]\n",
                            me, k.d.line[0], me, k.d.line[1]);
                EXPECT_LINE("  #0 leaf_a (%s:%u) [lt-test-report]\n  #1 mid_a (%s:%u) "
                            "[lt-test-report]\n",
                            me, k.a.line[0], me, k.a.line[1]);
                EXPECT_LINE("  #0 0x10000123 [libgone.so]\n  #1 0x10000456 [libgone.so]\n");
                EXPECT_LINE("  #0 0x42\n");
                EXPECT_LINE("  #0 0x30000010 [vdso]\n");
                EXPECT_LINE("\n#14: 4 bytes live in 1 block; 1 allocation here, 4 bytes in all\n"
                            "  (no frames recorded)\n");
                for (int i = 0; i < ne; i++) {
                        line = strstr(out, expect[i]);
                        char name[48];
                        snprintf(name, sizeof(name), "%s",
                                 expect[i][0] == '\n' ? expect[i] + 1 : expect[i]);
                        name[strcspn(name, "\n")] = '\0';
                        if (!tap_ok(line != NULL, "text: has the line(s) of '%s'", name))
                                ok = 0;
                }
                if (!ok)
                        tap_diag("text report:\n%s", out);
                tap_ok(!strstr(out, "did not exit cleanly"), "text: a clean exit has no note");
                for (int i = 0; i < nt; i++)
                        free(tmp[i]);
                free(out);
                free(err);
        }

        /* An incomplete process and an exec'd one, alone and together. */
        const char *cmd2[] = {"./server", "--port=80"};
        synth_free(&s);
        synth_init(&s, 100, 2, cmd2);
        s.hdr.flags = 0;
        s.hdr.totals.peak_live_bytes = 50;
        synth_add_stack(&s, k.a.f, 3, 2, 10, 1, 3, 30);
        synth_add_module(&s, &x);
        char *p2, *p3;
        if (asprintf(&p2, "%s/leaktrace.100.lt", dir) < 0 || synth_write(&s, p2) < 0)
                return 2;
        const char *cmd3[] = {"/bin/next"};
        synth_free(&s);
        synth_init(&s, 101, 1, cmd3);
        s.hdr.flags = LT_F_EXEC;
        /* Chunks of 1 frame (16 of them), then of 2, then of 4: the
         * second stack's 3 frames are in chunk 32, the first whose slot is
         * in the header's extension. */
        s.base[LT_SEC_FRAMES] = 1;
        s.base[LT_SEC_STACKS] = 1;
        uint64_t e[1] = {k.c.f[0]};
        synth_add_stack(&s, e, 1, 2, 20, 2, 2, 20);
        synth_add_stack(&s, k.a.f, 3, 2, 5, 1, 1, 5);
        synth_add_module(&s, &x);
        if (asprintf(&p3, "%s/leaktrace.101.lt", dir) < 0 || synth_write(&s, p3) < 0)
                return 2;
        synth_free(&s);

        char *sa = NULL, *sb = NULL, *across = NULL;
        FILE *w = open_memstream(&across, &len);
        /* leaf_c in pid 101 alone; the site at leaf_a in both, summed */
        put_across_site(w, 1, 20, 2, 2, 20, 1, "101", fe, 1);
        put_across_site(w, 0, 15, 2, 4, 35, 2, "100,101", fa, 3);
        fclose(w);
        w = open_memstream(&sa, &len);
        put_site(w, 1, 10, 1, 3, 30, fa, 3);
        fclose(w);
        w = open_memstream(&sb, &len);
        put_site(w, 1, 20, 2, 2, 20, fe, 1);
        put_site(w, 0, 5, 1, 1, 5, fa, 3);
        fclose(w);
        char *proc2, *proc3, *want2, *want3, *want23;
        if (asprintf(&proc2,
                     "\"process\":{\"pid\":100,\"command\":[\"./server\",\"--port=80\"],"
                     "\"complete\":false,\"ended\":\"did not exit cleanly\"},\"summary\":{\"live_bytes\":10,\"live_blocks\":1,"
                     "\"allocations\":3,\"frees\":2,\"peak_live_bytes\":50},\"sites\":[%s],"
                     "\"timers\":[]%s",
                     sa, no_history(1)) < 0 ||
            asprintf(
                &proc3,
                "\"process\":{\"pid\":101,\"command\":[\"/bin/next\"],"
                "\"complete\":true,\"ended\":\"replaced by exec\"},\"summary\":{\"live_bytes\":25,\"live_blocks\":3,"
                "\"allocations\":3,\"frees\":0,\"peak_live_bytes\":25},\"sites\":[%s],\"timers\":[]%s",
                sb, no_history(2)) < 0 ||
            asprintf(&want2, "{\"tool\":\"leaktrace\",\"version\":1,%s}\n", proc2) < 0 ||
            asprintf(&want3, "{\"tool\":\"leaktrace\",\"version\":1,%s}\n", proc3) < 0 ||
            asprintf(&want23,
                     "{\"tool\":\"leaktrace\",\"version\":1,\"processes\":[{%s},{%s}],"
                     "\"across\":{\"sites\":[%s],\"timers\":[]}}\n",
                     proc2, proc3, across) < 0)
                return 2;
        const char *b1[] = {"--format", "json", p2};
        check_report("incomplete process", b1, 3, want2, 0, NULL, NULL);
        const char *b2[] = {"--format", "json", p3};
        check_report("process replaced by exec, frames in 1-record chunks", b2, 3, want3, 0, NULL,
                     NULL);
        const char *b3[] = {"--format", "json", p2, p3};
        check_report("two files: processes[], and the sites across them", b3, 4, want23, 0, NULL,
                     NULL);
        {
                /* --top applies to the sites across processes as to each
                 * process's: pid 101 keeps its first site, the across list
                 * the biggest. */
                char *top1 = NULL, *cut = NULL, *want_top1;
                w = open_memstream(&top1, &len);
                put_across_site(w, 1, 20, 2, 2, 20, 1, "101", fe, 1);
                fclose(w);
                w = open_memstream(&cut, &len);
                put_site(w, 1, 20, 2, 2, 20, fe, 1);
                fclose(w);
                char *at = strstr(proc3, sb);
                if (!at ||
                    asprintf(
                        &want_top1,
                        "{\"tool\":\"leaktrace\",\"version\":1,\"processes\":[{%s},{%.*s%s%s}],"
                        "\"across\":{\"sites\":[%s],\"timers\":[]}}\n",
                        proc2, (int)(at - proc3), proc3, cut, at + strlen(sb), top1) < 0)
                        return 2;
                const char *b4[] = {"--format", "json", "--top", "1", p2, p3};
                check_report("two files, --top 1: one site across them", b4, 6, want_top1, 0, NULL,
                             NULL);
                free(top1);
                free(cut);
                free(want_top1);
        }

        {
                int status;
                char *err;
                const char *a[] = {p2, p3};
                char *out = report(leaktrace, a, 2, &status, &err);
                char *h2, *h3;
                if (asprintf(&h2,
                             "2 processes:\n"
                             "  pid 100  ./server --port=80  did not exit cleanly  1.0 s  10 bytes "
                             "live in 1 block  0 live timers  verdicts: none (history of 0 "
                             "points)\n"
                             "  pid 101  /bin/next  replaced by exec  1.0 s  25 bytes live in 3 "
                             "blocks  0 live timers  verdicts: none (history of 0 points)\n"
                             "\nleading sites across the 2 processes (the same frames in several "
                             "processes are one site):\n"
                             "\n#1: 20 bytes live in 2 blocks in 1 process (pid 101); 2 "
                             "allocations here, 20 bytes in all\n"
                             "  #0 leaf_c (%s:%u) [lt-test-report]\n"
                             "\n#2: 15 bytes live in 2 blocks in 2 processes (pids 100, 101); 4 "
                             "allocations here, 35 bytes in all\n"
                             "  #0 leaf_a (%s:%u) [lt-test-report]\n"
                             "  #1 mid_a (%s:%u) [lt-test-report]\n"
                             "  #2 capture_all (%s:%u) [lt-test-report]\n\n"
                             "== %s ==\npid 100: ./server --port=80 (did not exit cleanly)\n"
                             "note: the process did not exit cleanly (killed or crashed): "
                             "figures are as of its last moment\n",
                             me, fe[0].line, me, fa[0].line, me, fa[1].line, me, fa[2].line,
                             p2) < 0 ||
                    asprintf(&h3,
                             "\n== %s ==\npid 101: /bin/next (replaced by exec)\nlive: 25 "
                             "bytes in 3 blocks; 3 allocations, 0 frees; peak 25 bytes\n",
                             p3) < 0)
                        return 2;
                tap_ok(status == 0, "text, two files: exit status 0");
                if (!tap_ok(strstr(out, h2) == out && strstr(out, h3),
                            "text, two files: the processes, the sites across them, then each "
                            "process under its name, the incomplete one noted"))
                        tap_diag("text report:\n%s", out);
                free(h2);
                free(h3);
                free(out);
                free(err);
        }
        {
                /* A bad file among good ones: its line, the others' report. */
                int status;
                char *err;
                const char *a[] = {"--format", "json", p2, "/nonexistent/x.lt", p3};
                char *out = report(leaktrace, a, 5, &status, &err);
                tap_ok(status == 2 && !strcmp(out, want23) &&
                           !strcmp(err,
                                   "leaktrace: /nonexistent/x.lt: cannot open: No such file or "
                                   "directory\n"),
                       "a missing file among two good ones: its line, status 2, the others "
                       "reported");
                free(out);
                free(err);
        }
        {
                /* A directory: its *.lt files, oldest process first (then by
                 * pid), not by name; a damaged one gets its line; other
                 * files and subdirectories are passed over in silence. */
                char *d, *cmd, *bad, *want_err, *empty, *want_empty;
                if (asprintf(&d, "%s/dir", dir) < 0 || asprintf(&bad, "%s/m.lt", d) < 0 ||
                    asprintf(&empty, "%s/empty", dir) < 0 ||
                    asprintf(
                        &cmd,
                        "mkdir -p '%s/sub.lt' '%s' && cp '%s' '%s/z.lt' && cp '%s' '%s/a.lt' && "
                        "head -c 100 '%s' > '%s' && echo hello > '%s/notes.txt' && "
                        "cp '%s' '%s/a.lt.bak'",
                        d, empty, p2, d, p3, d, p2, bad, d, p3, d) < 0 ||
                    asprintf(&want_err, "leaktrace: %s: ", bad) < 0 ||
                    asprintf(&want_empty, "leaktrace: %s: no trace file (*.lt) in this directory\n",
                             empty) < 0)
                        return 2;
                if (system(cmd) != 0)
                        return 2;
                int status;
                char *err;
                const char *a[] = {"--format", "json", d};
                char *out = report(leaktrace, a, 3, &status, &err);
                if (!tap_ok(status == 2 && !strcmp(out, want23) && count_lines(err) == 1 &&
                                strstr(err, want_err) == err,
                            "a directory: its two traces by start time and pid, the damaged one's "
                            "line, status 2"))
                        tap_diag("status %d, stderr: %s\nstdout: %.300s", status, err, out);
                free(out);
                free(err);
                const char *e[] = {"--format", "json", empty};
                out = report(leaktrace, e, 3, &status, &err);
                tap_ok(status == 2 && !*out && !strcmp(err, want_empty),
                       "a directory without traces: one line, status 2");
                free(out);
                free(err);
                free(d);
                free(cmd);
                free(bad);
                free(want_err);
                free(empty);
                free(want_empty);
        }

        {
                /* A copy of this program without .debug_aranges, as clang
                 * builds them: units are found by their own ranges. */
                char *copy, *p4, *cmd, *want4, *s4 = NULL;
                if (asprintf(&copy, "%s/no-aranges", dir) < 0 ||
                    asprintf(&p4, "%s/no-aranges.lt", dir) < 0 ||
                    asprintf(&cmd, "objcopy --remove-section=.debug_aranges '%s' '%s'", exe, copy) <
                        0)
                        return 2;
                if (system(cmd) != 0) {
                        tap_ok(1, "# skip: objcopy failed, no test of units without aranges");
                } else {
                        const char *cmd4[] = {"no-aranges"};
                        synth_init(&s, 102, 1, cmd4);
                        struct lt_module_rec c = x;
                        snprintf(c.path, sizeof(c.path), "%s", copy);
                        c.path_len = (uint16_t)strlen(c.path);
                        synth_add_module(&s, &c);
                        synth_add_stack(&s, k.a.f, 3, 2, 10, 1, 1, 10);
                        synth_add_stack(&s, k.d.f, 2, 2, 20, 1, 1, 20);
                        if (synth_write(&s, p4) < 0)
                                return 2;
                        synth_free(&s);
                        for (int i = 0; i < 3; i++)
                                fa[i].module = copy;
                        for (int i = 0; i < 3; i++)
                                fd[i].module = copy;
                        w = open_memstream(&s4, &len);
                        put_site(w, 1, 20, 1, 1, 20, fd, 3);
                        put_site(w, 0, 10, 1, 1, 10, fa, 3);
                        fclose(w);
                        if (asprintf(&want4,
                                     "{\"tool\":\"leaktrace\",\"version\":1,\"process\":{\"pid\":"
                                     "102,\"command\":[\"no-aranges\"],\"complete\":true,\"ended\":\"exited\"},"
                                     "\"summary\":{\"live_bytes\":30,\"live_blocks\":2,"
                                     "\"allocations\":2,\"frees\":0,\"peak_live_bytes\":30},"
                                     "\"sites\":[%s],\"timers\":[]%s}\n",
                                     s4, no_history(2)) < 0)
                                return 2;
                        const char *b4[] = {"--format", "json", p4};
                        check_report("a module without .debug_aranges: lines and inline frames", b4,
                                     3, want4, 0, NULL, NULL);
                        free(want4);
                        free(s4);
                }
                free(cmd);
                free(p4);
                free(copy);
        }

        if (!getenv("LT_TEST_KEEP"))
                rm_tree(dir);
        else
                printf("# kept %s\n", dir);
        return tap_done();
}
