/* The functions the hooks stand in front of, resolved with dlsym(RTLD_NEXT)
 * so that another allocator preloaded or linked after us (jemalloc,
 * tcmalloc) is the one we call. */
#ifndef LT_REAL_H
#define LT_REAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include "lt.h"

#define LT_REAL_FUNCS(X)                                                                       \
        X(malloc, void *, (size_t))                                                            \
        X(free, void, (void *))                                                                \
        X(calloc, void *, (size_t, size_t))                                                    \
        X(realloc, void *, (void *, size_t))                                                   \
        X(reallocarray, void *, (void *, size_t, size_t))                                      \
        X(posix_memalign, int, (void **, size_t, size_t))                                      \
        X(aligned_alloc, void *, (size_t, size_t))                                             \
        X(memalign, void *, (size_t, size_t))                                                  \
        X(valloc, void *, (size_t))                                                            \
        X(pvalloc, void *, (size_t))                                                           \
        X(malloc_usable_size, size_t, (void *))                                                \
        X(_exit, void, (int))                                                                  \
        X(exit, void, (int))                                                                   \
        X(quick_exit, void, (int))                                                             \
        X(timerfd_create, int, (int, int))                                                     \
        X(timerfd_settime, int, (int, int, const struct itimerspec *, struct itimerspec *))    \
        X(timerfd_gettime, int, (int, struct itimerspec *))                                    \
        X(timer_create, int, (clockid_t, struct sigevent *, timer_t *))                        \
        X(timer_settime, int, (timer_t, int, const struct itimerspec *, struct itimerspec *))  \
        X(timer_delete, int, (timer_t))                                                        \
        X(setitimer, int, (__itimer_which_t, const struct itimerval *, struct itimerval *))                 \
        X(alarm, unsigned, (unsigned))                                                         \
        X(close, int, (int))                                                                   \
        X(close_range, int, (unsigned, unsigned, int))                                         \
        X(pipe2, int, (int[2], int))                                                           \
        X(closefrom, void, (int))                                                              \
        X(dup, int, (int))                                                                     \
        X(dup2, int, (int, int))                                                               \
        X(dup3, int, (int, int, int))                                                          \
        X(fcntl, int, (int, int, ...))                                                         \
        X(fcntl64, int, (int, int, ...))                                                       \
        X(execve, int, (const char *, char *const[], char *const[]))                           \
        X(execv, int, (const char *, char *const[]))                                           \
        X(execvp, int, (const char *, char *const[]))                                          \
        X(execvpe, int, (const char *, char *const[], char *const[]))                          \
        X(fexecve, int, (int, char *const[], char *const[]))                                   \
        X(mmap, void *, (void *, size_t, int, int, int, off_t))                                \
        X(munmap, int, (void *, size_t))                                                       \
        X(mprotect, int, (void *, size_t, int))                                                \
        X(mremap, void *, (void *, size_t, size_t, int, ...))                                  \
        X(fopen, FILE *, (const char *, const char *))                                         \
        X(fopen64, FILE *, (const char *, const char *))                                       \
        X(setenv, int, (const char *, const char *, int))                                      \
        X(dlclose, int, (void *))                                                              \
        X(_Fork, pid_t, (void))                                                                \
        X(clone, int, (int (*)(void *), void *, int, void *, ...))                             \
        X(syscall, long, (long, ...))                                                          \
        X(prctl, int, (int, ...))                                                              \
        X(unshare, int, (int))                                                                 \
        X(setns, int, (int, int))                                                              \
        X(pthread_getattr_np, int, (pthread_t, pthread_attr_t *))

struct lt_real {
#define LT_X_FIELD(name, ret, args) ret(*name) args;
        LT_REAL_FUNCS(LT_X_FIELD)
#undef LT_X_FIELD
};

extern LT_HIDDEN struct lt_real lt_real;

/* Resolves every real function, once. While it runs, allocations that
 * dlsym itself makes are served from a small static pool. Returns 0, or
 * -ENOSYS when a function the hooks need cannot be found. */
int lt_real_init(void);

/* Attach mode: every real function from HANDLE (the C library's own),
 * never through RTLD_NEXT or the global scope, where a non-PIE executable's
 * canonical PLT entries would lead back into the hooks. Returns 0, or
 * -ENOSYS when the allocator is not there. */
int lt_real_init_from(void *handle);

/* The bootstrap pool, for allocations made while dlsym runs. */
#define LT_BOOT_POOL_SIZE (64 * 1024)
extern LT_HIDDEN unsigned char lt_boot_pool[LT_BOOT_POOL_SIZE];
void *lt_boot_alloc(size_t size, size_t align);
size_t lt_boot_size(const void *p);

static inline int lt_boot_owns(const void *p)
{
        return (uintptr_t)p - (uintptr_t)lt_boot_pool < LT_BOOT_POOL_SIZE; /* one compare */
}

#endif
