/* The growth summary's arithmetic on made-up inputs, without a trace file:
 * the least-squares fit of memory on a timer site's live count and when it
 * counts as retention; then lt_growth_build() on a report assembled by
 * hand (a trace timeline, OS timer sites with their timers' creation
 * times, a JS timeline at other moments): every series' first, last and
 * rate per minute, the union of OS and JS timers, the sites that retain
 * and their order. (The JS sites' fits, from a real state file, are in
 * test_timers.c.) */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "harness.h"
#include "history.h"
#include "timers.h"
#include "verdict.h"

#define SEC 1000000000ull
static const uint64_t start = 1700000000000000000ull;

static int near(double a, double b, double tol)
{
        return fabs(a - b) <= tol * fmax(1, fabs(b));
}

static void fit_case(const char *what, const double *x, const double *y, size_t n, double slope,
                     double r2, int retains)
{
        struct lt_retain_fit f;
        lt_retain_fit(x, y, n, &f);
        int ok = f.points == n && f.retains == retains &&
                 (isnan(slope) ? isnan(f.slope) : near(f.slope, slope, 1e-12)) &&
                 (isnan(r2) ? isnan(f.r2) : near(f.r2, r2, 1e-12));
        if (!tap_ok(ok, "%s: slope %.6g, R2 %.6g, %zu points, %s", what, slope, r2, n,
                    retains ? "retains" : "does not retain"))
                tap_diag("got slope %.17g, R2 %.17g, %u points, retains %d", f.slope, f.r2,
                         f.points, f.retains);
}

static void fits(void)
{
        double x[10], y[10];
        for (int i = 0; i < 10; i++) {
                x[i] = i;
                y[i] = 1000 + 4096.0 * i;
        }
        fit_case("a line, 4 KiB a timer", x, y, 10, 4096, 1, 1);
        fit_case("the same on 4 points: too few", x, y, 4, 4096, 1, 0);
        fit_case("the same on 5 points: enough", x, y, 5, 4096, 1, 1);

        /* The count goes 0, 0, 1, 1, 2: grew by 2, not "a few". */
        double x2[] = {0, 0, 1, 1, 2}, y2[] = {0, 0, 100, 100, 200};
        fit_case("a count that grew by 2", x2, y2, 5, 100, 1, 0);
        double x4[] = {0, 1, 1, 2, 3}, y4[] = {0, 100, 100, 200, 300};
        fit_case("a count that grew by 3", x4, y4, 5, 100, 1, 1);

        /* Memory that falls as timers are added retains nothing. */
        for (int i = 0; i < 10; i++)
                y[i] = 1e6 - 512.0 * i;
        fit_case("memory down as the count goes up", x, y, 10, -512, 1, 0);

        /* No fit when the count never moved. */
        double xc[] = {5, 5, 5, 5, 5, 5}, yc[] = {1, 2, 3, 4, 5, 6};
        fit_case("a count that never moved", xc, yc, 6, NAN, NAN, 0);

        /* Noise: slope 26/7, R2 0.353..., far below 0.8. */
        double xn[] = {0, 1, 2, 3, 4, 5}, yn[] = {0, 10, 0, 10, 0, 30};
        fit_case("noise", xn, yn, 6, 26.0 / 7, 0.35331010452961675, 0);

        /* A collector's sawtooth on a steady 1 MB a timer still fits well:
         * slope 1e6 + 3e5 * 1/33, R2 0.9974. */
        for (int i = 0; i < 10; i++)
                y[i] = 1e6 * i + (i % 2 ? 3e5 : 0);
        fit_case("a sawtooth over 1 MB a timer", x, y, 10, 1009090.9090909091, 0.997409536145066,
                 1);

        tap_ok(isnan(lt_fit_slope(x, y, 1)), "one point: no slope");
}

/* A report made by hand: a trace timeline of 6 ticks a second apart from
 * the start, OS timer sites A (4 timers, made at 0.5, 1.5, 2.5, 3.5 s:
 * counts 0 1 2 3 4 4 at the ticks), B (9 timers, two a second, the last
 * after the last tick: 0 2 4 6 8 8), C (5 timers made before the first
 * tick: a count that never moved) and D (2 timers: too few); live malloc
 * 1000 + 65536 per timer of A at each tick; JS points at 0.5, 2.5 and
 * 4.5 s with 10, 20, 30 JS timers. */
