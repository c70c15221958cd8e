/* Sites and live timers matched across the processes of one report (the
 * workers of a cluster, the children of child_process.fork): a site is
 * what its shown frames are (function, file and line, or module and
 * offset), whatever the load addresses of each process, so the same leak
 * in several processes is one entry, its figures summed. */
#ifndef LT_ACROSS_H
#define LT_ACROSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "report.h"
#include "timers.h"

/* One allocation or mapping site, over every process that holds memory
 * there. Its frames are shown from the first of those processes. */
struct lt_across_site {
        char *key; /* lt_site_key() */
        unsigned kind;
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
        uint64_t bytes_allocated;
        size_t leak_in;   /* processes that judge it a leak */
        size_t last_leak; /* the last of them, plus one */
        size_t nprocs;
        size_t *procs; /* indexes into the report's processes, in their order */
        struct lt_report *rep;
        const struct lt_site *site;
        UT_hash_handle hh;
};

/* One timer creation site with live timers, over every process. */
struct lt_across_timer {
        char *key;
        unsigned kind;
        bool repeating;
        int64_t live;
        uint64_t created;
        uint64_t interval_ns; /* of the process site with the most live repeating timers */
        int64_t repeat_live;
        size_t nprocs;
        size_t *procs;
        struct lt_report *rep;
        const struct lt_timer_site *site;
        UT_hash_handle hh;
};

struct lt_across {
        struct lt_report *const *reports;
        size_t nreports;
        struct lt_across_site *site_hash;
        struct lt_across_site **sites; /* leaks first, then by live bytes */
        size_t nsites;
        struct lt_across_timer *timer_hash;
        struct lt_across_timer **timers; /* repeating first, then by live, then by created */
        size_t ntimers;
};

/* Matches the shown sites and live timer sites of the N REPORTS, which
 * must outlive *A, in the order of the single-process report. Returns 0,
 * or -ENOMEM with *a zeroed. */
int lt_across_build(struct lt_across *a, struct lt_report *const *reports, size_t n);

/* Releases what lt_across_build() took; *a may be zeroed. */
void lt_across_free(struct lt_across *a);

/* What site S of R is, whatever the process: its kind, then each shown
 * frame's function, file and line (without LINES, function and file: the
 * same code edited elsewhere), or function alone, or module and offset,
 * or address, as much as is known. Malloc'd; NULL on -ENOMEM. */
char *lt_site_key(struct lt_report *r, const struct lt_site *s, bool lines);

#endif
