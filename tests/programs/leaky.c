/* Leaks at known lines, one way of allocating each, amid heavy churn that
 * frees everything it takes. Usage: leaky PATH/TO/libleaklib.so
 *
 * Every leak line carries a LEAK marker that the end-to-end test looks up;
 * the test holds the expected bytes and blocks of each. LIBC markers name
 * calls after which the C library itself keeps a block live (see core.test.mjs). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>

#include "common.h"

void *leaky_cxx_new(void);       /* leaky_new.cpp */
void *leaky_cxx_new_array(void); /* leaky_new.cpp */
void *leaky_cxx_aligned_new(void);
int leaky_cxx_churn(int rounds);

/* The leaked blocks stay reachable: a tracer sees no difference, and the
 * program can check them. */
static void *kept[64];
static int nkept;

static void keep(void *p)
{
        if (!p || nkept == (int)(sizeof kept / sizeof kept[0]))
                die("leaky: allocation failed or too many kept\n");
        kept[nkept++] = p;
}

static NOINLINE void leak_loop(void)
{
        for (int i = 0; i < 10; i++)
                keep(malloc(100)); /* LEAK: loop */
}

static NOINLINE void leak_calloc(void)
{
        keep(calloc(25, 8)); /* LEAK: calloc */
}

static NOINLINE void leak_realloc_chain(void)
{
        char *p = malloc(10);
        memset(p, 'r', 10);
        p = realloc(p, 100);
        p = realloc(p, 40);
        p = realloc(p, 70000);
        p = realloc(p, 1000); /* LEAK: realloc */
        if (!p || p[9] != 'r')
                die("leaky: realloc lost the contents\n");
        keep(p);
}

static NOINLINE void leak_strdup(void)
{
        keep(strdup("hello, leaktrace")); /* LEAK: strdup */
}

static NOINLINE void leak_aligned(void)
{
        void *p = NULL;
        if (posix_memalign(&p, 64, 300) != 0) /* LEAK: posix_memalign */
                die("leaky: posix_memalign failed\n");
        keep(p);
        keep(aligned_alloc(128, 256));   /* LEAK: aligned_alloc */
        keep(memalign(32, 96));          /* LEAK: memalign */
        keep(valloc(1000));              /* LEAK: valloc */
        keep(pvalloc(5000));             /* LEAK: pvalloc */
        keep(reallocarray(NULL, 7, 12)); /* LEAK: reallocarray */
        for (int i = nkept - 6; i < nkept - 1; i++) /* the five aligned ones */
                if ((uintptr_t)kept[i] % 32)
                        die("leaky: misaligned block\n");
}

/* Inlined even at -O0: the report must show both the inline function and
 * the line that called it. */
static inline __attribute__((always_inline)) void *inline_alloc(size_t n)
{
        return malloc(n); /* LEAK: inline */
}

static NOINLINE void leak_inline(void)
{
        keep(inline_alloc(55)); /* CALL: inline */
}

static void *thread_main(void *arg)
{
        (void)arg;
        for (int i = 0; i < 3; i++)
                keep(malloc(123)); /* LEAK: thread */
        return NULL;
}

static NOINLINE void leak_in_thread(void)
{
        pthread_t t;
        if (pthread_create(&t, NULL, thread_main, NULL)) /* LIBC: pthread_create */
                die("leaky: pthread_create failed\n");
        pthread_join(t, NULL);
}

static NOINLINE void leak_in_library(const char *path)
{
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* LIBC: dlopen */
        if (!h)
                die("leaky: %s\n", dlerror());
        void (*leak)(void **, int, size_t) =
            (void (*)(void **, int, size_t))dlsym(h, "leaklib_leak");
        if (!leak)
                die("leaky: no leaklib_leak\n");
        leak(kept + nkept, 2, 77);
        nkept += 2;
        dlclose(h);
        if (dlopen(path, RTLD_NOW | RTLD_NOLOAD))
                die("leaky: %s still loaded after dlclose\n", path);
}

/* Churn: allocations of random sizes through several paths, each freed
 * again, some moved by realloc on the way. None of it may show in the
 * report. Counts the blocks it took (realloc aside) and the frees. */
#define CHURN_SLOTS 256
#define CHURN_OPS 300000

static unsigned long churn_allocs, churn_frees;

static NOINLINE void *churn_malloc(size_t n)
{
        return malloc(n);
}

static NOINLINE void *churn_calloc(size_t n)
{
        return calloc(1, n);
}

static NOINLINE void *churn_aligned(size_t n)
{
        void *p = NULL;
        return posix_memalign(&p, 64, n) ? NULL : p;
}

static NOINLINE void *churn_grow(void *p, size_t n)
{
        return realloc(p, n);
}

static NOINLINE void churn(void)
{
        void *slot[CHURN_SLOTS] = {0};
        uint64_t rng = 0x9e3779b97f4a7c15ull;

        /* A large transient block, for the peak. */
        char *big = churn_malloc(4u << 20);
        memset(big, 1, 4u << 20);
        free(big);
        churn_allocs++;
        churn_frees++;

        for (int i = 0; i < CHURN_OPS; i++) {
                uint64_t r = rng_next(&rng);
                int j = (int)(r % CHURN_SLOTS);
                size_t n = rng_size(&rng);
                if (slot[j] && (r >> 20) % 4 == 0) {
                        slot[j] = churn_grow(slot[j], n);
                } else if (slot[j]) {
                        free(slot[j]);
                        churn_frees++;
                        slot[j] = NULL;
                        continue;
                } else {
                        switch ((r >> 12) % 3) {
                        case 0:
                                slot[j] = churn_malloc(n);
                                break;
                        case 1:
                                slot[j] = churn_calloc(n);
                                break;
                        default:
                                slot[j] = churn_aligned(n);
                                break;
                        }
                        churn_allocs++;
                }
                if (!slot[j])
                        die("leaky: churn allocation failed\n");
                ((char *)slot[j])[n - 1] = (char)n;
        }
        for (int j = 0; j < CHURN_SLOTS; j++) {
                churn_frees += slot[j] != NULL;
                free(slot[j]);
        }
}

int main(int argc, char **argv)
{
        if (argc != 2)
                die("usage: leaky PATH/TO/libleaklib.so\n");
        churn();
        leak_loop();
        leak_calloc();
        leak_realloc_chain();
        leak_strdup();
        leak_aligned();
        leak_inline();
        leak_in_thread();
        leak_in_library(argv[1]);
        keep(leaky_cxx_new());
        keep(leaky_cxx_new_array());
        keep(leaky_cxx_aligned_new());
        if (leaky_cxx_churn(5000))
                die("leaky: malloc_usable_size below the size asked, or new misaligned\n");
        churn();
        say("leaky: %d blocks kept\n", nkept);
        say("churn: %lu allocations, %lu frees\n", churn_allocs, churn_frees);
        return 0;
}
