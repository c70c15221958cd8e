/* speedscope's file format (its schema: speedscope's file-format-schema.json),
 * so that a leak opens in speedscope's viewer: per process two "sampled"
 * profiles, live bytes then live blocks, each site one sample weighted by
 * its figure; the frames in one shared table, each a function with its
 * file, line (the line running in that frame) and a JS frame's column.
 * Unlike the folded stacks, callers keep their lines: speedscope shows a
 * frame's file and line beside its name, and two call lines in one
 * function are two ways into the leak. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "history.h"
#include "json_escape.h"
#include "writers.h"

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

/* One entry of the shared frames table. */
struct frame {
        char *key; /* name, file, line and column: see frame_index() */
        size_t keylen;
        unsigned index;
        const char *name; /* into key */
        const char *file; /* the symbolizer's: lives as long as the report */
        unsigned line;
        unsigned col;
        UT_hash_handle hh;
};

struct frames {
        struct frame *hash;
        struct frame **order; /* by index */
        unsigned n, cap;
        char *key; /* the key looked up, grown as needed */
        size_t keycap;
};

/* A site's sample: frame indexes, innermost first, and its figures. */
struct sample {
        unsigned *idx;
        unsigned n;
        int64_t bytes;
        int64_t blocks;
};

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash && slash[1] ? slash + 1 : path;
}

static void frames_free(struct frames *t)
{
        struct frame *f, *tmp;
        HASH_ITER(hh, t->hash, f, tmp)
        {
                HASH_DEL(t->hash, f);
                free(f->key);
                free(f);
        }
        free(t->order);
        free(t->key);
}

/* The index of the frame (NAME, FILE, LINE, COL) in T, added when new.
 * Returns the index, or -ENOMEM. */
static long frame_index(struct frames *t, const char *name, const char *file, unsigned line,
                        unsigned col)
{
        size_t nl = strlen(name) + 1, fl = file ? strlen(file) + 1 : 0;
        size_t len = 1 + nl + fl + 2 * sizeof(unsigned);
        if (len > t->keycap) {
                char *more = realloc(t->key, 2 * len);
                if (!more)
                        return -ENOMEM;
                t->key = more;
                t->keycap = 2 * len;
        }
        /* Whether there is a file first, and '\0' after each string: no
         * two frames share a key. */
        char *key = t->key;
        key[0] = file ? 'f' : '-';
        memcpy(key + 1, name, nl);
        if (file)
                memcpy(key + 1 + nl, file, fl);
        memcpy(key + 1 + nl + fl, &line, sizeof(line));
        memcpy(key + 1 + nl + fl + sizeof(line), &col, sizeof(col));
        struct frame *f;
        HASH_FIND(hh, t->hash, key, len, f);
        if (f)
                return f->index;
        if (t->n == t->cap) {
                unsigned cap = t->cap ? 2 * t->cap : 64;
                struct frame **more = realloc(t->order, cap * sizeof(*more));
                if (!more)
                        return -ENOMEM;
                t->order = more;
                t->cap = cap;
        }
        if (!(f = calloc(1, sizeof(*f))) || !(f->key = malloc(len))) {
                free(f);
                return -ENOMEM;
        }
        memcpy(f->key, key, len);
        f->keylen = len;
        f->index = t->n;
        f->name = f->key + 1;
        f->file = file;
        f->line = line;
        f->col = col;
        HASH_ADD_KEYPTR(hh, t->hash, f->key, f->keylen, f);
        t->order[t->n] = f;
        return t->n++;
}

static int push(struct sample *s, size_t *cap, long idx)
{
        if (idx < 0)
                return (int)idx;
        if (s->n == *cap) {
                size_t c = *cap ? 2 * *cap : 16;
                unsigned *more = realloc(s->idx, c * sizeof(*more));
                if (!more)
                        return -ENOMEM;
                s->idx = more;
                *cap = c;
        }
        s->idx[s->n++] = (unsigned)idx;
        return 0;
}

static int add_named(struct frames *t, struct sample *s, size_t *cap, const char *name)
{
        return push(s, cap, frame_index(t, name, NULL, 0, 0));
}

/* The frames of site S of R into *SMP, innermost first, as the other
 * reports show them: inline frames apart, wrappers left out. */
static int site_sample(struct frames *t, struct lt_report *r, const struct lt_site *s,
                       struct sample *smp)
{
        size_t cap = 0;
        struct lt_shown_frame *fr;
        unsigned nfr;
        *smp = (struct sample){.bytes = s->live_bytes, .blocks = s->live_blocks};
        int err = lt_site_frames(r, s, &fr, &nfr);
        if (err)
                return err;
        if (s->kind == LT_SITE_MAPPING)
                err = add_named(t, smp, &cap, "[anonymous mapping]");
        for (unsigned i = 0; i < nfr && !err; i++) {
                const struct lt_frame_info *f = fr[i].info;
                const struct lt_module_rec *m = fr[i].mod >= 0 ? &r->trace->mods[fr[i].mod] : NULL;
                /* Without a function, module+0x1234 or 0x7f...: room for
                 * a module record's path. */
                char buf[LT_PATH_MAX + 24];
                const char *name = f->function;
                if (!name && m)
                        snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, base_name(m->path),
                                 fr[i].addr - m->bias);
                else if (!name)
                        snprintf(buf, sizeof(buf), "0x%" PRIx64, fr[i].addr);
                unsigned col = f->code == LT_CODE_JS ? f->column : 0;
                err = push(smp, &cap,
                           frame_index(t, name ? name : buf, f->file, f->file ? f->line : 0, col));
        }
        if (!err && !nfr)
                err = add_named(t, smp, &cap, "[no frames recorded]");
        if (!err && lt_site_cut_root(s))
                err = add_named(t, smp, &cap, lt_site_cut_root(s));
        free(fr);
        return err;
}

