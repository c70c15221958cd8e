#include "live.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "lock.h"
#include "lt.h"

#define SHARD_BITS 6
#define NSHARDS (1u << SHARD_BITS)
#define MIN_SLOTS 64u
#define FIRST_SLOTS 512u /* a shard's first table, made at init: 16 KiB */

struct shard {
        struct lt_lock lock;
        struct lt_live_entry *slots;
        uint64_t mask; /* slots - 1; 0: no table yet */
        uint64_t used;
        uint64_t quota; /* entries it may hold: used <= quota */
} LT_ALIGNED;

/* LEAKTRACE_MAX_LIVE holds exactly, whatever the threads do, without one
 * counter that every insert would pull from core to core: the shards hold
 * quotas, and the pool the rest,
 *
 *     pool + the shards' quotas == max_live, used <= quota in each shard,
 *
 * so the shards never hold more than max_live entries together. A shard at
 * its quota takes a grant from the pool (an atomic operation every `grant`
 * inserts), and gives one back when it holds far more than it uses. Once
 * the pool is empty, it collects what the other shards hold unused. Only
 * then can two threads meet: a shard whose lock another thread holds is
 * passed over, so a block may be dropped a little early, never one late. */
static struct shard shards[NSHARDS];
static uint64_t max_live, grant;
static uint64_t pool; /* atomic */

static inline uint64_t hash_ptr(uintptr_t p)
{
        return lt_mix64((uint64_t)p);
}

/* The shard is that of the block's megabyte of address space: the heaps of
 * threads that allocate at once (glibc gives each its own arena) lie in
 * different megabytes, so their locks and slots are on cache lines that
 * the other threads seldom take. */
#define REGION_SHIFT 20
static inline struct shard *shard_of(uintptr_t p)
{
        /* Fibonacci hashing spreads the consecutive megabytes of a heap. */
        return &shards[((uint64_t)p >> REGION_SHIFT) * 0x9e3779b97f4a7c15ull >> (64 - SHARD_BITS)];
}

/* Populated at once: a new table is filled by the rehash that follows,
 * and one mmap that maps every page costs less than a fault a page (node's
 * start-up took about 900 faults here, a few microseconds each). */
