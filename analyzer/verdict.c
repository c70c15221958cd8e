/* The verdict of one site from its live bytes over time.
 *
 * The seed's rule: a leak is memory that keeps rising under steady load
 * and does not come back; a cache rises and levels off; a healthy site
 * rises with load and returns. In figures, on the points since the site
 * first held memory (at least LT_VERDICT_MIN_POINTS of them), with G the
 * growth from the first of those points to the last and PEAK the highest:
 *
 *   transient  the last point is at most half the peak (it came back), or
 *              G is under a tenth of the peak and the series moved by more
 *              than a tenth of it (it comes and goes, no net growth);
 *   cache      G under a tenth of the peak and the series within a tenth
 *              of it (a plateau: held at one level), or it grew, ends at
 *              80% of its peak or more, and over the last third of the
 *              axis its trend added at most 5% of G and it moved by at most
 *              a tenth of the peak (levelled off);
 *   leak       it grew, ends at 80% of its peak or more, the Theil-Sen
 *              slope is positive, the least-squares line fits with R^2 of
 *              0.6 or more, and the last third of the axis still added 15%
 *              of G or more (a steady linear growth adds a third), what it
 *              added being the last point less the series where the third
 *              starts;
 *   unclear    anything else: too few points, uneven growth, a growth
 *              that slows without levelling off, or the shape of a leak
 *              from a rise at fewer than LT_VERDICT_MIN_RISES ticks (a
 *              short burst of load: a cache filling looks the same).
 *
 * The axis is time, and also the process's allocation count: a leak grows
 * with the work done, so a server that went idle after leaking is still a
 * leak against allocations though flat against time. Either axis saying
 * leak makes a leak, the allocation axis only for a site that also grew
 * over most of the time watched; otherwise the allocation axis decides
 * when the process allocated over the site's points, since "levels off
 * while the process keeps allocating" is what tells a cache. What the
 * process allocated as it exited is no work (history.h: allocs and done,
 * lt_verdict_judge_work). */
#define _GNU_SOURCE
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROWS 0.10      /* net growth, as a fraction of the peak, that counts */
#define CAME_BACK 0.50  /* last point at most this fraction of the peak */
#define KEPT 0.80       /* last point at least this fraction of the peak */
#define FIT_R2 0.60     /* least-squares fit a steady growth needs */
#define TAIL 2.0 / 3    /* the tail starts this far along the axis */
#define TAIL_FLAT 0.05  /* tail growth, as a fraction of G, of a level tail */
#define TAIL_MOVES 0.10 /* and its spread, as a fraction of the peak */
#define TAIL_GROWS 0.15 /* tail growth, as a fraction of G, of a leak */

static const char *const names[LT_VERDICT__COUNT] = {
#define LT_X_NAME(K, name) [LT_VERDICT_##K] = name,
    LT_VERDICTS(LT_X_NAME)
#undef LT_X_NAME
};

const char *lt_verdict_name(enum lt_verdict_kind k)
{
        return k < LT_VERDICT__COUNT ? names[k] : "unclear";
}

static int cmp_double(const void *pa, const void *pb)
{
        double a = *(const double *)pa, b = *(const double *)pb;
        return a < b ? -1 : a > b;
}

/* The median slope of the pairs more than min_dx apart on x. */
static double theil_sen_apart(const double *x, const double *y, size_t n, double min_dx)
{
        if (n < 2)
                return NAN;
        double *s = malloc(n * (n - 1) / 2 * sizeof(*s));
        if (!s)
                return NAN;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (fabs(x[j] - x[i]) > min_dx)
                                s[k++] = (y[j] - y[i]) / (x[j] - x[i]);
        double m = NAN;
        if (k) {
                qsort(s, k, sizeof(*s), cmp_double);
                m = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
        }
        free(s);
        return m;
}

double lt_theil_sen(const double *x, const double *y, size_t n)
{
        return theil_sen_apart(x, y, n, 0);
}

