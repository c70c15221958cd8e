/* The text report: for a person at a terminal or in a code review. The
 * process, whether its figures are final, the summary, then each site with
 * its frames, `#0` being the code that allocated. */
#define _GNU_SOURCE
#include "writers.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leaktrace/node_exe.h"
#include "timers.h"
#include "write_across.h"
#include "write_growth.h"
#include "places.h"
#include "write_history.h"

static const char *const drop_text[LT_DROP__COUNT] = {
#define LT_X_TEXT(K, text, what) [LT_DROP_##K] = text,
    LT_DROPS(LT_X_TEXT)
#undef LT_X_TEXT
};

static const char *const drop_what[LT_DROP__COUNT] = {
#define LT_X_WHAT(K, text, what) [LT_DROP_##K] = what,
    LT_DROPS(LT_X_WHAT)
#undef LT_X_WHAT
};

const char *lt_drop_text(int kind)
{
        return kind >= 0 && kind < LT_DROP__COUNT ? drop_text[kind] : "?";
}

const char *lt_drop_what(int kind)
{
        return kind >= 0 && kind < LT_DROP__COUNT ? drop_what[kind] : "?";
}

const char *lt_human_bytes(char *buf, size_t len, int64_t bytes)
{
        static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = (double)bytes;
        int u = -1;
        while ((v >= 1024 || v <= -1024) && u < 5) {
                v /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, len, "%" PRId64 " bytes", bytes);
        else
                snprintf(buf, len, "%.1f %s (%" PRId64 " bytes)", v, unit[u], bytes);
        return buf;
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash && slash[1] ? slash + 1 : path;
}

static const char *plural(int64_t n)
{
        return n == 1 ? "" : "s";
}

/* An argument as a shell would need it to stay one line and one word:
 * bare when it can be, else in single quotes, control bytes as \xNN. */
static void write_arg(FILE *out, const char *a)
{
        size_t safe = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_-+=/.,:@%^");
        if (*a && !a[safe]) {
                fputs(a, out);
                return;
        }
        putc('\'', out);
        for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
                if (*p == '\'')
                        fputs("'\\''", out);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(out, "\\x%02x", *p);
                else
                        putc(*p, out);
        }
        putc('\'', out);
}

void lt_write_command(FILE *out, const struct lt_trace *t)
{
        if (!t->argc)
                write_arg(out, t->hdr.exe[0] ? t->hdr.exe : "(unknown command)");
        for (unsigned i = 0; i < t->argc; i++) {
                if (i)
                        putc(' ', out);
                write_arg(out, t->argv[i]);
        }
}

static const char *short_bytes(char *buf, size_t len, uint64_t bytes);

