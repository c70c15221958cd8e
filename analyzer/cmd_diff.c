/* `leaktrace diff A B`: what changed between two states, site by site. A
 * state is a trace file as it ended (FILE), or one of its snapshots
 * (FILE@NAME, FILE@N counting from 1). Sites are matched by what their
 * frames are (function, file, line; module and offset where unknown), so
 * two runs of one program compare whatever their load addresses. Between
 * two files, by function and file alone: they are often two versions of
 * the code (a leak, then its fix), where an edit moved every line below
 * it, and the same stacks at other lines would read as one site gone and
 * another come; the sites of one function that differ only in their
 * lines are summed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>

#include "across.h"
#include "cli.h"
#include "commands.h"
#include "history.h"
#include "json_escape.h"
#include "report.h"
#include "timers.h"
#include "trace.h"
#include "write_history.h"
#include "writers.h"

/* One side of the comparison. */
struct state {
        const char *arg;
        char *path;
        const char *snap_arg; /* after the '@', or NULL */
        struct lt_trace trace;
        struct lt_report rep;
        int loaded;
        const struct lt_snapshot_rec *snap; /* NULL: the file as it ended */
        int64_t live_bytes, live_blocks;
        struct state *same; /* the state whose file this one shares, or NULL */
};

struct entry {
        char *key;
        const struct lt_site *site[2]; /* in A's report, in B's */
        struct lt_report *rep[2];
        int64_t bytes[2], blocks[2];
        int64_t dbytes, dblocks;
        int change;
        UT_hash_handle hh;
};

#define CHANGES(X)                                                                                 \
        X(GREW, "grew")                                                                            \
        X(APPEARED, "appeared")                                                                    \
        X(SHRANK, "shrank")                                                                        \
        X(DISAPPEARED, "disappeared")                                                              \
        X(UNCHANGED, "unchanged")
enum {
#define X_ENUM(K, name) CH_##K,
        CHANGES(X_ENUM)
#undef X_ENUM
            CH__COUNT
};
static const char *const change_name[] = {
#define X_NAME(K, name) [CH_##K] = name,
    CHANGES(X_NAME)
#undef X_NAME
};

/* FILE, or FILE@SNAPSHOT when ARG is not itself a file. */
/* A state's file and snapshot from ARG. A directory stands for the one
 * trace file in it (`leaktrace run -o DIR` of one process). Returns 0,
 * -ENOMEM, or -EINVAL said on stderr. */
