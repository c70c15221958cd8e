/* Sites and timers across processes: each process's shown sites and live
 * timer sites, keyed by what their frames are, summed into one table per
 * kind and sorted as a single process's report sorts its own. */
#define _GNU_SOURCE
#include "across.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

char *lt_site_key(struct lt_report *r, const struct lt_site *s, bool lines)
{
        char *key = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&key, &len);
        if (!m)
                return NULL;
        fprintf(m, "%u", s->kind);
        for (unsigned i = 0; i < s->nframes; i++) {
                uint64_t addr = lt_site_addr(s, i);
                int mod = lt_site_module(s, i);
                const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, false);
                if (!info) {
                        fclose(m);
                        free(key);
                        return NULL;
                }
                for (unsigned j = i ? 0 : s->first_skip; j < info->nframes; j++) {
                        const struct lt_frame_info *f = &info->frames[j];
                        if (f->function && f->file && lines)
                                fprintf(m, "|%s@%s:%u", f->function, f->file, f->line);
                        else if (f->function && f->file)
                                fprintf(m, "|%s@%s", f->function, f->file);
                        else if (f->function)
                                fprintf(m, "|%s", f->function);
                        else if (mod >= 0)
                                fprintf(m, "|%s+%" PRIx64, r->trace->mods[mod].path,
                                        addr - r->trace->mods[mod].bias);
                        else
                                fprintf(m, "|%" PRIx64, addr);
                }
        }
        if (fclose(m)) {
                free(key);
                return NULL;
        }
        return key;
}

/* Adds process I to a list of processes unless it is already the last:
 * the sites of one process come one after the other. */
static int add_proc(size_t **procs, size_t *n, size_t i)
{
        if (*n && (*procs)[*n - 1] == i)
                return 0;
        size_t *p = realloc(*procs, (*n + 1) * sizeof(*p));
        if (!p)
                return -ENOMEM;
        p[(*n)++] = i;
        *procs = p;
        return 0;
}

static int add_site(struct lt_across *a, size_t proc, struct lt_site *s)
{
        struct lt_report *r = a->reports[proc];
        char *key = lt_site_key(r, s, true);
        if (!key)
                return -ENOMEM;
        struct lt_across_site *e;
        HASH_FIND_STR(a->site_hash, key, e);
        if (e) {
                free(key);
        } else {
                if (!(e = calloc(1, sizeof(*e)))) {
                        free(key);
                        return -ENOMEM;
                }
                e->key = key;
                e->kind = s->kind;
                e->rep = r;
                e->site = s;
                HASH_ADD_KEYPTR(hh, a->site_hash, e->key, strlen(e->key), e);
        }
        /* sums that a damaged file may make absurd: wrapped, never undefined */
        __builtin_add_overflow(e->live_bytes, s->live_bytes, &e->live_bytes);
        __builtin_add_overflow(e->live_blocks, s->live_blocks, &e->live_blocks);
        e->allocs += s->allocs;
        e->bytes_allocated += s->bytes_allocated;
        if (s->hist && s->hist->verdict.kind == LT_VERDICT_LEAK && e->last_leak != proc + 1) {
                e->leak_in++;
                e->last_leak = proc + 1;
        }
        return add_proc(&e->procs, &e->nprocs, proc);
}

/* A timer site's key: its kind, then its JS application frame, or the
 * shown frames of its creation stack. */
static char *timer_key(struct lt_report *r, const struct lt_timer_site *s)
{
        char *key = NULL;
        if (s->kind == LT_TIMER_JS) {
                const struct lt_js_frame *f = &s->js->at;
                if (asprintf(&key, "%u|%s@%s:%u:%u", s->kind, f->function ? f->function : "",
                             f->file ? f->file : "", f->line, f->column) < 0)
                        return NULL;
                return key;
        }
        if (s->inherited)
                return asprintf(&key, "%u|inherited", s->kind) < 0 ? NULL : key;
        char *frames = lt_site_key(r, &s->stack, true);
        if (!frames || asprintf(&key, "%u|%s", s->kind, frames) < 0)
                key = NULL;
        free(frames);
        return key;
}

