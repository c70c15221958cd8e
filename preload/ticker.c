#define _GNU_SOURCE
#include "ticker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "engine.h"
#include "fds.h"
#include "live.h"
#include "lock.h"
#include "log.h"
#include "mappings.h"
#include "options.h"
#include "perfmap.h"
#include "stacks.h"
#include "tracefile.h"
#include "unwind.h"

static struct lt_lock tick_lock;
static uint32_t *hist_of; /* stack id -> history record + 1 */
static uint64_t hist_of_len;
static int running;
static int alive; /* the thread runs: attach mode waits for its end */
static int stop_asked; /* lt_ticker_stop(): the thread ends at its next poll */
static pid_t ticker_tid; /* the thread's, while it runs */

/* 1: the thread ends after its answer (a detach). */
static int control(void);

static struct lt_history_state *hs(void)
{
        return &lt_tf.hdr->history;
}

/* /proc/self/statm and /proc/self/cmdline, kept open (fds.h): opened on a
 * thread of the program's, never by the tracer's own, which asks for them
 * again when the program took one (or they are the parent's, after a
 * fork) and meanwhile gives the last figure read. */
static _Atomic int statm = -1, cmdline = -1;
static pid_t proc_pid;
static uint64_t last_rss;
int lt_ticker_proc_wanted;

static void open_proc_files(void);

void lt_ticker_open_proc(void)
{
        LT_NO_CANCEL(open_proc_files()); /* open and close: cancellation points */
}

static void open_one(_Atomic int *at, enum lt_fd_kind kind, const char *path)
{
        int fd = atomic_load(at);
        if (fd >= 0 && lt_fd_still(kind)) {
                if (proc_pid == getpid())
                        return;
                lt_fd_release(kind); /* the parent's, inherited */
                close(fd);
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        atomic_store(at, fd < 0 ? -1 : lt_fd_adopt(fd, kind));
}

static void open_proc_files(void)
{
        open_one(&statm, LT_FD_STATM, "/proc/self/statm");
        open_one(&cmdline, LT_FD_CMDLINE, "/proc/self/cmdline");
        proc_pid = getpid();
}

/* The descriptor of that kind when it is still this process's, or -1 with
 * the files asked for again. */
static int proc_file(_Atomic int *at, enum lt_fd_kind kind)
{
        int fd = atomic_load(at);
        if (fd < 0 || proc_pid != getpid() || !lt_fd_still(kind)) {
                __atomic_store_n(&lt_ticker_proc_wanted, 1, __ATOMIC_RELAXED);
                return -1;
        }
        return fd;
}

static uint64_t read_rss(void)
{
        char buf[128];
        int fd = proc_file(&statm, LT_FD_STATM);
        if (fd < 0)
                return last_rss;
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return last_rss;
        buf[n] = '\0';
        const char *p = strchr(buf, ' ');
        uint64_t pages = 0;
        for (p = p ? p + 1 : buf; *p >= '0' && *p <= '9'; p++)
                pages = pages * 10 + (uint64_t)(*p - '0');
        return last_rss = pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint32_t timers_live(void)
{
        const struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_TIMER_SITES];
        uint64_t n = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
        int64_t live = 0;
        for (uint64_t i = 0; i < n; i++)
                live += __atomic_load_n(&((struct lt_timer_site_rec *)lt_tf_rec(LT_SEC_TIMER_SITES, i))->live,
                                        __ATOMIC_RELAXED);
        return live > 0 ? (uint32_t)live : 0;
}

/* The history record of a stack, or with LT_HIST_MAPPING of a map site,
 * made when first needed; NULL when the table is full. */
static struct lt_history_rec *history_of(uint32_t key)
{
        uint32_t *slot = key & LT_HIST_MAPPING ? lt_mapping_history_slot(key & ~LT_HIST_MAPPING)
                         : key <= hist_of_len  ? &hist_of[key - 1]
                                               : NULL;
        if (!slot || *slot == UINT32_MAX)
                return NULL;
        if (*slot)
                return lt_tf_rec(LT_SEC_HISTORY, *slot - 1);
        struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_HISTORY];
        uint64_t idx = s->count;
        int err = idx >= (uint64_t)lt_opt.history_sites ? -ENOSPC : lt_tf_reserve(LT_SEC_HISTORY, idx + 1);
        if (err == -EAGAIN)
                return NULL; /* the file's descriptor taken: at a later tick */
        if (err < 0) {
                /* A file that cannot grow was counted as such already. */
                if (idx >= (uint64_t)lt_opt.history_sites)
                        lt_tf_drop(LT_DROP_HISTORY_FULL, 1);
                *slot = UINT32_MAX; /* counted once */
                return NULL;
        }
        struct lt_history_rec *r = lt_tf_rec(LT_SEC_HISTORY, idx);
        r->stack = key;
        r->first_tick = hs()->ticks;
        __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
        *slot = (uint32_t)idx + 1;
        return r;
}

