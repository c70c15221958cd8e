/* Unit tests of the preload's pieces: the chunk arithmetic of the format,
 * the live-allocation table, and stack interning into a real trace file. */
#define _GNU_SOURCE
#include <fcntl.h>
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

static void test_chunks(void)
{
        /* Every index maps to exactly one (chunk, slot), in order, with
         * chunk k holding base << k records. */
        uint32_t base = 4;
        uint64_t expect_k = 0, expect_within = 0;
        int ok = 1;
        for (uint64_t i = 0; i < 4 * 1023; i++) {
                uint64_t within;
                unsigned k = lt_chunk_of(i, base, &within);
                if (k != expect_k || within != expect_within)
                        ok = 0;
                if (++expect_within == ((uint64_t)base << expect_k)) {
                        expect_k++;
                        expect_within = 0;
                }
        }
        CHECK(ok, "lt_chunk_of walks chunks 0..9 of base 4 in order");
        CHECK(lt_chunk_start(3, 4) == 4 + 8 + 16, "lt_chunk_start(3, 4) is 28");
        uint64_t within;
        CHECK(lt_chunk_of(1ull << 40, 1024, &within) == 30, "index 2^40 with base 1024 is in chunk 30");
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
                        if (lt_chunk_of(d->frames, fs->base, &w1) !=
                            lt_chunk_of(d->frames + 59, fs->base, &w2))
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
        CHECK(fs->nchunks >= 3, "the frames section grew to %u chunks", fs->nchunks);
        CHECK(lt_tf.hdr->sections[LT_SEC_STACKS].count == 3003, "the stack section counts 3003 stacks");

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
        test_stacks(dir);
        rmdir(dir);
        return tap_done();
}
