/* From the preload's grid to series. The grid (format.h) has LT_HIST_LONG
 * long-term columns, filled in time order at a period that doubles when
 * they are full, and LT_HIST_RECENT recent ones, a ring. A tick can be in
 * both (same time, same figures), a snapshot's tick only in the ring. So:
 * take every column in use, sort by time, keep each tick once. */
#define _GNU_SOURCE
#include "history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct colref {
        uint64_t time_ns;
        uint32_t tick;
        unsigned col;
};

static int colref_cmp(const void *pa, const void *pb)
{
        const struct colref *a = pa, *b = pb;
        if (a->time_ns != b->time_ns)
                return a->time_ns < b->time_ns ? -1 : 1;
        if (a->tick != b->tick)
                return a->tick < b->tick ? -1 : 1;
        return a->col < b->col ? -1 : a->col > b->col;
}

/* |V| <= MAX: a live figure may dip below 0 for a moment (a free counted
 * before its allocation, on two threads), never by that much. */
static bool within(int64_t v, int64_t max)
{
        return v >= -max && v <= max;
}

int lt_timeline_read(const struct lt_trace *t, struct lt_timeline *tl)
{
        memset(tl, 0, sizeof(*tl));
        const struct lt_history_state *hs = &t->hdr.history;
        if (t->nticks < LT_HIST_COLS)
                return 0; /* no timeline: a file of a process that never ticked */
        /* A file caught in thin() (reserved[0] set) has long-term columns
         * half moved: only the ring is sure. */
        tl->recent_only = hs->reserved[0] != 0;
        unsigned nlong = hs->nlong < LT_HIST_LONG ? hs->nlong : LT_HIST_LONG;
        unsigned nrecent = hs->nrecent < LT_HIST_RECENT ? hs->nrecent : LT_HIST_RECENT;
        if (tl->recent_only)
                nlong = 0;
        struct colref refs[LT_HIST_COLS];
        size_t n = 0;
        /* A point a day or more before the process started or after the
         * file's last update (a tick's own time, or the end) is a damaged
         * one, as is a figure no process reaches. A day: a clock set back
         * or forward (a virtual machine resumed) is no damage, nor is a
         * point written just before its update time, in a file being read
         * while its process runs. */
        const struct lt_header *h = &t->hdr;
        const uint64_t day = 86400ull * 1000000000ull;
        uint64_t last = h->end_ns > h->update_ns ? h->end_ns : h->update_ns;
        for (unsigned c = 0; c < LT_HIST_COLS; c++) {
                if (c < LT_HIST_LONG ? c >= nlong : c - LT_HIST_LONG >= nrecent)
                        continue;
                const struct lt_tick_rec *r = &t->ticks[c];
                if (!r->time_ns)
                        continue;
                if (r->time_ns + day < h->start_ns || (last && r->time_ns > last + day) ||
                    !within(r->live_bytes, LT_HIST_MAX_BYTES) ||
                    !within(r->live_blocks, LT_HIST_MAX_COUNT) ||
                    !within(r->mapped_bytes, LT_HIST_MAX_BYTES) ||
                    r->rss > (uint64_t)LT_HIST_MAX_BYTES || r->allocs > (uint64_t)LT_HIST_MAX_COUNT) {
                        tl->damaged++;
                        continue;
                }
                refs[n++] = (struct colref){r->time_ns, r->tick, c};
        }
        qsort(refs, n, sizeof(refs[0]), colref_cmp);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
                if (!m || refs[i].time_ns != refs[m - 1].time_ns ||
                    refs[i].tick != refs[m - 1].tick)
                        refs[m++] = refs[i];
        if (!m)
                return 0;
        tl->ticks = malloc(m * sizeof(*tl->ticks));
        tl->t = malloc(m * sizeof(*tl->t));
        tl->allocs = malloc(m * sizeof(*tl->allocs));
        tl->done = malloc(m * sizeof(*tl->done));
        tl->col = malloc(m * sizeof(*tl->col));
        if (!tl->ticks || !tl->t || !tl->allocs || !tl->done || !tl->col) {
                lt_timeline_free(tl);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m; i++) {
                tl->ticks[i] = t->ticks[refs[i].col];
                tl->col[i] = refs[i].col;
                tl->t[i] = lt_trace_seconds(t, refs[i].time_ns);
                tl->allocs[i] = tl->done[i] = (double)tl->ticks[i].allocs;
        }
        tl->n = m;
        /* The allocation axis measures work. The last point of a process
         * that exited (or exec'd) is taken at its end, after the
         * housekeeping of its exit: node's teardown, atexit handlers, the
         * JS module's last write; 1,200 allocations for an idle node
         * server, a third of the axis of a short load that ended idle,
         * where a leak then read as a cache that levelled off while the
         * process worked. That point counts the work of its interval at
         * the pace of the interval before, at most what it counts. */
        /* What was made after exit() was called (atexit handlers, a
         * runtime's teardown; a point may have been taken meanwhile) is
         * housekeeping too, when the process said where that began. */
        if (h->exit_allocs)
                for (size_t i = 0; i < m; i++)
                        if (tl->allocs[i] > (double)h->exit_allocs)
                                tl->allocs[i] = (double)h->exit_allocs;
        if ((h->flags & (LT_F_COMPLETE | LT_F_EXEC)) && m >= 3) {
                double dt0 = tl->t[m - 2] - tl->t[m - 3], dt = tl->t[m - 1] - tl->t[m - 2];
                if (dt0 > 0 && dt >= 0) {
                        double pace = (tl->allocs[m - 2] - tl->allocs[m - 3]) / dt0;
                        double at = tl->allocs[m - 2] + pace * dt;
                        if (at < tl->allocs[m - 1])
                                tl->allocs[m - 1] = at;
                }
        }
        return 0;
}

