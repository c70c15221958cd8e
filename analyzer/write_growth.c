/* The growth summary in the reports. See write_growth.h. */
#define _GNU_SOURCE
#include "write_growth.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "growth.h"
#include "json_escape.h"
#include "timers.h"
#include "write_history.h"
#include "writers.h"

bool lt_growth_leads(const struct lt_report *r)
{
        return r->growth && r->growth->node;
}

/* Whether series S is worth a line for people: one that was nothing at
 * both ends (no mappings, no timers) is not. */
static bool shown(const struct lt_growth_series *s)
{
        return s->known && (s->first || s->last);
}

/* "+512.3 MiB", "+200": the growth of series K. */
static const char *growth_str(char *buf, size_t len, enum lt_growth_kind k,
                              const struct lt_growth_series *s)
{
        int64_t d;
        if (__builtin_sub_overflow(s->last, s->first, &d))
                d = s->last > s->first ? INT64_MAX : INT64_MIN;
        if (lt_growth_is_count(k))
                snprintf(buf, len, "%+" PRId64, d);
        else
                lt_signed_bytes(buf, len, (double)d);
        return buf;
}

/* "+1.5 GiB/min", "+597/min", "+0.5/min"; "?" when unknown. */
static const char *rate_str(char *buf, size_t len, enum lt_growth_kind k, double per_min)
{
        char b[48];
        if (isnan(per_min))
                snprintf(buf, len, "?");
        else if (!lt_growth_is_count(k))
                snprintf(buf, len, "%s/min", lt_signed_bytes(b, sizeof(b), per_min));
        else if (fabs(per_min) < 10 && per_min != 0)
                snprintf(buf, len, "%+.1f/min", per_min);
        else
                snprintf(buf, len, "%+.0f/min", per_min);
        return buf;
}

/* "1.0 MiB", "512 bytes": what one timer retains. */
static const char *retained_str(char *buf, size_t len, double bytes)
{
        lt_signed_bytes(buf, len, bytes);
        if (buf[0] == '+')
                memmove(buf, buf + 1, strlen(buf));
        return buf;
}

/* Where the timers of retention R were made, for one line: a JS site's
 * first frame "function (file:line:column)", an OS site's as an
 * allocation site's. */
static const char *where_str(char *buf, size_t len, struct lt_report *r,
                             const struct lt_timer_site *s)
{
        if (s->kind != LT_TIMER_JS)
                return lt_site_where(buf, len, r, &s->stack);
        const struct lt_js_frame *f = s->njs_frames ? s->js_frames[0] : NULL;
        if (!f) {
                snprintf(buf, len, "(no frames recorded)");
                return buf;
        }
        const char *fn = f->function ? f->function : "??";
        if (f->file && f->line && f->column)
                snprintf(buf, len, "%s (%s:%u:%u)", fn, f->file, f->line, f->column);
        else if (f->file && f->line)
                snprintf(buf, len, "%s (%s:%u)", fn, f->file, f->line);
        else if (f->file)
                snprintf(buf, len, "%s (%s)", fn, f->file);
        else
                snprintf(buf, len, "%s", fn);
        return buf;
}

/* The sentence of retention RET of R, places written by PUT (plain, or a
 * code span in markdown). */
static void write_retention(FILE *out, struct lt_report *r, const struct lt_retention *ret,
                            void (*put)(FILE *, const char *))
{
        char b[48], where[512];
        if (ret->site->kind == LT_TIMER_JS) {
                fputs("The JS heap grows with the live timers of ", out);
        } else {
                fprintf(out, "Live malloc and mapped memory grow with the live %s timers of ",
                        lt_timer_kind_name(ret->site->kind));
        }
        put(out, where_str(where, sizeof(where), r, ret->site));
        /* Sites in step: at most three named. */
        size_t named = ret->nin_step < 3 ? ret->nin_step : 3;
        for (size_t i = 0; i < named; i++) {
                fputs(i == 0 ? ", which rose in step with those of " : i + 1 < named ? ", " : " and ",
                      out);
                put(out, where_str(where, sizeof(where), r, ret->in_step[i]));
        }
        if (ret->nin_step > named)
                fprintf(out, " and %zu more site%s", ret->nin_step - named,
                        ret->nin_step - named == 1 ? "" : "s");
        fprintf(out, ": about %s more with each live timer%s (R\xc2\xb2 %.2f over %u ticks)",
                retained_str(b, sizeof(b), ret->fit.slope), ret->nin_step ? " of the first" : "",
                ret->fit.r2, ret->fit.points);
        fputs(ret->nin_step ? "; which of them holds it, no fit can tell." : ".", out);
}

