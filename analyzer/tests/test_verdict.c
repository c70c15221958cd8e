/* The verdict rules on series made up for each case, the two estimators
 * they rest on, and the escaping of SVG text, without a trace file. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "svg.h"
#include "verdict.h"

#define N 40

struct series {
        size_t n;
        double t[64], allocs[64];
        int64_t bytes[64];
};

/* N points a second apart, the process allocating 100 blocks a second. */
static void init(struct series *s, size_t n)
{
        memset(s, 0, sizeof(*s));
        s->n = n;
        for (size_t i = 0; i < n; i++) {
                s->t[i] = (double)i;
                s->allocs[i] = 100.0 * (double)i;
        }
}

static void expect(const char *what, const struct series *s, enum lt_verdict_kind want)
{
        struct lt_verdict v;
        lt_verdict_judge(s->t, s->allocs, s->bytes, s->n, &v);
        if (!tap_ok(v.kind == want, "%s: %s", what, lt_verdict_name(want)))
                tap_diag("got %s: %s (R2 %.3f, %.1f B/s)", lt_verdict_name(v.kind), v.reason, v.r2,
                         v.growth_per_s);
}

static void verdicts(void)
{
        struct series s;
        struct lt_verdict v;

        init(&s, N);
        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 1000 + 100 * (int64_t)i;
        expect("steady growth", &s, LT_VERDICT_LEAK);
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(fabs(v.growth_per_s - 100) < 1e-9 && fabs(v.growth_per_kalloc - 1000) < 1e-9 &&
                   fabs(v.r2 - 1) < 1e-12 && v.growth_bytes == 3900 && v.points == N &&
                   v.fit_axis == LT_AXIS_TIME,
               "steady growth: 100 B/s, 1000 B per 1000 allocations, R2 1, growth 3900, %d "
               "points",
               N);

        /* Zeros before it first held memory are not its points. */
        for (size_t i = 0; i < 10; i++)
                s.bytes[i] = 0;
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(v.kind == LT_VERDICT_LEAK && v.points == N - 10 && v.growth_bytes == 4900,
               "appeared late: judged on its %d points, growth from the first point of all",
               N - 10);

        /* Noisy but steady: a sawtooth of 30% around a rising line. */
        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 10000 + 500 * (int64_t)i + (i % 4 == 3 ? -3000 : 0);
        expect("rising sawtooth (a garbage-collected heap that leaks)", &s, LT_VERDICT_LEAK);

        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 200 * (int64_t)(i < 10 ? i + 1 : 10);
        expect("fills to a bound, then flat", &s, LT_VERDICT_CACHE);

        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 65536;
        expect("constant from the first point (a plateau)", &s, LT_VERDICT_CACHE);

        for (size_t i = 0; i < N; i++) {
                int64_t k = (int64_t)(i % 20);
                s.bytes[i] = 64 * (k < 10 ? k : 20 - k);
        }
        s.bytes[N - 1] = 64;
        expect("up and down, ends low", &s, LT_VERDICT_TRANSIENT);

        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 1000 + (i % 2 ? 600 : 0);
        s.bytes[N - 1] = 1000;
        expect("goes between two levels, no net growth", &s, LT_VERDICT_TRANSIENT);

        for (size_t i = 0; i < N; i++)
                s.bytes[i] = i < 30 ? 100 * (int64_t)(i + 1) : 300;
        expect("grew, then came back", &s, LT_VERDICT_TRANSIENT);

        /* Grew under load, then the process went idle: flat over time, but
         * no allocation happened meanwhile: still a leak. */
        for (size_t i = 0; i < N; i++) {
                s.bytes[i] = 100 * (int64_t)(i < 20 ? i + 1 : 20);
                s.allocs[i] = 100.0 * (double)(i < 20 ? i : 19);
        }
        expect("leaked under load, then idle (flat in time, not in allocations)", &s,
               LT_VERDICT_LEAK);
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(v.fit_axis == LT_AXIS_ALLOCS, "idle leak: judged against allocations");

        /* The same, idle but for a few allocations of housekeeping at every
         * tick (a timer, node's module writing its state): the idle points
         * crowd the end of the allocation axis. The last third of that
         * axis still added a fifth of the growth: a leak, not a growth
         * that slows (its tail's slope, which was the measure, is 0). */
        init(&s, N);
        for (size_t i = 0; i < N; i++) {
                s.bytes[i] = 100 * (int64_t)(i < 20 ? i + 1 : 20);
                s.allocs[i] = i < 20 ? 100.0 * (double)i : 1900.0 + 5.0 * (double)(i - 19);
        }
        expect("leaked under load, then idle with a little housekeeping", &s, LT_VERDICT_LEAK);
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(v.fit_axis == LT_AXIS_ALLOCS && strstr(v.reason, "in the last third"),
               "idle leak with housekeeping: judged against allocations (%s)", v.reason);

        /* A burst of load 2 ticks long, then idle (but for housekeeping):
         * the shape of a leak against allocations, and of a cache that
         * filled as much; so is a heap that grew in two steps. Neither is
         * judged: unclear, and marked stepped. From a run of an express
         * server given 500 requests in a second: allocations and bytes at
         * each tick since the site first held memory. */
        {
                static const double allocs[] = {534116, 569888, 570130, 570554, 570586, 570976};
                static const int64_t leak[] = {3162112, 7979008, 7979008, 7979008, 7979008, 7979008};
                static const double allocs2[] = {496993, 534116, 569888, 570130,
                                                 570554, 570586, 570976};
                static const int64_t heap[] = {524288,  786432,  1310720, 1310720,
                                               1310720, 1310720, 1310720};
                init(&s, 7);
                for (size_t i = 0; i < 7; i++) {
                        s.allocs[i] = allocs2[i];
                        s.bytes[i] = heap[i];
                }
                lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
                tap_ok(v.kind == LT_VERDICT_UNCLEAR && v.stepped && v.rises == 2 &&
                           strstr(v.reason, "at only 2 ticks"),
                       "grew at 2 ticks of 7: unclear, stepped (%s)", v.reason);
                init(&s, 6);
                for (size_t i = 0; i < 6; i++) {
                        s.allocs[i] = allocs[i];
                        s.bytes[i] = leak[i];
                }
                lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
                tap_ok(v.kind == LT_VERDICT_UNCLEAR && v.stepped && v.rises == 1,
                       "grew at 1 tick of 6: unclear, stepped (%s)", v.reason);
                /* The same growth over 3 ticks of load is a leak. */
                init(&s, 7);
                for (size_t i = 0; i < 7; i++) {
                        s.allocs[i] = i < 4 ? 500000.0 + 20000.0 * (double)i : 560000.0 + (double)i;
                        s.bytes[i] = 1000000 * (int64_t)(i < 4 ? i + 1 : 4);
                }
                lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
                tap_ok(v.kind == LT_VERDICT_LEAK && !v.stepped && v.rises == 3,
                       "grew at 3 ticks, then idle: a leak (%s)", v.reason);
                /* The same 3 ticks of growth at a process's start, then 9
                 * of doing next to nothing: a leak's line against its
                 * allocations, level at most times. A module loaded by a
                 * short test file (node --test). */
                init(&s, 13);
                for (size_t i = 0; i < 13; i++) {
                        s.allocs[i] = i < 4 ? 459000.0 + 3000.0 * (double)i : 468000.0 + 10.0 * (double)i;
                        s.bytes[i] = 100000 * (int64_t)(i < 4 ? i + 1 : 4);
                }
                lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
                tap_ok(v.kind == LT_VERDICT_UNCLEAR && !v.stepped && strstr(v.reason, "level for most"),
                       "grew at 3 ticks of 13, then level: unclear, not a leak (%s)", v.reason);
                init(&s, N);
        }

        /* A cache that fills while the process keeps allocating. */
        init(&s, N);
        for (size_t i = 0; i < N; i++)
                s.bytes[i] = 4096 * (int64_t)(i < 15 ? i + 1 : 15);
        expect("fills while the process keeps allocating", &s, LT_VERDICT_CACHE);

        /* Growth that slows down without levelling off: the last third
         * adds 8% of it, between a cache's 5% and a leak's 15%. */
        for (size_t i = 0; i < N; i++)
                s.bytes[i] = (int64_t)(100000 * (1 - exp(-(double)i / 12)));
        expect("growth slowing down", &s, LT_VERDICT_UNCLEAR);

        init(&s, 4);
        for (size_t i = 0; i < 4; i++)
                s.bytes[i] = 100 * (int64_t)(i + 1);
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(v.kind == LT_VERDICT_UNCLEAR && strstr(v.reason, "too short: 4 points"),
               "4 points: unclear, too short (%s)", v.reason);

        init(&s, N);
        lt_verdict_judge(s.t, s.allocs, s.bytes, s.n, &v);
        tap_ok(v.kind == LT_VERDICT_UNCLEAR && v.points == 0 && strstr(v.reason, "no history"),
               "never held memory at a tick: unclear, no history");
        lt_verdict_judge(s.t, s.allocs, s.bytes, 0, &v);
        tap_ok(v.kind == LT_VERDICT_UNCLEAR && isnan(v.growth_per_s) && isnan(v.r2),
               "no point at all: unclear, no figures");
}