/* Long-term columns full: keep every other one, double the period. The
 * flag tells a reader of a file killed meanwhile to trust only the recent
 * columns. */
static void thin(void)
{
        struct lt_history_state *h = hs();
        h->reserved[0] = 1;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        uint64_t n = lt_tf.hdr->sections[LT_SEC_HISTORY].count;
        for (uint64_t i = 0; i < n; i++) {
                struct lt_history_rec *r = lt_tf_rec(LT_SEC_HISTORY, i);
                for (unsigned c = 0; c < LT_HIST_LONG / 2; c++) {
                        r->bytes[c] = r->bytes[2 * c];
                        r->blocks[c] = r->blocks[2 * c];
                }
                memset(&r->bytes[LT_HIST_LONG / 2], 0, sizeof(r->bytes[0]) * LT_HIST_LONG / 2);
                memset(&r->blocks[LT_HIST_LONG / 2], 0, sizeof(r->blocks[0]) * LT_HIST_LONG / 2);
        }
        for (unsigned c = 0; c < LT_HIST_LONG; c++) {
                struct lt_tick_rec *t = lt_tf_rec(LT_SEC_TIMELINE, c);
                if (c < LT_HIST_LONG / 2)
                        *t = *(struct lt_tick_rec *)lt_tf_rec(LT_SEC_TIMELINE, 2 * c);
                else
                        memset(t, 0, sizeof(*t));
        }
        h->nlong = LT_HIST_LONG / 2;
        h->period *= 2;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        h->reserved[0] = 0;
}

/* Fills column col of the timeline and of every history. The column's time
 * is zeroed first and set last: a reader of a live file skips a column
 * while its figures are being rewritten. */
static void fill_column(unsigned col, const struct lt_tick_rec *t)
{
        struct lt_tick_rec *dst = lt_tf_rec(LT_SEC_TIMELINE, col);
        __atomic_store_n(&dst->time_ns, 0, __ATOMIC_RELEASE);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint64_t n = lt_tf.hdr->sections[LT_SEC_HISTORY].count;
        for (uint64_t i = 0; i < n; i++) {
                struct lt_history_rec *r = lt_tf_rec(LT_SEC_HISTORY, i);
                if (r->stack & LT_HIST_MAPPING) {
                        const struct lt_map_site_rec *m =
                            lt_tf_rec(LT_SEC_MAP_SITES, r->stack & ~LT_HIST_MAPPING);
                        r->bytes[col] = __atomic_load_n(&m->live_bytes, __ATOMIC_RELAXED);
                        r->blocks[col] = (int32_t)__atomic_load_n(&m->regions, __ATOMIC_RELAXED);
                        continue;
                }
                const struct lt_stack_rec *s = lt_stack_rec(r->stack);
                r->bytes[col] = __atomic_load_n(&s->live_bytes, __ATOMIC_RELAXED);
                r->blocks[col] = (int32_t)__atomic_load_n(&s->live_blocks, __ATOMIC_RELAXED);
        }
        struct lt_tick_rec copy = *t;
        copy.time_ns = 0;
        *dst = copy;
        __atomic_store_n(&dst->time_ns, t->time_ns, __ATOMIC_RELEASE);
}

/* One tick. snapshot is the snapshot index + 1 when taken for one. Under
 * tick_lock. */
