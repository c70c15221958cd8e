/* SARIF 2.1.0 (OASIS), so that code review and code scanning tools show
 * leaks as annotations on the lines that leak: one run of every process
 * reported, one result per place judged a leak, as `check` judges them
 * (places.h: the stacks of one line of the user's code summed), or, when
 * a process's history is too short to judge any, per site of the user's
 * code still holding memory; and per timer site that keeps timers alive.
 * Each is located at the first frame of the user's own code, with the
 * whole stack as a code flow. Paths under the working directory are
 * relative to SRCROOT, which is it. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "json_escape.h"
#include "paths.h"
#include "places.h"
#include "timers.h"
#include "write_history.h"
#include "writers.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

#define STR_(x) #x
#define STR(x) STR_(x)

/* What "unreleased" stands for (clang-format would indent it oddly). */
/* clang-format off */
#define UNRELEASED_WHY                                                                             \
        "The process's history was too short to judge whether this call stack's memory grows "     \
        "(fewer than " STR(LT_VERDICT_MIN_POINTS) " points: a short run, or a large "              \
        "LEAKTRACE_TICK_MS): every site whose stack holds the program's own code and that still "  \
        "held memory at the end is reported."
/* clang-format on */

/* The rules: id, name, level, short and full description. */
#define LT_SARIF_RULES(X)                                                                          \
        X(LEAK, "leak", "MemoryLeak", "error", "Memory that keeps growing and never comes back.",  \
          "The memory this call stack holds grew steadily over the process's life and never "      \
          "came back: leaktrace judged it a leak from the site's history (its growth over time "   \
          "and over the process's allocations, and the fit of that trend).")                       \
        X(UNRELEASED, "unreleased", "UnreleasedMemory", "warning",                                 \
          "Memory still allocated when the process ended.", UNRELEASED_WHY)                        \
        X(TIMER, "timer-leak", "TimerLeak", "warning",                                             \
          "Timers still live: repeating ones never cleared, or many left pending.",                \
          "Timers made at this line were still live at the end: one of them repeats (an "          \
          "interval nobody cleared), or more than one was live. A live timer keeps its callback "  \
          "and everything it reaches.")

enum rule {
#define LT_X_ENUM(K, ...) RULE_##K,
        LT_SARIF_RULES(LT_X_ENUM)
#undef LT_X_ENUM
};

static const char *const rule_id[] = {
#define LT_X_ID(K, id, ...) [RULE_##K] = id,
    LT_SARIF_RULES(LT_X_ID)
#undef LT_X_ID
};

static const char *const rule_level[] = {
#define LT_X_LEVEL(K, id, name, level, ...) [RULE_##K] = level,
    LT_SARIF_RULES(LT_X_LEVEL)
#undef LT_X_LEVEL
};

/* One frame of a stack, whatever it came from. */
struct frame {
        const char *function;
        const char *file;
        unsigned line, column;
        const char *module; /* its path; NULL for JS and V8 code */
        uint64_t offset;    /* in the module, else the address */
        unsigned char code; /* enum lt_code_kind */
        bool inlined;
        const char *gen_file; /* a JS frame a source map placed: the script node ran */
};

struct stack {
        struct frame *f; /* innermost first */
        unsigned n, cap;
        bool heap; /* V8's heap at work (lt_site_charge): no line of the user's holds it */
};

struct sarif {
        FILE *out;
        char *root; /* the working directory, without a trailing '/'; NULL when unknown */
        size_t nresults;
};

/* A frame whose source a reader can open: a line in an absolute path or a
 * URI. A relative path is relative to a compilation directory that the
 * debug information names elsewhere (glibc's "./csu/..."): its frame is
 * told in words only. */
static bool placeable(const struct frame *f)
{
        return f->file && f->line && (f->file[0] == '/' || lt_has_scheme(f->file));
}

/* The user's own code: a frame with a file and line that is not in a
 * system library or header, not node's own JS, and not a package's. */
