/* Verdicts and histories in the text and JSON reports. See write_history.h. */
#define _GNU_SOURCE
#include "write_history.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_escape.h"
#include "paths.h"
#include "places.h"
#include "timers.h"
#include "writers.h"

static const char *const axis_name[] = {
    [LT_AXIS_NONE] = NULL, [LT_AXIS_TIME] = "time", [LT_AXIS_ALLOCS] = "allocations"};

const char *lt_timer_where(char *buf, size_t len, struct lt_report *r,
                           const struct lt_timer_site *s, bool base)
{
        if (s->inherited) {
                snprintf(buf, len, "(inherited across exec)");
        } else if (s->kind == LT_TIMER_JS && s->njs_frames) {
                const struct lt_js_frame *f = s->js_frames[0];
                const char *file = f->file ? f->file : "?";
                const char *slash = base ? strrchr(file, '/') : NULL;
                snprintf(buf, len, "%s:%u:%u (%s)", slash ? slash + 1 : file, f->line, f->column,
                         f->function ? f->function : "?");
        } else {
                lt_site_where(buf, len, r, &s->stack);
        }
        return buf;
}

const char *lt_site_kind_name(const struct lt_site *s)
{
        return s->kind == LT_SITE_MAPPING ? "mapping" : "allocation";
}

int lt_history_judged(const struct lt_report *r)
{
        return r->history && r->history->tl.n >= LT_VERDICT_MIN_POINTS;
}

const char *lt_signed_bytes(char *buf, size_t len, double b)
{
        static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
        const char *sign = b > 0 ? "+" : b < 0 ? "-" : "";
        double v = fabs(b);
        int u = 0;
        while (v >= 1024 && u < 4) {
                v /= 1024;
                u++;
        }
        if (u)
                snprintf(buf, len, "%s%.1f %s", sign, v, unit[u]);
        else
                snprintf(buf, len, "%s%.0f %s", v < 0.5 ? "" : sign, v, unit[u]);
        return buf;
}

const char *lt_rate_str(char *buf, size_t len, double per_s)
{
        if (isnan(per_s)) {
                snprintf(buf, len, "?");
                return buf;
        }
        char b[48];
        snprintf(buf, len, "%s/min", lt_signed_bytes(b, sizeof(b), per_s * 60));
        return buf;
}

static bool prefixed(const char *s, const char *prefix)
{
        return !strncmp(s, prefix, strlen(prefix));
}

bool lt_frame_is_users(const char *file, unsigned line, const char *module, int code,
                       const char *gen_file)
{
        if (!file || !line || code == LT_CODE_V8)
                return false;
        /* node -e, a script on stdin, a worker's eval: the user's too. */
        if (code == LT_CODE_JS && (!strcmp(file, "[eval]") || !strcmp(file, "[stdin]") ||
                                   !strcmp(file, "[worker eval]")))
                return true;
        if (file[0] != '/' && !lt_has_scheme(file))
                return false; /* relative to a build directory: glibc's ./csu/... */
        if (code == LT_CODE_JS) {
                size_t n = strlen(file);
                return !prefixed(file, "node:") && !strstr(file, "/node_modules/") &&
                       !(gen_file && strstr(gen_file, "/node_modules/")) &&
                       !(n >= 18 && !strcmp(file + n - 18, "/node/leaktrace.js"));
        }
        /* Rust's standard library (its sources named /rustc/<commit>/...
         * in every build) and the crates cargo fetched are no more the
         * user's than libc or node_modules. */
        static const char *const system[] = {"/usr/include/", "/usr/src/", "/usr/lib", "/rustc/"};
        static const char *const system_mod[] = {"/lib/",     "/lib64/", "/usr/lib",  "/bin/",
                                                 "/usr/bin/", "/sbin/",  "/usr/sbin/"};
        for (size_t i = 0; i < sizeof(system) / sizeof(*system); i++)
                if (prefixed(file, system[i]))
                        return false;
        if (strstr(file, "/.cargo/registry/") || strstr(file, "/.cargo/git/"))
                return false;
        for (size_t i = 0; module && i < sizeof(system_mod) / sizeof(*system_mod); i++)
                if (prefixed(module, system_mod[i]))
                        return false;
        return true;
}

