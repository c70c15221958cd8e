#define UNW_LOCAL_ONLY
#include "stacks.h"

#include <errno.h>
#include <libunwind.h>
#include <string.h>
#include <sys/mman.h>

#include "fds.h"
#include "lock.h"
#include "log.h"
#include "lt.h"
#include "modules.h"
#include "options.h"
#include "tracefile.h"
#include "unwind.h"

/* The index from hash to stack id: open addressing in anonymous memory,
 * slots only ever written from 0 to a value, so that lookups need no lock.
 * It starts small and doubles (under insert_lock) when half full: a new
 * index is filled from the stack records and published, and the old one
 * is kept, so that a lookup still in it finds what it held (a stack added
 * since goes to insert(), which looks again in the new one). Sized at once
 * for the most stacks allowed, it was touched at random pages: node's
 * start-up took 4096 page faults there, the largest part of its cost.
 *
 * A slot holds the top 16 bits of the hash, the depth and the id, and
 * frames_at[id - 1] where its frames are: a lookup reads neither the stack
 * record, whose counters other threads keep writing, nor any other line
 * that changes. */
struct index {
        uint64_t mask;
        _Atomic uint64_t slots[];
};
static struct index *_Atomic cur;
static uint64_t old_bytes; /* of the indexes outgrown, kept */
static uint64_t *frames_at;

#define INDEX_MIN 4096
#define SLOT(h, n, id) (((h) >> 48) << 48 | (uint64_t)(n) << 32 | (id))
#define SLOT_ID(s) ((uint32_t)(s))
#define SLOT_MATCH(s, h, n) (((s) >> 32) == (((h) >> 48) << 16 | (uint64_t)(n)))
static uint64_t max_stacks;
static uint64_t frames_used; /* under insert_lock */
static struct lt_lock insert_lock;

static uint64_t index_bytes(uint64_t nslots)
{
        return sizeof(struct index) + nslots * sizeof(uint64_t);
}

static struct index *index_new(uint64_t nslots)
{
        struct index *x = lt_anon_map(index_bytes(nslots));
        if (x)
                x->mask = nslots - 1;
        return x;
}