static bool user_frame(const struct frame *f)
{
        return lt_frame_is_users(f->file, f->line, f->module, f->code, f->gen_file);
}

/* The first frame of the user's own code, or -1; -1 for V8's heap at
 * work, whose pages serve every object, whichever line made it grow. */
static int first_user(const struct stack *st)
{
        for (unsigned i = 0; i < st->n && !st->heap; i++)
                if (user_frame(&st->f[i]))
                        return (int)i;
        return -1;
}

/* Where a result is: the first frame of the user's own code, else the
 * first with a file and line that is not node's own JS (node:..., which no
 * checkout holds), else -1 (the result has no location, as V8's heap at
 * work has none: the user's frames under it are not where it is). */
static int located_at(const struct stack *st)
{
        int at = first_user(st);
        for (unsigned i = 0; at < 0 && i < st->n && !st->heap; i++)
                if (placeable(&st->f[i]) && strncmp(st->f[i].file, "node:", 5) != 0)
                        at = (int)i;
        return at;
}

static int push(struct stack *st, const struct frame *f)
{
        if (st->n == st->cap) {
                unsigned cap = st->cap ? 2 * st->cap : 16;
                struct frame *more = realloc(st->f, cap * sizeof(*more));
                if (!more)
                        return -ENOMEM;
                st->f = more;
                st->cap = cap;
        }
        st->f[st->n++] = *f;
        return 0;
}

/* The frames of site S as the other reports show them, innermost first. */
static int site_stack(struct lt_report *r, const struct lt_site *s, struct stack *st)
{
        struct lt_shown_frame *fr;
        unsigned n;
        struct lt_charge charge;
        int err = lt_site_charge(r, s, &charge);
        if (!err)
                err = lt_site_frames(r, s, &fr, &n);
        if (err)
                return err;
        st->heap = charge.heap;
        for (unsigned i = 0; i < n && !err; i++) {
                const struct lt_frame_info *fi = fr[i].info;
                const struct lt_module_rec *m = fr[i].mod >= 0 ? &r->trace->mods[fr[i].mod] : NULL;
                struct frame f = {
                    .function = fi->function,
                    .file = fi->file,
                    .line = fi->file ? fi->line : 0,
                    .column = fi->code == LT_CODE_JS ? fi->column : 0,
                    .module = m ? m->path : NULL,
                    .offset = m ? fr[i].addr - m->bias : fr[i].addr,
                    .code = fi->code,
                    .inlined = fi->inlined,
                    .gen_file = fi->gen_file,
                };
                err = push(st, &f);
        }
        free(fr);
        return err;
}

/* A JS timer site's stack as the module recorded it, innermost first; the
 * application's frame alone when the module kept no other. */
static int js_stack(const struct lt_timer_site *s, struct stack *st)
{
        const struct lt_js_site *e = s->js;
        unsigned n = e ? e->nframes : 0;
        for (unsigned i = 0; i < (n ? n : s->njs_frames ? 1u : 0u); i++) {
                const struct lt_js_frame *jf = n ? &e->frames[i] : s->js_frames[0];
                struct frame f = {.function = jf->function,
                                  .file = jf->file,
                                  .line = jf->file ? jf->line : 0,
                                  .column = jf->file && jf->line ? jf->column : 0,
                                  .code = LT_CODE_JS,
                                  .gen_file = jf->gen_file};
                if (push(st, &f))
                        return -ENOMEM;
        }
        return 0;
}

/* S as a URI, percent-encoded: unreserved characters and '/' as they are,
 * and with RESERVED those a URI's syntax uses (a URI that came whole). */
static void put_uri(FILE *out, const char *s, bool reserved)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) ||
                    (reserved && strchr(":?#[]@!$&'()*+,;=%", *p)))
                        putc(*p, out);
                else
                        fprintf(out, "%%%02X", *p);
        }
}

/* A source that webpack's map names (webpack://NAMESPACE/./src/x.js,
 * webpack-internal:///./src/x.js) is relative to the project it was built
 * in: its path from there ("src/x.js"), or NULL for anything else. */
