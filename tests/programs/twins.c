/* Leaks through a library, unloads it, loads its twin (twinlib.c), which the
 * loader maps where the first one was, and leaks through that from the same
 * call site: the twin's call to malloc returns to the same address as the
 * first one's did, where the first one's frame was smaller. Its stack must
 * be walked with the twin's unwind rules, which gives the same frames as
 * the first stack; a rule kept from the first one's code does not. The
 * loader's own allocations come from the same stacks both times, so that no
 * new stack has the modules looked at again before the twin's is walked.
 * Prints where each twin's function was. With ROUNDS, loads and unloads
 * the twins in turn that many times, each leaking once, and prints only
 * the count: hundreds of epochs, each with its objects learned again.
 *
 *   twins DIR [ROUNDS]   (DIR holds libtwin_a.so and libtwin_b.so) */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "common.h"

static void *kept[2];
static int quiet;

static NOINLINE void *through(const char *dir, const char *name, size_t n, int unload)
{
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                die("twins: %s\n", dlerror());
        void *(*twin_alloc)(size_t) = (void *(*)(size_t))dlsym(h, "twin_alloc");
        if (!twin_alloc)
                die("twins: no twin_alloc in %s\n", path);
        if (!quiet)
                say("%s twin_alloc %p\n", name, (void *)twin_alloc);
        void *p = twin_alloc(n); /* CALL: through */
        if (unload)
                dlclose(h);
        return p;
}

int main(int argc, char **argv)
{
        static const char *const name[2] = { "libtwin_a.so", "libtwin_b.so" };
        static const size_t size[2] = { 111, 222 };
        if (argc != 2 && argc != 3)
                die("usage: twins DIR [ROUNDS]\n");
        /* The tracer's first tick (at its start) maps a chunk of the trace
         * file for the sites' history: made between the first twin's
         * unload and the second's load, it could take the first one's
         * place. It is done well before this. */
        usleep(200 * 1000);
        if (argc == 3) {
                int rounds = atoi(argv[2]);
                quiet = 1;
                for (int i = 0; i < rounds; i++) {
                        int k = i % 2;
                        kept[k] = through(argv[1], name[k], size[k], 1); /* CALL: rounds */
                }
                say("rounds %d\n", rounds);
                return 0;
        }
        for (int i = 0; i < 2; i++)
                kept[i] = through(argv[1], name[i], size[i], i == 0); /* CALL: main */
        return 0;
}
