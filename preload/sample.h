/* Sampling by bytes (LEAKTRACE_SAMPLE=T): every byte allocated is picked
 * with probability 1/T, independently, so an allocation of n bytes is
 * sampled with p = 1 - exp(-n/T); a per-thread countdown drawn from the
 * exponential distribution does exactly that at the cost of a subtraction.
 * A sampled block counts for n/p bytes and 1/p blocks (Horvitz-Thompson),
 * which makes the per-site figures unbiased estimates.
 *
 * Frees must find out cheaply whether a block was sampled: a filter over
 * addresses answers "certainly not" with one load for almost all of them. */
#ifndef LT_SAMPLE_H
#define LT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "lt.h"

extern LT_HIDDEN uint64_t lt_sample_bytes; /* 0: not sampling */
extern LT_TLS int64_t lt_sample_left;

/* Sets up sampling at mean interval `bytes` (0: off). Returns 0 or -ENOMEM. */
int lt_sample_init(uint64_t bytes, uint64_t seed);

/* Whether an allocation of size bytes is to be recorded. */
static inline int lt_sample_take(size_t size)
{
        if (lt_likely(!lt_sample_bytes))
                return 1;
        lt_sample_left -= (int64_t)size;
        return lt_sample_left <= 0;
}

/* For a sampled allocation of size bytes: draws the next countdown, and
 * gives the weights the block counts for. Returns 1, or 0 when it is not
 * sampled after all (a thread's first, whose countdown was never drawn). */
int lt_sample_weigh(size_t size, uint64_t *bytes, uint32_t *blocks);

/* The filter of sampled addresses, in two levels. A free reads one bit of
 * an 8 KiB map, which stays in the first-level cache: the 1 MiB array of
 * counts that it used to read cost a cache miss on nearly every free (the
 * sampled malloc benchmark spent more time there than in the tracer's
 * instructions). Bit b stands for the 16 counts from 16b; it is set while
 * any of them is not zero. Counts and bits change only under a lock, and
 * only for sampled blocks, which are rare. */
#define LT_SAMPLE_COUNT_BITS 20
#define LT_SAMPLE_MAP_BITS 16
extern LT_HIDDEN uint64_t *lt_sample_map;

static inline uint32_t lt_sample_hash(uintptr_t p)
{
        /* Fibonacci hashing: blocks are 16-byte aligned, the top bits of
         * the product mix all the others. */
        return (uint32_t)(((uint64_t)p * 0x9e3779b97f4a7c15ull) >> (64 - LT_SAMPLE_COUNT_BITS));
}

/* Whether p may be a sampled block (never a false "no"). */
static inline int lt_sample_maybe(uintptr_t p)
{
        if (lt_likely(!lt_sample_bytes))
                return 1;
        uint32_t b = lt_sample_hash(p) >> (LT_SAMPLE_COUNT_BITS - LT_SAMPLE_MAP_BITS);
        return (__atomic_load_n(&lt_sample_map[b / 64], __ATOMIC_RELAXED) >> (b % 64)) & 1;
}

/* A sampled block is live at p, or no longer is. Inside the tracer. */
void lt_sample_mark(uintptr_t p);
void lt_sample_unmark(uintptr_t p);

/* fork(): the lock of the filter, taken before, released or reset after. */
void lt_sample_lock(void);
void lt_sample_unlock(void);
void lt_sample_reset_lock(void);

#endif