static const char *webpack_relative(const char *file)
{
        static const char *const schemes[] = {"webpack://", "webpack-internal://"};
        for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
                size_t n = strlen(schemes[i]);
                if (strncmp(file, schemes[i], n))
                        continue;
                const char *p = strchr(file + n, '/'); /* past the namespace */
                if (!p)
                        return NULL;
                while (*p == '/' || (p[0] == '.' && p[1] == '/'))
                        p += *p == '/' ? 1 : 2;
                return *p && strncmp(p, "../", 3) && !strchr(p, '?') ? p : NULL;
        }
        return NULL;
}

/* The artifactLocation of frame F's file, placeable(): relative to SRCROOT when
 * under it, else a file: URI when absolute, as it is when a URI. */
static void write_artifact(struct sarif *c, const struct frame *f)
{
        FILE *out = c->out;
        char clean[4096];
        const char *file = f->file;
        /* A package's own webpack:// sources are not the project's. */
        const char *rel = user_frame(f) ? webpack_relative(file) : NULL;
        if (rel) {
                fputs("{\"uri\":\"", out);
                put_uri(out, rel, false);
                fputs("\",\"uriBaseId\":\"SRCROOT\"}", out);
                return;
        }
        if (file[0] == '/')
                file = lt_path_lexical(clean, sizeof(clean), file);
        size_t rl = c->root ? strlen(c->root) : 0;
        fputs("{\"uri\":\"", out);
        if (file[0] == '/' && c->root && !strncmp(file, c->root, rl) && file[rl] == '/') {
                put_uri(out, file + rl + 1, false);
                fputs("\",\"uriBaseId\":\"SRCROOT\"}", out);
        } else if (file[0] == '/') {
                fputs("file://", out);
                put_uri(out, file, false);
                fputs("\"}", out);
        } else {
                put_uri(out, file, true);
                fputs("\"}", out);
        }
}

/* S as text, or escaped as inside a JSON string. */
static void put(FILE *out, const char *s, bool json)
{
        if (json)
                lt_json_chars(out, s, strlen(s));
        else
                fputs(s, out);
}

/* What a frame is, for people: its function, else module and offset, and
 * where, when a reader could not open it; as text or inside a JSON
 * string. */
static void write_frame_text(FILE *out, const struct frame *f, bool json)
{
        const char *base = f->module ? strrchr(f->module, '/') : NULL;
        base = base ? base + 1 : f->module;
        if (f->function) {
                put(out, f->function, json);
        } else if (f->module) {
                put(out, base, json);
                fprintf(out, "+0x%" PRIx64, f->offset);
        } else {
                fprintf(out, "0x%" PRIx64, f->offset);
        }
        if (f->inlined)
                fputs(" (inlined)", out);
        if (f->file && f->line && !placeable(f)) {
                fputs(" (", out);
                put(out, f->file, json);
                fprintf(out, ":%u)", f->line);
        }
}

/* A location object: where F is in the source, when known, its function,
 * and what it is in words. */
static void write_location(struct sarif *c, const struct frame *f)
{
        FILE *out = c->out;
        putc('{', out);
        if (placeable(f)) {
                fputs("\"physicalLocation\":{\"artifactLocation\":", out);
                write_artifact(c, f);
                fprintf(out, ",\"region\":{\"startLine\":%u", f->line);
                if (f->column)
                        fprintf(out, ",\"startColumn\":%u", f->column);
                fputs("}},", out);
        }
        if (f->function) {
                fputs("\"logicalLocations\":[{\"name\":", out);
                lt_json_string(out, f->function);
                fputs(",\"kind\":\"function\"}],", out);
        }
        fputs("\"message\":{\"text\":\"", out);
        write_frame_text(out, f, true);
        fputs("\"}}", out);
}

/* The "codeFlows" member: the stack outermost first, as it ran, the
 * located frame essential, the user's other frames important. */
