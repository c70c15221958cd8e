/* What a setuid or setgid program sees of the tracer. Prints
 *   "secure S preloaded P LD_PRELOAD=V"
 * where S is getauxval(AT_SECURE), P is yes when libleaktrace.so is among the
 * loaded objects, V is the variable as this program got it. Then:
 *   dlopen PATH        loads PATH (the preload, by its path) and prints
 *                      "dlopened": its constructor runs in this process
 *                      (and stays out, loaded late); then calls its
 *                      leaktrace_attach("LEAKTRACE_DIR=$LEAKTRACE_DIR"), as
 *                      `leaktrace attach` does, and prints "attach RC"
 *   exec PROG ARGS...  becomes root for good when it can (all three uids
 *                      and gids), as a setuid root program that runs others
 *                      does, and execs PROG
 * Usage: secure_probe [dlopen PATH | exec PROG ARGS...] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <sys/auxv.h>

#include "common.h"

static int found(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        if (info->dlpi_name && strstr(info->dlpi_name, "libleaktrace"))
                *(int *)arg = 1;
        return 0;
}

int main(int argc, char **argv)
{
        int preloaded = 0;
        dl_iterate_phdr(found, &preloaded);
        const char *v = getenv("LD_PRELOAD");
        say("secure %lu preloaded %s LD_PRELOAD=%s\n", getauxval(AT_SECURE), preloaded ? "yes" : "no",
            v ? v : "(unset)");
        if (argc == 3 && !strcmp(argv[1], "dlopen")) {
                void *h = dlopen(argv[2], RTLD_NOW);
                if (!h)
                        die("secure_probe: dlopen: %s\n", dlerror());
                say("dlopened\n");
                int (*attach)(const char *) = (int (*)(const char *))dlsym(h, "leaktrace_attach");
                if (!attach)
                        die("secure_probe: no leaktrace_attach in %s\n", argv[2]);
                char opts[4096];
                snprintf(opts, sizeof(opts), "LEAKTRACE_DIR=%s\n",
                         getenv("LEAKTRACE_DIR") ? getenv("LEAKTRACE_DIR") : ".");
                say("attach %d\n", attach(opts));
                return 0;
        }
        if (argc >= 3 && !strcmp(argv[1], "exec")) {
                if (geteuid() == 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                        die("secure_probe: cannot become root for good\n");
                execv(argv[2], argv + 2);
                die("secure_probe: exec %s failed\n", argv[2]);
        }
        if (argc != 1)
                die("usage: secure_probe [dlopen PATH | exec PROG ARGS...]\n");
        return 0;
}
