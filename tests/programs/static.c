/* Linked statically: no loader runs for it, so nothing reads LD_PRELOAD.
 * `leaktrace run` must say so plainly, and pass its status on. */
#include "common.h"

int main(void)
{
        void *p = malloc(100); /* LEAK: never_seen */
        say("static: %s\n", p ? "allocated" : "no memory");
        return 4;
}
