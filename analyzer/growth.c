/* The growth summary. Two timelines meet here: the trace's (RSS, live
 * malloc bytes, anonymous mapped bytes and OS timers at each tick of the
 * preload's thread) and, for a node process, node/leaktrace.js's (V8's
 * heap figures, JS timers, and the live count of its top sites at each
 * tick of its own). Both clocks are CLOCK_REALTIME (the trace's ns,
 * Date.now()'s ms), so a point of either is placed at seconds since the
 * trace's start; the ticks of the two are not the same moments.
 *
 * Growth per minute is the Theil-Sen slope over time (verdict.c), which a
 * garbage collector's sawtooth does not sway. What a timer site retains is
 * the least-squares line of memory on the site's live count, point by
 * point: of the JS heap used for a JS site (its closures live in the V8
 * heap), of live malloc plus mapped bytes for an OS timer site (what the
 * tracer sees of a native program's memory; RSS would add the noise of
 * the allocator's and the kernel's caching). The count of an OS site at a
 * tick is that of its timers still live at the end that had been created
 * by then: the trace keeps no record of timers that ended, so it is a
 * lower bound, exact for a site whose timers are never ended, which are
 * those that matter here. The memory of the allocation sites judged leaks
 * is left out of an OS site's fit: their own lines explain it (a timerfd
 * made per request beside a malloc leaked per request holds none of it).
 * Each site is fitted alone; JS sites whose counts rose in step (one a
 * line of the other) are said together, the growth given once: no fit
 * can tell which of them holds it. */
#define _GNU_SOURCE
#include "growth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "jsstate.h"
#include "timers.h"
#include "verdict.h"

static const struct {
        const char *name, *label;
        bool count;
} kinds[LT_GROWTH__COUNT] = {
#define LT_X_KIND(K, name, label, count) [LT_GROWTH_##K] = {name, label, count},
    LT_GROWTH_SERIES(LT_X_KIND)
#undef LT_X_KIND
};

const char *lt_growth_name(enum lt_growth_kind k)
{
        return k < LT_GROWTH__COUNT ? kinds[k].name : "?";
}

const char *lt_growth_label(enum lt_growth_kind k)
{
        return k < LT_GROWTH__COUNT ? kinds[k].label : "?";
}

bool lt_growth_is_count(enum lt_growth_kind k)
{
        return k < LT_GROWTH__COUNT && kinds[k].count;
}

void lt_retain_fit(const double *live, const double *bytes, size_t n, struct lt_retain_fit *f)
{
        f->points = n < UINT32_MAX ? (unsigned)n : UINT32_MAX;
        f->slope = lt_fit_slope(live, bytes, n);
        f->r2 = lt_fit_r2(live, bytes, n);
        /* NAN compares false: a count that never moved retains nothing. */
        f->retains = n >= LT_RETAIN_MIN_POINTS && live[n - 1] - live[0] >= LT_RETAIN_MIN_TIMERS &&
                     f->slope > 0 && f->r2 >= LT_RETAIN_MIN_R2;
}

/* Series K from the N points (T[i] seconds, in time order; Y[i]). */
static void set_series(struct lt_growth *g, enum lt_growth_kind k, const double *t, const double *y,
                       size_t n)
{
        if (!n)
                return;
        struct lt_growth_series *s = &g->series[k];
        s->known = true;
        s->first = llround(y[0]);
        s->last = llround(y[n - 1]);
        /* Two points a tick apart would give a rate, and a meaningless one. */
        s->per_min = n >= LT_VERDICT_MIN_POINTS ? lt_theil_sen(t, y, n) * 60 : NAN;
}

/* The union of two step series, each in time order (A: NA points at AT
 * with values AV; B likewise), summed: at each time of either, each one's
 * value is that of its last point at or before it, or its first point's
 * before its first. Writes the points to UT and UV (room for NA + NB) and
 * returns how many. */
static size_t add_steps(const double *at, const double *av, size_t na, const double *bt,
                        const double *bv, size_t nb, double *ut, double *uv)
{
        size_t i = 0, j = 0, n = 0;
        while (i < na || j < nb) {
                double t = j >= nb || (i < na && at[i] <= bt[j]) ? at[i] : bt[j];
                while (i < na && at[i] <= t)
                        i++;
                while (j < nb && bt[j] <= t)
                        j++;
                ut[n] = t;
                uv[n++] = (na ? av[i ? i - 1 : 0] : 0) + (nb ? bv[j ? j - 1 : 0] : 0);
        }
        return n;
}

