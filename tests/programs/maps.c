/* Anonymous mappings made, moved, grown, cut and opened, each kept from
 * its own marked line, for the exact figures of mapping sites: the bytes
 * mapped now, the regions, the calls that mapped, and the bytes mapped in
 * all (which memory that only moved must not count twice).
 *
 *   kept      8 pages, kept as they are
 *   moved     8 pages, moved elsewhere by mremap(MREMAP_FIXED), same size
 *   grown     4 pages, grown to 12 by mremap(MREMAP_MAYMOVE)
 *   shrunk    8 pages, shrunk to 2 by mremap
 *   holed     8 pages, 2 unmapped in their middle: two regions of 3
 *   opened    16 pages reserved PROT_NONE, 4 of them opened by mprotect:
 *             the site is the mprotect's
 *   gone      8 pages, mapped and unmapped: no site
 *
 * Prints "page N" and exits 0. */
#define _GNU_SOURCE /* mremap */
#include "common.h"

#define MAP_ANON_RW(len)                                                                           \
        mmap(NULL, (len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)

static size_t page;

static NOINLINE char *must(void *p, const char *what)
{
        if (p == MAP_FAILED)
                die("maps: %s failed: %s\n", what, strerror(errno));
        memset(p, 1, page); /* touched, as a program would */
        return p;
}

int main(void)
{
        page = (size_t)sysconf(_SC_PAGESIZE);

        must(MAP_ANON_RW(8 * page), "kept"); /* MAP: kept */

        char *m = must(MAP_ANON_RW(8 * page), "moved"); /* MAP: moved */
        char *to =
            mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (to == MAP_FAILED)
                die("maps: the place to move to failed\n");
        must(mremap(m, 8 * page, 8 * page, MREMAP_MAYMOVE | MREMAP_FIXED, to), "mremap fixed");

        char *g = must(MAP_ANON_RW(4 * page), "grown"); /* MAP: grown */
        must(mremap(g, 4 * page, 12 * page, MREMAP_MAYMOVE), "mremap grow");

        char *s = must(MAP_ANON_RW(8 * page), "shrunk"); /* MAP: shrunk */
        must(mremap(s, 8 * page, 2 * page, 0), "mremap shrink");

        char *h = must(MAP_ANON_RW(8 * page), "holed"); /* MAP: holed */
        if (munmap(h + 3 * page, 2 * page) < 0)
                die("maps: munmap of the hole failed\n");

        char *r =
            mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED)
                die("maps: the reservation failed\n");
        if (mprotect(r + 4 * page, 4 * page, PROT_READ | PROT_WRITE) < 0) /* MAP: opened */
                die("maps: mprotect failed\n");

        char *gone = must(MAP_ANON_RW(8 * page), "gone");
        if (munmap(gone, 8 * page) < 0)
                die("maps: munmap failed\n");

        say("page %zu\n", page);
        return 0;
}