static int add_timer(struct lt_across *a, size_t proc, const struct lt_timer_site *s)
{
        struct lt_report *r = a->reports[proc];
        char *key = timer_key(r, s);
        if (!key)
                return -ENOMEM;
        struct lt_across_timer *e;
        HASH_FIND_STR(a->timer_hash, key, e);
        if (e) {
                free(key);
        } else {
                if (!(e = calloc(1, sizeof(*e)))) {
                        free(key);
                        return -ENOMEM;
                }
                e->key = key;
                e->kind = s->kind;
                e->rep = r;
                e->site = s;
                HASH_ADD_KEYPTR(hh, a->timer_hash, e->key, strlen(e->key), e);
        }
        __builtin_add_overflow(e->live, s->live, &e->live);
        e->created += s->created;
        if (s->repeating && (!e->repeating || s->live > e->repeat_live)) {
                e->repeating = true;
                e->interval_ns = s->interval_ns;
                e->repeat_live = s->live;
        }
        return add_proc(&e->procs, &e->nprocs, proc);
}

/* As history.c orders one process's sites: leaks first, then by live
 * bytes, then blocks; the rest only so that the order never depends on
 * hashing. */
static int site_cmp(const void *pa, const void *pb)
{
        const struct lt_across_site *a = *(struct lt_across_site *const *)pa;
        const struct lt_across_site *b = *(struct lt_across_site *const *)pb;
        if (!a->leak_in != !b->leak_in)
                return a->leak_in ? -1 : 1;
        if (a->live_bytes != b->live_bytes)
                return a->live_bytes > b->live_bytes ? -1 : 1;
        if (a->live_blocks != b->live_blocks)
                return a->live_blocks > b->live_blocks ? -1 : 1;
        return strcmp(a->key, b->key);
}

/* As timers.c orders one process's timer sites: repeating first, then by
 * live timers, then by timers made. */
static int timer_cmp(const void *pa, const void *pb)
{
        const struct lt_across_timer *a = *(struct lt_across_timer *const *)pa;
        const struct lt_across_timer *b = *(struct lt_across_timer *const *)pb;
        int c = lt_timer_rank_cmp(a->repeating, a->live, a->created, b->repeating, b->live,
                                  b->created);
        return c ? c : strcmp(a->key, b->key);
}

static int sort_tables(struct lt_across *a)
{
        a->sites = malloc((HASH_COUNT(a->site_hash) + 1) * sizeof(*a->sites));
        a->timers = malloc((HASH_COUNT(a->timer_hash) + 1) * sizeof(*a->timers));
        if (!a->sites || !a->timers)
                return -ENOMEM;
        struct lt_across_site *s, *stmp;
        HASH_ITER(hh, a->site_hash, s, stmp)
        {
                a->sites[a->nsites++] = s;
        }
        struct lt_across_timer *t, *ttmp;
        HASH_ITER(hh, a->timer_hash, t, ttmp)
        {
                a->timers[a->ntimers++] = t;
        }
        qsort(a->sites, a->nsites, sizeof(*a->sites), site_cmp);
        qsort(a->timers, a->ntimers, sizeof(*a->timers), timer_cmp);
        return 0;
}

int lt_across_build(struct lt_across *a, struct lt_report *const *reports, size_t n)
{
        memset(a, 0, sizeof(*a));
        a->reports = reports;
        a->nreports = n;
        int err = 0;
        for (size_t i = 0; i < n && !err; i++) {
                struct lt_report *r = reports[i];
                for (size_t j = 0; j < r->nsites && !err; j++)
                        err = add_site(a, i, r->sites[j]);
                for (size_t j = 0; j < r->timers->nsites && !err; j++)
                        err = add_timer(a, i, r->timers->sites[j]);
        }
        if (!err)
                err = sort_tables(a);
        if (err)
                lt_across_free(a);
        return err;
}

void lt_across_free(struct lt_across *a)
{
        struct lt_across_site *s, *stmp;
        HASH_ITER(hh, a->site_hash, s, stmp)
        {
                HASH_DEL(a->site_hash, s);
                free(s->key);
                free(s->procs);
                free(s);
        }
        struct lt_across_timer *t, *ttmp;
        HASH_ITER(hh, a->timer_hash, t, ttmp)
        {
                HASH_DEL(a->timer_hash, t);
                free(t->key);
                free(t->procs);
                free(t);
        }
        free(a->sites);
        free(a->timers);
        memset(a, 0, sizeof(*a));
}
