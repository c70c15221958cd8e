/* Three sites over time, for the verdicts: one that leaks steadily, one
 * cache that fills to a bound and stays, one that churns (its live set goes
 * up and down and ends low). Meant to run under the preload with
 * LEAKTRACE_START=paused and a short LEAKTRACE_TICK_MS, sequenced by the
 * test through stdin:
 *
 *   prints "ready": it holds PRESTART blocks made before recording started;
 *   the test runs `leaktrace ctl PID start` and sends a line;
 *   phase 1 (STEPS steps of STEP_MS), then "phase 1 leaked=N ...", waits;
 *   the test takes a snapshot and sends a line; phase 2, "phase 2 ...",
 *   waits; the test takes a second snapshot and sends a line; phase 3,
 *   "phase 3 ..." and exit.
 *
 * Each step leaks one LEAK_SIZE block (none with --no-leak), adds one
 * CACHE_SIZE block to the cache until it holds CACHE_MAX, and churns:
 * frees every churn block and allocates as many as a triangle wave says.
 * Phase 1 frees the blocks made before recording, which the tracer never
 * saw; phase 2 arms a timerfd that stays live; phase 1 maps MAP_SIZE bytes
 * that stay mapped. */
#include <sys/timerfd.h>

#include "common.h"

#define STEPS 40
#define STEP_MS 20
#define LEAK_SIZE 100
#define CACHE_SIZE 200
#define CACHE_MAX 10
#define CHURN_SIZE 64
#define CHURN_MAX 30
#define PRESTART 7
#define PRESTART_SIZE 333
#define MAP_SIZE (256u << 10)

static void *leaked[3 * STEPS];
static void *cache[CACHE_MAX];
static void *churn[CHURN_MAX];
static void *prestart[PRESTART];
static int nleaked, ncache, nchurn, step;

static NOINLINE void leak_one(void)
{
        leaked[nleaked++] = malloc(LEAK_SIZE); /* LEAK: leak */
}

static NOINLINE void cache_fill(void)
{
        if (ncache < CACHE_MAX)
                cache[ncache++] = malloc(CACHE_SIZE); /* CACHE: cache */
}

/* A triangle wave of period 20 steps between 0 and CHURN_MAX blocks. */
static NOINLINE void churn_to(int want)
{
        for (int i = 0; i < nchurn; i++)
                free(churn[i]);
        for (nchurn = 0; nchurn < want; nchurn++)
                churn[nchurn] = malloc(CHURN_SIZE); /* CHURN: churn */
}

static NOINLINE void before_start(void)
{
        for (int i = 0; i < PRESTART; i++)
                prestart[i] = malloc(PRESTART_SIZE); /* PRESTART: prestart */
}

static void wait_line(void)
{
        char c;
        do {
                ssize_t n = read(0, &c, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        die("three_sites: stdin closed\n");
        } while (c != '\n');
}

static void sleep_ms(int ms)
{
        struct timespec ts = {0, ms * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void phase(int leak)
{
        for (int i = 0; i < STEPS; i++, step++) {
                if (leak)
                        leak_one();
                cache_fill();
                int k = step % 20;
                churn_to((k < 10 ? k : 20 - k) * CHURN_MAX / 10);
                sleep_ms(STEP_MS);
        }
}

int main(int argc, char **argv)
{
        int leak = !(argc > 1 && !strcmp(argv[1], "--no-leak"));
        before_start();
        say("ready\n");
        wait_line();

        int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
        void *map = mmap(NULL, MAP_SIZE, prot, flags, -1, 0); /* MAP: map */
        if (map == MAP_FAILED)
                die("three_sites: mmap failed\n");
        memset(map, 1, MAP_SIZE);
        for (int i = 0; i < PRESTART; i++)
                free(prestart[i]);
        /* One call of phase() for all three, so that each site is one
         * stack: the churn ends every phase at 3 blocks (step 19 of 20). */
        for (int p = 1; p <= 3; p++) {
                if (p == 2) {
                        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); /* TIMER: timer */
                        struct itimerspec its = {{1, 0}, {1, 0}};
                        if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
                                die("three_sites: timerfd failed\n");
                }
                phase(leak);
                say("phase %d leaked=%d cache=%d churn=%d\n", p, nleaked, ncache, nchurn);
                if (p < 3)
                        wait_line();
        }
        return 0;
}
