/* From a validated trace to what a report shows: frames that are not the
 * user's hidden, stacks that are then the same grouped into sites, the live
 * sites sorted biggest first, and the process summary. */
#ifndef LT_REPORT_H
#define LT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "symbolize.h"
#include "trace.h"

/* Stacks whose shown frames are the same: same addresses in the same
 * modules, and for JS frames (which no module explains, named by node's
 * perf map) the same JS function: its code moves as V8 compiles it again,
 * a function once interpreted and later optimized is one site. */
struct lt_site {
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
        uint64_t bytes_allocated;
        bool truncated;      /* one of its stacks was cut at the configured depth */
        bool cut_short;      /* one of its stacks ended early (LT_STACK_SHORT) */
        unsigned nframes;    /* shown */
        unsigned first_skip; /* inlined wrapper frames of the first address, not shown */
        unsigned nstacks;    /* stack records grouped here */
        uint64_t *key;       /* see LT_KEY_WORDS */
        unsigned kind;       /* history.h: LT_SITE_ALLOC (0) or LT_SITE_MAPPING */
        struct lt_site_history *hist; /* history.h: series and verdict; NULL if not shown */
        UT_hash_handle hh;
};

struct lt_timers; /* timers.h */
struct lt_growth; /* growth.h */

struct lt_report {
        const struct lt_trace *trace;
        struct lt_symbolizer *sym;
        int64_t live_bytes; /* summed over every stack record */
        int64_t live_blocks;
        uint64_t allocations;
        int64_t frees;
        int64_t peak_live_bytes; /* the header's */
        int64_t js_module_bytes;  /* live in stacks through leaktrace's node module: not */
        int64_t js_module_blocks; /* in any site nor in the totals above (the tracer's own) */
        struct lt_site *all;     /* every site, by key */
        struct lt_site **sites;  /* the live ones, biggest first */
        size_t nsites;
        struct lt_timers *timers;   /* timers.h: OS and JS timers per creation site */
        struct lt_site **site_of;   /* per stack record, the site it went into */
        struct lt_history *history; /* history.h: timeline, mapping sites, verdicts */
        struct lt_growth *growth;   /* growth.h: where memory grew; NULL without a timeline */
};

/* Builds the report of T, which must outlive it. Returns 0, or -ENOMEM with
 * *r zeroed. */
int lt_report_build(struct lt_report *r, const struct lt_trace *t);

/* Releases what lt_report_build() took. */
void lt_report_free(struct lt_report *r);

/* A site's key of N shown frames, innermost first: per frame two words,
 * compared and hashed (LT_KEY_BYTES), then after all the pairs one word per
 * frame that is only shown, the return address of the first stack grouped.
 * A pair is return address and module index (-1: none), or for a JS frame
 * its function's number (lt_sym_js_function) and LT_KEY_JS. */
#define LT_KEY_WORDS(n) (3 * (size_t)(n))
#define LT_KEY_BYTES(n) (2 * (size_t)(n) * sizeof(uint64_t))
#define LT_KEY_JS ((uint64_t)-2)

/* The frames of stack R that a report shows, tracer and wrapper frames
 * hidden as for an allocation site: the site key in KEY (room for
 * LT_KEY_WORDS(LT_MAX_DEPTH) words), and in *FIRST_SKIP the inlined wrapper
 * frames of the first to leave out. Returns how many, or -ENOMEM. */
int lt_report_shown_frames(struct lt_report *r, const struct lt_stack_rec *st, uint64_t *key,
                           unsigned *first_skip);

/* Shown frame i of a site: its return address, and the module record that
 * explains it (-1 for none, JS frames among them). */
static inline uint64_t lt_site_addr(const struct lt_site *s, unsigned i)
{
        return s->key[2 * (size_t)s->nframes + i];
}

static inline int lt_site_module(const struct lt_site *s, unsigned i)
{
        uint64_t m = s->key[2 * i + 1];
        return m == LT_KEY_JS ? -1 : (int)(int64_t)m;
}

#endif
