/* Unit tests of the preload's pieces: the chunk arithmetic of the format,
 * the live-allocation table, and stack interning into a real trace file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leaktrace/format.h"
#include "live.h"
#include "modules.h"
#include "options.h"
#include "stacks.h"
#include "tap.h"
#include "tracefile.h"

/* Every index maps to exactly one (chunk, slot), in order, with chunk k
 * holding base << (k >> lg) records, and lt_chunk_start() giving each
 * chunk's first index: a walk over indexes [0, n) checked against a
 * counter of its own. */
static int walk_chunks(uint32_t base, unsigned lg, uint64_t n)
{
        uint64_t expect_k = 0, expect_within = 0;
        for (uint64_t i = 0; i < n; i++) {
                uint64_t within;
                unsigned k = lt_chunk_of(i, base, lg, &within);
                if (k != expect_k || within != expect_within)
                        return 0;
                if (!within && lt_chunk_start(k, base, lg) != i)
                        return 0;
                if (++expect_within == ((uint64_t)base << (expect_k >> lg))) {
                        if (lt_chunk_recs(k, base, lg) != expect_within)
                                return 0;
                        expect_k++;
                        expect_within = 0;
                }
        }
        return 1;
}

static void test_chunks(void)
{
        uint64_t within;
        /* Version 1: each chunk twice the last. */
        CHECK(walk_chunks(4, LT_CHUNK_LG_V1, 4 * 1023),
              "v1: lt_chunk_of walks chunks 0..9 of base 4 in order");
        CHECK(lt_chunk_start(3, 4, LT_CHUNK_LG_V1) == 4 + 8 + 16, "v1: lt_chunk_start(3, 4) is 28");
        CHECK(lt_chunk_of(1ull << 40, 1024, LT_CHUNK_LG_V1, &within) == 30 && within == 1024,
              "v1: index 2^40 with base 1024 is record 1024 of chunk 30");
        CHECK(lt_chunk_start(LT_MAX_CHUNKS_V1, 1, LT_CHUNK_LG_V1) == 0xffffffffull,
              "v1: 32 chunks of base 1 hold 2^32 - 1");

        /* Version 2: 16 chunks a level, each level's twice the last's. */
        CHECK(walk_chunks(4, LT_CHUNK_LG, 4 * 16 * 63),
              "v2: lt_chunk_of walks levels 0..5 of base 4 in order");
        CHECK(walk_chunks(1, LT_CHUNK_LG, 16 * 255), "v2: and levels 0..7 of base 1");
        CHECK(lt_chunk_start(16, 4, LT_CHUNK_LG) == 64 &&
                  lt_chunk_start(19, 4, LT_CHUNK_LG) == 64 + 3 * 8,
              "v2: level 1 of base 4 starts at 64, its chunk 3 at 88");
        CHECK(lt_chunk_recs(15, 4, LT_CHUNK_LG) == 4 && lt_chunk_recs(16, 4, LT_CHUNK_LG) == 8 &&
                  lt_chunk_recs(207, 4, LT_CHUNK_LG) == 4 << 12,
              "v2: chunks 15, 16 and 207 of base 4 hold 4, 8 and 4 << 12");
        CHECK(lt_chunk_of(1ull << 40, 1024, LT_CHUNK_LG, &within) == 26 * 16 && within == 16384,
              "v2: index 2^40 with base 1024 is record 16384 of chunk 416");
        CHECK(lt_chunk_of((1ull << 62) - (1ull << 35) - 1, 1u << 31, LT_CHUNK_LG, &within) ==
                      16 * 27 - 1 &&
                  within == (1ull << 57) - 1,
              "v2: base 2^31, index 2^62-2^35-1 is the last record of level 26 (chunk 431)");
        CHECK(lt_chunk_of((1ull << 62) - (1ull << 35), 1u << 31, LT_CHUNK_LG, &within) == 16 * 27 &&
                  within == 0,
              "v2: and the next index the first of level 27");
        /* The stacks section (base 1024) must hold LEAKTRACE_MAX_STACKS'
         * maximum, 2^26: 12 levels (192 chunks) fall 16384 short. */
        CHECK(lt_chunk_start(LT_MAX_CHUNKS, 1024, LT_CHUNK_LG) >= 1ull << 26 &&
                  lt_chunk_start(LT_MAX_CHUNKS - 16, 1024, LT_CHUNK_LG) == (1ull << 26) - 16384,
              "v2: 208 chunks of base 1024 hold 2^26 records, 192 would not");

        /* Where the chunk slots are: 0..31 in the section, as in v1; the
         * next in the extension at 8192, 176 a section, indexed by kind. */
        static uint64_t hdr[LT_HEADER_SIZE / 8];
        struct lt_header *h = (struct lt_header *)hdr;
        CHECK((char *)lt_chunk_slot(h, 3, 31) - (char *)h ==
                      (ptrdiff_t)offsetof(struct lt_header, sections[3].chunk_off[31]) &&
                  (char *)lt_chunk_slot(h, 3, 32) - (char *)h == 8192 + (3 * 176) * 8 &&
                  (char *)lt_chunk_slot(h, 10, 207) - (char *)h == 8192 + (10 * 176 + 175) * 8,
              "v2: chunk slots 32..207 of section k are at 8192 + (176 k + c - 32) * 8");
        hdr[(8192 + (5 * 176 + 7) * 8) / 8] = 0x123456;
        CHECK(lt_chunk_off(h, 5, 39) == 0x123456, "lt_chunk_off reads slot 39 of section 5 there");

        /* What the last chunk leaves unused: past level 0, less than an
         * eighth of the records (a sixteenth in later levels) in v2; as
         * much again as the records in v1. */
        uint64_t worst2 = 0, worst1 = 0;
        int ok = 1;
        for (uint64_t n = 16 * 4 + 1; n < 4 * 16 * 255; n++) {
                uint64_t cap =
                    lt_chunk_start(lt_chunk_of(n - 1, 4, LT_CHUNK_LG, &within) + 1, 4, LT_CHUNK_LG);
                if ((cap - n) * 8 >= n)
                        ok = 0;
                worst2 = cap - n > worst2 ? cap - n : worst2;
                cap = lt_chunk_start(lt_chunk_of(n - 1, 4, LT_CHUNK_LG_V1, &within) + 1, 4,
                                     LT_CHUNK_LG_V1);
                worst1 = (cap - n) > worst1 ? cap - n : worst1;
        }
        CHECK(ok, "v2: chunks hold less than 9/8 of the count, from level 1 on");
        CHECK(worst2 == 4 * 128 - 1 && worst1 == 4 * 2048 - 1,
              "below 16320 records of base 4: at most 511 unused in v2, 8191 in v1 (%llu, %llu)",
              (unsigned long long)worst2, (unsigned long long)worst1);
}