/* V8 at its own work: its heap's pages mapped and set up, its collectors'
 * and write barriers' tables, its compilers' code and their registries. A
 * block allocated under one of these frames is V8's, whichever JS line's
 * allocation made the heap grow or collect, or whichever function it
 * compiled again: a page serves every object on it, and a compiled
 * function's code is no object of the program's. Only Buffers' and
 * ArrayBuffers' contents, allocated under the JS line that made them, are
 * the program's (their frames are node's allocator's, no prefix here).
 * (Names of node 20's V8; a frame of another version that none matches is
 * charged to the user's frame, as before.) */
static bool heap_machinery(const char *fn)
{
        static const char *const prefixes[] = {"v8::internal::Heap::CollectGarbage",
                                               "v8::internal::Heap::PerformGarbageCollection",
                                               "v8::internal::Heap::CollectAllGarbage",
                                               "v8::internal::Heap::StartIncrementalMarking",
                                               "v8::internal::Heap::FinalizeIncrementalMarking",
                                               "v8::internal::Heap::Scavenge",
                                               "v8::internal::Heap::MarkCompact",
                                               "v8::internal::Heap::EnsureSweepingCompleted",
                                               "v8::internal::Heap::InsertIntoRememberedSet",
                                               "v8::internal::Heap_",
                                               "v8::internal::MemoryAllocator::",
                                               "v8::internal::MarkCompactCollector::",
                                               "v8::internal::MinorMarkCompactCollector::",
                                               "v8::internal::ScavengerCollector::",
                                               "v8::internal::Scavenger::",
                                               "v8::internal::Sweeper::",
                                               "v8::internal::ConcurrentMarking::",
                                               "v8::internal::IncrementalMarking::",
                                               "v8::internal::MarkingBarrier::",
                                               "v8::internal::WriteBarrier::",
                                               "v8::internal::RememberedSet",
                                               "v8::internal::SlotSet",
                                               "v8::internal::TypedSlotSet",
                                               "v8::internal::SemiSpace::",
                                               "v8::internal::SemiSpaceNewSpace::",
                                               "v8::internal::NewSpace::",
                                               "v8::internal::PagedNewSpace::",
                                               "v8::internal::PagedSpaceBase::Expand",
                                               "v8::internal::PagedSpace::Expand",
                                               "v8::internal::LargeObjectSpace::",
                                               "v8::internal::OldLargeObjectSpace::",
                                               "v8::internal::NewLargeObjectSpace::",
                                               "v8::internal::Evacuator::",
                                               "v8::internal::Page::",
                                               "v8::internal::MemoryChunk::",
                                               "v8::internal::CodeObjectRegistry::",
                                               "v8::internal::DependentCode::",
                                               "v8::internal::Compiler::",
                                               "v8::internal::compiler::",
                                               "v8::internal::maglev::",
                                               "v8::internal::baseline::",
                                               "v8::internal::TieringManager::",
                                               "v8::internal::OptimizingCompileDispatcher",
                                               "heap::base::"};
        for (size_t i = 0; fn && i < sizeof(prefixes) / sizeof(*prefixes); i++)
                if (prefixed(fn, prefixes[i]))
                        return true;
        return false;
}

