/* Node's perf map: the reader alone (ranges laid flat with the later line
 * winning, checked point by point against a brute-force model over random
 * maps; malformed lines counted exactly; a partial last line ignored; an
 * empty file; numbers at the edge of 64 bits; names of every form node
 * writes), then through `leaktrace report` on synthetic traces whose frames
 * only a perf map explains: JS frames with function, script, line, column
 * and tier, V8 code marked as such, addresses where nothing explains them
 * (return address - 1 looked up), stacks grouped by JS function whatever
 * the tier, and the copy, the fallback to /tmp/perf-<pid>.map and their
 * warnings.
 *
 * Usage: lt-test-perfmap LEAKTRACE LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "perfmap.h"
#include "synth.h"

static char *dir;

/* The perf map TEXT, read. Returns NULL when it cannot be. */
static struct lt_perfmap *read_map(const char *text, size_t len, struct lt_pm_stats *st)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/map", dir);
        if (synth_write_file(path, text, len) < 0)
                return NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct lt_perfmap *m;
        if (fd < 0 || lt_perfmap_read(fd, &m, st) < 0)
                return NULL;
        return m;
}

/* The name of the code at PC, or "-" when there is none. */
static const char *at(struct lt_perfmap *m, uint64_t pc)
{
        const struct lt_pm_code *c;
        int err = lt_perfmap_find(m, pc, &c);
        return err == 0 ? c->name.function : err == -ENOENT ? "-" : "(error)";
}

static void test_overlaps(void)
{
        static const char text[] = "1000 100 Builtin:A\n" /* [1000, 1100) */
                                   "1080 180 Builtin:B\n" /* [1080, 1200): wins over A */
                                   "1000 40 Builtin:C\n"  /* [1000, 1040): wins over A */
                                   "2000 100 Builtin:D\n" /* [2000, 2100) */
                                   "2040 20 Builtin:E\n"  /* inside D: D on both sides */
                                   "3010 10 Builtin:F\n"  /* inside G, which is later */
                                   "3000 100 Builtin:G\n" /* covers F whole */
                                   "4000 10 Builtin:H\n"  /* the same range three times */
                                   "4000 10 Builtin:I\n"
                                   "4000 10 Builtin:J\n"
                                   "4010 10 Builtin:K\n" /* adjacent to J */
                                   "5000 0 Builtin:Z\n"; /* names nothing */
        struct lt_pm_stats st;
        struct lt_perfmap *m = read_map(text, sizeof(text) - 1, &st);
        if (!tap_ok(m != NULL, "overlapping ranges: read"))
                return;
        static const struct {
                uint64_t pc;
                const char *want;
        } cases[] = {
            {0xfff, "-"},          {0x1000, "Builtin:C"}, {0x103f, "Builtin:C"},
            {0x1040, "Builtin:A"}, {0x107f, "Builtin:A"}, {0x1080, "Builtin:B"},
            {0x11ff, "Builtin:B"}, {0x1200, "-"},         {0x1fff, "-"},
            {0x2000, "Builtin:D"}, {0x203f, "Builtin:D"}, {0x2040, "Builtin:E"},
            {0x205f, "Builtin:E"}, {0x2060, "Builtin:D"}, {0x20ff, "Builtin:D"},
            {0x2100, "-"},         {0x3000, "Builtin:G"}, {0x3015, "Builtin:G"},
            {0x30ff, "Builtin:G"}, {0x4000, "Builtin:J"}, {0x400f, "Builtin:J"},
            {0x4010, "Builtin:K"}, {0x401f, "Builtin:K"}, {0x4020, "-"},
            {0x5000, "-"},         {UINT64_MAX, "-"},
        };
        int bad = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *got = at(m, cases[i].pc);
                if (strcmp(got, cases[i].want)) {
                        tap_diag("at 0x%" PRIx64 ": %s, want %s", cases[i].pc, got, cases[i].want);
                        bad++;
                }
        }
        tap_ok(!bad, "overlapping ranges: the later line wins, point by point (%zu points)",
               sizeof(cases) / sizeof(cases[0]));
        tap_ok(st.lines == 12 && st.malformed == 0 && !st.partial && !st.cut,
               "overlapping ranges: 12 lines, none malformed (got %" PRIu64 ", %" PRIu64 ")",
               st.lines, st.malformed);
        lt_perfmap_free(m);
}

