/* `leaktrace check FILE...`: the gate of a CI job. A file fails when one of
 * its places is judged a leak that grew by more than --max-growth bytes
 * over the history, when a timer site's live timers keep more memory than
 * that, when repeating timers were made steadily and never cleared (or,
 * given --max-live-timers, when more timers than that are live at its end:
 * OS timers from the trace, JS timers from node's state), or when more
 * than --max-live bytes are live. Each failure is one line naming the
 * file, the place's file:line and its figures. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "growth.h"
#include "history.h"
#include "places.h"
#include "report.h"
#include "timers.h"
#include "trace.h"
#include "write_history.h"
#include "writers.h"

struct bounds {
        int64_t max_growth;
        int64_t max_timers; /* < 0: none */
        int64_t max_live;   /* < 0: none */
        int growth;         /* growth is judged: --max-growth, or no other bound */
        int all_code;       /* --all-code: places outside the user's code fail too */
};

/* Whether place PL is judged: the user's code, unless the program has
 * none (a system binary, an interpreter's script) or --all-code. */
static bool gated(const struct lt_places *p, const struct lt_place *pl, const struct bounds *b)
{
        return pl->users || b->all_code || !p->any_users;
}

/* One line per failure of report R. Returns how many, and sets *unjudged
 * when growth is judged and this history is too short for any verdict, or
 * some site grew at too few ticks to be judged. */
/* What "ok" judged: the places of each verdict, and the leaks left out. */
static void ok_line(FILE *out, const struct lt_places *p, const struct bounds *b)
{
        size_t count[LT_VERDICT__COUNT] = {0}, out_leaks = 0;
        const struct lt_place *big = NULL;
        for (size_t i = 0; i < p->n; i++) {
                const struct lt_place *pl = &p->v[i];
                if (gated(p, pl, b)) {
                        count[pl->verdict.kind]++;
                } else if (pl->verdict.kind == LT_VERDICT_LEAK &&
                           pl->verdict.growth_bytes > b->max_growth) {
                        out_leaks++;
                        if (!big || pl->verdict.growth_bytes > big->verdict.growth_bytes)
                                big = pl;
                }
        }
        fprintf(out,
                "no leak beyond the bounds%s (places, the sites of a line summed: %zu leak%s, "
                "%zu cache%s, %zu transient, %zu unclear)",
                b->all_code || !p->any_users ? "" : " in the program's code",
                count[LT_VERDICT_LEAK], count[LT_VERDICT_LEAK] == 1 ? "" : "s",
                count[LT_VERDICT_CACHE], count[LT_VERDICT_CACHE] == 1 ? "" : "s",
                count[LT_VERDICT_TRANSIENT], count[LT_VERDICT_UNCLEAR]);
        char g[64];
        if (big)
                fprintf(out,
                        "; outside it %zu grew as leaks do, the most %s at %s%s (--all-code "
                        "judges them)",
                        out_leaks, lt_signed_bytes(g, sizeof(g), (double)big->verdict.growth_bytes),
                        big->where, big->heap ? ", V8's heap" : "");
        putc('\n', out);
}