int lt_site_charge(struct lt_report *r, const struct lt_site *s, struct lt_charge *c)
{
        memset(c, 0, sizeof(*c));
        struct lt_shown_frame *fr;
        unsigned n;
        if (lt_site_frames(r, s, &fr, &n) < 0)
                return -ENOMEM;
        for (unsigned i = 0; i < n && !c->users && !c->heap; i++) {
                const struct lt_frame_info *f = fr[i].info;
                const char *module = fr[i].mod >= 0 ? r->trace->mods[fr[i].mod].path : NULL;
                if (heap_machinery(f->function)) {
                        c->heap = true;
                } else if (lt_frame_is_users(f->file, f->line, module, f->code, f->gen_file)) {
                        c->users = true;
                        c->file = f->file;
                        c->line = f->line;
                        c->function = f->function;
                }
        }
        if (n) {
                c->inner = fr[0].info->function;
                c->inner_addr = fr[0].addr;
                c->inner_mod = fr[0].mod;
        }
        free(fr);
        return 0;
}

/* "file:line (function)", the file by its base name; "(anonymous)" as it
 * is, not in a second pair. */
static void put_where(char *buf, size_t len, const char *file, unsigned line, const char *fn)
{
        const char *base = strrchr(file, '/');
        fn = fn ? fn : "??";
        snprintf(buf, len, fn[0] == '(' ? "%s:%u %s" : "%s:%u (%s)", base ? base + 1 : file, line,
                 fn);
}

const char *lt_site_where(char *buf, size_t len, struct lt_report *r, const struct lt_site *s)
{
        struct lt_charge c;
        if (lt_site_charge(r, s, &c) < 0)
                memset(&c, 0, sizeof(c));
        return lt_charged_where(buf, len, r, s, &c);
}

const char *lt_charged_where(char *buf, size_t len, struct lt_report *r, const struct lt_site *s,
                             const struct lt_charge *c)
{
        if (!s->nframes) {
                snprintf(buf, len, "(no frames recorded)");
                return buf;
        }
        if (c->users) {
                put_where(buf, len, c->file, c->line, c->function);
                return buf;
        }
        uint64_t addr = lt_site_addr(s, 0);
        int mod = lt_site_module(s, 0);
        const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, true);
        if (!info) {
                snprintf(buf, len, "?");
                return buf;
        }
        /* The first frame shown, past inlined wrappers; the first with a
         * line if that one has none (an inlined frame usually has). */
        const struct lt_frame_info *f =
            &info->frames[s->first_skip < info->nframes ? s->first_skip : info->nframes - 1];
        if (f->file && f->line)
                put_where(buf, len, f->file, f->line, f->function);
        else if (f->function)
                snprintf(buf, len, "%s", f->function);
        else if (mod >= 0)
                snprintf(buf, len, "%s+0x%" PRIx64,
                         strrchr(r->trace->mods[mod].path, '/')
                             ? strrchr(r->trace->mods[mod].path, '/') + 1
                             : r->trace->mods[mod].path,
                         addr - r->trace->mods[mod].bias);
        else
                snprintf(buf, len, "0x%" PRIx64, addr);
        return buf;
}

static void json_double(FILE *out, const char *fmt, double v)
{
        if (isnan(v) || isinf(v))
                fputs("null", out);
        else
                fprintf(out, fmt, v);
}

void lt_json_verdict(FILE *out, const struct lt_report *r, const struct lt_verdict *v)
{
        fprintf(out, ",\"verdict\":\"%s\",\"reason\":", lt_verdict_name(v->kind));
        lt_json_string(out, v->reason);
        if (r->history->tl.n)
                fprintf(out, ",\"growth_bytes\":%" PRId64, v->growth_bytes);
        else
                fputs(",\"growth_bytes\":null", out);
        fputs(",\"growth_bytes_per_s\":", out);
        json_double(out, "%.3f", v->growth_per_s);
        fputs(",\"growth_bytes_per_1k_allocations\":", out);
        json_double(out, "%.3f", v->growth_per_kalloc);
        fputs(",\"fit_r2\":", out);
        json_double(out, "%.4f", v->r2);
        fputs(",\"fit_axis\":", out);
        lt_json_string(out, axis_name[v->fit_axis]);
        fprintf(out, ",\"points\":%u", v->points);
}

