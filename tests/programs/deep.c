/* Leaks at the bottom of a 10-deep recursion. */
#include "common.h"

static void *kept;

static NOINLINE void recurse(int n)
{
        if (n > 1)
                recurse(n - 1); /* CALL: recurse */
        else
                kept = malloc(4242); /* LEAK: deep */
}

int main(void)
{
        recurse(10); /* CALL: main */
        say("deep: %s\n", kept ? "leaked" : "failed");
        return 0;
}
