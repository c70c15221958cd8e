/* The fast unwinder: per-address rules from .eh_frame, cached. */
#ifndef LT_UNWIND_H
#define LT_UNWIND_H

#include <stdint.h>

/* A hook's caller as it made the call: its return address, its stack
 * pointer after the return, and its rbp. A walk started there skips the
 * tracer's own frames, a fifth of a typical malloc stack. */
struct lt_caller {
        uintptr_t ip, sp, bp;
};

/* The caller of the function this is used in: an interposed function, or
 * a function that one reaches by tail calls only (from anywhere else it
 * gives a frame of the tracer, which the capture then skips). It makes
 * that function keep a frame pointer: rbp then points at the saved rbp,
 * with the return address above it. */
#if defined(__x86_64__)
#define LT_CALLER()                                                                                \
        ({                                                                                         \
                const uintptr_t *fp_ = __builtin_frame_address(0);                                 \
                (struct lt_caller){ fp_[1], (uintptr_t)(fp_ + 2), fp_[0] };                        \
        })
#else
#define LT_CALLER() ((struct lt_caller){ 0, 0, 0 })
#endif

/* Prepares the rule table when on (LEAKTRACE_UNWIND=fast). Returns 0, or -1
 * when there is no memory for it (libunwind does every stack then). */
int lt_unwind_init(int on);

/* Fills buf with up to want code addresses of the current stack, innermost
 * first, starting in this function, as unw_backtrace() would, or at the
 * caller from (when not NULL and from->ip is set). Returns how many, or -1
 * when a frame needs libunwind. Without may_read (in a signal handler, or
 * in a hook that malloc may be under: mmap, mprotect) it neither waits
 * for a lock nor allocates: it reads new rules from .eh_frame in place,
 * and leaves to libunwind those that only libdw can read, and the code of
 * objects that no capture with may_read has met yet. */
int lt_unwind(void **buf, int want, int may_read, const struct lt_caller *from);

/* A stack that went to libunwind because rules could not be read (frames
 * as lt_unwind gives them): its addresses are kept for
 * lt_unwind_read_wanted(). Signal-safe: no lock, no allocation. */
void lt_unwind_want(void *const *frames, int n);

/* Reads the rules wanted so far: from the ticker thread, which may. */
void lt_unwind_read_wanted(void);

/* fork(): the lock around reading rules, taken before, released or reset
 * after. */
void lt_unwind_lock(void);
void lt_unwind_unlock(void);
void lt_unwind_reset_lock(void);

#endif