void lt_json_site_history(FILE *out, const struct lt_report *r, const struct lt_site *s)
{
        fprintf(out, ",\"kind\":\"%s\"", lt_site_kind_name(s));
        const struct lt_site_history *h = s->hist;
        if (!h)
                return;
        const struct lt_timeline *tl = &r->history->tl;
        lt_json_verdict(out, r, &h->verdict);
        fputs(",\"history\":[", out);
        for (size_t i = 0; i < tl->n; i++)
                fprintf(out, "%s{\"t\":%.3f,\"bytes\":%" PRId64 ",\"blocks\":%" PRId64 "}",
                        i ? "," : "", tl->t[i], h->bytes[i], h->blocks[i]);
        putc(']', out);
}

void lt_json_process_history(FILE *out, const struct lt_report *r)
{
        const struct lt_trace *t = r->trace;
        const struct lt_history *h = r->history;
        const struct lt_timeline *tl = &h->tl;
        fputs(",\"timeline\":[", out);
        for (size_t i = 0; i < tl->n; i++) {
                const struct lt_tick_rec *k = &tl->ticks[i];
                fprintf(out,
                        "%s{\"t\":%.3f,\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                        ",\"rss\":%" PRIu64 ",\"allocations\":%" PRIu64 ",\"mapped_bytes\":%" PRId64
                        ",\"timers_live\":%" PRIu32 ",\"snapshot\":",
                        i ? "," : "", tl->t[i], k->live_bytes, k->live_blocks, k->rss, k->allocs,
                        k->mapped_bytes, k->timers_live);
                lt_json_string(out, lt_snapshot_name(t, k->snapshot));
                putc('}', out);
        }
        fputs("],\"snapshots\":[", out);
        for (uint64_t i = 0; i < t->nsnaps; i++) {
                const struct lt_snapshot_rec *s = &t->snaps[i];
                fprintf(out, "%s{\"name\":", i ? "," : "");
                lt_json_string(out, s->name);
                fprintf(out,
                        ",\"t\":%.3f,\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                        ",\"allocations\":%" PRIu64 ",\"rss\":%" PRIu64 "}",
                        lt_trace_seconds(t, s->time_ns), s->live_bytes, s->live_blocks, s->allocs,
                        s->rss);
        }
        fputs("],\"verdicts\":{", out);
        for (int k = 0; k < LT_VERDICT__COUNT; k++)
                fprintf(out, "%s\"%s\":%zu", k ? "," : "", lt_verdict_name(k), h->verdicts[k]);
        fprintf(out,
                ",\"points\":%zu,\"span_s\":%.3f,\"tick_ms\":%" PRIu32
                ",\"estimated\":%s,\"judged\":%s",
                tl->n, tl->n ? tl->t[tl->n - 1] - tl->t[0] : 0.0, t->hdr.history.tick_ms,
                t->hdr.sample_bytes ? "true" : "false", lt_history_judged(r) ? "true" : "false");
        fputs(",\"note\":", out);
        if (!tl->n)
                fputs("\"no timeline in this trace\"", out);
        else if (tl->n < LT_VERDICT_MIN_POINTS)
                fprintf(out, "\"history too short: %zu point%s, %d needed\"", tl->n,
                        tl->n == 1 ? "" : "s", LT_VERDICT_MIN_POINTS);
        else if (tl->recent_only)
                fputs("\"read while the history was being thinned: recent points only\"", out);
        else
                fputs("null", out);
        fputs("}", out);
}

