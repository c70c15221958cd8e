/* The timeline chart. Three panels on one time axis: memory (RSS,
 * anonymous mapped bytes, and V8's heap when node's JS module left its
 * timeline), the live bytes of malloc, and live timers (OS timers from the
 * trace, JS timers from the module). Snapshots are dashed vertical lines with their names;
 * when several processes share the chart, each one's start is a solid line
 * with its pid.
 *
 * For programs that read the chart back (the tests do), every series is a
 * <polyline data-series=".." data-pid=".."> whose points are the data
 * mapped linearly: the plot's data-t0/t1 and data-x0/x1 give the time axis,
 * each panel's data-v0/v1 and data-y0/y1 its value axis. */
#define _GNU_SOURCE
#include "write_timeline_svg.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

#define W 1000.0
#define X0 90.0  /* left of the plot */
#define X1 970.0 /* right */
#define H 612.0
#define TITLE_CHARS 90 /* what the title's font fits in W */

/* Three panels, each with its own value axis: memory as the system sees
 * it, the live bytes of malloc (far smaller than RSS in most programs, so
 * on a scale of their own), and live timers. */
enum { PANEL_MEMORY, PANEL_LIVE, PANEL_TIMERS, NPANELS };
static const struct panel {
        const char *name;
        double top, bottom;
        int bytes;
} panels[NPANELS] = {
    [PANEL_MEMORY] = {"memory", 78, 278, 1},
    [PANEL_LIVE] = {"live", 318, 438, 1},
    [PANEL_TIMERS] = {"timers", 478, 558, 0},
};
#define PLOT_BOTTOM 558.0

static const struct series {
        const char *key, *label, *color;
        int panel, dashed, js;
} series[] = {
    /* The colours are the HTML report's (analyzer/html/report.css), so
     * that a series looks the same in both. */
    {"rss", "RSS", "#6a1b9a", PANEL_MEMORY, 0, 0},
    {"live_bytes", "live bytes (malloc)", "#c62828", PANEL_LIVE, 0, 0},
    {"mapped_bytes", "mapped bytes (anonymous mmap)", "#1565c0", PANEL_MEMORY, 0, 0},
    {"js_heap", "JS heap used (node)", "#00838f", PANEL_MEMORY, 1, 1},
    {"timers_live", "live timers (OS)", "#2e7d32", PANEL_TIMERS, 0, 0},
    {"js_timers", "live timers (JS)", "#e65100", PANEL_TIMERS, 1, 1},
};
#define NSERIES (sizeof(series) / sizeof(series[0]))

/* Point i of series k of process p: its time on the chart and value. */
static size_t npoints(const struct lt_chart_proc *p, size_t k)
{
        return series[k].js ? p->njs : p->tl->n;
}

static void point(const struct lt_chart_proc *p, size_t k, size_t i, double *t, double *v)
{
        if (series[k].js) {
                *t = p->offset + p->js_t[i];
                *v = !strcmp(series[k].key, "js_heap") ? p->js_heap[i] : p->js_timers[i];
                return;
        }
        const struct lt_tick_rec *r = &p->tl->ticks[i];
        *t = p->offset + p->tl->t[i];
        switch (k) {
        case 0:
                *v = (double)r->rss;
                break;
        case 1:
                *v = (double)r->live_bytes;
                break;
        case 2:
                *v = (double)r->mapped_bytes;
                break;
        default:
                *v = (double)r->timers_live;
        }
}

struct axes {
        double t0, t1;
        double v1[NPANELS]; /* top of each panel's value axis; bottoms are 0 */
};

static double px(const struct axes *a, double t)
{
        return X0 + (t - a->t0) / (a->t1 - a->t0) * (X1 - X0);
}

static double py(const struct axes *a, int panel, double v)
{
        const struct panel *p = &panels[panel];
        return p->bottom - v / a->v1[panel] * (p->bottom - p->top);
}

/* Ticks of a panel's value axis: a count of timers has whole ones. */
static double value_step(int panel, double range)
{
        double step = lt_svg_step(range, panel == PANEL_TIMERS ? 4 : 5, panels[panel].bytes);
        return panel == PANEL_TIMERS && step < 1 ? 1 : step;
}

static void time_label(char *buf, size_t len, double t, double step)
{
        if (step >= 3600)
                snprintf(buf, len, "%g h", t / 3600);
        else if (step >= 60)
                snprintf(buf, len, "%g min", t / 60);
        else
                snprintf(buf, len, "%g s", fabs(t) < 1e-9 ? 0.0 : t);
}

