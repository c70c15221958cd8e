/* Timers that are still live, per creation site: the OS timers of the trace
 * (timerfd, POSIX timers, itimers, alarm) and, for a node process, the JS
 * timers of the state file node/leaktrace.js left beside it. */
#ifndef LT_TIMER_REPORT_H
#define LT_TIMER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "jsstate.h"
#include "report.h"

/* One creation site: a kind and a stack. */
struct lt_timer_site {
        uint8_t kind;                /* enum lt_timer_kind */
        bool inherited;              /* a timerfd or itimer inherited across exec: no stack */
        bool repeating;              /* one of its live timers repeats */
        bool armed;                  /* one of its live timers is armed (JS timers are) */
        bool node_own;               /* kind js: made by node itself, every frame node's
                                      * (an http server's connection check, every 30 s) */
        int64_t live;                /* timers alive at the end of the trace */
        uint64_t created;            /* timers ever made here */
        uint64_t interval_ns;        /* of its newest live repeating timer; 0 when none repeats */
        double oldest_age_s;         /* age of its oldest live timer; < 0 when unknown */
        struct lt_site stack;        /* OS timers: the frames shown, as for an allocation site */
        const struct lt_js_site *js; /* kind js: the state's entry */
        /* kind js: the frames shown, the application's frame that made the
         * timers first, then the others of its stack, innermost first (the
         * library's that it called, then its callers) */
        const struct lt_js_frame **js_frames;
        unsigned njs_frames;
        /* OS timers: the creation times of its live timers, oldest first
         * (live of them), for the growth summary (growth.h) */
        uint64_t *live_created_ns;
        /* what the aggregation needs on the way */
        uint64_t *hash_key; /* kind, then stack.key */
        uint64_t newest_repeat_ns;
        uint64_t oldest_ns;
        UT_hash_handle hh;
};

struct lt_timers {
        struct lt_timer_site *native; /* OS timer sites, by kind and frames */
        struct lt_timer_site *js;     /* JS sites, one per application frame */
        size_t njs;
        size_t *js_site_of;           /* per entry of the JS state, the index of its site in js */
        struct lt_timer_site **sites; /* the sites with live timers, in report order */
        size_t nsites;
        int64_t live; /* over every site */
        int64_t live_node_own; /* of them, node's own (node_own): not the program's to clear */
        uint64_t created;
        bool has_js; /* a JS state was read */
        struct lt_js_state state;
};

/* Builds rep->timers from rep->trace and its JS state file, if any. A JS
 * state that cannot be used is said in one warning line on stderr and left
 * out. Returns 0, or -ENOMEM. */
int lt_timers_build(struct lt_report *rep);

/* The report's order of timer sites, A before B when < 0: sites that keep
 * repeating timers alive first (the setInterval that nobody clears), then
 * by live timers, then by timers made. 0 when these tie. */
int lt_timer_rank_cmp(bool repeating_a, int64_t live_a, uint64_t created_a, bool repeating_b,
                      int64_t live_b, uint64_t created_b);

/* Releases what lt_timers_build() took; T may be NULL. */
void lt_timers_free(struct lt_timers *t);

/* The kind's name as the reports give it: "timerfd", ..., "js". */
const char *lt_timer_kind_name(unsigned kind);

#endif
