#include "sample.h"

#include <errno.h>
#include <math.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FILTER_SLOTS (1u << 20) /* lt_sample_slot takes the top 20 bits */

uint64_t lt_sample_bytes;
LT_TLS int64_t lt_sample_left;
uint8_t *lt_sample_filter;
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
        void *p = mmap(NULL, FILTER_SLOTS, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
                return -ENOMEM;
        lt_sample_filter = p;
        if (!seed) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
        }
        base_seed = seed;
        lt_sample_bytes = bytes;
        return 0;
}

void lt_sample_weigh(size_t size, uint64_t *bytes, uint32_t *blocks)
{
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
}

void lt_sample_mark(uintptr_t p)
{
        uint8_t *c = lt_sample_slot(p);
        uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
        /* Saturated counters stay so: a false "maybe" costs a lookup only. */
        while (v != 255 && !__atomic_compare_exchange_n(c, &v, (uint8_t)(v + 1), 1,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
}

void lt_sample_unmark(uintptr_t p)
{
        uint8_t *c = lt_sample_slot(p);
        uint8_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
        while (v != 255 && v != 0 && !__atomic_compare_exchange_n(c, &v, (uint8_t)(v - 1), 1,
                                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
}
