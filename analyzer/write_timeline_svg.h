/* The timeline chart: memory and live timers of one or more processes over
 * time, as one self-contained SVG. Several processes (a worker and the
 * ones that replaced it after it died) share one time axis, so the seed's
 * sawtooth, memory climbing until a process dies and starting over in the
 * next, shows as what it is. */
#ifndef LT_WRITE_TIMELINE_SVG_H
#define LT_WRITE_TIMELINE_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "history.h"

/* One process on the chart. */
struct lt_chart_proc {
        const struct lt_trace *trace;
        const struct lt_timeline *tl;
        double offset; /* seconds from the chart's 0 to the trace's start */
        /* node/leaktrace.js's own timeline, when its state is there: JS
         * timers and V8 heap used, at js_t seconds since the trace's start */
        size_t njs;
        const double *js_t, *js_timers, *js_heap;
};

/* Writes the chart of the N processes, in time order. Returns 0, or -EIO
 * when OUT failed. */
int lt_write_timeline_svg(FILE *out, const struct lt_chart_proc *procs, size_t n);

#endif
