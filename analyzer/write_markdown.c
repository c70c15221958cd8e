/* The markdown report, to paste into a code review: per process a summary
 * line, a table of the top sites (verdict, growth, live bytes, where), then
 * each site's stack with the source line itself where the file can be
 * read. Everything that comes from the trace (names, paths, the command
 * line) is escaped: markdown would read a '|' as a cell's end, a backtick
 * as code, a '*' as emphasis. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "json_escape.h"
#include "places.h"
#include "sourcemap.h"
#include "timers.h"
#include "write_across.h"
#include "write_growth.h"
#include "write_history.h"
#include "writers.h"

#define SOURCE_MAX 160 /* bytes of a quoted source line */

/* Writes one character of S (at most LEN bytes) that is not special, as
 * valid UTF-8: control characters as a space, a byte that is not UTF-8 as
 * U+FFFD. Returns the bytes consumed. */
static size_t put_plain(FILE *out, const unsigned char *s, size_t len)
{
        if (*s < 0x20 || *s == 0x7f) {
                putc(' ', out);
                return 1;
        }
        size_t n = lt_utf8_len(s, len);
        if (!n) {
                fputs("\xef\xbf\xbd", out);
                return 1;
        }
        fwrite(s, 1, n, out);
        return n;
}

void lt_md_text(FILE *out, const char *str)
{
        const unsigned char *s = (const unsigned char *)(str ? str : "");
        size_t len = strlen((const char *)s);
        for (size_t i = 0; i < len;) {
                if (strchr("\\`*_[]<>|~&#!", s[i]) && s[i]) {
                        putc('\\', out);
                        putc(s[i++], out);
                } else {
                        i += put_plain(out, s + i, len - i);
                }
        }
}

void lt_md_code(FILE *out, const char *str, int in_table)
{
        const char *s = str ? str : "";
        size_t len = strlen(s), run = 0, longest = 0;
        for (size_t i = 0; i < len; i++) {
                run = s[i] == '`' ? run + 1 : 0;
                longest = run > longest ? run : longest;
        }
        /* A fence longer than any run of backticks inside; a space inside
         * the fence when the text starts or ends with a backtick or a
         * space, which CommonMark strips. */
        int pad = len && (s[0] == '`' || s[len - 1] == '`' || s[0] == ' ' || s[len - 1] == ' ');
        for (size_t i = 0; i <= longest; i++)
                putc('`', out);
        if (pad)
                putc(' ', out);
        const unsigned char *u = (const unsigned char *)s;
        for (size_t i = 0; i < len;) {
                if (u[i] == '|' && in_table) {
                        fputs("\\|", out); /* GFM: a pipe in a cell, even in code */
                        i++;
                } else {
                        i += put_plain(out, u + i, len - i);
                }
        }
        if (pad)
                putc(' ', out);
        for (size_t i = 0; i <= longest; i++)
                putc('`', out);
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash && slash[1] ? slash + 1 : path;
}

/* Line LINE of FILE into buf, without its newline, cut at SOURCE_MAX
 * bytes and stripped of leading blanks; 0, or -1 when it cannot be read. */
static int source_line(const char *file, unsigned line, char *buf, size_t len)
{
        size_t blen;
        const char *built = line ? lt_srcmap_content(file, &blen) : NULL;
        if (built) { /* what was built, when a source map carries it (sourcemap.h) */
                const char *p = built, *end = built + blen;
                for (unsigned i = 1; i < line && p; i++)
                        p = (p = memchr(p, '\n', (size_t)(end - p))) ? p + 1 : NULL;
                if (!p || p == end)
                        return -1;
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
                while (l && (p[l - 1] == '\r'))
                        l--;
                size_t skip = strspn(p, " \t");
                skip = skip < l ? skip : l;
                snprintf(buf, len, "%.*s", (int)((l - skip) < SOURCE_MAX ? l - skip : SOURCE_MAX),
                         p + skip);
                return 0;
        }
        if (!file || !line || file[0] != '/')
                return -1;
        /* Only a regular file: a FIFO named by a damaged trace or perf map
         * must not hold the report. */
        int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        FILE *f = NULL;
        if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))))
                close(fd);
        if (!f)
                return -1;
        char *text = NULL;
        size_t cap = 0;
        ssize_t n = -1;
        for (unsigned i = 0; i < line; i++)
                if ((n = getline(&text, &cap, f)) < 0)
                        break;
        fclose(f);
        if (n < 0) {
                free(text);
                return -1;
        }
        text[strcspn(text, "\r\n")] = '\0';
        const char *p = text + strspn(text, " \t");
        snprintf(buf, len, "%.*s", SOURCE_MAX, p);
        free(text);
        return 0;
}

/* A name from the trace on one line of a code block: control characters
 * as spaces (a newline would start a line of its own). */
