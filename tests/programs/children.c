/* Ways a process ends or makes children that the tracer must survive, one
 * per mode; each keeps one block of KEPT bytes (LEAK: kept) in the process
 * that runs it, and exits 0 unless it says otherwise.
 *
 *   children rawclone N   N children by the clone system call (syscall()),
 *                         each allocates, frees and _exits: they must not
 *                         touch the parent's file
 *   children underfork N  the same with glibc's _Fork
 *   children clonefn N    the same with glibc's clone() and a function
 *   children vforkfail    a vfork child whose exec fails and _exits, then
 *                         the parent is killed by SIGKILL: its file must
 *                         not say it exited
 *   children mainexit     the main thread ends with pthread_exit while a
 *                         worker keeps the block; the process must end
 *   children cancel N     N rounds of a worker cancelled while it
 *                         allocates from new stacks, joined, then main
 *                         allocates: no deadlock
 *   children watchdog N   allocates from N stacks, arms a 1 ms SIGALRM
 *                         whose handler calls _exit(3), and exits 0: ends
 *                         with 0 or 3, never hangs
 *   children dlfork N     a thread sits in dl_iterate_phdr (a slow
 *                         callback) while main forks N children that
 *                         _exit at once: none hangs
 *   children execl N      execl of /bin/true with N arguments
 *   children paused       fork while recording is paused: the child
 *                         allocates and exits; it has no file
 *   children dlcycle N LIB  loads LIB with dlopen and unloads it, N times
 *                         (a plugin reloaded): the trace must not grow
 *                         with every cycle
 *   children daemon MS    daemon(): the parent _exits inside glibc at
 *                         once; the daemon keeps the block, says
 *                         "daemon PID" and lives MS ms more
 *   children coro KIB     a coroutine on a stack of KIB KiB (a guard page
 *                         below) allocates 1000 times, 1.5 KiB deep: the
 *                         tracer must fit in what is left */
#define _GNU_SOURCE
#include "common.h"

#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#define KEPT 4321

static void *kept;

static NOINLINE void keep(void)
{
        kept = malloc(KEPT); /* LEAK: kept */
}

static void child_work(void)
{
        free(malloc(64));
        _exit(0);
}

static int child_fn(void *arg)
{
        (void)arg;
        child_work();
        return 0;
}

static void reap(pid_t pid, const char *what)
{
        int st;
        if (pid < 0)
                die("children: %s failed: %s\n", what, strerror(errno));
        if (waitpid(pid, &st, __WALL) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
                die("children: a %s child ended with status %#x\n", what, st);
}

static int made(const char *mode, int n)
{
        static char stack[64 * 1024] __attribute__((aligned(16)));
        for (int i = 0; i < n; i++) {
                pid_t pid;
                if (!strcmp(mode, "rawclone")) {
                        pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
                        if (pid == 0)
                                child_work();
                } else if (!strcmp(mode, "underfork")) {
                        pid = _Fork();
                        if (pid == 0)
                                child_work();
                } else {
                        pid = clone(child_fn, stack + sizeof(stack), SIGCHLD, NULL);
                }
                reap(pid, mode);
        }
        keep();
        say("%s: %d children\n", mode, n);
        return 0;
}

static int vforkfail(void)
{
        pid_t pid = vfork();
        if (pid == 0) {
                execl("/nonexistent/program", "program", (char *)NULL);
                _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 127)
                die("children: the vfork child did not end with 127\n");
        keep();
        say("vforkfail: killing myself\n");
        kill(getpid(), SIGKILL);
        return 1;
}

static void *worker_keeps(void *arg)
{
        (void)arg;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        keep();
        say("mainexit: the worker ends\n");
        return NULL;
}

static int mainexit(void)
{
        pthread_t t;
        if (pthread_create(&t, NULL, worker_keeps, NULL))
                die("children: pthread_create failed\n");
        pthread_exit(NULL);
}

/* A stack of its own for each path through DEPTH levels. */
static NOINLINE void *other(int depth, unsigned path);

static NOINLINE void *branch(int depth, unsigned path)
{
        void *p = !depth       ? malloc(24)
                  : (path & 1) ? other(depth - 1, path >> 1)
                               : branch(depth - 1, path >> 1);
        __asm__ volatile("" ::: "memory");
        return p;
}

static NOINLINE void *other(int depth, unsigned path)
{
        void *p = !depth       ? malloc(40)
                  : (path & 1) ? other(depth - 1, path >> 1)
                               : branch(depth - 1, path >> 1);
        __asm__ volatile("" ::: "memory");
        return p;
}

static volatile int started;

/* Deferred cancellation: malloc is no cancellation point, so untraced the
 * worker always ends in pthread_testcancel; traced, the tracer's own calls
 * that are (growing its file: fallocate) must not end it. */
static void *allocating(void *arg)
{
        unsigned seed = (unsigned)(uintptr_t)arg;
        started = 1;
        for (unsigned i = 0;; i++) {
                for (int j = 0; j < 64; j++)
                        free(other(24, seed * 2654435761u + i * 64 + (unsigned)j));
                pthread_testcancel();
        }
        return NULL;
}

static int cancel(int rounds)
{
        for (int r = 0; r < rounds; r++) {
                pthread_t t;
                started = 0;
                if (pthread_create(&t, NULL, allocating, (void *)(uintptr_t)(r + 1)))
                        die("children: pthread_create failed\n");
                while (!started)
                        ;
                struct timespec ts = {0, 2 * 1000 * 1000};
                nanosleep(&ts, NULL);
                pthread_cancel(t);
                void *res;
                pthread_join(t, &res);
                if (res != PTHREAD_CANCELED)
                        die("children: the worker was not cancelled\n");
                for (int i = 0; i < 200; i++)
                        free(other(24, (unsigned)(r * 200 + i) * 7919u));
        }
        keep();
        say("cancel: %d rounds\n", rounds);
        return 0;
}

static void on_alarm(int sig)
{
        (void)sig;
        _exit(3);
}

static void *held[1 << 16];

static int watchdog(int stacks)
{
        /* Half of them kept: the last tick, at exit, has every site to go
         * through, and the alarm lands in it. */
        for (int i = 0; i < stacks && i < 2 * (1 << 16); i++) {
                void *p = other(20, (unsigned)i);
                if (i & 1)
                        free(p);
                else
                        held[i / 2] = p;
        }
        keep();
        signal(SIGALRM, on_alarm);
        struct itimerval it = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
        exit(0);
}

static volatile int in_dl;

static int slow_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)info;
        (void)size;
        (void)arg;
        in_dl = 1;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        return 0;
}

