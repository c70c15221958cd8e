/* Places: a report's sites grouped by what their memory is charged to
 * (lt_site_charge), and judged together.
 *
 * One line of JS is many stacks: V8 reaches it through other builtins as
 * it compiles the function again (interpreted, baseline, optimized), and
 * inlines frames away. A leak at that line is then a few sites, each of
 * which stops growing when its code is replaced, and which, judged apart,
 * look like caches that filled. Summed, their series is the leak's. A
 * place is the sites of one kind (allocations or mappings) charged to one
 * frame of the user's code; or, charged to none (the runtime's own, the
 * heap's), that allocate from one innermost function. */
#ifndef LT_PLACES_H
#define LT_PLACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "verdict.h"

struct lt_place {
        char where[512];        /* "file:line (function)": the user's frame, or the innermost */
        bool users;             /* charged to a frame of the user's code */
        bool heap;              /* V8's heap at work (write_history.h) */
        unsigned kind;          /* history.h: LT_SITE_ALLOC or LT_SITE_MAPPING */
        struct lt_site **sites; /* biggest first, as in the report */
        size_t nsites;
        int64_t live_bytes, live_blocks;
        int64_t *bytes; /* the sites' series summed, at each point of the timeline */
        struct lt_verdict verdict;
};

struct lt_places {
        struct lt_place *v; /* leaks first, then by live bytes */
        size_t n;
        bool any_users; /* one place at least is the user's code, or a node process */
};

/* Groups the shown sites of R (its history built) into *P. Returns 0, or
 * -ENOMEM with *p empty. */
int lt_places_build(struct lt_report *r, struct lt_places *p);

void lt_places_free(struct lt_places *p);

#endif