static void write_flow(struct sarif *c, const struct stack *st, int at)
{
        FILE *out = c->out;
        fputs(",\"codeFlows\":[{\"message\":{\"text\":\"The call stack, outermost first.\"},"
              "\"threadFlows\":[{\"locations\":[",
              out);
        for (unsigned k = 0; k < st->n; k++) {
                unsigned i = st->n - 1 - k;
                const struct frame *f = &st->f[i];
                fprintf(out, "%s{\"location\":", k ? "," : "");
                write_location(c, f);
                fprintf(out, ",\"nestingLevel\":%u,\"importance\":\"%s\"}", k,
                        (int)i == at    ? "essential"
                        : user_frame(f) ? "important"
                                        : "unimportant");
        }
        fputs("]}]}]", out);
}

/* " at function (file.c:42)": the frame a result is located at, for
 * people; nothing when there is none. */
static void write_at(FILE *m, const struct stack *st, int at)
{
        if (at < 0)
                return;
        const struct frame *f = &st->f[at];
        const char *base = strrchr(f->file, '/');
        fputs(" at ", m);
        write_frame_text(m, f, false);
        fprintf(m, " (%s:%u)", base && base[1] ? base + 1 : f->file, f->line);
}

/* A result of RULE with MESSAGE, located in ST, up to its properties'
 * members, which the caller writes and closes with "}}". */
static void begin_result(struct sarif *c, enum rule rule, const char *message,
                         const struct stack *st)
{
        FILE *out = c->out;
        int at = located_at(st);
        fprintf(out,
                "%s{\"ruleId\":\"%s\",\"ruleIndex\":%d,\"level\":\"%s\",\"message\":{\"text\":",
                c->nresults++ ? "," : "", rule_id[rule], (int)rule, rule_level[rule]);
        lt_json_string(out, message);
        putc('}', out);
        if (at >= 0) {
                fputs(",\"locations\":[", out);
                write_location(c, &st->f[at]);
                putc(']', out);
        }
        if (st->n)
                write_flow(c, st, at);
        fputs(",\"properties\":{", out);
}

/* The message of a result for site S or timer site T of R (the other is
 * NULL): its figures, where it is, why, and the process. Malloc'd; NULL on
 * -ENOMEM. */
static char *message(struct lt_report *r, const struct stack *st, const struct lt_site *s,
                     const struct lt_timer_site *t, enum rule rule, size_t nstacks)
{
        char *text = NULL, a[64];
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m)
                return NULL;
        bool map = s && s->kind == LT_SITE_MAPPING;
        if (s)
                fprintf(m, "%s %s in %" PRId64 " %s%s from %" PRIu64 " %s%s",
                        lt_human_bytes(a, sizeof(a), s->live_bytes), map ? "mapped" : "live",
                        s->live_blocks, map ? "region" : "block", s->live_blocks == 1 ? "" : "s",
                        s->allocs, map ? "mmap/mprotect call" : "allocation",
                        s->allocs == 1 ? "" : "s");
        else
                fprintf(m, "%" PRId64 " %s timer%s live of %" PRIu64 " made%s", t->live,
                        lt_timer_kind_name(t->kind), t->live == 1 ? "" : "s", t->created,
                        t->inherited ? " (inherited across exec)" : "");
        write_at(m, st, located_at(st));
        if (nstacks > 1)
                fprintf(m, " (from %zu stacks, the biggest's below)", nstacks);
        if (st->heap)
                fputs(" in V8's own work (its heap's pages, its collectors' and compilers' tables, "
                      "which serve every object, whichever line made the heap grow: a heap "
                      "snapshot names the objects)",
                      m);
        if (rule == RULE_LEAK)
                fprintf(m, ", judged a leak: %s", s->hist->verdict.reason);
        else if (rule == RULE_UNRELEASED)
                fprintf(m, ", still %s %s (too short a history to judge its growth)",
                        map ? "mapped" : "allocated",
                        lt_trace_complete(r->trace) ? "when the process ended"
                                                    : "at the trace's last update");
        if (t && t->repeating && t->interval_ns % 1000000 == 0)
                fprintf(m, ", repeating every %" PRIu64 " ms", t->interval_ns / 1000000);
        else if (t && t->repeating)
                fprintf(m, ", repeating every %.3f ms", (double)t->interval_ns / 1e6);
        if (t && t->oldest_age_s >= 0)
                fprintf(m, ", the oldest %.1f s old", t->oldest_age_s);
        fprintf(m, ". pid %" PRIu32 " (", r->trace->hdr.pid);
        lt_write_command(m, r->trace);
        fputs(").", m);
        if (fclose(m)) {
                free(text);
                return NULL;
        }
        return text;
}

