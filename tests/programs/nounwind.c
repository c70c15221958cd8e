/* Code built with neither unwind tables nor frame pointers (this file's
 * flags: -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables
 * -fomit-frame-pointer): no walk finds the callers of level3. The tracer
 * must mark the stack cut short, not show it as if it began there. Leaks
 * one block of 4321 bytes. */
#include "common.h"

void *volatile sink;

NOINLINE void level3(int n)
{
        sink = malloc((size_t)n); /* LEAK: level3 */
        __asm__ volatile("");
}

NOINLINE void level2(int n)
{
        level3(n + 1);
        __asm__ volatile("");
}

NOINLINE void level1(int n)
{
        level2(n + 1);
        __asm__ volatile("");
}

int main(void)
{
        level1(4319);
        say("nounwind: done\n");
        return 0;
}
