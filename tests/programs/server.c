/* A native server in miniature for `leaktrace attach`, started without the
 * preload: THREADS threads each serve a "request" every PERIOD_MS for
 * SECONDS seconds. A request allocates and checks a scratch block (freed),
 * leaks LEAK_BYTES at one line, and frees or reallocates one block of a
 * pool allocated at start-up, before any attach: frees and reallocs of
 * blocks the tracer never saw. Every block's contents are checked before
 * it goes, so a tracer that handed out wrong memory is seen.
 *
 * Usage: server SECONDS [THREADS]. Prints "ready" once serving, and at the
 * end "server: N requests, M bytes leaked, R bytes/s, ok" (exit 0), or
 * what went wrong (exit 1). */
#include <stdatomic.h>
#include <time.h>

#include "common.h"

#define PERIOD_MS 10
#define LEAK_BYTES 1000
#define SCRATCH_BYTES 200
#define POOL 100000
#define POOL_BYTES 48

static unsigned char *pool[POOL];
static atomic_uint pool_next;
static atomic_ulong requests, leaked;
static atomic_int failed;
static double stop_at;

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char)(seed + i * 7);
}

static int check(const unsigned char *p, size_t n, unsigned seed)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != (unsigned char)(seed + i * 7))
                        return -1;
        return 0;
}

static NOINLINE void *leak_block(void)
{
        return malloc(LEAK_BYTES); /* LEAK: request */
}

/* A block of the pool, made before any attach: freed, or grown by realloc,
 * checked, then freed. */
static NOINLINE void retire_pool_block(unsigned k)
{
        unsigned char *p = pool[k];
        if (check(p, POOL_BYTES, k)) {
                failed = 1;
                return;
        }
        if (k % 2) {
                free(p);
                return;
        }
        p = realloc(p, POOL_BYTES * 4);
        if (!p || check(p, POOL_BYTES, k)) {
                failed = 1;
                return;
        }
        free(p);
}

static NOINLINE void serve(unsigned id, unsigned long n)
{
        unsigned seed = id * 131 + (unsigned)n;
        unsigned char *s = malloc(SCRATCH_BYTES);
        if (!s) {
                failed = 1;
                return;
        }
        fill(s, SCRATCH_BYTES, seed);
        unsigned char *l = leak_block();
        if (!l) {
                failed = 1;
                free(s);
                return;
        }
        fill(l, LEAK_BYTES, seed);
        if (check(s, SCRATCH_BYTES, seed) || check(l, LEAK_BYTES, seed))
                failed = 1;
        free(s);
        leaked += LEAK_BYTES;
        unsigned k = pool_next++;
        if (k < POOL)
                retire_pool_block(k);
}

static void *worker(void *arg)
{
        unsigned id = (unsigned)(uintptr_t)arg;
        struct timespec period = { 0, PERIOD_MS * 1000000L };
        for (unsigned long n = 0; now() < stop_at && !failed; n++) {
                serve(id, n);
                requests++;
                nanosleep(&period, NULL);
        }
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                die("usage: server SECONDS [THREADS]\n");
        double seconds = atof(argv[1]);
        int threads = argc > 2 ? atoi(argv[2]) : 3;
        if (threads < 1 || threads > 64)
                threads = 3;
        for (unsigned k = 0; k < POOL; k++) {
                pool[k] = malloc(POOL_BYTES);
                if (!pool[k])
                        return 1;
                fill(pool[k], POOL_BYTES, k);
        }
        double t0 = now();
        stop_at = t0 + seconds;
        pthread_t t[64];
        for (int i = 0; i < threads; i++)
                pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
        say("ready\n");
        for (int i = 0; i < threads; i++)
                pthread_join(t[i], NULL);
        double took = now() - t0;
        /* What the pool still holds is checked too. */
        for (unsigned k = pool_next; k < POOL; k++)
                if (check(pool[k], POOL_BYTES, k))
                        failed = 1;
        if (failed) {
                say("server: wrong data after %lu requests\n", (unsigned long)requests);
                return 1;
        }
        say("server: %lu requests, %lu bytes leaked, %.0f bytes/s, ok\n", (unsigned long)requests,
            (unsigned long)leaked, (double)leaked / took);
        return 0;
}
