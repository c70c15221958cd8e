/* A busy multi-threaded program to be killed at a random moment: THREADS
 * threads each leak LEAKS blocks of LEAK_SIZE, then allocate, reallocate
 * and free without end. It prints "ready" once every thread has leaked, and
 * ends by itself (status 0) after SECONDS seconds if nobody kills it.
 *
 * Usage: busy SECONDS. With BUSY_UNDUMPABLE=1 in its environment it makes
 * itself undumpable first (prctl(PR_SET_DUMPABLE, 0)), as some servers do
 * to keep their secrets out of core files. */
#include <stdatomic.h>
#include <sys/prctl.h>
#include <time.h>

#include "common.h"

#define THREADS 4
#define WINDOW 64
#define LEAKS 5
#define LEAK_SIZE 100

static void *leaked[THREADS][LEAKS];
static atomic_int leaking = THREADS;
static atomic_int stop;

static NOINLINE void *churn_malloc(size_t n)
{
        return malloc(n);
}

static NOINLINE void *churn_calloc(size_t n)
{
        return calloc(1, n);
}

static void *work(void *arg)
{
        long id = (long)arg;
        for (int i = 0; i < LEAKS; i++)
                leaked[id][i] = malloc(LEAK_SIZE); /* LEAK: busy_leak */
        atomic_fetch_sub(&leaking, 1);
        void *slot[WINDOW] = { 0 };
        uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
        for (unsigned long k = 0; !atomic_load_explicit(&stop, memory_order_relaxed); k++) {
                int j = (int)(k % WINDOW);
                size_t n = rng_size(&rng);
                if (slot[j] && (k & 3) == 1) {
                        void *q = realloc(slot[j], n);
                        if (!q)
                                die("busy: realloc failed\n");
                        slot[j] = q;
                } else {
                        free(slot[j]);
                        slot[j] = (k & 1) ? churn_malloc(n) : churn_calloc(n);
                        if (!slot[j])
                                die("busy: allocation failed\n");
                }
                memset(slot[j], (int)k, n < 64 ? n : 64);
        }
        for (int j = 0; j < WINDOW; j++)
                free(slot[j]);
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc != 2)
                die("usage: busy SECONDS\n");
        int seconds = atoi(argv[1]);
        const char *undumpable = getenv("BUSY_UNDUMPABLE");
        if (undumpable && !strcmp(undumpable, "1") && prctl(PR_SET_DUMPABLE, 0) < 0)
                die("busy: prctl: %s\n", strerror(errno));
        struct own_thread t[THREADS];
        for (long i = 0; i < THREADS; i++)
                own_thread_start(&t[i], work, (void *)i);
        while (atomic_load(&leaking) > 0)
                sched_yield();
        say("ready\n");
        struct timespec ts = { seconds, 0 };
        nanosleep(&ts, NULL);
        atomic_store(&stop, 1);
        for (int i = 0; i < THREADS; i++)
                own_thread_join(&t[i]);
        return 0;
}
