#include "sample.h"

#include <errno.h>
#include <math.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

#define COUNTS (1u << LT_SAMPLE_COUNT_BITS)
#define PER_BIT (1u << (LT_SAMPLE_COUNT_BITS - LT_SAMPLE_MAP_BITS))

uint64_t lt_sample_bytes;
LT_TLS int64_t lt_sample_left;
uint64_t *lt_sample_map;
static uint8_t *counts;
static struct lt_lock lock;
static uint64_t base_seed;
static LT_TLS uint64_t rng;

static uint64_t next(void)
{
        if (lt_unlikely(!rng)) {
                /* A thread's first draw: seeded from the run's seed and a
                 * per-thread value, so that threads do not draw alike. */
                static _Atomic uint64_t threads;
                uint64_t n = atomic_fetch_add(&threads, 1) + 1;
                rng = lt_mix64(base_seed ^ (n * 0x9e3779b97f4a7c15ull)) | 1;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Uniform in (0, 1]. */
static double uniform(void)
{
        return ((double)(next() >> 11) + 1.0) / 9007199254740992.0;
}

static int64_t draw(void)
{
        return (int64_t)(-log(uniform()) * (double)lt_sample_bytes) + 1;
}

int lt_sample_init(uint64_t bytes, uint64_t seed)
{
        if (!bytes)
                return 0;
        void *p = mmap(NULL, COUNTS + (1u << LT_SAMPLE_MAP_BITS) / 8, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
                return -ENOMEM;
        counts = p;
        lt_sample_map = (uint64_t *)((uint8_t *)p + COUNTS);
        if (!seed) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
        }
        base_seed = seed;
        lt_sample_bytes = bytes;
        return 0;
}

/* A thread's countdown starts at 0 (TLS), which takes its first
 * allocation whatever its size: that one is drawn for here instead. */
static LT_TLS int primed;

int lt_sample_weigh(size_t size, uint64_t *bytes, uint32_t *blocks)
{
        if (lt_unlikely(!primed)) {
                primed = 1;
                int64_t first = draw();
                if (first > (int64_t)size) {
                        lt_sample_left = first - (int64_t)size;
                        return 0; /* not sampled after all */
                }
        }
        /* The countdown may have gone far below zero for a large block:
         * start afresh, the process is memoryless. */
        lt_sample_left = draw();
        double p = -expm1(-(double)size / (double)lt_sample_bytes);
        if (p <= 0)
                p = 1.0 / (double)lt_sample_bytes; /* size 0 */
        double w = 1.0 / p;
        *bytes = (uint64_t)llround((double)size * w);
        /* 1/p blocks, rounded up or down at random so that the count stays
         * unbiased. */
        double whole = floor(w);
        *blocks = (uint32_t)whole + (uniform() < w - whole);
        return 1;
}

void lt_sample_mark(uintptr_t p)
{
        uint32_t h = lt_sample_hash(p), b = h / PER_BIT;
        lt_lock(&lock);
        /* Saturated counts stay so: a false "maybe" costs a lookup only. */
        if (counts[h] != 255)
                counts[h]++;
        __atomic_store_n(&lt_sample_map[b / 64], lt_sample_map[b / 64] | 1ull << (b % 64),
                         __ATOMIC_RELAXED);
        lt_unlock(&lock);
}

void lt_sample_unmark(uintptr_t p)
{
        uint32_t h = lt_sample_hash(p), b = h / PER_BIT;
        lt_lock(&lock);
        if (counts[h] != 255 && counts[h] != 0 && --counts[h] == 0) {
                int any = 0;
                for (uint32_t i = b * PER_BIT; i < (b + 1) * PER_BIT && !any; i++)
                        any = counts[i] != 0;
                if (!any)
                        __atomic_store_n(&lt_sample_map[b / 64],
                                         lt_sample_map[b / 64] & ~(1ull << (b % 64)),
                                         __ATOMIC_RELAXED);
        }
        lt_unlock(&lock);
}

void lt_sample_lock(void)
{
        lt_lock(&lock);
}

void lt_sample_unlock(void)
{
        lt_unlock(&lock);
}

void lt_sample_reset_lock(void)
{
        lt_lock_reset(&lock);
}