/* Sums of squares about the means: of x, of y, and of their products. */
static void moments(const double *x, const double *y, size_t n, double *sxx, double *syy,
                    double *sxy)
{
        double mx = 0, my = 0;
        for (size_t i = 0; i < n; i++) {
                mx += x[i];
                my += y[i];
        }
        mx /= (double)n;
        my /= (double)n;
        *sxx = *syy = *sxy = 0;
        for (size_t i = 0; i < n; i++) {
                *sxx += (x[i] - mx) * (x[i] - mx);
                *syy += (y[i] - my) * (y[i] - my);
                *sxy += (x[i] - mx) * (y[i] - my);
        }
}

double lt_fit_slope(const double *x, const double *y, size_t n)
{
        if (n < 2)
                return NAN;
        double sxx, syy, sxy;
        moments(x, y, n, &sxx, &syy, &sxy);
        return sxx > 0 ? sxy / sxx : NAN;
}

double lt_fit_r2(const double *x, const double *y, size_t n)
{
        if (n < 2)
                return NAN;
        double sxx, syy, sxy;
        moments(x, y, n, &sxx, &syy, &sxy);
        if (sxx <= 0 || syy <= 0)
                return NAN;
        return sxy * sxy / (sxx * syy);
}

/* "512 bytes", "4.0 KiB", "1.5 MiB": for reasons, where the exact figure
 * is in the fields beside. */
static const char *bytes_str(char *buf, size_t len, double b)
{
        static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (fabs(b) >= 1024 && u < 4) {
                b /= 1024;
                u++;
        }
        snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
        return buf;
}

struct axis {
        int usable; /* the axis moved over the points */
        enum lt_verdict_kind kind;
        double r2;
        char reason[sizeof(((struct lt_verdict *)0)->reason)];
};

