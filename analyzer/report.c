/* Aggregation. A stack's leading frames that are the tracer's or an
 * allocator wrapper's are hidden first, so that the first frame shown is
 * the code that asked for memory, and so that the same call reached through
 * different wrappers (or different tracer paths) counts as one site. */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "history.h"
#include "progress.h"
#include "timers.h"

/* Functions that only pass an allocation on: a frame in one of them, at
 * the top of a stack, says nothing about who leaked. Matched against the
 * raw symbol name, so that every mangled variant of operator new (nothrow,
 * align_val_t, sized) is one prefix. */
static const struct {
        const char *name;
        bool prefix;
} wrappers[] = {
    {"_Znw", true}, /* operator new */
    {"_Zna", true}, /* operator new[] */
    {"strdup", false},
    {"strndup", false},
    {"__strdup", false},
    {"__strndup", false},
    {"wcsdup", false},
    /* The allocator itself, where a library wraps or inlines it under
     * its own name: ld.so's malloc is an inline function that calls
     * __rtld_malloc, which the tracer interposes. */
    {"malloc", false},
    {"calloc", false},
    {"realloc", false},
    {"reallocarray", false},
    /* OpenSSL's, which node links in: its own allocations all pass
     * through them. */
    {"CRYPTO_malloc", false},
    {"CRYPTO_zalloc", false},
    {"CRYPTO_realloc", false},
    {"CRYPTO_clear_realloc", false},
    {"CRYPTO_strdup", false},
    {"CRYPTO_strndup", false},
    {"CRYPTO_memdup", false},
};

static bool is_wrapper(const char *sym)
{
        if (!sym)
                return false;
        for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
                size_t n = strlen(wrappers[i].name);
                if (wrappers[i].prefix ? !strncmp(sym, wrappers[i].name, n)
                                       : !strcmp(sym, wrappers[i].name))
                        return true;
        }
        return false;
}

/* Leading inlined frames of the first shown address that are wrappers
 * too, compared by their (demangled) names: how many to leave out. */
static unsigned inline_wrappers(const struct lt_addr_info *info)
{
        unsigned n = 0;
        while (n + 1 < info->nframes && info->frames[n].inlined &&
               is_wrapper(info->frames[n].function))
                n++;
        return n;
}

/* Sums of counters that a corrupt or racing file may make absurd: wrapped,
 * never undefined. */
static int64_t add_i64(int64_t a, int64_t b)
{
        int64_t c;
        __builtin_add_overflow(a, b, &c);
        return c;
}

static int64_t sub_i64(int64_t a, int64_t b)
{
        int64_t c;
        __builtin_sub_overflow(a, b, &c);
        return c;
}

static uint64_t add_u64(uint64_t a, uint64_t b)
{
        return a + b;
}

/* How many leading frames of stack r to hide; never all of them, so that a
 * stack that is nothing but a wrapper still shows where it was seen.
 * Returns the count, or -ENOMEM. */
static int hidden_frames(struct lt_report *rep, const struct lt_stack_rec *r)
{
        if (!r->depth)
                return 0; /* its frames index was never checked (trace.c): not used */
        const uint64_t *frames = rep->trace->frames + r->frames;
        int skip = 0;
        while (skip + 1 < r->depth) {
                uint64_t addr = frames[skip];
                int mod = lt_sym_module(rep->sym, addr, r->mod_gen);
                if (mod >= 0 && (rep->trace->mods[mod].flags & LT_MOD_SELF)) {
                        skip++;
                        continue;
                }
                const struct lt_addr_info *info = lt_sym_lookup(rep->sym, mod, addr, false);
                if (!info)
                        return -ENOMEM;
                if (!is_wrapper(info->symbol))
                        break;
                skip++;
        }
        return skip;
}

/* Is stack r the work of leaktrace's own node module (node/leaktrace.js)?
 * It runs in the traced process, from async_hooks and its own timer: a
 * stack whose innermost JS frames, past node's own, are the module's is
 * its bookkeeping, not the program's. The module wraps process.emit too,
 * so the program's listeners run under one of its frames: a frame of the
 * program's code met first makes the stack the program's. Returns 1, 0
 * or -ENOMEM. */
