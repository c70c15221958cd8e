/* The fast unwinder: per-address rules from .eh_frame, cached. */
#ifndef LT_UNWIND_H
#define LT_UNWIND_H

/* Prepares the rule table when on (LEAKTRACE_UNWIND=fast). Returns 0, or -1
 * when there is no memory for it (libunwind does every stack then). */
int lt_unwind_init(int on);

/* Fills buf with up to want code addresses of the current stack, innermost
 * first, starting in this function, as unw_backtrace() would. Returns how
 * many, or -1 when a frame needs libunwind. Reads rules it has not seen
 * yet only when may_read: reading allocates and takes a lock, which a
 * signal handler must not, in case it interrupted malloc or the reader. */
int lt_unwind(void **buf, int want, int may_read);

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