int lt_stacks_init(uint64_t max)
{
        struct index *x = index_new(INDEX_MIN);
        if (!x)
                return -ENOMEM;
        void *f = mmap(NULL, max * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (f == MAP_FAILED) {
                munmap(x, index_bytes(INDEX_MIN));
                return -ENOMEM;
        }
        atomic_store_explicit(&cur, x, memory_order_release);
        frames_at = f;
        max_stacks = max;
        return 0;
}

/* With insert_lock held: a new index twice the size, holding the n stacks
 * there are, published. Returns it, or NULL (out of memory: the old one
 * stays, fuller). */
static LT_NOINLINE LT_COLD struct index *grow(struct index *x, uint64_t n)
{
        struct index *y = index_new((x->mask + 1) * 2);
        if (!y)
                return NULL;
        for (uint64_t id = 1; id <= n; id++) {
                const struct lt_stack_rec *r = lt_tf_rec(LT_SEC_STACKS, id - 1);
                uint64_t i = r->hash & y->mask;
                while (atomic_load_explicit(&y->slots[i], memory_order_relaxed))
                        i = (i + 1) & y->mask;
                atomic_store_explicit(&y->slots[i], SLOT(r->hash, r->depth, id),
                                      memory_order_relaxed);
        }
        atomic_store_explicit(&cur, y, memory_order_release);
        old_bytes += index_bytes(x->mask + 1);
        return y;
}

int lt_stack_capture(void **buf, int depth, unsigned *truncated, int signal_safe,
                     const struct lt_caller *from)
{
        /* A few more than asked: the tracer's own frames come first when
         * the walk starts here (no from, or libunwind), and one beyond the
         * depth tells that the stack was cut. */
        int want = depth + 8 < LT_STACK_BUF ? depth + 8 : LT_STACK_BUF;
        lt_unwind_lost = 0;
        int n = lt_unwind(buf, want, !signal_safe, from);
        unsigned cut = lt_unwind_lost ? LT_STACK_SHORT : 0;
        if (n < 0) {
                int walked = -1 - n;
                /* Without libunwind, the stack up to the frame it was for. */
                if (lt_fd_unwinder_ok() && lt_unwind_libunwind_fits()) {
                        lt_fd_in_libunwind++;
                        LT_NO_CANCEL(n = unw_backtrace(buf, want)); /* it writes a pipe */
                        lt_fd_in_libunwind--;
                } else {
                        n = walked;
                        cut = LT_STACK_SHORT;
                }
                if (signal_safe && n > 0)
                        lt_unwind_want(buf, n);
        }
        int skip = 0;
        while (skip < n && (uintptr_t)buf[skip] >= lt_self_lo && (uintptr_t)buf[skip] < lt_self_hi)
                skip++;
        n -= skip;
        *truncated = (n > depth ? LT_STACK_TRUNCATED : 0) | cut;
        if (n > depth)
                n = depth;
        if (skip)
                memmove(buf, buf + skip, (size_t)n * sizeof(void *));
        return n;
}

/* The walk's buffer (2 KiB) in a frame of its own, which the short path
 * never enters. */
LT_NOINLINE uint32_t lt_stack_walk_here(int signal_safe, const struct lt_caller *from)
{
        void *buf[LT_STACK_BUF];
        unsigned flags;
        int n = lt_stack_capture(buf, (int)lt_opt.depth, &flags, signal_safe, from);
        /* Nothing walked (no libunwind on a stack of unknown size): the
         * caller at least. */
        if (n <= 0 && from && from->ip)
                return lt_stack_caller_only(from);
        return lt_stack_intern(buf, n, flags);
}

uint32_t lt_stack_caller_only(const struct lt_caller *from)
{
        void *caller = from ? (void *)from->ip : NULL;
        return lt_stack_intern(&caller, caller ? 1 : 0, LT_STACK_SHORT);
}

/* Four lanes, each frame i in lane i % 4: a multiply waits only on its own
 * lane's last, and a stack of 24 frames hashes in the time of 6. */
static inline uint64_t hash_frames(void *const *buf, int n)
{
        const uint64_t k = 0x9e3779b97f4a7c15ull;
        const uintptr_t *f = (const uintptr_t *)buf;
        uint64_t a = (uint64_t)n, b = 1, c = 2, d = 3;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
                a = (a ^ f[i]) * k;
                b = (b ^ f[i + 1]) * k;
                c = (c ^ f[i + 2]) * k;
                d = (d ^ f[i + 3]) * k;
        }
        if (i < n)
                a = (a ^ f[i]) * k;
        if (i + 1 < n)
                b = (b ^ f[i + 1]) * k;
        if (i + 2 < n)
                c = (c ^ f[i + 2]) * k;
        /* Rotated apart, so that a frame counts by its lane too. */
        return lt_mix64(a ^ (b << 17 | b >> 47) ^ (c << 31 | c >> 33) ^ (d << 47 | d >> 17));
}

static inline int same_stack(uint64_t slot, uint64_t h, void *const *buf, int n)
{
        return SLOT_MATCH(slot, h, n) &&
               !memcmp(lt_tf_rec(LT_SEC_FRAMES, frames_at[SLOT_ID(slot) - 1]), buf,
                       (size_t)n * sizeof(void *));
}

/* Where n frames go in the frames section: never across a chunk boundary,
 * so that a stack's frames are one array. Under insert_lock. */
static int place_frames(int n, uint64_t *at)
{
        const struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_FRAMES];
        uint64_t i = frames_used;
        if (n) {
                uint64_t within;
                unsigned k = lt_chunk_of(i, s->base, LT_CHUNK_LG, &within);
                if (within + (uint64_t)n > lt_chunk_recs(k, s->base, LT_CHUNK_LG))
                        i = lt_chunk_start(k + 1, s->base, LT_CHUNK_LG);
        }
        int err = lt_tf_reserve(LT_SEC_FRAMES, i + (uint64_t)n + 1);
        if (err)
                return err;
        *at = i;
        return 0;
}

