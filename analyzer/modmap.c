/* See modmap.h. Mappings are kept sorted by start address, with a running
 * maximum of end addresses, so that finding those that hold an address is
 * a binary search and a short walk back. Each mapping keeps the
 * generations of its records sorted by load, with a running maximum of
 * unload, so that "was it loaded in generation g" is a binary search too. */
#define _GNU_SOURCE
#include "modmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mapping {
        uint32_t first; /* the lowest record index of the mapping */
        uint32_t at, n; /* its records' generations: loaded[at..at+n) */
        uint64_t lo, hi;
};

struct lt_modmap {
        struct mapping *maps; /* by lo */
        uint64_t *max_hi;     /* max_hi[i]: the highest hi among maps[0..i] */
        size_t nmaps;
        uint32_t *loaded;  /* gen_loaded, ascending within a mapping */
        uint32_t *unl_max; /* running maximum of gen_unloaded, in that order */
};

void lt_modmap_free(struct lt_modmap *m)
{
        if (!m)
                return;
        free(m->maps);
        free(m->max_hi);
        free(m->loaded);
        free(m->unl_max);
        free(m);
}

static int identity_cmp(const void *pa, const void *pb, void *arg)
{
        const struct lt_module_rec *mods = arg;
        uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
        const struct lt_module_rec *a = &mods[ia], *b = &mods[ib];
        if (a->lo != b->lo)
                return a->lo < b->lo ? -1 : 1;
        if (a->hi != b->hi)
                return a->hi < b->hi ? -1 : 1;
        if (a->bias != b->bias)
                return a->bias < b->bias ? -1 : 1;
        if (a->flags != b->flags)
                return a->flags < b->flags ? -1 : 1;
        if (a->build_id_len != b->build_id_len)
                return a->build_id_len < b->build_id_len ? -1 : 1;
        int c = memcmp(a->build_id, b->build_id, a->build_id_len);
        if (!c)
                c = strcmp(a->path, b->path);
        if (c)
                return c;
        return ia < ib ? -1 : ia > ib; /* the first record first */
}

static int same_mapping(const struct lt_module_rec *a, const struct lt_module_rec *b)
{
        return a->lo == b->lo && a->hi == b->hi && a->bias == b->bias && a->flags == b->flags &&
               a->build_id_len == b->build_id_len &&
               !memcmp(a->build_id, b->build_id, a->build_id_len) && !strcmp(a->path, b->path);
}

struct gens {
        uint32_t loaded, unloaded;
};

static int gens_cmp(const void *pa, const void *pb)
{
        const struct gens *a = pa, *b = pb;
        return a->loaded < b->loaded ? -1 : a->loaded > b->loaded;
}

struct lt_modmap *lt_modmap_new(const struct lt_trace *t)
{
        size_t n = (size_t)t->nmods;
        struct lt_modmap *m = calloc(1, sizeof(*m));
        uint32_t *order = calloc(n + 1, sizeof(*order));
        struct gens *g = calloc(n + 1, sizeof(*g));
        if (m) {
                m->maps = calloc(n + 1, sizeof(*m->maps));
                m->max_hi = calloc(n + 1, sizeof(*m->max_hi));
                m->loaded = calloc(n + 1, sizeof(*m->loaded));
                m->unl_max = calloc(n + 1, sizeof(*m->unl_max));
        }
        if (!m || !order || !g || !m->maps || !m->max_hi || !m->loaded || !m->unl_max) {
                free(order);
                free(g);
                lt_modmap_free(m);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                order[i] = (uint32_t)i;
        qsort_r(order, n, sizeof(*order), identity_cmp, t->mods);
        /* Runs of one identity are mappings, already in order of lo. */
        for (size_t i = 0; i < n;) {
                const struct lt_module_rec *r = &t->mods[order[i]];
                struct mapping *map = &m->maps[m->nmaps];
                *map = (struct mapping){order[i], (uint32_t)i, 0, r->lo, r->hi};
                for (; i < n && same_mapping(r, &t->mods[order[i]]); i++) {
                        const struct lt_module_rec *o = &t->mods[order[i]];
                        g[map->at + map->n++] = (struct gens){o->gen_loaded, o->gen_unloaded};
                }
                qsort(g + map->at, map->n, sizeof(*g), gens_cmp);
                for (uint32_t k = 0; k < map->n; k++) {
                        uint32_t u = g[map->at + k].unloaded;
                        m->loaded[map->at + k] = g[map->at + k].loaded;
                        m->unl_max[map->at + k] =
                            k && m->unl_max[map->at + k - 1] > u ? m->unl_max[map->at + k - 1] : u;
                }
                m->max_hi[m->nmaps] = m->nmaps && m->max_hi[m->nmaps - 1] > map->hi
                                          ? m->max_hi[m->nmaps - 1]
                                          : map->hi;
                m->nmaps++;
        }
        free(order);
        free(g);
        return m;
}

/* In mapping MAP: whether a record was loaded in GEN; if not, *dist and
 * *gl get the load generation nearest to GEN (on a tie the later). */
static int loaded_in(const struct lt_modmap *m, const struct mapping *map, uint32_t gen,
                     uint32_t *dist, uint32_t *gl)
{
        const uint32_t *l = m->loaded + map->at;
        size_t lo = 0, hi = map->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (l[mid] <= gen)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        /* l[0..lo) were loaded at or before gen. */
        if (lo && m->unl_max[map->at + lo - 1] > gen)
                return 1;
        *dist = UINT32_MAX;
        if (lo < map->n) { /* the first loaded after gen */
                *dist = l[lo] - gen;
                *gl = l[lo];
        }
        if (lo && gen - l[lo - 1] < *dist) {
                *dist = gen - l[lo - 1];
                *gl = l[lo - 1];
        }
        return 0;
}

int lt_modmap_find(const struct lt_modmap *m, uint64_t addr, uint32_t gen)
{
        size_t lo = 0, hi = m->nmaps;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->maps[mid].lo <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        int64_t exact = -1, near = -1;
        uint32_t near_dist = 0, near_gen = 0;
        for (size_t i = lo; i-- > 0 && m->max_hi[i] > addr;) {
                const struct mapping *map = &m->maps[i];
                if (addr >= map->hi)
                        continue;
                uint32_t dist = 0, gl = 0;
                if (loaded_in(m, map, gen, &dist, &gl)) {
                        if (exact < 0 || map->first < exact)
                                exact = map->first;
                } else if (near < 0 || dist < near_dist ||
                           (dist == near_dist &&
                            (gl > near_gen || (gl == near_gen && map->first < near)))) {
                        near = map->first;
                        near_dist = dist;
                        near_gen = gl;
                }
        }
        return (int)(exact >= 0 ? exact : near);
}
