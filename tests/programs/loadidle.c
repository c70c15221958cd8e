/* A load, then idle, then an exit with much housekeeping: the shape of a
 * server under a load test that ended, stopped by its harness.
 *
 * Usage: loadidle LOAD_MS IDLE_MS TEARDOWN [cache]. For LOAD_MS it serves a
 * request a millisecond: a scratch block allocated and freed, and a block
 * of REQ_BYTES kept at one line (LEAK), or with "cache" kept in a table of
 * CACHE_SLOTS that fills during the first 200 requests and is then only
 * read (CACHE). Then it sleeps IDLE_MS, and at exit an atexit handler makes
 * and frees TEARDOWN blocks (a runtime's teardown). Prints
 * "loadidle: N requests". */
#include <time.h>

#include "common.h"

#define REQ_BYTES 1000
#define CACHE_SLOTS 200

static void *volatile kept[1 << 16];
static void *cache[CACHE_SLOTS];
static unsigned teardown;

static NOINLINE void *leak(void)
{
        return malloc(REQ_BYTES); /* LEAK: leak */
}

static NOINLINE void *cached(unsigned k)
{
        if (!cache[k % CACHE_SLOTS])
                cache[k % CACHE_SLOTS] = malloc(REQ_BYTES); /* CACHE: cache */
        return cache[k % CACHE_SLOTS];
}

static NOINLINE void scratch(unsigned k)
{
        char *volatile p = malloc(64 + k % 64);
        p[0] = (char)k;
        free(p);
}

static void tear_down(void)
{
        for (unsigned i = 0; i < teardown; i++) {
                char *volatile p = malloc(32);
                p[0] = 1;
                free(p);
        }
}

static double ms_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
        if (argc < 4)
                return 2;
        double load_ms = atof(argv[1]), idle_ms = atof(argv[2]);
        teardown = (unsigned)strtoul(argv[3], NULL, 10);
        int as_cache = argc > 4 && !strcmp(argv[4], "cache");
        atexit(tear_down);
        unsigned n = 0;
        const struct timespec ms = {0, 1000000};
        for (double end = ms_now() + load_ms; ms_now() < end && n < (1u << 16); n++) {
                scratch(n);
                kept[n] = as_cache ? cached(n) : leak();
                nanosleep(&ms, NULL);
        }
        struct timespec idle = {(time_t)(idle_ms / 1e3), (long)((idle_ms - 1e3 * (time_t)(idle_ms / 1e3)) * 1e6)};
        nanosleep(&idle, NULL);
        say("loadidle: %u requests\n", n);
        exit(0); /* as a server stopped by its harness does: the handlers run after */
}