/* Random maps against the rule itself: the code at pc is the last line
 * whose range holds it. */
static void test_random(void)
{
        enum { MAPS = 40, LINES = 400, SPACE = 1024 };
        int bad = 0;
        uint64_t points = 0;
        srand(7);
        for (int k = 0; k < MAPS && !bad; k++) {
                static uint64_t lo[LINES], hi[LINES];
                char *text = NULL;
                size_t len = 0;
                FILE *w = open_memstream(&text, &len);
                int n = 1 + rand() % LINES;
                for (int i = 0; i < n; i++) {
                        lo[i] = (uint64_t)(rand() % SPACE);
                        hi[i] = lo[i] + 1 + (uint64_t)(rand() % (k % 2 ? 300 : 20));
                        fprintf(w, "%" PRIx64 " %" PRIx64 " Builtin:f%d\n", lo[i], hi[i] - lo[i],
                                i);
                }
                fclose(w);
                struct lt_pm_stats st;
                struct lt_perfmap *m = read_map(text, len, &st);
                free(text);
                if (!m) {
                        bad++;
                        break;
                }
                for (uint64_t pc = 0; pc < SPACE + 400 && !bad; pc++, points++) {
                        int owner = -1;
                        for (int i = 0; i < n; i++)
                                if (lo[i] <= pc && pc < hi[i])
                                        owner = i;
                        char want[32];
                        snprintf(want, sizeof(want), owner < 0 ? "-" : "Builtin:f%d", owner);
                        const char *got = at(m, pc);
                        if (strcmp(got, want)) {
                                tap_diag("map %d, at 0x%" PRIx64 ": %s, want %s", k, pc, got, want);
                                bad++;
                        }
                }
                lt_perfmap_free(m);
        }
        tap_ok(!bad, "random maps: the last line holding each point, at %" PRIu64 " points",
               points);
}

static void test_malformed(void)
{
        char longline[LT_PERFMAP_LINE_MAX + 100];
        memset(longline, 'x', sizeof(longline));
        memcpy(longline, "6000 10 Builtin:", 16);
        char *text = NULL;
        size_t len = 0;
        FILE *w = open_memstream(&text, &len);
        fputs("1000 10 Builtin:good1\n", w);
        fputs("0x2000 10 Builtin:hex-with-0x\n", w);          /* 1 */
        fputs("zz 10 Builtin:not-hex\n", w);                  /* 2 */
        fputs("2000 10\n", w);                                /* 3: no name */
        fputs("2000 10 \n", w);                               /* 4: empty name */
        fputs("2000  10 Builtin:two-spaces\n", w);            /* 5 */
        fputs(" 2000 10 Builtin:leading-space\n", w);         /* 6 */
        fputs("10000000000000000 10 Builtin:17-digits\n", w); /* 7 */
        fputs("ffffffffffffffff 2 Builtin:overflows\n", w);   /* 8 */
        fputs("\n", w);                                       /* 9: empty */
        fwrite("2000 10 Builtin:nul\0byte\n", 1, 25, w);      /* 10 */
        fwrite(longline, 1, sizeof(longline), w);             /* 11: too long */
        fputs("\n", w);
        fputs("fffffffffffffff0 f Builtin:top\n", w); /* up to 2^64 - 1 */
        fputs("3000 10 Builtin:good2\n", w);
        fputs("4000 10 Builtin:partial", w); /* no newline: ignored */
        fclose(w);
        struct lt_pm_stats st;
        struct lt_perfmap *m = read_map(text, len, &st);
        free(text);
        if (!tap_ok(m != NULL, "malformed lines: read"))
                return;
        tap_ok(st.lines == 14 && st.malformed == 11,
               "malformed lines: 11 of 14 counted (got %" PRIu64 " of %" PRIu64 ")", st.malformed,
               st.lines);
        tap_ok(st.partial && !st.cut, "a last line without its newline: noted as partial");
        int ok = !strcmp(at(m, 0x1005), "Builtin:good1") &&
                 !strcmp(at(m, 0x3000), "Builtin:good2") && !strcmp(at(m, 0x2005), "-") &&
                 !strcmp(at(m, 0x4000), "-") && !strcmp(at(m, 0x6000), "-") &&
                 !strcmp(at(m, 0xfffffffffffffffe), "Builtin:top") &&
                 !strcmp(at(m, 0xffffffffffffffef), "-") && !strcmp(at(m, UINT64_MAX), "-");
        tap_ok(ok, "malformed lines: skipped, the good ones and the range up to 2^64 - 1 kept, the "
                   "partial last line ignored");
        lt_perfmap_free(m);

        m = read_map("", 0, &st);
        tap_ok(m && st.lines == 0 && st.malformed == 0 && !st.partial && !strcmp(at(m, 0), "-") &&
                   !strcmp(at(m, 0x1000), "-"),
               "an empty file: no line, nothing found");
        lt_perfmap_free(m);
        m = read_map("1000 10 JS:~f /a.js:1:2", 23, &st);
        tap_ok(m && st.lines == 0 && st.partial && !strcmp(at(m, 0x1000), "-"),
               "a file of one line without its newline: nothing found");
        lt_perfmap_free(m);
}