static LT_NOINLINE uint32_t insert(uint64_t h, void *const *buf, int n, unsigned flags)
{
        /* Outside our lock: the loader lock is taken in there. */
        lt_modules_refresh();

        uint32_t id = 0;
        lt_lock(&insert_lock);
        struct index *x = atomic_load_explicit(&cur, memory_order_relaxed);
        struct lt_section *sec = &lt_tf.hdr->sections[LT_SEC_STACKS];
        uint64_t idx = sec->count;
        if ((idx + 1) * 2 > x->mask + 1 && idx < max_stacks) {
                struct index *y = grow(x, idx);
                if (y)
                        x = y;
        }
        uint64_t i = h & x->mask;
        for (;;) {
                uint64_t s = atomic_load_explicit(&x->slots[i], memory_order_acquire);
                if (!s)
                        break;
                if (same_stack(s, h, buf, n)) {
                        id = SLOT_ID(s);
                        goto out;
                }
                i = (i + 1) & x->mask;
        }
        uint64_t at = 0;
        if (idx >= max_stacks || idx + 1 > x->mask) {
                lt_tf_drop(LT_DROP_STACKS_FULL, 1);
                lt_log_once(stacks_full, "more than LEAKTRACE_MAX_STACKS=%lu distinct stacks; "
                            "allocations from new ones are counted as dropped",
                            (unsigned long)max_stacks);
                goto out;
        }
        if (lt_tf_reserve(LT_SEC_STACKS, idx + 1) < 0 || place_frames(n, &at) < 0)
                goto out;
        memcpy(lt_tf_rec(LT_SEC_FRAMES, at), buf, (size_t)n * sizeof(void *));
        frames_used = at + (uint64_t)n;
        __atomic_store_n(&lt_tf.hdr->sections[LT_SEC_FRAMES].count, frames_used, __ATOMIC_RELEASE);

        struct lt_stack_rec *r = lt_tf_rec(LT_SEC_STACKS, idx);
        r->hash = h;
        r->frames = at;
        r->depth = (uint16_t)n;
        r->flags = (uint16_t)flags;
        r->mod_gen = lt_modules_gen();
        __atomic_store_n(&sec->count, idx + 1, __ATOMIC_RELEASE);
        id = (uint32_t)(idx + 1);
        frames_at[idx] = at;
        atomic_store_explicit(&x->slots[i], SLOT(h, n, id), memory_order_release);
        if (flags & LT_STACK_TRUNCATED)
                lt_tf_drop(LT_DROP_TRUNCATED_STACKS, 1);
        if (flags & LT_STACK_SHORT)
                lt_tf_drop(LT_DROP_SHORT_STACKS, 1);
out:
        lt_unlock(&insert_lock);
        return id;
}

uint32_t lt_stack_intern(void *const *buf, int n, unsigned flags)
{
        uint64_t h = hash_frames(buf, n);
        const struct index *x = atomic_load_explicit(&cur, memory_order_acquire);
        uint64_t i = h & x->mask;
        for (;;) {
                uint64_t s = atomic_load_explicit(&x->slots[i], memory_order_acquire);
                if (!s)
                        return insert(h, buf, n, flags);
                if (lt_likely(same_stack(s, h, buf, n)))
                        return SLOT_ID(s);
                i = (i + 1) & x->mask;
        }
}

uint64_t lt_stacks_footprint(void)
{
        uint64_t n = __atomic_load_n(&lt_tf.hdr->sections[LT_SEC_STACKS].count, __ATOMIC_RELAXED);
        const struct index *x = atomic_load_explicit(&cur, memory_order_relaxed);
        return index_bytes(x->mask + 1) + __atomic_load_n(&old_bytes, __ATOMIC_RELAXED) +
               n * sizeof(uint64_t);
}

void lt_stacks_lock(void)
{
        lt_lock(&insert_lock);
}

void lt_stacks_unlock(void)
{
        lt_unlock(&insert_lock);
}

void lt_stacks_reset_lock(void)
{
        lt_lock_reset(&insert_lock);
}

void lt_stacks_reset(void)
{
        lt_lock(&insert_lock);
        /* A new empty index; the last one stays mapped for a lookup that
         * may still be reading it, as outgrown ones do. */
        struct index *x = atomic_load_explicit(&cur, memory_order_relaxed);
        struct index *y = index_new(INDEX_MIN);
        if (y) {
                atomic_store_explicit(&cur, y, memory_order_release);
                old_bytes += index_bytes(x->mask + 1);
        } else {
                for (uint64_t i = 0; i <= x->mask; i++)
                        atomic_store_explicit(&x->slots[i], 0, memory_order_relaxed);
        }
        madvise(frames_at, max_stacks * sizeof(uint64_t), MADV_DONTNEED);
        frames_used = 0;
        lt_unlock(&insert_lock);
}