static int check_one(FILE *out, struct lt_report *r, const struct lt_places *p,
                     const struct bounds *b, int *unjudged)
{
        const char *path = r->trace->path;
        const char *est = r->trace->hdr.sample_bytes ? " (sampled: estimates)" : "";
        int failed = 0;
        char where[512], g[64], rate[64], live[64], k[64];
        for (size_t i = 0; i < p->n; i++) {
                const struct lt_place *pl = &p->v[i];
                const struct lt_verdict *v = &pl->verdict;
                if (v->kind != LT_VERDICT_LEAK || v->growth_bytes <= b->max_growth ||
                    !gated(p, pl, b))
                        continue;
                fprintf(out, "%s: leak at %s: grew %s (%" PRId64 " bytes) at %s", path, pl->where,
                        lt_signed_bytes(g, sizeof(g), (double)v->growth_bytes), v->growth_bytes,
                        lt_rate_str(rate, sizeof(rate), v->growth_per_s));
                if (!isnan(v->growth_per_kalloc))
                        fprintf(out, ", %s/1000 allocations",
                                lt_signed_bytes(k, sizeof(k), v->growth_per_kalloc));
                if (!isnan(v->r2))
                        fprintf(out, ", R\xc2\xb2 %.2f", v->r2);
                fprintf(out, "; %s %s in %" PRId64 " %s",
                        lt_human_bytes(live, sizeof(live), pl->live_bytes),
                        pl->kind == LT_SITE_MAPPING ? "mapped" : "live", pl->live_blocks,
                        pl->kind == LT_SITE_MAPPING ? "regions" : "blocks");
                if (pl->nsites > 1)
                        fprintf(out, " from %zu stacks", pl->nsites);
                fprintf(out, "%s\n", est);
                failed++;
        }
        /* Memory that grows with a timer site's live timers (the growth
         * summary's fit, R² 0.8 or more): what those timers keep, V8's
         * heap for JS timers, which no site of malloc's shows. The leak
         * this project was born from: a component's setInterval, never
         * cleared, holding a rendered page each. */
        for (size_t i = 0; b->growth && r->growth && i < r->growth->nret; i++) {
                const struct lt_retention *rt = &r->growth->ret[i];
                const struct lt_timer_site *s = rt->site;
                double kept = rt->fit.slope * (double)rt->live;
                if (s->node_own || kept <= (double)b->max_growth)
                        continue;
                fprintf(out, "%s: leak at %s", path,
                        lt_timer_where(where, sizeof(where), r, s, false));
                fprintf(out,
                        ": %" PRId64 " live %s timer%s, %s about %s more with each (R\xc2\xb2 "
                        "%.2f)",
                        rt->live, lt_timer_kind_name(s->kind), rt->live == 1 ? "" : "s",
                        strcmp(rt->against, "js_heap_used") ? "live malloc and mapped memory"
                                                            : "the JS heap",
                        lt_signed_bytes(k, sizeof(k), rt->fit.slope) + 1 /* past the '+' */,
                        rt->fit.r2);
                /* Sites that rose in step: kept by them all, said once. */
                if (rt->nin_step)
                        fprintf(out, ", in step with %" PRId64 " of %s", rt->in_step[0]->live,
                                lt_timer_where(where, sizeof(where), r, rt->in_step[0], false));
                if (rt->nin_step > 1)
                        fprintf(out, " and the timers of %zu more site%s", rt->nin_step - 1,
                                rt->nin_step == 2 ? "" : "s");
                fprintf(out, ": %s kept%s\n", lt_human_bytes(live, sizeof(live), (int64_t)kept),
                        rt->nin_step ? " between them" : "");
                failed++;
        }
        /* Repeating timers made steadily and never cleared (growth.h): the
         * classic leak of a server, a setInterval per request, whatever its
         * closure holds (a site that keeps memory is said above). Unless
         * --max-live-timers, which then bounds the timers instead. */
        for (size_t i = 0; b->growth && b->max_timers < 0 && r->growth && i < r->growth->ntleak;
             i++) {
                const struct lt_timer_leak *tl = &r->growth->tleak[i];
                const struct lt_timer_site *s = tl->site;
                const struct lt_retention *rt = lt_retention_of(r->growth, s);
                if (rt && !rt->site->node_own &&
                    rt->fit.slope * (double)rt->live > (double)b->max_growth)
                        continue; /* said above */
                fprintf(out, "%s: leak at %s", path,
                        lt_timer_where(where, sizeof(where), r, s, false));
                fprintf(out,
                        ": %" PRId64 " live %s timers repeating every %.0f ms, made steadily "
                        "and never cleared (from %" PRId64 ", +%.0f a minute over %u ticks)\n",
                        tl->live, lt_timer_kind_name(s->kind), (double)s->interval_ns / 1e6,
                        tl->first, tl->per_min, tl->points);
                failed++;
        }
        const struct lt_timers *t = r->timers;
        /* node's own timers (its http server's connection check) are not the
         * program's to clear: not counted. */
        int64_t timers = t ? t->live - t->live_node_own : 0;
        if (b->max_timers >= 0 && t && timers > b->max_timers) {
                fprintf(out,
                        "%s: %" PRId64 " live timer%s, more than --max-live-timers %" PRId64 "\n",
                        path, timers, timers == 1 ? "" : "s", b->max_timers);
                for (size_t i = 0; i < t->nsites; i++) {
                        const struct lt_timer_site *s = t->sites[i];
                        if (s->node_own)
                                continue;
                        fprintf(out, "%s: %" PRId64 " live %s timer%s at %s", path, s->live,
                                lt_timer_kind_name(s->kind), s->live == 1 ? "" : "s",
                                lt_timer_where(where, sizeof(where), r, s, false));
                        if (s->repeating)
                                fprintf(out, ", repeating every %.0f ms",
                                        (double)s->interval_ns / 1e6);
                        putc('\n', out);
                }
                failed++;
        }
        if (b->max_live >= 0 && r->live_bytes > b->max_live) {
                fprintf(out, "%s: %s live, more than --max-live %" PRId64 "%s\n", path,
                        lt_human_bytes(live, sizeof(live), r->live_bytes), b->max_live, est);
                failed++;
        }
        /* What the tracer could not record may hold a leak: not passed. */
        if (!failed) {
                static const int lossy[] = {LT_DROP_FILE_FULL, LT_DROP_LIVE_FULL,
                                            LT_DROP_STACKS_FULL, LT_DROP_MAPPINGS_FULL,
                                            LT_DROP_TIMERS_FULL};
                const struct lt_header *hd = &r->trace->hdr;
                for (size_t i = 0; i < sizeof(lossy) / sizeof(*lossy); i++) {
                        int k = lossy[i];
                        if (!hd->drops[k] || (k == LT_DROP_TIMERS_FULL && b->max_timers < 0))
                                continue;
                        fprintf(out,
                                "%s: cannot pass: %" PRIu64 " %s (%s): what was lost may hold a "
                                "leak\n",
                                path, hd->drops[k], lt_drop_what(k), lt_drop_text(k));
                        *unjudged = 1;
                        return failed;
                }
        }
        /* A damaged file's history (figures no process reaches, points
         * after its end): what was left out may hold a leak. */
        const struct lt_history *dh = r->history;
        if (!failed && b->growth && dh && (dh->tl.damaged || dh->damaged)) {
                fprintf(out,
                        "%s: cannot pass: the history is damaged (%zu point%s of the timeline and "
                        "%zu site histor%s out of range, left out): what was lost may hold a leak\n",
                        path, dh->tl.damaged, dh->tl.damaged == 1 ? "" : "s", dh->damaged,
                        dh->damaged == 1 ? "y" : "ies");
                *unjudged = 1;
                return failed;
        }
        /* Sites that would be leaks but for growing at too few ticks: not
         * judged, so not passed. */
        size_t stepped = 0;
        const struct lt_place *big = NULL;
        for (size_t i = 0; b->growth && i < p->n; i++) {
                const struct lt_place *pl = &p->v[i];
                if (!pl->verdict.stepped || pl->verdict.growth_bytes <= b->max_growth ||
                    !gated(p, pl, b))
                        continue;
                stepped++;
                if (!big || pl->verdict.growth_bytes > big->verdict.growth_bytes)
                        big = pl;
        }
        if (stepped && !failed) {
                fprintf(out,
                        "%s: no verdict for %zu site%s that grew at fewer than %d ticks, the most "
                        "(%s) at %s: grown in a step or two and flat since, a cache that filled "
                        "looks the same as a leak; a load that goes on (or a faster tick, "
                        "LEAKTRACE_TICK_MS) tells them apart\n",
                        path, stepped, stepped == 1 ? "" : "s", LT_VERDICT_MIN_RISES,
                        lt_signed_bytes(g, sizeof(g), (double)big->verdict.growth_bytes),
                        big->where);
                *unjudged = 1;
                return failed;
        }
        const struct lt_history *h = r->history;
        if (b->growth && !lt_history_judged(r)) {
                /* Not "ok": a gate that cannot judge has not passed. */
                fprintf(out,
                        "%s: no verdict: the history is too short to judge growth (%zu point%s, "
                        "%d needed); record longer, or tick faster with LEAKTRACE_TICK_MS\n",
                        path, h->tl.n, h->tl.n == 1 ? "" : "s", LT_VERDICT_MIN_POINTS);
                *unjudged = 1;
                return failed;
        }
        if (!failed) {
                fprintf(out, "%s: ok: ", path);
                if (!lt_history_judged(r))
                        fprintf(out, "within the bounds given (the history is too short to judge "
                                     "growth: %zu point%s, %d needed)\n",
                                h->tl.n, h->tl.n == 1 ? "" : "s", LT_VERDICT_MIN_POINTS);
                else
                        ok_line(out, p, b);
        }
        return failed;
}

