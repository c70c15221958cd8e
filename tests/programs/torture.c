/* Sixteen threads allocate, reallocate and free blocks of random sizes with
 * malloc, calloc, realloc and posix_memalign, checking their data, while two
 * more threads fork:
 *   - the quiet forker takes a lock that every allocating step holds for
 *     reading, so that its children start from a state the program knows
 *     exactly: "snap" children write what they inherited (per call site:
 *     live blocks and bytes, allocations and bytes allocated) to
 *     expect.<pid>, allocate and free one block (a child that records
 *     nothing of its own leaves no file) and _exit; "own" children free every inherited
 *     block of the workers, leak CHILD_LEAKS blocks of their own and exit;
 *   - the wild forker forks whenever it likes, in the middle of anything:
 *     its children allocate and free a block and _exit ("exit"), _exit at
 *     once ("quit"), or exec this program again as "torture exec-leak",
 *     which leaks one block of EXEC_LEAK_SIZE.
 * The main thread reads stdin: the first line (or EOF) stops the run. The
 * workers then free everything and leak LEAKS blocks of LEAK_SIZE each.
 *
 * Usage: torture run MIN_OPS MIN_FORKS | torture exec-leak
 * Prints "ready", a line "child PID KIND" per child, and at the end
 * "torture: N ops, Q quiet forks, W wild forks"; exits 0, or 99 on damage. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"

#define WORKERS 16
#define WINDOW 32
#define LEAKS 3
#define LEAK_SIZE 333
#define CHILD_LEAKS 2
#define CHILD_LEAK_SIZE 555
#define EXEC_LEAK_SIZE 4242

enum kind { K_MALLOC, K_CALLOC, K_REALLOC, K_MEMALIGN, K_LEAK, K__COUNT };
static const char *const kind_name[K__COUNT] = { "malloc", "calloc", "realloc", "memalign",
                                                 "leak" };

struct slot {
        void *p;
        size_t size;
        int kind;
        unsigned char seed;
};

/* Everything a worker did, exact whenever the quiet lock is held for
 * writing: no step is then half done. */
struct worker {
        struct slot slot[WINDOW];
        void *leaked[LEAKS];
        int nleaked;
        uint64_t allocs[K__COUNT], bytes[K__COUNT];
        long ops;
        int id;
} __attribute__((aligned(64)));

static struct worker workers[WORKERS];
static pthread_rwlock_t quiet;
static atomic_int stop;
static long min_ops;
static int min_forks;
static atomic_int quiet_forks, wild_forks;
static char self[4096];

static void fill(void *p, size_t n, unsigned char seed)
{
        unsigned char *c = p;
        for (size_t i = 0; i < n; i++)
                c[i] = (unsigned char)(seed + i * 7);
}

static int intact(const void *p, size_t n, unsigned char seed)
{
        const unsigned char *c = p;
        for (size_t i = 0; i < n; i++)
                if (c[i] != (unsigned char)(seed + i * 7))
                        return 0;
        return 1;
}

static NOINLINE void *do_malloc(size_t n)
{
        return malloc(n); /* SITE: malloc */
}

static NOINLINE void *do_calloc(size_t count, size_t each)
{
        return calloc(count, each); /* SITE: calloc */
}

static NOINLINE void *do_realloc(void *p, size_t n)
{
        return realloc(p, n); /* SITE: realloc */
}

static NOINLINE void *do_memalign(size_t align, size_t n)
{
        void *p = NULL;
        return posix_memalign(&p, align, n) ? NULL : p; /* SITE: memalign */
}

static NOINLINE void *do_leak(void)
{
        return malloc(LEAK_SIZE); /* LEAK: worker_leak */
}