/* A reference model: the live table must agree with a plain array after
 * a random mix of inserts and removes, including removes that shift runs. */
static void test_live(void)
{
        enum { N = 200000, KEYS = 50000 };
        static uint64_t model[KEYS]; /* size + 1 when live, 0 when not */
        unsigned s = 12345;
        int agree = 1, replaced_ok = 1;
        uint64_t live = 0;

        lt_live_init(1u << 20);
        CHECK(lt_live_footprint() == 64u * 512u * sizeof(struct lt_live_entry),
              "every shard starts with its 512 slots of the one first mapping (%lu bytes)",
              (unsigned long)lt_live_footprint());
        for (int i = 0; i < N; i++) {
                s = s * 1103515245u + 12345u;
                unsigned k = (s >> 8) % KEYS;
                uintptr_t ptr = 0x100000 + (uintptr_t)k * 16;
                struct lt_live_entry e = { ptr, k * 3u + 1u, k + 1, 1, 0, 0 }, out;
                if (model[k]) {
                        int found = lt_live_remove(ptr, &out);
                        if (!found || out.size != model[k] - 1 || out.stack != k + 1)
                                agree = 0;
                        model[k] = 0;
                        live--;
                } else {
                        if (lt_live_insert(&e, &out) != 0)
                                agree = 0;
                        model[k] = e.size + 1;
                        live++;
                }
        }
        CHECK(agree, "200000 random inserts and removes agree with the model");
        CHECK(lt_live_footprint() > 64u * 512u * sizeof(struct lt_live_entry),
              "the shards grew past their first tables (%lu bytes)", (unsigned long)lt_live_footprint());
        CHECK(lt_live_count() == live, "live count %lu equals the model's %lu",
              (unsigned long)lt_live_count(), (unsigned long)live);
        int all = 1;
        for (unsigned k = 0; k < KEYS; k++) {
                struct lt_live_entry out;
                uintptr_t ptr = 0x100000 + (uintptr_t)k * 16;
                int found = lt_live_remove(ptr, &out);
                if (found != (model[k] != 0))
                        all = 0;
        }
        CHECK(all && lt_live_count() == 0, "every live key is found once, then the table is empty");

        struct lt_live_entry a = { 0x5000, 10, 1, 1, 0, 0 }, b = { 0x5000, 20, 2, 1, 0, 0 }, old;
        lt_live_insert(&a, &old);
        int rc = lt_live_insert(&b, &old);
        replaced_ok = rc == 1 && old.size == 10 && old.stack == 1;
        CHECK(replaced_ok, "inserting a known address returns the stale entry");
        struct lt_live_entry out;
        CHECK(lt_live_remove(0x5000, &out) == 1 && out.size == 20, "the new entry replaced it");
        CHECK(lt_live_remove(0x5000, &out) == 0, "removing an unknown address finds nothing");
}