/* What the fits and series are made from. */
struct inputs {
        const struct lt_timeline *tl;  /* the trace's points */
        double *explained;             /* per trace point: the live bytes of the sites
                                        * judged leaks */
        const struct lt_timers *tm;    /* its timers, JS state included */
        const struct lt_js_point **jp; /* the JS points in time order */
        double *jt;                    /* their seconds since the trace's start */
        size_t nj;
        double *x, *y, *ut, *uv; /* room for tl->n + nj points each */
        bool *complete;          /* per JS point: every site with live timers listed */
        double from_ms;          /* when the JS module began to follow timers, ms since
                                  * the epoch (started paused: at `ctl start`); 0 */
        size_t *entries;         /* per JS site (tm->js): state entries merged into it */
        size_t *at;              /* room for nj indexes of JS points */
};

static int jp_cmp(const void *pa, const void *pb)
{
        const struct lt_js_point *a = *(const struct lt_js_point *const *)pa;
        const struct lt_js_point *b = *(const struct lt_js_point *const *)pb;
        if (a->time_ms != b->time_ms)
                return a->time_ms < b->time_ms ? -1 : 1;
        return a < b ? -1 : a > b; /* the order taken */
}

static double js_figure(const struct lt_js_point *p, enum lt_growth_kind k)
{
        switch (k) {
        case LT_GROWTH_JS_HEAP_USED:
                return (double)p->heap_used;
        case LT_GROWTH_JS_HEAP_TOTAL:
                return (double)p->heap_total;
        case LT_GROWTH_JS_EXTERNAL:
                return (double)p->external;
        default:
                return (double)p->array_buffers;
        }
}

static void js_series(struct lt_growth *g, struct inputs *in)
{
        for (enum lt_growth_kind k = LT_GROWTH_JS_HEAP_USED; k <= LT_GROWTH_JS_ARRAY_BUFFERS; k++) {
                for (size_t i = 0; i < in->nj; i++)
                        in->y[i] = js_figure(in->jp[i], k);
                set_series(g, k, in->jt, in->y, in->nj);
        }
}

static void trace_series(struct lt_growth *g, struct inputs *in)
{
        const struct lt_timeline *tl = in->tl;
        size_t n = tl->n;
        if (n) {
                for (size_t i = 0; i < n; i++)
                        in->y[i] = (double)tl->ticks[i].rss;
                set_series(g, LT_GROWTH_RSS, tl->t, in->y, n);
        } else {
                for (size_t i = 0; i < in->nj; i++)
                        in->y[i] = (double)in->jp[i]->rss;
                set_series(g, LT_GROWTH_RSS, in->jt, in->y, in->nj);
        }
        for (size_t i = 0; i < n; i++)
                in->y[i] = (double)tl->ticks[i].live_bytes;
        set_series(g, LT_GROWTH_MALLOC, tl->t, in->y, n);
        for (size_t i = 0; i < n; i++)
                in->y[i] = (double)tl->ticks[i].mapped_bytes;
        set_series(g, LT_GROWTH_MAPPINGS, tl->t, in->y, n);
        /* OS timers at the trace's ticks, JS timers at the module's. */
        for (size_t i = 0; i < n; i++)
                in->x[i] = (double)tl->ticks[i].timers_live;
        double *jv = in->y;
        for (size_t i = 0; i < in->nj; i++)
                jv[i] = (double)in->jp[i]->timers_live;
        size_t m = add_steps(tl->t, in->x, n, in->jt, jv, in->nj, in->ut, in->uv);
        set_series(g, LT_GROWTH_TIMERS, in->ut, in->uv, m);
        /* The union has the points of both: as short a history as each. */
        if (n < LT_VERDICT_MIN_POINTS && in->nj < LT_VERDICT_MIN_POINTS)
                g->series[LT_GROWTH_TIMERS].per_min = NAN;
}

/* Site K's live count at the JS points where it is known (all its entries
 * listed, or the point complete), from when the module followed timers
 * (before, paused, its count is 0 and the heap grows all the same): the
 * points' indexes in *AT, the counts in *LIVE. Returns how many. */