static void put_line_text(FILE *m, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                putc(*p < 0x20 || *p == 0x7f ? ' ' : *p, m);
}

/* The stack of a site, innermost first, with source lines, as the text of
 * a fenced code block (which needs no escaping but of its fence). */
static int stack_text(struct lt_report *r, const struct lt_site *s, char **text)
{
        size_t len = 0;
        FILE *m = open_memstream(text, &len);
        if (!m)
                return -ENOMEM;
        unsigned shown = 0;
        for (unsigned i = 0; i < s->nframes; i++) {
                uint64_t addr = lt_site_addr(s, i);
                int mod = lt_site_module(s, i);
                const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, true);
                if (!info) {
                        fclose(m);
                        free(*text);
                        return -ENOMEM;
                }
                for (unsigned j = i ? 0 : s->first_skip; j < info->nframes; j++) {
                        const struct lt_frame_info *f = &info->frames[j];
                        fprintf(m, "#%u ", shown++);
                        if (f->function) {
                                put_line_text(m, f->function);
                        } else if (mod >= 0) {
                                put_line_text(m, base_name(r->trace->mods[mod].path));
                                fprintf(m, "+0x%" PRIx64, addr - r->trace->mods[mod].bias);
                        } else {
                                fprintf(m, "0x%" PRIx64, addr);
                        }
                        if (f->file) {
                                fputs("  ", m);
                                put_line_text(m, f->file);
                        }
                        if (f->file && f->line)
                                fprintf(m, ":%u", f->line);
                        if (f->file && f->line && f->column)
                                fprintf(m, ":%u", f->column);
                        if (f->code == LT_CODE_JS)
                                fputs(" [JS]", m);
                        else if (f->code == LT_CODE_V8)
                                fputs(" [V8]", m);
                        fputs(f->inlined ? " (inlined)\n" : "\n", m);
                        char src[SOURCE_MAX + 8];
                        if (source_line(f->file, f->line, src, sizeof(src)) == 0 && src[0]) {
                                fprintf(m, "   %5u | ", f->line);
                                put_line_text(m, src);
                                putc('\n', m);
                        }
                }
        }
        if (!s->nframes)
                fputs("(no frames recorded)\n", m);
        if (s->kind == LT_SITE_MAPPING)
                fputs("(anonymous memory mapped here: mmap, or mprotect of a reservation)\n", m);
        if (s->truncated)
                fputs("... (cut at LEAKTRACE_DEPTH)\n", m);
        if (s->cut_short)
                fputs("... (cut short: its outer frames could not be found)\n", m);
        return fclose(m) ? -EIO : 0;
}

/* A fenced code block around TEXT: a fence longer than any run of
 * backticks in it, every byte valid UTF-8. */
static void code_block(FILE *out, const char *text)
{
        size_t run = 0, longest = 0;
        for (const char *p = text; *p; p++) {
                run = *p == '`' ? run + 1 : 0;
                longest = run > longest ? run : longest;
        }
        size_t fence = longest >= 3 ? longest + 1 : 3;
        for (size_t i = 0; i < fence; i++)
                putc('`', out);
        putc('\n', out);
        const unsigned char *s = (const unsigned char *)text;
        size_t len = strlen(text);
        for (size_t i = 0; i < len;) {
                if (s[i] == '\n' || s[i] == '\t')
                        putc(s[i++], out);
                else
                        i += put_plain(out, s + i, len - i);
        }
        for (size_t i = 0; i < fence; i++)
                putc('`', out);
        putc('\n', out);
}

static void write_figures(FILE *out, const struct lt_site *s)
{
        char a[64];
        fputs(lt_human_bytes(a, sizeof(a), s->live_bytes), out);
        fprintf(out,
                s->kind == LT_SITE_MAPPING ? " in %" PRId64 " region%s" : " in %" PRId64 " block%s",
                s->live_blocks, s->live_blocks == 1 ? "" : "s");
}

static void write_growth(FILE *out, const struct lt_report *r, const struct lt_site *s)
{
        if (!s->hist || !lt_history_judged(r)) {
                fputs("\xe2\x80\x94", out); /* an em dash: no figure */
                return;
        }
        const struct lt_verdict *v = &s->hist->verdict;
        char a[64];
        fputs(lt_rate_str(a, sizeof(a), v->growth_per_s), out);
        if (!isnan(v->growth_per_kalloc))
                fprintf(out, ", %s/1000 allocs",
                        lt_signed_bytes(a, sizeof(a), v->growth_per_kalloc));
        if (!isnan(v->r2))
                fprintf(out, ", R\xc2\xb2 %.2f", v->r2);
}

/* The site's verdict, or NULL when its history was not judged. */
static const char *verdict_of(const struct lt_report *r, const struct lt_site *s)
{
        return s->hist && lt_history_judged(r) ? lt_verdict_name(s->hist->verdict.kind) : NULL;
}