static void estimators(void)
{
        double x[] = {0, 1, 2, 3, 4, 5};
        double y[] = {0, 2, 4, 6, 8, 100}; /* one outlier */
        tap_ok(lt_theil_sen(x, y, 6) == 2, "Theil-Sen ignores an outlier: slope 2");
        double yl[] = {1, 3, 5, 7, 9, 11};
        tap_ok(fabs(lt_fit_r2(x, yl, 6) - 1) < 1e-12, "R2 of a line is 1");
        double xs[] = {1, 1, 1};
        tap_ok(isnan(lt_theil_sen(xs, yl, 3)) && isnan(lt_fit_r2(xs, yl, 3)),
               "no slope and no fit when x does not move");
        double y0[] = {5, 5, 5};
        tap_ok(isnan(lt_fit_r2(x, y0, 3)) && lt_theil_sen(x, y0, 3) == 0, "flat: slope 0, no R2");
}

static char *svg_text(const char *s, size_t len)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *m = open_memstream(&buf, &n);
        lt_svg_text_n(m, s, len);
        fclose(m);
        return buf;
}

static void svg_escaping(void)
{
        static const struct {
                const char *in;
                size_t len;
                const char *want;
        } cases[] = {
            {"a<b>&\"c'", 8, "a&lt;b&gt;&amp;&quot;c&apos;"},
            {"operator<<(std::ostream&)", 25, "operator&lt;&lt;(std::ostream&amp;)"},
            {"tab\tnl\ncr\r", 10, "tab\tnl\ncr\r"},
            {"nul\0bell\a esc\x1b del\x7f", 19, "nul?bell? esc? del?"},
            {"caf\xc3\xa9 \xe2\x80\x94", 9, "caf\xc3\xa9 \xe2\x80\x94"},
            {"bad\xff"
             "byte",
             8,
             "bad\xef\xbf\xbd"
             "byte"},
            {"cut\xe2\x80", 5, "cut\xef\xbf\xbd\xef\xbf\xbd"},
            {"nonchar\xef\xbf\xbe\xef\xbf\xbf", 13, "nonchar??"},
            {"]]>", 3, "]]&gt;"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = svg_text(cases[i].in, cases[i].len);
                if (!tap_ok(!strcmp(got, cases[i].want), "SVG text %zu escaped", i))
                        tap_diag("got '%s', want '%s'", got, cases[i].want);
                free(got);
        }
        char buf[64];
        tap_ok(!strcmp(lt_svg_label(buf, sizeof(buf), 1536, 1), "1.5 KiB") &&
                   !strcmp(lt_svg_label(buf, sizeof(buf), 2097152, 1), "2 MiB") &&
                   !strcmp(lt_svg_label(buf, sizeof(buf), 0, 1), "0") &&
                   !strcmp(lt_svg_label(buf, sizeof(buf), 12, 0), "12"),
               "axis labels");
        tap_ok(lt_svg_step(10, 5, 0) == 2 && lt_svg_step(3 << 20, 6, 1) == 512 * 1024 &&
                   lt_svg_step(0.9, 4, 0) == 0.5,
               "axis steps: 2 for 0..10, 512 KiB for 0..3 MiB, 0.5 for 0..0.9");
}

int main(void)
{
        verdicts();
        estimators();
        svg_escaping();
        return tap_done();
}
