/* The background thread, one per process: at every tick it adds a column
 * to the timeline and to the history of every site that holds memory and
 * copies what node added to its perf map (perfmap.h), and every
 * LT_CONTROL_POLL_MS it answers the commands `leaktrace ctl` leaves
 * in the trace file. It never allocates and blocks every signal. */
#ifndef LT_TICKER_H
#define LT_TICKER_H

#include "lt.h"

/* Prepares the tables and starts the thread. Returns 0 or -errno (then the
 * process is traced without a timeline). */
int lt_ticker_start(void);

/* Set when /proc/self/statm or cmdline must be opened again, on a thread
 * of the program's (see ticker.c): the one that clears it calls
 * lt_ticker_open_proc(). */
extern LT_HIDDEN int lt_ticker_proc_wanted;
void lt_ticker_open_proc(void);

/* Ends the background thread and waits for it (up to 3 s): before a
 * seccomp filter for every thread, or unshare(CLONE_NEWUSER), which the
 * kernel refuses to a process of several threads. lt_ticker_start()
 * starts it again. Returns 1 when it ended it, 0 when it was not running,
 * or -ETIMEDOUT. */
int lt_ticker_stop(void);

/* Takes one tick now, from any thread (at exit, the last state); QUICK:
 * not if another thread is ticking. */
void lt_ticker_tick_now(int quick);

/* The allocations made so far, the sum of every stack's count, as a tick
 * counts them. */
uint64_t lt_ticker_allocs(void);

/* Attach mode, before a new trace file: waits (up to 2 s) for the thread
 * of the last attach to end after its detach, and forgets the histories.
 * Returns 0, or -EBUSY when the thread is still there. */
int lt_ticker_reset(void);

/* fork(): the lock, taken before and released or reset after; the child
 * has no thread until lt_ticker_start() runs in it again. */
void lt_ticker_lock(void);
void lt_ticker_unlock(void);
void lt_ticker_fork_child(void);

#endif
