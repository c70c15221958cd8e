/* A program that takes the tracer's ground from under it, as daemons and
 * crash handlers do: it closes every descriptor it did not open, or puts
 * files on their numbers, and then reads and writes its own files while
 * signal handlers allocate; or it allocates in a handler that runs on a
 * small alternate signal stack.
 *
 * Usage:
 *   hostile fds MODE IN OUT   MODE is how descriptors 3 and up are taken:
 *                             loop (close() each up to the limit),
 *                             closefrom, close_range (the C library's),
 *                             raw (the close_range system call, past any
 *                             hook), dup2 (/dev/null put on each number
 *                             below 1024, then each closed). Then opens IN
 *                             and OUT (printing their numbers), allocates
 *                             in a SIGUSR1 handler, makes 512 distinct
 *                             stacks, copies IN to OUT after "data:", and
 *                             allocates in the handler again.
 *   hostile rounds N IN       N rounds of: every descriptor from 3 up
 *                             closed (close_range), IN opened (it must be
 *                             3), a block kept, /dev/null put on 4 to 255
 *                             by dup2 (each must succeed) and all closed
 *                             again. A tracer's thread that opened a file
 *                             meanwhile would take 3 or a number dup2 asks
 *                             for (EBUSY). Prints the rounds done.
 *   hostile altstack SIZE N   a SIGUSR1 handler on an alternate stack of
 *                             SIZE bytes allocates N times.
 *   hostile stderr FILE       closes stderr, opens FILE in its place (as
 *                             descriptor 2), keeps 2000 blocks and writes
 *                             "DATA" to it.
 *   hostile proctitle         writes its title, "hostile: worker", over its
 *                             arguments and zeroes them and the environment's
 *                             strings after it, as nginx and redis do, then
 *                             forks a child that keeps a block and prints its
 *                             pid. */
#define _GNU_SOURCE
#include "common.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_UNSHARE
#include <linux/close_range.h>
#endif

#define HANDLER_SIZE 4321
#define ALT_SIZE 777
#define BITS 9

static void *kept[64];
static volatile int nkept;

static NOINLINE void *in_handler(void)
{
        return malloc(HANDLER_SIZE); /* LEAK: handler */
}

static void on_usr1(int sig)
{
        (void)sig;
        if (nkept < 64)
                kept[nkept++] = in_handler();
}

static NOINLINE void *on_alt_stack(void)
{
        return malloc(ALT_SIZE); /* LEAK: alt */
}

static void on_usr1_alt(int sig)
{
        (void)sig;
        if (nkept < 64)
                kept[nkept++] = on_alt_stack();
}

static NOINLINE void signal_me(int n)
{
        for (int i = 0; i < n; i++)
                raise(SIGUSR1); /* CALL: raise */
}

/* 512 call stacks, one per pattern of BITS bits (as outofspace.c): the
 * trace file grows after the program took its descriptor. */
static void *patterns[1 << BITS];

static NOINLINE void *leaf(unsigned p)
{
        return malloc(16 + p % 64); /* LEAK: grow */
}

static void *walk(unsigned p, int bit);

static NOINLINE void *step0(unsigned p, int bit)
{
        return walk(p, bit);
}

static NOINLINE void *step1(unsigned p, int bit)
{
        return walk(p, bit);
}

static NOINLINE void *walk(unsigned p, int bit)
{
        if (bit == BITS)
                return leaf(p);
        return (p >> bit) & 1 ? step1(p, bit + 1) : step0(p, bit + 1);
}

static long take_descriptors(const char *mode)
{
        long limit = sysconf(_SC_OPEN_MAX), closed = 0;
        if (limit > 65536)
                limit = 65536;
        if (!strcmp(mode, "loop")) {
                for (int fd = 3; fd < limit; fd++)
                        closed += close(fd) == 0;
        } else if (!strcmp(mode, "closefrom")) {
                closefrom(3);
        } else if (!strcmp(mode, "close_range")) {
                if (close_range(3, ~0u, 0))
                        die("hostile: close_range: %s\n", strerror(errno));
        } else if (!strcmp(mode, "raw")) {
                if (syscall(SYS_close_range, 3u, ~0u, 0u))
                        die("hostile: close_range: %s\n", strerror(errno));
        } else if (!strcmp(mode, "dup2")) {
                int null = open("/dev/null", O_RDONLY);
                if (null < 0)
                        die("hostile: /dev/null: %s\n", strerror(errno));
                for (int fd = 3; fd < 1024 && fd < limit; fd++)
                        if (fd != null && dup2(null, fd) != fd)
                                die("hostile: dup2 onto %d: %s\n", fd, strerror(errno));
                for (int fd = 3; fd < 1024 && fd < limit; fd++)
                        closed += close(fd) == 0;
        } else {
                die("hostile: no mode %s\n", mode);
        }
        return closed;
}