static void step(struct worker *w, uint64_t *rng)
{
        uint64_t r = rng_next(rng);
        struct slot *s = &w->slot[r % WINDOW];
        r >>= 8;
        if (s->p) {
                if (!intact(s->p, s->size, s->seed))
                        die("torture: worker %d: block damaged\n", w->id);
                if (r % 4 == 0) {
                        size_t n = rng_size(rng);
                        void *q = do_realloc(s->p, n);
                        if (!q)
                                die("torture: realloc failed\n");
                        size_t keep = n < s->size ? n : s->size;
                        if (!intact(q, keep, s->seed))
                                die("torture: worker %d: realloc lost data\n", w->id);
                        s->p = q;
                        s->size = n;
                        s->kind = K_REALLOC;
                        s->seed = (unsigned char)(r >> 8);
                        fill(q, n, s->seed);
                        w->allocs[K_REALLOC]++;
                        w->bytes[K_REALLOC] += n;
                        return;
                }
                free(s->p);
                s->p = NULL;
                return;
        }
        size_t n = rng_size(rng);
        int kind = (int)(r % 3);
        void *p;
        if (kind == K_MALLOC) {
                p = do_malloc(n);
        } else if (kind == K_CALLOC) {
                size_t each = 1 + (r >> 4) % 8;
                n = (n + each - 1) / each;
                p = do_calloc(n, each);
                n *= each;
                if (p && n && (((unsigned char *)p)[0] || ((unsigned char *)p)[n - 1]))
                        die("torture: calloc gave a block not zeroed\n");
        } else {
                kind = K_MEMALIGN;
                size_t align = (size_t)16 << ((r >> 4) % 9); /* 16 to 4096 */
                p = do_memalign(align, n);
                if (p && (uintptr_t)p % align)
                        die("torture: posix_memalign(%zu) gave %p\n", align, p);
        }
        if (!p)
                die("torture: allocation of %zu failed\n", n);
        s->p = p;
        s->size = n;
        s->kind = kind;
        s->seed = (unsigned char)(r >> 12);
        fill(p, n, s->seed);
        w->allocs[kind]++;
        w->bytes[kind] += n;
}

static void *work(void *arg)
{
        struct worker *w = arg;
        uint64_t rng = 0x2545f4914f6cdd1dull * (uint64_t)(w->id + 1);
        while (!atomic_load_explicit(&stop, memory_order_relaxed) || w->ops < min_ops) {
                pthread_rwlock_rdlock(&quiet);
                step(w, &rng);
                w->ops++;
                pthread_rwlock_unlock(&quiet);
        }
        pthread_rwlock_rdlock(&quiet);
        for (int i = 0; i < WINDOW; i++) {
                struct slot *s = &w->slot[i];
                if (s->p && !intact(s->p, s->size, s->seed))
                        die("torture: worker %d: block damaged at the end\n", w->id);
                free(s->p);
                s->p = NULL;
        }
        pthread_rwlock_unlock(&quiet);
        for (int i = 0; i < LEAKS; i++) {
                pthread_rwlock_rdlock(&quiet);
                w->leaked[i] = do_leak();
                w->nleaked++;
                w->allocs[K_LEAK]++;
                w->bytes[K_LEAK] += LEAK_SIZE;
                pthread_rwlock_unlock(&quiet);
        }
        return NULL;
}

static void wait_ok(pid_t pid)
{
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("torture: child %d failed (status 0x%x)\n", (int)pid, status);
}

static void nap_ms(long ms)
{
        struct timespec ts = { 0, ms * 1000000L };
        nanosleep(&ts, NULL);
}

/* A "snap" child: what it inherited from the workers, per site, to
 * expect.<pid>, without allocating. */
static void snap_child(void)
{
        int64_t live[K__COUNT] = { 0 }, live_bytes[K__COUNT] = { 0 };
        uint64_t allocs[K__COUNT] = { 0 }, bytes[K__COUNT] = { 0 };
        for (int i = 0; i < WORKERS; i++) {
                const struct worker *w = &workers[i];
                for (int j = 0; j < WINDOW; j++) {
                        if (!w->slot[j].p)
                                continue;
                        live[w->slot[j].kind]++;
                        live_bytes[w->slot[j].kind] += (int64_t)w->slot[j].size;
                }
                live[K_LEAK] += w->nleaked;
                live_bytes[K_LEAK] += (int64_t)w->nleaked * LEAK_SIZE;
                for (int k = 0; k < K__COUNT; k++) {
                        allocs[k] += w->allocs[k];
                        bytes[k] += w->bytes[k];
                }
        }
        char name[64], buf[1024];
        snprintf(name, sizeof(name), "expect.%d", (int)getpid());
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                _exit(98);
        int n = 0;
        for (int k = 0; k < K__COUNT; k++)
                n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s %lld %lld %llu %llu\n",
                              kind_name[k], (long long)live[k], (long long)live_bytes[k],
                              (unsigned long long)allocs[k], (unsigned long long)bytes[k]);
        if (write(fd, buf, (size_t)n) != n)
                _exit(98);
        close(fd);
        free(malloc(1));
        _exit(0);
}

