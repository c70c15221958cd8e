/* The timeline and the per-site histories of a trace, as series: the
 * preload's grid of long-term and recent columns merged into one list of
 * points in time order, each tick once; every site's live bytes and blocks
 * at each point; its verdict; and the mapping sites (anonymous memory
 * made accessible by mmap or mprotect) as sites of their own. */
#ifndef LT_HISTORY_H
#define LT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "verdict.h"

/* lt_site.kind */
#define LT_SITE_ALLOC 0
#define LT_SITE_MAPPING 1

/* The points of a trace's timeline. */
struct lt_timeline {
        size_t n;
        struct lt_tick_rec *ticks; /* a copy of each point's column, time-ordered */
        double *t;                 /* seconds since the trace started (header start_ns) */
        double *allocs;            /* the process's allocations so far that were work, as
                                    * doubles: what it made after calling exit() left out,
                                    * and at its last point what exceeds the pace before
                                    * (lt_timeline_read) */
        double *done;              /* all of its allocations so far, as doubles */
        unsigned *col;             /* the grid column each point was read from */
        bool recent_only;          /* read while the long-term columns were being thinned:
                                    * only the recent ones were trusted */
        size_t damaged;            /* columns left out: their time or figures out of range */
};

/* A site's series, at each point of its report's timeline. */
struct lt_site_history {
        bool recorded; /* one of its stacks has a history record */
        struct lt_verdict verdict;
        int64_t *bytes;
        int64_t *blocks;
};

/* What lt_history_build() adds to a report. */
struct lt_history {
        struct lt_timeline tl;
        struct lt_site *maps;               /* mapping sites, by key: kind LT_SITE_MAPPING */
        size_t verdicts[LT_VERDICT__COUNT]; /* sites shown, per verdict */
        size_t damaged; /* history records left out: figures out of range (a damaged file) */
};

/* Figures no process reaches: a column or record beyond them is damaged. */
#define LT_HIST_MAX_BYTES (INT64_C(1) << 52)
#define LT_HIST_MAX_COUNT (INT64_C(1) << 40)

/* Reads the points of T's timeline into *TL. Columns whose time is 0
 * (unused, or being rewritten) are skipped, and so are the long-term ones
 * when the file was caught thinning them. Returns 0, or -ENOMEM with *tl
 * zeroed. */
int lt_timeline_read(const struct lt_trace *t, struct lt_timeline *tl);

void lt_timeline_free(struct lt_timeline *tl);

/* The name of snapshot INDEX + 1 (a tick's `snapshot` field) of T, or
 * NULL when it has none. */
const char *lt_snapshot_name(const struct lt_trace *t, uint32_t snapshot);

/* Adds to the report built by lt_report_build() the timeline, the mapping
 * sites that hold memory (appended to rep->sites), every shown site's
 * series and verdict, and puts the leaks first: leaks by live bytes, then
 * every other site by live bytes. Returns 0 or -ENOMEM. */
int lt_history_build(struct lt_report *rep);

/* Releases what lt_history_build() added; safe on a report without it. */
void lt_history_free(struct lt_report *rep);

/* Seconds since T's start at CLOCK_REALTIME TIME_NS. */
static inline double lt_trace_seconds(const struct lt_trace *t, uint64_t time_ns)
{
        return time_ns >= t->hdr.start_ns ? (double)(time_ns - t->hdr.start_ns) / 1e9
                                          : -(double)(t->hdr.start_ns - time_ns) / 1e9;
}

#endif
