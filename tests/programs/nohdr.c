/* Code without an .eh_frame_hdr (linked with --no-eh-frame-hdr), whose
 * unwind rules only libdw reads: a library loaded with dlopen leaks 40
 * blocks from a frame of its own, 25 ms apart. Built twice: nohdr_main is
 * without the header itself. Prints whether libdw was loaded before the
 * library and after the leaks: the preload opens it only when such code is
 * met, at start for the program's own, in the background for a library
 * loaded later.
 *
 *   nohdr LIBRARY */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <time.h>

#include "common.h"

#define BLOCKS 40

static void *kept[BLOCKS];

static int has_libdw(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        (void)arg;
        return strstr(info->dlpi_name, "/libdw") != NULL;
}

int main(int argc, char **argv)
{
        if (argc != 2)
                die("usage: nohdr LIBRARY\n");
        say("libdw before: %d\n", dl_iterate_phdr(has_libdw, NULL));
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h)
                die("nohdr: %s\n", dlerror());
        void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "nohdr_alloc");
        if (!alloc)
                die("nohdr: no nohdr_alloc in %s\n", argv[1]);
        for (int i = 0; i < BLOCKS; i++) {
                kept[i] = alloc(300); /* CALL: main */
                struct timespec ts = { 0, 25 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        say("libdw after: %d\n", dl_iterate_phdr(has_libdw, NULL));
        return 0;
}
