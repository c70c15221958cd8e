/* The JSON report, for programs: a fixed schema whose fields are only ever
 * added, never renamed or reordered. One line, no spaces; pipe it through
 * `jq .` to read it. */
#define _GNU_SOURCE
#include "writers.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "json_escape.h"
#include "places.h"
#include "timers.h"
#include "write_across.h"
#include "write_growth.h"
#include "write_history.h"

static const char *const drop_name[LT_DROP__COUNT] = {
#define LT_X_NAME(K, text, what) [LT_DROP_##K] = #K,
    LT_DROPS(LT_X_NAME)
#undef LT_X_NAME
};

/* What was not recorded, when anything was. A stack cut at the configured
 * depth, or cut short, is recorded (shortened), not dropped, as the
 * preload's LT_F_DROPPED also says: the text report mentions it, the JSON
 * does not. */
static int dropped(const struct lt_header *h, int k)
{
        return k != LT_DROP_TRUNCATED_STACKS && k != LT_DROP_SHORT_STACKS && h->drops[k];
}

static void write_drops(FILE *out, const struct lt_header *h)
{
        int any = 0;
        for (int k = 0; k < LT_DROP__COUNT; k++)
                any |= dropped(h, k);
        if (!any)
                return;
        fputs(",\"drops\":{", out);
        const char *sep = "";
        for (int k = 0; k < LT_DROP__COUNT; k++) {
                if (!dropped(h, k))
                        continue;
                fprintf(out, "%s\"", sep);
                for (const char *p = drop_name[k]; *p; p++)
                        putc(tolower((unsigned char)*p), out);
                fprintf(out, "\":%" PRIu64, h->drops[k]);
                sep = ",";
        }
        putc('}', out);
}

/* Where node ran a frame that a source map put elsewhere. */
static void write_generated(FILE *out, const char *file, unsigned line, unsigned column)
{
        fputs(",\"generated\":{\"file\":", out);
        lt_json_string(out, file);
        fprintf(out, ",\"line\":%u,\"column\":%u}", line, column);
}

static int write_frames(FILE *out, struct lt_report *r, const struct lt_site *s)
{
        const char *sep = "";
        fputs("\"frames\":[", out);
        for (unsigned i = 0; i < s->nframes; i++) {
                uint64_t addr = lt_site_addr(s, i);
                int mod = lt_site_module(s, i);
                const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, true);
                if (!info)
                        return -ENOMEM;
                for (unsigned j = i ? 0 : s->first_skip; j < info->nframes; j++) {
                        const struct lt_frame_info *f = &info->frames[j];
                        fprintf(out, "%s{\"function\":", sep);
                        lt_json_string(out, f->function);
                        fputs(",\"file\":", out);
                        lt_json_string(out, f->file);
                        if (f->line)
                                fprintf(out, ",\"line\":%u", f->line);
                        else
                                fputs(",\"line\":null", out);
                        if (f->code == LT_CODE_JS && f->column)
                                fprintf(out, ",\"column\":%u", f->column);
                        else if (f->code == LT_CODE_JS)
                                fputs(",\"column\":null", out);
                        if (f->gen_file)
                                write_generated(out, f->gen_file, f->gen_line, f->gen_column);
                        fputs(",\"module\":", out);
                        lt_json_string(out, mod >= 0 ? r->trace->mods[mod].path : NULL);
                        fprintf(out, ",\"address\":\"0x%" PRIx64 "\"", addr);
                        if (f->inlined)
                                fputs(",\"inlined\":true", out);
                        if (f->code == LT_CODE_JS) {
                                fputs(",\"js\":true,\"tier\":", out);
                                lt_json_string(out, lt_js_tier_name(f->tier));
                        } else if (f->code == LT_CODE_V8) {
                                fputs(",\"v8\":true", out);
                        }
                        putc('}', out);
                        sep = ",";
                }
        }
        putc(']', out);
        /* the outer frames were not recorded: the stack starts mid-way */
        if (s->truncated)
                fputs(",\"stack_cut\":\"depth\"", out);
        else if (s->cut_short)
                fputs(",\"stack_cut\":\"walk\"", out);
        return 0;
}

int lt_write_json_frames(FILE *out, struct lt_report *r, const struct lt_site *s)
{
        return write_frames(out, r, s);
}