/* The places judged leaks, as `check` judges them (places.h): a list. */
static int write_places(FILE *out, struct lt_report *r)
{
        struct lt_places p;
        if (lt_places_build(r, &p) < 0)
                return -ENOMEM;
        size_t n = 0;
        char g[64], rate[64];
        for (size_t i = 0; i < p.n; i++) {
                const struct lt_place *pl = &p.v[i];
                if (pl->verdict.kind != LT_VERDICT_LEAK || !(pl->users || !p.any_users))
                        continue;
                if (!n++)
                        fputs("\n**Leaks by the line that holds them** (its stacks summed, as "
                              "`leaktrace check` judges them):\n\n",
                              out);
                fputs("- ", out);
                lt_md_code(out, pl->where, 0);
                fprintf(out, ": %s at %s",
                        lt_signed_bytes(g, sizeof(g), (double)pl->verdict.growth_bytes),
                        lt_rate_str(rate, sizeof(rate), pl->verdict.growth_per_s));
                if (pl->nsites > 1)
                        fprintf(out, ", from %zu stacks", pl->nsites);
                fputs("\n", out);
        }
        lt_places_free(&p);
        return 0;
}

/* The live timers by creation site: a table, where each was made. */
static void write_timers(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_timers *t = r->timers;
        if (!t || !t->nsites)
                return;
        fprintf(out,
                "\n%" PRId64 " live timer%s from %zu creation site%s (%" PRIu64
                " created in all).\n\n| # | timer | live | created | repeats | where |\n"
                "|--:|---|--:|--:|---|---|\n",
                t->live, t->live == 1 ? "" : "s", t->nsites, t->nsites == 1 ? "" : "s", t->created);
        size_t n = top && top < t->nsites ? top : t->nsites;
        char where[512];
        for (size_t i = 0; i < n; i++) {
                const struct lt_timer_site *s = t->sites[i];
                fprintf(out, "| %zu | %s | %" PRId64 " | %" PRIu64 " | ", i + 1,
                        lt_timer_kind_name(s->kind), s->live, s->created);
                if (s->repeating && s->interval_ns % 1000000 == 0)
                        fprintf(out, "every %" PRIu64 " ms", s->interval_ns / 1000000);
                else if (s->repeating)
                        fprintf(out, "every %.3f ms", (double)s->interval_ns / 1e6);
                else
                        fputs(s->armed ? "no" : "no (not armed)", out);
                fputs(" | ", out);
                if (s->inherited) {
                        fputs("inherited across exec", out);
                } else {
                        lt_md_code(out, lt_timer_where(where, sizeof(where), r, s, true), 1);
                }
                if (s->node_own)
                        fputs(" (node's own)", out);
                fputs(" |\n", out);
        }
        if (n < t->nsites)
                fprintf(out, "\n%zu more timer site%s not shown (`--top 0` shows all).\n",
                        t->nsites - n, t->nsites - n == 1 ? "" : "s");
}

