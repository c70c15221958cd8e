/* Code run from a second mapping of its own file, as V8 runs node's
 * builtins: the executable's code segment is mapped again from
 * /proc/self/exe at another address, and alloc_via() is called there; its
 * frame must be named as alloc_via's all the same. alloc_via() refers to
 * nothing by its address (no global, no PLT), so the copy runs as the
 * original does.
 *
 *   alias            keeps one block of ALIAS_SIZE allocated through the
 *                    copy and one of DIRECT_SIZE through the original;
 *                    prints "copy at ADDR" and exits 0;
 *   alias serve S    maps the copy, prints "ready", then for S seconds keeps
 *                    a block of ALIAS_SIZE through the copy every 10 ms (for
 *                    `leaktrace attach`, which comes after the copy). */
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <link.h>
#include <time.h>

#define ALIAS_SIZE 777
#define DIRECT_SIZE 555

typedef void *(*alloc_fn)(size_t);

static NOINLINE void *alloc_via(alloc_fn f, size_t n)
{
        return f(n); /* LEAK: via */
}

struct text {
        uintptr_t bias, vaddr, offset, memsz;
};

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        struct text *t = arg;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
                        *t = (struct text){info->dlpi_addr, ph->p_vaddr, ph->p_offset, ph->p_memsz};
                        return 1;
                }
        }
        return 1; /* the executable is the first object */
}

/* Maps the executable's code segment again; returns alloc_via there. */
static void *(*copy_of_alloc_via(void))(alloc_fn, size_t)
{
        struct text t = {0};
        dl_iterate_phdr(find_text, &t);
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t skip = t.offset & (page - 1); /* the segment starts mid-page */
        if (!t.memsz || (uintptr_t)alloc_via - t.bias < t.vaddr ||
            (uintptr_t)alloc_via - t.bias >= t.vaddr + t.memsz)
                die("alias: no code segment holds alloc_via\n");
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                die("alias: cannot open /proc/self/exe\n");
        size_t len = (t.memsz + skip + page - 1) & ~(page - 1);
        char *copy =
            mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, (off_t)(t.offset - skip));
        close(fd);
        if (copy == MAP_FAILED)
                die("alias: mmap failed: %s\n", strerror(errno));
        return (void *(*)(alloc_fn, size_t))(copy + skip +
                                             ((uintptr_t)alloc_via - t.bias - t.vaddr));
}

static int serve(double seconds)
{
        void *(*via)(alloc_fn, size_t) = copy_of_alloc_via();
        say("ready\n");
        struct timespec t0, now, step = {0, 10 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
                if (!via(malloc, ALIAS_SIZE)) /* CALL: serve */
                        die("alias: no memory\n");
                nanosleep(&step, NULL);
                clock_gettime(CLOCK_MONOTONIC, &now);
        } while ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 <
                 seconds);
        say("served\n");
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 3 && !strcmp(argv[1], "serve"))
                return serve(atof(argv[2]));
        if (argc != 1)
                die("usage: alias [serve SECONDS]\n");
        void *(*via)(alloc_fn, size_t) = copy_of_alloc_via();
        void *a = via(malloc, ALIAS_SIZE);        /* CALL: copy */
        void *b = alloc_via(malloc, DIRECT_SIZE); /* CALL: direct */
        if (!a || !b)
                die("alias: no memory\n");
        say("copy at %p\n", (void *)via);
        return 0;
}