static void test_names(void)
{
        static const struct {
                const char *name;
                unsigned kind, tier;
                const char *function, *script;
                unsigned line, column;
        } cases[] = {
            {"JS:~render /app/x.js:12:5", LT_CODE_JS, LT_TIER_INTERPRETED, "render", "/app/x.js",
             12, 5},
            {"JS:^render /app/x.js:12:5", LT_CODE_JS, LT_TIER_BASELINE, "render", "/app/x.js", 12,
             5},
            {"JS:+render /app/x.js:12:5", LT_CODE_JS, LT_TIER_MAGLEV, "render", "/app/x.js", 12, 5},
            {"JS:*render /app/x.js:12:5", LT_CODE_JS, LT_TIER_OPTIMIZED, "render", "/app/x.js", 12,
             5},
            {"JS:render /app/x.js:12:5", LT_CODE_JS, LT_TIER_UNKNOWN, "render", "/app/x.js", 12, 5},
            {"JS:~ /tmp/leak.js:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "(anonymous)",
             "/tmp/leak.js", 1, 1},
            {"Eval:~ /tmp/leak.js:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "(anonymous)",
             "/tmp/leak.js", 1, 1},
            {"JS:^get size node:internal/url:812:11", LT_CODE_JS, LT_TIER_BASELINE, "get size",
             "node:internal/url", 812, 11},
            {"JS:*go /srv/my app/main.js:3:9", LT_CODE_JS, LT_TIER_OPTIMIZED, "go",
             "/srv/my app/main.js", 3, 9},
            {"JS:~load file:///srv/app/main.mjs:4:1", LT_CODE_JS, LT_TIER_INTERPRETED, "load",
             "/srv/app/main.mjs", 4, 1},
            {"JS:*go file:///srv/my%20app/%E2%9C%93.mjs:2:3", LT_CODE_JS, LT_TIER_OPTIMIZED, "go",
             "/srv/my app/\xe2\x9c\x93.mjs", 2, 3},
            {"JS:~a file://localhost/x.mjs:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "a", "/x.mjs", 1, 1},
            {"JS:~b file:///bad%2.mjs:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "b",
             "file:///bad%2.mjs", 1, 1},
            {"JS:~c file:///nul%00.mjs:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "c",
             "file:///nul%00.mjs", 1, 1},
            {"JS:~d https://example.com/d.mjs:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "d",
             "https://example.com/d.mjs", 1, 1},
            {"JS:~run evalmachine.<anonymous>:1:15", LT_CODE_JS, LT_TIER_INTERPRETED, "run",
             "evalmachine.<anonymous>", 1, 15},
            {"JS:~fill :13:14", LT_CODE_JS, LT_TIER_INTERPRETED, "fill", "<eval>", 13, 14},
            {"JS:~ :1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "(anonymous)", "<eval>", 1, 1},
            {"JS:~<instance_members_initializer> /a.js:3:1", LT_CODE_JS, LT_TIER_INTERPRETED,
             "<instance_members_initializer>", "/a.js", 3, 1},
            {"LazyCompile:*leak /app/old.js:7", LT_CODE_JS, LT_TIER_OPTIMIZED, "leak",
             "/app/old.js", 7, 0},
            {"Function:~leak /app/old.js:7:3", LT_CODE_JS, LT_TIER_INTERPRETED, "leak",
             "/app/old.js", 7, 3},
            {"Script:~ /app/old.js:1:1", LT_CODE_JS, LT_TIER_INTERPRETED, "(anonymous)",
             "/app/old.js", 1, 1},
            {"JS:~noLocation", LT_CODE_JS, LT_TIER_INTERPRETED, "noLocation", NULL, 0, 0},
            {"JS:~", LT_CODE_JS, LT_TIER_INTERPRETED, "(anonymous)", NULL, 0, 0},
            {"Builtin:ArrayPrototypePush", LT_CODE_V8, 0, "Builtin:ArrayPrototypePush", NULL, 0, 0},
            {"BytecodeHandler:Wide", LT_CODE_V8, 0, "BytecodeHandler:Wide", NULL, 0, 0},
            {"RegExp:[a-z]+ x:1:2", LT_CODE_V8, 0, "RegExp:[a-z]+ x:1:2", NULL, 0, 0},
            {"Stub:CEntry", LT_CODE_V8, 0, "Stub:CEntry", NULL, 0, 0},
            {"plain", LT_CODE_V8, 0, "plain", NULL, 0, 0},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct lt_pm_name n;
                int err = lt_pm_name_parse(cases[i].name, strlen(cases[i].name), &n);
                int ok = !err && n.kind == cases[i].kind && n.tier == cases[i].tier &&
                         !strcmp(n.function, cases[i].function) &&
                         (cases[i].script ? n.script && !strcmp(n.script, cases[i].script)
                                          : !n.script) &&
                         n.line == cases[i].line && n.column == cases[i].column;
                if (!tap_ok(ok, "name \"%s\"", cases[i].name))
                        tap_diag("got kind %u tier %u function \"%s\" script \"%s\" %u:%u", n.kind,
                                 n.tier, n.function ? n.function : "(null)",
                                 n.script ? n.script : "(null)", n.line, n.column);
                lt_pm_name_clear(&n);
        }
}

/* A JS function is one at every tier; functions differ by any of name,
 * script, line and column. */
static void test_js_ids(void)
{
        static const char text[] = "100 10 JS:~f /a.js:1:2\n"
                                   "200 10 JS:*f /a.js:1:2\n"
                                   "300 10 JS:^f /a.js:1:2\n"
                                   "400 10 JS:~f /a.js:9:2\n"
                                   "500 10 JS:~g /a.js:1:2\n"
                                   "600 10 JS:~f /b.js:1:2\n"
                                   "700 10 Builtin:f\n";
        struct lt_pm_stats st;
        struct lt_perfmap *m = read_map(text, sizeof(text) - 1, &st);
        uint32_t id[7] = {0};
        for (int i = 0; m && i < 7; i++) {
                const struct lt_pm_code *c;
                if (lt_perfmap_find(m, (uint64_t)(i + 1) * 0x100 + 5, &c) == 0)
                        id[i] = c->js_id;
        }
        tap_ok(id[0] && id[0] == id[1] && id[0] == id[2],
               "one JS function at three tiers: one number (%u %u %u)", id[0], id[1], id[2]);
        tap_ok(id[3] && id[4] && id[5] && id[3] != id[0] && id[4] != id[0] && id[5] != id[0] &&
                   id[3] != id[4] && id[4] != id[5] && id[3] != id[5],
               "another line, another name, another script: other numbers");
        tap_ok(m && id[6] == 0, "V8 code: no JS function number");
        lt_perfmap_free(m);
}

/* ---- through leaktrace report ---- */

static const char *leaktrace, *leaktrace_asan;
static uint32_t fake_pid; /* above pid_max: no process can have it */

#define JS(a) (0x7f0000000000ull + (a))

static const char map_text[] = "7f0000001000 100 JS:~leakBuffers /app/leak.js:2:21\n"
                               "7f0000002000 200 JS:*leakBuffers /app/leak.js:2:21\n"
                               "7f0000003000 100 JS:~main /app/leak.js:10:1\n"
                               "7f0000004000 80 Builtin:ArrayPrototypePush\n"
                               "7f0000005000 100 JS:~other /app/leak.js:20:3\n"
                               "7f0000005000 100 JS:^reused /app/b.js:5:7\n";

/* A trace at PATH whose frames no module explains. */
static int write_trace(const char *path, uint32_t flags)
{
        const char *cmd[] = {"node", "/app/leak.js"};
        struct synth s;
        synth_init(&s, fake_pid, 2, cmd);
        s.hdr.flags |= flags;
        const uint64_t s1[] = {JS(0x1010), JS(0x3010)};             /* interpreted */
        const uint64_t s2[] = {JS(0x2050), JS(0x3010)};             /* optimized: the same site */
        const uint64_t s3[] = {JS(0x5010), JS(0x4010), JS(0x3010)}; /* a reused range, a builtin */
        const uint64_t s4[] = {JS(0x9000), JS(0x3010)};             /* nothing there */
        const uint64_t s5[] = {JS(0x1100), JS(0x3000)};             /* return addresses at ends */
        int err = 0;
        if (synth_add_stack(&s, s1, 2, 1, 1000, 10, 10, 1000) < 0 ||
            synth_add_stack(&s, s2, 2, 1, 3000, 30, 30, 3000) < 0 ||
            synth_add_stack(&s, s3, 3, 1, 500, 5, 5, 500) < 0 ||
            synth_add_stack(&s, s4, 2, 1, 200, 2, 2, 200) < 0 ||
            synth_add_stack(&s, s5, 2, 1, 100, 1, 1, 100) < 0 || synth_write(&s, path) < 0)
                err = -1;
        synth_free(&s);
        return err;
}

#define F_JS(fn, file, line, col, addr, tier)                                                      \
        "{\"function\":\"" fn "\",\"file\":\"" file "\",\"line\":" #line ",\"column\":" #col       \
        ",\"module\":null,\"address\":\"" addr "\",\"js\":true,\"tier\":\"" tier "\"}"
#define F_NONE(addr)                                                                               \
        "{\"function\":null,\"file\":null,\"line\":null,\"module\":null,\"address\":\"" addr "\"}"
#define F_MAIN F_JS("main", "/app/leak.js", 10, 1, "0x7f0000003010", "interpreted")

/* Live bytes and frames of every site, as the JSON report has them. */
static const char *named[] = {
    "4000 [" F_JS("leakBuffers", "/app/leak.js", 2, 21, "0x7f0000001010", "interpreted") "," F_MAIN
                                                                                         "]",
    "500 [" F_JS("reused", "/app/b.js", 5, 7, "0x7f0000005010",
                 "baseline") ","
                             "{\"function\":\"Builtin:ArrayPrototypePush\",\"file\":null,\"line\":"
                             "null,\"module\":null,"
                             "\"address\":\"0x7f0000004010\",\"v8\":true}," F_MAIN "]",
    "200 [" F_NONE("0x7f0000009000") "," F_MAIN "]",
    "100 [" F_JS("leakBuffers", "/app/leak.js", 2, 21, "0x7f0000001100",
                 "interpreted") "," F_NONE("0x7f0000003000") "]",
};
static const char *unnamed[] = {
    "3000 [" F_NONE("0x7f0000002050") "," F_NONE("0x7f0000003010") "]",
    "1000 [" F_NONE("0x7f0000001010") "," F_NONE("0x7f0000003010") "]",
    "500 [" F_NONE("0x7f0000005010") "," F_NONE("0x7f0000004010") "," F_NONE("0x7f0000003010") "]",
    "200 [" F_NONE("0x7f0000009000") "," F_NONE("0x7f0000003010") "]",
    "100 [" F_NONE("0x7f0000001100") "," F_NONE("0x7f0000003000") "]",
};

static char *run(const char *bin, const char *format, const char *path, struct proc_result *r)
{
        char *argv[] = {(char *)bin, "report",       "--top",      "0",
                        "--format",  (char *)format, (char *)path, NULL};
        proc_run(r, argv, NULL, NULL);
        return r->out;
}

/* The sites of a JSON report as "LIVE_BYTES FRAMES" lines, in order. */
static int sites_of(const char *json, char ***out)
{
        json_error_t e;
        json_t *root = json_loads(json, 0, &e), *sites = json_object_get(root, "sites");
        size_t n = json_array_size(sites);
        char **v = calloc(n + 1, sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                json_t *s = json_array_get(sites, i);
                char *frames =
                    json_dumps(json_object_get(s, "frames"), JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (asprintf(&v[i], "%" JSON_INTEGER_FORMAT " %s",
                             json_integer_value(json_object_get(s, "live_bytes")),
                             frames ? frames : "?") < 0)
                        v[i] = NULL;
                free(frames);
        }
        json_decref(root);
        *out = v;
        return root ? (int)n : -1;
}

/* The report of PATH from both builds: status 0, its sites exactly WANT,
 * and WARNINGS lines on stderr containing WARN. */
static void check(const char *what, const char *path, const char *const *want, int nwant,
                  int warnings, const char *warn)
{
        const char *bins[2] = {leaktrace, leaktrace_asan};
        for (int b = 0; b < 2; b++) {
                const char *which = b ? " (sanitized build)" : "";
                struct proc_result r;
                run(bins[b], "json", path, &r);
                char **sites = NULL;
                int n = r.status == 0 ? sites_of(r.out, &sites) : -1;
                int same = n == nwant;
                for (int i = 0; same && i < n; i++)
                        same = sites[i] && !strcmp(sites[i], want[i]);
                if (!tap_ok(r.status == 0 && same, "%s%s: the sites and their frames exactly", what,
                            which)) {
                        tap_diag("status %d, %d sites, stderr: %s", r.status, n, r.err);
                        for (int i = 0; i < n; i++)
                                tap_diag("got:  %s", sites[i]);
                        for (int i = 0; i < nwant; i++)
                                tap_diag("want: %s", want[i]);
                }
                int ok = count_lines(r.err) == warnings && (!warn || strstr(r.err, warn));
                if (!tap_ok(ok, "%s%s: %d warning line(s)%s%s", what, which, warnings,
                            warn ? " about " : "", warn ? warn : ""))
                        tap_diag("stderr: %s", r.err);
                for (int i = 0; sites && sites[i]; i++)
                        free(sites[i]);
                free(sites);
                proc_free(&r);
        }
}

static void set_mtime(const char *path, uint64_t ns)
{
        struct timespec ts[2] = {{(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)},
                                 {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)}};
        utimensat(AT_FDCWD, path, ts, 0);
}

static void test_reports(void)
{
        FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
        unsigned pid_max = 4194304;
        if (f) {
                if (fscanf(f, "%u", &pid_max) != 1)
                        pid_max = 4194304;
                fclose(f);
        }
        fake_pid = pid_max + 4242;
        char trace[4096], copy[4096], tmp[64];
        snprintf(trace, sizeof(trace), "%s/leaktrace.%u.lt", dir, fake_pid);
        snprintf(copy, sizeof(copy), "%s/leaktrace.%u.perf.map", dir, fake_pid);
        snprintf(tmp, sizeof(tmp), "/tmp/perf-%u.map", fake_pid);
        if (!tap_ok(access(tmp, F_OK) < 0, "%s does not exist", tmp))
                return;
        const uint64_t start = 1700000000000000000ull; /* synth_init's */

        write_trace(trace, LT_F_PERF_MAP);
        synth_write_file(copy, map_text, sizeof(map_text) - 1);
        check("the copy beside the trace", trace, named, 4, 0, NULL);

        struct proc_result r;
        run(leaktrace, "text", trace, &r);
        int ok = strstr(r.out, "  #0 leakBuffers (/app/leak.js:2:21) [JS]\n"
                               "  #1 main (/app/leak.js:10:1) [JS]\n") &&
                 strstr(r.out, "  #0 reused (/app/b.js:5:7) [JS]\n"
                               "  #1 Builtin:ArrayPrototypePush [V8]\n") &&
                 strstr(r.out, "  #0 0x7f0000009000\n");
        if (!tap_ok(ok, "text: JS frames as 'function (script:line:column) [JS]', V8 code [V8]"))
                tap_diag("%s", r.out);
        proc_free(&r);
        run(leaktrace, "collapsed", trace, &r);
        ok = strstr(r.out, "main (leak.js:10) [JS];leakBuffers (leak.js:2) [JS] 4000\n") &&
             strstr(r.out, "main (leak.js:10) [JS];Builtin:ArrayPrototypePush;reused (b.js:5) [JS] "
                           "500\n");
        if (!tap_ok(ok, "folded stacks: JS frames by function, script and line"))
                tap_diag("%s", r.out);
        proc_free(&r);
        run(leaktrace, "markdown", trace, &r);
        ok = strstr(r.out, "#0 leakBuffers  /app/leak.js:2:21 [JS]\n") != NULL;
        if (!tap_ok(ok, "markdown: the JS frame with script, line and column"))
                tap_diag("%s", r.out);
        proc_free(&r);

        /* The copy gone: /tmp/perf-<pid>.map, if the process wrote it. */
        unlink(copy);
        check("the copy gone, nothing else", trace, unnamed, 5, 1,
              "missing: JS frames shown as addresses");
        synth_write_file(tmp, map_text, sizeof(map_text) - 1);
        set_mtime(tmp, start + 500000000ull);
        check("the copy gone, /tmp's map written while the process ran", trace, named, 4, 0, NULL);
        set_mtime(tmp, start - 1000000000ull);
        check("the copy gone, /tmp's map older than the process", trace, unnamed, 5, 1, "missing");
        set_mtime(tmp, start + 60000000000ull);
        check("the copy gone, /tmp's map written after the process ended", trace, unnamed, 5, 1,
              "missing");

        /* Without the flag (no copy was made): /tmp's map when it fits,
         * silence otherwise. */
        write_trace(trace, 0);
        set_mtime(tmp, start + 500000000ull);
        check("no copy made, /tmp's map written while the process ran", trace, named, 4, 0, NULL);
        unlink(tmp);
        check("no copy made, no map: addresses, silence", trace, unnamed, 5, 0, NULL);

        /* A copy that cannot be used. */
        write_trace(trace, LT_F_PERF_MAP);
        mkdir(copy, 0700);
        check("the copy a directory", trace, unnamed, 5, 1, "cannot be read");
        rmdir(copy);
        static const char junk[] = "garbage\nmore garbage\n7f0000008ff0 20 JS:~x /x.js:1:1\n";
        synth_write_file(copy, junk, sizeof(junk) - 1);
        static const char *garbage[] = {
            "3000 [" F_NONE("0x7f0000002050") "," F_NONE("0x7f0000003010") "]",
            "1000 [" F_NONE("0x7f0000001010") "," F_NONE("0x7f0000003010") "]",
            "500 [" F_NONE("0x7f0000005010") "," F_NONE("0x7f0000004010") "," F_NONE(
                "0x7f0000003010") "]",
            "200 [" F_JS("x", "/x.js", 1, 1, "0x7f0000009000",
                         "interpreted") "," F_NONE("0x7f0000003010") "]",
            "100 [" F_NONE("0x7f0000001100") "," F_NONE("0x7f0000003000") "]",
        };
        check("a copy mostly not a perf map", trace, garbage, 5, 1,
              "2 of 3 lines are not \"START SIZE name\"");
        unlink(copy);
        unlink(trace);
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: %s LEAKTRACE LEAKTRACE_ASAN\n", argv[0]);
                return 2;
        }
        leaktrace = argv[1];
        leaktrace_asan = argv[2];
        dir = make_temp_dir("perfmap");
        test_overlaps();
        test_random();
        test_malformed();
        test_names();
        test_js_ids();
        test_reports();
        rm_tree(dir);
        free(dir);
        return tap_done();
}