static size_t js_known(struct inputs *in, size_t k, size_t *at, double *live)
{
        const size_t *site_of = in->tm->js_site_of;
        size_t m = 0;
        for (size_t i = 0; i < in->nj; i++) {
                const struct lt_js_point *p = in->jp[i];
                uint64_t n = 0;
                size_t listed = 0;
                if ((double)p->time_ms < in->from_ms)
                        continue;
                for (unsigned j = 0; j < p->nlive; j++) {
                        if (site_of[p->live[j].site] == k) {
                                n += p->live[j].live; /* <= timers_live: jsstate.c checked */
                                listed++;
                        }
                }
                if (!in->complete[i] && listed < in->entries[k])
                        continue; /* some of its entries may have had timers: unknown */
                at[m] = i;
                live[m++] = (double)n;
        }
        return m;
}

/* The fit of the JS heap on JS site K's live count, over the JS points
 * where that count is known. */
static void js_fit(struct inputs *in, size_t k, struct lt_retain_fit *f)
{
        size_t m = js_known(in, k, in->at, in->x);
        for (size_t i = 0; i < m; i++)
                in->y[i] = (double)in->jp[in->at[i]]->heap_used;
        lt_retain_fit(in->x, in->y, m, f);
}

/* The fit of live malloc and mapped bytes on OS timer site S's live count,
 * over the trace's points. */
static void os_fit(struct inputs *in, const struct lt_timer_site *s, struct lt_retain_fit *f)
{
        const struct lt_timeline *tl = in->tl;
        size_t c = 0;
        for (size_t i = 0; i < tl->n; i++) {
                while (c < (size_t)s->live && s->live_created_ns[c] <= tl->ticks[i].time_ns)
                        c++;
                in->x[i] = (double)c;
                in->y[i] = (double)tl->ticks[i].live_bytes + (double)tl->ticks[i].mapped_bytes -
                           in->explained[i];
        }
        lt_retain_fit(in->x, in->y, tl->n, f);
}

static int by_retained(const void *pa, const void *pb)
{
        const struct lt_retention *a = pa, *b = pb;
        double ra = a->fit.slope * (double)a->live, rb = b->fit.slope * (double)b->live;
        if (ra != rb)
                return ra > rb ? -1 : 1;
        return 0;
}

const struct lt_retention *lt_retention_of(const struct lt_growth *g,
                                           const struct lt_timer_site *s)
{
        for (size_t i = 0; g && i < g->nret; i++) {
                if (g->ret[i].site == s)
                        return &g->ret[i];
                for (size_t j = 0; j < g->ret[i].nin_step; j++)
                        if (g->ret[i].in_step[j] == s)
                                return &g->ret[i];
        }
        return NULL;
}

/* Whether the live counts of JS sites A and B rose in step: at the points
 * where both are known, the one a line of the other. */
static int in_step(struct inputs *in, size_t a, size_t b)
{
        size_t n = in->nj;
        size_t *at_a = malloc((n + 1) * sizeof(*at_a)), *at_b = malloc((n + 1) * sizeof(*at_b));
        double *la = malloc((n + 1) * sizeof(*la)), *lb = malloc((n + 1) * sizeof(*lb));
        int r = -ENOMEM;
        if (at_a && at_b && la && lb) {
                size_t ma = js_known(in, a, at_a, la), mb = js_known(in, b, at_b, lb), m = 0;
                for (size_t i = 0, j = 0; i < ma && j < mb;) {
                        if (at_a[i] < at_b[j]) {
                                i++;
                        } else if (at_b[j] < at_a[i]) {
                                j++;
                        } else {
                                la[m] = la[i++]; /* m <= i, m <= j: in place */
                                lb[m++] = lb[j++];
                        }
                }
                /* NAN (a count that never moved) compares false */
                r = m >= LT_RETAIN_MIN_POINTS && lt_fit_r2(la, lb, m) >= LT_IN_STEP_R2;
        }
        free(at_a);
        free(at_b);
        free(la);
        free(lb);
        return r;
}

/* The JS sites of G's retention list that rose in step with one before
 * them (most retained first) go in that one's in_step, out of the list. */