int lt_text_verdicts(FILE *out, struct lt_report *r)
{
        const struct lt_history *h = r->history;
        const struct lt_timeline *tl = &h->tl;
        const struct lt_trace *t = r->trace;
        if (!tl->n) {
                fputs("verdicts: none: no timeline in this trace\n", out);
                return 0;
        }
        double span = tl->t[tl->n - 1] - tl->t[0];
        if (tl->n < LT_VERDICT_MIN_POINTS) {
                fprintf(out,
                        "verdicts: none: the history is too short (%zu point%s over %.1f s, %d "
                        "needed); record longer, or tick faster with LEAKTRACE_TICK_MS\n",
                        tl->n, tl->n == 1 ? "" : "s", span, LT_VERDICT_MIN_POINTS);
                return 0;
        }
        /* Leaks outside the program's code (V8's own, node's, a library's),
         * which check judges only with --all-code, told apart when the
         * program has code of its own. */
        size_t leaks = h->verdicts[LT_VERDICT_LEAK], users = 0, any_users = 0;
        for (size_t i = 0; i < r->nsites; i++) {
                const struct lt_site *s = r->sites[i];
                struct lt_charge c;
                if (lt_site_charge(r, s, &c) < 0)
                        return -ENOMEM;
                any_users += c.users;
                users += c.users && s->hist && s->hist->verdict.kind == LT_VERDICT_LEAK;
        }
        fprintf(out, "verdicts: %zu site%s leak%s", leaks, leaks == 1 ? "" : "s",
                leaks == 1 ? "s" : "");
        if (any_users && leaks > users)
                fprintf(out, " (%zu outside the program's code: V8's, node's, the libraries')",
                        leaks - users);
        fprintf(out, ", %zu cache%s, %zu transient, %zu unclear", h->verdicts[LT_VERDICT_CACHE],
                h->verdicts[LT_VERDICT_CACHE] == 1 ? "" : "s", h->verdicts[LT_VERDICT_TRANSIENT],
                h->verdicts[LT_VERDICT_UNCLEAR]);
        fprintf(out, " (history: %zu point%s over %.1f s, tick %" PRIu32 " ms%s)\n", tl->n,
                tl->n == 1 ? "" : "s", span,
                t->hdr.history.tick_ms,
                t->hdr.sample_bytes ? "; sampled: growths are estimates" : "");
        if (tl->recent_only)
                fputs("note: read while the history was being thinned: only its recent points "
                      "were used\n",
                      out);
        /* A site of the program's code judged a leak alone may not be one
         * with the other stacks of its line summed, as check judges them
         * (a buffer that one stack kept, another freed): said, so that a
         * passing check does not contradict the count above. */
        struct lt_places p;
        if (users && lt_places_build(r, &p) == 0) {
                size_t lines = 0;
                for (size_t i = 0; i < p.n; i++)
                        lines += p.v[i].users && p.v[i].verdict.kind == LT_VERDICT_LEAK;
                if (lines != users)
                        fprintf(out,
                                "note: by the line of the program's code that holds them, its "
                                "stacks summed (as check judges), %zu line%s leak%s\n",
                                lines, lines == 1 ? "" : "s", lines == 1 ? "s" : "");
                lt_places_free(&p);
        }
        return 0;
}

void lt_text_site_verdict(FILE *out, const struct lt_report *r, const struct lt_site *s)
{
        if (!s->hist || !lt_history_judged(r))
                return;
        const struct lt_verdict *v = &s->hist->verdict;
        char a[64], b[64];
        fprintf(out, "%s, %s", lt_verdict_name(v->kind),
                lt_rate_str(a, sizeof(a), v->growth_per_s));
        if (!isnan(v->growth_per_kalloc))
                fprintf(out, ", %s/1000 allocations",
                        lt_signed_bytes(b, sizeof(b), v->growth_per_kalloc));
        if (!isnan(v->r2))
                fprintf(out, ", R\xc2\xb2 %.2f", v->r2);
        fputs(": ", out);
}

void lt_text_site_why(FILE *out, const struct lt_report *r, const struct lt_site *s)
{
        if (!s->hist || !lt_history_judged(r))
                return;
        fprintf(out, "  why: %s\n", s->hist->verdict.reason);
}
