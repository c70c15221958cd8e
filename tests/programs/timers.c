/* Timers left live and timers ended properly, side by side. Usage:
 *   timers                    leaks a repeating timerfd, a duplicated timerfd
 *                             closed once, a POSIX timer, an itimer; ends the rest
 *   timers fork               the same, then forks: the child inherits the fds
 *   timers exec               a timerfd without CLOEXEC and one with it, then
 *                             execs `timers after-exec`
 *   timers after-exec         prints the timerfds it inherited
 *   timers watchdog           a one-shot ITIMER_REAL of 50 ms whose handler
 *                             ends the process (_exit 3): the timer fired */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

extern char **environ;
static const struct itimerspec every_100ms = { { 0, 100000000 }, { 0, 100000000 } };
static const struct itimerspec once_10s = { { 0, 0 }, { 10, 0 } };

static NOINLINE int leak_timerfd(void)
{
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* LEAK: timerfd */
        timerfd_settime(fd, 0, &every_100ms, NULL);
        return fd;
}

static NOINLINE void closed_timerfd(void)
{
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* ENDED: timerfd */
        timerfd_settime(fd, 0, &every_100ms, NULL);
        close(fd);
}

static NOINLINE int leak_dup(void)
{
        int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC); /* LEAK: dup */
        timerfd_settime(fd, 0, &once_10s, NULL);
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 100);
        close(fd); /* the timer lives on through copy */
        return copy;
}

static NOINLINE void closed_dup(void)
{
        int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC); /* ENDED: dup */
        int copy = dup(fd);
        int third = dup2(copy, 200);
        close(fd);
        close(copy);
        close_range(200, 200, 0);
        (void)third;
}

static NOINLINE timer_t leak_posix(void)
{
        timer_t t;
        struct sigevent ev = { .sigev_notify = SIGEV_NONE };
        timer_create(CLOCK_MONOTONIC, &ev, &t); /* LEAK: posix */
        timer_settime(t, 0, &every_100ms, NULL);
        return t;
}

static NOINLINE void deleted_posix(void)
{
        timer_t t;
        struct sigevent ev = { .sigev_notify = SIGEV_NONE };
        timer_create(CLOCK_MONOTONIC, &ev, &t); /* ENDED: posix */
        timer_settime(t, 0, &every_100ms, NULL);
        timer_delete(t);
}

static NOINLINE void leak_itimer(void)
{
        struct itimerval v = { { 1, 0 }, { 1, 0 } };
        setitimer(ITIMER_PROF, &v, NULL); /* LEAK: itimer */
}

static NOINLINE void ended_itimer(void)
{
        struct itimerval v = { { 0, 0 }, { 5, 0 } }, off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_VIRTUAL, &v, NULL); /* ENDED: itimer */
        setitimer(ITIMER_VIRTUAL, &off, NULL);
}

static void on_watchdog(int sig)
{
        (void)sig;
        _exit(3);
}

static NOINLINE void watchdog(void)
{
        struct itimerval v = { { 0, 0 }, { 0, 50000 } };
        signal(SIGALRM, on_watchdog);
        setitimer(ITIMER_REAL, &v, NULL); /* ENDED: watchdog */
        for (;;)
                pause();
}

/* alarm is ITIMER_REAL: setitimer arming it again replaces the alarm with
 * a repeating itimer, of its own site. */
static NOINLINE void alarm_then_itimer(void)
{
        alarm(100); /* ENDED: alarm */
        struct itimerval v = { { 50, 0 }, { 50, 0 } };
        setitimer(ITIMER_REAL, &v, NULL); /* LEAK: rearmed */
}

/* A timerfd never armed, and one armed then disarmed: descriptors kept
 * for nothing. */
static NOINLINE void unarmed(void)
{
        int never = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* UNARMED: never */
        int off = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);   /* UNARMED: disarmed */
        const struct itimerspec zero = { { 0, 0 }, { 0, 0 } };
        timerfd_settime(off, 0, &once_10s, NULL);
        timerfd_settime(off, 0, &zero, NULL);
        say("unarmed: fds %d %d\n", never, off);
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "";
        if (!strcmp(mode, "watchdog"))
                watchdog();
        if (!strcmp(mode, "unarmed")) {
                unarmed();
                return 0;
        }
        if (!strcmp(mode, "rearm")) {
                alarm_then_itimer();
                say("rearmed\n");
                return 0;
        }
        if (!strcmp(mode, "after-exec")) {
                int n = 0;
                for (int fd = 3; fd < 64; fd++) {
                        struct itimerspec cur;
                        if (timerfd_gettime(fd, &cur) == 0) {
                                say("inherited timerfd %d interval %ld\n", fd, cur.it_interval.tv_nsec);
                                n++;
                        }
                }
                say("after-exec: %d timerfds\n", n);
                return 0;
        }
        if (!strcmp(mode, "exec")) {
                int kept = timerfd_create(CLOCK_MONOTONIC, 0);
                timerfd_settime(kept, 0, &every_100ms, NULL);
                int gone = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
                timerfd_settime(gone, 0, &every_100ms, NULL);
                char *args[] = { argv[0], "after-exec", NULL };
                execve(argv[0], args, environ);
                die("timers: exec failed: %s\n", strerror(errno));
        }

        int a = leak_timerfd();
        closed_timerfd();
        int b = leak_dup();
        closed_dup();
        timer_t p = leak_posix();
        deleted_posix();
        leak_itimer();
        ended_itimer();
        say("timers: fds %d %d, posix timer %s\n", a, b, p ? "made" : "made");

        if (!strcmp(mode, "fork")) {
                pid_t pid = fork();
                if (pid == 0) {
                        say("child: has the timerfds\n");
                        free(malloc(1)); /* something recorded: the child has a file */
                        _exit(0);
                }
                int st;
                waitpid(pid, &st, 0);
                say("parent: child exited %d\n", WEXITSTATUS(st));
        }
        return 0;
}
