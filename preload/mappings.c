#define _GNU_SOURCE
#include "mappings.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "lt.h"
#include "options.h"
#include "stacks.h"
#include "tracefile.h"

#define MAX_SITES 65536
#define MAX_REGIONS (1u << 22)

struct region {
        uintptr_t lo, hi;
        uint32_t site; /* map site + 1 when accessible; 0 when reserved */
};

static struct region *regions;
static uint64_t nregions, capacity;
static struct lt_lock lock;
static uintptr_t page_mask;
static struct site_map {
        uint32_t stack;
        uint32_t site; /* + 1 */
} sites[MAX_SITES];
static uint32_t history_slot[MAX_SITES];

int lt_mappings_init(void)
{
        page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
        return 0;
}

uint32_t *lt_mapping_history_slot(uint32_t site)
{
        return site < MAX_SITES ? &history_slot[site] : NULL;
}

static struct lt_map_site_rec *site_rec(uint32_t site1)
{
        return lt_tf_rec(LT_SEC_MAP_SITES, site1 - 1);
}

/* The site of a stack: found or made. Under the lock. Returns site + 1, or 0. */
static uint32_t site_get(uint32_t stack)
{
        uint64_t i = lt_mix64(stack) & (MAX_SITES - 1);
        for (unsigned probes = 0; probes < MAX_SITES; probes++, i = (i + 1) & (MAX_SITES - 1)) {
                if (sites[i].site && sites[i].stack == stack)
                        return sites[i].site;
                if (sites[i].site)
                        continue;
                struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_MAP_SITES];
                uint64_t idx = s->count;
                if (lt_tf_reserve(LT_SEC_MAP_SITES, idx + 1) < 0)
                        return 0;
                site_rec((uint32_t)idx + 1)->stack = stack;
                __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
                sites[i] = (struct site_map){ stack, (uint32_t)idx + 1 };
                return (uint32_t)idx + 1;
        }
        return 0;
}

static void count(uint32_t site1, int64_t bytes, int64_t regions_delta)
{
        if (!site1)
                return;
        struct lt_map_site_rec *r = site_rec(site1);
        int64_t live = __atomic_add_fetch(&r->live_bytes, bytes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&r->regions, regions_delta, __ATOMIC_RELAXED);
        if (bytes > 0) {
                __atomic_add_fetch(&r->bytes_mapped, (uint64_t)bytes, __ATOMIC_RELAXED);
                if (live > r->peak_live_bytes)
                        r->peak_live_bytes = live;
        }
        struct lt_totals *t = &lt_tf.hdr->totals;
        int64_t all = __atomic_add_fetch(&t->mapped_bytes, bytes, __ATOMIC_RELAXED);
        if (all > t->peak_mapped_bytes)
                t->peak_mapped_bytes = all;
}