/* Whether timer site S has a retention sentence already, its own or one
 * it rose in step in: its timers' growth is said there. */
static bool retains(const struct lt_growth *g, const struct lt_timer_site *s)
{
        return lt_retention_of(g, s) != NULL;
}

/* The sentence of each timer leak of R's growth (growth.h) that has no
 * retention sentence, between LEAD and "\n", places written by PUT. */
static void write_timer_leaks(FILE *out, struct lt_report *r, const char *lead,
                              void (*put)(FILE *, const char *))
{
        const struct lt_growth *g = r->growth;
        char where[512];
        for (size_t i = 0; i < g->ntleak; i++) {
                const struct lt_timer_leak *t = &g->tleak[i];
                if (retains(g, t->site))
                        continue;
                fprintf(out,
                        "%sRepeating timers made steadily and never cleared: %" PRId64
                        " live %s timers at ",
                        lead, t->live, lt_timer_kind_name(t->site->kind));
                put(out, where_str(where, sizeof(where), r, t->site));
                fprintf(out, ", every %.0f ms, +%.0f a minute.\n",
                        (double)t->site->interval_ns / 1e6, t->per_min);
        }
}

static void put_plain(FILE *out, const char *s)
{
        fputs(s, out);
}

static void put_code(FILE *out, const char *s)
{
        lt_md_code(out, s, 0);
}

void lt_text_growth(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_growth *g = r->growth;
        if (!g)
                return;
        char a[64], b[64];
        if (!(g->span_s > 0)) {
                fputs("Where the growth went: no growth to tell, the history has one point (the "
                      "process ended within its first tick)\n",
                      out);
                return;
        }
        fprintf(out, "Where the growth went (%.1f s):\n", g->span_s);
        for (int k = 0; k < LT_GROWTH__COUNT; k++) {
                const struct lt_growth_series *s = &g->series[k];
                if (shown(s))
                        fprintf(out, "  %-16s %12s %16s\n", lt_growth_label(k),
                                growth_str(a, sizeof(a), k, s),
                                rate_str(b, sizeof(b), k, s->per_min));
        }
        size_t n = top && top < g->nret ? top : g->nret;
        for (size_t i = 0; i < n; i++) {
                fputs("  ", out);
                write_retention(out, r, &g->ret[i], put_plain);
                putc('\n', out);
        }
        if (n < g->nret)
                fprintf(out, "  ... and %zu more timer site%s (--top 0 shows all)\n", g->nret - n,
                        g->nret - n == 1 ? "" : "s");
        if (!g->nret && g->node)
                fputs("  No timer site's live count grew with the JS heap.\n", out);
        write_timer_leaks(out, r, "  ", put_plain);
}

static void json_double(FILE *out, const char *fmt, double v)
{
        if (isnan(v) || isinf(v))
                fputs("null", out);
        else
                fprintf(out, fmt, v);
}

