#include "fds.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "real.h"

_Atomic int lt_own_fd[LT_FD__COUNT] = { [0 ... LT_FD__COUNT - 1] = -1 };
LT_TLS int lt_fd_in_libunwind;
static dev_t own_dev[LT_FD__COUNT];
static ino_t own_ino[LT_FD__COUNT];
static int unwinder_lost;

/* Half the descriptor limit, at most 1024: out of the way of the numbers
 * a program uses, below those of a program that opens many files. */
static int fd_floor(void)
{
        static int floor;
        if (!floor) {
                struct rlimit r;
                long lim = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY
                                   ? (long)r.rlim_cur
                                   : 1024;
                long f = lim / 2;
                floor = f > 1024 ? 1024 : f < 3 ? 3 : (int)f;
        }
        return floor;
}

int lt_fd_adopt(int fd, enum lt_fd_kind kind)
{
        if (fd < 0)
                return fd;
        if (fd < fd_floor() && lt_real.fcntl) {
                int high = lt_real.fcntl(fd, F_DUPFD_CLOEXEC, fd_floor());
                if (high >= 0) {
                        lt_real.close(fd);
                        fd = high;
                }
        }
        struct stat st;
        if (fstat(fd, &st) == 0) {
                own_dev[kind] = st.st_dev;
                own_ino[kind] = st.st_ino;
        }
        atomic_store_explicit(&lt_own_fd[kind], fd, memory_order_release);
        return fd;
}

void lt_fd_release(enum lt_fd_kind kind)
{
        atomic_store_explicit(&lt_own_fd[kind], -1, memory_order_release);
}

int lt_fd_still(enum lt_fd_kind kind)
{
        int fd = atomic_load_explicit(&lt_own_fd[kind], memory_order_acquire);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == own_dev[kind] && st.st_ino == own_ino[kind])
                return 1;
        lt_fd_release(kind);
        return 0;
}

int lt_fd_own_still(int fd)
{
        for (int k = 0; k < LT_FD__COUNT; k++)
                if (atomic_load_explicit(&lt_own_fd[k], memory_order_relaxed) == fd)
                        return lt_fd_still((enum lt_fd_kind)k);
        return 0;
}

static void unwinder_gone(void)
{
        if (!__atomic_exchange_n(&unwinder_lost, 1, __ATOMIC_RELAXED))
                lt_log("the program closed or replaced the descriptors of libunwind's pipe; "
                       "stacks that need libunwind (through signal handlers, say) end where "
                       "the fast unwinder stops");
}

void lt_fd_taken(int fd, int lost)
{
        for (int k = 0; k < LT_FD__COUNT && fd >= 0; k++) {
                if (atomic_load_explicit(&lt_own_fd[k], memory_order_relaxed) != fd)
                        continue;
                lt_fd_release((enum lt_fd_kind)k);
                if (lost && (k == LT_FD_UNW_READ || k == LT_FD_UNW_WRITE))
                        unwinder_gone();
        }
}

int lt_fd_unwinder_ok(void)
{
        if (__atomic_load_n(&unwinder_lost, __ATOMIC_RELAXED))
                return 0;
        for (int k = LT_FD_UNW_READ; k <= LT_FD_UNW_WRITE; k++) {
                int fd = atomic_load_explicit(&lt_own_fd[k], memory_order_acquire);
                struct stat st;
                if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_dev != own_dev[k] ||
                                st.st_ino != own_ino[k])) {
                        unwinder_gone();
                        return 0;
                }
        }
        return 1;
}

/* Where libunwind's pipe2 went past the hook (the library loaded by
 * `leaktrace attach`, outside the global scope): the pipe on the lowest
 * descriptor that was free before, and the other end of it just above.
 * Kept where they are, and checked before each use like the others. */
void lt_fd_find_unwinder(int lowest)
{
        struct stat a, b;
        if (lowest < 0 || atomic_load_explicit(&lt_own_fd[LT_FD_UNW_READ], memory_order_relaxed) >= 0 ||
            fstat(lowest, &a) < 0 || !S_ISFIFO(a.st_mode))
                return;
        for (int fd = lowest + 1; fd < lowest + 64; fd++) {
                if (fstat(fd, &b) == 0 && S_ISFIFO(b.st_mode) && b.st_dev == a.st_dev &&
                    b.st_ino == a.st_ino) {
                        own_dev[LT_FD_UNW_READ] = own_dev[LT_FD_UNW_WRITE] = a.st_dev;
                        own_ino[LT_FD_UNW_READ] = own_ino[LT_FD_UNW_WRITE] = a.st_ino;
                        atomic_store_explicit(&lt_own_fd[LT_FD_UNW_READ], lowest, memory_order_release);
                        atomic_store_explicit(&lt_own_fd[LT_FD_UNW_WRITE], fd, memory_order_release);
                        return;
                }
        }
}
