/* The JS timer state that node/leaktrace.js writes beside a node process's
 * trace (leaktrace.<pid>.lt -> leaktrace.<pid>.js.json), read with jansson
 * and checked field by field: timers per creation site, with their JS
 * frames. The module's own format, not ours: see node/leaktrace.js. */
#ifndef LT_JSSTATE_H
#define LT_JSSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A JS frame; a line or column of 0 is unknown. */
struct lt_js_frame {
        char *function; /* NULL when unknown */
        char *file;
        unsigned line;
        unsigned column;
        /* Mapped by the script's source map (lt_js_map_sources): the
         * position node gave; else NULL and 0. */
        char *gen_file;
        unsigned gen_line, gen_column;
};

/* One entry of the state: the timers of one site. An entry the module
 * marks inherited holds timers re-armed from inside the callbacks of a
 * timer made at `at` (jsdom's window.setInterval): `at` is that root. */
struct lt_js_site {
        struct lt_js_frame at; /* the application's frame that made them */
        uint64_t live;
        uint64_t created;
        bool repeating;             /* one of the live ones repeats */
        double interval_ms;         /* of the repeating ones, else the last delay */
        double oldest_ms;           /* creation time of the oldest live one; < 0 for none */
        struct lt_js_frame *frames; /* innermost first */
        unsigned nframes;
        /* Frames after `at` in its own script that the module told this
         * site's callers apart by (a script with a source map; 0 else). */
        unsigned callers;
};

/* A site's live timers at one point of the timeline. */
struct lt_js_site_live {
        uint32_t site; /* index in sites */
        uint64_t live; /* > 0 */
};

/* One point of the module's timeline: taken at a tick, in the order taken
 * (thinned over long runs). The sites listed are the module's top ones by
 * live timers at that point; when their counts add up to timers_live,
 * every site not listed had none. */
struct lt_js_point {
        double time_ms; /* Date.now(): epoch milliseconds, the trace's clock */
        uint64_t timers_live;
        uint64_t heap_used;  /* v8.getHeapStatistics().used_heap_size */
        uint64_t heap_total; /* total_heap_size */
        uint64_t external;   /* external_memory, or process.memoryUsage().external */
        uint64_t array_buffers;
        uint64_t rss;
        const struct lt_js_site_live *live; /* into the state's site_live */
        unsigned nlive;
};

struct lt_js_state {
        uint32_t pid;
        double time_ms; /* when the module wrote it */
        double following_since_ms; /* when it began to follow timers; 0: not said */
        bool complete;  /* written at exit */
        struct lt_js_site *sites;
        size_t nsites;
        uint64_t overflow_live; /* live timers of sites beyond the module's table */
        struct lt_js_point *points;
        size_t npoints;
        struct lt_js_site_live *site_live; /* every point's, one after the other */
        size_t nsite_live;
};

/* The state file beside the trace at TRACE_PATH, malloc'd; NULL when that
 * name does not end in ".lt" or on -ENOMEM. */
char *lt_js_state_path(const char *trace_path);

/* Reads and checks the state file at PATH. Returns 0 with *js filled,
 * -ENOENT when there is none, or another -errno (-EINVAL: not a valid
 * state) with one line in why[len] saying what is wrong; *js is then
 * zeroed. */
int lt_js_load(const char *path, struct lt_js_state *js, char *why, size_t len);

/* Maps every frame of JS through its script's source map (sourcemap.h),
 * for a process whose trace began at BEGAN_NS. A site whose frame `at`
 * the map puts in a package is then the application's frame among the
 * callers that the module told the site's timers apart by: the module
 * chose `at` in a bundle, which holds the application and its packages
 * alike. Returns 0 or -ENOMEM. */
int lt_js_map_sources(struct lt_js_state *js, uint64_t began_ns);

/* Releases what lt_js_load() took; *js may be zeroed or loaded. */
void lt_js_free(struct lt_js_state *js);

#endif
