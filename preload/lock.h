/* A spinlock for the tracer's tables. Held for a few dozen instructions and
 * never across a call that can block, allocate or unwind, so spinning beats
 * a futex; a holder that was preempted is waited for with sched_yield(). */
#ifndef LT_LOCK_H
#define LT_LOCK_H

#include <sched.h>
#include <stdatomic.h>

#include "lt.h"

struct lt_lock {
        atomic_int held;
};

static inline void lt_lock(struct lt_lock *l)
{
        unsigned spins = 0;
        while (atomic_exchange_explicit(&l->held, 1, memory_order_acquire)) {
                while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
                        if (++spins < 64)
                                lt_cpu_relax();
                        else
                                sched_yield();
                }
        }
}

/* Returns 1 with the lock taken, or 0 at once when it is held. */
static inline int lt_trylock(struct lt_lock *l)
{
        return !atomic_exchange_explicit(&l->held, 1, memory_order_acquire);
}

static inline void lt_unlock(struct lt_lock *l)
{
        atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* For the child after fork(): whoever held it there no longer exists. */
static inline void lt_lock_reset(struct lt_lock *l)
{
        atomic_store_explicit(&l->held, 0, memory_order_relaxed);
}

#endif
