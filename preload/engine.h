/* The engine behind the hooks: what happens when a block is allocated or
 * freed. Hooks call the real function first and then these, inside the
 * recursion guard; a free is recorded before the real free, so that the
 * address cannot be handed out again in between. */
#ifndef LT_ENGINE_H
#define LT_ENGINE_H

#include <stddef.h>

#include "live.h"
#include "lt.h"
#include "unwind.h"

/* What the hooks do now. LT_ON: record everything. LT_PAUSED: nothing
 * (started paused, no block known yet). LT_STOPPED: no new blocks, but the
 * frees of recorded ones still count, so the figures stay right. LT_FORKED:
 * a forked child whose own file is made at its first event. */
enum { LT_OFF, LT_ON, LT_FORKED, LT_PAUSED, LT_STOPPED };
extern LT_HIDDEN int lt_recording;

/* Makes a forked child's file. Returns 1 when recording goes on. */
int lt_engine_forked_slow(void);

/* The per-thread recursion guard: the tracer's own allocations, and those
 * of a signal handler that interrupts the tracer, are not recorded. */
extern LT_TLS int lt_in_tracer;

/* Enters the tracer to record a new block or timer. */
/* node's JS module at its own work on this thread (LEAKTRACE_JS_BUSY,
 * hooks_node.c): what V8 allocates for the stacks it captures is the
 * tracer's, not recorded; frees still are. */
extern LT_TLS int lt_js_busy;

static inline int lt_enter(void)
{
        if (lt_unlikely(lt_in_tracer | lt_js_busy))
                return 0;
        int state = __atomic_load_n(&lt_recording, __ATOMIC_ACQUIRE);
        if (lt_unlikely(state != LT_ON) && (state != LT_FORKED || !lt_engine_forked_slow()))
                return 0;
        lt_in_tracer = 1;
        return 1;
}

/* Enters the tracer to record the end of a block or timer. */
static inline int lt_enter_end(void)
{
        if (lt_unlikely(lt_in_tracer))
                return 0;
        int state = __atomic_load_n(&lt_recording, __ATOMIC_ACQUIRE);
        if (lt_unlikely(state != LT_ON) && state != LT_STOPPED &&
            (state != LT_FORKED || !lt_engine_forked_slow()))
                return 0;
        lt_in_tracer = 1;
        return 1;
}

/* Changes what the hooks do: LT_ON, LT_STOPPED (from the control thread). */
void lt_engine_set(int state);

/* node's 'exit' event: nothing more is recorded, neither blocks nor frees.
 * At a natural end node then disposes of its heap, which frees every
 * ArrayBuffer and object the program still held: the trace keeps what it
 * held when it finished, as with process.exit(), which tears nothing down.
 * Sets LT_F_FROZEN. */
void lt_engine_freeze(void);

/* Frees that a signal handler made while this thread was inside the
 * tracer: recorded, and only then handed to the real free, when the thread
 * leaves the tracer (taking a tracer lock in the handler could deadlock on
 * the lock the interrupted code holds). */
#define LT_DEFERRED_FREES 64
extern LT_TLS void *lt_deferred[LT_DEFERRED_FREES];
extern LT_TLS int lt_ndeferred;
void lt_engine_deferred_slow(void);

/* free() while inside the tracer: 1 if p was queued, 0 if the queue is full
 * (then the caller frees it at once and the free goes unrecorded). A
 * handler can interrupt another handler: the count moves by compare-and-
 * swap, which no signal can split. */
static inline int lt_defer_free(void *p)
{
        int n = __atomic_load_n(&lt_ndeferred, __ATOMIC_RELAXED);
        do {
                if (n >= LT_DEFERRED_FREES)
                        return 0;
                lt_deferred[n] = p;
        } while (!__atomic_compare_exchange_n(&lt_ndeferred, &n, n + 1, 0, __ATOMIC_SEQ_CST,
                                              __ATOMIC_RELAXED));
        return 1;
}