static int fds(const char *mode, const char *in_path, const char *out_path)
{
        long closed = take_descriptors(mode);
        int in = open(in_path, O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0)
                die("hostile: open: %s\n", strerror(errno));
        say("closed %ld, in=%d out=%d\n", closed, in, out);
        struct sigaction sa = { .sa_handler = on_usr1 };
        sigaction(SIGUSR1, &sa, NULL);
        signal_me(5);
        for (unsigned p = 0; p < (1u << BITS); p++)
                if (!(patterns[p] = walk(p, 0)))
                        die("hostile: malloc failed\n");
        char buf[4096] = "data:";
        ssize_t n = read(in, buf + 5, sizeof(buf) - 5);
        if (n < 0 || write(out, buf, (size_t)n + 5) != n + 5)
                die("hostile: copy: %s\n", strerror(errno));
        signal_me(5);
        say("read %zd, %d blocks from the handler\n", n, nkept);
        return 0;
}

static int rounds(int n, const char *in_path)
{
        static void *blocks[4096];
        if (n < 1 || n > 4096)
                die("hostile: 1 to 4096 rounds\n");
        for (int i = 0; i < n; i++) {
                if (close_range(3, ~0u, 0))
                        die("hostile: close_range: %s\n", strerror(errno));
                int in = open(in_path, O_RDONLY);
                if (in != 3)
                        die("hostile: round %d: %s opened as %d\n", i, in_path, in);
                if (!(blocks[i] = malloc(64))) /* LEAK: round */
                        die("hostile: malloc failed\n");
                for (int fd = 4; fd < 256; fd++)
                        if (dup2(in, fd) != fd)
                                die("hostile: round %d: dup2 onto %d: %s\n", i, fd, strerror(errno));
                for (int fd = 3; fd < 256; fd++)
                        close(fd);
        }
        say("%d rounds\n", n);
        return 0;
}

static int altstack(size_t size, int n)
{
        stack_t ss = { .ss_sp = malloc(size), .ss_size = size }; /* LEAK: altstack */
        if (!ss.ss_sp || sigaltstack(&ss, NULL))
                die("hostile: sigaltstack: %s\n", strerror(errno));
        struct sigaction sa = { .sa_handler = on_usr1_alt, .sa_flags = SA_ONSTACK };
        sigaction(SIGUSR1, &sa, NULL);
        signal_me(n);
        say("%d blocks from a handler on a %zu-byte stack\n", nkept, size);
        return 0;
}

static int file_on_stderr(const char *path)
{
        close(2);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd != 2)
                die("hostile: %s opened as %d\n", path, fd);
        for (int i = 0; i < 2000; i++)
                if (!malloc(100)) /* LEAK: kept */
                        die("hostile: malloc failed\n");
        if (write(2, "DATA\n", 5) != 5)
                die("hostile: write: %s\n", strerror(errno));
        say("stderr is %s\n", path);
        return 0;
}

extern char **environ;

static int proctitle(char **argv)
{
        /* The arguments and the environment's strings are one area. */
        char *end = argv[0];
        for (char **a = argv; *a; a++)
                end = *a + strlen(*a) + 1;
        for (char **e = environ; *e; e++)
                if (*e == end)
                        end = *e + strlen(*e) + 1;
        static const char title[] = "hostile: worker";
        if ((size_t)(end - argv[0]) < sizeof(title))
                die("hostile: no room for the title\n");
        memset(argv[0], 0, (size_t)(end - argv[0]));
        memcpy(argv[0], title, sizeof(title));
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                if (!malloc(321)) /* LEAK: child */
                        _exit(98);
                say("child %d\n", (int)getpid());
                _exit(0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
                die("hostile: the child failed\n");
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "proctitle"))
                return proctitle(argv);
        if (argc == 3 && !strcmp(argv[1], "stderr"))
                return file_on_stderr(argv[2]);
        if (argc == 5 && !strcmp(argv[1], "fds"))
                return fds(argv[2], argv[3], argv[4]);
        if (argc == 4 && !strcmp(argv[1], "rounds"))
                return rounds(atoi(argv[2]), argv[3]);
        if (argc == 4 && !strcmp(argv[1], "altstack"))
                return altstack((size_t)atol(argv[2]), atoi(argv[3]));
        die("usage: hostile fds loop|closefrom|close_range|raw|dup2 IN OUT | hostile rounds N IN | "
            "hostile altstack SIZE N | "
            "hostile stderr FILE | hostile proctitle\n");
}
