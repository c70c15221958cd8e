/* Leak sites of very different shapes, for the accuracy of sampling:
 * many small blocks, a middling number of middling ones, a few large ones,
 * a site that leaks little, and blocks grown by realloc (a new block for
 * the sampler, as a malloc is); plus churn that frees all it takes.
 * Prints nothing but a closing line; the test knows the figures below. */
#include "common.h"

#define SMALL_N 100000
#define SMALL_SIZE 64
#define MEDIUM_N 2000
#define MEDIUM_SIZE 4000
#define LARGE_N 20
#define LARGE_SIZE (1 << 20)
#define LITTLE_N 100
#define LITTLE_SIZE 100
#define GROWN_N 20000
#define GROWN_FROM 16
#define GROWN_SIZE 48

static void *keep[SMALL_N + MEDIUM_N + LARGE_N + LITTLE_N + GROWN_N];
static int nkeep;

static NOINLINE void leak_small(void)
{
        for (int i = 0; i < SMALL_N; i++)
                keep[nkeep++] = malloc(SMALL_SIZE); /* LEAK: small */
}

static NOINLINE void leak_medium(void)
{
        for (int i = 0; i < MEDIUM_N; i++)
                keep[nkeep++] = malloc(MEDIUM_SIZE); /* LEAK: medium */
}

static NOINLINE void leak_large(void)
{
        for (int i = 0; i < LARGE_N; i++)
                keep[nkeep++] = malloc(LARGE_SIZE); /* LEAK: large */
}

static NOINLINE void leak_little(void)
{
        for (int i = 0; i < LITTLE_N; i++)
                keep[nkeep++] = malloc(LITTLE_SIZE); /* LEAK: little */
}

static NOINLINE void leak_grown(void)
{
        for (int i = 0; i < GROWN_N; i++) {
                void *p = malloc(GROWN_FROM);
                if (!p || !(keep[nkeep++] = realloc(p, GROWN_SIZE))) /* LEAK: grown */
                        die("sampling: no memory\n");
        }
}

static NOINLINE void churn(void)
{
        uint64_t s = 42;
        void *window[256] = { 0 };
        for (int i = 0; i < 400000; i++) {
                unsigned slot = (unsigned)(rng_next(&s) % 256);
                free(window[slot]);
                window[slot] = malloc(rng_size(&s));
        }
        for (int i = 0; i < 256; i++)
                free(window[i]);
}

#define THREADS_N 2000
#define THREAD_SIZE 4000

static void *thread_leak(void *arg)
{
        *(void **)arg = malloc(THREAD_SIZE); /* LEAK: thread */
        return NULL;
}

/* Each of THREADS_N threads leaks one block, its first allocation: the
 * countdown of a new thread must be drawn, not start at 0. */
static int threads(void)
{
        static void *kept_by[THREADS_N];
        for (int i = 0; i < THREADS_N; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, thread_leak, &kept_by[i]) || pthread_join(t, NULL))
                        die("sampling: pthread failed\n");
        }
        say("sampling: %d threads\n", THREADS_N);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc > 1 && !strcmp(argv[1], "threads"))
                return threads();
        leak_small();
        churn();
        leak_medium();
        leak_large();
        leak_little();
        leak_grown();
        say("sampling: %d blocks kept\n", nkeep);
        return 0;
}
