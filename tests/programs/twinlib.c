/* Built twice (libtwin_a.so, and libtwin_b.so with TWIN_BIG_FRAME), both
 * with -O2 and no frame pointer: the same function at the same offset, its
 * CFA rsp plus a frame of another size. twins.c loads one, unloads it,
 * and loads the other in its place: a rule read in the first one's code
 * would walk the second one's stack wrong. */
#include <stdlib.h>

#ifdef TWIN_BIG_FRAME
#define FRAME 96
#else
#define FRAME 16
#endif

__attribute__((noinline)) void *twin_alloc(size_t n)
{
        volatile char buf[FRAME];
        buf[0] = 1;
        void *p = malloc(n); /* LEAK: twin */
        buf[FRAME - 1] = 2;
        if (buf[0] != 1) /* volatile: the frame is there */
                abort();
        return p;
}