int lt_json_growth(FILE *out, struct lt_report *r)
{
        const struct lt_growth *g = r->growth;
        if (!g) {
                fputs(",\"growth\":null", out);
                return 0;
        }
        fputs(",\"growth\":{\"span_s\":", out);
        json_double(out, "%.3f", g->span_s);
        fputs(",\"series\":[", out);
        const char *sep = "";
        for (int k = 0; k < LT_GROWTH__COUNT; k++) {
                const struct lt_growth_series *s = &g->series[k];
                if (!s->known)
                        continue;
                fprintf(out,
                        "%s{\"name\":\"%s\",\"unit\":\"%s\",\"first\":%" PRId64 ",\"last\":%" PRId64
                        ",\"per_minute\":",
                        sep, lt_growth_name(k), lt_growth_is_count(k) ? "count" : "bytes", s->first,
                        s->last);
                json_double(out, "%.1f", s->per_min);
                putc('}', out);
                sep = ",";
        }
        fputs("],\"retention\":[", out);
        for (size_t i = 0; i < g->nret; i++) {
                const struct lt_retention *ret = &g->ret[i];
                fprintf(out, "%s{\"kind\":\"%s\",", i ? "," : "",
                        lt_timer_kind_name(ret->site->kind));
                int err = lt_write_json_timer_frames(out, r, ret->site);
                if (err)
                        return err;
                fprintf(out, ",\"live\":%" PRId64 ",\"bytes_per_timer\":", ret->live);
                json_double(out, "%.1f", ret->fit.slope);
                fputs(",\"r2\":", out);
                json_double(out, "%.4f", ret->fit.r2);
                fprintf(out, ",\"points\":%u,\"against\":\"%s\",\"in_step_with\":[", ret->fit.points,
                        ret->against);
                for (size_t j = 0; j < ret->nin_step; j++) {
                        const struct lt_timer_site *o = ret->in_step[j];
                        fprintf(out, "%s{\"kind\":\"%s\",", j ? "," : "", lt_timer_kind_name(o->kind));
                        err = lt_write_json_timer_frames(out, r, o);
                        if (err)
                                return err;
                        fprintf(out, ",\"live\":%" PRId64 "}", o->live);
                }
                fputs("]}", out);
        }
        fputs("],\"timer_leaks\":[", out);
        for (size_t i = 0; i < g->ntleak; i++) {
                const struct lt_timer_leak *t = &g->tleak[i];
                fprintf(out, "%s{\"kind\":\"%s\",", i ? "," : "", lt_timer_kind_name(t->site->kind));
                int err = lt_write_json_timer_frames(out, r, t->site);
                if (err)
                        return err;
                fprintf(out,
                        ",\"live\":%" PRId64 ",\"first\":%" PRId64
                        ",\"interval_ns\":%" PRIu64 ",\"per_minute\":",
                        t->live, t->first, t->site->interval_ns);
                json_double(out, "%.1f", t->per_min);
                fprintf(out, ",\"points\":%u}", t->points);
        }
        fputs("]}", out);
        return 0;
}

void lt_md_growth(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_growth *g = r->growth;
        if (!g)
                return;
        char a[64], b[64];
        if (!(g->span_s > 0)) {
                fputs("\n**Where the growth went**: no growth to tell, the history has one point "
                      "(the process ended within its first tick).\n",
                      out);
                return;
        }
        fprintf(out, "\n**Where the growth went** (%.1f s):\n\n", g->span_s);
        fputs("| | growth | per minute |\n|---|--:|--:|\n", out);
        for (int k = 0; k < LT_GROWTH__COUNT; k++) {
                const struct lt_growth_series *s = &g->series[k];
                if (shown(s))
                        fprintf(out, "| %s | %s | %s |\n", lt_growth_label(k),
                                growth_str(a, sizeof(a), k, s),
                                rate_str(b, sizeof(b), k, s->per_min));
        }
        size_t n = top && top < g->nret ? top : g->nret;
        for (size_t i = 0; i < n; i++) {
                putc('\n', out);
                write_retention(out, r, &g->ret[i], put_code);
                putc('\n', out);
        }
        if (n < g->nret)
                fprintf(out, "\n%zu more timer site%s not shown (`--top 0` shows all).\n",
                        g->nret - n, g->nret - n == 1 ? "" : "s");
        if (!g->nret && g->node)
                fputs("\nNo timer site's live count grew with the JS heap.\n", out);
        write_timer_leaks(out, r, "\n", put_code);
}
