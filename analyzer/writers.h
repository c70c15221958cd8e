/* Reports written out: text for people, JSON for programs. Both show the
 * TOP biggest live sites of each report (0: all). */
#ifndef LT_WRITERS_H
#define LT_WRITERS_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

/* Writes N reports as text, one after the other. Returns 0, or -ENOMEM
 * (symbolization ran out of memory) or -EIO (OUT failed). */
int lt_write_text(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Writes N reports as one JSON document: the object of one process when N
 * is 1, else {"tool":..,"version":..,"processes":[...]}. Returns as above. */
int lt_write_json(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* The command line of T as a shell would take it back: one line, each
 * argument bare or in single quotes, control bytes as \xNN. */
void lt_write_command(FILE *out, const struct lt_trace *t);

/* Short figures for people: "512 bytes", "1.5 KiB (1572 bytes)". Returns
 * BUF, which holds at least 48 bytes. */
const char *lt_human_bytes(char *buf, size_t len, int64_t bytes);

#endif