/* An address in megabyte mb, k-th block of it: megabytes are what the
 * table's shards go by. */
static uintptr_t in_mb(unsigned mb, unsigned k)
{
        return ((uintptr_t)(mb + 16) << 20) + (uintptr_t)k * 64;
}

static int put(uintptr_t ptr)
{
        struct lt_live_entry e = { ptr, 64, 1, 1, 0, 0 }, old;
        return lt_live_insert(&e, &old);
}

/* LEAKTRACE_MAX_LIVE is exact with one thread, however the blocks fall on
 * the shards: the case that went over it was a heap that filled most of
 * one shard's share, then moved on to a new megabyte. */
static void test_live_limit(void)
{
        enum { MAX = 2000 };
        lt_live_init(MAX);
        int in = 0, full = 0, other = 0;
        /* 1900 blocks in one megabyte, then 64 in each of 64 others: every
         * shard, most of them new. */
        for (unsigned mb = 0; mb <= 64; mb++)
                for (unsigned k = 0; k < (mb ? 64u : 1900u); k++) {
                        int rc = put(in_mb(mb, k));
                        rc == 0 ? in++ : rc == -ENOSPC ? full++ : other++;
                }
        CHECK(in == MAX && full == 1900 + 64 * 64 - MAX && other == 0 && lt_live_count() == MAX,
              "2000 of 5996 blocks over 65 megabytes entered, the rest refused (%d in, %d full, %d other, count %lu)",
              in, full, other, (unsigned long)lt_live_count());

        /* Room made in one shard is found from any other. */
        struct lt_live_entry out;
        int freed = 0;
        for (unsigned k = 0; k < 300; k++)
                freed += lt_live_remove(in_mb(0, k), &out);
        in = 0;
        for (unsigned mb = 100; mb < 164; mb++)
                for (unsigned k = 0; k < 10; k++)
                        in += put(in_mb(mb, k)) == 0;
        CHECK(freed == 300 && in == 300 && lt_live_count() == MAX,
              "300 freed in one megabyte, then exactly 300 of 640 entered in 64 others (%d freed, %d in)",
              freed, in);

        /* Emptied, the table takes its whole limit again. */
        for (unsigned mb = 0; mb < 164; mb++)
                for (unsigned k = 0; k < 1900; k++)
                        lt_live_remove(in_mb(mb, k), &out);
        in = 0;
        for (unsigned k = 0; k < 3000; k++)
                in += put(in_mb(200 + k % 7, k)) == 0;
        CHECK(lt_live_count() == MAX && in == MAX, "emptied and filled again: %d entered", in);
        lt_live_reset();
        CHECK(lt_live_count() == 0, "reset: empty");
        in = 0;
        for (unsigned k = 0; k < 3000; k++)
                in += put(in_mb(300 + k % 70, k)) == 0;
        CHECK(in == MAX, "reset: the whole limit again (%d entered)", in);
        lt_live_reset();
}

/* Threads that insert and remove at once in their own megabytes, many of
 * them, near the limit: the table never holds more than the limit. What a
 * thread counts trails the table (counted after an insert, uncounted
 * before a remove), so the sum of the counts never exceeds what the table
 * holds, and the table's own count is checked once they stop. */
