/* The interposed functions, and nothing else. Each calls the real function,
 * records under the recursion guard, and returns what the real one returned
 * with errno as it left it. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "sample.h"
#include "unwind.h"

/* Until dlsym has found the real allocator (it may itself allocate), blocks
 * come from the bootstrap pool. */
static LT_NOINLINE LT_COLD void *boot_alloc(size_t size, size_t align)
{
        if (lt_real_init() == 0 && lt_real.malloc) {
                if (align <= 16)
                        return lt_real.malloc(size);
                void *p = NULL;
                return lt_real.posix_memalign(&p, align, size) ? NULL : p;
        }
        void *p = lt_boot_alloc(size, align);
        if (!p)
                errno = ENOMEM;
        return p;
}

#define BOOTING() lt_unlikely(!__atomic_load_n(&lt_real.malloc, __ATOMIC_ACQUIRE))

/* from: LT_CALLER() in the hook, which this is inlined into. */
static inline void *record(void *p, size_t size, struct lt_caller from)
{
        if (lt_likely(p != NULL) && lt_sample_take(size) && lt_enter()) {
                lt_record_alloc(p, size, from);
                lt_leave();
        }
        return p;
}

/* malloc and free while not recording and not paused (before the
 * constructor, in a forked child before its first event, stopped): out of
 * line, and a tail call to the real function when there is nothing to
 * record. Paused, the hooks themselves jump to the real function: a paused
 * tracer costs a load and two branches (callgrind, malloc_bench: 1.051x the
 * untraced instructions through these functions, 1.035x without them). */
static LT_NOINLINE void *malloc_forked(size_t size)
{
        return record(lt_real.malloc(size), size, LT_CALLER());
}

static LT_NOINLINE void *malloc_not_on(size_t size)
{
        if (BOOTING())
                return boot_alloc(size, 16);
        if (lt_unlikely(lt_recording == LT_FORKED))
                return malloc_forked(size);
        return lt_real.malloc(size);
}

/* An allocation that the sampler took (every one when not sampling).
 * malloc jumps here: LT_CALLER() is malloc's caller. */
static LT_NOINLINE void *malloc_taken(size_t size)
{
        void *p = lt_real.malloc(size);
        if (lt_likely(p != NULL) && lt_enter()) {
                lt_record_alloc(p, size, LT_CALLER());
                lt_leave();
        }
        return p;
}

/* Tail calls only: the register saves of recording are paid only for what
 * is recorded, and the sampler decides before the real call (a failed
 * allocation that it took only moves the sample to the next one). */
LT_EXPORT void *malloc(size_t size)
{
        int state = lt_recording;
        if (lt_unlikely(state != LT_ON)) {
                /* Set only once the real functions are known. */
                if (state == LT_PAUSED)
                        return lt_real.malloc(size);
                return malloc_not_on(size);
        }
        if (!lt_sample_take(size))
                return lt_real.malloc(size);
        return malloc_taken(size);
}

/* A free that may end a recorded block: recorded before the real free. */
static inline void free_recorded(void *p)
{
        if (lt_enter_end()) {
                lt_record_free(p);
                lt_leave();
        }
        lt_real.free(p);
}

/* Stopped, or a forked child before its first event: recorded blocks
 * still end. */
static LT_NOINLINE void free_ending(void *p)
{
        if (!lt_sample_maybe((uintptr_t)p))
                return lt_real.free(p);
        free_recorded(p);
}

/* free while not recording and not paused: as malloc_not_on(). */
static LT_NOINLINE void free_not_on(void *p)
{
        if (lt_unlikely(lt_boot_owns(p)))
                return;
        if (lt_recording == LT_STOPPED || lt_recording == LT_FORKED)
                return free_ending(p);
        if (lt_likely(lt_real.free != NULL))
                lt_real.free(p);
}

/* A free that the sampling filter could not rule out: every one when not
 * sampling. */
static LT_NOINLINE void free_maybe(void *p)
{
        if (!p)
                return;
        /* A signal handler interrupted the tracer in this thread: the free
         * waits until the tracer is left, so that it is recorded first. */
        if (lt_unlikely(lt_in_tracer) && lt_defer_free(p))
                return;
        free_recorded(p);
}

/* As malloc: when the filter says the block was not sampled, a tail call
 * to the real free. */
LT_EXPORT void free(void *p)
{
        int state = lt_recording;
        if (lt_unlikely(state != LT_ON)) {
                if (state == LT_PAUSED && !lt_boot_owns(p))
                        return lt_real.free(p);
                return free_not_on(p);
        }
        if (lt_unlikely(lt_boot_owns(p)))
                return;
        if (!lt_sample_maybe((uintptr_t)p))
                return lt_real.free(p);
        return free_maybe(p);
}

LT_EXPORT void *calloc(size_t n, size_t size)
{
        if (BOOTING()) {
                size_t total;
                if (__builtin_mul_overflow(n, size, &total)) {
                        errno = ENOMEM;
                        return NULL;
                }
                /* The pool is zeroed and never reused; the real malloc,
                 * which boot_alloc may find by now, is not calloc. */
                void *p = boot_alloc(total, 16);
                if (p && !lt_boot_owns(p))
                        memset(p, 0, total);
                return p;
        }
        return record(lt_real.calloc(n, size), n * size, LT_CALLER());
}

