#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "engine.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "attach.h"
#include "fds.h"
#include "follow.h"
#include "log.h"
#include "mappings.h"
#include "modules.h"
#include "node.h"
#include "options.h"
#include "perfmap.h"
#include "real.h"
#include "sample.h"
#include "stacks.h"
#include "ticker.h"
#include "timers.h"
#include "tracefile.h"
#include "unwind.h"

int lt_recording;
LT_TLS int lt_in_tracer;
LT_TLS void *lt_deferred[LT_DEFERRED_FREES];
LT_TLS int lt_ndeferred;

/* The process's totals change with every event, on one cache line that
 * every thread would fight over. Each thread gathers its changes and adds
 * them when they pass TOTALS_BATCH bytes, so the totals (and the peak) are
 * right within that many bytes per thread; the exact live figures are the
 * sum of the sites'. */
#define TOTALS_BATCH (64 * 1024)
static LT_TLS int64_t pending_bytes, pending_blocks;

static LT_NOINLINE void flush_totals(void)
{
        struct lt_totals *t = &lt_tf.hdr->totals;
        int64_t live = __atomic_add_fetch(&t->live_bytes, pending_bytes, __ATOMIC_RELAXED);
        __atomic_add_fetch(&t->live_blocks, pending_blocks, __ATOMIC_RELAXED);
        pending_bytes = pending_blocks = 0;
        int64_t peak = __atomic_load_n(&t->peak_live_bytes, __ATOMIC_RELAXED);
        while (live > peak && !__atomic_compare_exchange_n(&t->peak_live_bytes, &peak, live, 1,
                                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
}

int lt_sandboxed;
LT_TLS int lt_js_busy;

/* Whether the file is this process's, not its parent's (a vfork or clone
 * child shares it). Under a seccomp filter getpid may be refused: taken to
 * be. */
static int own_file(const struct lt_header *h)
{
        return lt_sandboxed || (uint32_t)getpid() == h->pid;
}

int lt_engine_own_process(void)
{
        return lt_tf.hdr && own_file(lt_tf.hdr);
}

static inline void add_totals(int64_t bytes, int64_t blocks)
{
        pending_bytes += bytes;
        pending_blocks += blocks;
        if (lt_unlikely(pending_bytes > TOTALS_BATCH || pending_bytes < -TOTALS_BATCH))
                flush_totals();
}

static inline void account_alloc(struct lt_stack_rec *r, uint64_t size, uint32_t blocks)
{
        int64_t live = __atomic_add_fetch(&r->live_bytes, (int64_t)size, __ATOMIC_RELAXED);
        __atomic_add_fetch(&r->live_blocks, blocks, __ATOMIC_RELAXED);
        __atomic_add_fetch(&r->allocs, blocks, __ATOMIC_RELAXED);
        __atomic_add_fetch(&r->bytes_allocated, size, __ATOMIC_RELAXED);
        int64_t peak = __atomic_load_n(&r->peak_live_bytes, __ATOMIC_RELAXED);
        while (live > peak && !__atomic_compare_exchange_n(&r->peak_live_bytes, &peak, live, 1,
                                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
        add_totals((int64_t)size, blocks);
}

static inline void account_free(const struct lt_live_entry *e)
{
        struct lt_stack_rec *r = lt_stack_rec(e->stack);
        __atomic_sub_fetch(&r->live_bytes, (int64_t)e->size, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&r->live_blocks, e->blocks, __ATOMIC_RELAXED);
        add_totals(-(int64_t)e->size, -(int64_t)e->blocks);
}

void lt_record_alloc(void *p, size_t size, struct lt_caller from)
{
        int saved = errno;
        uint64_t wbytes = size;
        uint32_t wblocks = 1;
        if (lt_sample_bytes && !lt_sample_weigh(size, &wbytes, &wblocks))
                goto out;
        if (lt_unlikely(__atomic_load_n(&lt_ticker_proc_wanted, __ATOMIC_RELAXED)) &&
            __atomic_exchange_n(&lt_ticker_proc_wanted, 0, __ATOMIC_RELAXED))
                lt_ticker_open_proc();
        uint32_t id = lt_stack_here(0, &from);
        if (lt_unlikely(!id))
                goto out;
        struct lt_live_entry e = { (uintptr_t)p, wbytes, id, wblocks,
                                   __atomic_load_n(&lt_tf.hdr->history.ticks, __ATOMIC_RELAXED), 0 },
                             old;
        /* Marked before the entry is in: a fork in between leaves the
         * child a false "maybe" at worst, never a live entry whose free the
         * filter hides. */
        if (lt_sample_bytes)
                lt_sample_mark((uintptr_t)p);
        int rc = lt_live_insert(&e, &old);
        if (lt_sample_bytes && rc != 0)
                lt_sample_unmark((uintptr_t)p); /* not in, or p was marked for the old one */
        if (lt_unlikely(rc < 0)) {
                lt_tf_drop(LT_DROP_LIVE_FULL, 1);
                lt_log_once(live_full, "more than LEAKTRACE_MAX_LIVE=%ld live blocks; further "
                            "ones are counted as dropped", lt_opt.max_live);
                goto out;
        }
        if (rc == 1)
                account_free(&old); /* its free went unseen (a signal handler's, say) */
        account_alloc(lt_stack_rec(id), wbytes, wblocks);
out:
        errno = saved;
}

int lt_record_take(void *p, struct lt_live_entry *e)
{
        if (!lt_sample_maybe((uintptr_t)p))
                return 0;
        int saved = errno;
        int found = lt_live_remove((uintptr_t)p, e);
        if (found) {
                account_free(e);
                if (lt_sample_bytes)
                        lt_sample_unmark((uintptr_t)p);
        }
        errno = saved;
        return found;
}

void lt_record_free(void *p)
{
        struct lt_live_entry e;
        lt_record_take(p, &e);
}

void lt_engine_deferred_slow(void)
{
        /* Only this thread's handlers push, and they never pop: take the top
         * with a compare-and-swap, so that a push in between is taken next. */
        int n = __atomic_load_n(&lt_ndeferred, __ATOMIC_SEQ_CST);
        while (n > 0) {
                void *p = lt_deferred[n - 1];
                if (!__atomic_compare_exchange_n(&lt_ndeferred, &n, n - 1, 0, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST))
                        continue; /* a handler pushed: n is the new count */
                lt_in_tracer = 1;
                lt_record_free(p);
                lt_in_tracer = 0;
                lt_real.free(p);
                n = __atomic_load_n(&lt_ndeferred, __ATOMIC_SEQ_CST);
        }
}

void lt_record_restore(const struct lt_live_entry *e)
{
        struct lt_live_entry old;
        int saved = errno;
        if (lt_sample_bytes)
                lt_sample_mark(e->ptr); /* before, as in lt_record_alloc() */
        int rc = lt_live_insert(e, &old);
        if (lt_sample_bytes && rc != 0)
                lt_sample_unmark(e->ptr);
        if (rc == 1)
                account_free(&old);
        if (rc >= 0) {
                struct lt_stack_rec *r = lt_stack_rec(e->stack);
                __atomic_add_fetch(&r->live_bytes, (int64_t)e->size, __ATOMIC_RELAXED);
                __atomic_add_fetch(&r->live_blocks, e->blocks, __ATOMIC_RELAXED);
                add_totals((int64_t)e->size, e->blocks);
        }
        errno = saved;
}

/* Whether this fork's child gets a copy of the file: the parent records.
 * Per thread: the handlers of one fork run on the thread that forks. */
static LT_TLS int fork_copies;
/* fork (async-signal-safe) from a handler that interrupted the tracer on
 * this thread: its locks may be held here, so none is taken, and the child
 * runs untraced. */
static LT_TLS int fork_in_tracer;

static void atfork_prepare(void)
{
        fork_in_tracer = lt_in_tracer != 0;
        lt_in_tracer++;
        if (fork_in_tracer) {
                fork_copies = 0;
                return;
        }
        lt_modules_lock(); /* first: a scan takes the file's grow_lock under it */
        lt_perfmap_lock();
        lt_ticker_lock();
        lt_mappings_lock();
        lt_timers_lock();
        lt_stacks_lock();
        lt_unwind_lock();
        lt_live_lock_all();
        lt_sample_lock();
        lt_lock(&lt_tf.grow_lock);
        /* An attached process's children record nothing, nor do those of a
         * process paused or stopped: no copy for them. */
        fork_copies = !lt_attach_late() && lt_recording == LT_ON;
        if (fork_copies)
                lt_tf_fork_prepare();
}

static void atfork_parent(void)
{
        if (fork_in_tracer) {
                lt_in_tracer--;
                return;
        }
        if (fork_copies)
                lt_tf_fork_parent();
        lt_unlock(&lt_tf.grow_lock);
        lt_sample_unlock();
        lt_live_unlock_all();
        lt_unwind_unlock();
        lt_stacks_unlock();
        lt_timers_unlock();
        lt_mappings_unlock();
        lt_ticker_unlock();
        lt_perfmap_unlock();
        lt_modules_unlock();
        lt_in_tracer--;
}

static void atfork_child(void)
{
        lt_modules_reset_lock();
        lt_lock_reset(&lt_tf.grow_lock);
        lt_live_reset_locks();
        lt_sample_reset_lock();
        lt_stacks_reset_lock();
        lt_unwind_reset_lock();
        lt_ticker_fork_child();
        lt_perfmap_fork_child();
        lt_mappings_reset_lock();
        /* A child of an attached process records nothing (nobody would
         * detach it), and leaves the file, which it shares, alone. Its slots
         * still lead to the hooks, which pass through. */
        if (lt_attach_late()) {
                lt_recording = LT_OFF;
                lt_attached = 0;
        } else if (fork_in_tracer) {
                /* The tracer code the handler interrupted goes on in the
                 * child: it ends its step on the file, then nothing more
                 * is recorded here. */
                lt_recording = LT_OFF;
        } else if (fork_copies) {
                lt_recording = lt_tf_fork_child() < 0 ? LT_OFF : LT_FORKED;
        } else if (lt_recording) {
                /* Forked while paused or stopped: untraced, as a child of
                 * the parent's moment; the file is the parent's alone. */
                lt_recording = LT_OFF;
                lt_tf_fork_forget();
        }
        lt_timers_fork_child();
        lt_in_tracer--;
}

int lt_engine_forked_slow(void)
{
        int on = 0, saved = errno; /* a name taken (EEXIST) is no error of the program's */
        lt_in_tracer++;
        lt_lock(&lt_tf.grow_lock);
        int started = 0;
        int err = 0;
        if (lt_recording == LT_FORKED)
                LT_NO_CANCEL(err = lt_tf_materialize());
        if (lt_recording == LT_FORKED) {
                if (err < 0) {
                        lt_recording = LT_OFF;
                } else {
                        lt_recording = LT_ON;
                        started = 1;
                }
        }
        on = lt_recording == LT_ON;
        lt_unlock(&lt_tf.grow_lock);
        if (started) {
                lt_perfmap_forked();
                lt_ticker_start();
        }
        lt_in_tracer--;
        errno = saved;
        return on;
}

static const int header_state[] = {
        [LT_OFF] = LT_STATE_OFF,         [LT_ON] = LT_STATE_ON,
        [LT_FORKED] = LT_STATE_ON,       [LT_PAUSED] = LT_STATE_PAUSED,
        [LT_STOPPED] = LT_STATE_STOPPED,
};

void lt_engine_set(int state)
{
        struct lt_header *h = lt_tf.hdr;
        int was = __atomic_exchange_n(&lt_recording, state, __ATOMIC_ACQ_REL);
        if (!h)
                return;
        if (state == LT_ON && was != LT_ON) {
                uint64_t now = lt_now_ns();
                if (!h->history.start_tick_ns)
                        h->history.start_tick_ns = now;
                if (h->history.stop_tick_ns) { /* started again: a gap */
                        if (now > h->history.stop_tick_ns)
                                h->history.stopped_ns += now - h->history.stop_tick_ns;
                        h->history.restarts++;
                        h->history.stop_tick_ns = 0;
                }
        } else if (state == LT_STOPPED && was == LT_ON) {
                h->history.stop_tick_ns = lt_now_ns();
        }
        __atomic_store_n(&h->history.state, (uint32_t)header_state[state], __ATOMIC_RELEASE);
}

/* The unwinder, and what its first use needs. */
static void unwind_setup(void)
{
        /* libunwind opens its pipe here: through the pipe2 hook, or where
         * the lowest free descriptor was (fds.h). */
        int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (lowest >= 0)
                close(lowest);
        lt_fd_in_libunwind = 1;
        unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
        lt_fd_in_libunwind = 0;
        lt_fd_find_unwinder(lowest);
        int fast = strcmp(lt_opt.unwind, "libunwind") != 0;
        if (lt_unwind_init(fast) < 0)
                lt_log_error("no memory for the unwinder's rules: libunwind unwinds every stack");
}

/* The status of an exit the hooks do not see: main returning, whose
 * exit() the C library calls from within itself (node ending with
 * process.exitCode set, say). */
static void exit_status_seen(int status, void *arg)
{
        (void)arg;
        lt_engine_exit_status(status);
}

__attribute__((constructor(101))) static void lt_init(void)
{
        /* Loaded by `leaktrace attach` (dlopen): leaktrace_attach() starts. */
        if (lt_attach_late())
                return;
        lt_log_init();
        if (lt_real_init() < 0)
                return;
        lt_in_tracer = 1;
        lt_options_load();
        lt_log_set_quiet((int)lt_opt.quiet);
        if (getauxval(AT_SECURE) || !lt_follow_decide()) {
                /* setuid or setgid: the loader should not even have let us
                 * in. Record nothing. Or a process that only passes the
                 * preload on. */
                lt_in_tracer = 0;
                return;
        }
        unwind_setup();
        lt_unwind_know_stack(); /* the main thread's, while its stack is the main one */
        if (lt_stacks_init((uint64_t)lt_opt.max_stacks) < 0 ||
            lt_live_init((uint64_t)lt_opt.max_live) < 0) {
                lt_log_error("no memory for the tracer's tables (a small RLIMIT_AS? they reserve "
                             "address space for LEAKTRACE_MAX_STACKS stacks); running untraced");
                lt_in_tracer = 0;
                return;
        }
        if (lt_tf_open() < 0) {
                lt_in_tracer = 0;
                return;
        }
        if (lt_sample_init((uint64_t)lt_opt.sample, (uint64_t)lt_opt.seed) < 0)
                lt_log_error("no memory for sampling: every allocation is recorded");
        lt_tf.hdr->sample_bytes = lt_sample_bytes;
        lt_modules_scan();
        lt_node_setup();
        lt_mappings_init();
        if (lt_timers_init() < 0)
                lt_log_error("no memory for the timer tables: timers are not traced");
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        on_exit(exit_status_seen, NULL);
        int paused = !strcmp(lt_opt.start, "paused");
        lt_engine_set(paused ? LT_PAUSED : LT_ON);
        lt_ticker_start();
        lt_in_tracer = 0;
}

/* Whether the environment ENVP loads the preload: LD_PRELOAD names it. */
static int preloads(char *const envp[])
{
        for (size_t i = 0; envp && envp[i]; i++)
                if (!strncmp(envp[i], "LD_PRELOAD=", 11) && strstr(envp[i] + 11, "libleaktrace.so"))
                        return 1;
        return 0;
}

size_t lt_env_count(char *const envp[])
{
        size_t n = 0;
        while (envp && envp[n])
                n++;
        return n;
}

char *const *lt_exec_env(char *const envp[], char **out, size_t cap)
{
        const char *dir = lt_tf_dir_env();
        if (!dir || !envp || !preloads(envp))
                return envp;
        size_t n = 0, at = SIZE_MAX;
        for (; envp[n]; n++)
                if (!strncmp(envp[n], "LEAKTRACE_DIR=", 14))
                        at = n;
        if ((at != SIZE_MAX && envp[at][14] == '/') || n + 2 > cap)
                return envp;
        memcpy(out, envp, n * sizeof(*out));
        if (at != SIZE_MAX)
                out[at] = (char *)dir;
        else
                out[n++] = (char *)dir;
        out[n] = NULL;
        return out;
}

int lt_engine_exec_begin(char *const envp[])
{
        struct lt_header *h = lt_tf.hdr;
        if (!h || lt_recording == LT_OFF || lt_recording == LT_FORKED)
                return 0;
        /* A vfork child runs in its parent's memory: the file is the
         * parent's, which goes on. */
        if (!own_file(h))
                return 0;
        /* exec is async-signal-safe: from a handler that interrupted the
         * tracer, whose locks may be this thread's, the file is marked
         * only, as _exit leaves it. */
        int quick = lt_in_tracer != 0;
        lt_in_tracer++;
        flush_totals();
        if (!quick && !lt_sandboxed) {
                lt_ticker_tick_now(0);
                lt_perfmap_copy(1);
        }
        h->end_ns = lt_now_ns();
        __atomic_fetch_or(&h->flags, preloads(envp) ? LT_F_EXEC : LT_F_EXEC | LT_F_EXEC_UNTRACED,
                          __ATOMIC_RELEASE);
        lt_in_tracer--;
        return 1;
}

void lt_engine_unloaded(void)
{
        /* Another thread's scan may have read the loader's counters before
         * this unload: scan after it. */
        while (lt_modules_scan() == -EBUSY)
                sched_yield();
        unw_flush_cache(unw_local_addr_space, 0, 0);
}

void lt_engine_exec_failed(void)
{
        struct lt_header *h = lt_tf.hdr;
        __atomic_fetch_and(&h->flags, ~(LT_F_EXEC | LT_F_EXEC_UNTRACED), __ATOMIC_RELEASE);
        h->end_ns = 0;
}


void lt_engine_sandbox(int all_threads)
{
        if (lt_recording == LT_OFF || !lt_tf.hdr || lt_sandboxed)
                return;
        lt_in_tracer++;
        lt_log("a seccomp filter is being installed: recording stops here, as the tracer's system "
               "calls could be refused or kill the process (frees of recorded blocks are still "
               "counted)");
        if (lt_recording != LT_FORKED)
                lt_engine_set(LT_STOPPED);
        else
                lt_recording = LT_OFF; /* a fork child with no file yet: none now */
        lt_sandboxed = 1;
        /* A filter for every thread (TSYNC) is the background thread's too. */
        if (all_threads)
                lt_ticker_stop();
        lt_in_tracer--;
}

int lt_engine_pause_thread(void)
{
        if (lt_in_tracer || lt_recording == LT_OFF || !lt_tf.hdr || lt_sandboxed)
                return 0;
        lt_in_tracer++;
        int stopped = lt_ticker_stop() == 1;
        lt_in_tracer--;
        return stopped;
}

void lt_engine_resume_thread(void)
{
        lt_in_tracer++;
        lt_ticker_start();
        lt_in_tracer--;
}

void lt_engine_child_untraced(void)
{
        if (lt_recording == LT_OFF || !lt_tf.hdr)
                return;
        lt_recording = LT_OFF;
        lt_tf_fork_forget();
}

void lt_engine_finish(int quick)
{
        struct lt_header *h = lt_tf.hdr;
        /* A fork child that recorded nothing of its own leaves no file: a
         * copy of its parent's, for every child of a server that forks per
         * job, would fill the disk. */
        if (!h || lt_recording == LT_OFF || lt_recording == LT_FORKED)
                return;
        /* A vfork child, or one made by the clone system call, on its
         * parent's file: the parent's end is not this. */
        if (!own_file(h))
                return;
        /* _exit from a signal handler that interrupted the tracer: the
         * locks it would take may be this thread's own. */
        if (quick && lt_in_tracer)
                return;
        lt_in_tracer++;
        flush_totals();
        /* Under a seccomp filter: no system call, the file marked only. */
        if (!lt_sandboxed) {
                /* _exit is what a fork child calls, and a thread of its
                 * parent may have held the loader's lock at the fork: no
                 * dl_iterate_phdr. */
                if (!quick)
                        lt_modules_scan();
                lt_ticker_tick_now(quick);
                lt_perfmap_copy(1);
        }
        lt_tf_finish();
        lt_in_tracer--;
}

void lt_engine_freeze(void)
{
        struct lt_header *h = lt_tf.hdr;
        if (!h || !own_file(h))
                return;
        int state = __atomic_load_n(&lt_recording, __ATOMIC_ACQUIRE);
        if (state != LT_ON && state != LT_STOPPED)
                return;
        lt_in_tracer++;
        flush_totals();
        __atomic_store_n(&lt_recording, LT_PAUSED, __ATOMIC_RELEASE);
        /* The timeline's last point is this moment: RSS read later, after
         * node's teardown, would fall back to what it was at start. */
        lt_ticker_tick_now(0);
        __atomic_fetch_or(&h->flags, LT_F_FROZEN, __ATOMIC_RELEASE);
        lt_in_tracer--;
}

void lt_engine_exit_status(int status)
{
        struct lt_header *h = lt_tf.hdr;
        if (!h || lt_recording == LT_OFF || !own_file(h))
                return;
        h->exit_status = (uint32_t)status & 0xff;
        __atomic_fetch_or(&h->flags, LT_F_STATUS, __ATOMIC_RELEASE);
        /* What follows (atexit handlers, destructors, a runtime's teardown)
         * is housekeeping: the analyzer's axis of work ends here. */
        if (!h->exit_allocs)
                h->exit_allocs = lt_ticker_allocs();
}

__attribute__((destructor)) static void lt_fini(void)
{
        lt_engine_finish(0);
}

/* The tables are made once; a later attach empties them, and the file of
 * the last one, which a hook still running may be reading, is unmapped
 * only now, an attach later. */
static int attach_tables(void)
{
        static int made;
        if (made) {
                int err = lt_ticker_reset();
                if (err)
                        return err;
                lt_tf_close();
                lt_stacks_reset();
                lt_live_reset();
                lt_mappings_reset();
                lt_modules_reset();
                return 0;
        }
        lt_log_init();
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        if (!libc || lt_real_init_from(libc) < 0)
                return -ENOSYS;
        unwind_setup();
        if (lt_stacks_init((uint64_t)lt_opt.max_stacks) < 0 ||
            lt_live_init((uint64_t)lt_opt.max_live) < 0)
                return -ENOMEM;
        if (lt_sample_init((uint64_t)lt_opt.sample, (uint64_t)lt_opt.seed) < 0)
                lt_log_error("no memory for sampling: every allocation is recorded");
        lt_mappings_init();
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        made = 1;
        return 0;
}

/* Whether the process allocates with something else than the C library
 * (jemalloc, tcmalloc, mimalloc; linked or preloaded): the malloc its
 * calls find is not libc's, and an attach, whose hooks call libc's, would
 * hand the blocks made before it to glibc's free (redis-server aborted).
 * A non-PIE executable's canonical PLT entry for malloc, a jump through
 * its GOT, is the C library's after all. */
static int foreign_allocator(void)
{
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        if (!libc)
                return 0;
        const unsigned char *used = dlsym(RTLD_DEFAULT, "malloc");
        int foreign = used && (void *)used != dlsym(libc, "malloc");
        dlclose(libc);
        if (!foreign)
                return 0;
        if (used[0] == 0xf3 && used[1] == 0x0f && used[2] == 0x1e && used[3] == 0xfa)
                used += 4; /* endbr64 */
        if (used[0] == 0xf2)
                used++; /* bnd */
        return !(used[0] == 0xff && used[1] == 0x25);
}

int lt_engine_attach(void)
{
        if (foreign_allocator())
                return -ENOTSUP;
        lt_in_tracer++;
        int err = attach_tables();
        if (!err)
                err = lt_tf_open();
        if (err)
                goto out;
        struct lt_header *h = lt_tf.hdr;
        h->exec_count = 0; /* a file of an earlier attach has the name: not an exec */
        /* The sampling filter is made once: the first attach's rate stays. */
        if ((uint64_t)lt_opt.sample != lt_sample_bytes)
                lt_log_error("LEAKTRACE_SAMPLE=%ld differs from the first attach's %lu, which "
                             "stays", lt_opt.sample, (unsigned long)lt_sample_bytes);
        h->sample_bytes = lt_sample_bytes;
        __atomic_fetch_or(&h->flags, LT_F_ATTACHED, __ATOMIC_RELEASE);
        if (lt_timers_attach() < 0)
                lt_log_error("no memory for the timer tables: timers are not traced");
        lt_modules_scan();
        lt_modules_find_aliases();
        lt_engine_set(LT_ON);
        err = lt_attach_patch();
        if (err < 0) {
                lt_engine_set(LT_OFF);
                lt_tf_finish();
                goto out;
        }
        err = 0;
        lt_ticker_start();
out:
        lt_in_tracer--;
        return err;
}

void lt_engine_detach(void)
{
        lt_engine_finish(0);
        lt_engine_set(LT_OFF);
        /* The process keeps no descriptor of ours; the mapping stays until
         * the next attach. */
        if (lt_tf.fd >= 0)
                close(lt_tf.fd);
        lt_tf.fd = -1;
}
