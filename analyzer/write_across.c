/* The overview of a report of several processes: one line per process,
 * then the sites and the live timers that are the same across processes,
 * merged, so that the leak that every cluster worker has shows once, with
 * its summed figures and the pids that have it. */
#define _GNU_SOURCE
#include "write_across.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "across.h"
#include "history.h"
#include "json_escape.h"
#include "write_history.h"
#include "writers.h"

#define PIDS_SHOWN 16 /* pids listed in text before "..." */
#define COMMAND_MAX 72

static const char *plural(int64_t n)
{
        return n == 1 ? "" : "s";
}

/* Seconds from the start of the trace to its end, or to its last update
 * for a process that did not end. */
static double duration(const struct lt_trace *t)
{
        uint64_t end = t->hdr.end_ns ? t->hdr.end_ns : t->hdr.update_ns;
        double s = lt_trace_seconds(t, end);
        return s > 0 ? s : 0;
}

/* The command line of T on one line, at most COMMAND_MAX bytes: a long
 * one loses its middle, since its start names the program and its end
 * often tells one worker from another. Malloc'd; NULL on -ENOMEM. */
static char *command_of(const struct lt_trace *t)
{
        char *cmd = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&cmd, &len);
        if (!m)
                return NULL;
        lt_write_command(m, t);
        if (fclose(m)) {
                free(cmd);
                return NULL;
        }
        if (len > COMMAND_MAX) {
                size_t head = (COMMAND_MAX - 3) / 2, tail = COMMAND_MAX - 3 - head;
                memcpy(cmd + head, "...", 3);
                memmove(cmd + head + 3, cmd + len - tail, tail + 1);
        }
        return cmd;
}

/* "leak 1, cache 2, transient 0, unclear 3", or why there are none. */
static void verdict_counts(FILE *out, const struct lt_report *r)
{
        const struct lt_history *h = r->history;
        if (!lt_history_judged(r)) {
                fprintf(out, "none (history of %zu point%s)", h->tl.n, plural((int64_t)h->tl.n));
                return;
        }
        for (int k = 0; k < LT_VERDICT__COUNT; k++)
                fprintf(out, "%s%s %zu", k ? ", " : "", lt_verdict_name(k), h->verdicts[k]);
}

/* The leak the process's report puts first, if it judged one: leaks come
 * first in rep->sites. */
static const struct lt_site *top_leak(const struct lt_report *r)
{
        if (!lt_history_judged(r) || !r->nsites)
                return NULL;
        const struct lt_site *s = r->sites[0];
        return s->hist && s->hist->verdict.kind == LT_VERDICT_LEAK ? s : NULL;
}

/* "every 100 ms", "every 2.500 ms", or "one-shot". */
static const char *repeat_str(char *buf, size_t len, const struct lt_across_timer *s)
{
        if (!s->repeating)
                snprintf(buf, len, "one-shot");
        else if (s->interval_ns % 1000000 == 0)
                snprintf(buf, len, "repeating every %" PRIu64 " ms", s->interval_ns / 1000000);
        else
                snprintf(buf, len, "repeating every %.3f ms", (double)s->interval_ns / 1e6);
        return buf;
}

static int text_process(FILE *out, struct lt_report *r)
{
        const struct lt_trace *t = r->trace;
        char *cmd = command_of(t);
        if (!cmd)
                return -ENOMEM;
        char end[64], live[64], where[512];
        fprintf(out,
                "  pid %" PRIu32 "  %s  %s  %.1f s  %s live in %" PRId64 " block%s  %" PRId64
                " live timer%s  verdicts: ",
                t->hdr.pid, cmd, lt_ending(&t->hdr, end, sizeof(end)), duration(t),
                lt_human_bytes(live, sizeof(live), r->live_bytes), r->live_blocks,
                plural(r->live_blocks), r->timers->live, plural(r->timers->live));
        free(cmd);
        verdict_counts(out, r);
        const struct lt_site *leak = top_leak(r);
        if (leak)
                fprintf(out, "; top leak %s, %s", lt_site_where(where, sizeof(where), r, leak),
                        lt_rate_str(live, sizeof(live), leak->hist->verdict.growth_per_s));
        putc('\n', out);
        return 0;
}