static int in_js_module(struct lt_report *rep, const struct lt_stack_rec *r)
{
        const uint64_t *frames = r->depth ? rep->trace->frames + r->frames : NULL;
        for (unsigned i = 0; i < r->depth; i++) {
                if (lt_sym_module(rep->sym, frames[i], r->mod_gen) >= 0)
                        continue;
                int owner = lt_sym_js_owner(rep->sym, frames[i]);
                if (owner < 0)
                        return owner;
                if (owner != LT_JS_NOT_APP)
                        return owner == LT_JS_TRACER;
        }
        return 0;
}

static int add_stack(struct lt_report *rep, const struct lt_stack_rec *r, uint64_t *key)
{
        if (r->live_blocks || r->live_bytes) {
                int tracer = in_js_module(rep, r);
                if (tracer < 0)
                        return tracer;
                if (tracer) { /* not the program's: out of its totals too */
                        rep->js_module_bytes = add_i64(rep->js_module_bytes, r->live_bytes);
                        rep->js_module_blocks = add_i64(rep->js_module_blocks, r->live_blocks);
                        rep->live_bytes = sub_i64(rep->live_bytes, r->live_bytes);
                        rep->live_blocks = sub_i64(rep->live_blocks, r->live_blocks);
                        rep->allocations -= r->allocs;
                        return 0;
                }
        }
        unsigned first_skip;
        int shown = lt_report_shown_frames(rep, r, key, &first_skip);
        if (shown < 0)
                return shown;
        unsigned n = (unsigned)shown;
        size_t key_len = LT_KEY_BYTES(n);
        struct lt_site *site;
        HASH_FIND(hh, rep->all, key, key_len, site);
        if (!site) {
                site = calloc(1, sizeof(*site));
                if (!site || !(site->key = malloc((LT_KEY_WORDS(n) + 1) * sizeof(uint64_t)))) {
                        free(site);
                        return -ENOMEM;
                }
                memcpy(site->key, key, LT_KEY_WORDS(n) * sizeof(uint64_t));
                site->nframes = n;
                HASH_ADD_KEYPTR(hh, rep->all, site->key, key_len, site);
        }
        rep->site_of[r - rep->trace->stacks] = site;
        site->live_bytes = add_i64(site->live_bytes, r->live_bytes);
        site->live_blocks = add_i64(site->live_blocks, r->live_blocks);
        site->allocs = add_u64(site->allocs, r->allocs);
        site->bytes_allocated = add_u64(site->bytes_allocated, r->bytes_allocated);
        if (r->flags & LT_STACK_TRUNCATED)
                site->truncated = true;
        if (r->flags & LT_STACK_SHORT)
                site->cut_short = true;
        if (n && !site->nstacks++)
                site->first_skip = first_skip;
        return 0;
}

int lt_report_shown_frames(struct lt_report *rep, const struct lt_stack_rec *r, uint64_t *key,
                           unsigned *first_skip)
{
        int skip = hidden_frames(rep, r);
        if (skip < 0)
                return skip;
        unsigned depth = r->depth - (unsigned)skip;
        const uint64_t *frames = r->depth ? rep->trace->frames + r->frames + skip : NULL;
        /* The tracer's frames further in are left out too: a hook that is
         * no tail call (timer_create's) under the allocation a library
         * made inside it. Their modules first, then the key, whose
         * addresses follow its 2n pairs. */
        int mods[LT_MAX_DEPTH + 1];
        unsigned kept[LT_MAX_DEPTH + 1], n = 0;
        for (unsigned i = 0; i < depth && n < LT_MAX_DEPTH + 1; i++) {
                int mod = lt_sym_module(rep->sym, frames[i], r->mod_gen);
                if (i && mod >= 0 && (rep->trace->mods[mod].flags & LT_MOD_SELF))
                        continue;
                mods[n] = mod;
                kept[n++] = i;
        }
        int first_mod = n ? mods[0] : -1;
        for (unsigned k = 0; k < n; k++) {
                uint64_t a = frames[kept[k]];
                uint32_t js = 0;
                if (mods[k] < 0 && lt_sym_js_function(rep->sym, a, &js) < 0)
                        return -ENOMEM;
                key[2 * k] = js ? js : a;
                key[2 * k + 1] = js ? LT_KEY_JS : (uint64_t)(int64_t)mods[k];
                key[2 * (size_t)n + k] = a;
        }
        *first_skip = 0;
        if (n) {
                const struct lt_addr_info *info =
                    lt_sym_lookup(rep->sym, first_mod, frames[0], false);
                if (!info)
                        return -ENOMEM;
                *first_skip = inline_wrappers(info);
        }
        return (int)n;
}