static void write_js_frame(FILE *out, const struct lt_js_frame *f)
{
        fputs("{\"function\":", out);
        lt_json_string(out, f->function);
        fputs(",\"file\":", out);
        lt_json_string(out, f->file);
        fputs(",\"line\":", out);
        if (f->line)
                fprintf(out, "%u", f->line);
        else
                fputs("null", out);
        fputs(",\"column\":", out);
        if (f->column)
                fprintf(out, "%u", f->column);
        else
                fputs("null", out);
        if (f->gen_file)
                write_generated(out, f->gen_file, f->gen_line, f->gen_column);
        putc('}', out);
}

void lt_write_json_js_frames(FILE *out, const struct lt_timer_site *s)
{
        fputs("\"frames\":[", out);
        for (unsigned j = 0; j < s->njs_frames; j++) {
                if (j)
                        putc(',', out);
                write_js_frame(out, s->js_frames[j]);
        }
        putc(']', out);
}

int lt_write_json_timer_frames(FILE *out, struct lt_report *r, const struct lt_timer_site *s)
{
        if (s->kind != LT_TIMER_JS)
                return write_frames(out, r, &s->stack);
        lt_write_json_js_frames(out, s);
        return 0;
}

/* The "timers" member: the creation sites with live timers, in report
 * order (timers.h). OS timers' frames are an allocation site's; JS frames
 * have function, file, line and column. */
static int write_timers(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_timers *t = r->timers;
        size_t n = top && top < t->nsites ? top : t->nsites;
        fputs(",\"timers\":[", out);
        for (size_t i = 0; i < n; i++) {
                const struct lt_timer_site *s = t->sites[i];
                fprintf(out,
                        "%s{\"kind\":\"%s\",\"live\":%" PRId64 ",\"created\":%" PRIu64
                        ",\"repeating\":%s,\"interval_ns\":%" PRIu64 "%s,\"oldest_age_s\":",
                        i ? "," : "", lt_timer_kind_name(s->kind), s->live, s->created,
                        s->repeating ? "true" : "false", s->interval_ns,
                        /* never armed, or disarmed: a descriptor kept for nothing */
                        s->armed ? "" : ",\"armed\":false");
                if (s->oldest_age_s >= 0)
                        fprintf(out, "%.3f", s->oldest_age_s);
                else
                        fputs("null", out);
                if (s->inherited)
                        fputs(",\"inherited\":true", out);
                putc(',', out);
                int err = lt_write_json_timer_frames(out, r, s);
                if (err)
                        return err;
                putc('}', out);
        }
        putc(']', out);
        return 0;
}

struct site_at {
        const struct lt_site *site;
        size_t index;
};

static int site_at_cmp(const void *a, const void *b)
{
        const struct lt_site *x = ((const struct site_at *)a)->site,
                             *y = ((const struct site_at *)b)->site;
        return x < y ? -1 : x > y;
}

/* The "places" member (places.h): the sites grouped by the line of the
 * user's code they are charged to, as `check` judges them, leaks first.
 * Each names its sites by their index in "sites" (those among the top
 * shown) and counts them all. */
static int write_places(FILE *out, struct lt_report *r, size_t nshown, unsigned top)
{
        struct lt_places p;
        struct site_at *at = malloc((nshown ? nshown : 1) * sizeof(*at));
        if (!at || lt_places_build(r, &p) < 0) {
                free(at);
                return -ENOMEM;
        }
        for (size_t i = 0; i < nshown; i++)
                at[i] = (struct site_at){ r->sites[i], i };
        qsort(at, nshown, sizeof(*at), site_at_cmp);
        size_t n = top && top < p.n ? top : p.n;
        fputs(",\"places\":[", out);
        for (size_t i = 0; i < n; i++) {
                const struct lt_place *pl = &p.v[i];
                fputs(i ? ",{\"where\":" : "{\"where\":", out);
                lt_json_string(out, pl->where);
                fprintf(out,
                        ",\"users_code\":%s,\"checked\":%s,\"heap\":%s,\"kind\":\"%s\","
                        "\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                        ",\"stacks\":%zu,\"site_indexes\":[",
                        pl->users ? "true" : "false", pl->users || !p.any_users ? "true" : "false",
                        pl->heap ? "true" : "false",
                        pl->kind == LT_SITE_MAPPING ? "mapping" : "allocation", pl->live_bytes,
                        pl->live_blocks, pl->nsites);
                const char *sep = "";
                for (size_t k = 0; k < pl->nsites; k++) {
                        struct site_at key = { pl->sites[k], 0 };
                        const struct site_at *hit = bsearch(&key, at, nshown, sizeof(*at), site_at_cmp);
                        if (hit) {
                                fprintf(out, "%s%zu", sep, hit->index);
                                sep = ",";
                        }
                }
                putc(']', out);
                lt_json_verdict(out, r, &pl->verdict);
                putc('}', out);
        }
        putc(']', out);
        lt_places_free(&p);
        free(at);
        return 0;
}