static void write_frame(FILE *out, const struct frame *f)
{
        fputs("{\"name\":", out);
        lt_json_string(out, f->name);
        if (f->file) {
                fputs(",\"file\":", out);
                lt_json_string(out, f->file);
        }
        if (f->line)
                fprintf(out, ",\"line\":%u", f->line);
        if (f->col)
                fprintf(out, ",\"col\":%u", f->col);
        putc('}', out);
}

/* One sampled profile of R's N samples, weighted by bytes or by blocks;
 * speedscope wants each stack outermost first. */
static void write_profile(FILE *out, const struct lt_report *r, const struct sample *smp, size_t n,
                          int blocks)
{
        const struct lt_trace *t = r->trace;
        int64_t total = 0;
        for (size_t i = 0; i < n; i++) { /* a damaged file's figures may not add up: saturate */
                int64_t v = blocks ? smp[i].blocks : smp[i].bytes;
                if (__builtin_add_overflow(total, v, &total))
                        total = v < 0 ? INT64_MIN : INT64_MAX;
        }
        char *name = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&name, &len);
        if (m) {
                fprintf(m, "pid %" PRIu32 " ", t->hdr.pid);
                lt_write_command(m, t);
                fputs(blocks ? ": live blocks" : ": live bytes", m);
        }
        fprintf(out, "{\"type\":\"sampled\",\"name\":");
        if (m && !fclose(m))
                lt_json_string(out, name);
        else
                fprintf(out, "\"pid %" PRIu32 "\"", t->hdr.pid);
        free(name);
        fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRId64 ",\"samples\":[",
                blocks ? "none" : "bytes", total);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ",[" : "[", out);
                for (unsigned j = smp[i].n; j-- > 0;)
                        fprintf(out, "%u%s", smp[i].idx[j], j ? "," : "");
                putc(']', out);
        }
        fputs("],\"weights\":[", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%" PRId64, i ? "," : "", blocks ? smp[i].blocks : smp[i].bytes);
        fputs("]}", out);
}

int lt_write_speedscope(FILE *out, struct lt_report *const *reports, size_t n)
{
        struct frames t = {0};
        struct sample **smp = calloc(n ? n : 1, sizeof(*smp));
        size_t *nsmp = calloc(n ? n : 1, sizeof(*nsmp));
        int err = smp && nsmp ? 0 : -ENOMEM;
        /* Every site first, so that the shared table is whole before any
         * profile names its indexes. */
        for (size_t k = 0; k < n && !err; k++) {
                struct lt_report *r = reports[k];
                if (!(smp[k] = calloc(r->nsites ? r->nsites : 1, sizeof(**smp)))) {
                        err = -ENOMEM;
                        break;
                }
                for (size_t i = 0; i < r->nsites && !err; i++) {
                        const struct lt_site *s = r->sites[i];
                        if (s->live_bytes <= 0) /* as the folded stacks: a weight of nothing */
                                continue;
                        err = site_sample(&t, r, s, &smp[k][nsmp[k]]);
                        nsmp[k]++; /* its frames are freed below, even on error */
                }
        }
        if (!err) {
                fputs("{\"$schema\":\"" SCHEMA_URL
                      "\",\"exporter\":\"leaktrace " LEAKTRACE_VERSION_STRING
                      "\",\"name\":\"leaktrace: live memory by call stack\","
                      "\"activeProfileIndex\":0,\"profiles\":[",
                      out);
                for (size_t k = 0; k < n; k++) {
                        if (k)
                                putc(',', out);
                        write_profile(out, reports[k], smp[k], nsmp[k], 0);
                        putc(',', out);
                        write_profile(out, reports[k], smp[k], nsmp[k], 1);
                }
                fputs("],\"shared\":{\"frames\":[", out);
                for (unsigned i = 0; i < t.n; i++) {
                        if (i)
                                putc(',', out);
                        write_frame(out, t.order[i]);
                }
                fputs("]}}\n", out);
        }
        for (size_t k = 0; smp && k < n; k++) {
                for (size_t i = 0; smp[k] && i < nsmp[k]; i++)
                        free(smp[k][i].idx);
                free(smp[k]);
        }
        free(smp);
        free(nsmp);
        frames_free(&t);
        if (err)
                return err;
        return lt_out_error(out);
}