static void panel_frame(FILE *out, const struct axes *a, int panel)
{
        double top = panels[panel].top, bottom = panels[panel].bottom;
        double step = value_step(panel, a->v1[panel]);
        const char *name = panels[panel].name;
        char label[64];
        fprintf(out,
                "<g class=\"axis\" data-panel=\"%s\" data-v0=\"0\" data-v1=\"%.17g\" "
                "data-y0=\"%.2f\" data-y1=\"%.2f\">\n",
                name, a->v1[panel], bottom, top);
        for (double v = 0; v <= a->v1[panel] * (1 + 1e-9); v += step) {
                double y = py(a, panel, v);
                fprintf(out,
                        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>"
                        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                        X0, y, X1, y, X0 - 6, y + 4,
                        lt_svg_label(label, sizeof(label), v, panels[panel].bytes));
        }
        fprintf(out,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
                "stroke=\"#888\"/>\n</g>\n",
                X0, top, X1 - X0, bottom - top);
}

static void legend(FILE *out, int panel, int has_js)
{
        double x = X0 + 4, y = panels[panel].top - 8;
        for (size_t k = 0; k < NSERIES; k++) {
                if (series[k].panel != panel || (series[k].js && !has_js))
                        continue;
                fprintf(out,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"3\"%s/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                        x, y - 4, x + 22, y - 4, series[k].color,
                        series[k].dashed ? " stroke-dasharray=\"6 3\"" : "", x + 27, y,
                        series[k].label);
                x += 44 + 6.9 * (double)strlen(series[k].label);
        }
}

/* Where recording started (ON) or stopped, at TS seconds. */
static void recording_mark(FILE *out, const struct axes *a, double ts, int on)
{
        double x = px(a, ts);
        fprintf(out,
                "<g class=\"%s\" data-t=\"%.3f\"><title>recording %s at %.3f s</title><line "
                "x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                "stroke-dasharray=\"1 3\"/><text x=\"%.2f\" y=\"%.2f\" class=\"small\" "
                "text-anchor=\"end\">recording %s</text></g>\n",
                on ? "recording" : "recording-off", ts, on ? "started" : "stopped", ts, x,
                panels[0].top, x, PLOT_BOTTOM, on ? "#2a8f3a" : "#b03a2e", x - 3,
                panels[0].top + (on ? 14 : 27), on ? "on" : "off");
}

/* The pid at the end of a process's line, when several share the chart. */
struct end_label {
        double x, y;
        int right; /* no room after the line's end: drawn before it, anchored at its end */
        int panel;
        uint32_t pid;
};

static int by_place(const void *pa, const void *pb)
{
        const struct end_label *a = pa, *b = pb;
        if (a->panel != b->panel)
                return a->panel - b->panel;
        if (a->right != b->right)
                return a->right - b->right;
        return a->y < b->y ? -1 : a->y > b->y;
}

static bool near(const struct end_label *a, const struct end_label *b)
{
        return a->panel == b->panel && a->right == b->right && fabs(a->x - b->x) < 64;
}

/* Draws the end labels, moved apart where two would overlap (lines that end
 * near each other in x): down a line at a time, then back up as a group
 * where that took them past their panel's bottom. */