static void text_pids(FILE *out, const struct lt_across *a, const size_t *procs, size_t n)
{
        fprintf(out, "pid%s ", n == 1 ? "" : "s");
        for (size_t i = 0; i < n && i < PIDS_SHOWN; i++)
                fprintf(out, "%s%" PRIu32, i ? ", " : "", a->reports[procs[i]]->trace->hdr.pid);
        if (n > PIDS_SHOWN)
                fprintf(out, ", ... (%zu in all)", n);
}

static int text_sites(FILE *out, const struct lt_across *a, unsigned top)
{
        char b[64], c[64];
        if (!a->nsites) {
                fputs("\nno live allocations in any process\n", out);
                return 0;
        }
        fprintf(out,
                "\nleading sites across the %zu processes (the same frames in several "
                "processes are one site):\n",
                a->nreports);
        size_t n = top && top < a->nsites ? top : a->nsites;
        for (size_t i = 0; i < n; i++) {
                const struct lt_across_site *s = a->sites[i];
                int map = s->kind == LT_SITE_MAPPING;
                fprintf(out, "\n#%zu: %s %s in %" PRId64 " %s%s in %zu process%s (", i + 1,
                        lt_human_bytes(b, sizeof(b), s->live_bytes), map ? "mapped" : "live",
                        s->live_blocks, map ? "region" : "block", plural(s->live_blocks), s->nprocs,
                        s->nprocs == 1 ? "" : "es");
                text_pids(out, a, s->procs, s->nprocs);
                putc(')', out);
                if (s->leak_in)
                        fprintf(out, ", a leak in %zu", s->leak_in);
                lt_human_bytes(c, sizeof(c), (int64_t)s->bytes_allocated);
                char *exact = strstr(c, " (");
                if (exact) /* context only */
                        *exact = '\0';
                fprintf(out, "; %" PRIu64 " %s%s here, %s in all\n", s->allocs,
                        map ? "mmap/mprotect call" : "allocation", plural((int64_t)s->allocs), c);
                int err = lt_write_text_frames(out, s->rep, s->site);
                if (err)
                        return err;
        }
        if (n < a->nsites)
                fprintf(out, "\n... and %zu more site%s (--top 0 shows all)\n", a->nsites - n,
                        plural((int64_t)(a->nsites - n)));
        return 0;
}

static int text_timers(FILE *out, const struct lt_across *a, unsigned top)
{
        if (!a->ntimers)
                return 0;
        int64_t live = 0;
        for (size_t i = 0; i < a->ntimers; i++)
                __builtin_add_overflow(live, a->timers[i]->live, &live);
        fprintf(out,
                "\nlive timers across the %zu processes: %" PRId64 " from %zu creation site%s\n",
                a->nreports, live, a->ntimers, plural((int64_t)a->ntimers));
        size_t n = top && top < a->ntimers ? top : a->ntimers;
        for (size_t i = 0; i < n; i++) {
                const struct lt_across_timer *s = a->timers[i];
                fprintf(out,
                        "\ntimer #%zu: %s, %" PRId64 " live of %" PRIu64
                        " created in %zu process%s (",
                        i + 1, lt_timer_kind_name(s->kind), s->live, s->created, s->nprocs,
                        s->nprocs == 1 ? "" : "es");
                text_pids(out, a, s->procs, s->nprocs);
                char every[64];
                fprintf(out, "), %s%s\n", repeat_str(every, sizeof(every), s),
                        s->site->node_own ? " (node's own: not the program's to clear)" : "");
                if (s->site->inherited) {
                        fputs("  (inherited across exec: made before this program started)\n", out);
                } else if (s->kind == LT_TIMER_JS) {
                        lt_write_text_js_frames(out, s->site);
                } else {
                        int err = lt_write_text_frames(out, s->rep, &s->site->stack);
                        if (err)
                                return err;
                }
        }
        if (n < a->ntimers)
                fprintf(out, "\n... and %zu more timer site%s (--top 0 shows all)\n",
                        a->ntimers - n, plural((int64_t)(a->ntimers - n)));
        return 0;
}