static int group_in_step(struct lt_growth *g, struct inputs *in)
{
        const struct lt_timers *tm = in->tm;
        size_t kept = 0;
        for (size_t j = 0; j < g->nret; j++) {
                struct lt_retention *rj = &g->ret[j];
                int joined = 0;
                for (size_t i = 0; i < kept && !joined && rj->site->kind == LT_TIMER_JS; i++) {
                        struct lt_retention *ri = &g->ret[i];
                        if (ri->site->kind != LT_TIMER_JS || ri->site->node_own != rj->site->node_own)
                                continue;
                        int r = in_step(in, (size_t)(ri->site - tm->js), (size_t)(rj->site - tm->js));
                        if (r < 0)
                                return r;
                        if (!r)
                                continue;
                        if (!ri->in_step && !(ri->in_step = calloc(g->nret, sizeof(*ri->in_step))))
                                return -ENOMEM;
                        ri->in_step[ri->nin_step++] = rj->site;
                        joined = 1;
                }
                if (!joined)
                        g->ret[kept++] = *rj;
        }
        g->nret = kept;
        return 0;
}

static int retention(struct lt_growth *g, struct inputs *in)
{
        const struct lt_timers *tm = in->tm;
        if (!tm || !tm->nsites)
                return 0;
        if (!(g->ret = calloc(tm->nsites, sizeof(*g->ret))))
                return -ENOMEM;
        for (size_t i = 0; i < tm->nsites; i++) {
                const struct lt_timer_site *s = tm->sites[i];
                struct lt_retention *r = &g->ret[g->nret];
                if (s->live < LT_RETAIN_MIN_TIMERS)
                        continue;
                if (s->kind == LT_TIMER_JS) {
                        js_fit(in, (size_t)(s - tm->js), &r->fit);
                        r->against = "js_heap_used";
                } else if (s->live_created_ns && in->tl->n) {
                        os_fit(in, s, &r->fit);
                        r->against = "malloc_and_mappings";
                } else {
                        continue;
                }
                if (!r->fit.retains)
                        continue;
                r->site = s;
                r->live = s->live;
                g->nret++;
        }
        /* Stable on ties: the timers' report order, which they were taken in. */
        for (size_t i = 1; i < g->nret; i++) {
                struct lt_retention r = g->ret[i];
                size_t j = i;
                for (; j > 0 && by_retained(&g->ret[j - 1], &r) > 0; j--)
                        g->ret[j] = g->ret[j - 1];
                g->ret[j] = r;
        }
        return group_in_step(g, in);
}

/* OS timer site S's count at the trace's points: its timers still live at
 * the end made by then (a lower bound, exact for timers never ended). */
static size_t os_counts(struct inputs *in, const struct lt_timer_site *s, double *t, int64_t *c)
{
        const struct lt_timeline *tl = in->tl;
        size_t k = 0;
        for (size_t i = 0; i < tl->n; i++) {
                while (k < (size_t)s->live && s->live_created_ns[k] <= tl->ticks[i].time_ns)
                        k++;
                t[i] = tl->t[i];
                c[i] = (int64_t)k;
        }
        return tl->n;
}

static int timer_leaks(struct lt_growth *g, struct inputs *in)
{
        const struct lt_timers *tm = in->tm;
        if (!tm || !tm->nsites)
                return 0;
        size_t cap = in->tl->n + in->nj + 1;
        double *t = malloc(cap * sizeof(*t));
        int64_t *c = malloc(cap * sizeof(*c));
        g->tleak = calloc(tm->nsites, sizeof(*g->tleak));
        if (!t || !c || !g->tleak) {
                free(t);
                free(c);
                return -ENOMEM;
        }
        for (size_t i = 0; i < tm->nsites; i++) {
                const struct lt_timer_site *s = tm->sites[i];
                if (!s->repeating || s->node_own || s->live < LT_TIMER_LEAK_MIN)
                        continue;
                size_t m = 0;
                if (s->kind == LT_TIMER_JS) {
                        m = js_known(in, (size_t)(s - tm->js), in->at, in->x);
                        for (size_t j = 0; j < m; j++) {
                                t[j] = in->jt[in->at[j]];
                                c[j] = (int64_t)in->x[j];
                        }
                } else if (s->live_created_ns) {
                        m = os_counts(in, s, t, c);
                }
                /* None of the site's many timers was ever cleared: its count
                 * is its creations, and a flat end means none was made any
                 * more (the load stopped, the server idled), not that a bound
                 * was reached, where timers are cleared as others are made.
                 * Judged up to its last creation. */
                size_t judged = m;
                if ((uint64_t)s->live == s->created && s->live >= LT_TIMER_LEAK_NEVER_CLEARED)
                        while (judged > 1 && c[judged - 1] == c[judged - 2])
                                judged--;
                /* Judged as live bytes are, time its only axis. */
                struct lt_verdict v;
                lt_verdict_judge(t, t, c, judged, &v);
                if (v.kind != LT_VERDICT_LEAK)
                        continue;
                size_t first = judged - v.points;
                g->tleak[g->ntleak++] = (struct lt_timer_leak){
                    .site = s,
                    .first = c[first],
                    .live = s->live,
                    .per_min = v.growth_per_s * 60,
                    .points = v.points,
                };
        }
        free(t);
        free(c);
        return 0;
}

