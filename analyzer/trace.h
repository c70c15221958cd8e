/* A trace file read into memory and validated. Everything the rest of the
 * analyzer touches is a copy whose every offset, count and index was checked
 * against the file, so that later stages never check again. */
#ifndef LT_TRACE_H
#define LT_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrace/format.h"

struct lt_trace {
        char *path;
        struct lt_header hdr;        /* a copy of the file's header */
        struct lt_stack_rec *stacks; /* the published records, one array */
        uint64_t nstacks;
        uint64_t *frames; /* the frames section, one array */
        uint64_t nframes;
        struct lt_module_rec *mods;
        uint64_t nmods;
        struct lt_timer_rec *timers; /* every slot, live or not */
        uint64_t ntimers;
        struct lt_timer_site_rec *timer_sites;
        uint64_t ntimer_sites;
        /* The timeline grid (LT_HIST_COLS columns, or none), the per-site
         * histories, snapshots and their values, and the mapping sites:
         * history.h makes them into series. */
        struct lt_tick_rec *ticks;
        uint64_t nticks;
        struct lt_history_rec *hist;
        uint64_t nhist;
        struct lt_snapshot_rec *snaps;
        uint64_t nsnaps;
        struct lt_snapval_rec *snapvals;
        uint64_t nsnapvals;
        struct lt_map_site_rec *map_sites;
        uint64_t nmap_sites;
        char **argv; /* the command line, split at its NULs */
        unsigned argc;
};

/* Reads PATH whole and validates it. Returns 0 with *t filled, or -errno
 * with *t zeroed and one line (no "leaktrace: PATH: " prefix, no newline)
 * saying what is wrong in why[len]. -ENOMEM too says so in why. */
int lt_trace_load(const char *path, struct lt_trace *t, char *why, size_t len);

/* Releases what lt_trace_load() took; *t may be zeroed or loaded. */
void lt_trace_free(struct lt_trace *t);

/* Reads only the header of PATH, for scanning a directory: returns 0 when
 * it carries the magic, -EINVAL when it does not, or -errno. */
int lt_trace_peek(const char *path, struct lt_header *h);

/* Whether the process said it was done: a clean exit, or an exec that
 * replaced its image. Otherwise the figures are as of its last update. */
static inline int lt_trace_complete(const struct lt_trace *t)
{
        return (t->hdr.flags & (LT_F_COMPLETE | LT_F_EXEC)) != 0;
}

/* Whether the process ended by itself: complete, or exited past the
 * tracer's hooks (its figures then as of its last update). */
static inline int lt_trace_ended(const struct lt_trace *t)
{
        return lt_trace_complete(t) || (t->hdr.flags & LT_F_EXITED);
}

/* Field 22 of /proc/PID/stat (when it started), to tell the process from a
 * later one that got its pid; 0 when it cannot be read. */
unsigned long long lt_start_time_of(pid_t pid);

/* Whether the process of H runs still: its pid, started when it did. */
static inline int lt_still_running(const struct lt_header *h)
{
        return h->proc_start && h->pid && lt_start_time_of((pid_t)h->pid) == h->proc_start;
}

/* How the process of a trace ended, as far as the trace says: one
 * decision, which every report words in its own way. */
enum lt_end {
        LT_END_DETACHED, /* attached, then detached: it ran on */
        LT_END_STATUS, /* exited through the tracer's exit hooks, status known */
        LT_END_EXITED, /* exited through them, status not known */
        LT_END_EXEC, /* its image replaced by exec */
        LT_END_UNSEEN, /* exited past the hooks (exit system call): status
                        * known to `run`, figures as of the last update */
        LT_END_SIGNALED, /* killed by a signal, as `run` saw it */
        LT_END_RUNNING, /* no end yet: the process runs still */
        LT_END_UNCLEAN, /* no end: killed or crashed, unseen */
};
enum lt_end lt_trace_end(const struct lt_header *h);
/* The same in words ("exit status 0", "killed by signal 15 (SIGTERM)",
 * "still running", ...), into BUF. */
const char *lt_ending(const struct lt_header *h, char *buf, size_t len);

/* The name of signal SIG, "SIGTERM", "SIGRTMIN+2", into BUF; "signal 99"
 * for a number no signal has. */
const char *lt_signal_name(int sig, char *buf, size_t len);

#endif
