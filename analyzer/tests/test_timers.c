/* The "timers" of a report, from synthetic traces with timer records whose
 * creation stacks are real return addresses in this program, and from JS
 * state files written beside them: the JSON must be exactly the one
 * expected (plain and sanitized builds alike). Covers which records count
 * as live (ended slots, one-shot real-time itimers and alarms whose expiry
 * passed, CPU-time itimers), sites merged by their shown frames, inherited
 * timers, the interval and age kept per site, the merging of JS entries
 * that share an application frame, the order, --top, the text report's
 * lines, and JS state files that cannot be used (one warning, the rest of
 * the report as without them).
 *
 * Usage: lt-test-timers LEAKTRACE LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "captures.h"
#include "harness.h"
#include "synth.h"

#define SEC 1000000000ull
#define MS 1000000ull

static const char *leaktrace, *leaktrace_asan;
static char exe[1024];
static const char *me = lt_test_captures_file;
static struct caps k;
static const uint64_t start = 1700000000000000000ull; /* synth_init's start_ns */
static const uint64_t end = 1700000000000000000ull + 10 * SEC;

static char *run(const char *bin, const char *const *args, int nargs, int *status, char **err)
{
        char *argv[16] = {(char *)bin, "report"};
        int n = 2;
        for (int i = 0; i < nargs && n < 15; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;
        struct proc_result r;
        proc_run(&r, argv, NULL, NULL);
        *status = r.status;
        *err = r.err;
        return r.out;
}

/* The same report from both builds: status 0, stdout WANT exactly, and
 * WARNINGS lines on stderr, each containing WARN when given. */
/* What a report of a trace without a timeline and without live sites ends
 * with (history.h). */
#define NO_HISTORY                                                                                 \
        ",\"timeline\":[],\"snapshots\":[],\"verdicts\":{\"leak\":0,\"unclear\":0,\"cache\":0,"    \
        "\"transient\":0,\"points\":0,\"span_s\":0.000,\"tick_ms\":0,\"estimated\":false,"         \
        "\"judged\":false,\"note\":\"no timeline in this trace\"}"

static void check(const char *what, const char *const *args, int nargs, const char *want,
                  int warnings, const char *warn)
{
        const char *bins[2] = {leaktrace, leaktrace_asan};
        for (int b = 0; b < 2; b++) {
                int status;
                char *err, *out = run(bins[b], args, nargs, &status, &err);
                const char *which = b ? " (sanitized build)" : "";
                tap_ok(status == 0, "%s%s: exit status 0 (got %d)", what, which, status);
                if (!tap_ok(!strcmp(out, want), "%s%s: JSON exactly as expected", what, which)) {
                        size_t at = 0;
                        while (out[at] && out[at] == want[at])
                                at++;
                        tap_diag("they differ at byte %zu:", at);
                        tap_diag("got:  %.400s", out + (at > 100 ? at - 100 : 0));
                        tap_diag("want: %.400s", want + (at > 100 ? at - 100 : 0));
                }
                int ok = count_lines(err) == warnings && (!warn || strstr(err, warn));
                if (!tap_ok(ok, "%s%s: %d warning line(s)%s%s", what, which, warnings,
                            warn ? " about " : "", warn ? warn : ""))
                        tap_diag("stderr: %s", err);
                free(out);
                free(err);
        }
}

/* Native frames as an allocation site's: this program's functions. */
static void put_native(FILE *w, const struct cap *c, const char *const *fn, int n)
{
        fputs("\"frames\":[", w);
        for (int i = 0; i < n; i++)
                fprintf(w,
                        "%s{\"function\":\"%s\",\"file\":\"%s\",\"line\":%u,\"module\":\"%s\","
                        "\"address\":\"0x%" PRIx64 "\"}",
                        i ? "," : "", fn[i], me, c->line[i], exe, c->f[i]);
        putc(']', w);
}

static void put_head(FILE *w, int first, const char *kind, int64_t live, uint64_t created,
                     uint64_t interval_ns, const char *age)
{
        fprintf(w,
                "%s{\"kind\":\"%s\",\"live\":%" PRId64 ",\"created\":%" PRIu64
                ",\"repeating\":%s,\"interval_ns\":%" PRIu64 ",\"oldest_age_s\":%s,",
                first ? "" : ",", kind, live, created, interval_ns ? "true" : "false", interval_ns,
                age);
}

static struct lt_timer_rec timer(unsigned kind, uint32_t site, int clock, uint64_t created,
                                 uint64_t armed, uint64_t interval, uint64_t value)
{
        struct lt_timer_rec r;
        memset(&r, 0, sizeof(r));
        r.state = LT_TIMER_LIVE;
        r.kind = (uint8_t)kind;
        r.flags = value ? LT_TIMER_ARMED : 0;
        r.clock = clock;
        r.site = site;
        r.created_ns = start + created;
        r.armed_ns = start + armed;
        r.arms = armed ? 1 : 0;
        r.interval_ns = interval;
        r.value_ns = value;
        return r;
}

/* A state file's start and its one site, and a point of its timeline with
 * SITES as its site_live: for the damaged ones. */
#define JS_HEAD                                                                                    \
        "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5000,\"time_ms\":1,\"complete\":true,"
#define JS_SITE                                                                                    \
        "\"sites\":[{\"function\":\"f\",\"file\":\"/a.js\",\"line\":1,\"column\":1,\"live\":1,"    \
        "\"created\":1,\"repeating\":true,\"interval_ms\":5,\"oldest_created_ms\":0,\"frames\":[]" \
        "}]"
#define JS_POINT(sites)                                                                            \
        "{\"time_ms\":1,\"timers_live\":2,\"heap_used\":1,\"heap_total\":1,\"external\":0,"        \
        "\"array_buffers\":0,\"rss\":1,\"site_live\":" sites "}"

static int write_text(const char *path, const char *text)
{
        return synth_write_file(path, text, strlen(text));
}

/* The JS state: TIME_MS is the module's clock when it wrote it. Its
 * timeline, a point a second from 4 s after the trace's start: the request
 * handler's timers (site 3) grow by 5 a second, each keeping 1 MiB of JS
 * heap; the jsdom chain (sites 1 and 2, one site in the report) holds 3,
 * the one-shots (site 4) 2. At 6 s the module listed only the chain (as if
 * it had too many sites to list): the handler's count is unknown there, and
 * that point's heap, far off the line, must not count in its fit. */
static const char *js_good =
    "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5000,\"time_ms\":1700000010000,"
    "\"start_ms\":1700000000000,\"complete\":true,\"timers_created\":177,\"timers_live\":30,"
    "\"overflow\":{\"live\":0,\"created\":0},\"heap\":{\"used\":1},\"rss\":2,\"timeline\":["
    "{\"time_ms\":1700000004000,\"timers_live\":5,\"heap_used\":10000000,"
    "\"heap_total\":20000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":50000000,"
    "\"site_live\":[[2,3],[4,2]]},"
    "{\"time_ms\":1700000005000,\"timers_live\":10,\"heap_used\":15242880,"
    "\"heap_total\":26000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":56000000,"
    "\"site_live\":[[3,5],[2,3],[4,2]]},"
    "{\"time_ms\":1700000006000,\"timers_live\":15,\"heap_used\":999999999,"
    "\"heap_total\":32000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":62000000,"
    "\"site_live\":[[2,3]]},"
    "{\"time_ms\":1700000007000,\"timers_live\":20,\"heap_used\":25728640,"
    "\"heap_total\":38000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":68000000,"
    "\"site_live\":[[3,15],[2,3],[4,2]]},"
    "{\"time_ms\":1700000008000,\"timers_live\":25,\"heap_used\":30971520,"
    "\"heap_total\":44000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":74000000,"
    "\"site_live\":[[3,20],[2,3],[4,2]]},"
    "{\"time_ms\":1700000009000,\"timers_live\":30,\"heap_used\":36214400,"
    "\"heap_total\":50000000,\"external\":1388305,\"array_buffers\":10691,\"rss\":80000000,"
    "\"site_live\":[[3,25],[2,3],[4,2]]}],"
    "\"sites\":[\n"
    /* ended: never listed */
    "{\"function\":\"poll\",\"file\":\"/app/poll.js\",\"line\":9,\"column\":5,\"live\":0,"
    "\"created\":100,\"repeating\":false,\"interval_ms\":-1,\"oldest_created_ms\":null,"
    "\"unrefed\":0,\"inherited\":false,\"via\":null,\"frames\":[{\"function\":\"poll\","
    "\"file\":\"/app/poll.js\",\"line\":9,\"column\":5}]},\n"
    /* the chain of a jsdom window.setInterval: its first timer, then the re-arms */
    "{\"function\":\"componentWillMount\",\"file\":\"/app/page.js\",\"line\":7,\"column\":27,"
    "\"live\":0,\"created\":3,\"repeating\":false,\"interval_ms\":20,\"oldest_created_ms\":null,"
    "\"unrefed\":0,\"inherited\":false,\"via\":null,\"frames\":["
    "{\"function\":\"timerInitializationSteps\",\"file\":\"/app/node_modules/jsdom/Window.js\","
    "\"line\":600,\"column\":25},"
    "{\"function\":\"componentWillMount\",\"file\":\"/app/page.js\",\"line\":7,\"column\":27},"
    "{\"function\":null,\"file\":\"/app/page.js\",\"line\":20,\"column\":0}]},\n"
    "{\"function\":\"componentWillMount\",\"file\":\"/app/page.js\",\"line\":7,\"column\":27,"
    "\"live\":3,\"created\":40,\"repeating\":true,\"interval_ms\":20,"
    "\"oldest_created_ms\":1700000007500,\"unrefed\":0,\"inherited\":true,"
    "\"via\":{\"function\":\"task\",\"file\":\"/app/node_modules/jsdom/Window.js\",\"line\":580,"
    "\"column\":9,\"frames\":[]},\"frames\":["
    "{\"function\":\"timerInitializationSteps\",\"file\":\"/app/node_modules/jsdom/Window.js\","
    "\"line\":600,\"column\":25},"
    "{\"function\":\"componentWillMount\",\"file\":\"/app/page.js\",\"line\":7,\"column\":27},"
    "{\"function\":null,\"file\":\"/app/page.js\",\"line\":20,\"column\":0}]},\n"
    /* setInterval once per request, never cleared */
    "{\"function\":\"handleRequest\",\"file\":\"/app/server.js\",\"line\":12,\"column\":3,"
    "\"live\":25,\"created\":25,\"repeating\":true,\"interval_ms\":1000,"
    "\"oldest_created_ms\":1700000005000,\"unrefed\":0,\"inherited\":false,\"via\":null,"
    "\"frames\":[{\"function\":\"handleRequest\",\"file\":\"/app/server.js\",\"line\":12,"
    "\"column\":3},{\"function\":\"main\",\"file\":\"/app/server.js\",\"line\":40,"
    "\"column\":1}]},\n"
    /* one-shots still pending */
    "{\"function\":\"later\",\"file\":\"/app/x.js\",\"line\":3,\"column\":5,\"live\":2,"
    "\"created\":9,\"repeating\":false,\"interval_ms\":5000,"
    "\"oldest_created_ms\":1700000009000.25,\"unrefed\":1,\"inherited\":false,\"via\":null,"
    "\"frames\":[{\"function\":\"later\",\"file\":\"/app/x.js\",\"line\":3,\"column\":5}]}]}\n";

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
        char *dir = make_temp_dir("timers");
        lt_test_capture_all(&k);

        const char *cmd[] = {"server"};
        struct synth s;
        synth_init(&s, 5000, 1, cmd);
        s.hdr.end_ns = s.hdr.update_ns = end;
        struct lt_module_rec x, m;
        if (synth_self_module(&x) < 0)
                return 2;
        memset(&m, 0, sizeof(m)); /* the tracer: its frames are hidden */
        strcpy(m.path, "/nonexistent/libleaktrace.so");
        m.path_len = (uint16_t)strlen(m.path);
        m.bias = m.lo = 0x40000000;
        m.hi = 0x40010000;
        m.flags = LT_MOD_SELF;
        m.gen_loaded = 1;
        m.gen_unloaded = LT_MOD_LOADED;
        synth_add_module(&s, &x);
        synth_add_module(&s, &m);

        /* Stack ids are index + 1. */
        uint64_t through_tracer[4] = {0x40000010, k.a.f[0], k.a.f[1], k.a.f[2]};
        int sa = 1 + synth_add_stack(&s, k.a.f, 3, 1, 0, 0, 0, 0);
        int sa2 = 1 + synth_add_stack(&s, through_tracer, 4, 1, 0, 0, 0, 0);
        int sc = 1 + synth_add_stack(&s, k.c.f, 1, 1, 0, 0, 0, 0);
        int sd = 1 + synth_add_stack(&s, k.dd.f, 1, 1, 0, 0, 0, 0);
        int sm = 1 + synth_add_stack(&s, k.m.f, 2, 1, 0, 0, 0, 0);

        /* site: kind, stack; timers per site */
        int t_fd = synth_add_timer_site(&s, (uint32_t)sa, LT_TIMER_TIMERFD, 2, 3);
        int t_fd2 = synth_add_timer_site(&s, (uint32_t)sa2, LT_TIMER_TIMERFD, 1, 2);
        int t_posix = synth_add_timer_site(&s, (uint32_t)sc, LT_TIMER_POSIX, 1, 1);
        int t_alarm = synth_add_timer_site(&s, (uint32_t)sd, LT_TIMER_ALARM, 1, 1);
        int t_real = synth_add_timer_site(&s, (uint32_t)sd, LT_TIMER_ITIMER, 1, 1);
        int t_virt = synth_add_timer_site(&s, (uint32_t)sm, LT_TIMER_ITIMER, 1, 1);
        int t_inh = synth_add_timer_site(&s, 0, LT_TIMER_TIMERFD, 1, 1);
        int t_gone = synth_add_timer_site(&s, (uint32_t)sc, LT_TIMER_TIMERFD, 0, 4);

        struct lt_timer_rec r;
        /* A: three timerfds live (two through the tracer's path: same
         * frames shown, one site), oldest made at 2 s; the newest
         * repeating one gives the interval. */
        r = timer(LT_TIMER_TIMERFD, (uint32_t)t_fd, 1, 2 * SEC, 2 * SEC, 100 * MS, 100 * MS);
        synth_add_timer(&s, &r);
        r = timer(LT_TIMER_TIMERFD, (uint32_t)t_fd2, 1, 6 * SEC, 6 * SEC, 250 * MS, 250 * MS);
        synth_add_timer(&s, &r);
        r = timer(LT_TIMER_TIMERFD, (uint32_t)t_fd, 1, 7 * SEC, 0, 0, 0); /* never armed */
        synth_add_timer(&s, &r);
        r = timer(LT_TIMER_TIMERFD, (uint32_t)t_fd, 1, 3 * SEC, 3 * SEC, 100 * MS, 100 * MS);
        r.state = LT_TIMER_FREE; /* ended: its slot is free */
        synth_add_timer(&s, &r);
        /* a one-shot POSIX timer whose expiry passed: still live (not deleted) */
        r = timer(LT_TIMER_POSIX, (uint32_t)t_posix, 1, 9 * SEC, 9 * SEC, 0, 1 * MS);
        synth_add_timer(&s, &r);
        /* alarm(1) at 5 s: rang at 6 s, before the end: not live */
        r = timer(LT_TIMER_ALARM, (uint32_t)t_alarm, ITIMER_REAL, 5 * SEC, 5 * SEC, 0, 1 * SEC);
        synth_add_timer(&s, &r);
        /* a one-shot real-time itimer due after the end: live */
        r = timer(LT_TIMER_ITIMER, (uint32_t)t_real, ITIMER_REAL, 8 * SEC, 8 * SEC, 0, 5 * SEC);
        synth_add_timer(&s, &r);
        /* a one-shot CPU-time itimer: its CPU time is not known, live */
        r = timer(LT_TIMER_ITIMER, (uint32_t)t_virt, ITIMER_VIRTUAL, 1 * SEC, 1 * SEC, 0, MS);
        synth_add_timer(&s, &r);
        /* inherited across exec */
        r = timer(LT_TIMER_TIMERFD, (uint32_t)t_inh, 1, 0, 0, SEC, SEC);
        r.flags |= LT_TIMER_INHERITED;
        synth_add_timer(&s, &r);
        (void)t_gone;

        char *trace, *js;
        if (asprintf(&trace, "%s/leaktrace.5000.lt", dir) < 0 ||
            asprintf(&js, "%s/leaktrace.5000.js.json", dir) < 0 || synth_write(&s, trace) < 0)
                return 2;
        synth_free(&s);

        /* Expected, native only. Same counts and kind: ordered by frames. */
        const char *fa[] = {"leaf_a", "mid_a", "capture_all"};
        const char *fc[] = {"leaf_c"};
        const char *fd[] = {"leaf_d"};
        const char *fm[] = {"leaktrace::test::mangled(unsigned long*)", "capture_all"};
        char *native[6] = {0};
        size_t len;
        for (int i = 0; i < 6; i++) {
                FILE *w = open_memstream(&native[i], &len);
                switch (i) {
                case 0: /* repeating, 3 live */
                        put_head(w, 1, "timerfd", 3, 5, 250 * MS, "8.000");
                        put_native(w, &k.a, fa, 3);
                        break;
                case 1: /* repeating, inherited */
                        put_head(w, 1, "timerfd", 1, 1, SEC, "10.000");
                        fputs("\"inherited\":true,\"frames\":[]", w);
                        break;
                case 2:
                        put_head(w, 1, "posix", 1, 1, 0, "1.000");
                        put_native(w, &k.c, fc, 1);
                        break;
                case 3:
                case 4: { /* the two itimers, by their frames' addresses */
                        int d_first = k.dd.f[0] < k.m.f[0];
                        if ((i == 3) == d_first) {
                                put_head(w, 1, "itimer", 1, 1, 0, "2.000");
                                put_native(w, &k.dd, fd, 1);
                        } else {
                                put_head(w, 1, "itimer", 1, 1, 0, "9.000");
                                struct cap cm = k.m;
                                put_native(w, &cm, fm, 2);
                        }
                        break;
                }
                default:
                        break;
                }
                if (i < 5)
                        putc('}', w);
                fclose(w);
        }
        /* the mangled frame's file is fake_wrappers.c, not this one */
        {
                char *old = strstr(native[3], "leaktrace::test::") ? native[3] : native[4];
                char *at = strstr(old, me);
                char *fixed;
                if (asprintf(&fixed, "%.*s%s%s", (int)(at - old), old, lt_test_wrappers_file,
                             at + strlen(me)) < 0)
                        return 2;
                if (old == native[3])
                        native[3] = fixed;
                else
                        native[4] = fixed;
                free(old);
        }
        const char *head = "{\"tool\":\"leaktrace\",\"version\":1,\"process\":{\"pid\":5000,"
                           "\"command\":[\"server\"],\"complete\":true,\"ended\":\"exited\"},\"summary\":{"
                           "\"live_bytes\":0,\"live_blocks\":0,\"allocations\":0,\"frees\":0,"
                           "\"peak_live_bytes\":0},\"sites\":[],\"timers\":[";
        char *want_native;
        if (asprintf(&want_native, "%s%s,%s,%s,%s,%s]" NO_HISTORY ",\"growth\":null,\"places\":[]}\n", head,
                     native[0], native[1], native[2], native[3], native[4]) < 0)
                return 2;

        const char *a1[] = {"--format", "json", trace};
        check("OS timers: live ones per site, repeating first", a1, 3, want_native, 0, NULL);

        /* With the JS state beside it. */
        if (write_text(js, js_good) < 0)
                return 2;
#define SERVER_FRAMES                                                                              \
        "\"frames\":[{\"function\":\"handleRequest\",\"file\":\"/app/server.js\",\"line\":12,"     \
        "\"column\":3},{\"function\":\"main\",\"file\":\"/app/"                                    \
        "server.js\",\"line\":40,\"column\":1}]"
        const char *j_server =
            "{\"kind\":\"js\",\"live\":25,\"created\":25,\"repeating\":true,"
            "\"interval_ns\":1000000000,\"oldest_age_s\":5.000," SERVER_FRAMES "}";
        const char *j_page =
            "{\"kind\":\"js\",\"live\":3,\"created\":43,\"repeating\":true,"
            "\"interval_ns\":20000000,\"oldest_age_s\":2.500,\"frames\":["
            "{\"function\":\"componentWillMount\",\"file\":\"/app/page.js\",\"line\":7,"
            "\"column\":27},{\"function\":\"timerInitializationSteps\",\"file\":"
            "\"/app/node_modules/jsdom/Window.js\",\"line\":600,\"column\":25},"
            "{\"function\":null,\"file\":\"/app/page.js\",\"line\":20,\"column\":null}]}";
        const char *j_later = "{\"kind\":\"js\",\"live\":2,\"created\":9,\"repeating\":false,"
                              "\"interval_ns\":0,\"oldest_age_s\":1.000,\"frames\":["
                              "{\"function\":\"later\",\"file\":\"/app/x.js\",\"line\":3,"
                              "\"column\":5}]}";
        /* The trace has no timeline: RSS from the module's, no malloc nor
         * mappings, timers the JS ones; growth per minute exact (Theil-Sen
         * is not swayed by the one point off the line); the handler keeps
         * 1 MiB a timer over the 5 points where its count is known. */
        const char *growth =
            ",\"growth\":{\"span_s\":5.000,\"series\":["
            "{\"name\":\"rss\",\"unit\":\"bytes\",\"first\":50000000,\"last\":80000000,"
            "\"per_minute\":360000000.0},"
            "{\"name\":\"js_heap_used\",\"unit\":\"bytes\",\"first\":10000000,\"last\":36214400,"
            "\"per_minute\":314572800.0},"
            "{\"name\":\"js_heap_total\",\"unit\":\"bytes\",\"first\":20000000,\"last\":50000000,"
            "\"per_minute\":360000000.0},"
            "{\"name\":\"js_external\",\"unit\":\"bytes\",\"first\":1388305,\"last\":1388305,"
            "\"per_minute\":0.0},"
            "{\"name\":\"js_array_buffers\",\"unit\":\"bytes\",\"first\":10691,\"last\":10691,"
            "\"per_minute\":0.0},"
            "{\"name\":\"timers\",\"unit\":\"count\",\"first\":5,\"last\":30,"
            "\"per_minute\":300.0}],"
            "\"retention\":[{\"kind\":\"js\"," SERVER_FRAMES ",\"live\":25,"
            "\"bytes_per_timer\":1048576.0,\"r2\":1.0000,\"points\":5,"
            "\"against\":\"js_heap_used\",\"in_step_with\":[]}],\"timer_leaks\":[]}";
        char *want_js, *want_js_top3;
        if (asprintf(&want_js, "%s%s,%s,%s,%s,%s,%s,%s,%s]" NO_HISTORY "%s,\"places\":[]}\n", head, j_server,
                     j_page, native[0], native[1], j_later, native[2], native[3], native[4],
                     growth) < 0 ||
            asprintf(&want_js_top3, "%s%s,%s,%s]" NO_HISTORY "%s,\"places\":[]}\n", head, j_server, j_page,
                     native[0], growth) < 0)
                return 2;
        check("JS timers merged: the request handler first, the jsdom chain as one site", a1, 3,
              want_js, 0, NULL);
        const char *a2[] = {"--format", "json", "--top", "3", trace};
        check("--top 3 keeps the first 3 timer sites", a2, 5, want_js_top3, 0, NULL);

        /* Two processes: the same setInterval line and the same timerfd
         * stack in both are one site across them, figures summed. */
        {
                const char *cmd2[] = {"worker"};
                struct synth s2;
                synth_init(&s2, 5001, 1, cmd2);
                s2.hdr.end_ns = s2.hdr.update_ns = end;
                synth_add_module(&s2, &x);
                int st = 1 + synth_add_stack(&s2, k.a.f, 3, 1, 0, 0, 0, 0);
                int ts = synth_add_timer_site(&s2, (uint32_t)st, LT_TIMER_TIMERFD, 1, 1);
                r = timer(LT_TIMER_TIMERFD, (uint32_t)ts, 1, 1 * SEC, 1 * SEC, 500 * MS, 500 * MS);
                synth_add_timer(&s2, &r);
                char *trace2, *js2, *want_across, *got = NULL;
                if (asprintf(&trace2, "%s/leaktrace.5001.lt", dir) < 0 ||
                    asprintf(&js2, "%s/leaktrace.5001.js.json", dir) < 0 ||
                    synth_write(&s2, trace2) < 0 ||
                    write_text(js2, "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5001,"
                                    "\"time_ms\":1700000010000,\"complete\":true,\"sites\":["
                                    "{\"function\":\"handleRequest\",\"file\":\"/app/server.js\","
                                    "\"line\":12,\"column\":3,\"live\":4,\"created\":4,"
                                    "\"repeating\":true,\"interval_ms\":1000,"
                                    "\"oldest_created_ms\":1700000009000,\"frames\":["
                                    "{\"function\":\"handleRequest\",\"file\":\"/app/server.js\","
                                    "\"line\":12,\"column\":3}]}],\"timeline\":[]}\n") < 0)
                        return 2;
                synth_free(&s2);
                size_t flen;
                FILE *w = open_memstream(&want_across, &flen);
                const char *sf = strstr(j_server, "\"frames\"");
                const char *pf = strstr(j_page, "\"frames\"");
                fputs(",\"across\":{\"sites\":[],\"timers\":[{\"kind\":\"js\",\"live\":29,"
                      "\"created\":29,\"repeating\":true,\"interval_ns\":1000000000,"
                      "\"processes\":2,\"pids\":[5000,5001],",
                      w);
                fwrite(sf, 1, strlen(sf) - 1, w);
                fputs("},{\"kind\":\"timerfd\",\"live\":4,\"created\":6,\"repeating\":true,"
                      "\"interval_ns\":250000000,\"processes\":2,\"pids\":[5000,5001],",
                      w);
                put_native(w, &k.a, fa, 3);
                fputs("},{\"kind\":\"js\",\"live\":3,\"created\":43,\"repeating\":true,"
                      "\"interval_ns\":20000000,\"processes\":1,\"pids\":[5000],",
                      w);
                fwrite(pf, 1, strlen(pf) - 1, w);
                fputs("}]}}\n", w);
                fclose(w);
                int status;
                char *err;
                const char *a[] = {"--format", "json", "--top", "3", trace, trace2};
                char *out = run(leaktrace, a, 6, &status, &err);
                if (strstr(out, ",\"across\":"))
                        got = strstr(out, ",\"across\":");
                if (!tap_ok(status == 0 && !err[0] && got && !strcmp(got, want_across),
                            "two processes: the timer sites across them, summed, top 3"))
                        tap_diag("status %d, stderr %s\ngot:  %s\nwant: %s", status, err,
                                 got ? got : out, want_across);
                free(out);
                free(err);
                const char *b[] = {trace, trace2};
                out = run(leaktrace, b, 2, &status, &err);
                const char *line = "\ntimer #1: js, 29 live of 29 created in 2 processes (pids "
                                   "5000, 5001), repeating every 1000 ms\n  #0 handleRequest "
                                   "(/app/server.js:12:3)\n  #1 main (/app/server.js:40:1)\n";
                const char *head_line = "\nlive timers across the 2 processes: 42 from 8 creation "
                                        "sites\n";
                if (!tap_ok(status == 0 && strstr(out, line) && strstr(out, head_line) &&
                                strstr(out, line) < strstr(out, "\n== "),
                            "text: the timers across processes, before each process's report"))
                        tap_diag("status %d, stderr %s, text report:\n%s", status, err, out);
                free(out);
                free(err);
                unlink(trace2);
                unlink(js2);
                free(trace2);
                free(js2);
                free(want_across);
        }

        /* The text report. */
        {
                int status;
                char *err;
                const char *a[] = {trace};
                char *out = run(leaktrace, a, 1, &status, &err);
                const char *lines[] = {
                    "\nlive timers: 37 from 8 creation sites (191 created in all)\n",
                    "\ntimer #1: js, 25 live of 25 created, repeating every 1000 ms, oldest 5.0 "
                    "s\n  #0 handleRequest (/app/server.js:12:3)\n  #1 main "
                    "(/app/server.js:40:1)\n",
                    "\ntimer #2: js, 3 live of 43 created, repeating every 20 ms, oldest 2.5 s\n"
                    "  #0 componentWillMount (/app/page.js:7:27)\n"
                    "  #1 timerInitializationSteps (/app/node_modules/jsdom/Window.js:600:25)\n"
                    "  #2 ?? (/app/page.js:20)\n",
                    "\ntimer #3: timerfd, 3 live of 5 created, repeating every 250 ms, oldest 8.0 "
                    "s\n  #0 leaf_a (",
                    "\ntimer #4: timerfd, 1 live of 1 created, repeating every 1000 ms, oldest "
                    "10.0 s\n  (inherited across exec: made before this program started)\n",
                    "\ntimer #5: js, 2 live of 9 created, one-shot, oldest 1.0 s\n",
                    "\ntimer #6: posix, 1 live of 1 created, one-shot, oldest 1.0 s\n  #0 leaf_c (",
                };
                int ok = status == 0 && !err[0];
                for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                        if (!tap_ok(strstr(out, lines[i]) != NULL, "text: has %.60s", lines[i] + 1))
                                ok = 0;
                /* A node process's report leads with where its memory went. */
                const char *lead =
                    "pid 5000: server (exited)\n"
                    "Where the growth went (5.0 s):\n"
                    "  RSS                 +28.6 MiB   +343.3 MiB/min\n"
                    "  JS heap used        +25.0 MiB   +300.0 MiB/min\n"
                    "  JS heap total       +28.6 MiB   +343.3 MiB/min\n"
                    "  JS external           0 bytes      0 bytes/min\n"
                    "  JS array buffers      0 bytes      0 bytes/min\n"
                    "  live timers               +25         +300/min\n"
                    "  The JS heap grows with the live timers of handleRequest "
                    "(/app/server.js:12:3): about 1.0 MiB more with each live timer (R\xc2\xb2 1.00 "
                    "over 5 ticks).\n"
                    "\nlive: 0 bytes in 0 blocks;";
                if (!tap_ok(!strncmp(out, lead, strlen(lead)),
                            "text: leads with the growth summary"))
                        ok = 0;
                if (!ok)
                        tap_diag("status %d, stderr %s, text report:\n%s", status, err, out);
                free(out);
                free(err);
        }
        {
                int status;
                char *err;
                const char *a[] = {"--format", "markdown", trace};
                char *out = run(leaktrace, a, 3, &status, &err);
                const char *lead =
                    "## leaktrace: pid 5000 `server`\n\n"
                    "**Where the growth went** (5.0 s):\n\n"
                    "| | growth | per minute |\n|---|--:|--:|\n"
                    "| RSS | +28.6 MiB | +343.3 MiB/min |\n"
                    "| JS heap used | +25.0 MiB | +300.0 MiB/min |\n"
                    "| JS heap total | +28.6 MiB | +343.3 MiB/min |\n"
                    "| JS external | 0 bytes | 0 bytes/min |\n"
                    "| JS array buffers | 0 bytes | 0 bytes/min |\n"
                    "| live timers | +25 | +300/min |\n\n"
                    "The JS heap grows with the live timers of `handleRequest "
                    "(/app/server.js:12:3)`: about 1.0 MiB more with each live timer (R\xc2\xb2 1.00 "
                    "over 5 ticks).\n\n"
                    "0 bytes live in 0 blocks.\n";
                if (!tap_ok(status == 0 && !strncmp(out, lead, strlen(lead)),
                            "markdown: leads with the growth summary"))
                        tap_diag("status %d, stderr %s, markdown report:\n%s", status, err, out);
                free(out);
                free(err);
        }

        /* State files that cannot be used: one warning naming the file,
         * and the report of the OS timers as if there were none. */
        static const struct {
                const char *what, *text, *warn;
        } bad[] = {
            {"not JSON", "{\"tool\":\"leaktrace-js\",", "not valid JSON"},
            {"empty", "", "not valid JSON"},
            {"an array", "[1,2]", "not a JSON object"},
            {"another tool", "{\"tool\":\"other\",\"version\":2}", "not a leaktrace-js state"},
            {"a newer version", "{\"tool\":\"leaktrace-js\",\"version\":3}", "version 3"},
            {"an older version", "{\"tool\":\"leaktrace-js\",\"version\":1}", "version 1"},
            {"another pid",
             "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5001,\"time_ms\":1,"
             "\"complete\":true,\"sites\":[],\"timeline\":[]}",
             "pid 5001"},
            {"sites not an array",
             "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5000,\"time_ms\":1,"
             "\"complete\":true,\"sites\":{}}",
             "state.sites"},
            {"without a timeline", JS_HEAD JS_SITE "}", "state.timeline: not an array"},
            {"a point without heap_total",
             JS_HEAD JS_SITE ",\"timeline\":[{\"time_ms\":1,\"timers_live\":1,\"heap_used\":1,"
                             "\"external\":0,\"array_buffers\":0,\"rss\":1,\"site_live\":[]}]}",
             "timeline[0].heap_total: not a count"},
            {"a point whose time is a string",
             JS_HEAD JS_SITE
             ",\"timeline\":[" JS_POINT("[]") ",{\"time_ms\":\"2\",\"timers_live\":1,"
                                              "\"heap_used\":1,\"heap_total\":1,\"external\":0,"
                                              "\"array_buffers\":0,\"rss\":1,"
                                              "\"site_live\":[]}]}",
             "timeline[1].time_ms: not a time"},
            {"a point's site that is not one",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT("[[1,1]]") "]}",
             "timeline[0].site_live[0]: site 1 is not one of the 1 sites"},
            {"a point's site twice",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT("[[0,1],[0,1]]") "]}",
             "timeline[0].site_live: site 0 twice"},
            {"a point's sites with more timers than it has",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT("[[0,3]]") "]}",
             "timeline[0].site_live: more live timers than timers_live"},
            {"a point's site without a count",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT("[[0]]") "]}",
             "timeline[0].site_live[0]: not a pair [site, live]"},
            {"a point's site with no live timer",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT("[[0,0]]") "]}",
             "timeline[0].site_live[0]: not a live count"},
            {"a point with 17 sites",
             JS_HEAD JS_SITE ",\"timeline\":[" JS_POINT(
                 "[[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],[0,1],"
                 "[0,1],[0,1],[0,1],[0,1]]") "]}",
             "timeline[0].site_live: 17 sites, the module lists 16 at most"},
            {"a live count that is a string",
             "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5000,\"time_ms\":1,"
             "\"complete\":true,\"sites\":[{\"function\":\"f\",\"file\":\"/a.js\",\"line\":1,"
             "\"column\":1,\"live\":\"1\",\"created\":1,\"repeating\":true,\"interval_ms\":5,"
             "\"oldest_created_ms\":0,\"frames\":[]}]}",
             "sites[0].live"},
            {"a negative line in a frame",
             "{\"tool\":\"leaktrace-js\",\"version\":2,\"pid\":5000,\"time_ms\":1,"
             "\"complete\":true,\"sites\":[{\"function\":\"f\",\"file\":\"/a.js\",\"line\":1,"
             "\"column\":1,\"live\":1,\"created\":1,\"repeating\":true,\"interval_ms\":5,"
             "\"oldest_created_ms\":0,\"frames\":[{\"function\":\"f\",\"file\":\"/a.js\","
             "\"line\":-1,\"column\":1}]}]}",
             "sites[0].frames[0].line"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (write_text(js, bad[i].text) < 0)
                        return 2;
                char what[96];
                snprintf(what, sizeof(what), "a JS state that is %s", bad[i].what);
                check(what, a1, 3, want_native, 1, bad[i].warn);
        }
        {
                /* More points than the module keeps. */
                char *text = NULL;
                size_t len = 0;
                FILE *w = open_memstream(&text, &len);
                fputs(JS_HEAD JS_SITE ",\"timeline\":[", w);
                for (int i = 0; i < 257; i++)
                        fputs(i ? "," JS_POINT("[]") : JS_POINT("[]"), w);
                fputs("]}", w);
                fclose(w);
                if (write_text(js, text) < 0)
                        return 2;
                free(text);
                check("a JS state with 257 points", a1, 3, want_native, 1,
                      "state.timeline: 257 points, the module keeps 256 at most");
        }
        unlink(js);
        if (mkdir(js, 0700) == 0) {
                check("a JS state that is a directory", a1, 3, want_native, 1,
                      "not a regular file");
                rmdir(js);
        }

        free(native[0]);
        free(native[1]);
        free(native[2]);
        free(native[3]);
        free(native[4]);
        free(want_native);
        free(want_js);
        free(want_js_top3);
        free(trace);
        free(js);
        if (!getenv("LT_TEST_KEEP"))
                rm_tree(dir);
        else
                printf("# kept %s\n", dir);
        return tap_done();
}
