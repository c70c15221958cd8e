/* Eight threads allocate and free hard at once; each may also leak a known
 * number of blocks at one line. Usage: threads OPS_PER_THREAD LEAKS SIZE */
#include "common.h"

#define NTHREADS 8
#define WINDOW 32

static long ops, leaks;
static size_t leak_size;
static void *leaked[NTHREADS][64];

static NOINLINE void *thread_alloc(size_t n)
{
        return malloc(n);
}

static NOINLINE void *thread_calloc(size_t n)
{
        return calloc(n, 1);
}

static void *worker(void *arg)
{
        long id = (long)arg;
        void *slot[WINDOW] = {0};
        uint64_t rng = 0x2545f4914f6cdd1dull * (uint64_t)(id + 1);

        for (long i = 0; i < ops; i++) {
                int j = (int)(i % WINDOW);
                free(slot[j]);
                size_t n = rng_size(&rng);
                slot[j] = (i & 1) ? thread_alloc(n) : thread_calloc(n);
                if (!slot[j])
                        die("threads: allocation failed\n");
                *(char *)slot[j] = 1;
        }
        for (int j = 0; j < WINDOW; j++)
                free(slot[j]);
        for (long k = 0; k < leaks; k++)
                leaked[id][k] = malloc(leak_size); /* LEAK: thread_leak */
        return NULL;
}

int main(int argc, char **argv)
{
        struct own_thread t[NTHREADS];

        if (argc != 4)
                die("usage: threads OPS_PER_THREAD LEAKS SIZE\n");
        ops = atol(argv[1]);
        leaks = atol(argv[2]);
        leak_size = (size_t)atol(argv[3]);
        if (leaks > 64)
                die("threads: at most 64 leaks a thread\n");
        for (long i = 0; i < NTHREADS; i++)
                own_thread_start(&t[i], worker, (void *)i);
        for (int i = 0; i < NTHREADS; i++)
                own_thread_join(&t[i]);
        say("threads: %d x %ld operations, %ld x %zu bytes leaked each\n", NTHREADS, ops, leaks,
            leak_size);
        return 0;
}
