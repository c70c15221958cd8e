/* `leaktrace timeline [-o FILE.svg] TRACE...`: the chart of RSS, live
 * bytes, mapped bytes and live timers over time, of one process or of
 * several in turn (a worker and those that replaced it). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "history.h"
#include "jsstate.h"
#include "output.h"
#include "trace.h"
#include "write_timeline_svg.h"

struct js_series {
        size_t n;
        double *t, *timers, *heap;
};

static void js_free(struct js_series *j)
{
        free(j->t);
        free(j->timers);
        free(j->heap);
        memset(j, 0, sizeof(*j));
}

/* node/leaktrace.js's timeline, from its state beside the trace at PATH:
 * points of time_ms, timers_live and heap_used. Nothing when there is no
 * state, or one that is not this process's or cannot be used: the report
 * says what is wrong with a state, the chart goes without. */
static void js_read(const char *path, const struct lt_trace *t, struct js_series *j)
{
        memset(j, 0, sizeof(*j));
        char *state = lt_js_state_path(path);
        struct lt_js_state js;
        char why[512];
        if (!state || lt_js_load(state, &js, why, sizeof(why)) < 0) {
                free(state);
                return;
        }
        free(state);
        size_t n = js.npoints;
        if (js.pid != t->hdr.pid || !n)
                goto out;
        j->t = malloc(n * sizeof(double));
        j->timers = malloc(n * sizeof(double));
        j->heap = malloc(n * sizeof(double));
        if (!j->t || !j->timers || !j->heap) {
                js_free(j);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const struct lt_js_point *p = &js.points[i];
                j->t[i] = p->time_ms / 1000 - (double)t->hdr.start_ns / 1e9;
                j->timers[i] = (double)p->timers_live;
                j->heap[i] = (double)p->heap_used;
        }
        j->n = n;
out:
        lt_js_free(&js);
}

struct loaded {
        struct lt_trace trace;
        struct lt_timeline tl;
        struct js_series js;
        const char *path;
};

static int by_start(const void *pa, const void *pb)
{
        const struct loaded *a = pa, *b = pb;
        if (a->trace.hdr.start_ns != b->trace.hdr.start_ns)
                return a->trace.hdr.start_ns < b->trace.hdr.start_ns ? -1 : 1;
        return a->trace.hdr.pid < b->trace.hdr.pid ? -1 : a->trace.hdr.pid > b->trace.hdr.pid;
}

static int timeline_main(int argc, char **argv)
{
        const char *output = NULL;
        struct lt_args a;
        int c;
        lt_args_init(&a, &lt_timeline_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0)
                output = a.val;
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (!a.noperands) {
                lt_usage_error("timeline", "no trace file given");
                return 2;
        }
        char **paths = NULL;
        size_t n = 0, good = 0;
        int status = lt_expand_trace_args(argv + 1, (size_t)a.noperands, &paths, &n) ? 2 : 0;
        struct loaded *l = calloc(n + 1, sizeof(*l));
        struct lt_chart_proc *procs = calloc(n + 1, sizeof(*procs));
        if (!l || !procs) {
                fprintf(stderr, "leaktrace: out of memory\n");
                status = 2;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const char *path = paths[i];
                struct loaded *x = &l[good];
                char why[512];
                if (lt_trace_load(path, &x->trace, why, sizeof(why)) < 0) {
                        fprintf(stderr, "leaktrace: %s: %s\n", path, why);
                        status = 2;
                        continue;
                }
                if (lt_timeline_read(&x->trace, &x->tl) < 0) {
                        fprintf(stderr, "leaktrace: %s: out of memory\n", path);
                        lt_trace_free(&x->trace);
                        status = 2;
                        continue;
                }
                if (!x->tl.n) {
                        fprintf(stderr,
                                "leaktrace: %s: no timeline (the process never took a tick)\n",
                                path);
                        lt_trace_free(&x->trace);
                        status = 2;
                        continue;
                }
                js_read(path, &x->trace, &x->js);
                x->path = path;
                good++;
        }
        if (!good)
                goto out;
        qsort(l, good, sizeof(*l), by_start);
        for (size_t i = 0; i < good; i++) {
                procs[i] = (struct lt_chart_proc){
                    .trace = &l[i].trace,
                    .tl = &l[i].tl,
                    .offset = (double)(l[i].trace.hdr.start_ns - l[0].trace.hdr.start_ns) / 1e9,
                    .njs = l[i].js.n,
                    .js_t = l[i].js.t,
                    .js_timers = l[i].js.timers,
                    .js_heap = l[i].js.heap,
                };
        }
        FILE *out = stdout;
        if (output && strcmp(output, "-") && !(out = fopen(output, "w"))) {
                fprintf(stderr, "leaktrace: %s: %s\n", output, strerror(errno));
                status = 2;
                goto out;
        }
        int err = lt_write_timeline_svg(out, procs, good);
        if (out != stdout) {
                int closed = lt_out_close(out);
                err = err ? err : closed;
        }
        if (err) {
                fprintf(stderr, "leaktrace: cannot write %s: %s\n",
                        out != stdout ? output : "the chart to standard output", strerror(-err));
                status = 2;
        }
out:
        for (size_t i = 0; l && i < good; i++) {
                lt_timeline_free(&l[i].tl);
                js_free(&l[i].js);
                lt_trace_free(&l[i].trace);
        }
        free(l);
        free(procs);
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        free(paths);
        return status;
}

static const struct lt_cli_opt timeline_opts[] = {
    {'o', 'o', "output", "FILE", LT_KIND_FILE, NULL, "where to write the SVG (default: stdout)"},
    {0},
};

const struct lt_cli_cmd lt_timeline_cmd = {
    .name = "timeline",
    .operands = "FILE|DIR...",
    .summary = "chart of RSS, live and mapped bytes and live timers over time, as SVG",
    .description =
        "Draws, as one self-contained SVG, the RSS, the live bytes of malloc, the anonymous "
        "mapped bytes and the live timers of each traced process over time, from the timeline "
        "its trace keeps (one point per LEAKTRACE_TICK_MS, thinned over long runs), with the "
        "snapshots taken by `leaktrace ctl` marked. A directory stands for the trace files in it. Several traces (a server's worker and the "
        "workers that replaced it) share one time axis, each start marked. For a node process "
        "whose JS module left its state beside the trace, JS timers and the V8 heap too.",
    .opts = timeline_opts,
    .operand_kind = LT_KIND_TRACE,
    .exit_status = "Exit status: 0, or 2 when a trace cannot be read or has no timeline (one "
                   "line on stderr each; the others are drawn).",
    .main = timeline_main,
};