int lt_text_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        struct lt_across a;
        int err = lt_across_build(&a, reports, n);
        if (err)
                return err;
        fprintf(out, "%zu processes:\n", n);
        for (size_t i = 0; i < n && !err; i++)
                err = text_process(out, reports[i]);
        if (!err)
                err = text_sites(out, &a, top);
        if (!err)
                err = text_timers(out, &a, top);
        putc('\n', out);
        lt_across_free(&a);
        return err;
}

static void json_pids(FILE *out, const struct lt_across *a, const size_t *procs, size_t n)
{
        fprintf(out, "\"processes\":%zu,\"pids\":[", n);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%" PRIu32, i ? "," : "", a->reports[procs[i]]->trace->hdr.pid);
        putc(']', out);
}

int lt_json_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        struct lt_across a;
        int err = lt_across_build(&a, reports, n);
        if (err)
                return err;
        fputs(",\"across\":{\"sites\":[", out);
        size_t ns = top && top < a.nsites ? top : a.nsites;
        for (size_t i = 0; i < ns && !err; i++) {
                const struct lt_across_site *s = a.sites[i];
                fprintf(out,
                        "%s{\"kind\":\"%s\",\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                        ",\"allocations\":%" PRIu64 ",\"bytes_allocated\":%" PRIu64 ",",
                        i ? "," : "", lt_site_kind_name(s->site), s->live_bytes, s->live_blocks,
                        s->allocs, s->bytes_allocated);
                json_pids(out, &a, s->procs, s->nprocs);
                fprintf(out, ",\"leak_in\":%zu,", s->leak_in);
                err = lt_write_json_frames(out, s->rep, s->site);
                putc('}', out);
        }
        fputs("],\"timers\":[", out);
        size_t nt = top && top < a.ntimers ? top : a.ntimers;
        for (size_t i = 0; i < nt && !err; i++) {
                const struct lt_across_timer *s = a.timers[i];
                fprintf(out,
                        "%s{\"kind\":\"%s\",\"live\":%" PRId64 ",\"created\":%" PRIu64
                        ",\"repeating\":%s,\"interval_ns\":%" PRIu64 ",",
                        i ? "," : "", lt_timer_kind_name(s->kind), s->live, s->created,
                        s->repeating ? "true" : "false", s->interval_ns);
                json_pids(out, &a, s->procs, s->nprocs);
                if (s->site->inherited)
                        fputs(",\"inherited\":true", out);
                putc(',', out);
                if (s->kind == LT_TIMER_JS)
                        lt_write_json_js_frames(out, s->site);
                else
                        err = lt_write_json_frames(out, s->rep, &s->site->stack);
                putc('}', out);
        }
        fputs("]}", out);
        lt_across_free(&a);
        return err;
}

/* A JS frame's "file:line:column (function)" for a table cell. */
static void js_where(char *buf, size_t len, const struct lt_js_frame *f)
{
        const char *base = f->file ? strrchr(f->file, '/') : NULL;
        base = base ? base + 1 : f->file ? f->file : "?";
        snprintf(buf, len, "%s:%u:%u (%s)", base, f->line, f->column,
                 f->function ? f->function : "??");
}

static void md_pids(FILE *out, const struct lt_across *a, const size_t *procs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%" PRIu32, i ? ", " : "", a->reports[procs[i]]->trace->hdr.pid);
}