static int parse_state(struct state *s, const char *arg)
{
        s->arg = arg;
        struct stat st;
        const char *at = strrchr(arg, '@');
        if (stat(arg, &st) == 0 || !at) {
                s->path = strdup(arg);
        } else {
                s->path = strndup(arg, (size_t)(at - arg));
                s->snap_arg = at + 1;
        }
        if (!s->path)
                return -ENOMEM;
        if (stat(s->path, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        char **paths;
        size_t n;
        if (lt_expand_trace_args(&s->path, 1, &paths, &n) != 0)
                return -EINVAL; /* said */
        int err = 0;
        if (n == 1) {
                free(s->path);
                s->path = paths[0];
        } else {
                fprintf(stderr, "leaktrace: %s: %zu trace files in this directory; name the one "
                                "to compare\n",
                        s->path, n);
                for (size_t i = 0; i < n; i++)
                        free(paths[i]);
                err = -EINVAL;
        }
        free(paths);
        return err;
}

static int load_state(struct state *s)
{
        char why[512];
        if (s->same) {
                s->loaded = 0;
        } else {
                if (lt_trace_load(s->path, &s->trace, why, sizeof(why)) < 0) {
                        fprintf(stderr, "leaktrace: %s: %s\n", s->path, why);
                        return -EINVAL;
                }
                if (lt_report_build(&s->rep, &s->trace) < 0) {
                        lt_trace_free(&s->trace);
                        fprintf(stderr, "leaktrace: %s: out of memory\n", s->path);
                        return -ENOMEM;
                }
                s->loaded = 1;
        }
        const struct lt_trace *t = s->same ? &s->same->trace : &s->trace;
        const struct lt_report *r = s->same ? &s->same->rep : &s->rep;
        if (!s->snap_arg) {
                s->live_bytes = r->live_bytes;
                s->live_blocks = r->live_blocks;
                return 0;
        }
        for (uint64_t i = 0; i < t->nsnaps && !s->snap; i++)
                if (!strcmp(t->snaps[i].name, s->snap_arg))
                        s->snap = &t->snaps[i];
        if (!s->snap && *s->snap_arg) {
                char *end;
                unsigned long k = strtoul(s->snap_arg, &end, 10);
                if (!*end && s->snap_arg[0] != '-' && k >= 1 && k <= t->nsnaps)
                        s->snap = &t->snaps[k - 1];
        }
        if (!s->snap) {
                fprintf(stderr, "leaktrace: %s: no snapshot '%s'", s->path, s->snap_arg);
                if (!t->nsnaps)
                        fputs(" (it has none: take them with `leaktrace ctl PID snapshot NAME`)",
                              stderr);
                for (uint64_t i = 0; i < t->nsnaps; i++)
                        fprintf(stderr, "%s%" PRIu64 " '%s'", i ? ", " : " (it has: ", i + 1,
                                t->snaps[i].name);
                fputs(t->nsnaps ? ")\n" : "\n", stderr);
                return -EINVAL;
        }
        s->live_bytes = s->snap->live_bytes;
        s->live_blocks = s->snap->live_blocks;
        return 0;
}

static struct lt_report *rep_of(struct state *s)
{
        return s->same ? &s->same->rep : &s->rep;
}

/* Whether sites are matched by their lines too: both states of one file. */
static bool by_line;

static int add(struct entry **all, int side, struct lt_report *r, const struct lt_site *s,
               int64_t bytes, int64_t blocks)
{
        char *key = lt_site_key(r, s, by_line);
        if (!key)
                return -ENOMEM;
        struct entry *e;
        HASH_FIND_STR(*all, key, e);
        if (!e) {
                if (!(e = calloc(1, sizeof(*e)))) {
                        free(key);
                        return -ENOMEM;
                }
                e->key = key;
                HASH_ADD_KEYPTR(hh, *all, e->key, strlen(e->key), e);
        } else {
                free(key);
        }
        if (!e->site[side]) {
                e->site[side] = s;
                e->rep[side] = r;
        }
        /* sums that a damaged file may make absurd: wrapped, never undefined */
        __builtin_add_overflow(e->bytes[side], bytes, &e->bytes[side]);
        __builtin_add_overflow(e->blocks[side], blocks, &e->blocks[side]);
        return 0;
}

static int add_state(struct entry **all, int side, struct state *st, int with_mappings)
{
        struct lt_report *r = rep_of(st);
        const struct lt_trace *t = r->trace;
        if (!st->snap) {
                for (size_t i = 0; i < r->nsites; i++) {
                        const struct lt_site *s = r->sites[i];
                        if (s->kind == LT_SITE_MAPPING && !with_mappings)
                                continue;
                        int err = add(all, side, r, s, s->live_bytes, s->live_blocks);
                        if (err)
                                return err;
                }
                return 0;
        }
        for (uint64_t i = st->snap->first_val; i < st->snap->first_val + st->snap->nvals; i++) {
                const struct lt_snapval_rec *v = &t->snapvals[i];
                const struct lt_site *s = r->site_of[v->stack - 1];
                if (!s)
                        continue;
                int err = add(all, side, r, s, v->live_bytes, v->live_blocks);
                if (err)
                        return err;
        }
        return 0;
}

static uint64_t magnitude(int64_t v)
{
        return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* Biggest change first, either way: a leak a fix removed (18.8 MB gone)
 * comes before the noise of a few pages that grew, not after all of it.
 * At equal size, growth before shrinking. */
static int entry_cmp(const void *pa, const void *pb)
{
        const struct entry *a = *(struct entry *const *)pa, *b = *(struct entry *const *)pb;
        uint64_t ma = magnitude(a->dbytes), mb = magnitude(b->dbytes);
        if (ma != mb)
                return ma > mb ? -1 : 1;
        if (a->dbytes != b->dbytes)
                return a->dbytes > b->dbytes ? -1 : 1;
        ma = magnitude(a->dblocks), mb = magnitude(b->dblocks);
        if (ma != mb)
                return ma > mb ? -1 : 1;
        if (a->dblocks != b->dblocks)
                return a->dblocks > b->dblocks ? -1 : 1;
        return strcmp(a->key, b->key);
}

/* "13.7 MiB", "0 bytes": a short figure without its sign. */
static const char *unsigned_short(char *buf, size_t len, int64_t bytes)
{
        const char *s = lt_signed_bytes(buf, len, (double)bytes);
        return s[0] == '+' ? s + 1 : s;
}

static void describe_text(FILE *out, const char *label, struct state *s)
{
        char h[64];
        const struct lt_trace *t = rep_of(s)->trace;
        fprintf(out, "%s: %s", label, s->arg);
        if (s->snap)
                fprintf(out, " (snapshot %td '%s' at %.3f s)", s->snap - t->snaps + 1,
                        s->snap->name, lt_trace_seconds(t, s->snap->time_ns));
        else
                fprintf(out, " (pid %" PRIu32 ", %s)", t->hdr.pid,
                        lt_trace_complete(t) ? "as it ended" : "as of its last update");
        fprintf(out, ": %s live in %" PRId64 " block%s\n",
                lt_human_bytes(h, sizeof(h), s->live_bytes), s->live_blocks,
                s->live_blocks == 1 ? "" : "s");
}

static void describe_json(FILE *out, struct state *s)
{
        const struct lt_trace *t = rep_of(s)->trace;
        fputs("{\"file\":", out);
        lt_json_string(out, s->path);
        fprintf(out, ",\"pid\":%" PRIu32 ",\"snapshot\":", t->hdr.pid);
        lt_json_string(out, s->snap ? s->snap->name : NULL);
        if (s->snap)
                fprintf(out, ",\"t\":%.3f", lt_trace_seconds(t, s->snap->time_ns));
        else
                fputs(",\"t\":null", out);
        fprintf(out, ",\"live_bytes\":%" PRId64 ",\"live_blocks\":%" PRId64 "}", s->live_bytes,
                s->live_blocks);
}

static const char *signed_int(char *buf, size_t len, int64_t v)
{
        snprintf(buf, len, "%s%" PRId64, v > 0 ? "+" : "", v);
        return buf;
}

/* Live timers per creation site in each file (whole files only: a
 * snapshot keeps no timers), matched by kind and where they were made;
 * node's own left out, as `check` counts them. */
struct tentry {
        char key[600];   /* kind, and where (without lines between two files) */
        char where[512]; /* as the first of its sites says it */
        const struct lt_timer_site *site[2];
        int64_t live[2];
        UT_hash_handle hh;
};

static int64_t tdelta(const struct tentry *e)
{
        int64_t d;
        __builtin_sub_overflow(e->live[1], e->live[0], &d);
        return d;
}

static int tentry_cmp(const void *pa, const void *pb)
{
        const struct tentry *a = *(struct tentry *const *)pa, *b = *(struct tentry *const *)pb;
        uint64_t ma = magnitude(tdelta(a)), mb = magnitude(tdelta(b));
        if (ma != mb)
                return ma > mb ? -1 : 1;
        return strcmp(a->key, b->key);
}

static int add_timers(struct tentry **all, int side, struct lt_report *r, int64_t *total)
{
        const struct lt_timers *t = r->timers;
        for (size_t i = 0; t && i < t->nsites; i++) {
                const struct lt_timer_site *s = t->sites[i];
                if (s->node_own)
                        continue;
                char where[512];
                lt_timer_where(where, sizeof(where), r, s, false);
                struct tentry *e, probe;
                int n;
                if (by_line || s->inherited) {
                        n = snprintf(probe.key, sizeof(probe.key), "%s timer at %s",
                                     lt_timer_kind_name(s->kind), where);
                } else if (s->kind == LT_TIMER_JS) {
                        const struct lt_js_frame *f = s->njs_frames ? s->js_frames[0] : NULL;
                        n = snprintf(probe.key, sizeof(probe.key), "js timer at %s@%s",
                                     f && f->function ? f->function : "?",
                                     f && f->file ? f->file : "?");
                } else {
                        char *frames = lt_site_key(r, &s->stack, false);
                        if (!frames)
                                return -ENOMEM;
                        n = snprintf(probe.key, sizeof(probe.key), "%s timer at %s",
                                     lt_timer_kind_name(s->kind), frames);
                        free(frames);
                }
                if (n < 0)
                        continue;
                HASH_FIND_STR(*all, probe.key, e);
                if (!e) {
                        if (!(e = calloc(1, sizeof(*e))))
                                return -ENOMEM;
                        memcpy(e->key, probe.key, sizeof(e->key));
                        snprintf(e->where, sizeof(e->where), "%s", where);
                        HASH_ADD_STR(*all, key, e);
                }
                e->site[side] = s;
                __builtin_add_overflow(e->live[side], s->live, &e->live[side]);
                __builtin_add_overflow(*total, s->live, total);
        }
        return 0;
}

/* The timers' part of the diff: text lines, or JSON's "timers" member. */
static int write_timers(FILE *out, struct state *st, unsigned top, int json)
{
        struct tentry *all = NULL, *e, *tmp, **list = NULL;
        int64_t total[2] = {0, 0};
        int err = 0;
        for (int side = 0; side < 2 && !err; side++)
                err = add_timers(&all, side, rep_of(&st[side]), &total[side]);
        size_t n = 0, k = 0;
        HASH_ITER(hh, all, e, tmp)
        n += tdelta(e) != 0;
        if (!err && !(list = malloc((n + 1) * sizeof(*list))))
                err = -ENOMEM;
        if (!err) {
                HASH_ITER(hh, all, e, tmp)
                if (tdelta(e) != 0)
                        list[k++] = e;
                qsort(list, n, sizeof(*list), tentry_cmp);
                size_t limit = top && top < n ? top : n;
                char d[32];
                if (json) {
                        fprintf(out,
                                ",\"timers\":{\"live_before\":%" PRId64 ",\"live_after\":%" PRId64
                                ",\"sites\":[",
                                total[0], total[1]);
                        for (size_t i = 0; i < limit; i++) {
                                const struct lt_timer_site *s = list[i]->site[list[i]->site[1] ? 1 : 0];
                                fprintf(out, "%s{\"kind\":\"%s\",\"where\":", i ? "," : "",
                                        lt_timer_kind_name(s->kind));
                                lt_json_string(out, list[i]->where);
                                fprintf(out,
                                        ",\"live_before\":%" PRId64 ",\"live_after\":%" PRId64
                                        ",\"live_delta\":%" PRId64 "}",
                                        list[i]->live[0], list[i]->live[1], tdelta(list[i]));
                        }
                        fputs("]}", out);
                } else if (n) {
                        int64_t dt;
                        __builtin_sub_overflow(total[1], total[0], &dt);
                        fprintf(out, "\ntimers: %" PRId64 " -> %" PRId64 " live (%s)\n", total[0],
                                total[1], signed_int(d, sizeof(d), dt));
                        for (size_t i = 0; i < limit; i++)
                                fprintf(out, "  %s live %s timer%s at %s (%" PRId64 " -> %" PRId64 ")\n",
                                        signed_int(d, sizeof(d), tdelta(list[i])),
                                        lt_timer_kind_name(list[i]->site[list[i]->site[1] ? 1 : 0]->kind),
                                        magnitude(tdelta(list[i])) == 1 ? "" : "s", list[i]->where,
                                        list[i]->live[0], list[i]->live[1]);
                        if (limit < n)
                                fprintf(out, "  ... and %zu more (--top 0 shows all)\n", n - limit);
                }
        }
        HASH_ITER(hh, all, e, tmp)
        {
                HASH_DEL(all, e);
                free(e);
        }
        free(list);
        return err;
}

static int write_diff(FILE *out, struct state *st, struct entry **list, size_t n, size_t *count,
                      unsigned top, int json)
{
        size_t shown = 0, limit = top ? top : SIZE_MAX;
        char a[64], b[64];
        int64_t db, dk;
        __builtin_sub_overflow(st[1].live_bytes, st[0].live_bytes, &db);
        __builtin_sub_overflow(st[1].live_blocks, st[0].live_blocks, &dk);
        if (json) {
                fputs("{\"tool\":\"leaktrace\",\"version\":1,\"diff\":{\"a\":", out);
                describe_json(out, &st[0]);
                fputs(",\"b\":", out);
                describe_json(out, &st[1]);
                fprintf(out, ",\"bytes_delta\":%" PRId64 ",\"blocks_delta\":%" PRId64, db, dk);
                for (int c = 0; c < CH__COUNT; c++)
                        fprintf(out, ",\"%s\":%zu", change_name[c], count[c]);
                fputs(",\"sites\":[", out);
        } else {
                describe_text(out, "A", &st[0]);
                describe_text(out, "B", &st[1]);
                char hd[64];
                fprintf(out,
                        "change: %s (%s bytes), %s blocks; %zu site%s grew, %zu appeared, %zu "
                        "shrank, %zu disappeared, %zu unchanged\n",
                        lt_signed_bytes(hd, sizeof(hd), (double)db), signed_int(a, sizeof(a), db),
                        signed_int(b, sizeof(b), dk), count[CH_GREW],
                        count[CH_GREW] == 1 ? "" : "s", count[CH_APPEARED], count[CH_SHRANK],
                        count[CH_DISAPPEARED], count[CH_UNCHANGED]);
        }
        for (size_t i = 0; i < n && shown < limit; i++) {
                struct entry *e = list[i];
                if (e->change == CH_UNCHANGED)
                        continue;
                int side = e->site[1] ? 1 : 0;
                if (json) {
                        fprintf(out,
                                "%s{\"change\":\"%s\",\"kind\":\"%s\",\"bytes_before\":%" PRId64
                                ",\"bytes_after\":%" PRId64 ",\"bytes_delta\":%" PRId64
                                ",\"blocks_before\":%" PRId64 ",\"blocks_after\":%" PRId64
                                ",\"blocks_delta\":%" PRId64 ",",
                                shown ? "," : "", change_name[e->change],
                                e->site[side]->kind == LT_SITE_MAPPING ? "mapping" : "allocation",
                                e->bytes[0], e->bytes[1], e->dbytes, e->blocks[0], e->blocks[1],
                                e->dblocks);
                        int err = lt_write_json_frames(out, e->rep[side], e->site[side]);
                        if (err)
                                return err;
                        putc('}', out);
                } else {
                        char h0[64], h1[64], hd[64];
                        fprintf(
                            out,
                            "\n#%zu %s: %s (%s bytes), %s blocks (%s -> %s, %" PRId64 " -> %" PRId64
                            " blocks)%s\n",
                            shown + 1, change_name[e->change],
                            lt_signed_bytes(hd, sizeof(hd), (double)e->dbytes),
                            signed_int(a, sizeof(a), e->dbytes),
                            signed_int(b, sizeof(b), e->dblocks),
                            unsigned_short(h0, sizeof(h0), e->bytes[0]),
                            unsigned_short(h1, sizeof(h1), e->bytes[1]), e->blocks[0], e->blocks[1],
                            e->site[side]->kind == LT_SITE_MAPPING ? " (anonymous memory)" : "");
                        int err = lt_write_text_frames(out, e->rep[side], e->site[side]);
                        if (err)
                                return err;
                }
                shown++;
        }
        size_t changed = n - count[CH_UNCHANGED];
        if (json)
                putc(']', out);
        else if (shown < changed)
                fprintf(out, "\n... and %zu more changed site%s (--top 0 shows all)\n",
                        changed - shown, changed - shown == 1 ? "" : "s");
        int err = st[0].snap || st[1].snap ? 0 : write_timers(out, st, top, json);
        if (err)
                return err;
        if (json)
                fputs("}}\n", out);
        return lt_out_error(out);
}

static int diff_main(int argc, char **argv)
{
        struct lt_report_opts o = {.top = LT_DEFAULT_TOP};
        struct lt_args a;
        int c;
        lt_args_init(&a, &lt_diff_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0) {
                if (lt_report_opt(&o, "diff", lt_report_opt_name(c), a.val) < 0)
                        return 2;
        }
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (a.noperands != 2) {
                lt_usage_error("diff", "wants two states, A and B (FILE, FILE@NAME or FILE@N)");
                return 2;
        }
        struct state st[2] = {0};
        struct entry *all = NULL, **list = NULL, *e, *tmp;
        int status = 2, err = 0;
        for (int i = 0; i < 2 && !err; i++)
                err = parse_state(&st[i], argv[1 + i]);
        if (err) {
                if (err == -ENOMEM)
                        fprintf(stderr, "leaktrace: out of memory\n");
                goto out;
        }
        if (!strcmp(st[0].path, st[1].path))
                st[1].same = &st[0];
        by_line = st[1].same != NULL;
        if (load_state(&st[0]) < 0 || load_state(&st[1]) < 0)
                goto out;
        int with_mappings = !st[0].snap && !st[1].snap;
        for (int i = 0; i < 2 && !err; i++)
                err = add_state(&all, i, &st[i], with_mappings);
        size_t n = HASH_COUNT(all), count[CH__COUNT] = {0};
        if (!err && !(list = malloc((n + 1) * sizeof(*list))))
                err = -ENOMEM;
        if (err) {
                fprintf(stderr, "leaktrace: out of memory\n");
                goto out;
        }
        size_t k = 0;
        HASH_ITER(hh, all, e, tmp)
        {
                __builtin_sub_overflow(e->bytes[1], e->bytes[0], &e->dbytes);
                __builtin_sub_overflow(e->blocks[1], e->blocks[0], &e->dblocks);
                if (e->bytes[0] <= 0 && e->blocks[0] <= 0 && (e->bytes[1] > 0 || e->blocks[1] > 0))
                        e->change = CH_APPEARED;
                else if (e->bytes[1] <= 0 && e->blocks[1] <= 0 &&
                         (e->bytes[0] > 0 || e->blocks[0] > 0))
                        e->change = CH_DISAPPEARED;
                else if (e->dbytes > 0 || (e->dbytes == 0 && e->dblocks > 0))
                        e->change = CH_GREW;
                else if (e->dbytes < 0 || e->dblocks < 0)
                        e->change = CH_SHRANK;
                else
                        e->change = CH_UNCHANGED;
                count[e->change]++;
                list[k++] = e;
        }
        if (n)
                qsort(list, n, sizeof(*list), entry_cmp);
        err = write_diff(stdout, st, list, n, count, o.top, o.format == LT_FORMAT_JSON);
        if (err)
                fprintf(stderr, "leaktrace: cannot write the diff to standard output: %s\n", strerror(-err));
        status = err ? 2 : 0;
out:
        HASH_ITER(hh, all, e, tmp)
        {
                HASH_DEL(all, e);
                free(e->key);
                free(e);
        }
        free(list);
        for (int i = 0; i < 2; i++) {
                if (st[i].loaded) {
                        lt_report_free(&st[i].rep);
                        lt_trace_free(&st[i].trace);
                }
                free(st[i].path);
        }
        return status;
}

static const struct lt_cli_opt diff_opts[] = {
    {'t', 0, "top", "N", LT_KIND_ANY, NULL,
     "sites shown (default " LT_STR(LT_DEFAULT_TOP) "; 0: all)"},
    {'f', 0, "format", "FORMAT", LT_KIND_WORDS, "text json ", "{} (text by default)"},
    LT_SOURCE_MAPS_OPT,
    {0},
};

const struct lt_cli_cmd lt_diff_cmd = {
    .name = "diff",
    .operands = "A B",
    .summary = "the sites that grew, appeared, shrank or disappeared between two files or "
               "snapshots (FILE, FILE@NAME, FILE@N)",
    .description =
        "Compares two states site by site: the sites that grew, appeared, shrank or "
        "disappeared from A to B, with live bytes and blocks before, after and their change, "
        "biggest change first, either way (a leak that a fix removed comes before the noise "
        "that grew). A state is\n\n"
        "FILE\ta trace file as it ended (or as it is now, for a live process)\n\n"
        "FILE@NAME\tthe snapshot of that name, taken by `leaktrace ctl PID snapshot NAME`\n\n"
        "FILE@N\tthe Nth snapshot of the file, counting from 1\n\n"
        "A directory stands for the one trace file it holds (`leaktrace run -o DIR`).\n\n"
        "A and B may be two files (two runs of one program, or of two versions of its code: "
        "sites are matched by the functions and files of their frames, not their lines, which "
        "an edit moves), two snapshots of one file (matched by lines too), or a file and one "
        "of its snapshots. "
        "Snapshots hold allocation sites only: anonymous mappings, and the live timers per "
        "site where they were made (OS and JS, not node's own), are compared when both states "
        "are whole files.",
    .opts = diff_opts,
    .operand_kind = LT_KIND_TRACE,
    .exit_status = "Exit status: 0, or 2 when a state cannot be read (one line on stderr).",
    .main = diff_main,
};