static void build(void)
{
        struct lt_trace tr;
        memset(&tr, 0, sizeof(tr));
        tr.hdr.start_ns = start;

        struct lt_tick_rec ticks[6];
        double t[6];
        static const int a_count[6] = {0, 1, 2, 3, 4, 4};
        memset(ticks, 0, sizeof(ticks));
        for (int i = 0; i < 6; i++) {
                ticks[i].time_ns = start + (uint64_t)i * SEC;
                ticks[i].rss = 1000000 + 200000 * (uint64_t)i;
                ticks[i].live_bytes = 1000 + 65536 * a_count[i];
                ticks[i].timers_live = (uint32_t)a_count[i];
                t[i] = i;
        }
        struct lt_history hist;
        memset(&hist, 0, sizeof(hist));
        hist.tl.n = 6;
        hist.tl.ticks = ticks;
        hist.tl.t = t;

        uint64_t a_made[] = {start + SEC / 2, start + 3 * SEC / 2, start + 5 * SEC / 2,
                             start + 7 * SEC / 2};
        uint64_t b_made[9];
        for (int i = 0; i < 9; i++)
                b_made[i] = start + (uint64_t)(i / 2) * SEC + SEC / 4 + (uint64_t)(i % 2) * SEC / 2;
        b_made[8] = start + 11 * SEC / 2;
        uint64_t c_made[] = {start - 5, start - 4, start - 3, start - 2, start - 1};
        uint64_t d_made[] = {start + 1, start + 2 * SEC};
        struct lt_timer_site sa = {.kind = LT_TIMER_TIMERFD, .live = 4, .live_created_ns = a_made};
        struct lt_timer_site sb = {.kind = LT_TIMER_POSIX, .live = 9, .live_created_ns = b_made};
        struct lt_timer_site sc = {.kind = LT_TIMER_TIMERFD, .live = 5, .live_created_ns = c_made};
        struct lt_timer_site sd = {.kind = LT_TIMER_TIMERFD, .live = 2, .live_created_ns = d_made};
        struct lt_timer_site *sites[] = {&sc, &sa, &sd, &sb};

        struct lt_js_point jp[3];
        memset(jp, 0, sizeof(jp));
        for (int i = 0; i < 3; i++) {
                /* in the order taken, which a clock set back may leave unsorted */
                int at = (i + 1) % 3;
                jp[at].time_ms = 1700000000000.0 + 500 + 2000 * i;
                jp[at].timers_live = 10 * (uint64_t)(i + 1);
                jp[at].heap_used = 10000000 * (uint64_t)(i + 1);
                jp[at].heap_total = 20000000;
                jp[at].rss = 1;
        }
        struct lt_timers tm;
        memset(&tm, 0, sizeof(tm));
        tm.sites = sites;
        tm.nsites = 4;
        tm.has_js = true;
        tm.state.points = jp;
        tm.state.npoints = 3;

        struct lt_report rep;
        memset(&rep, 0, sizeof(rep));
        rep.trace = &tr;
        rep.history = &hist;
        rep.timers = &tm;
        if (!tap_ok(lt_growth_build(&rep) == 0 && rep.growth, "built"))
                return;
        const struct lt_growth *g = rep.growth;
        tap_ok(g->node && near(g->span_s, 5, 1e-12), "node, span 5 s (got %.17g)", g->span_s);

        static const struct {
                enum lt_growth_kind k;
                int known;
                int64_t first, last;
                double per_min; /* NAN: fewer than 5 points */
        } want[] = {
            {LT_GROWTH_RSS, 1, 1000000, 2000000, 200000 * 60.0},
            {LT_GROWTH_JS_HEAP_USED, 1, 10000000, 30000000, NAN},
            {LT_GROWTH_JS_HEAP_TOTAL, 1, 20000000, 20000000, NAN},
            {LT_GROWTH_JS_EXTERNAL, 1, 0, 0, NAN},
            {LT_GROWTH_JS_ARRAY_BUFFERS, 1, 0, 0, NAN},
            {LT_GROWTH_MALLOC, 1, 1000, 1000 + 4 * 65536, 65536 * 60.0},
            {LT_GROWTH_MAPPINGS, 1, 0, 0, 0},
            /* the union: 0 s: 0 + 10 (the JS first point's, before it),
             * 0.5: 0+10, 1: 1+10, 2: 2+10, 2.5: 2+20, 3: 3+20, 4: 4+20,
             * 4.5: 4+30, 5: 4+30; the median of the pairs' slopes is
             * 316/60 a second */
            {LT_GROWTH_TIMERS, 1, 10, 34, 316},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const struct lt_growth_series *s = &g->series[want[i].k];
                int ok = s->known == want[i].known && s->first == want[i].first &&
                         s->last == want[i].last &&
                         (isnan(want[i].per_min) ? isnan(s->per_min)
                                                 : near(s->per_min, want[i].per_min, 1e-9));
                if (!tap_ok(ok, "series %s: %lld to %lld, %.6g a minute", lt_growth_name(want[i].k),
                            (long long)want[i].first, (long long)want[i].last, want[i].per_min))
                        tap_diag("got known %d, %lld to %lld, %.17g a minute", s->known,
                                 (long long)s->first, (long long)s->last, s->per_min);
        }

        /* A: 65536 a timer, 4 live: 262144; B: 32768 a timer (half the
         * malloc growth per timer), 9 live: 294912, first. C never moved,
         * D has too few. */
        int ok = g->nret == 2;
        if (ok) {
                const struct lt_retention *b = &g->ret[0], *a = &g->ret[1];
                ok = b->site == &sb && b->live == 9 && near(b->fit.slope, 32768, 1e-12) &&
                     near(b->fit.r2, 1, 1e-12) && b->fit.points == 6 &&
                     !strcmp(b->against, "malloc_and_mappings") && a->site == &sa && a->live == 4 &&
                     near(a->fit.slope, 65536, 1e-12) && near(a->fit.r2, 1, 1e-12) &&
                     a->fit.points == 6;
        }
        if (!tap_ok(ok, "retention: B (32 KiB x 9) then A (64 KiB x 4), against malloc and "
                        "mappings"))
                for (size_t i = 0; i < g->nret; i++)
                        tap_diag("got site %c, live %lld, slope %.17g, R2 %.17g, %u points",
                                 g->ret[i].site == &sa   ? 'A'
                                 : g->ret[i].site == &sb ? 'B'
                                                         : '?',
                                 (long long)g->ret[i].live, g->ret[i].fit.slope, g->ret[i].fit.r2,
                                 g->ret[i].fit.points);
        lt_growth_free(&rep);
        tap_ok(rep.growth == NULL, "freed");

        /* The same malloc growth held by an allocation site judged a leak:
         * its own line explains it, no OS timer site is given it. */
        int64_t leaked[7];
        for (int i = 0; i < 6; i++)
                leaked[i] = 65536 * a_count[i];
        struct lt_site_history lh = {.recorded = true, .bytes = leaked};
        lh.verdict.kind = LT_VERDICT_LEAK;
        struct lt_site leak_site = {.live_bytes = 4 * 65536, .hist = &lh};
        struct lt_site *rsites[] = {&leak_site};
        rep.sites = rsites;
        rep.nsites = 1;
        if (tap_ok(lt_growth_build(&rep) == 0 && rep.growth, "built with a leak site"))
                tap_ok(rep.growth->nret == 0, "no OS timer site retains what a leak site holds (%zu do)",
                       rep.growth->nret);
        lt_growth_free(&rep);
        /* Judged anything but a leak, it is still the timers'. */
        lh.verdict.kind = LT_VERDICT_CACHE;
        if (tap_ok(lt_growth_build(&rep) == 0 && rep.growth, "built with a cache site"))
                tap_ok(rep.growth->nret == 2, "a cache site's memory stays the timers' (%zu retain)",
                       rep.growth->nret);
        lt_growth_free(&rep);
        rep.sites = NULL;
        rep.nsites = 0;

        /* Neither timeline has a point: no summary. */
        hist.tl.n = 0;
        tm.state.npoints = 0;
        tap_ok(lt_growth_build(&rep) == 0 && rep.growth == NULL, "no timeline: no summary");
}

int main(void)
{
        fits();
        build();
        return tap_done();
}