static int md_processes(FILE *out, struct lt_report *const *reports, size_t n)
{
        char a[64], where[512];
        fprintf(out,
                "## leaktrace: %zu processes\n\n"
                "| pid | command | end | duration | live | live timers | verdicts | top leak |\n"
                "|--:|---|---|--:|--:|--:|---|---|\n",
                n);
        for (size_t i = 0; i < n; i++) {
                struct lt_report *r = reports[i];
                const struct lt_trace *t = r->trace;
                char *cmd = command_of(t);
                if (!cmd)
                        return -ENOMEM;
                fprintf(out, "| %" PRIu32 " | ", t->hdr.pid);
                lt_md_code(out, cmd, 1);
                free(cmd);
                fprintf(out, " | %s | %.1f s | ", lt_ending(&t->hdr, a, sizeof(a)), duration(t));
                fprintf(out, "%s in %" PRId64 " block%s | %" PRId64 " | ",
                        lt_human_bytes(a, sizeof(a), r->live_bytes), r->live_blocks,
                        plural(r->live_blocks), r->timers->live);
                verdict_counts(out, r);
                fputs(" | ", out);
                const struct lt_site *leak = top_leak(r);
                if (leak)
                        lt_md_code(out, lt_site_where(where, sizeof(where), r, leak), 1);
                fputs(" |\n", out);
        }
        return 0;
}

int lt_md_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        struct lt_across a;
        int err = lt_across_build(&a, reports, n);
        if (err)
                return err;
        char b[64], where[512];
        err = md_processes(out, reports, n);
        size_t ns = top && top < a.nsites ? top : a.nsites;
        if (!err && ns) {
                fputs("\n### Leading sites across processes\n\n"
                      "| # | leak in | live | pids | where |\n|--:|--:|--:|---|---|\n",
                      out);
                for (size_t i = 0; i < ns; i++) {
                        const struct lt_across_site *s = a.sites[i];
                        fprintf(out, "| %zu | %s%zu of %zu%s | %s in %" PRId64 " %s%s | ", i + 1,
                                s->leak_in ? "**" : "", s->leak_in, s->nprocs,
                                s->leak_in ? "**" : "", lt_human_bytes(b, sizeof(b), s->live_bytes),
                                s->live_blocks, s->kind == LT_SITE_MAPPING ? "region" : "block",
                                plural(s->live_blocks));
                        md_pids(out, &a, s->procs, s->nprocs);
                        fputs(" | ", out);
                        lt_md_code(out, lt_site_where(where, sizeof(where), s->rep, s->site), 1);
                        fputs(" |\n", out);
                }
                if (ns < a.nsites)
                        fprintf(out, "\n%zu more site%s not shown (`--top 0` shows all).\n",
                                a.nsites - ns, plural((int64_t)(a.nsites - ns)));
        }
        size_t nt = top && top < a.ntimers ? top : a.ntimers;
        if (!err && nt) {
                fputs("\n### Live timers across processes\n\n"
                      "| # | kind | live | created | repeats | pids | where |\n"
                      "|--:|---|--:|--:|---|---|---|\n",
                      out);
                for (size_t i = 0; i < nt; i++) {
                        const struct lt_across_timer *s = a.timers[i];
                        fprintf(out, "| %zu | %s | %" PRId64 " | %" PRIu64 " | ", i + 1,
                                lt_timer_kind_name(s->kind), s->live, s->created);
                        fprintf(out, "%s | ", repeat_str(b, sizeof(b), s));
                        md_pids(out, &a, s->procs, s->nprocs);
                        fputs(" | ", out);
                        if (s->site->inherited)
                                snprintf(where, sizeof(where), "(inherited across exec)");
                        else if (s->kind == LT_TIMER_JS)
                                js_where(where, sizeof(where), &s->site->js->at);
                        else
                                lt_site_where(where, sizeof(where), s->rep, &s->site->stack);
                        lt_md_code(out, where, 1);
                        fputs(" |\n", out);
                }
        }
        putc('\n', out);
        lt_across_free(&a);
        return err;
}