void lt_timeline_free(struct lt_timeline *tl)
{
        free(tl->ticks);
        free(tl->t);
        free(tl->allocs);
        free(tl->done);
        free(tl->col);
        memset(tl, 0, sizeof(*tl));
}

const char *lt_snapshot_name(const struct lt_trace *t, uint32_t snapshot)
{
        if (!snapshot || snapshot > t->nsnaps)
                return NULL;
        return t->snaps[snapshot - 1].name; /* NUL-terminated: trace.c checked */
}

/* The mapping sites that hold memory now, grouped as allocation sites are:
 * by the frames a report shows. Appended to rep->sites. */
static int add_mapping_sites(struct lt_report *rep, struct lt_history *h,
                             struct lt_site **map_site_of)
{
        const struct lt_trace *t = rep->trace;
        uint64_t *key = malloc(LT_KEY_WORDS(LT_MAX_DEPTH + 1) * sizeof(uint64_t));
        if (!key)
                return -ENOMEM;
        int err = 0;
        size_t added = 0;
        for (uint64_t i = 0; i < t->nmap_sites && !err; i++) {
                const struct lt_map_site_rec *m = &t->map_sites[i];
                unsigned first_skip = 0;
                int n = 0;
                if (m->stack) {
                        n = lt_report_shown_frames(rep, &t->stacks[m->stack - 1], key, &first_skip);
                        if (n < 0) {
                                err = n;
                                break;
                        }
                }
                size_t key_len = LT_KEY_BYTES(n);
                struct lt_site *site;
                HASH_FIND(hh, h->maps, key, key_len, site);
                if (!site) {
                        site = calloc(1, sizeof(*site));
                        if (!site ||
                            !(site->key = malloc((LT_KEY_WORDS(n) + 1) * sizeof(uint64_t)))) {
                                free(site);
                                err = -ENOMEM;
                                break;
                        }
                        memcpy(site->key, key, LT_KEY_WORDS(n) * sizeof(uint64_t));
                        site->nframes = (unsigned)n;
                        site->first_skip = first_skip;
                        site->kind = LT_SITE_MAPPING;
                        HASH_ADD_KEYPTR(hh, h->maps, site->key, key_len, site);
                        added++;
                }
                site->nstacks++;
                __builtin_add_overflow(site->live_bytes, m->live_bytes, &site->live_bytes);
                __builtin_add_overflow(site->live_blocks, m->regions, &site->live_blocks);
                site->allocs += m->maps;
                site->bytes_allocated += m->bytes_mapped;
                if (m->stack && (t->stacks[m->stack - 1].flags & LT_STACK_TRUNCATED))
                        site->truncated = true;
                map_site_of[i] = site;
        }
        free(key);
        if (err)
                return err;
        struct lt_site **sites = realloc(rep->sites, (rep->nsites + added + 1) * sizeof(*sites));
        if (!sites)
                return -ENOMEM;
        rep->sites = sites;
        struct lt_site *s, *tmp;
        HASH_ITER(hh, h->maps, s, tmp)
        {
                if (s->live_bytes > 0)
                        rep->sites[rep->nsites++] = s;
        }
        return 0;
}

