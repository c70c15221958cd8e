/* The tracer's own descriptors: the trace file, the pipe libunwind opens
 * to test addresses before it reads them, /proc/self/statm and cmdline
 * (read at every tick: opened once, as an open() in the tracer's thread
 * could take the number the program's dup2 asks for at that moment, which
 * then fails with EBUSY, or the lowest free number the program's next
 * open() expects), and in node the perf map and its copy. The tracer's
 * thread opens no file at its ticks; it still does for work done once:
 * node's perf map and its copy when they appear, libdw and the objects
 * whose unwind rules a capture could not read itself (in a signal
 * handler).
 *
 * They sit high, from LT_FD_FLOOR up (half the descriptor limit, at most
 * 1024), so that the program gets the numbers it would get untraced: 3
 * for its first file. And the program may not take them from us: a
 * daemon that closes every descriptor it did not open gets EBADF for
 * ours, as it would untraced, where nothing is open at that number; a
 * close_range or closefrom closes around them. What the hooks cannot
 * stop (a raw system call, a dup2 onto our number) is found before the
 * descriptor is used again, by its device and inode: the trace file is
 * opened again by its path, and libunwind, which keeps its pipe's numbers
 * to itself, is not called again (it would read and write whatever file
 * the program has there now). */
#ifndef LT_FDS_H
#define LT_FDS_H

#include "lt.h"

enum lt_fd_kind {
        LT_FD_TRACE,
        LT_FD_UNW_READ,
        LT_FD_UNW_WRITE,
        LT_FD_STATM,
        LT_FD_CMDLINE,
        LT_FD_PERFMAP_SRC,
        LT_FD_PERFMAP_COPY,
        LT_FD__COUNT
};

extern _Atomic int lt_own_fd[LT_FD__COUNT];

/* Set around the tracer's calls into libunwind: a pipe made then is its. */
extern LT_TLS int lt_fd_in_libunwind;

/* Moves fd up from the floor, close-on-exec, and keeps it as the tracer's
 * descriptor of that kind. Returns the descriptor to use: the new one, or
 * fd itself when there is no room up there. */
int lt_fd_adopt(int fd, enum lt_fd_kind kind);


/* The descriptor is no longer the tracer's (about to be closed by it). */
void lt_fd_release(enum lt_fd_kind kind);

/* Whether the descriptor of that kind is still the file it was adopted
 * as. When not (the program closed it, or put a file of its own there),
 * it is released and no longer the tracer's: never closed, read or
 * written by it again. */
int lt_fd_still(enum lt_fd_kind kind);

/* Whether fd is one of the tracer's. */
static inline int lt_fd_is_own(int fd)
{
        if (fd < 0)
                return 0;
        for (int k = 0; k < LT_FD__COUNT; k++)
                if (lt_unlikely(atomic_load_explicit(&lt_own_fd[k], memory_order_relaxed) == fd))
                        return 1;
        return 0;
}

/* Whether fd, which lt_fd_is_own(), still holds our file: the program may
 * have closed it behind the hooks (the raw close_range system call) and
 * had the number again for a file of its own; then it is no longer ours. */
int lt_fd_own_still(int fd);

/* fd, one of ours, is closed: by the program, which puts another file on
 * its number (dup2, dup3; lost = 1: a pipe of libunwind's is not used
 * again), or by the tracer itself (libunwind opening a new pipe). */
void lt_fd_taken(int fd, int lost);

/* After libunwind's first use, when its pipe was not seen opening: finds
 * it from the lowest descriptor that was free before (-1: unknown). */
void lt_fd_find_unwinder(int lowest);

/* Whether libunwind may be called: its pipe, when it opened one, is still
 * the one it opened. Once it is not, never again. */
int lt_fd_unwinder_ok(void);

#endif