static struct lt_live_entry *alloc_slots(uint64_t n)
{
        void *p = mmap(NULL, n * sizeof(struct lt_live_entry), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

/* Every shard's first table comes from one mapping of 1 MiB. Grown from
 * 64 slots, node's start-up doubled each shard three times: 450 mmap and
 * munmap calls, 6 % of its traced time. A shard that outgrows its first
 * table leaves that part of the mapping be: unmapped, it was a hole that
 * the next mapping of the program (a library dlopen loads, say) would go
 * to, instead of where the kernel puts it untraced. Without the mapping,
 * the shards start small. */
static struct lt_live_entry *first;

static int in_first(const struct lt_live_entry *slots)
{
        return first && slots >= first && slots < first + (uint64_t)NSHARDS * FIRST_SLOTS;
}

int lt_live_init(uint64_t max)
{
        /* A few grants a shard before the pool runs dry; big ones when the
         * limit is high, so that the pool is seldom touched. */
        max_live = max;
        grant = max / (4 * NSHARDS);
        grant = grant < 1 ? 1 : grant > 4096 ? 4096 : grant;
        __atomic_store_n(&pool, max, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < NSHARDS; i++)
                shards[i].quota = shards[i].used = 0;
        first = alloc_slots((uint64_t)NSHARDS * FIRST_SLOTS);
        for (unsigned i = 0; first && i < NSHARDS; i++) {
                shards[i].slots = first + (uint64_t)i * FIRST_SLOTS;
                shards[i].mask = FIRST_SLOTS - 1;
        }
        return 0;
}

static void put(struct lt_live_entry *slots, uint64_t mask, const struct lt_live_entry *e)
{
        uint64_t i = hash_ptr(e->ptr) & mask;
        while (slots[i].ptr)
                i = (i + 1) & mask;
        slots[i] = *e;
}

/* Doubles the shard's table (or makes its first). Called with the lock held;
 * mmap allocates nothing through malloc, so this cannot recurse. */
static LT_NOINLINE LT_COLD int grow(struct shard *s)
{
        uint64_t n = s->mask ? (s->mask + 1) * 2 : MIN_SLOTS;
        struct lt_live_entry *slots = alloc_slots(n);
        if (!slots)
                return -ENOMEM;
        if (s->mask) {
                for (uint64_t i = 0; i <= s->mask; i++)
                        if (s->slots[i].ptr)
                                put(slots, n - 1, &s->slots[i]);
                if (!in_first(s->slots))
                        munmap(s->slots, (s->mask + 1) * sizeof(struct lt_live_entry));
        }
        s->slots = slots;
        s->mask = n - 1;
        return 0;
}

/* The shard s, locked, holds as many entries as its quota. Raises the
 * quota by a grant from the pool, or else by what the other shards hold
 * unused. Returns 0 when there is no room: the table is full. */
static LT_NOINLINE int more_quota(struct shard *s)
{
        uint64_t have = __atomic_load_n(&pool, __ATOMIC_RELAXED);
        while (have) {
                uint64_t g = have < grant ? have : grant;
                if (__atomic_compare_exchange_n(&pool, &have, have - g, 1, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED)) {
                        s->quota += g;
                        return 1;
                }
        }
        /* A full table drops block after block: told at a glance, without
         * a lock, before the shards are searched for room. */
        if (lt_live_count() >= max_live)
                return 0;
        for (unsigned i = 0; i < NSHARDS; i++) {
                struct shard *t = &shards[i];
                if (t == s || !lt_trylock(&t->lock))
                        continue;
                s->quota += t->quota - t->used;
                t->quota = t->used;
                lt_unlock(&t->lock);
        }
        return s->quota > s->used;
}

int lt_live_insert(const struct lt_live_entry *e, struct lt_live_entry *old)
{
        uint64_t h = hash_ptr(e->ptr);
        struct shard *s = shard_of(e->ptr);
        int rc = 0;

        lt_lock(&s->lock);
        if (lt_unlikely((s->used + 1) * 2 > s->mask + 1) && grow(s) < 0) {
                rc = -ENOSPC;
                goto out;
        }
        uint64_t i = h & s->mask;
        for (;;) {
                uintptr_t p = s->slots[i].ptr;
                if (!p) {
                        if (lt_unlikely(s->used >= s->quota) && !more_quota(s)) {
                                rc = -ENOSPC;
                                break;
                        }
                        s->slots[i] = *e;
                        s->used++;
                        break;
                }
                if (p == e->ptr) {
                        *old = s->slots[i];
                        s->slots[i] = *e;
                        rc = 1;
                        break;
                }
                i = (i + 1) & s->mask;
        }
out:
        lt_unlock(&s->lock);
        return rc;
}

int lt_live_remove(uintptr_t ptr, struct lt_live_entry *out)
{
        uint64_t h = hash_ptr(ptr);
        struct shard *s = shard_of(ptr);
        int found = 0;

        lt_lock(&s->lock);
        if (lt_unlikely(!s->mask))
                goto out;
        uint64_t mask = s->mask;
        uint64_t i = h & mask;
        for (;;) {
                uintptr_t p = s->slots[i].ptr;
                if (!p)
                        goto out;
                if (p == ptr)
                        break;
                i = (i + 1) & mask;
        }
        *out = s->slots[i];
        found = 1;
        s->used--;
        /* Backward-shift deletion: pull later entries of the probe run into
         * the hole, so lookups never need tombstones. */
        for (uint64_t j = i;;) {
                j = (j + 1) & mask;
                if (!s->slots[j].ptr)
                        break;
                uint64_t home = hash_ptr(s->slots[j].ptr) & mask;
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        s->slots[i] = s->slots[j];
                        i = j;
                }
        }
        s->slots[i].ptr = 0;
        if (lt_unlikely(s->quota - s->used > 2 * grant)) {
                s->quota -= grant;
                __atomic_add_fetch(&pool, grant, __ATOMIC_RELAXED);
        }
out:
        lt_unlock(&s->lock);
        return found;
}

uint64_t lt_live_count(void)
{
        uint64_t n = 0;
        for (unsigned i = 0; i < NSHARDS; i++)
                n += __atomic_load_n(&shards[i].used, __ATOMIC_RELAXED);
        return n;
}

uint64_t lt_live_footprint(void)
{
        uint64_t n = first ? (uint64_t)NSHARDS * FIRST_SLOTS * sizeof(struct lt_live_entry) : 0;
        for (unsigned i = 0; i < NSHARDS; i++) {
                const struct lt_live_entry *t = __atomic_load_n(&shards[i].slots, __ATOMIC_RELAXED);
                uint64_t m = __atomic_load_n(&shards[i].mask, __ATOMIC_RELAXED);
                if (m && !in_first(t))
                        n += (m + 1) * sizeof(struct lt_live_entry);
        }
        return n;
}

void lt_live_lock_all(void)
{
        for (unsigned i = 0; i < NSHARDS; i++)
                lt_lock(&shards[i].lock);
}

void lt_live_unlock_all(void)
{
        for (unsigned i = NSHARDS; i-- > 0;)
                lt_unlock(&shards[i].lock);
}

void lt_live_reset_locks(void)
{
        for (unsigned i = 0; i < NSHARDS; i++)
                lt_lock_reset(&shards[i].lock);
}

void lt_live_reset(void)
{
        for (unsigned i = 0; i < NSHARDS; i++) {
                struct shard *s = &shards[i];
                lt_lock(&s->lock);
                if (s->mask)
                        memset(s->slots, 0, (s->mask + 1) * sizeof(*s->slots));
                s->used = 0;
                /* Back to the pool, shard by shard: a hook that takes a
                 * grant meanwhile keeps the sum whole. */
                __atomic_add_fetch(&pool, s->quota, __ATOMIC_RELAXED);
                s->quota = 0;
                lt_unlock(&s->lock);
        }
}