static volatile int stop_dl;

static void *iterating(void *arg)
{
        (void)arg;
        while (!stop_dl)
                dl_iterate_phdr(slow_callback, NULL);
        return NULL;
}

static int dlfork(int n)
{
        pthread_t t;
        if (pthread_create(&t, NULL, iterating, NULL))
                die("children: pthread_create failed\n");
        while (!in_dl)
                ;
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid == 0)
                        _exit(0);
                reap(pid, "fork");
        }
        stop_dl = 1;
        pthread_join(t, NULL);
        keep();
        say("dlfork: %d children\n", n);
        return 0;
}

static int execl_many(int n)
{
        /* execl takes its arguments one by one: a macro builds the call
         * with n of them from a table, by jumping into the middle of it. */
        pid_t pid = fork();
        if (pid == 0) {
                const char *a = "x";
#define A8 a, a, a, a, a, a, a, a
#define A64 A8, A8, A8, A8, A8, A8, A8, A8
#define A1024 A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64, A64
                if (n == 1100)
                        execl("/bin/true", "true", A1024, A64, A8, a, a, a, a, a, a, a, a, a, a, a,
                              (char *)NULL);
                _exit(99);
        }
        reap(pid, "execl");
        keep();
        say("execl: %d arguments\n", n);
        return 0;
}

static int paused(void)
{
        pid_t pid = fork();
        if (pid == 0) {
                void *p = malloc(999);
                say("child %d: %p\n", (int)getpid(), p);
                exit(0);
        }
        reap(pid, "fork");
        keep();
        return 0;
}

static ucontext_t main_ctx, co_ctx;

static NOINLINE void *co_deep(int d)
{
        volatile char pad[256];
        pad[0] = (char)d;
        void *p = d ? co_deep(d - 1) : malloc(40 + (size_t)pad[0]);
        __asm__ volatile("" ::: "memory");
        return p;
}

static void co_main(void)
{
        for (int i = 0; i < 1000; i++) {
                void *p = co_deep(4);
                if (i == 0)
                        kept = p; /* the first one stays */
                else
                        free(p);
                swapcontext(&co_ctx, &main_ctx);
        }
}

static int coro(int kib)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE), size = (size_t)kib << 10;
        char *m =
            mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect(m, page, PROT_NONE))
                die("children: no stack for the coroutine\n");
        getcontext(&co_ctx);
        co_ctx.uc_stack.ss_sp = m + page;
        co_ctx.uc_stack.ss_size = size;
        co_ctx.uc_link = &main_ctx;
        makecontext(&co_ctx, co_main, 0);
        for (int i = 0; i < 1000; i++)
                swapcontext(&main_ctx, &co_ctx);
        say("coro: %d KiB\n", kib);
        return 0;
}

static int daemonize(int ms)
{
        if (daemon(1, 1) < 0)
                die("children: daemon: %s\n", strerror(errno));
        keep();
        say("daemon %d\n", (int)getpid());
        usleep((useconds_t)ms * 1000);
        return 0;
}

static int dlcycle(int n, const char *lib)
{
        for (int i = 0; i < n; i++) {
                void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
                if (!h)
                        die("children: dlopen %s: %s\n", lib, dlerror());
                dlclose(h);
        }
        keep();
        say("dlcycle: %d\n", n);
        return 0;
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "";
        int n = argc > 2 ? atoi(argv[2]) : 0;
        if (!strcmp(mode, "rawclone") || !strcmp(mode, "underfork") || !strcmp(mode, "clonefn"))
                return made(mode, n);
        if (!strcmp(mode, "vforkfail"))
                return vforkfail();
        if (!strcmp(mode, "mainexit"))
                return mainexit();
        if (!strcmp(mode, "cancel"))
                return cancel(n);
        if (!strcmp(mode, "watchdog"))
                return watchdog(n);
        if (!strcmp(mode, "dlfork"))
                return dlfork(n);
        if (!strcmp(mode, "execl"))
                return execl_many(n);
        if (!strcmp(mode, "paused"))
                return paused();
        if (!strcmp(mode, "coro"))
                return coro(n);
        if (!strcmp(mode, "daemon"))
                return daemonize(n);
        if (!strcmp(mode, "dlcycle") && argc == 4)
                return dlcycle(n, argv[3]);
        die("usage: children rawclone|underfork|clonefn N | vforkfail | mainexit | cancel N | "
            "watchdog N | dlfork N | execl 1100 | paused | coro KIB | daemon MS | dlcycle N LIB\n");
}
