/* Places: see places.h. */
#define _GNU_SOURCE
#include "places.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "history.h"
#include "leaktrace/node_exe.h"
#include "write_history.h"

struct entry {
        char *key;
        size_t at; /* in the places' array */
        UT_hash_handle hh;
};

static int place_cmp(const void *pa, const void *pb)
{
        const struct lt_place *a = pa, *b = pb;
        int la = a->verdict.kind == LT_VERDICT_LEAK, lb = b->verdict.kind == LT_VERDICT_LEAK;
        if (la != lb)
                return la ? -1 : 1;
        if (a->live_bytes != b->live_bytes)
                return a->live_bytes > b->live_bytes ? -1 : 1;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        return strcmp(a->where, b->where);
}

/* The key of S's place in BUF, and its name in PL->where (a new place's). */
static void key_of(struct lt_report *r, const struct lt_site *s, const struct lt_charge *c,
                   char *buf, size_t len, struct lt_place *pl)
{
        if (c->users) {
                /* Whatever it allocates there (a Buffer's store, its
                 * bookkeeping): what that line keeps. */
                lt_charged_where(pl->where, sizeof(pl->where), r, s, c);
                snprintf(buf, len, "%u|u|%s|%u|%s", s->kind, c->file, c->line,
                         c->function ? c->function : "");
                return;
        }
        lt_charged_where(pl->where, sizeof(pl->where), r, s, c);
        if (c->inner)
                snprintf(buf, len, "%u|r|%s", s->kind, c->inner);
        else
                snprintf(buf, len, "%u|a|%d|%" PRIx64, s->kind, c->inner_mod, c->inner_addr);
}

/* Adds S to PL, whose series has N points. */
static int add_site(struct lt_place *pl, struct lt_site *s, size_t n)
{
        struct lt_site **v = realloc(pl->sites, (pl->nsites + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        pl->sites = v;
        pl->sites[pl->nsites++] = s;
        __builtin_add_overflow(pl->live_bytes, s->live_bytes, &pl->live_bytes);
        __builtin_add_overflow(pl->live_blocks, s->live_blocks, &pl->live_blocks);
        for (size_t i = 0; s->hist && i < n; i++)
                __builtin_add_overflow(pl->bytes[i], s->hist->bytes[i], &pl->bytes[i]);
        return 0;
}

int lt_places_build(struct lt_report *r, struct lt_places *p)
{
        memset(p, 0, sizeof(*p));
        const size_t n = r->history ? r->history->tl.n : 0;
        struct entry *index = NULL, *e, *tmp;
        size_t cap = 0;
        int err = 0;
        for (size_t i = 0; i < r->nsites && !err; i++) {
                struct lt_site *s = r->sites[i];
                struct lt_charge c;
                struct lt_place fresh = {0};
                char key[1536];
                if ((err = lt_site_charge(r, s, &c)) < 0)
                        break;
                key_of(r, s, &c, key, sizeof(key), &fresh);
                HASH_FIND_STR(index, key, e);
                if (!e) {
                        if (p->n == cap) {
                                struct lt_place *v =
                                    realloc(p->v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                                if (!v) {
                                        err = -ENOMEM;
                                        break;
                                }
                                p->v = v;
                        }
                        fresh.users = c.users;
                        fresh.heap = c.heap;
                        fresh.kind = s->kind;
                        if (!(fresh.bytes = calloc(n + 1, sizeof(*fresh.bytes))) ||
                            !(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key))) {
                                free(fresh.bytes);
                                free(e);
                                err = -ENOMEM;
                                break;
                        }
                        e->at = p->n;
                        p->v[p->n++] = fresh;
                        p->any_users |= c.users;
                        HASH_ADD_KEYPTR(hh, index, e->key, strlen(e->key), e);
                }
                err = add_site(&p->v[e->at], s, n);
        }
        HASH_ITER(hh, index, e, tmp)
        {
                HASH_DEL(index, e);
                free(e->key);
                free(e);
        }
        if (err) {
                lt_places_free(p);
                return err;
        }
        /* node's own code (V8, OpenSSL, ICU, its JS) is never the program's:
         * a node process whose JS holds nothing at the end (a test runner,
         * one that cleaned up) is judged by its code, which is none, not by
         * node's. */
        if (lt_is_node_exe(r->trace->hdr.exe))
                p->any_users = true;
        for (size_t i = 0; i < p->n; i++) {
                struct lt_place *pl = &p->v[i];
                if (pl->nsites == 1 && pl->sites[0]->hist)
                        pl->verdict = pl->sites[0]->hist->verdict; /* judged as it is */
                else
                        lt_verdict_judge_work(r->history ? r->history->tl.t : NULL,
                                              r->history ? r->history->tl.allocs : NULL,
                                              r->history ? r->history->tl.done : NULL, pl->bytes,
                                              n, &pl->verdict);
        }
        if (p->n)
                qsort(p->v, p->n, sizeof(*p->v), place_cmp);
        return 0;
}

void lt_places_free(struct lt_places *p)
{
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].sites);
                free(p->v[i].bytes);
        }
        free(p->v);
        memset(p, 0, sizeof(*p));
}