/* Leaks first, then by live bytes; ties as report.c breaks them, so that
 * the order never depends on hashing. */
static int shown_cmp(const void *pa, const void *pb)
{
        const struct lt_site *a = *(struct lt_site *const *)pa, *b = *(struct lt_site *const *)pb;
        int la = a->hist && a->hist->verdict.kind == LT_VERDICT_LEAK;
        int lb = b->hist && b->hist->verdict.kind == LT_VERDICT_LEAK;
        if (la != lb)
                return la ? -1 : 1;
        if (a->live_bytes != b->live_bytes)
                return a->live_bytes > b->live_bytes ? -1 : 1;
        if (a->live_blocks != b->live_blocks)
                return a->live_blocks > b->live_blocks ? -1 : 1;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        for (unsigned i = 0; i < 2 * a->nframes && i < 2 * b->nframes; i++)
                if (a->key[i] != b->key[i])
                        return a->key[i] < b->key[i] ? -1 : 1;
        return a->nframes < b->nframes ? -1 : a->nframes > b->nframes;
}

int lt_history_build(struct lt_report *rep)
{
        const struct lt_trace *t = rep->trace;
        struct lt_history *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        rep->history = h;
        struct lt_site **map_site_of = calloc(t->nmap_sites + 1, sizeof(*map_site_of));
        int err = map_site_of ? lt_timeline_read(t, &h->tl) : -ENOMEM;
        if (!err)
                err = add_mapping_sites(rep, h, map_site_of);
        size_t n = h->tl.n;
        for (size_t i = 0; i < rep->nsites && !err; i++) {
                struct lt_site *s = rep->sites[i];
                s->hist = calloc(1, sizeof(*s->hist) + 2 * (n + 1) * sizeof(int64_t));
                if (!s->hist) {
                        err = -ENOMEM;
                        break;
                }
                s->hist->bytes = (int64_t *)(s->hist + 1);
                s->hist->blocks = s->hist->bytes + n + 1;
        }
        for (uint64_t i = 0; i < t->nhist && !err; i++) {
                const struct lt_history_rec *r = &t->hist[i];
                struct lt_site *s = r->stack & LT_HIST_MAPPING
                                        ? map_site_of[r->stack & ~LT_HIST_MAPPING]
                                        : rep->site_of[r->stack - 1];
                if (!s || !s->hist)
                        continue; /* nothing live now: not shown */
                bool sane = true;
                for (size_t p = 0; p < n && sane; p++) {
                        unsigned c = h->tl.col[p];
                        sane = within(r->bytes[c], LT_HIST_MAX_BYTES) &&
                               within(r->blocks[c], LT_HIST_MAX_COUNT);
                }
                if (!sane) {
                        h->damaged++;
                        continue;
                }
                s->hist->recorded = true;
                for (size_t p = 0; p < n; p++) {
                        unsigned c = h->tl.col[p];
                        __builtin_add_overflow(s->hist->bytes[p], r->bytes[c], &s->hist->bytes[p]);
                        __builtin_add_overflow(s->hist->blocks[p], r->blocks[c],
                                               &s->hist->blocks[p]);
                }
        }
        for (size_t i = 0; i < rep->nsites && !err; i++) {
                struct lt_site_history *sh = rep->sites[i]->hist;
                lt_verdict_judge_work(h->tl.t, h->tl.allocs, h->tl.done, sh->bytes, n,
                                      &sh->verdict);
                h->verdicts[sh->verdict.kind]++;
        }
        if (!err && rep->nsites)
                qsort(rep->sites, rep->nsites, sizeof(*rep->sites), shown_cmp);
        free(map_site_of);
        return err;
}

void lt_history_free(struct lt_report *rep)
{
        struct lt_history *h = rep->history;
        for (size_t i = 0; i < rep->nsites; i++) {
                free(rep->sites[i]->hist);
                rep->sites[i]->hist = NULL;
        }
        if (!h)
                return;
        struct lt_site *s, *tmp;
        HASH_ITER(hh, h->maps, s, tmp)
        {
                HASH_DEL(h->maps, s);
                free(s->key);
                free(s);
        }
        lt_timeline_free(&h->tl);
        free(h);
        rep->history = NULL;
}