static void *child_kept[CHILD_LEAKS];

static NOINLINE void *child_leak(void)
{
        return malloc(CHILD_LEAK_SIZE); /* LEAK: child_leak */
}

/* An "own" child: frees every block it inherited from the workers, checking
 * each, and leaks its own. */
static void own_child(void)
{
        for (int i = 0; i < WORKERS; i++) {
                struct worker *w = &workers[i];
                for (int j = 0; j < WINDOW; j++) {
                        struct slot *s = &w->slot[j];
                        if (s->p && !intact(s->p, s->size, s->seed))
                                die("torture: child: inherited block damaged\n");
                        free(s->p);
                }
                for (int j = 0; j < w->nleaked; j++)
                        free(w->leaked[j]);
        }
        for (int i = 0; i < CHILD_LEAKS; i++)
                child_kept[i] = child_leak();
        exit(0);
}

static void *fork_quiet(void *arg)
{
        (void)arg;
        for (int n = 0; !atomic_load(&stop) || n < min_forks; n++) {
                nap_ms(15);
                pthread_rwlock_wrlock(&quiet);
                pid_t pid = fork();
                if (pid == 0) {
                        if (n % 2 == 0)
                                snap_child();
                        own_child();
                }
                pthread_rwlock_unlock(&quiet);
                if (pid < 0)
                        die("torture: fork failed\n");
                say("child %d %s\n", (int)pid, n % 2 == 0 ? "snap" : "own");
                wait_ok(pid);
                atomic_fetch_add(&quiet_forks, 1);
        }
        return NULL;
}

static void *fork_wild(void *arg)
{
        (void)arg;
        for (int n = 0; !atomic_load(&stop) || n < min_forks; n++) {
                nap_ms(15);
                pid_t pid = fork();
                if (pid == 0) {
                        if (n % 4 == 0) {
                                free(malloc(1)); /* recorded: the child has its file */
                                _exit(0);
                        }
                        if (n % 4 == 2)
                                _exit(0); /* nothing recorded: no file */
                        execl(self, self, "exec-leak", (char *)NULL);
                        _exit(97);
                }
                if (pid < 0)
                        die("torture: fork failed\n");
                say("child %d %s\n", (int)pid, n % 4 == 0 ? "exit" : n % 4 == 2 ? "quit" : "exec");
                wait_ok(pid);
                atomic_fetch_add(&wild_forks, 1);
        }
        return NULL;
}

static void *exec_leak_block;

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "exec-leak")) {
                exec_leak_block = malloc(EXEC_LEAK_SIZE); /* LEAK: exec_leak */
                return 0;
        }
        if (argc != 4 || strcmp(argv[1], "run"))
                die("usage: torture run MIN_OPS MIN_FORKS | torture exec-leak\n");
        min_ops = atol(argv[2]);
        min_forks = atoi(argv[3]);
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                die("torture: readlink /proc/self/exe failed\n");
        self[n] = '\0';

        pthread_rwlockattr_t ra;
        pthread_rwlockattr_init(&ra);
        /* A writer waiting holds off new readers, so forks are not starved. */
        pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&quiet, &ra);
        pthread_rwlockattr_destroy(&ra);

        struct own_thread t[WORKERS + 2];
        for (int i = 0; i < WORKERS; i++) {
                workers[i].id = i;
                own_thread_start(&t[i], work, &workers[i]);
        }
        own_thread_start(&t[WORKERS], fork_quiet, NULL);
        own_thread_start(&t[WORKERS + 1], fork_wild, NULL);
        say("ready\n");

        char c;
        while (read(0, &c, 1) == 1 && c != '\n')
                ;
        atomic_store(&stop, 1);
        for (int i = 0; i < WORKERS + 2; i++)
                own_thread_join(&t[i]);
        long ops = 0;
        for (int i = 0; i < WORKERS; i++)
                ops += workers[i].ops;
        say("torture: %ld ops, %d quiet forks, %d wild forks\n", ops, atomic_load(&quiet_forks),
            atomic_load(&wild_forks));
        return 0;
}
