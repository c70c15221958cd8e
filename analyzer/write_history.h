/* What the verdicts and histories add to the text and JSON reports, and the
 * short figures that the other formats (markdown, check, diff) share. */
#ifndef LT_WRITE_HISTORY_H
#define LT_WRITE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "history.h"
#include "report.h"

/* JSON: the members a verdict V of R's history makes (",\"verdict\":...,
 * \"points\":N"), for a site or a place. */
void lt_json_verdict(FILE *out, const struct lt_report *r, const struct lt_verdict *v);

/* JSON: the members a site gains (",\"kind\":..., \"history\":[...]"),
 * written after its frames. */
void lt_json_site_history(FILE *out, const struct lt_report *r, const struct lt_site *s);

/* JSON: the members a process gains (",\"timeline\":[...],\"snapshots\":[...],
 * \"verdicts\":{...}"), written after its other members. */
void lt_json_process_history(FILE *out, const struct lt_report *r);

/* Text: the verdicts line under the process's summary ("verdicts: 1 site
 * leaks, ..."), with what makes them estimates or too short to tell. */
int lt_text_verdicts(FILE *out, struct lt_report *r); /* 0, or -ENOMEM */

/* Text: what starts a site's line after "#N: " ("leak, +1.2 KiB/min, ...: "),
 * or nothing when the process's history is too short to judge any site. */
void lt_text_site_verdict(FILE *out, const struct lt_report *r, const struct lt_site *s);

/* Text: the line under a site's that says why ("  why: grew ..."), or
 * nothing, as above. */
void lt_text_site_why(FILE *out, const struct lt_report *r, const struct lt_site *s);

/* Whether the process's history has enough points for any verdict. */
int lt_history_judged(const struct lt_report *r);

/* "+1.2 KiB/min", "-300 bytes/min", "0 bytes/min"; "?" for NAN. */
const char *lt_rate_str(char *buf, size_t len, double per_s);

/* "+48 bytes", "-1.5 KiB": a signed short figure. */
const char *lt_signed_bytes(char *buf, size_t len, double bytes);

/* What a site's memory is charged to: the first frame of the user's code
 * (users), unless the frames of V8 at its own work (its heap's pages, its
 * collectors, its compilers) come before it (heap: V8's, whatever JS code
 * made it grow or was compiled); and its innermost shown frame. Strings
 * are the symbolizer's. */
struct lt_charge {
        bool users, heap;
        const char *file, *function; /* the user's frame */
        unsigned line;
        const char *inner;   /* the innermost frame's function, or NULL */
        uint64_t inner_addr; /* and its address, module record (-1: none) */
        int inner_mod;
};

/* Fills *C for site S. Returns 0 or -ENOMEM. */
int lt_site_charge(struct lt_report *r, const struct lt_site *s, struct lt_charge *c);

/* Where a site allocated, for one line: the user's frame as
 * lt_site_charge() finds it, else the first shown frame's
 * "file:line (function)", or what of it is known, else its address.
 * Returns BUF; -ENOMEM makes "?". */
const char *lt_site_where(char *buf, size_t len, struct lt_report *r, const struct lt_site *s);

/* lt_site_where() for C, found by lt_site_charge() already. */
const char *lt_charged_where(char *buf, size_t len, struct lt_report *r, const struct lt_site *s,
                             const struct lt_charge *c);

/* Where the timers of S were made, for one line: the JS frame that made
 * them ("file:line:column (function)", the file by its base name with
 * BASE), the site of an OS timer as lt_site_where() says it, or
 * "(inherited across exec)". Returns BUF. */
struct lt_timer_site;
const char *lt_timer_where(char *buf, size_t len, struct lt_report *r,
                           const struct lt_timer_site *s, bool base);

/* "allocation" or "mapping". */
const char *lt_site_kind_name(const struct lt_site *s);

#endif
