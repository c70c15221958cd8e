/* Built with -O2, no frame pointer and no .eh_frame_hdr (nohdr.c): a frame
 * of its own, which only the rules libdw reads from its .eh_frame walk. */
#include <stdlib.h>

__attribute__((noinline)) void *nohdr_alloc(size_t n)
{
        volatile char buf[48];
        buf[0] = 1;
        void *p = malloc(n); /* LEAK: nohdr */
        buf[47] = 2;
        if (buf[0] != 1) /* volatile: the frame is there */
                abort();
        return p;
}
