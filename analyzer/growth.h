/* Where a process's memory grew: RSS, the JS heap (node), native malloc,
 * mappings and live timers over the run, each with its growth per minute,
 * and the timer sites whose live count the memory grew with, with the
 * bytes each live timer retains. From the trace's timeline and, for a node
 * process, the timeline of node/leaktrace.js's state. */
#ifndef LT_GROWTH_H
#define LT_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The series, in report order: id, JSON name, label for people, counts
 * (true) or bytes. */
#define LT_GROWTH_SERIES(X)                                                                        \
        X(RSS, "rss", "RSS", false)                                                                \
        X(JS_HEAP_USED, "js_heap_used", "JS heap used", false)                                     \
        X(JS_HEAP_TOTAL, "js_heap_total", "JS heap total", false)                                  \
        X(JS_EXTERNAL, "js_external", "JS external", false)                                        \
        X(JS_ARRAY_BUFFERS, "js_array_buffers", "JS array buffers", false)                         \
        X(MALLOC, "malloc", "native malloc", false)                                                \
        X(MAPPINGS, "mappings", "mappings", false)                                                 \
        X(TIMERS, "timers", "live timers", true)

enum lt_growth_kind {
#define LT_X_ENUM(K, name, label, count) LT_GROWTH_##K,
        LT_GROWTH_SERIES(LT_X_ENUM)
#undef LT_X_ENUM
            LT_GROWTH__COUNT
};

/* What a site needs to be reported as retaining memory: points where its
 * live count is known, growth of that count from the first to the last,
 * and the fit of memory on it. */
#define LT_RETAIN_MIN_POINTS 5
#define LT_RETAIN_MIN_TIMERS 3
#define LT_RETAIN_MIN_R2 0.8

struct lt_growth_series {
        bool known;
        int64_t first, last; /* at the first and last point in time */
        double per_min;      /* Theil-Sen slope over time, per minute; NAN: fewer than
                              * LT_VERDICT_MIN_POINTS points */
};

/* What memory a timer site's live timers hold, from the least-squares line
 * of memory (at each point) on the site's live count (at the same point). */
struct lt_retain_fit {
        double slope; /* bytes per live timer; NAN when the count never moved */
        double r2;    /* NAN as above, or when memory did not move */
        unsigned points;
        bool retains; /* enough points, the count grew, slope > 0, R² high enough */
};

struct lt_retention {
        const struct lt_timer_site *site; /* timers.h: kind and frames */
        int64_t live;                     /* its live timers at the end */
        struct lt_retain_fit fit;
        const char *against; /* "js_heap_used" (JS sites), "malloc_and_mappings" (OS) */
        /* JS sites whose live timers rose in step with this one's (a line
         * of them, R² LT_IN_STEP_R2 or more): the heap grew with all of
         * them, and which holds it no fit can tell. Said with this one,
         * their growth not given again. */
        const struct lt_timer_site **in_step;
        size_t nin_step;
};
#define LT_IN_STEP_R2 0.95

/* A repeating timer site whose live timers were made steadily over the run
 * and never cleared: the live count at each point where it is known,
 * judged as a site's live bytes are (verdict.h), a leak; and
 * LT_TIMER_LEAK_MIN live at the end at least. The classic leak of a
 * server: a setInterval per request, its closure small or not. */
#define LT_TIMER_LEAK_MIN 5
/* A site of this many live timers, none of them ever cleared, is judged up
 * to its last creation: an idle end is no bound. */
#define LT_TIMER_LEAK_NEVER_CLEARED 20

struct lt_timer_leak {
        const struct lt_timer_site *site; /* timers.h: kind and frames */
        int64_t first, live;              /* live at the first point judged, and at the end */
        double per_min;                   /* growth of the live count per minute */
        unsigned points;
};

struct lt_growth {
        double span_s; /* from the first point of either timeline to the last */
        struct lt_growth_series series[LT_GROWTH__COUNT];
        bool node;                /* the JS state had a timeline */
        struct lt_retention *ret; /* sites that retain, most bytes (slope x live) first */
        size_t nret;
        struct lt_timer_leak *tleak; /* timer sites that leak timers, in the timers' order */
        size_t ntleak;
};

/* The retention of G that says timer site S, its own or one S rose in
 * step in; NULL when none does. */
const struct lt_retention *lt_retention_of(const struct lt_growth *g,
                                           const struct lt_timer_site *s);

/* Fits BYTES[i] on LIVE[i] over N points (in time order) into *F. */
void lt_retain_fit(const double *live, const double *bytes, size_t n, struct lt_retain_fit *f);

/* Sets rep->growth from the report's timeline (history.h) and JS state
 * (timers.h), both built; NULL when neither has a point. Returns 0 or
 * -ENOMEM. */
int lt_growth_build(struct lt_report *rep);

/* Releases what lt_growth_build() added. */
void lt_growth_free(struct lt_report *rep);

/* "rss", ...; "RSS", ...; whether series K counts things rather than bytes. */
const char *lt_growth_name(enum lt_growth_kind k);
const char *lt_growth_label(enum lt_growth_kind k);
bool lt_growth_is_count(enum lt_growth_kind k);

#endif