static int check_main(int argc, char **argv)
{
        struct bounds b = {.max_growth = 0, .max_timers = -1, .max_live = -1};
        struct lt_args a;
        int c, growth_given = 0;
        lt_args_init(&a, &lt_check_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0) {
                if (c == 'S') {
                        if (lt_report_opt(NULL, "check", "source-maps", a.val) < 0)
                                return 2;
                        continue;
                }
                if (c == 'a') {
                        b.all_code = 1;
                        continue;
                }
                growth_given |= c == 'g';
                if (lt_parse_count(a.val, c != 't',
                                c == 'g'   ? &b.max_growth
                                : c == 'l' ? &b.max_live
                                           : &b.max_timers) < 0) {
                        lt_usage_error("check", "%s wants a %s, not '%s'", a.name,
                                       c == 't' ? "number of timers"
                                                : "number of bytes (K, M, G allowed)",
                                       a.val);
                        return 2;
                }
        }
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (!a.noperands) {
                lt_usage_error("check", "no trace file given");
                return 2;
        }
        b.growth = growth_given || (b.max_timers < 0 && b.max_live < 0);
        char **paths;
        size_t n;
        int bad = lt_expand_trace_args(argv + 1, (size_t)a.noperands, &paths, &n) != 0;
        int failed = 0, unjudged = 0;
        for (size_t i = 0; i < n; i++) {
                struct lt_trace t;
                struct lt_report r;
                char why[512];
                if (lt_trace_load(paths[i], &t, why, sizeof(why)) < 0) {
                        fprintf(stderr, "leaktrace: %s: %s\n", paths[i], why);
                        bad = 1;
                        continue;
                }
                if (lt_report_build(&r, &t) < 0) {
                        fprintf(stderr, "leaktrace: %s: out of memory\n", paths[i]);
                        lt_trace_free(&t);
                        bad = 1;
                        continue;
                }
                struct lt_places p;
                if (lt_places_build(&r, &p) < 0) {
                        fprintf(stderr, "leaktrace: %s: out of memory\n", paths[i]);
                        lt_report_free(&r);
                        lt_trace_free(&t);
                        bad = 1;
                        continue;
                }
                failed += check_one(stdout, &r, &p, &b, &unjudged);
                lt_places_free(&p);
                lt_report_free(&r);
                lt_trace_free(&t);
        }
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        free(paths);
        fflush(stdout);
        return bad ? 2 : failed ? 1 : unjudged ? 3 : 0;
}