/* Biggest first: live bytes, then live blocks, then the innermost address,
 * then the rest of the frames, so that the order never depends on hashing. */
static int site_cmp(const void *pa, const void *pb)
{
        const struct lt_site *a = *(struct lt_site *const *)pa, *b = *(struct lt_site *const *)pb;
        if (a->live_bytes != b->live_bytes)
                return a->live_bytes > b->live_bytes ? -1 : 1;
        if (a->live_blocks != b->live_blocks)
                return a->live_blocks > b->live_blocks ? -1 : 1;
        for (unsigned i = 0; i < 2 * a->nframes && i < 2 * b->nframes; i++)
                if (a->key[i] != b->key[i])
                        return a->key[i] < b->key[i] ? -1 : 1;
        return a->nframes < b->nframes ? -1 : a->nframes > b->nframes;
}

int lt_report_build(struct lt_report *rep, const struct lt_trace *t)
{
        memset(rep, 0, sizeof(*rep));
        rep->trace = t;
        /* The preload adds to the process's totals in batches of up to 64 KiB
         * a thread: its peak can trail the exact sum of the sites. */
        rep->peak_live_bytes = t->hdr.totals.peak_live_bytes;
        uint64_t *key = malloc(LT_KEY_WORDS(LT_MAX_DEPTH + 1) * sizeof(uint64_t));
        rep->sym = lt_sym_open(t);
        rep->site_of = calloc(t->nstacks + 1, sizeof(*rep->site_of));
        int err = key && rep->sym && rep->site_of ? 0 : -ENOMEM;
        /* Where a large trace's time goes: each stack's first frames are
         * looked up, and each library loaded at its first frame. */
        struct lt_progress progress = {0};
        char *what = NULL;
        if (t->nstacks >= LT_PROGRESS_MIN_STACKS &&
            asprintf(&what, "leaktrace: %s: symbolizing stack", t->path) >= 0)
                lt_progress_start(&progress, what, t->nstacks);
        for (uint64_t i = 0; i < t->nstacks && !err; i++) {
                const struct lt_stack_rec *r = &t->stacks[i];
                rep->live_bytes = add_i64(rep->live_bytes, r->live_bytes);
                rep->live_blocks = add_i64(rep->live_blocks, r->live_blocks);
                rep->allocations = add_u64(rep->allocations, r->allocs);
                err = add_stack(rep, r, key);
                lt_progress_update(&progress, i + 1);
        }
        lt_progress_end(&progress);
        free(what);
        free(key);
        if (rep->live_bytes > rep->peak_live_bytes)
                rep->peak_live_bytes = rep->live_bytes;
        int64_t frees;
        __builtin_sub_overflow((int64_t)rep->allocations, rep->live_blocks, &frees);
        rep->frees = frees;
        size_t n = 0;
        struct lt_site *s, *tmp;
        if (!err && !(rep->sites = malloc((HASH_COUNT(rep->all) + 1) * sizeof(*rep->sites))))
                err = -ENOMEM;
        if (!err) {
                HASH_ITER(hh, rep->all, s, tmp)
                {
                        if (s->live_blocks > 0 || s->live_bytes > 0)
                                rep->sites[n++] = s;
                }
                qsort(rep->sites, n, sizeof(*rep->sites), site_cmp);
                rep->nsites = n;
        }
        if (!err)
                err = lt_timers_build(rep);
        if (!err)
                err = lt_history_build(rep);
        if (!err)
                err = lt_growth_build(rep);
        if (err)
                lt_report_free(rep);
        return err;
}

void lt_report_free(struct lt_report *rep)
{
        lt_growth_free(rep);
        lt_history_free(rep);
        free(rep->site_of);
        struct lt_site *s, *tmp;
        HASH_ITER(hh, rep->all, s, tmp)
        {
                HASH_DEL(rep->all, s);
                free(s->key);
                free(s);
        }
        free(rep->sites);
        lt_timers_free(rep->timers);
        lt_sym_close(rep->sym);
        memset(rep, 0, sizeof(*rep));
}
