/* Signal handlers that interrupt allocations in progress. An interval timer
 * fires SIGALRM every 100 us while the main thread allocates, reallocates,
 * checks and frees blocks in a loop; the handler either
 *   safe:  calls only async-signal-safe functions, some of them interposed
 *          by the tracer (dup, close, timerfd_settime), or
 *   alloc: allocates and frees itself (malloc, calloc, realloc, free), which
 *          POSIX does not allow but real programs do. glibc's allocator is
 *          not reentrant (a handler that interrupts it in the same thread
 *          can deadlock on its arena lock, untraced too), so the handler
 *          looks at the interrupted instruction: inside the C library or the
 *          loader it only counts; anywhere else (the program, the tracer,
 *          libunwind) it allocates. It counts the runs that interrupted the
 *          tracer (libleaktrace.so or libunwind), which is the case tested.
 * The main loop leaks MAIN_LEAKS blocks of MAIN_LEAK_SIZE at one line; the
 * handler's blocks are all freed by the end, with the signal blocked.
 *
 * Usage: signals safe|alloc|storm ITERATIONS
 * Prints "signals MODE: N iterations, L leaks, H handler runs, A handler
 * allocations, T in the tracer" and exits 0; damage found exits 99. */
#define _GNU_SOURCE
#include <link.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <ucontext.h>

#include "common.h"

#define WINDOW 64
#define MAIN_LEAKS 10
#define MAIN_LEAK_SIZE 96
#define RING 8

/* Code ranges of the loaded objects, by what the handler does there. */
enum { RANGE_LIBC, RANGE_TRACER };
struct range {
        uintptr_t lo, hi;
        int kind;
};
static struct range ranges[32];
static int nranges;

static volatile sig_atomic_t handler_runs, handler_allocs, handler_skipped, in_tracer_runs;
static int alloc_mode;
static int pipefd[2], tfd;
static void *ring[RING];
static size_t ring_size[RING];
static unsigned ring_next;
static void *leaks[MAIN_LEAKS];

static int add_ranges(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        (void)arg;
        const char *name = info->dlpi_name ? info->dlpi_name : "";
        int kind;
        if (strstr(name, "/libc.so") || strstr(name, "/ld-linux"))
                kind = RANGE_LIBC;
        else if (strstr(name, "/libleaktrace") || strstr(name, "/libunwind"))
                kind = RANGE_TRACER;
        else
                return 0;
        for (int i = 0; i < info->dlpi_phnum && nranges < 32; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
                        continue;
                ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
                ranges[nranges].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
                ranges[nranges++].kind = kind;
        }
        return 0;
}

/* RANGE_LIBC, RANGE_TRACER, or -1 for anything else. */
static int where(uintptr_t pc)
{
        for (int i = 0; i < nranges; i++)
                if (pc >= ranges[i].lo && pc < ranges[i].hi)
                        return ranges[i].kind;
        return -1;
}

static uintptr_t interrupted_pc(void *uc)
{
        const ucontext_t *u = uc;
#if defined(__x86_64__)
        return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
        return (uintptr_t)u->uc_mcontext.pc;
#else
#error "signals.c: add this architecture's program counter"
#endif
}

static void fill(void *p, size_t n, unsigned char seed)
{
        unsigned char *c = p;
        for (size_t i = 0; i < n; i++)
                c[i] = (unsigned char)(seed + i);
}

static int intact(const void *p, size_t n, unsigned char seed)
{
        const unsigned char *c = p;
        for (size_t i = 0; i < n; i++)
                if (c[i] != (unsigned char)(seed + i))
                        return 0;
        return 1;
}

static void fail(const char *what)
{
        /* write(2) only: this may run in the handler */
        ssize_t w = write(2, what, strlen(what));
        (void)w;
        _exit(99);
}

static NOINLINE void *handler_malloc(size_t n)
{
        return malloc(n); /* CALL: handler_malloc */
}

static NOINLINE void *handler_calloc(size_t n)
{
        return calloc(1, n); /* CALL: handler_calloc */
}

static NOINLINE void *handler_realloc(void *p, size_t n)
{
        return realloc(p, n); /* CALL: handler_realloc */
}

static void safe_handler_work(void)
{
        int fd = dup(pipefd[1]);
        if (fd < 0)
                fail("signals: dup failed in the handler\n");
        char c = 'x';
        if (write(fd, &c, 1) != 1 || read(pipefd[0], &c, 1) != 1 || c != 'x')
                fail("signals: pipe round trip failed in the handler\n");
        if (close(fd) < 0)
                fail("signals: close failed in the handler\n");
        struct itimerspec its = { { 0, 0 }, { 3600, 0 } };
        if (timerfd_settime(tfd, 0, &its, NULL) < 0)
                fail("signals: timerfd_settime failed in the handler\n");
}