/* The rules of the file's opening comment on one axis, over M >= 2 points. */
static void judge_axis(const double *x, const double *y, size_t m, const char *against,
                       struct axis *a)
{
        char b1[32], b2[32], b3[32], b4[32];
        double ymax = y[0], ymin = y[0], y0 = y[0], yl = y[m - 1];
        for (size_t i = 1; i < m; i++) {
                ymax = y[i] > ymax ? y[i] : ymax;
                ymin = y[i] < ymin ? y[i] : ymin;
        }
        double g = yl - y0;
        a->usable = x[m - 1] > x[0];
        a->r2 = a->usable ? lt_fit_r2(x, y, m) : NAN;
        if (ymax <= 0 || yl <= CAME_BACK * ymax) {
                a->kind = LT_VERDICT_TRANSIENT;
                snprintf(a->reason, sizeof(a->reason), "came back: %s now, %s at its peak",
                         bytes_str(b1, sizeof(b1), yl), bytes_str(b2, sizeof(b2), ymax));
                return;
        }
        if (g < GROWS * ymax) {
                if (ymax - ymin <= GROWS * ymax) {
                        a->kind = LT_VERDICT_CACHE;
                        snprintf(a->reason, sizeof(a->reason),
                                 "level: between %s and %s at every point since it first held "
                                 "memory",
                                 bytes_str(b1, sizeof(b1), ymin), bytes_str(b2, sizeof(b2), ymax));
                } else {
                        a->kind = LT_VERDICT_TRANSIENT;
                        snprintf(a->reason, sizeof(a->reason),
                                 "no net growth: %s at first, %s now, between %s and %s",
                                 bytes_str(b1, sizeof(b1), y0), bytes_str(b2, sizeof(b2), yl),
                                 bytes_str(b3, sizeof(b3), ymin), bytes_str(b4, sizeof(b4), ymax));
                }
                return;
        }
        if (!a->usable) {
                a->kind = LT_VERDICT_UNCLEAR;
                snprintf(a->reason, sizeof(a->reason), "grew %s with no %s passing",
                         bytes_str(b1, sizeof(b1), g), against);
                return;
        }
        /* Whether it rises: pairs closer than a twentieth of the axis say
         * nothing of that. Against allocations, the points of a process
         * gone idle crowd the axis's end (its few allocations of
         * housekeeping), and their flat pairs would outvote the rise. */
        double slope = theil_sen_apart(x, y, m, 0.05 * (x[m - 1] - x[0]));
        double xs = x[0] + (x[m - 1] - x[0]) * (TAIL);
        size_t k = 0;
        while (k < m && x[k] < xs)
                k++;
        if (k + 3 > m)
                k = m >= 3 ? m - 3 : 0;
        double tmin = y[k], tmax = y[k];
        for (size_t i = k; i < m; i++) {
                tmin = y[i] < tmin ? y[i] : tmin;
                tmax = y[i] > tmax ? y[i] : tmax;
        }
        /* What the last third added: the last point less the series where
         * the third starts (on the line between the points around it). Not
         * the tail's slope times its width: against allocations, a server
         * gone idle after leaking puts a crowd of flat points at the end
         * of the axis (its few allocations of housekeeping), whose median
         * slope of 0 read as a leak that had stopped. */
        double ys = y[k];
        if (k > 0 && x[k - 1] <= xs && xs < x[k])
                ys = y[k - 1] + (y[k] - y[k - 1]) * (xs - x[k - 1]) / (x[k] - x[k - 1]);
        double share = (yl - ys) / g;
        int kept = yl >= KEPT * ymax;
        if (kept && share <= TAIL_FLAT && tmax - tmin <= TAIL_MOVES * ymax) {
                a->kind = LT_VERDICT_CACHE;
                snprintf(a->reason, sizeof(a->reason),
                         "grew from %s to %s, then levelled off: the last third of its %s added "
                         "%.0f%% of that",
                         bytes_str(b1, sizeof(b1), y0), bytes_str(b2, sizeof(b2), yl), against,
                         share > 0 ? share * 100 : 0.0);
        } else if (kept && slope > 0 && a->r2 >= FIT_R2 && share >= TAIL_GROWS) {
                a->kind = LT_VERDICT_LEAK;
                snprintf(a->reason, sizeof(a->reason),
                         "grew from %s to %s steadily with %s (R\xc2\xb2 %.2f), %.0f%% of it in "
                         "the last third, and never came back",
                         bytes_str(b1, sizeof(b1), y0), bytes_str(b2, sizeof(b2), yl), against,
                         a->r2, share * 100);
        } else {
                a->kind = LT_VERDICT_UNCLEAR;
                if (!kept)
                        snprintf(a->reason, sizeof(a->reason),
                                 "grew %s, then fell back to %s from a peak of %s",
                                 bytes_str(b1, sizeof(b1), g), bytes_str(b2, sizeof(b2), yl),
                                 bytes_str(b3, sizeof(b3), ymax));
                else if (!(a->r2 >= FIT_R2))
                        snprintf(a->reason, sizeof(a->reason),
                                 "grew %s, but unevenly with %s (R\xc2\xb2 %.2f)",
                                 bytes_str(b1, sizeof(b1), g), against, a->r2);
                else
                        snprintf(a->reason, sizeof(a->reason),
                                 "grew %s, slowing: the last third of its %s added %.0f%% of that",
                                 bytes_str(b1, sizeof(b1), g), against, share * 100);
        }
}

void lt_verdict_judge(const double *t, const double *allocs, const int64_t *bytes, size_t n,
                      struct lt_verdict *v)
{
        lt_verdict_judge_work(t, allocs, allocs, bytes, n, v);
}