static void tick(uint32_t snapshot, struct lt_tick_rec *out)
{
        struct lt_header *hdr = lt_tf.hdr;
        struct lt_history_state *h = hs();
        struct lt_tick_rec t = { 0 };

        uint64_t n = __atomic_load_n(&hdr->sections[LT_SEC_STACKS].count, __ATOMIC_ACQUIRE);
        for (uint64_t i = 0; i < n; i++) {
                const struct lt_stack_rec *s = lt_tf_rec(LT_SEC_STACKS, i);
                int64_t blocks = __atomic_load_n(&s->live_blocks, __ATOMIC_RELAXED);
                t.live_bytes += __atomic_load_n(&s->live_bytes, __ATOMIC_RELAXED);
                t.live_blocks += blocks;
                t.allocs += __atomic_load_n(&s->allocs, __ATOMIC_RELAXED);
                if (blocks > 0)
                        history_of((uint32_t)i + 1);
        }
        uint64_t nmap = __atomic_load_n(&hdr->sections[LT_SEC_MAP_SITES].count, __ATOMIC_ACQUIRE);
        for (uint64_t i = 0; i < nmap; i++) {
                const struct lt_map_site_rec *m = lt_tf_rec(LT_SEC_MAP_SITES, i);
                if (__atomic_load_n(&m->live_bytes, __ATOMIC_RELAXED) > 0)
                        history_of((uint32_t)i | LT_HIST_MAPPING);
        }
        t.mapped_bytes = __atomic_load_n(&hdr->totals.mapped_bytes, __ATOMIC_RELAXED);
        /* The threads' batched totals can trail the sum of the sites. */
        if (t.live_bytes > hdr->totals.peak_live_bytes)
                hdr->totals.peak_live_bytes = t.live_bytes;
        int cmd_fd = snapshot ? -1 : proc_file(&cmdline, LT_FD_CMDLINE);
        if (cmd_fd >= 0)
                lt_tf_refresh_cmdline(cmd_fd);
        t.time_ns = lt_now_ns();
        t.tick = h->ticks;
        t.rss = read_rss();
        t.timers_live = timers_live();
        t.snapshot = snapshot;
        t.flags = snapshot ? LT_TICK_SNAPSHOT : 0;

        if (!snapshot && h->ticks % h->period == 0) {
                if (h->nlong == LT_HIST_LONG)
                        thin();
                if (h->ticks % h->period == 0)
                        fill_column(h->nlong++, &t);
        }
        fill_column(LT_HIST_LONG + h->recent_next, &t);
        h->recent_next = (h->recent_next + 1) % LT_HIST_RECENT;
        if (h->nrecent < LT_HIST_RECENT)
                h->nrecent++;
        if (!snapshot)
                h->ticks++;
        /* What the tracer holds in the process, beside the trace file. */
        h->tracer_bytes = lt_live_footprint() + lt_stacks_footprint() + lt_mappings_footprint() +
                          (uint64_t)hdr->sections[LT_SEC_STACKS].count * sizeof(uint32_t);
        hdr->update_ns = t.time_ns;
        if (out)
                *out = t;
}

static int take_snapshot(const char *name)
{
        struct lt_header *hdr = lt_tf.hdr;
        struct lt_section *ss = &hdr->sections[LT_SEC_SNAPSHOTS];
        struct lt_section *sv = &hdr->sections[LT_SEC_SNAPVALS];
        uint64_t idx = ss->count;
        /* A name taken already: FILE@NAME would name the first only. */
        for (uint64_t i = 0; name && *name && i < idx; i++)
                if (!strncmp(((struct lt_snapshot_rec *)lt_tf_rec(LT_SEC_SNAPSHOTS, i))->name, name,
                             sizeof(((struct lt_snapshot_rec *)0)->name)))
                        return -EEXIST;
        if (idx >= LT_MAX_SNAPSHOTS || lt_tf_reserve(LT_SEC_SNAPSHOTS, idx + 1) < 0) {
                lt_tf_drop(LT_DROP_SNAPSHOTS_FULL, 1);
                return -ENOSPC;
        }
        struct lt_tick_rec t;
        tick((uint32_t)idx + 1, &t);

        uint64_t first = sv->count, nvals = 0;
        uint64_t n = __atomic_load_n(&hdr->sections[LT_SEC_STACKS].count, __ATOMIC_ACQUIRE);
        for (uint64_t i = 0; i < n; i++) {
                const struct lt_stack_rec *s = lt_tf_rec(LT_SEC_STACKS, i);
                int64_t blocks = __atomic_load_n(&s->live_blocks, __ATOMIC_RELAXED);
                if (blocks <= 0)
                        continue;
                if (lt_tf_reserve(LT_SEC_SNAPVALS, first + nvals + 1) < 0)
                        break;
                struct lt_snapval_rec *v = lt_tf_rec(LT_SEC_SNAPVALS, first + nvals);
                v->snapshot = (uint32_t)idx;
                v->stack = (uint32_t)i + 1;
                v->live_bytes = __atomic_load_n(&s->live_bytes, __ATOMIC_RELAXED);
                v->live_blocks = blocks;
                v->allocs = __atomic_load_n(&s->allocs, __ATOMIC_RELAXED);
                nvals++;
        }
        __atomic_store_n(&sv->count, first + nvals, __ATOMIC_RELEASE);

        struct lt_snapshot_rec *r = lt_tf_rec(LT_SEC_SNAPSHOTS, idx);
        r->time_ns = t.time_ns;
        r->tick = t.tick;
        r->nvals = (uint32_t)nvals;
        r->first_val = first;
        r->live_bytes = t.live_bytes;
        r->live_blocks = t.live_blocks;
        r->allocs = t.allocs;
        r->rss = t.rss;
        if (name && *name)
                lt_fmt(r->name, sizeof(r->name), "%s", name);
        else
                lt_fmt(r->name, sizeof(r->name), "snapshot-%lu", (unsigned long)idx + 1);
        __atomic_store_n(&ss->count, idx + 1, __ATOMIC_RELEASE);
        return 0;
}