/* A result for site S, which sums NSTACKS sites (place_result). */
static int site_result(struct sarif *c, struct lt_report *r, const struct lt_site *s,
                       enum rule rule, size_t nstacks)
{
        struct stack st = {0};
        char *msg = NULL;
        int err = site_stack(r, s, &st);
        /* Unjudged, memory that only the libraries' or node's own code
         * holds at the end (its start-up's tables) is not for review. */
        if (!err && rule == RULE_UNRELEASED && first_user(&st) < 0) {
                free(st.f);
                return 0;
        }
        if (!err && !(msg = message(r, &st, s, NULL, rule, nstacks)))
                err = -ENOMEM;
        if (!err) {
                begin_result(c, rule, msg, &st);
                fprintf(c->out,
                        "\"pid\":%" PRIu32 ",\"kind\":\"%s\",\"live_bytes\":%" PRId64
                        ",\"live_blocks\":%" PRId64 ",\"allocations\":%" PRIu64
                        ",\"stacks\":%zu,\"verdict\":",
                        r->trace->hdr.pid, lt_site_kind_name(s), s->live_bytes, s->live_blocks,
                        s->allocs, nstacks);
                if (s->hist && lt_history_judged(r))
                        fprintf(c->out, "\"%s\"}}", lt_verdict_name(s->hist->verdict.kind));
                else
                        fputs("null}}", c->out);
        }
        free(msg);
        free(st.f);
        return err;
}

static int timer_result(struct sarif *c, struct lt_report *r, const struct lt_timer_site *t)
{
        struct stack st = {0};
        char *msg = NULL;
        int err = t->kind == LT_TIMER_JS ? js_stack(t, &st) : site_stack(r, &t->stack, &st);
        if (!err && !(msg = message(r, &st, NULL, t, RULE_TIMER, 1)))
                err = -ENOMEM;
        if (!err) {
                begin_result(c, RULE_TIMER, msg, &st);
                fprintf(c->out,
                        "\"pid\":%" PRIu32 ",\"kind\":\"%s\",\"live\":%" PRId64
                        ",\"created\":%" PRIu64 ",\"repeating\":%s,\"interval_ns\":%" PRIu64 "%s}}",
                        r->trace->hdr.pid, lt_timer_kind_name(t->kind), t->live, t->created,
                        t->repeating ? "true" : "false", t->interval_ns,
                        t->inherited ? ",\"inherited\":true" : "");
        }
        free(msg);
        free(st.f);
        return err;
}

/* A leak result for place PL (places.h), as `check` judges it: located at
 * its line, its figures and verdict the place's, its code flow the stack
 * of its biggest site. The place is given to site_result() as a site of
 * its own: the biggest's frames, the place's sums and verdict. */
static int place_result(struct sarif *c, struct lt_report *r, const struct lt_place *pl)
{
        struct lt_site sum = *pl->sites[0];
        struct lt_site_history hist = *sum.hist;
        sum.live_bytes = pl->live_bytes;
        sum.live_blocks = pl->live_blocks;
        sum.allocs = 0;
        for (size_t k = 0; k < pl->nsites; k++)
                sum.allocs += pl->sites[k]->allocs;
        hist.verdict = pl->verdict;
        sum.hist = &hist;
        return site_result(c, r, &sum, RULE_LEAK, pl->nsites);
}