void lt_verdict_judge_work(const double *t, const double *allocs, const double *done,
                           const int64_t *bytes, size_t n, struct lt_verdict *v)
{
        memset(v, 0, sizeof(*v));
        v->kind = LT_VERDICT_UNCLEAR;
        v->growth_per_s = v->growth_per_kalloc = v->r2 = NAN;
        if (!n) {
                snprintf(v->reason, sizeof(v->reason), "no history: the timeline has no point");
                return;
        }
        size_t first = 0;
        while (first < n && bytes[first] == 0)
                first++;
        /* wrapped, never undefined, for the absurd figures of a damaged file */
        __builtin_sub_overflow(bytes[n - 1], bytes[0], &v->growth_bytes);
        if (first == n) {
                snprintf(v->reason, sizeof(v->reason),
                         "no history: it held memory at no tick of the timeline");
                return;
        }
        size_t m = n - first;
        v->points = (unsigned)m;
        double *y = malloc(m * sizeof(*y));
        if (!y) {
                snprintf(v->reason, sizeof(v->reason), "out of memory");
                return;
        }
        for (size_t i = 0; i < m; i++)
                y[i] = (double)bytes[first + i];
        /* Rises of more than 1% of the growth: a leak under load rises at
         * most ticks; one that rose at one or two was not watched long
         * enough to tell. */
        double g = y[m - 1] - y[0], ymax = y[0];
        size_t last_rise = 0;
        for (size_t i = 1; i < m; i++) {
                if (y[i] - y[i - 1] > 0.01 * g) {
                        v->rises++;
                        last_rise = i;
                }
                ymax = y[i] > ymax ? y[i] : ymax;
        }
        /* The axis of work leaves the exit's housekeeping out for a growth
         * over several ticks (a load, then idle: the housekeeping read as
         * work while the site stayed level, a cache); a step is judged
         * against all the process did, as the rule of the steps below. */
        const double *xt = t + first, *xd = done + first,
                     *xa = (v->rises >= LT_VERDICT_MIN_RISES ? allocs : done) + first;
        v->growth_per_s = lt_theil_sen(xt, y, m);
        if (m >= 2 && xa[m - 1] > xa[0])
                v->growth_per_kalloc = lt_theil_sen(xa, y, m) * 1000;
        if (m < LT_VERDICT_MIN_POINTS) {
                snprintf(v->reason, sizeof(v->reason),
                         "too short: %zu point%s since it first held memory, %d needed", m,
                         m == 1 ? "" : "s", LT_VERDICT_MIN_POINTS);
                free(y);
                return;
        }
        struct axis at, aa;
        judge_axis(xt, y, m, "time", &at);
        judge_axis(xa, y, m, "allocations", &aa);
        const struct axis *pick;
        if (at.kind == LT_VERDICT_LEAK && at.usable)
                pick = &at;
        else if (aa.kind == LT_VERDICT_LEAK && aa.usable)
                pick = &aa;
        else
                pick = aa.usable ? &aa : &at;
        v->kind = pick->kind;
        v->r2 = pick->r2;
        v->fit_axis = !pick->usable ? LT_AXIS_NONE : pick == &at ? LT_AXIS_TIME : LT_AXIS_ALLOCS;
        memcpy(v->reason, pick->reason, sizeof(v->reason));
        /* A leak against allocations alone, that did not grow over most of
         * the time watched (its Theil-Sen slope over time, the median of
         * every pair of points, times the time watched, is under half its
         * growth; a leak under a load that filled most of the run is that
         * much and more): a step at start-up, then a process that did next
         * to nothing until it ended, has a leak's line against its
         * allocations too. Unclear; a step of one or two ticks is said as
         * such below. */
        double watched = xt[m - 1] - xt[0];
        if (pick == &aa && aa.kind == LT_VERDICT_LEAK &&
            !(v->growth_per_s * watched >= 0.5 * (y[m - 1] - y[0]))) {
                char b1[32];
                v->kind = LT_VERDICT_UNCLEAR;
                snprintf(v->reason, sizeof(v->reason),
                         "grew %s with the process's allocations, but at few of the times "
                         "watched: level for most of them",
                         bytes_str(b1, sizeof(b1), y[m - 1] - y[0]));
        }
        /* Held level while the process did a tenth as much work again as
         * while it grew (start-up's tables, then a steady load): that is
         * not a burst whose end nobody watched. */
        int worked_after = xd[m - 1] - xd[last_rise] >= 0.1 * (xd[last_rise] - xd[0]);
        int kept_growth = g > 0 && y[m - 1] >= KEPT * ymax;
        if ((v->kind == LT_VERDICT_LEAK || (v->kind == LT_VERDICT_UNCLEAR && kept_growth)) &&
            v->rises < LT_VERDICT_MIN_RISES && !worked_after) {
                char b1[32], b2[32];
                v->kind = LT_VERDICT_UNCLEAR;
                v->stepped = 1;
                snprintf(v->reason, sizeof(v->reason),
                         "grew from %s to %s at only %u tick%s: too few to tell a leak from a cache "
                         "that filled; load longer, or tick faster",
                         bytes_str(b1, sizeof(b1), y[0]), bytes_str(b2, sizeof(b2), y[m - 1]),
                         v->rises, v->rises == 1 ? "" : "s");
        }
        free(y);
}
