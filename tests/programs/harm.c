/* Checks that the allocator behaves as the C library documents, errno
 * included: run with and without the tracer, the output must be the same
 * and every case must pass. Usage:
 *   harm         runs the cases, prints a TAP-style line each and
 *                "N passed, N failed"; exits 1 if any failed
 *   harm exit N  prints one line and exits with status N
 *   harm quick_exit N, harm sysexit N
 *                keeps a block, prints one line and ends with status N by
 *                quick_exit() or the exit_group system call */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (cond) {                                                                        \
                        passed++;                                                                  \
                        say("ok %d - " __VA_ARGS__);                                               \
                } else {                                                                           \
                        failed++;                                                                  \
                        say("not ok %d - " __VA_ARGS__);                                           \
                }                                                                                  \
        } while (0)
#define N (passed + failed) /* the number of the case just counted */

static void *kept;

static int all_bytes(const unsigned char *p, size_t n, unsigned char c)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != c)
                        return 0;
        return 1;
}

static void *thread_case(void *arg)
{
        (void)arg;
        errno = EDOM;
        void *p = malloc(64);
        void *q = calloc(4, 16);
        free(p);
        free(q);
        CHECK(p && q && errno == EDOM, "errno kept by the first allocations of a new thread\n", N);
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc == 3 && !strcmp(argv[1], "exit")) {
                say("harm: exiting with %d\n", atoi(argv[2]));
                return atoi(argv[2]);
        }
        if (argc == 3 && (!strcmp(argv[1], "quick_exit") || !strcmp(argv[1], "sysexit"))) {
                static void *kept;
                kept = malloc(321); /* LEAK: kept */
                __asm__ volatile("" : : "r"(kept) : "memory");
                say("harm: %s with %d\n", argv[1], atoi(argv[2]));
                if (!strcmp(argv[1], "quick_exit"))
                        quick_exit(atoi(argv[2]));
                syscall(SYS_exit_group, atoi(argv[2]));
        }

        /* Before anything else: a tracer that starts lazily starts here. */
        errno = EDOM;
        void *first = malloc(100);
        CHECK(first && errno == EDOM, "errno kept by the first malloc\n", N);
        free(first);

        errno = 0;
        void *p = malloc(SIZE_MAX);
        CHECK(!p && errno == ENOMEM, "malloc(SIZE_MAX) is NULL with ENOMEM\n", N);

        errno = 0;
        p = calloc(SIZE_MAX / 2 + 1, 2);
        CHECK(!p && errno == ENOMEM, "calloc overflow is NULL with ENOMEM\n", N);

        errno = 0;
        p = reallocarray(NULL, SIZE_MAX / 2 + 1, 2);
        CHECK(!p && errno == ENOMEM, "reallocarray overflow is NULL with ENOMEM\n", N);

        char *old = malloc(16); /* LEAK: kept_after_failed_realloc */
        memset(old, 'k', 16);
        errno = 0;
        char *grown = realloc(old, SIZE_MAX);
        CHECK(!grown && errno == ENOMEM && all_bytes((unsigned char *)old, 16, 'k'),
              "failed realloc is NULL with ENOMEM and keeps the old block\n", N);
        kept = old; /* still live: the tracer must still count it */

        void *q = malloc(32);
        errno = EDOM;
        free(q);
        free(NULL);
        CHECK(errno == EDOM, "free keeps errno\n", N);

        void *sentinel = (void *)0x1234, *m = sentinel;
        errno = EDOM;
        int rc = posix_memalign(&m, 3, 64);
        int rc24 = posix_memalign(&m, 24, 64);
        CHECK(rc == EINVAL && rc24 == EINVAL && errno == EDOM && m == sentinel,
              "posix_memalign with a bad alignment is EINVAL, errno and pointer untouched\n", N);

        errno = EDOM;
        rc = posix_memalign(&m, 256, 1000);
        CHECK(rc == 0 && (uintptr_t)m % 256 == 0 && errno == EDOM,
              "posix_memalign(256) aligned, errno kept\n", N);
        free(m);

        errno = EDOM;
        void *a = aligned_alloc(64, 256);
        void *b = memalign(4096, 100);
        void *v = valloc(10);
        void *pv = pvalloc(10);
        long page = sysconf(_SC_PAGESIZE);
        CHECK(a && b && v && pv && (uintptr_t)a % 64 == 0 && (uintptr_t)b % 4096 == 0 &&
                  (uintptr_t)v % page == 0 && (uintptr_t)pv % page == 0 && errno == EDOM,
              "aligned_alloc, memalign, valloc, pvalloc aligned, errno kept\n", N);
        CHECK(malloc_usable_size(pv) >= (size_t)page, "pvalloc rounds up to a page\n", N);
        free(a);
        free(b);
        free(v);
        free(pv);

        errno = EDOM;
        void *u = malloc(100);
        size_t usable = malloc_usable_size(u);
        CHECK(usable >= 100 && errno == EDOM, "malloc_usable_size(malloc(100)) = %zu\n", N, usable);
        CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = 0\n", N);

        errno = EDOM;
        u = realloc(u, 5000);
        u = realloc(u, 10);
        CHECK(u && errno == EDOM, "realloc grow and shrink keep errno\n", N);
        void *z = realloc(u, 0);
        CHECK(z == NULL && errno == EDOM, "realloc(p, 0) frees, returns NULL, keeps errno\n", N);

        unsigned char *dirty = malloc(1000);
        memset(dirty, 0xaa, 1000);
        free(dirty);
        errno = EDOM;
        unsigned char *clean = calloc(1000, 1);
        CHECK(clean && all_bytes(clean, 1000, 0) && errno == EDOM, "calloc zeroes, keeps errno\n",
              N);
        free(clean);

        void *z1 = malloc(0), *z2 = malloc(0);
        CHECK(z1 && z2 && z1 != z2, "malloc(0) gives distinct blocks\n", N);
        free(z1);
        free(z2);

        errno = EDOM;
        void *r = realloc(NULL, 50);
        void *ra = reallocarray(r, 10, 10);
        CHECK(ra && errno == EDOM, "realloc(NULL) and reallocarray keep errno\n", N);
        free(ra);

        struct own_thread t;
        own_thread_start(&t, thread_case, NULL);
        own_thread_join(&t);

        say("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
