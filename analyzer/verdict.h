/* Leak, cache, transient or unclear: what one site's live bytes over time
 * say about it. A pure function of a series, so that its rules can be
 * tested on series made up for the purpose. */
#ifndef LT_VERDICT_H
#define LT_VERDICT_H

#include <stddef.h>
#include <stdint.h>

/* The verdicts, in report order: leaks first. */
#define LT_VERDICTS(X)                                                                             \
        X(LEAK, "leak")                                                                            \
        X(UNCLEAR, "unclear")                                                                      \
        X(CACHE, "cache")                                                                          \
        X(TRANSIENT, "transient")

enum lt_verdict_kind {
#define LT_X_ENUM(K, name) LT_VERDICT_##K,
        LT_VERDICTS(LT_X_ENUM)
#undef LT_X_ENUM
            LT_VERDICT__COUNT
};

/* Points a site needs, from the column where it first held memory, before
 * it is judged at all. */
#define LT_VERDICT_MIN_POINTS 5

/* Ticks at which a leak must have grown: a site that rose at one or two
 * (a burst of load, then idle; or a warm-up in steps) has the shape of a
 * leak against allocations as much as that of a cache that filled, and is
 * left unclear, marked `stepped`. */
#define LT_VERDICT_MIN_RISES 3

/* Which axis a fit was made against. */
enum lt_fit_axis { LT_AXIS_NONE, LT_AXIS_TIME, LT_AXIS_ALLOCS };

struct lt_verdict {
        enum lt_verdict_kind kind;
        unsigned points;          /* since the site first held memory */
        int64_t growth_bytes;     /* last point minus the first of the whole series */
        double growth_per_s;      /* Theil-Sen slope over time, bytes per second; NAN: none */
        double growth_per_kalloc; /* over the process's allocations, bytes per 1000; NAN */
        double r2;                /* least-squares fit on fit_axis; NAN: none */
        enum lt_fit_axis fit_axis;
        unsigned rises; /* intervals, since it first held memory, in which it grew */
        int stepped;    /* a leak's shape, but fewer than LT_VERDICT_MIN_RISES rises */
        char reason[200]; /* why, in figures, one line for people */
};

/* One site's series: at point i (time-ordered), t[i] seconds, allocs[i] the
 * process's allocations so far, bytes[i] the site's live bytes. N points;
 * the arrays are not changed. Fills *V. */
void lt_verdict_judge(const double *t, const double *allocs, const int64_t *bytes, size_t n,
                      struct lt_verdict *v);

/* The same, where DONE[i] counts every allocation the process made by
 * point i and ALLOCS those that were work (its exit's housekeeping left
 * out: history.h): the axis is ALLOCS for a site that rose at
 * LT_VERDICT_MIN_RISES ticks or more (a load, then idle, then the exit:
 * the housekeeping read as work done while the site stayed level, a
 * cache), DONE for a step, judged as before against all the process did,
 * its exit too (a short clean process does little but start and end). */
void lt_verdict_judge_work(const double *t, const double *allocs, const double *done,
                           const int64_t *bytes, size_t n, struct lt_verdict *v);

/* "leak", "cache", ... */
const char *lt_verdict_name(enum lt_verdict_kind k);

/* The Theil-Sen slope of the N points (x[i], y[i]): the median of the
 * slopes of every pair with different x. NAN when there is no such pair. */
double lt_theil_sen(const double *x, const double *y, size_t n);

/* The slope of the least-squares line through the N points; NAN when x
 * does not vary. */
double lt_fit_slope(const double *x, const double *y, size_t n);

/* R^2 of the least-squares line through the N points; NAN when x or y
 * does not vary. */
double lt_fit_r2(const double *x, const double *y, size_t n);

#endif
