/* Progress on a terminal (progress.h). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int lt_progress_wanted(void)
{
        const char *ci = getenv("CI"), *term = getenv("TERM");
        if (ci && *ci && strcmp(ci, "0") && strcmp(ci, "false"))
                return 0;
        if (term && !strcmp(term, "dumb"))
                return 0;
        return isatty(STDERR_FILENO);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void lt_progress_start(struct lt_progress *p, const char *what, uint64_t total)
{
        *p = (struct lt_progress){.on = lt_progress_wanted(), .what = what, .total = total};
        if (p->on)
                lt_progress_update(p, 0);
}

void lt_progress_update(struct lt_progress *p, uint64_t done)
{
        if (!p->on)
                return;
        uint64_t t = now_ms();
        if (done && t - p->drawn_ms < 100)
                return;
        p->drawn_ms = t;
        /* \r back to the start of the line, ESC [K erases what was longer. */
        fprintf(stderr, "\r%s %llu/%llu\033[K", p->what, (unsigned long long)done,
                (unsigned long long)p->total);
        fflush(stderr);
}

void lt_progress_end(struct lt_progress *p)
{
        if (p->on)
                fputs("\r\033[K", stderr);
        p->on = 0;
}
