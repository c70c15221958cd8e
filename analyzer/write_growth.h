/* The growth summary (growth.h) in the text, JSON and markdown reports. */
#ifndef LT_WRITE_GROWTH_H
#define LT_WRITE_GROWTH_H

#include <stdbool.h>
#include <stdio.h>

#include "report.h"

/* Whether the report leads with the summary: a node process's (its JS
 * state has a timeline), whose growth is mostly where malloc does not see. */
bool lt_growth_leads(const struct lt_report *r);

/* Text: "Where the growth went (20.1 s):", a line per series (but those
 * that were 0 at both ends), a sentence per site that retains (at most
 * TOP; 0: all). Nothing without a timeline. */
void lt_text_growth(FILE *out, struct lt_report *r, unsigned top);

/* JSON: the member ",\"growth\":{...}" (or null) of a process. Returns 0
 * or -ENOMEM. */
int lt_json_growth(FILE *out, struct lt_report *r);

/* Markdown: a table of the series and a sentence per site that retains
 * (at most TOP). Nothing without a timeline. */
void lt_md_growth(FILE *out, struct lt_report *r, unsigned top);

#endif
