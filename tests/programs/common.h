/* What the end-to-end test programs share. They print with say(), which
 * formats into a stack buffer and writes with write(2): stdio would malloc a
 * buffer for stdout that stays live until exit and blurs the exact figures
 * the tests compare. */
#ifndef LT_TEST_COMMON_H
#define LT_TEST_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* Writes one formatted line (the caller gives the '\n') to stdout, or to fd. */
static inline void vsay_fd(int fd, const char *fmt, va_list ap)
{
        char buf[1024];
        int n = vsnprintf(buf, sizeof buf, fmt, ap);
        if (n < 0)
                return;
        if ((size_t)n >= sizeof buf)
                n = sizeof buf - 1;
        for (int off = 0; off < n;) {
                ssize_t w = write(fd, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                off += (int)w;
        }
}

static inline __attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;
        va_start(ap, fmt);
        vsay_fd(1, fmt, ap);
        va_end(ap);
        errno = saved;
}

static inline __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsay_fd(2, fmt, ap);
        va_end(ap);
        _exit(99);
}

/* A deterministic generator, so that traced and untraced runs do the same. */
static inline uint64_t rng_next(uint64_t *s)
{
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

/* Sizes from 1 byte to a few KiB, mostly small, as real programs ask. */
static inline size_t rng_size(uint64_t *s)
{
        uint64_t r = rng_next(s);
        switch (r & 7) {
        case 0:
        case 1:
        case 2:
        case 3:
                return 1 + (r >> 8) % 64;
        case 4:
        case 5:
                return 1 + (r >> 8) % 512;
        case 6:
                return 1 + (r >> 8) % 4096;
        default:
                return 1 + (r >> 8) % 32768;
        }
}

/* A thread on a stack that the program owns. glibc frees the dynamic thread
 * vector of such a thread (a calloc that pthread_create makes through ld.so)
 * when it is joined; a thread on one of glibc's own cached stacks leaves
 * that block live after it is gone, which would blur figures that must be
 * exactly zero. */
struct own_thread {
        pthread_t id;
        void *stack;
};
#define OWN_STACK_SIZE (256u << 10)

static inline void own_thread_start(struct own_thread *t, void *(*fn)(void *), void *arg)
{
        pthread_attr_t attr;
        t->stack =
            mmap(NULL, OWN_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t->stack == MAP_FAILED)
                die("mmap of a thread stack failed\n");
        pthread_attr_init(&attr);
        pthread_attr_setstack(&attr, t->stack, OWN_STACK_SIZE);
        if (pthread_create(&t->id, &attr, fn, arg))
                die("pthread_create failed\n");
        pthread_attr_destroy(&attr);
}

static inline void own_thread_join(struct own_thread *t)
{
        pthread_join(t->id, NULL);
        munmap(t->stack, OWN_STACK_SIZE);
}

#endif
