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
#include "real.h"
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
        int rc = lt_real.timerfd_settime(fd, flags, v, old);
        if (rc == 0 && lt_fd_is_timer(fd) && lt_enter()) {
                int saved = errno;
                lt_timer_armed(LT_TIMER_TIMERFD, fd, flags & TFD_TIMER_ABSTIME, v);
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
        int rc = lt_real.timer_settime(id, flags, v, old);
        if (rc == 0 && lt_enter()) {
                int saved = errno;
                lt_timer_armed(LT_TIMER_POSIX, (int64_t)(intptr_t)id, flags & TIMER_ABSTIME, v);
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
        int rc = lt_real.setitimer(which, v, old);
        if (rc == 0 && v && (unsigned)which < 3 && lt_enter()) {
                int saved = errno;
                struct itimerspec s = {
                        { v->it_interval.tv_sec, v->it_interval.tv_usec * 1000 },
                        { v->it_value.tv_sec, v->it_value.tv_usec * 1000 },
                };
                lt_timer_armed(LT_TIMER_ITIMER, which, 0, &s);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT unsigned alarm(unsigned seconds)
{
        if (!REAL(alarm))
                return 0;
        unsigned left = lt_real.alarm(seconds);
        if (lt_enter()) {
                int saved = errno;
                struct itimerspec s = { { 0, 0 }, { seconds, 0 } };
                lt_timer_armed(LT_TIMER_ALARM, ITIMER_REAL, 0, &s);
                errno = saved;
                lt_leave();
        }
        return left;
}

LT_EXPORT int close(int fd)
{
        REAL_OR_ENOSYS(close);
        if (lt_unlikely(lt_fd_is_timer(fd)) && lt_enter_end()) {
                int saved = errno;
                lt_fd_closing(fd);
                errno = saved;
                lt_leave();
        }
        return lt_real.close(fd);
}

LT_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
        REAL_OR_ENOSYS(close_range);
        int rc = lt_real.close_range(first, last, flags);
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

LT_EXPORT int dup2(int fd, int to)
{
        REAL_OR_ENOSYS(dup2);
        return duped(fd, lt_real.dup2(fd, to));
}

LT_EXPORT int dup3(int fd, int to, int flags)
{
        REAL_OR_ENOSYS(dup3);
        return duped(fd, lt_real.dup3(fd, to, flags));
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