static void alloc_handler_work(void)
{
        unsigned i = ring_next++ % RING;
        if (ring[i]) {
                if (!intact(ring[i], ring_size[i], (unsigned char)i))
                        fail("signals: a handler block was damaged\n");
                free(ring[i]);
                ring[i] = NULL;
        }
        size_t n = 8 + (size_t)(handler_runs % 200);
        void *p = (handler_runs & 1) ? handler_malloc(n) : handler_calloc(n);
        if (!p)
                fail("signals: allocation failed in the handler\n");
        if ((handler_runs & 7) == 0) {
                fill(p, n, 0);
                n += 64;
                p = handler_realloc(p, n);
                if (!p)
                        fail("signals: realloc failed in the handler\n");
        }
        fill(p, n, (unsigned char)i);
        ring[i] = p;
        ring_size[i] = n;
        handler_allocs++;
}

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
        (void)sig;
        (void)si;
        int saved = errno;
        handler_runs++;
        int at = where(interrupted_pc(uc));
        if (at == RANGE_TRACER)
                in_tracer_runs++;
        if (!alloc_mode)
                safe_handler_work();
        else if (at == RANGE_LIBC)
                handler_skipped++;
        else
                alloc_handler_work();
        errno = saved;
}

static pthread_t main_thread;
static volatile int storm_stop;

static void *storm(void *arg)
{
        (void)arg;
        /* The timer's signals are for the main thread alone: the handler's
         * ring is the main thread's. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGALRM);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        struct timespec t0, t;
        while (!storm_stop) {
                pthread_kill(main_thread, SIGALRM);
                clock_gettime(CLOCK_MONOTONIC, &t0);
                do
                        clock_gettime(CLOCK_MONOTONIC, &t);
                while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000);
        }
        return NULL;
}

static NOINLINE void *main_malloc(size_t n)
{
        return malloc(n);
}

static NOINLINE void *main_calloc(size_t n)
{
        return calloc(1, n);
}

int main(int argc, char **argv)
{
        if (argc != 3 || (strcmp(argv[1], "safe") && strcmp(argv[1], "alloc") &&
                          strcmp(argv[1], "storm")))
                die("usage: signals safe|alloc|storm ITERATIONS\n");
        alloc_mode = strcmp(argv[1], "safe") != 0;
        long iters = atol(argv[2]);
        if (iters < MAIN_LEAKS)
                die("signals: at least %d iterations\n", MAIN_LEAKS);
        dl_iterate_phdr(add_ranges, NULL);
        if (pipe(pipefd) < 0)
                die("signals: pipe failed\n");
        tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        if (tfd < 0)
                die("signals: timerfd_create failed\n");

        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_alarm;
        sa.sa_flags = SA_RESTART | SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) < 0)
                die("signals: sigaction failed\n");
        struct itimerval it = { { 0, 100 }, { 0, 100 } };
        if (setitimer(ITIMER_REAL, &it, NULL) < 0)
                die("signals: setitimer failed\n");

        struct own_thread stormer;
        main_thread = pthread_self();
        if (!strcmp(argv[1], "storm"))
                own_thread_start(&stormer, storm, NULL);

        void *slot[WINDOW] = { 0 };
        size_t size[WINDOW] = { 0 };
        uint64_t rng = 0x9e3779b97f4a7c15ull;
        int nleaks = 0;
        for (long k = 0; k < iters; k++) {
                int j = (int)(k % WINDOW);
                unsigned char seed = (unsigned char)j;
                if (slot[j]) {
                        if (!intact(slot[j], size[j], seed))
                                die("signals: block %d damaged at iteration %ld\n", j, k);
                        if (k & 1) {
                                size_t n = 1 + rng_next(&rng) % 512;
                                void *q = realloc(slot[j], n);
                                if (!q)
                                        die("signals: realloc failed\n");
                                if (!intact(q, n < size[j] ? n : size[j], seed))
                                        die("signals: realloc lost data at iteration %ld\n", k);
                                slot[j] = q;
                                size[j] = n;
                                fill(q, n, seed);
                                continue;
                        }
                        free(slot[j]);
                }
                size[j] = 1 + rng_next(&rng) % 512;
                slot[j] = (k & 2) ? main_malloc(size[j]) : main_calloc(size[j]);
                if (!slot[j])
                        die("signals: allocation failed\n");
                fill(slot[j], size[j], seed);
                if (nleaks < MAIN_LEAKS && k % (iters / MAIN_LEAKS) == 0)
                        leaks[nleaks++] = malloc(MAIN_LEAK_SIZE); /* LEAK: main_leak */
        }

        if (!strcmp(argv[1], "storm")) {
                storm_stop = 1;
                own_thread_join(&stormer);
        }
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_REAL, &off, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGALRM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (int j = 0; j < WINDOW; j++) {
                if (slot[j] && !intact(slot[j], size[j], (unsigned char)j))
                        die("signals: block %d damaged at the end\n", j);
                free(slot[j]);
        }
        for (int i = 0; i < RING; i++) {
                if (ring[i] && !intact(ring[i], ring_size[i], (unsigned char)i))
                        die("signals: handler block %d damaged at the end\n", i);
                free(ring[i]);
        }
        close(tfd);
        close(pipefd[0]);
        close(pipefd[1]);
        say("signals %s: %ld iterations, %d leaks, %d handler runs, %d handler allocations, %d in "
            "the tracer\n",
            argv[1], iters, nleaks, (int)handler_runs, (int)handler_allocs, (int)in_tracer_runs);
        return 0;
}