/* A block of the bootstrap pool given to realloc: move it to the real heap. */
static LT_NOINLINE LT_COLD void *boot_realloc(void *p, size_t size)
{
        void *q = malloc(size);
        if (q) {
                size_t old = lt_boot_size(p);
                memcpy(q, p, old < size ? old : size);
        }
        return q;
}

LT_EXPORT void *realloc(void *p, size_t size)
{
        if (!p)
                return malloc(size);
        if (lt_unlikely(lt_boot_owns(p)))
                return boot_realloc(p, size);
        if (!lt_enter_end())
                return lt_real.realloc(p, size);

        struct lt_live_entry e;
        int known = lt_record_take(p, &e);
        void *q = lt_real.realloc(p, size);
        if (q) {
                /* A free and a new block, which the sampler takes or not as
                 * any other (its weight assumes so). Stopped: the block's old
                 * self is gone, its new self is not recorded. */
                if (__atomic_load_n(&lt_recording, __ATOMIC_RELAXED) == LT_ON && !lt_js_busy &&
                    lt_sample_take(size))
                        lt_record_alloc(q, size, LT_CALLER());
        } else if (known && size != 0) {
                int saved = errno;
                lt_record_restore(&e); /* failed: p is still the caller's */
                errno = saved;
        }
        lt_leave();
        return q;
}

LT_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
        size_t total;
        if (__builtin_mul_overflow(n, size, &total)) {
                errno = ENOMEM;
                return NULL;
        }
        return realloc(p, total);
}

LT_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
        if (BOOTING()) {
                if (align < sizeof(void *) || (align & (align - 1)))
                        return EINVAL;
                void *p = boot_alloc(size, align);
                if (!p)
                        return ENOMEM;
                *out = p;
                return 0;
        }
        int rc = lt_real.posix_memalign(out, align, size);
        if (rc == 0)
                record(*out, size, LT_CALLER());
        return rc;
}

LT_EXPORT void *aligned_alloc(size_t align, size_t size)
{
        if (BOOTING())
                return boot_alloc(size, align);
        return record(lt_real.aligned_alloc(align, size), size, LT_CALLER());
}

LT_EXPORT void *memalign(size_t align, size_t size)
{
        if (BOOTING())
                return boot_alloc(size, align);
        return record(lt_real.memalign(align, size), size, LT_CALLER());
}

LT_EXPORT void *valloc(size_t size)
{
        if (BOOTING())
                return boot_alloc(size, (size_t)sysconf(_SC_PAGESIZE));
        return record(lt_real.valloc(size), size, LT_CALLER());
}

/* pvalloc gives whole pages: what the caller holds is SIZE rounded up to
 * the page (a page for 0). */
LT_EXPORT void *pvalloc(size_t size)
{
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t whole = size ? (size + page - 1) & ~(page - 1) : page;
        if (whole < size)
                whole = size; /* wrapped: the real call fails */
        if (BOOTING())
                return boot_alloc(whole, page);
        return record(lt_real.pvalloc(size), whole, LT_CALLER());
}

LT_EXPORT size_t malloc_usable_size(void *p)
{
        if (p && lt_unlikely(lt_boot_owns(p)))
                return lt_boot_size(p);
        if (BOOTING() || !lt_real.malloc_usable_size)
                return 0;
        return lt_real.malloc_usable_size(p);
}

/* The real exit functions, even when a library's constructor exits before
 * ours has run; the system call if nothing else can be had. */
static __attribute__((noreturn)) void real_exit(int status, int run_handlers)
{
        if (!lt_real._exit || !lt_real.exit)
                lt_real_init();
        if (run_handlers && lt_real.exit)
                lt_real.exit(status);
        if (lt_real._exit)
                lt_real._exit(status);
        syscall(SYS_exit_group, status);
        __builtin_unreachable();
}

/* _exit and _Exit skip the destructors that mark the file complete. */
LT_EXPORT void _exit(int status)
{
        lt_engine_exit_status(status);
        lt_engine_finish(1);
        real_exit(status, 0);
}

LT_EXPORT void _Exit(int status)
{
        lt_engine_exit_status(status);
        lt_engine_finish(1);
        real_exit(status, 0);
}

/* quick_exit runs the at_quick_exit handlers, then glibc's own _exit,
 * which is not ours: the file is finished first, as for _exit. */
LT_EXPORT void quick_exit(int status)
{
        lt_engine_exit_status(status);
        lt_engine_finish(1);
        if (!lt_real.quick_exit)
                lt_real_init();
        if (lt_real.quick_exit)
                lt_real.quick_exit(status);
        real_exit(status, 0);
}

LT_EXPORT void exit(int status)
{
        lt_engine_exit_status(status);
        real_exit(status, 1);
}

/* glibc's pthread_getattr_np holds the thread's lock while it allocates
 * (the affinity mask it copies; for the main thread, the lines of
 * /proc/self/maps it reads): the first allocation of a thread looks for
 * the thread's stack with that very call, and would wait for the lock it
 * holds itself. Rust's threads and the JVM's ask for their own attributes
 * first thing. Inside it, the stack is left to a later hook
 * (lt_unwind_in_getattr). */
LT_EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
        if (lt_unlikely(!lt_real.pthread_getattr_np) &&
            (lt_real_init() != 0 || !lt_real.pthread_getattr_np))
                return ENOSYS;
        lt_unwind_in_getattr++;
        int r = lt_real.pthread_getattr_np(thread, attr);
        lt_unwind_in_getattr--;
        return r;
}
