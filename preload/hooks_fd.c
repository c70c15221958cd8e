/* The interposed timer calls, and the descriptor calls that end a timerfd's
 * life or give it another descriptor. For an ordinary descriptor, close
 * and dup cost one bit test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fds.h"
#include "real.h"
#include "tracefile.h"
#include "timers.h"

/* Descriptor calls can come before the constructor (from another
 * library's): resolve then. */
#define REAL(name) (lt_likely(lt_real.name != NULL) || lt_real_init() == 0 ? lt_real.name : NULL)

#define REAL_OR_ENOSYS(name)                                                                   \
        if (!REAL(name)) {                                                                     \
                errno = ENOSYS;                                                                \
                return -1;                                                                     \
        }

LT_EXPORT int timerfd_create(int clock, int flags)
{
        REAL_OR_ENOSYS(timerfd_create);
        int fd = lt_real.timerfd_create(clock, flags);
        if (fd >= 0 && lt_enter()) {
                int saved = errno;
                lt_timer_created(LT_TIMER_TIMERFD, fd, clock);
                errno = saved;
                lt_leave();
        }
        return fd;
}

LT_EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *v, struct itimerspec *old)
{
        REAL_OR_ENOSYS(timerfd_settime);
        uint64_t at = lt_now_ns();
        int rc = lt_real.timerfd_settime(fd, flags, v, old);
        if (rc == 0 && lt_fd_is_timer(fd) && lt_enter()) {
                int saved = errno;
                lt_timer_armed(LT_TIMER_TIMERFD, fd, flags & TFD_TIMER_ABSTIME, v, at);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT int timerfd_gettime(int fd, struct itimerspec *cur)
{
        REAL_OR_ENOSYS(timerfd_gettime);
        return lt_real.timerfd_gettime(fd, cur);
}

LT_EXPORT int timer_create(clockid_t clock, struct sigevent *sev, timer_t *id)
{
        REAL_OR_ENOSYS(timer_create);
        int rc = lt_real.timer_create(clock, sev, id);
        if (rc == 0 && lt_enter()) {
                int saved = errno;
                lt_timer_created(LT_TIMER_POSIX, (int64_t)(intptr_t)*id, clock);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT int timer_settime(timer_t id, int flags, const struct itimerspec *v, struct itimerspec *old)
{
        REAL_OR_ENOSYS(timer_settime);
        uint64_t at = lt_now_ns();
        int rc = lt_real.timer_settime(id, flags, v, old);
        if (rc == 0 && lt_enter()) {
                int saved = errno;
                lt_timer_armed(LT_TIMER_POSIX, (int64_t)(intptr_t)id, flags & TIMER_ABSTIME, v, at);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT int timer_delete(timer_t id)
{
        REAL_OR_ENOSYS(timer_delete);
        if (lt_enter_end()) {
                int saved = errno;
                lt_timer_deleted((int64_t)(intptr_t)id);
                errno = saved;
                lt_leave();
        }
        return lt_real.timer_delete(id);
}

LT_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *v, struct itimerval *old)
{
        REAL_OR_ENOSYS(setitimer);
        uint64_t at = lt_now_ns();
        int rc = lt_real.setitimer(which, v, old);
        if (rc == 0 && v && (unsigned)which < 3 && lt_enter()) {
                int saved = errno;
                struct itimerspec s = {
                        { v->it_interval.tv_sec, v->it_interval.tv_usec * 1000 },
                        { v->it_value.tv_sec, v->it_value.tv_usec * 1000 },
                };
                lt_timer_armed(LT_TIMER_ITIMER, which, 0, &s, at);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT unsigned alarm(unsigned seconds)
{
        if (!REAL(alarm))
                return 0;
        uint64_t at = lt_now_ns();
        unsigned left = lt_real.alarm(seconds);
        if (lt_enter()) {
                int saved = errno;
                struct itimerspec s = { { 0, 0 }, { seconds, 0 } };
                lt_timer_armed(LT_TIMER_ALARM, ITIMER_REAL, 0, &s, at);
                errno = saved;
                lt_leave();
        }
        return left;
}

LT_EXPORT int close(int fd)
{
        REAL_OR_ENOSYS(close);
        if (lt_unlikely(lt_fd_is_own(fd))) {
                if (lt_in_tracer) {
                        lt_fd_taken(fd, 0); /* libunwind closing its pipe to open another */
                } else if (lt_fd_own_still(fd)) {
                        errno = EBADF; /* as untraced: nothing is open there */
                        return -1;
                }
        }
        if (lt_unlikely(lt_fd_is_timer(fd)) && lt_enter_end()) {
                int saved = errno;
                lt_fd_closing(fd);
                errno = saved;
                lt_leave();
        }
        return lt_real.close(fd);
}

/* Closes [first, last] but for the tracer's descriptors, in the pieces
 * between them. For closefrom (one_by_one), where close_range is missing
 * (Linux before 5.9), one descriptor at a time, as glibc's closefrom does
 * then. Returns 0 or -1 (errno of the first piece that failed). */
static int close_around(unsigned first, unsigned last, int flags, int one_by_one)
{
        unsigned own[LT_FD__COUNT];
        int n = 0;
        for (int k = 0; k < LT_FD__COUNT; k++) {
                int fd = atomic_load_explicit(&lt_own_fd[k], memory_order_relaxed);
                if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last) {
                        int i = n++;
                        for (; i > 0 && own[i - 1] > (unsigned)fd; i--)
                                own[i] = own[i - 1];
                        own[i] = (unsigned)fd;
                }
        }
        int rc = 0, err = 0;
        unsigned lo = first;
        for (int i = 0; i <= n; i++) {
                unsigned hi = i < n ? own[i] - 1 : last;
                if ((i == n || own[i] > lo) && lo <= hi) {
                        int r = lt_real.close_range(lo, hi, flags);
                        if (r < 0 && errno == ENOSYS && one_by_one) {
                                for (unsigned fd = lo; fd <= hi; fd++)
                                        lt_real.close((int)fd);
                                r = 0;
                        }
                        if (r < 0 && !rc) {
                                rc = -1;
                                err = errno;
                        }
                }
                if (i < n) {
                        if (own[i] == ~0u)
                                break;
                        lo = own[i] + 1;
                }
        }
        if (rc)
                errno = err;
        return rc;
}

LT_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
        REAL_OR_ENOSYS(close_range);
        /* Close-on-exec asked of ours changes nothing: they have it. */
        int rc = (flags & CLOSE_RANGE_CLOEXEC) || lt_in_tracer
                         ? lt_real.close_range(first, last, flags)
                         : close_around(first, last, flags, 0);
        if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && lt_enter_end()) {
                int saved = errno;
                lt_fd_range_closing(first, last);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT void closefrom(int low)
{
        if (!REAL(closefrom))
                return;
        if (low >= 0 && lt_enter_end()) {
                int saved = errno;
                lt_fd_range_closing((unsigned)low, ~0u);
                errno = saved;
                lt_leave();
        }
        /* The pieces below the last of ours by close_range, the rest by
         * closefrom itself, which has its own way on old kernels. */
        int top = -1;
        for (int k = 0; k < LT_FD__COUNT; k++) {
                int fd = atomic_load_explicit(&lt_own_fd[k], memory_order_relaxed);
                if (fd >= low && fd > top)
                        top = fd;
        }
        if (top >= 0 && !lt_in_tracer && lt_real.close_range) {
                int saved = errno;
                close_around((unsigned)low, (unsigned)top, 0, 1);
                errno = saved;
                low = top + 1;
        }
        lt_real.closefrom(low);
}

static int duped(int oldfd, int newfd)
{
        if (newfd >= 0 && (lt_fd_is_timer(oldfd) || lt_fd_is_timer(newfd)) && lt_enter_end()) {
                int saved = errno;
                lt_fd_duped(oldfd, newfd);
                errno = saved;
                lt_leave();
        }
        return newfd;
}

LT_EXPORT int dup(int fd)
{
        REAL_OR_ENOSYS(dup);
        return duped(fd, lt_real.dup(fd));
}

/* The program puts a file on a number of ours: it gets it, as untraced. */
static inline void taking(int fd, int to)
{
        if (lt_unlikely(lt_fd_is_own(to)) && !lt_in_tracer && fd != to)
                lt_fd_taken(to, 1);
}

LT_EXPORT int dup2(int fd, int to)
{
        REAL_OR_ENOSYS(dup2);
        taking(fd, to);
        return duped(fd, lt_real.dup2(fd, to));
}

LT_EXPORT int dup3(int fd, int to, int flags)
{
        REAL_OR_ENOSYS(dup3);
        taking(fd, to);
        return duped(fd, lt_real.dup3(fd, to, flags));
}

/* libunwind's pipe, made as the tracer first unwinds: moved up out of the
 * program's way (see fds.h). The program's own pipes pass untouched. */
LT_EXPORT int pipe2(int fds[2], int flags)
{
        REAL_OR_ENOSYS(pipe2);
        int rc = lt_real.pipe2(fds, flags);
        if (rc == 0 && lt_unlikely(lt_fd_in_libunwind)) {
                fds[0] = lt_fd_adopt(fds[0], LT_FD_UNW_READ);
                fds[1] = lt_fd_adopt(fds[1], LT_FD_UNW_WRITE);
        }
        return rc;
}

/* fcntl's third argument is an int or a pointer, by command; passing it on
 * as a pointer-sized word is what the C library itself does. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
        int rc = real(fd, cmd, arg);
        if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
                return duped(fd, rc);
        return rc;
}

LT_EXPORT int fcntl(int fd, int cmd, ...)
{
        va_list ap;
        va_start(ap, cmd);
        void *arg = va_arg(ap, void *);
        va_end(ap);
        REAL_OR_ENOSYS(fcntl);
        return fcntl_common(lt_real.fcntl, fd, cmd, arg);
}

LT_EXPORT int fcntl64(int fd, int cmd, ...)
{
        va_list ap;
        va_start(ap, cmd);
        void *arg = va_arg(ap, void *);
        va_end(ap);
        if (!REAL(fcntl64)) {
                REAL_OR_ENOSYS(fcntl);
                return fcntl_common(lt_real.fcntl, fd, cmd, arg);
        }
        return fcntl_common(lt_real.fcntl64, fd, cmd, arg);
}
