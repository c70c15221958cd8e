/* What a report of several processes starts with: one line per process,
 * then the leading sites and live timers across them (across.h), in text,
 * JSON and markdown. Each process's own report follows, as when alone. */
#ifndef LT_WRITE_ACROSS_H
#define LT_WRITE_ACROSS_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

/* Text: the overview of the N processes and the TOP sites and timer sites
 * across them (0: all), ending with an empty line. Returns 0 or -ENOMEM. */
int lt_text_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* JSON: the member ",\"across\":{\"sites\":[...],\"timers\":[...]}" of the
 * report of the N processes. Returns 0 or -ENOMEM. */
int lt_json_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Markdown: a table of the N processes, and tables of the TOP sites and
 * timer sites across them. Returns 0 or -ENOMEM. */
int lt_md_across(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

#endif
