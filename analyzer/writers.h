/* Reports written out: text for people, JSON for programs. Both show the
 * TOP biggest live sites of each report (0: all). */
#ifndef LT_WRITERS_H
#define LT_WRITERS_H

#include <stddef.h>
#include <stdio.h>

#include "output.h"
#include "report.h"

struct lt_timer_site; /* timers.h */

/* Writes N reports as text, one after the other, after what is the same
 * across them when N > 1 (write_across.h). Returns 0, or -ENOMEM
 * (symbolization ran out of memory) or -EIO (OUT failed). */
int lt_write_text(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Writes N reports as one JSON document: the object of one process when N
 * is 1, else {"tool":..,"version":..,"processes":[...],"across":{...}}.
 * Returns as above. */
int lt_write_json(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Writes N reports as markdown for a code review: per process a summary,
 * a table of the TOP sites, each one's stack with its source lines.
 * Returns as above. */
int lt_write_markdown(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Writes every live site of N reports as a folded stack ("outer;...;inner
 * BYTES"), for flamegraph.pl and speedscope. Returns as above. */
int lt_write_collapsed(FILE *out, struct lt_report *const *reports, size_t n);

/* Writes a flame graph of the live bytes of N reports as one SVG. Returns
 * as above. */
int lt_write_flame_svg(FILE *out, struct lt_report *const *reports, size_t n);

/* Writes N reports as one self-contained HTML page to explore in a browser:
 * the JSON report of the TOP sites of each (as lt_write_json writes it) as
 * the page's data, with the source lines around the frames it shows where
 * their files are readable. Returns as above. */
int lt_write_html(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* Writes every live site of N reports in speedscope's file format: per
 * process a sampled profile of live bytes and one of live blocks, the
 * frames in one shared table. Returns as above. */
int lt_write_speedscope(FILE *out, struct lt_report *const *reports, size_t n);

/* Writes N reports as one SARIF 2.1.0 log: a result per site judged a
 * leak (per live site when a process's history is too short to judge)
 * and per timer site with live repeating timers or several live ones,
 * among the TOP first of each (0: all). Returns as above. */
int lt_write_sarif(FILE *out, struct lt_report *const *reports, size_t n, unsigned top);

/* What a drop counter (enum lt_drop_kind) counts, for people. */
const char *lt_drop_text(int kind);
/* What the count of a drop counts ("allocations not recorded"). */
const char *lt_drop_what(int kind);

/* One frame of a site as the reports show it: an address explained by
 * the symbolizer, inline frames each one of their own. */
struct lt_shown_frame {
        const struct lt_frame_info *info; /* the symbolizer's: lives as long as the report */
        int mod;                          /* the module record explaining it, or -1 */
        uint64_t addr;                    /* its return address */
};

/* The frames of site S, innermost first, the inlined wrappers of its first
 * address left out. Returns 0 with *FRAMES (free()) and *N, or -ENOMEM. */
int lt_site_frames(struct lt_report *r, const struct lt_site *s, struct lt_shown_frame **frames,
                   unsigned *n);

/* The user's own code: a frame with a file and line (an absolute path or a
 * URI) that is not in a system library or header, not node's own JS nor
 * leaktrace's JS module, and not a package's (node_modules). code is the
 * frame's LT_CODE_*, module the path of the object it is in, or NULL;
 * gen_file, of a JS frame that a source map placed, the script node ran:
 * a package's too when that is under node_modules (a package that ships
 * its map names its sources webpack://pkg/./src/...). */
bool lt_frame_is_users(const char *file, unsigned line, const char *module, int code,
                       const char *gen_file);

/* The frames of site S, outermost first, as names fit for a folded stack
 * (no ';', no control character): callers by function, the innermost by
 * function, file and line, unknown ones as module+offset; a mapping site
 * ends with "[anonymous mapping]", a stack whose outer frames were not
 * recorded starts with lt_site_cut_root(). Returns 0 with *NAMES (free
 * with lt_names_free) and *N, or -ENOMEM. */
int lt_site_names(struct lt_report *r, const struct lt_site *s, char ***names, unsigned *n);
void lt_names_free(char **names, unsigned n);
/* The frame a flame graph roots site S at when its outer frames were not
 * recorded ("[outer frames cut at LEAKTRACE_DEPTH]"), or NULL. */
const char *lt_site_cut_root(const struct lt_site *s);

/* Markdown escaping: S as text (every character markdown could read as
 * syntax backslash-escaped), or as a code span (a fence longer than any
 * backtick run inside; in a table cell, '|' as "\|"). Both keep the output
 * valid UTF-8 on one line. */
void lt_md_text(FILE *out, const char *s);
void lt_md_code(FILE *out, const char *s, int in_table);

/* The frames of site S as the text report shows them (lines "  #N ..."),
 * or as the JSON report's "frames":[...] member. Return 0 or -ENOMEM. */
int lt_write_text_frames(FILE *out, struct lt_report *r, const struct lt_site *s);
int lt_write_json_frames(FILE *out, struct lt_report *r, const struct lt_site *s);

/* The JS frames of timer site S (kind js) as the text report shows them,
 * or as the JSON report's "frames":[...] member. */
void lt_write_text_js_frames(FILE *out, const struct lt_timer_site *s);
void lt_write_json_js_frames(FILE *out, const struct lt_timer_site *s);

/* The "frames":[...] member of timer site S (timers.h): an OS timer's as
 * an allocation site's, a JS timer's as function, file, line and column.
 * Returns 0 or -ENOMEM. */
int lt_write_json_timer_frames(FILE *out, struct lt_report *r, const struct lt_timer_site *s);

/* The command line of T as a shell would take it back: one line, each
 * argument bare or in single quotes, control bytes as \xNN. */
void lt_write_command(FILE *out, const struct lt_trace *t);

/* A file of `leaktrace attach`: what its figures cover, one sentence (no
 * newline) after LEAD: when it was attached, that blocks allocated before
 * are unknown, and for node that its JS timers were not followed. Writes
 * nothing for other files. */
void lt_write_attach_note(FILE *out, const struct lt_trace *t, const char *lead);

/* Short figures for people: "512 bytes", "1.5 KiB (1572 bytes)". Returns
 * BUF, which holds at least 48 bytes. */
const char *lt_human_bytes(char *buf, size_t len, int64_t bytes);

#endif