/* The JS points in time order, their times, and what the fits need. */
static int js_inputs(const struct lt_report *rep, struct inputs *in)
{
        const struct lt_timers *tm = in->tm;
        if (!tm || !tm->has_js || !tm->state.npoints)
                return 0;
        const struct lt_js_state *js = &tm->state;
        size_t n = js->npoints;
        in->jp = malloc(n * sizeof(*in->jp));
        in->jt = malloc(n * sizeof(*in->jt));
        in->complete = malloc(n * sizeof(*in->complete));
        in->entries = calloc(tm->njs + 1, sizeof(*in->entries));
        in->at = malloc(n * sizeof(*in->at));
        if (!in->jp || !in->jt || !in->complete || !in->entries || !in->at)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                in->jp[i] = &js->points[i];
        qsort(in->jp, n, sizeof(*in->jp), jp_cmp);
        double start_s = (double)rep->trace->hdr.start_ns / 1e9;
        for (size_t i = 0; i < n; i++) {
                const struct lt_js_point *p = in->jp[i];
                in->jt[i] = p->time_ms / 1e3 - start_s;
                uint64_t listed = 0;
                for (unsigned j = 0; j < p->nlive; j++)
                        listed += p->live[j].live;
                in->complete[i] = listed == p->timers_live;
        }
        for (size_t e = 0; e < js->nsites; e++)
                in->entries[tm->js_site_of[e]]++;
        in->nj = n;
        return 0;
}

int lt_growth_build(struct lt_report *rep)
{
        static const struct lt_timeline none;
        struct inputs in = {.tl = rep->history ? &rep->history->tl : &none,
                            .tm = rep->timers,
                            .from_ms = rep->timers ? rep->timers->state.following_since_ms : 0};
        int err = js_inputs(rep, &in);
        size_t n = in.tl->n + in.nj;
        if (err || !n)
                goto out;
        in.x = malloc(n * sizeof(double));
        in.y = malloc(n * sizeof(double));
        in.ut = malloc(n * sizeof(double));
        in.uv = malloc(n * sizeof(double));
        struct lt_growth *g = calloc(1, sizeof(*g));
        if (!in.x || !in.y || !in.ut || !in.uv || !g) {
                free(g);
                err = -ENOMEM;
                goto out;
        }
        rep->growth = g;
        g->node = in.nj > 0;
        double first = INFINITY, last = -INFINITY;
        if (in.tl->n) {
                first = in.tl->t[0];
                last = in.tl->t[in.tl->n - 1];
        }
        if (in.nj) {
                first = fmin(first, in.jt[0]);
                last = fmax(last, in.jt[in.nj - 1]);
        }
        g->span_s = last - first;
        if (!(in.explained = calloc(in.tl->n + 1, sizeof(double)))) {
                err = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < rep->nsites; i++) {
                const struct lt_site_history *sh = rep->sites[i]->hist;
                if (sh && sh->verdict.kind == LT_VERDICT_LEAK)
                        for (size_t k = 0; k < in.tl->n; k++)
                                in.explained[k] += (double)sh->bytes[k];
        }
        js_series(g, &in);
        trace_series(g, &in);
        err = retention(g, &in);
        if (!err)
                err = timer_leaks(g, &in);
out:
        free(in.explained);
        free(in.jp);
        free(in.jt);
        free(in.complete);
        free(in.entries);
        free(in.at);
        free(in.x);
        free(in.y);
        free(in.ut);
        free(in.uv);
        return err;
}

void lt_growth_free(struct lt_report *rep)
{
        if (!rep->growth)
                return;
        for (size_t i = 0; i < rep->growth->nret; i++)
                free(rep->growth->ret[i].in_step);
        free(rep->growth->ret);
        free(rep->growth->tleak);
        free(rep->growth);
        rep->growth = NULL;
}
