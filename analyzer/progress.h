/* Progress of long work, for people at a terminal: one line on stderr,
 * redrawn in place at most ten times a second and cleared at the end.
 * Nothing at all when stderr is not a terminal, when TERM is dumb, or
 * under CI (CI set, and not 0 or false), so that logs and pipes stay
 * clean. */
#ifndef LT_PROGRESS_H
#define LT_PROGRESS_H

#include <stdint.h>

/* A trace with this many stacks or more is large enough to show progress
 * while they are symbolized (about a millisecond a stack when libraries
 * are loaded for the first ones). */
#define LT_PROGRESS_MIN_STACKS 1000

struct lt_progress {
        int on;
        const char *what; /* "PATH: symbolizing stack" */
        uint64_t total;
        uint64_t drawn_ms; /* when it was last drawn */
};

/* Whether progress and the hints meant for people go to stderr. */
int lt_progress_wanted(void);

/* Starts P for TOTAL steps of WHAT (kept, not copied), drawn only when
 * lt_progress_wanted(). */
void lt_progress_start(struct lt_progress *p, const char *what, uint64_t total);

/* DONE steps of the total are done. */
void lt_progress_update(struct lt_progress *p, uint64_t done);

/* Clears the line. */
void lt_progress_end(struct lt_progress *p);

#endif
