/* The fast unwinder: per-address rules from .eh_frame, cached. */
#ifndef LT_UNWIND_H
#define LT_UNWIND_H

#include <stdint.h>

#include "lt.h"

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
 * caller from (when not NULL and from->ip is set). Returns how many, or,
 * when a frame needs libunwind, -1 - the frames it did put in buf (the
 * stack up to that frame). Without may_read (in a signal handler, or
 * in a hook that malloc may be under: mmap, mprotect) it neither waits
 * for a lock nor allocates: it reads new rules from .eh_frame in place,
 * and leaves to libunwind those that only libdw can read, and the code of
 * objects that no capture with may_read has met yet. */
int lt_unwind(void **buf, int want, int may_read, const struct lt_caller *from);

/* The current thread's stack, once a walk has found it (lt_stack_known 1;
 * -1: it cannot be found). */
extern LT_TLS uintptr_t lt_stack_lo, lt_stack_hi;
extern LT_TLS int lt_stack_known;

/* Stack a walk may take below the hook's frame, with room to spare: the
 * fast walk and its rule reading, or libunwind and the loader's lazy
 * binding of its calls, took up to about 9 KiB. */
#define LT_ROOM_NEEDED (32u << 10)

/* Inside the program's call of pthread_getattr_np (hooks.c), which holds
 * the thread's lock while it allocates: the thread's stack, found with the
 * same call, is not looked for then, or the thread would wait for itself. */
extern LT_TLS int lt_unwind_in_getattr;

/* MAY_FIND: the thread's stack may be looked for now, if it never was
 * (pthread_getattr_np: not in a signal handler, not inside malloc). */
int lt_unwind_room_short_slow(uintptr_t sp, int may_find);

/* Whether libunwind, which takes about 9 KiB, may run on this stack: the
 * thread's own (its room checked before) or the alternate signal stack with
 * LT_ROOM_NEEDED below; not a stack the program made (a coroutine's, 8 KiB
 * may be all it has), whose size nobody knows. The fast walk, a few hundred
 * bytes, runs anywhere. */
int lt_unwind_libunwind_fits(void);

/* Finds the calling thread's stack now, where there is room for it: the
 * main thread's is read from /proc/self/maps (by pthread_getattr_np, with
 * kilobytes of stack), which a first allocation on a small coroutine stack
 * could not afford. */
void lt_unwind_know_stack(void);

/* Whether the stack the caller runs on is too short for a walk: a signal
 * handler's alternate stack (SIGSTKSZ is 8 KiB), or the end of the
 * thread's. A compare on the thread's own stack; a system call elsewhere. */
static inline int lt_unwind_room_short(int may_find)
{
        uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
        /* One compare, for a stack of twice the room or more (lt_stack_known
         * 1; a smaller one is 2, and takes the slow path). */
        if (lt_likely(lt_stack_known == 1 &&
                      sp - lt_stack_lo - LT_ROOM_NEEDED < lt_stack_hi - lt_stack_lo - LT_ROOM_NEEDED))
                return 0;
        return lt_unwind_room_short_slow(sp, may_find);
}

/* Set by lt_unwind() (never cleared by it) when its walk stopped where the
 * next frame would be off the stack: a frame of code that has no unwind
 * information and keeps no frame pointer (built with
 * -fno-asynchronous-unwind-tables), whose callers are lost. */
extern LT_TLS int lt_unwind_lost;

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