static inline void lt_leave(void)
{
        lt_in_tracer = 0;
        if (lt_unlikely(__atomic_load_n(&lt_ndeferred, __ATOMIC_RELAXED)))
                lt_engine_deferred_slow();
}

/* Records a new block, which lt_sample_take() chose, allocated by from
 * (LT_CALLER() in the hook). errno is left as it was. */
void lt_record_alloc(void *p, size_t size, struct lt_caller from);

/* Records that p is about to be freed. errno is left as it was. */
void lt_record_free(void *p);

/* realloc: takes p's entry out before the real realloc (returns 1 with it
 * in *e, 0 if p is unknown), and puts it back if the real realloc failed
 * and p is still the caller's. */
int lt_record_take(void *p, struct lt_live_entry *e);
void lt_record_restore(const struct lt_live_entry *e);

/* exec: marks the file as ended by exec before the call (returns 1 if it
 * did), and unmarks it when exec failed and the image goes on. ENVP is
 * the environment the new image gets: without the preload in it, the file
 * says the image after ran untraced. */
int lt_engine_exec_begin(char *const envp[]);
void lt_engine_exec_failed(void);

/* The environment for exec: ENVP itself, or its copy in OUT (room for CAP
 * entries: its own, the one added, the NULL) where the trace directory is
 * absolute, when the new image is traced and LEAKTRACE_DIR is relative or
 * unset: a process that changed directory (a daemon's chdir("/")) then
 * exec'd wrote its next image's trace there. Allocates nothing (a vfork
 * child may call), so the copy is on the caller's stack: an environment
 * of more than LT_EXEC_ENV_MAX entries is passed as it is. */
#define LT_EXEC_ENV_MAX 1024
char *const *lt_exec_env(char *const envp[], char **out, size_t cap);

/* Entries of ENVP (0 for NULL). */
size_t lt_env_count(char *const envp[]);

/* After dlclose, inside the tracer: the modules are looked at again now,
 * which starts a new epoch of the fast unwinder's rules, and libunwind's
 * cache is flushed. */
void lt_engine_unloaded(void);

/* Attach mode (attach.c): starts recording into a new trace file, marked
 * LT_F_ATTACHED, with the relocation slots patched. Returns 0 or -errno. */
int lt_engine_attach(void);

/* Attach mode, the slots put back: finishes the file as an exit would, and
 * records nothing more. */
void lt_engine_detach(void);

/* The file finished, on the way out of the process: from the exit
 * destructors (quick 0), or from _exit (quick 1: it may run in a signal
 * handler or a fork child, so nothing that could wait on a lock this
 * thread or a vanished one holds). Not for a vfork or clone child on its
 * parent's file, nor for a fork child that recorded nothing. */
void lt_engine_finish(int quick);

/* A seccomp filter is about to be installed (for every thread when
 * ALL_THREADS): recording stops for good, said once; the background thread
 * ends when the filter is every thread's; nothing more is asked of the
 * kernel, at the exit either. lt_sandboxed is then set. */
extern int lt_sandboxed;
void lt_engine_sandbox(int all_threads);

/* Ends the background thread for a call the kernel refuses to a process
 * of several threads (unshare of a user namespace): returns 1 when it did,
 * and lt_engine_resume_thread() starts it again. */
int lt_engine_pause_thread(void);
void lt_engine_resume_thread(void);

/* Whether the trace file is this process's: not in a vfork child, which
 * runs in its parent's memory (a system call each time). */
int lt_engine_own_process(void);

/* A child made without fork's handlers (_Fork, clone, the system calls):
 * records nothing and lets go of its parent's file. Async-signal-safe. */
void lt_engine_child_untraced(void);

/* exit() or _exit() was called with status: noted in the file, with the
 * allocations made so far (exit_allocs). Returning from main reaches
 * exit() inside the C library, unseen: then neither is known. */
void lt_engine_exit_status(int status);

#endif