static void draw_end_labels(FILE *out, struct end_label *l, size_t n)
{
        const double gap = 11;
        qsort(l, n, sizeof(*l), by_place);
        for (size_t i = 1; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (near(&l[j], &l[i]) && l[i].y - l[j].y < gap)
                                l[i].y = l[j].y + gap;
        for (size_t i = n; i-- > 0;) {
                double bottom = panels[l[i].panel].bottom - 2;
                if (l[i].y > bottom)
                        l[i].y = bottom;
                for (size_t j = i + 1; j < n; j++) /* the ones below, moved up */
                        if (near(&l[j], &l[i]) && l[j].y - l[i].y < gap)
                                l[i].y = l[j].y - gap;
                if (l[i].y < panels[l[i].panel].top + 10)
                        l[i].y = panels[l[i].panel].top + 10;
        }
        for (size_t i = 0; i < n; i++)
                fprintf(out,
                        "<text class=\"small\" x=\"%.2f\" y=\"%.2f\"%s>pid %" PRIu32 "</text>\n",
                        l[i].right ? l[i].x - 3 : l[i].x + 3, l[i].y,
                        l[i].right ? " text-anchor=\"end\"" : "", l[i].pid);
}

/* Whether the process of T died (killed or crashed): its line ends in a
 * cross. One still running ends where its file does, unmarked. */
static int died_of(const struct lt_trace *t)
{
        enum lt_end e = lt_trace_end(&t->hdr);
        return e == LT_END_SIGNALED || e == LT_END_UNCLEAN;
}

int lt_write_timeline_svg(FILE *out, const struct lt_chart_proc *procs, size_t n)
{
        struct axes a = {.t0 = INFINITY, .t1 = -INFINITY, .v1 = {0}};
        int has_js = 0;
        for (size_t p = 0; p < n; p++) {
                has_js |= procs[p].njs > 0;
                for (size_t k = 0; k < NSERIES; k++)
                        for (size_t i = 0; i < npoints(&procs[p], k); i++) {
                                double t, v;
                                point(&procs[p], k, i, &t, &v);
                                a.t0 = t < a.t0 ? t : a.t0;
                                a.t1 = t > a.t1 ? t : a.t1;
                                a.v1[series[k].panel] =
                                    v > a.v1[series[k].panel] ? v : a.v1[series[k].panel];
                        }
        }
        if (!(a.t0 <= a.t1))
                a.t0 = a.t1 = 0;
        if (a.t1 - a.t0 < 1e-3)
                a.t1 = a.t0 + 1;
        for (int panel = 0; panel < NPANELS; panel++) {
                double vmax = a.v1[panel] > 0 ? a.v1[panel] * 1.04 : 1;
                a.v1[panel] = ceil(vmax / value_step(panel, vmax)) * value_step(panel, vmax);
        }

        char title[LT_PATH_MAX + 64];
        const struct lt_trace *t0 = procs[0].trace;
        if (n == 1) {
                /* The command line as far as the width allows: "node" alone
                 * does not say which server this was. */
                int len =
                    snprintf(title, sizeof(title), "leaktrace timeline: pid %" PRIu32, t0->hdr.pid);
                for (uint32_t i = 0; i < (t0->argc ? t0->argc : 1) && len < TITLE_CHARS; i++)
                        len += snprintf(title + len, sizeof(title) - (size_t)len, " %s",
                                        t0->argc ? t0->argv[i] : t0->hdr.exe);
                if (len > TITLE_CHARS) {
                        int cut = TITLE_CHARS - 3;
                        while (cut > 0 && (title[cut] & 0xc0) == 0x80) /* not in a character */
                                cut--;
                        memcpy(title + cut, "...", 4);
                }
        } else
                snprintf(title, sizeof(title), "leaktrace timeline: %zu processes", n);
        lt_svg_begin(out, W, H, title);
        fputs("<text class=\"title\" x=\"10\" y=\"24\">", out);
        lt_svg_text(out, title);
        fputs("</text>\n<text class=\"small\" x=\"10\" y=\"42\">", out);
        if (n == 1)
                fprintf(out, "tick %" PRIu32 " ms, %zu point%s", t0->hdr.history.tick_ms,
                        procs[0].tl->n, procs[0].tl->n == 1 ? "" : "s");
        else
                fputs("on one time axis, each from when it started (a solid line marks each start)",
                      out);
        int died = 0, snaps = 0;
        for (size_t p = 0; p < n; p++) {
                died |= died_of(procs[p].trace);
                snaps |= procs[p].trace->nsnaps > 0;
        }
        fprintf(out, "%s%s%s</text>\n", has_js ? "; dashed series come from the JS module" : "",
                snaps ? "; dashed vertical lines are snapshots" : "",
                died ? "; \xc3\x97: the process did not exit cleanly" : "");

        fprintf(out,
                "<g class=\"plot\" data-t0=\"%.17g\" data-t1=\"%.17g\" data-x0=\"%.2f\" "
                "data-x1=\"%.2f\">\n",
                a.t0, a.t1, X0, X1);
        for (int panel = 0; panel < NPANELS; panel++) {
                panel_frame(out, &a, panel);
                legend(out, panel, has_js);
        }

        /* the time axis, under the timers panel */
        double step = lt_svg_step(a.t1 - a.t0, 10, 0);
        char label[64];
        for (double t = ceil(a.t0 / step) * step; t <= a.t1 + step * 1e-9; t += step) {
                double x = px(&a, t);
                time_label(label, sizeof(label), t, step);
                fprintf(out,
                        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\"/>"
                        "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
                        x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5, x, PLOT_BOTTOM + 19, label);
        }
        fprintf(out,
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" class=\"small\">time since "
                "%s</text>\n",
                (X0 + X1) / 2, H - 14,
                n > 1                                ? "the first process started"
                : t0->hdr.flags & LT_F_ATTACHED      ? "the attach"
                                                     : "the process started");

        /* Without room for them (no memory), the lines go unlabelled. */
        struct end_label *labels = n > 1 ? calloc(n * NSERIES, sizeof(*labels)) : NULL;
        size_t nlabels = 0;
        for (size_t p = 0; p < n; p++) {
                const struct lt_chart_proc *pr = &procs[p];
                const struct lt_trace *t = pr->trace;
                if (n > 1) {
                        double x = px(&a, pr->offset);
                        fprintf(out,
                                "<g class=\"process\" data-pid=\"%" PRIu32 "\"><line x1=\"%.2f\" "
                                "y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#555\"/>"
                                "<text x=\"%.2f\" y=\"%.2f\" class=\"small\">pid %" PRIu32
                                "</text></g>\n",
                                t->hdr.pid, x, panels[0].top, x, PLOT_BOTTOM, x + 3,
                                /* staggered: cluster workers start together */
                                panels[0].bottom - 4 - 12 * (double)(p % 4), t->hdr.pid);
                }
                if (died_of(t)) {
                        double te = pr->offset + pr->tl->t[pr->tl->n - 1];
                        char end[96];
                        fprintf(out,
                                "<g class=\"end\"><title>pid %" PRIu32 ": %s after %.3f s</title>"
                                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                                "fill=\"#c00\">\xc3\x97</text></g>\n",
                                t->hdr.pid, lt_ending(&t->hdr, end, sizeof(end)), te, px(&a, te),
                                panels[0].top + 12);
                }
                /* recording started later than the process (ctl start), and
                 * stopped (ctl stop): the flat line after a stop is no
                 * plateau */
                uint64_t on_ns = t->hdr.history.start_tick_ns;
                if (on_ns > t->hdr.start_ns + (uint64_t)t->hdr.history.tick_ms * 1000000u)
                        recording_mark(out, &a, pr->offset + lt_trace_seconds(t, on_ns), 1);
                uint64_t off_ns = t->hdr.history.stop_tick_ns;
                if (off_ns > t->hdr.history.start_tick_ns && off_ns > t->hdr.start_ns)
                        recording_mark(out, &a, pr->offset + lt_trace_seconds(t, off_ns), 0);
                for (uint64_t s = 0; s < t->nsnaps; s++) {
                        double ts = pr->offset + lt_trace_seconds(t, t->snaps[s].time_ns);
                        if (ts < a.t0 || ts > a.t1)
                                continue;
                        double x = px(&a, ts);
                        fprintf(out, "<g class=\"snapshot\" data-t=\"%.3f\"><title>snapshot ", ts);
                        lt_svg_text(out, t->snaps[s].name);
                        /* Its name after the line, or before it at the right edge. */
                        int right = x > X1 - 80;
                        fprintf(out,
                                " at %.3f s</title><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                                "y2=\"%.2f\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>"
                                "<text x=\"%.2f\" y=\"%.2f\" class=\"small\"%s>",
                                ts, x, panels[0].top, x, PLOT_BOTTOM, right ? x - 3 : x + 3,
                                panels[0].top + 14 + 13 * (double)(s % 3),
                                right ? " text-anchor=\"end\"" : "");
                        lt_svg_text(out, t->snaps[s].name);
                        fputs("</text></g>\n", out);
                }
                for (size_t k = 0; k < NSERIES; k++) {
                        size_t np = npoints(pr, k);
                        if (!np)
                                continue;
                        fprintf(out,
                                "<polyline data-series=\"%s\" data-pid=\"%" PRIu32 "\" "
                                "fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                                "stroke-linejoin=\"round\"%s points=\"",
                                series[k].key, t->hdr.pid, series[k].color,
                                series[k].dashed ? " stroke-dasharray=\"6 3\"" : "");
                        for (size_t i = 0; i < np; i++) {
                                double tt, v;
                                point(pr, k, i, &tt, &v);
                                fprintf(out, "%s%.2f,%.2f", i ? " " : "", px(&a, tt),
                                        py(&a, series[k].panel, v));
                        }
                        fputs("\"/>\n", out);
                        /* Several processes draw each series in its colour:
                         * each line's end says whose it is. */
                        if (n > 1 && series[k].panel != PANEL_TIMERS && labels) {
                                double tt, v;
                                point(pr, k, np - 1, &tt, &v);
                                double x = px(&a, tt), y = py(&a, series[k].panel, v);
                                int right = x > X1 - 60; /* no room after it: above, before */
                                labels[nlabels++] = (struct end_label){
                                    x, right ? y - 5 : y + 4, right, series[k].panel, t->hdr.pid};
                        }
                        if (np == 1) { /* a line of one point is not drawn: a dot */
                                double tt, v;
                                point(pr, k, 0, &tt, &v);
                                fprintf(out,
                                        "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n",
                                        px(&a, tt), py(&a, series[k].panel, v), series[k].color);
                        }
                }
        }
        if (labels)
                draw_end_labels(out, labels, nlabels);
        free(labels);
        fputs("</g>\n", out);
        return lt_svg_end(out);
}
