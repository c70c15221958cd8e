/* Sampling by bytes (LEAKTRACE_SAMPLE=T): every byte allocated is picked
 * with probability 1/T, independently, so an allocation of n bytes is
 * sampled with p = 1 - exp(-n/T); a per-thread countdown drawn from the
 * exponential distribution does exactly that at the cost of a subtraction.
 * A sampled block counts for n/p bytes and 1/p blocks (Horvitz-Thompson),
 * which makes the per-site figures unbiased estimates.
 *
 * Frees must find out cheaply whether a block was sampled: a counting
 * filter over addresses answers "certainly not" with one load for almost
 * all of them. */
#ifndef LT_SAMPLE_H
#define LT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "lt.h"

extern uint64_t lt_sample_bytes; /* 0: not sampling */
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
 * gives the weights the block counts for. */
void lt_sample_weigh(size_t size, uint64_t *bytes, uint32_t *blocks);

/* The filter of sampled addresses. */
extern uint8_t *lt_sample_filter;

static inline uint8_t *lt_sample_slot(uintptr_t p)
{
        /* Fibonacci hashing: blocks are 16-byte aligned, the top bits of
         * the product mix all the others. */
        return &lt_sample_filter[((uint64_t)p * 0x9e3779b97f4a7c15ull) >> 44];
}

/* Whether p may be a sampled block (never a false "no"). */
static inline int lt_sample_maybe(uintptr_t p)
{
        return !lt_sample_bytes || __atomic_load_n(lt_sample_slot(p), __ATOMIC_RELAXED) != 0;
}

void lt_sample_mark(uintptr_t p);
void lt_sample_unmark(uintptr_t p);

#endif
