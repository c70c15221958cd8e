/* Call stacks: captured with libunwind's unw_backtrace() and interned into
 * the trace file's stack table, where each distinct stack also carries the
 * allocation counters of its site. */
#ifndef LT_STACKS_H
#define LT_STACKS_H

#include <stdint.h>

#include "leaktrace/format.h"
#include "unwind.h"

/* Room a caller gives lt_stack_capture(). */
#define LT_STACK_BUF (LT_MAX_DEPTH + 16)

/* Prepares the index for at most max stacks. Returns 0 or -ENOMEM. */
int lt_stacks_init(uint64_t max);

/* Fills buf with the return addresses of the current call stack, innermost
 * first, without the tracer's own frames, at most depth of them. Sets
 * *truncated to the LT_STACK_* flags of the stack: LT_STACK_TRUNCATED when
 * it was deeper, LT_STACK_SHORT when the walk could not go on (libunwind
 * was needed and cannot be used, fds.h). Returns the number of frames.
 * From a hook of a function that signal handlers may call (the timer calls,
 * mmap), signal_safe: the unwinder then reads no new rule (that allocates,
 * and the handler may have interrupted malloc) and leaves such stacks to
 * libunwind. from, when not NULL, is where the caller's frames begin
 * (LT_CALLER() in a hook). */
int lt_stack_capture(void **buf, int depth, unsigned *truncated, int signal_safe,
                     const struct lt_caller *from);

/* The id (1-based) of the stack in buf, entered into the table if new
 * with flags (LT_STACK_*); 0 when it is new and the table is full (counted
 * as a drop). */
uint32_t lt_stack_intern(void *const *buf, int n, unsigned flags);

/* The id of the current stack, captured and interned (the arguments as
 * lt_stack_capture's), or 0 as lt_stack_intern. Where the stack is too
 * short for a walk (lt_unwind_room_short), the stack is the caller's
 * address alone, marked cut: a handler on a small alternate stack still
 * finds its allocations at their call site, and runs on. */
uint32_t lt_stack_walk_here(int signal_safe, const struct lt_caller *from);
uint32_t lt_stack_caller_only(const struct lt_caller *from);

static inline uint32_t lt_stack_here(int signal_safe, const struct lt_caller *from)
{
        if (lt_likely(!lt_unwind_room_short(!signal_safe)))
                return lt_stack_walk_here(signal_safe, from);
        return lt_stack_caller_only(from);
}

static inline struct lt_stack_rec *lt_stack_rec(uint32_t id);

/* Bytes of memory the index holds (its touched part, about). */
uint64_t lt_stacks_footprint(void);

/* Attach mode, before a new trace file: forgets every stack (the ids are
 * the file's). */
void lt_stacks_reset(void);

/* fork(): the insert lock, taken before and released or reset after. */
void lt_stacks_lock(void);
void lt_stacks_unlock(void);
void lt_stacks_reset_lock(void);

#include "tracefile.h"

static inline struct lt_stack_rec *lt_stack_rec(uint32_t id)
{
        return lt_tf_rec(LT_SEC_STACKS, id - 1);
}

#endif
