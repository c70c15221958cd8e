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

/* Stacks whose shown frames are the same: same addresses, same modules. */
struct lt_site {
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
        uint64_t bytes_allocated;
        bool truncated;      /* one of its stacks was cut at the configured depth */
        unsigned nframes;    /* shown */
        unsigned first_skip; /* inlined wrapper frames of the first address, not shown */
        unsigned nstacks;    /* stack records grouped here */
        uint64_t *key;       /* per shown frame, innermost first: address, module index */
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

/* The frames of stack R that a report shows, tracer and wrapper frames
 * hidden as for an allocation site: per frame, address and module index in
 * KEY (room for LT_MAX_DEPTH pairs), and in *FIRST_SKIP the inlined wrapper
 * frames of the first to leave out. Returns how many, or -ENOMEM. */
int lt_report_shown_frames(struct lt_report *r, const struct lt_stack_rec *st, uint64_t *key,
                           unsigned *first_skip);

/* Shown frame i of a site: its return address, and the module record that
 * explains it (-1 for none). */
static inline uint64_t lt_site_addr(const struct lt_site *s, unsigned i)
{
        return s->key[2 * i];
}

static inline int lt_site_module(const struct lt_site *s, unsigned i)
{
        return (int)(int64_t)s->key[2 * i + 1];
}

#endif