static int control(void)
{
        struct lt_control *c = &lt_tf.hdr->control;
        uint32_t seq = __atomic_load_n(&c->req_seq, __ATOMIC_ACQUIRE);
        int quit = 0;
        if (seq == __atomic_load_n(&c->done_seq, __ATOMIC_RELAXED))
                return 0;
        char name[sizeof(c->req_arg)];
        memcpy(name, c->req_arg, sizeof(name));
        name[sizeof(name) - 1] = '\0';
        int status = 0;
        switch (c->req_cmd) {
        case LT_CMD_START:
                if (lt_sandboxed)
                        status = -EPERM; /* seccomp: the hooks may make no system call */
                else
                        lt_engine_set(LT_ON);
                break;
        case LT_CMD_STOP:
                lt_engine_set(LT_STOPPED);
                break;
        case LT_CMD_SNAPSHOT:
                lt_lock(&tick_lock);
                status = take_snapshot(name);
                lt_unlock(&tick_lock);
                break;
        case LT_CMD_STATUS:
                break;
        case LT_CMD_DETACH:
                status = lt_attach_detach();
                quit = status == 0;
                break;
        default:
                status = -EINVAL;
        }
        c->done_status = status;
        __atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
        return quit;
}

/* No tick after node's exit event (engine.h, lt_engine_freeze). */
static int frozen(void)
{
        return __atomic_load_n(&lt_tf.hdr->flags, __ATOMIC_ACQUIRE) & LT_F_FROZEN;
}

/* glibc's count of the process's threads, which ends the process with
 * exit(0) when the last of them returns or calls pthread_exit: the
 * tracer's thread is taken out of it, or a program whose main thread
 * ends with pthread_exit would never end (it would wait for ours). A
 * GLIBC_PRIVATE symbol: without it, nothing is done. */
static unsigned int *nptl_threads(void)
{
        static unsigned int *n;
        static int looked;
        if (!looked) {
                n = dlsym(RTLD_DEFAULT, "__nptl_nthreads");
                looked = 1;
        }
        return n;
}

static void *run(void *arg)
{
        (void)arg;
        lt_in_tracer = 1; /* nothing this thread does is the program's */
        __atomic_store_n(&ticker_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
        lt_tf_tracer_thread = 1;
        /* The rules of the first frames of every capture (lt_unwind's own
         * and its caller's), which the captures that may not read rules
         * (lt_unwind_want) cannot ask for. */
        void *frames[LT_STACK_BUF];
        unsigned flags;
        lt_stack_capture(frames, 2, &flags, 0, NULL);
        struct timespec next_tick, now;
        clock_gettime(CLOCK_MONOTONIC, &next_tick);
        long tick_ns = lt_opt.tick_ms * 1000000L;
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                long long until = (long long)(next_tick.tv_sec - now.tv_sec) * 1000000000LL +
                                  (next_tick.tv_nsec - now.tv_nsec);
                if (until <= 0) {
                        if (lt_tf.hdr && !frozen()) {
                                lt_lock(&tick_lock);
                                tick(0, NULL);
                                lt_unlock(&tick_lock);
                                lt_perfmap_copy(0);
                        }
                        next_tick.tv_nsec += tick_ns % 1000000000L;
                        next_tick.tv_sec += tick_ns / 1000000000L + next_tick.tv_nsec / 1000000000L;
                        next_tick.tv_nsec %= 1000000000L;
                        continue;
                }
                long long nap = until < LT_CONTROL_POLL_MS * 1000000LL ? until
                                                                      : LT_CONTROL_POLL_MS * 1000000LL;
                struct timespec ts = { (time_t)(nap / 1000000000LL), (long)(nap % 1000000000LL) };
                nanosleep(&ts, NULL);
                if (__atomic_load_n(&stop_asked, __ATOMIC_ACQUIRE))
                        break;
                if (lt_tf.hdr && control())
                        break;
                lt_attach_poll();
                lt_unwind_read_wanted();
                /* Its frees (libdw's) wait, as inside any hook, until the
                 * tracer is left: this thread never leaves it. */
                if (lt_ndeferred) {
                        lt_engine_deferred_slow();
                        lt_in_tracer = 1;
                }
        }
        running = 0;
        /* Counted again, as glibc uncounts it on the way out. */
        if (nptl_threads())
                __atomic_fetch_add(nptl_threads(), 1, __ATOMIC_ACQ_REL);
        __atomic_store_n(&alive, 0, __ATOMIC_RELEASE);
        return NULL;
}