/* The results of one process: its leaks, a result per place judged one,
 * outside the program's own code only when it has none, as `check` judges
 * them; with too short a history, a result per site of the program's own
 * code still holding memory; then its timer sites. TOP (0: all) bounds
 * each. */
static int write_results(struct sarif *c, struct lt_report *r, unsigned top)
{
        if (lt_history_judged(r)) {
                struct lt_places p;
                if (lt_places_build(r, &p) < 0)
                        return -ENOMEM;
                int err = 0;
                for (size_t i = 0, shown = 0; i < p.n && !err && (!top || shown < top); i++) {
                        const struct lt_place *pl = &p.v[i];
                        if (pl->verdict.kind != LT_VERDICT_LEAK || !(pl->users || !p.any_users))
                                continue;
                        err = place_result(c, r, pl);
                        shown++;
                }
                lt_places_free(&p);
                if (err)
                        return err;
        } else {
                size_t n = top && top < r->nsites ? top : r->nsites;
                for (size_t i = 0; i < n; i++) {
                        int err = r->sites[i]->live_bytes > 0
                                      ? site_result(c, r, r->sites[i], RULE_UNRELEASED, 1)
                                      : 0;
                        if (err)
                                return err;
                }
        }
        const struct lt_timers *t = r->timers;
        size_t n = top && top < t->nsites ? top : t->nsites;
        for (size_t i = 0; i < n; i++) {
                const struct lt_timer_site *s = t->sites[i];
                if ((!s->repeating && s->live < 2) || s->node_own)
                        continue;
                int err = timer_result(c, r, s);
                if (err)
                        return err;
        }
        return 0;
}

static void write_rules(FILE *out)
{
        fputs("\"rules\":[", out);
#define LT_X_RULE(K, id, name, level, short, full)                                                 \
        fprintf(out,                                                                               \
                "%s{\"id\":\"%s\",\"name\":\"%s\",\"shortDescription\":{\"text\":\"%s\"},"         \
                "\"fullDescription\":{\"text\":\"%s\"},"                                           \
                "\"defaultConfiguration\":{\"level\":\"%s\"}}",                                    \
                RULE_##K ? "," : "", id, name, short, full, level);
        LT_SARIF_RULES(LT_X_RULE)
#undef LT_X_RULE
        putc(']', out);
}

int lt_write_sarif(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        struct sarif c = {.out = out, .root = get_current_dir_name()};
        if (c.root && c.root[0] != '/') {
                free(c.root);
                c.root = NULL;
        }
        if (c.root && !strcmp(c.root, "/"))
                c.root[0] = '\0'; /* every absolute path is then under it */
        fputs("{\"$schema\":\"" SARIF_SCHEMA "\",\"version\":\"2.1.0\",\"runs\":[{"
              "\"tool\":{\"driver\":{\"name\":\"leaktrace\",\"version\":\"" LEAKTRACE_VERSION_STRING
              "\",",
              out);
        write_rules(out);
        fputs("}},", out);
        if (c.root) {
                fputs("\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://", out);
                put_uri(out, c.root, false);
                fputs("/\",\"description\":{\"text\":\"The directory leaktrace report ran "
                      "in.\"}}},",
                      out);
        }
        fputs("\"columnKind\":\"utf16CodeUnits\",\"results\":[", out);
        int err = 0;
        for (size_t i = 0; i < n && !err; i++)
                err = write_results(&c, reports[i], top);
        fputs("],\"properties\":{\"processes\":[", out);
        for (size_t i = 0; i < n; i++) {
                const struct lt_trace *t = reports[i]->trace;
                fprintf(out, "%s{\"pid\":%" PRIu32 ",\"command\":[", i ? "," : "", t->hdr.pid);
                for (unsigned j = 0; j < t->argc; j++) {
                        if (j)
                                putc(',', out);
                        lt_json_string(out, t->argv[j]);
                }
                fprintf(out, "],\"complete\":%s}", lt_trace_complete(t) ? "true" : "false");
        }
        fputs("]}}]}\n", out);
        free(c.root);
        if (err)
                return err;
        return lt_out_error(out);
}
