/* What every file of the preload shares: attributes and a few helpers. */
#ifndef LT_H
#define LT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define lt_likely(x) __builtin_expect(!!(x), 1)
#define lt_unlikely(x) __builtin_expect(!!(x), 0)
#define LT_NOINLINE __attribute__((noinline))
#define LT_COLD __attribute__((cold))
#define LT_EXPORT __attribute__((visibility("default")))
/* On the declaration of a variable the hooks read: -fvisibility=hidden
 * covers definitions only, and an extern of unknown visibility is reached
 * through the GOT (two instructions where one does, in every hook). */
#define LT_HIDDEN __attribute__((visibility("hidden")))
#define LT_TLS __thread __attribute__((tls_model("initial-exec")))
#define LT_CACHELINE 64
#define LT_ALIGNED __attribute__((aligned(LT_CACHELINE)))

#define LT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint64_t lt_mix64(uint64_t x)
{
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return x;
}

/* Zeroed memory of the tracer's own, outside the heap: pages cost nothing
 * until touched. NULL when there is none. */
static inline void *lt_anon_map(size_t bytes)
{
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

static inline void lt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/* The tracer's slow paths call cancellation points (fallocate, open,
 * write, libunwind's pipe) while it holds its locks: a thread cancelled in
 * there would leave them held, and the next allocation of any thread would
 * wait forever. Those paths run with cancellation off. */
#define LT_NO_CANCEL(...)                                                                          \
        do {                                                                                       \
                int lt_cancel_state_;                                                              \
                pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &lt_cancel_state_);                 \
                __VA_ARGS__;                                                                       \
                pthread_setcancelstate(lt_cancel_state_, NULL);                                    \
        } while (0)

#endif