enum { LIMIT_THREADS = 4, LIMIT_MAX = 3000, LIMIT_OPS = 200000 };
static long limit_held; /* atomic: the threads' blocks, counted as above */
static long limit_peak; /* atomic */
enum { LIMIT_KEYS = 2048 };
static char limit_has[LIMIT_THREADS][LIMIT_KEYS];

static uintptr_t limit_key(unsigned id, unsigned k)
{
        return in_mb(1000 + id * 40 + k % 40, k);
}

static void *limit_thread(void *arg)
{
        unsigned id = (unsigned)(uintptr_t)arg, s = id * 7919u + 1u;
        for (int i = 0; i < LIMIT_OPS; i++) {
                s = s * 1103515245u + 12345u;
                unsigned k = (s >> 8) % LIMIT_KEYS;
                uintptr_t ptr = limit_key(id, k);
                struct lt_live_entry out;
                if (limit_has[id][k]) {
                        __atomic_sub_fetch(&limit_held, 1, __ATOMIC_SEQ_CST);
                        lt_live_remove(ptr, &out);
                        limit_has[id][k] = 0;
                } else if (put(ptr) == 0) {
                        limit_has[id][k] = 1;
                        long now = __atomic_add_fetch(&limit_held, 1, __ATOMIC_SEQ_CST);
                        long peak = __atomic_load_n(&limit_peak, __ATOMIC_RELAXED);
                        while (now > peak && !__atomic_compare_exchange_n(&limit_peak, &peak, now, 1,
                                                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                                ;
                }
        }
        return NULL;
}

static void test_live_limit_threads(void)
{
        lt_live_init(LIMIT_MAX);
        pthread_t t[LIMIT_THREADS];
        for (unsigned i = 0; i < LIMIT_THREADS; i++)
                pthread_create(&t[i], NULL, limit_thread, (void *)(uintptr_t)i);
        for (unsigned i = 0; i < LIMIT_THREADS; i++)
                pthread_join(t[i], NULL);
        long held = __atomic_load_n(&limit_held, __ATOMIC_RELAXED);
        /* They want about 4096 blocks: the limit is met, at times a little
         * early when a shard's lock is held (see live.c). */
        CHECK(limit_peak <= LIMIT_MAX && limit_peak > LIMIT_MAX * 9 / 10 && (long)lt_live_count() == held,
              "4 threads, 8192 keys, limit 3000: the table reached it and never passed it (peak %ld), "
              "and holds what they hold (%lu, %ld)",
              limit_peak, (unsigned long)lt_live_count(), held);
        /* The first thread's blocks freed, one thread fills the room, spread
         * over the other shards' unused quotas, exactly. */
        struct lt_live_entry out;
        for (unsigned k = 0; k < LIMIT_KEYS; k++)
                held -= limit_has[0][k] && lt_live_remove(limit_key(0, k), &out);
        int in = 0;
        for (unsigned k = 0; k < LIMIT_MAX; k++)
                in += put(in_mb(2000 + k % 50, k)) == 0;
        CHECK(held < LIMIT_MAX - 200 && (long)lt_live_count() == LIMIT_MAX && in == LIMIT_MAX - held,
              "after them, one thread fills the rest exactly: %d entered, %ld held", in, held);
}

static void test_stacks(const char *dir)
{
        lt_opt.dir = dir;
        CHECK(lt_tf_open() == 0, "a trace file is created in %s", dir);
        CHECK(lt_stacks_init(100000) == 0, "the stack index is set up");
        lt_modules_scan();

        void *a[3] = { (void *)0x1000, (void *)0x2000, (void *)0x3000 };
        void *b[3] = { (void *)0x1000, (void *)0x2000, (void *)0x3001 };
        uint32_t ia = lt_stack_intern(a, 3, 0);
        uint32_t ib = lt_stack_intern(b, 3, 0);
        uint32_t ia2 = lt_stack_intern(a, 3, 0);
        uint32_t ishort = lt_stack_intern(a, 2, 0);
        CHECK(ia && ib && ia != ib, "two stacks that differ in one frame get two ids");
        CHECK(ia == ia2, "the same stack interned twice gets the same id");
        CHECK(ishort && ishort != ia, "a prefix of a stack is a stack of its own");
        struct lt_stack_rec *r = lt_stack_rec(ib);
        uint64_t *f = lt_tf_rec(LT_SEC_FRAMES, r->frames);
        CHECK(r->depth == 3 && f[0] == 0x1000 && f[2] == 0x3001, "frames are stored in order");

        /* Enough stacks of depth 60 to cross several frame chunks: none
         * may straddle a chunk boundary, and all must be found again. */
        void *deep[60];
        int ok = 1, straddle = 0;
        const struct lt_section *fs = &lt_tf.hdr->sections[LT_SEC_FRAMES];
        for (int i = 0; i < 3000; i++) {
                for (int j = 0; j < 60; j++)
                        deep[j] = (void *)(uintptr_t)(0x400000 + i * 64 + j);
                uint32_t id = lt_stack_intern(deep, 60, 0);
                if (!id)
                        ok = 0;
                else {
                        uint64_t w1, w2;
                        struct lt_stack_rec *d = lt_stack_rec(id);
                        if (lt_chunk_of(d->frames, fs->base, LT_CHUNK_LG, &w1) !=
                            lt_chunk_of(d->frames + 59, fs->base, LT_CHUNK_LG, &w2))
                                straddle++;
                }
        }
        for (int i = 0; i < 3000 && ok; i++) {
                for (int j = 0; j < 60; j++)
                        deep[j] = (void *)(uintptr_t)(0x400000 + i * 64 + j);
                if (lt_stack_intern(deep, 60, 0) != (uint32_t)(i + 4))
                        ok = 0;
        }
        CHECK(ok, "3000 deep stacks are interned and found again with their ids");
        CHECK(straddle == 0, "no stack's frames straddle a chunk (%d did)", straddle);
        /* 8 frames and 272 deep stacks in chunk 0, 273 in each next one. */
        CHECK(fs->nchunks == 11, "the frames section grew to 11 chunks of 16384 (%u)", fs->nchunks);
        CHECK(lt_tf.hdr->sections[LT_SEC_STACKS].count == 3003, "the stack section counts 3003 stacks");

        /* 50000 more: the stacks section's chunk 32 (records 49152..53247)
         * is listed in the header's extension, and holds what the mapping
         * shows of record 49152. */
        ok = 1;
        for (int i = 0; i < 50000 && ok; i++) {
                void *one = (void *)(uintptr_t)(0x800000 + i);
                ok = lt_stack_intern(&one, 1, 0) == (uint32_t)(3004 + i);
        }
        const struct lt_section *ss = &lt_tf.hdr->sections[LT_SEC_STACKS];
        CHECK(ok && ss->count == 53003 && ss->nchunks == 33,
              "53003 stacks in 33 chunks (%llu in %u)", (unsigned long long)ss->count, ss->nchunks);
        uint64_t off32 = lt_chunk_off(lt_tf.hdr, LT_SEC_STACKS, 32);
        struct lt_stack_rec on_disk;
        const struct lt_stack_rec *mapped = lt_tf_rec(LT_SEC_STACKS, 49152);
        CHECK(off32 >= LT_HEADER_SIZE && off32 < lt_tf.hdr->file_size &&
                  pread(lt_tf.fd, &on_disk, sizeof(on_disk), (off_t)off32) == sizeof(on_disk) &&
                  !memcmp(&on_disk, mapped, sizeof(on_disk)) && mapped->depth == 1 &&
                  *(uint64_t *)lt_tf_rec(LT_SEC_FRAMES, mapped->frames) == 0x800000 + 49152 - 3003,
              "chunk 32 of the stacks, at offset %llu in the extension's slot, holds stack 49153",
              (unsigned long long)off32);

        struct stat st;
        CHECK(stat(lt_tf.path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is mode 0600");
        CHECK((uint64_t)st.st_size == lt_tf.hdr->file_size, "the header's file_size is the file's size");
        CHECK(lt_tf.hdr->sections[LT_SEC_MODULES].count > 0, "the module map lists the loaded objects");
        unlink(lt_tf.path);
}

int main(void)
{
        char dir[] = "/tmp/lt-unit-XXXXXX";
        if (!mkdtemp(dir))
                return 2;
        test_chunks();
        test_live();
        test_live_limit();
        test_live_limit_threads();
        test_stacks(dir);
        rmdir(dir);
        return tap_done();
}
