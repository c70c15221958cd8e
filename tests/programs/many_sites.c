/* Leaks one block from each of 2048 distinct call stacks: eleven levels,
 * each reached from one of two call sites, so that a report has many
 * stacks to symbolize (its progress on a terminal is tested). */
#include "common.h"

#define LEVELS 11

static void *kept[1 << LEVELS];
static unsigned nkept;

static NOINLINE void step(unsigned path, int level)
{
        if (!level)
                kept[nkept++] = malloc(16);
        else if (path & 1)
                step(path >> 1, level - 1); /* one call site */
        else
                step(path >> 1, level - 1); /* another */
}

int main(void)
{
        for (unsigned p = 0; p < 1u << LEVELS; p++)
                step(p, LEVELS);
        say("many_sites: %u blocks\n", nkept);
        return 0;
}