void lt_write_attach_note(FILE *out, const struct lt_trace *t, const char *lead)
{
        const struct lt_header *h = &t->hdr;
        if (!(h->flags & LT_F_ATTACHED))
                return;
        time_t at = (time_t)(h->start_ns / 1000000000ull);
        struct tm tm;
        char when[64] = "?";
        if (gmtime_r(&at, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        const char *exe = strrchr(h->exe, '/');
        exe = exe ? exe + 1 : h->exe;
        /* The JS module was started through node's inspector when its
         * state is beside the trace. */
        char state[4096];
        size_t n = t->path ? strlen(t->path) : 0;
        int js = n > 3 && n < sizeof(state) - 8 &&
                 snprintf(state, sizeof(state), "%.*s.js.json", (int)n - 3, t->path) > 0 &&
                 access(state, F_OK) == 0;
        fprintf(out,
                "%scovers only what was allocated after attach at %s: blocks allocated before "
                "are unknown, and their frees are not counted%s",
                lead, when,
                lt_is_node_exe(exe) && !js
                    ? "; JS timers were not followed (node's inspector was not open, or was on a "
                      "port of its choosing beside the program's own): they need node's inspector "
                      "on a known port (--inspect=127.0.0.1:9229) or a restart under `leaktrace "
                      "run --paused`"
                    : "");
}

/* The process's first line: pid, command, how it ended. */
static void write_process(FILE *out, const struct lt_report *r)
{
        const struct lt_trace *t = r->trace;
        const struct lt_header *h = &t->hdr;
        fprintf(out, "pid %" PRIu32 ": ", h->pid);
        lt_write_command(out, t);
        char sig[32];
        enum lt_end end = lt_trace_end(h);
        if ((h->flags & LT_F_ATTACHED) && (end == LT_END_STATUS || end == LT_END_EXITED)) {
                fputs(" (attached, exited while attached)\n", out);
                return;
        }
        switch (end) {
        case LT_END_DETACHED:
                fprintf(out, " (attached, then detached after %.1f s)\n",
                        h->end_ns > h->start_ns ? (double)(h->end_ns - h->start_ns) / 1e9 : 0.0);
                break;
        case LT_END_STATUS:
                fprintf(out, " (exited, status %" PRIu32 ")\n", h->exit_status);
                break;
        case LT_END_EXITED:
                fputs(" (exited)\n", out);
                break;
        case LT_END_EXEC:
                fputs(h->flags & LT_F_EXEC_UNTRACED
                          ? " (replaced by exec; the image after ran untraced: the environment "
                            "given to exec had no LD_PRELOAD)\n"
                          : " (replaced by exec)\n",
                      out);
                break;
        case LT_END_UNSEEN:
                fprintf(out, " (exited, status %" PRIu32 ", past the tracer's exit hooks)\n",
                        h->exit_status);
                break;
        case LT_END_SIGNALED:
                fprintf(out, " (killed by signal %" PRIu32 ", %s)\n", h->exit_status,
                        lt_signal_name((int)h->exit_status, sig, sizeof(sig)));
                break;
        case LT_END_RUNNING:
                fputs(" (still running)\n", out);
                break;
        case LT_END_UNCLEAN:
                fputs(" (did not exit cleanly)\n", out);
                break;
        }
}

/* What qualifies its figures, and the totals of malloc. */
static void write_summary(FILE *out, const struct lt_report *r)
{
        const struct lt_trace *t = r->trace;
        const struct lt_header *h = &t->hdr;
        switch (lt_trace_end(h)) {
        case LT_END_RUNNING:
                fputs("note: the process is still running: figures are as of its last update\n",
                      out);
                break;
        case LT_END_UNSEEN:
                fputs("note: the process exited by a way the tracer does not see (the exit system "
                      "call, or _exit called inside the C library, as daemon() does): figures are "
                      "as of its last update\n",
                      out);
                break;
        case LT_END_SIGNALED:
        case LT_END_UNCLEAN:
                fputs("note: the process did not exit cleanly (killed or crashed): figures are as "
                      "of its last moment\n",
                      out);
                break;
        default:
                break;
        }
        if (h->flags & LT_F_ATTACHED) {
                lt_write_attach_note(out, t, "note: attached: the report ");
                putc('\n', out);
        }
        if (h->sample_bytes)
                fprintf(out,
                        "note: sampled (one allocation per %" PRIu64 " bytes on average): "
                        "figures are estimates\n",
                        h->sample_bytes);
        if (h->flags & LT_F_FROZEN)
                fputs("note: recorded up to node's 'exit' event: the blocks node freed as it "
                      "tore its heap down after it still count as live\n",
                      out);
        if (h->flags & LT_F_FORK_CHILD)
                fprintf(out,
                        "note: a fork of pid %" PRIu32 ", with its parent's live blocks at the "
                        "fork\n",
                        h->fork_parent);
        if (h->history.start_tick_ns > h->start_ns + (uint64_t)h->history.tick_ms * 1000000u)
                fprintf(out,
                        "note: recording started %.1f s after the process (ctl start): the blocks "
                        "and timers made before are not counted\n",
                        (double)(h->history.start_tick_ns - h->start_ns) / 1e9);
        if (h->history.restarts)
                fprintf(out,
                        "note: recording was stopped and started again %" PRIu64 " time%s, for "
                        "%.1f s in all (ctl stop, ctl start): the blocks and timers made "
                        "meanwhile are not counted, the frees of those made before are\n",
                        h->history.restarts, h->history.restarts == 1 ? "" : "s",
                        (double)h->history.stopped_ns / 1e9);
        if (h->history.stop_tick_ns > h->start_ns && (h->flags & LT_F_ATTACHED))
                fprintf(out,
                        "note: recording stopped %.1f s after the attach (the detach, ctl stop, or "
                        "a seccomp filter): the blocks and timers made after are not counted, the "
                        "frees of those made before are\n",
                        (double)(h->history.stop_tick_ns - h->start_ns) / 1e9);
        else if (h->history.stop_tick_ns > h->start_ns)
                fprintf(out,
                        "note: recording stopped %.1f s after the process (ctl stop, or a seccomp "
                        "filter): the blocks and timers made after are not counted, the frees of "
                        "those made before are\n",
                        (double)(h->history.stop_tick_ns - h->start_ns) / 1e9);
        const struct lt_history *hist = r->history;
        if (hist && (hist->tl.damaged || hist->damaged))
                fprintf(out,
                        "note: the file is damaged: %zu point%s of the timeline and %zu site "
                        "histor%s out of range, left out\n",
                        hist->tl.damaged, hist->tl.damaged == 1 ? "" : "s", hist->damaged,
                        hist->damaged == 1 ? "y" : "ies");
        for (int k = 0; k < LT_DROP__COUNT; k++)
                if (h->drops[k])
                        fprintf(out, "note: %s; %s: %" PRIu64 "\n", drop_text[k], drop_what[k],
                                h->drops[k]);
        char a[64], b[64];
        if (h->history.tracer_bytes)
                fprintf(out, "tracer: %s of memory held by leaktrace itself in the process\n",
                        short_bytes(a, sizeof(a), h->history.tracer_bytes));
        if (r->js_module_blocks > 0)
                fprintf(out, "tracer: %s in %" PRId64 " blocks allocated by leaktrace's node module "
                        "(its own bookkeeping), left out of the sites\n",
                        short_bytes(a, sizeof(a), (uint64_t)r->js_module_bytes), r->js_module_blocks);
        fprintf(out,
                "live: %s in %" PRId64 " block%s; %" PRIu64 " allocation%s, %" PRId64
                " free%s; peak %s\n",
                lt_human_bytes(a, sizeof(a), r->live_bytes), r->live_blocks, plural(r->live_blocks),
                r->allocations, plural((int64_t)r->allocations), r->frees, plural(r->frees),
                lt_human_bytes(b, sizeof(b), r->peak_live_bytes));
        /* Memory mapped with mmap is in no figure above: said beside them,
         * or a JIT's 380 MiB of code would hide behind "live: 15 MiB". */
        if (h->totals.mapped_bytes > 0)
                fprintf(out, "mapped: %s of anonymous memory (mmap, not malloc); peak %s\n",
                        short_bytes(a, sizeof(a), (uint64_t)h->totals.mapped_bytes),
                        short_bytes(b, sizeof(b), (uint64_t)h->totals.peak_mapped_bytes));
}

/* Bytes without the exact figure, for totals that are only context. */
static const char *short_bytes(char *buf, size_t len, uint64_t bytes)
{
        lt_human_bytes(buf, len, (int64_t)bytes);
        char *paren = strstr(buf, " (");
        if (paren)
                *paren = '\0';
        return buf;
}

/* " (file:line:column)", as much of it as is known. */
static void write_where(FILE *out, const char *file, unsigned line, unsigned column)
{
        if (file && line && column)
                fprintf(out, " (%s:%u:%u)", file, line, column);
        else if (file && line)
                fprintf(out, " (%s:%u)", file, line);
        else if (file)
                fprintf(out, " (%s)", file);
}

static int write_frames(FILE *out, struct lt_report *r, const struct lt_site *s)
{
        unsigned shown = 0;
        for (unsigned i = 0; i < s->nframes; i++) {
                uint64_t addr = lt_site_addr(s, i);
                int mod = lt_site_module(s, i);
                const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, true);
                if (!info)
                        return -ENOMEM;
                const char *mname = mod >= 0 ? base_name(r->trace->mods[mod].path) : NULL;
                const char *open = mname && mname[0] != '[' ? "[" : "";
                const char *close = open[0] ? "]" : "";
                for (unsigned j = i ? 0 : s->first_skip; j < info->nframes; j++) {
                        const struct lt_frame_info *f = &info->frames[j];
                        fprintf(out, "  #%u ", shown++);
                        if (f->function)
                                fputs(f->function, out);
                        else
                                fprintf(out, "0x%" PRIx64, addr);
                        write_where(out, f->file, f->line, f->column);
                        if (mname)
                                fprintf(out, " %s%s%s", open, mname, close);
                        else if (f->code == LT_CODE_JS)
                                fputs(" [JS]", out);
                        else if (f->code == LT_CODE_V8)
                                fputs(" [V8]", out);
                        fputs(f->inlined ? " (inlined)\n" : "\n", out);
                }
        }
        if (!s->nframes)
                fputs("  (no frames recorded)\n", out);
        if (s->truncated)
                fputs("  ... (cut at LEAKTRACE_DEPTH)\n", out);
        if (s->cut_short)
                fputs("  ... (cut short: its outer frames could not be found)\n", out);
        return 0;
}

int lt_write_text_frames(FILE *out, struct lt_report *r, const struct lt_site *s)
{
        return write_frames(out, r, s);
}

void lt_write_text_js_frames(FILE *out, const struct lt_timer_site *s)
{
        for (unsigned j = 0; j < s->njs_frames; j++) {
                const struct lt_js_frame *f = s->js_frames[j];
                fprintf(out, "  #%u %s", j, f->function ? f->function : "??");
                write_where(out, f->file, f->line, f->column);
                putc('\n', out);
        }
}

/* "every 100 ms", "every 2.5 ms" */
static void write_interval(FILE *out, uint64_t ns)
{
        if (ns % 1000000 == 0)
                fprintf(out, "repeating every %" PRIu64 " ms", ns / 1000000);
        else
                fprintf(out, "repeating every %.3f ms", (double)ns / 1e6);
}

/* The live timers, one paragraph per creation site, in report order. */
static int write_timers(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_timers *t = r->timers;
        if (!t->nsites) {
                if (t->created || t->has_js)
                        fprintf(out, "\nno live timers (%" PRIu64 " created, all ended)\n",
                                t->created);
                return 0;
        }
        fprintf(out,
                "\nlive timers: %" PRId64 " from %zu creation site%s (%" PRIu64
                " created in all)\n",
                t->live, t->nsites, t->nsites == 1 ? "" : "s", t->created);
        if (t->state.overflow_live)
                fprintf(out,
                        "note: %" PRIu64 " live JS timers come from sites beyond the ones "
                        "leaktrace.js keeps apart: not shown\n",
                        t->state.overflow_live);
        size_t n = top && top < t->nsites ? top : t->nsites;
        for (size_t i = 0; i < n; i++) {
                const struct lt_timer_site *s = t->sites[i];
                fprintf(out, "\ntimer #%zu: %s, %" PRId64 " live of %" PRIu64 " created, ", i + 1,
                        lt_timer_kind_name(s->kind), s->live, s->created);
                if (s->repeating)
                        write_interval(out, s->interval_ns);
                else
                        fputs(s->armed ? "one-shot" : "not armed", out);
                if (s->oldest_age_s >= 0)
                        fprintf(out, ", oldest %.1f s", s->oldest_age_s);
                if (s->node_own)
                        fputs(" (node's own: not the program's to clear)", out);
                putc('\n', out);
                if (s->inherited) {
                        fputs("  (inherited across exec: made before this program started)\n", out);
                } else if (s->kind == LT_TIMER_JS) {
                        lt_write_text_js_frames(out, s);
                } else {
                        int err = write_frames(out, r, &s->stack);
                        if (err)
                                return err;
                }
        }
        if (n < t->nsites)
                fprintf(out, "\n... and %zu more timer site%s (--top 0 shows all)\n", t->nsites - n,
                        t->nsites - n == 1 ? "" : "s");
        return 0;
}

/* The places judged leaks, as `check` judges them: each line of the
 * user's code with the sites it holds summed (V8 reaches one line through
 * several stacks). With the numbers of the sites shown below. */
static int write_places(FILE *out, struct lt_report *r, size_t shown)
{
        struct lt_places p;
        if (lt_places_build(r, &p) < 0)
                return -ENOMEM;
        size_t n = 0;
        char g[64], rate[64], live[64];
        for (size_t i = 0; i < p.n; i++) {
                const struct lt_place *pl = &p.v[i];
                if (pl->verdict.kind != LT_VERDICT_LEAK || !(pl->users || !p.any_users))
                        continue;
                if (!n++)
                        fprintf(out, "leaks by the line that holds them%s:\n",
                                p.any_users ? " in the program's code" : "");
                fprintf(out, "  %s: %s at %s, %s %s in %" PRId64 " %s", pl->where,
                        lt_signed_bytes(g, sizeof(g), (double)pl->verdict.growth_bytes),
                        lt_rate_str(rate, sizeof(rate), pl->verdict.growth_per_s),
                        lt_human_bytes(live, sizeof(live), pl->live_bytes),
                        pl->kind == LT_SITE_MAPPING ? "mapped" : "live", pl->live_blocks,
                        pl->kind == LT_SITE_MAPPING ? "regions" : "blocks");
                if (pl->nsites > 1)
                        fprintf(out, " from %zu stacks", pl->nsites);
                const char *sep = " (";
                unsigned listed = 0;
                for (size_t k = 0; k < pl->nsites && listed < 8; k++) {
                        for (size_t j = 0; j < shown; j++) {
                                if (r->sites[j] != pl->sites[k])
                                        continue;
                                fprintf(out, "%s#%zu", sep, j + 1);
                                sep = ", ";
                                listed++;
                        }
                }
                fputs(listed ? ")\n" : "\n", out);
        }
        lt_places_free(&p);
        return 0;
}

static int write_one(FILE *out, struct lt_report *r, unsigned top)
{
        /* A node process's memory grows mostly where malloc does not see
         * (the V8 heap): where it went comes first. */
        write_process(out, r);
        bool leads = lt_growth_leads(r);
        if (leads) {
                lt_text_growth(out, r, top);
                putc('\n', out);
        }
        write_summary(out, r);
        if (lt_text_verdicts(out, r) < 0)
                return -ENOMEM;
        size_t n = top && top < r->nsites ? top : r->nsites;
        if (lt_history_judged(r) && write_places(out, r, n) < 0)
                return -ENOMEM;
        if (!leads && lt_history_judged(r)) /* else the verdicts line said why not */
                lt_text_growth(out, r, top);
        if (!r->nsites)
                fputs("\nno live allocations\n", out);
        char a[64], b[64];
        for (size_t i = 0; i < n; i++) {
                const struct lt_site *s = r->sites[i];
                fprintf(out, "\n#%zu: ", i + 1);
                lt_text_site_verdict(out, r, s);
                if (s->kind == LT_SITE_MAPPING)
                        fprintf(out,
                                "%s mapped in %" PRId64 " region%s; %" PRIu64
                                " mmap/mprotect call%s here, %s in all (anonymous memory)\n",
                                lt_human_bytes(a, sizeof(a), s->live_bytes), s->live_blocks,
                                plural(s->live_blocks), s->allocs, plural((int64_t)s->allocs),
                                short_bytes(b, sizeof(b), s->bytes_allocated));
                else
                        fprintf(out,
                                "%s live in %" PRId64 " block%s; %" PRIu64
                                " allocation%s here, %s in all\n",
                                lt_human_bytes(a, sizeof(a), s->live_bytes), s->live_blocks,
                                plural(s->live_blocks), s->allocs, plural((int64_t)s->allocs),
                                short_bytes(b, sizeof(b), s->bytes_allocated));
                lt_text_site_why(out, r, s);
                int err = write_frames(out, r, s);
                if (err)
                        return err;
        }
        if (n < r->nsites) {
                int64_t rest = 0;
                for (size_t i = n; i < r->nsites; i++)
                        __builtin_add_overflow(rest, r->sites[i]->live_bytes, &rest);
                fprintf(out, "\n... and %zu more site%s with %s live (--top 0 shows all)\n",
                        r->nsites - n, r->nsites - n == 1 ? "" : "s",
                        lt_human_bytes(a, sizeof(a), rest));
        }
        return write_timers(out, r, top);
}

int lt_write_text(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        if (n > 1) {
                int err = lt_text_across(out, reports, n, top);
                if (err)
                        return err;
        }
        for (size_t i = 0; i < n; i++) {
                if (n > 1)
                        fprintf(out, "%s== %s ==\n", i ? "\n" : "", reports[i]->trace->path);
                int err = write_one(out, reports[i], top);
                if (err)
                        return err;
        }
        return lt_out_error(out);
}
