/* Allocates in steps and is killed with SIGKILL by the test. After each step
 * it prints "checkpoint N live=B blocks=K" (what it holds from the step site)
 * and waits for a line on stdin before the next: the figures are stable
 * while the test reads them. */
#include "common.h"

#define STEPS 10

static void *blocks[STEPS + 1][STEPS];

static NOINLINE void step_alloc(int n)
{
        for (int i = 0; i < n; i++)
                blocks[n][i] = malloc((size_t)n * 1000); /* LEAK: step */
}

int main(void)
{
        long live = 0, count = 0;
        for (int n = 1; n <= STEPS; n++) {
                step_alloc(n);
                live += (long)n * n * 1000;
                count += n;
                if (n >= 3) { /* free what step n-2 took: the live set goes up and down */
                        for (int i = 0; i < n - 2; i++)
                                free(blocks[n - 2][i]);
                        live -= (long)(n - 2) * (n - 2) * 1000;
                        count -= n - 2;
                }
                say("checkpoint %d live=%ld blocks=%ld\n", n, live, count);
                char c;
                if (read(0, &c, 1) < 0)
                        die("killed: read failed\n");
        }
        return 0;
}