static int write_one(FILE *out, struct lt_report *r, unsigned top)
{
        const struct lt_trace *t = r->trace;
        const struct lt_history *h = r->history;
        char a[64], where[512];
        fprintf(out, "## leaktrace: pid %" PRIu32 " ", t->hdr.pid);
        char *cmd = NULL;
        size_t cmdlen = 0;
        FILE *m = open_memstream(&cmd, &cmdlen);
        if (!m)
                return -ENOMEM;
        lt_write_command(m, t);
        if (fclose(m))
                return -ENOMEM;
        lt_md_code(out, cmd, 0);
        free(cmd);
        fputs("\n", out);
        /* A node process's memory grows mostly where malloc does not see:
         * where it went comes first. */
        bool leads = lt_growth_leads(r);
        if (leads)
                lt_md_growth(out, r, top);
        putc('\n', out);

        if (lt_history_judged(r)) {
                size_t leaks = h->verdicts[LT_VERDICT_LEAK];
                fprintf(out, "%s%zu site%s leak%s%s, %zu cache%s, %zu transient, %zu unclear. ",
                        leaks ? "**" : "", leaks, leaks == 1 ? "" : "s", leaks == 1 ? "s" : "",
                        leaks ? "**" : "", h->verdicts[LT_VERDICT_CACHE],
                        h->verdicts[LT_VERDICT_CACHE] == 1 ? "" : "s",
                        h->verdicts[LT_VERDICT_TRANSIENT], h->verdicts[LT_VERDICT_UNCLEAR]);
        }
        fprintf(out, "%s live in %" PRId64 " block%s", lt_human_bytes(a, sizeof(a), r->live_bytes),
                r->live_blocks, r->live_blocks == 1 ? "" : "s");
        if (h->tl.n)
                fprintf(out, "; history of %zu point%s over %.1f s (tick %" PRIu32 " ms)", h->tl.n,
                        h->tl.n == 1 ? "" : "s", h->tl.t[h->tl.n - 1] - h->tl.t[0],
                        t->hdr.history.tick_ms);
        fputs(".\n", out);
        if (!lt_history_judged(r))
                fprintf(out,
                        "\n> The history is too short to judge growth (%zu point%s, %d "
                        "needed): no verdicts.\n",
                        h->tl.n, h->tl.n == 1 ? "" : "s", LT_VERDICT_MIN_POINTS);
        switch (lt_trace_end(&r->trace->hdr)) {
        case LT_END_RUNNING:
                fputs("\n> The process is still running: figures are as of its last update.\n",
                      out);
                break;
        case LT_END_UNSEEN:
                fputs("\n> The process exited by a way the tracer does not see (the exit system "
                      "call, or `_exit` called inside the C library, as `daemon()` does): "
                      "figures are as of its last update.\n",
                      out);
                break;
        case LT_END_SIGNALED:
        case LT_END_UNCLEAN:
                fputs("\n> The process did not exit cleanly: figures are as of its last update.\n",
                      out);
                break;
        default:
                break;
        }
        if (r->trace->hdr.flags & LT_F_ATTACHED) {
                lt_write_attach_note(out, r->trace, "\n> Attached: the report ");
                fputs(".\n", out);
        }
        if (t->hdr.sample_bytes)
                fprintf(out,
                        "\n> Sampled (one allocation per %" PRIu64 " bytes on average): figures "
                        "are estimates.\n",
                        t->hdr.sample_bytes);

        if (!leads && lt_history_judged(r)) /* else the note above said why not */
                lt_md_growth(out, r, top);

        if (lt_history_judged(r) && write_places(out, r) < 0)
                return -ENOMEM;
        write_timers(out, r, top);
        size_t n = top && top < r->nsites ? top : r->nsites;
        if (!r->nsites) {
                fputs("\nNo live allocations.\n", out);
                return 0;
        }
        fputs("\n| # | verdict | growth | live | where |\n|--:|---|---|--:|---|\n", out);
        for (size_t i = 0; i < n; i++) {
                const struct lt_site *s = r->sites[i];
                const char *v = verdict_of(r, s);
                int leak = v && !strcmp(v, "leak");
                fprintf(out, "| %zu | %s%s%s%s | ", i + 1, leak ? "**" : "", v ? v : "not judged",
                        leak ? "**" : "",
                        s->kind == LT_SITE_MAPPING ? " (mapping)" : "");
                write_growth(out, r, s);
                fputs(" | ", out);
                write_figures(out, s);
                fputs(" | ", out);
                lt_md_code(out, lt_site_where(where, sizeof(where), r, s), 1);
                fputs(" |\n", out);
        }
        if (n < r->nsites)
                fprintf(out, "\n%zu more site%s not shown (`--top 0` shows all).\n", r->nsites - n,
                        r->nsites - n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
                const struct lt_site *s = r->sites[i];
                const char *v = verdict_of(r, s);
                fprintf(out, "\n### %zu. %s%s", i + 1, v ? v : "", v ? ": " : "");
                lt_md_code(out, lt_site_where(where, sizeof(where), r, s), 0);
                fputs("\n\n", out);
                write_figures(out, s);
                fprintf(out, "%s (%" PRIu64 " %s%s",
                        s->kind == LT_SITE_MAPPING ? " mapped" : " live", s->allocs,
                        s->kind == LT_SITE_MAPPING ? "mmap/mprotect call" : "allocation",
                        s->allocs == 1 ? "" : "s");
                lt_human_bytes(a, sizeof(a), (int64_t)s->bytes_allocated);
                char *exact = strstr(a, " (");
                if (exact) /* the exact figure is above */
                        *exact = '\0';
                fprintf(out, ", %s in all)", a);
                if (s->hist && lt_history_judged(r)) {
                        fputs("; ", out);
                        write_growth(out, r, s);
                        fputs(". ", out);
                        char reason[sizeof(s->hist->verdict.reason)];
                        memcpy(reason, s->hist->verdict.reason, sizeof(reason));
                        if (reason[0] >= 'a' && reason[0] <= 'z')
                                reason[0] = (char)(reason[0] - 'a' + 'A');
                        lt_md_text(out, reason);
                }
                fputs(".\n\n", out);
                char *text;
                int err = stack_text(r, s, &text);
                if (err)
                        return err;
                code_block(out, text);
                free(text);
        }
        return 0;
}

int lt_write_markdown(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        if (n > 1) {
                int err = lt_md_across(out, reports, n, top);
                if (err)
                        return err;
        }
        for (size_t i = 0; i < n; i++) {
                if (i)
                        putc('\n', out);
                int err = write_one(out, reports[i], top);
                if (err)
                        return err;
        }
        return lt_out_error(out);
}