/* The members of one process's object, without its braces. */
static int write_members(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_trace *t = r->trace;
        const struct lt_header *h = &t->hdr;
        fprintf(out, "\"process\":{\"pid\":%" PRIu32 ",\"command\":[", h->pid);
        for (unsigned i = 0; i < t->argc; i++) {
                if (i)
                        putc(',', out);
                lt_json_string(out, t->argv[i]);
        }
        fprintf(out, "],\"complete\":%s", lt_trace_complete(t) ? "true" : "false");
        char ended[96];
        fputs(",\"ended\":", out);
        lt_json_string(out, lt_ending(h, ended, sizeof(ended)));
        /* Only in files of `leaktrace attach`: t of the attach is 0. */
        if (h->flags & LT_F_ATTACHED)
                fputs(",\"attached\":true", out);
        /* Only when recording started late (ctl start after --paused) or was
         * stopped (ctl stop): seconds since the process's start. */
        const struct lt_history_state *hs = &h->history;
        if (hs->start_tick_ns > h->start_ns + (uint64_t)hs->tick_ms * 1000000u)
                fprintf(out, ",\"recording_started_s\":%.3f",
                        (double)(hs->start_tick_ns - h->start_ns) / 1e9);
        if (hs->stop_tick_ns > h->start_ns)
                fprintf(out, ",\"recording_stopped_s\":%.3f",
                        (double)(hs->stop_tick_ns - h->start_ns) / 1e9);
        /* Stopped and started again: how often, for how long in all. */
        if (hs->restarts)
                fprintf(out, ",\"recording_gaps\":{\"count\":%" PRIu64 ",\"seconds\":%.3f}",
                        hs->restarts, (double)hs->stopped_ns / 1e9);
        fputs("},", out);
        fprintf(out,
                "\"summary\":{\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                ",\"allocations\":%" PRIu64 ",\"frees\":%" PRId64 ",\"peak_live_bytes\":%" PRId64,
                r->live_bytes, r->live_blocks, r->allocations, r->frees, r->peak_live_bytes);
        write_drops(out, h);
        fputs("},\"sites\":[", out);
        size_t n = top && top < r->nsites ? top : r->nsites;
        for (size_t i = 0; i < n; i++) {
                const struct lt_site *s = r->sites[i];
                fprintf(out,
                        "%s{\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64
                        ",\"allocations\":%" PRIu64 ",\"bytes_allocated\":%" PRIu64 ",",
                        i ? "," : "", s->live_bytes, s->live_blocks, s->allocs, s->bytes_allocated);
                int err = write_frames(out, r, s);
                if (err)
                        return err;
                lt_json_site_history(out, r, s);
                putc('}', out);
        }
        putc(']', out);
        int err = write_timers(out, r, top);
        if (!err)
                lt_json_process_history(out, r);
        if (!err)
                err = lt_json_growth(out, r);
        if (!err && lt_history_judged(r))
                err = write_places(out, r, n, top);
        else if (!err)
                fputs(",\"places\":[]", out); /* a history too short to judge them */
        return err;
}

int lt_write_json(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        int err = 0;
        fputs("{\"tool\":\"leaktrace\",\"version\":1,", out);
        if (n == 1) {
                err = write_members(out, reports[0], top);
        } else {
                fputs("\"processes\":[", out);
                for (size_t i = 0; i < n && !err; i++) {
                        fputs(i ? ",{" : "{", out);
                        err = write_members(out, reports[i], top);
                        putc('}', out);
                }
                putc(']', out);
                if (!err)
                        err = lt_json_across(out, reports, n, top);
        }
        fputs("}\n", out);
        if (err)
                return err;
        return lt_out_error(out);
}