/* The first region whose end is above addr. */
static uint64_t first_above(uintptr_t addr)
{
        uint64_t lo = 0, hi = nregions;
        while (lo < hi) {
                uint64_t mid = (lo + hi) / 2;
                if (regions[mid].hi <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static int reserve(uint64_t n)
{
        if (n <= capacity)
                return 0;
        uint64_t cap = capacity ? capacity * 2 : 1024;
        if (cap > MAX_REGIONS)
                return -ENOSPC;
        void *p = mmap(NULL, cap * sizeof(struct region), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -ENOMEM;
        if (regions) {
                memcpy(p, regions, nregions * sizeof(struct region));
                munmap(regions, capacity * sizeof(struct region));
        }
        regions = p;
        capacity = cap;
        return 0;
}

static int insert_at(uint64_t i, struct region r)
{
        if (reserve(nregions + 1) < 0) {
                lt_tf_drop(LT_DROP_MAPPINGS_FULL, 1);
                return -ENOSPC;
        }
        memmove(&regions[i + 1], &regions[i], (nregions - i) * sizeof(struct region));
        regions[i] = r;
        nregions++;
        return 0;
}

/* Makes addr a boundary between regions, splitting the one across it. */
static int split_at(uintptr_t addr)
{
        uint64_t i = first_above(addr);
        if (i == nregions || regions[i].lo >= addr)
                return 0;
        struct region right = regions[i];
        right.lo = addr;
        if (insert_at(i + 1, right) < 0)
                return -ENOSPC;
        regions[i].hi = addr;
        if (regions[i].site)
                count(regions[i].site, 0, 1);
        return 0;
}

/* Removes [lo, hi) from the table. Under the lock. */
static void remove_range(uintptr_t lo, uintptr_t hi)
{
        split_at(lo);
        split_at(hi);
        uint64_t i = first_above(lo), j = i;
        while (j < nregions && regions[j].lo < hi) {
                if (regions[j].site)
                        count(regions[j].site, -(int64_t)(regions[j].hi - regions[j].lo), -1);
                j++;
        }
        memmove(&regions[i], &regions[j], (nregions - j) * sizeof(struct region));
        nregions -= j - i;
}

static uint32_t current_stack(void)
{
        return lt_stack_here(1, NULL);
}

static uintptr_t page_up(uintptr_t v)
{
        return (v + page_mask) & ~page_mask;
}

void lt_mapping_mapped(uintptr_t addr, size_t len, int prot)
{
        uint32_t stack = prot != PROT_NONE ? current_stack() : 0;
        uintptr_t hi = page_up(addr + len);
        lt_lock(&lock);
        remove_range(addr, hi);
        uint32_t site = stack ? site_get(stack) : 0;
        if (insert_at(first_above(addr), (struct region){ addr, hi, site }) == 0 && site) {
                count(site, (int64_t)(hi - addr), 1);
                __atomic_add_fetch(&site_rec(site)->maps, 1, __ATOMIC_RELAXED);
        }
        lt_unlock(&lock);
}

void lt_mapping_protected(uintptr_t addr, size_t len, int prot)
{
        uintptr_t hi = page_up(addr + len);
        uint32_t stack = 0;
        lt_lock(&lock);
        uint64_t i = first_above(addr);
        int touches = i < nregions && regions[i].lo < hi;
        int needs_site = 0;
        for (uint64_t j = i; touches && j < nregions && regions[j].lo < hi; j++)
                needs_site |= prot != PROT_NONE && !regions[j].site;
        lt_unlock(&lock);
        if (!touches)
                return; /* not anonymous memory we know */
        if (needs_site)
                stack = current_stack(); /* outside the lock: it unwinds */

        lt_lock(&lock);
        split_at(addr);
        split_at(hi);
        uint32_t site = stack ? site_get(stack) : 0;
        int counted = 0;
        for (uint64_t j = first_above(addr); j < nregions && regions[j].lo < hi; j++) {
                struct region *r = &regions[j];
                int64_t bytes = (int64_t)(r->hi - r->lo);
                if (prot == PROT_NONE && r->site) {
                        count(r->site, -bytes, -1);
                        r->site = 0;
                } else if (prot != PROT_NONE && !r->site && site) {
                        r->site = site;
                        count(site, bytes, 1);
                        counted = 1;
                }
        }
        if (counted)
                __atomic_add_fetch(&site_rec(site)->maps, 1, __ATOMIC_RELAXED);
        lt_unlock(&lock);
}

void lt_mapping_unmapped(uintptr_t addr, size_t len)
{
        lt_lock(&lock);
        remove_range(addr, page_up(addr + len));
        lt_unlock(&lock);
}

void lt_mapping_remapped(uintptr_t old, size_t old_len, uintptr_t addr, size_t len)
{
        uint32_t stack = current_stack();
        uintptr_t old_hi = page_up(old + old_len), hi = page_up(addr + len);
        lt_lock(&lock);
        /* The memory, moved or resized, keeps the site that made it
         * accessible, growth included; the caller of mremap has it only
         * when it had none. */
        uint64_t i = first_above(old);
        uint32_t site = 0;
        int known = i < nregions && regions[i].lo < old_hi;
        if (known) {
                site = regions[i].site;
                int moved = site != 0;
                remove_range(old, old_hi);
                remove_range(addr, hi);
                if (!site && stack)
                        site = site_get(stack);
                if (insert_at(first_above(addr), (struct region){ addr, hi, site }) == 0 && site) {
                        count(site, (int64_t)(hi - addr), 1);
                        /* Its bytes mapped in all grow by what it grew by,
                         * not by the memory that only moved. */
                        uint64_t kept = hi - addr < old_hi - old ? hi - addr : old_hi - old;
                        if (moved)
                                __atomic_sub_fetch(&site_rec(site)->bytes_mapped, kept,
                                                   __ATOMIC_RELAXED);
                }
        }
        lt_unlock(&lock);
}

uint64_t lt_mappings_footprint(void)
{
        /* The site tables are static and touched only where sites hash to. */
        uint64_t nsites = lt_tf.hdr ? lt_tf.hdr->sections[LT_SEC_MAP_SITES].count : 0;
        uint64_t touched = nsites * 4096 < sizeof(sites) ? nsites * 4096 : sizeof(sites);
        return __atomic_load_n(&capacity, __ATOMIC_RELAXED) * sizeof(struct region) + touched;
}

void lt_mappings_lock(void)
{
        lt_lock(&lock);
}

void lt_mappings_unlock(void)
{
        lt_unlock(&lock);
}

void lt_mappings_reset_lock(void)
{
        lt_lock_reset(&lock);
}

void lt_mappings_reset(void)
{
        lt_lock(&lock);
        nregions = 0;
        memset(sites, 0, sizeof(sites));
        memset(history_slot, 0, sizeof(history_slot));
        lt_unlock(&lock);
}