int lt_ticker_start(void)
{
        struct lt_header *hdr = lt_tf.hdr;
        if (!hdr)
                return -EBADF;
        if (!hist_of) {
                hist_of_len = (uint64_t)lt_opt.max_stacks;
                void *p = mmap(NULL, hist_of_len * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
                if (p == MAP_FAILED)
                        return -ENOMEM;
                hist_of = p;
        }
        if (lt_tf_reserve(LT_SEC_TIMELINE, LT_HIST_COLS) < 0)
                return -ENOSPC;
        struct lt_history_state *h = hs();
        h->tick_ms = (uint32_t)lt_opt.tick_ms;
        if (!h->period)
                h->period = 1;
        hdr->sections[LT_SEC_TIMELINE].count = LT_HIST_COLS;
        h->pid_alive = (uint32_t)getpid();
        lt_ticker_open_proc();

        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        pthread_t t;
        __atomic_store_n(&alive, 1, __ATOMIC_RELEASE);
        int err = pthread_create(&t, &attr, run, NULL);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err) {
                __atomic_store_n(&alive, 0, __ATOMIC_RELEASE);
                lt_log_error("cannot start the background thread (%s): no timeline, no control",
                             strerrordesc_np(err));
                return -err;
        }
        if (nptl_threads())
                __atomic_fetch_sub(nptl_threads(), 1, __ATOMIC_ACQ_REL);
        running = 1;
        return 0;
}

uint64_t lt_ticker_allocs(void)
{
        uint64_t allocs = 0;
        uint64_t n = __atomic_load_n(&lt_tf.hdr->sections[LT_SEC_STACKS].count, __ATOMIC_ACQUIRE);
        for (uint64_t i = 0; i < n; i++) {
                const struct lt_stack_rec *s = lt_tf_rec(LT_SEC_STACKS, i);
                allocs += __atomic_load_n(&s->allocs, __ATOMIC_RELAXED);
        }
        return allocs;
}

void lt_ticker_tick_now(int quick)
{
        if (!lt_tf.hdr || !running || frozen())
                return;
        if (quick) {
                if (!lt_trylock(&tick_lock))
                        return; /* the tracer's thread is at it: its point will do */
        } else {
                lt_lock(&tick_lock);
        }
        tick(0, NULL);
        lt_unlock(&tick_lock);
}

void lt_ticker_lock(void)
{
        lt_lock(&tick_lock);
}

void lt_ticker_unlock(void)
{
        lt_unlock(&tick_lock);
}

void lt_ticker_fork_child(void)
{
        lt_lock_reset(&tick_lock);
        running = 0;
}

int lt_ticker_stop(void)
{
        if (!__atomic_load_n(&alive, __ATOMIC_ACQUIRE))
                return 0;
        __atomic_store_n(&stop_asked, 1, __ATOMIC_RELEASE);
        int err = 0;
        for (int waited = 0; __atomic_load_n(&alive, __ATOMIC_ACQUIRE); waited++) {
                if (waited >= 3000) {
                        err = -ETIMEDOUT;
                        break;
                }
                struct timespec ms = {0, 1000000L};
                nanosleep(&ms, NULL);
        }
        __atomic_store_n(&stop_asked, 0, __ATOMIC_RELEASE);
        /* Its run() has returned; the kernel still counts the thread until
         * it is reaped, which unshare(CLONE_NEWUSER) would see: gone when
         * a signal 0 to it finds nobody. */
        pid_t tid = __atomic_load_n(&ticker_tid, __ATOMIC_ACQUIRE);
        for (int waited = 0; !err && tid > 0 && waited < 1000; waited++) {
                if (syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH)
                        break;
                struct timespec ms = {0, 1000000L};
                nanosleep(&ms, NULL);
        }
        return err ? err : 1;
}

int lt_ticker_reset(void)
{
        for (int waited = 0; __atomic_load_n(&alive, __ATOMIC_ACQUIRE); waited++) {
                if (waited >= 2000)
                        return -EBUSY;
                struct timespec ms = { 0, 1000000L };
                nanosleep(&ms, NULL);
        }
        if (hist_of)
                madvise(hist_of, hist_of_len * sizeof(uint32_t), MADV_DONTNEED);
        return 0;
}
