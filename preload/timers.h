/* OS timers: timerfd, POSIX timers, itimers and alarm. Each live timer has
 * a record in the trace file with its creation stack, its last arming and
 * its state; each creation site counts the timers it made and those still
 * live. A timerfd lives until the last descriptor on it is closed, so the
 * descriptors that refer to timers are tracked too (a bitmap, tested before
 * anything else on every close and dup). */
#ifndef LT_TIMERS_H
#define LT_TIMERS_H

#include <stdint.h>
#include <time.h>

#include "leaktrace/format.h"

#define LT_MAX_FDS (1u << 20)

extern _Atomic uint64_t *lt_timer_fd_bits;

/* Sets up the tables and records the timers this image inherited (exec).
 * Returns 0 or -ENOMEM. */
int lt_timers_init(void);

/* Attach mode: the tables, empty, without adopting the timers that exist
 * (made before attach: their creation was not seen). Called again before
 * each new trace file. Returns 0 or -ENOMEM. */
int lt_timers_attach(void);

static inline int lt_fd_is_timer(int fd)
{
        return (unsigned)fd < LT_MAX_FDS && lt_timer_fd_bits &&
               (__atomic_load_n(&lt_timer_fd_bits[(unsigned)fd / 64], __ATOMIC_RELAXED) >>
                ((unsigned)fd % 64)) & 1;
}

/* A timer was made: kind, id (fd or timer_t), clock. */
void lt_timer_created(enum lt_timer_kind kind, int64_t id, int clock);

/* A timer was armed (value all zero: disarmed) by a call made at at_ns
 * (taken before it: a one-shot timer that fired is then never found
 * armed at the end). itimers and alarm are created by their first arming
 * and end when disarmed. */
void lt_timer_armed(enum lt_timer_kind kind, int64_t id, int flags, const struct itimerspec *v,
                    uint64_t at_ns);

/* A POSIX timer was deleted. */
void lt_timer_deleted(int64_t id);

/* fd is being closed; [first, last] are (close_range). */
void lt_fd_closing(int fd);
void lt_fd_range_closing(unsigned first, unsigned last);

/* newfd now refers to what oldfd does (dup, dup2, dup3, F_DUPFD). */
void lt_fd_duped(int oldfd, int newfd);

/* fork(): lock before, unlock after; in the child, the timers that fork
 * does not pass on (POSIX timers, itimers, alarm) are ended. */
void lt_timers_lock(void);
void lt_timers_unlock(void);
void lt_timers_fork_child(void);

#endif