static const struct lt_cli_opt check_opts[] = {
    {'g', 0, "max-growth", "BYTES", LT_KIND_ANY, NULL,
     "growth of a leak site that is tolerated (default 0)"},
    {'t', 0, "max-live-timers", "N", LT_KIND_ANY, NULL,
     "fail when more than N timers are live at the end (OS timers, and node's JS timers "
     "but node's own), instead of failing on repeating timers made steadily and never "
     "cleared (default: no bound)"},
    {'l', 0, "max-live", "BYTES", LT_KIND_ANY, NULL,
     "fail when more than BYTES are live at the end (default: no bound)"},
    {'a', 0, "all-code", NULL, LT_KIND_ANY, NULL,
     "judge growth outside the program's code too (V8's heap, node's and the libraries' "
     "own memory)"},
    LT_SOURCE_MAPS_OPT,
    {0},
};

const struct lt_cli_cmd lt_check_cmd = {
    .name = "check",
    .operands = "FILE|DIR...",
    .summary = "for CI: exit 1 when a trace shows a leak beyond the bounds",
    .description =
        "For CI: fails when a trace shows a leak. What is judged is a place: the sites charged "
        "to one line of the program's code (the first frame of its own on their stacks; V8 "
        "reaches one line of JS through many stacks), their histories summed and judged as "
        "`leaktrace report` judges a site (leak, cache, transient or unclear). A place judged "
        "a leak fails the check unless it grew by at most --max-growth bytes over the history; "
        "so does a timer site whose live timers memory grows with (the growth summary's fit), "
        "when they keep more; and, unless --max-live-timers bounds the timers instead, a site "
        "of repeating timers (5 or more) made steadily over the run and never cleared, whatever "
        "they hold (a setInterval per request). Memory that no frame of the program's code holds (V8's heap, "
        "node's and the libraries' own) is judged only with --all-code, or when the program "
        "has no code of its own. Each failure is one line on stdout: the file, the place's "
        "file:line and function, its growth and what is live; a file that passes gets one line "
        "saying so. A history too short for any verdict (fewer than 5 ticks: a short run, or "
        "LEAKTRACE_TICK_MS too long for it) cannot pass a check of growth, nor can a place that "
        "grew as a leak does but at fewer than 3 ticks (a burst of load, then idle: a cache that "
        "filled looks the same), nor a trace that lost allocations (a full disk, a full table): "
        "it gets one line, and status 3 when nothing else failed. Growth is checked when "
        "--max-growth is given, or when no other bound is.\n\n"
        "BYTES may end in K, M or G (KiB, MiB, GiB).",
    .opts = check_opts,
    .operand_kind = LT_KIND_TRACE,
    .exit_status = "Exit status: 0 when no file fails, 1 when one does, 2 when a file cannot "
                   "be read or the command line is wrong, 3 when none fails but growth could "
                   "not be judged in one (its history too short, or a site's growth in too few ticks).",
    .main = check_main,
};
