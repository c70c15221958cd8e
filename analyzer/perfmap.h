/* Node's perf map: what V8 wrote about the code it made, one line per piece,
 * "START SIZE name" (hex, no 0x), a later line winning where a range was
 * given again. It names the JS frames of stacks, which no module explains.
 * The file is read once into ranges; a name is read back from it, and
 * parsed, only when a frame needs it. */
#ifndef LT_PERFMAP_H
#define LT_PERFMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

/* A perf map is read up to LT_PERF_MAP_MAX bytes (format.h) and this many
 * ranges, so that a huge or hostile file costs bounded memory (about 60
 * bytes a range while it is read, 48 after). */
#define LT_PERFMAP_MAX_ENTRIES (1u << 22)
/* Longer lines are not V8's: skipped as malformed. */
#define LT_PERFMAP_LINE_MAX 4096

/* What a piece of code is. */
enum lt_code_kind {
        LT_CODE_NATIVE = 0, /* a module's: not from a perf map */
        LT_CODE_JS,         /* a JS function (V8's JS:, Eval:, and older nodes' LazyCompile:,
                             * Function:, Script:) */
        LT_CODE_V8,         /* V8's own: Builtin:, BytecodeHandler:, Stub:, RegExp:, ... */
};

/* How far V8 had compiled a JS function, from the mark before its name. */
#define LT_JS_TIERS(X)                                                                             \
        X(UNKNOWN, NULL, 0)                                                                        \
        X(INTERPRETED, "interpreted", '~')                                                         \
        X(BASELINE, "baseline", '^')                                                               \
        X(MAGLEV, "maglev", '+')                                                                   \
        X(OPTIMIZED, "optimized", '*')

enum lt_js_tier {
#define LT_X_ENUM(K, name, mark) LT_TIER_##K,
        LT_JS_TIERS(LT_X_ENUM)
#undef LT_X_ENUM
};

/* The tier's name, or NULL when unknown. */
const char *lt_js_tier_name(unsigned tier);

/* A perf map name, parsed. */
struct lt_pm_name {
        unsigned kind;  /* LT_CODE_JS or LT_CODE_V8 */
        unsigned tier;  /* enum lt_js_tier; JS only */
        char *function; /* JS: its name, "(anonymous)" when it has none; V8: the whole name */
        char *script;   /* JS: path or URL of its script; NULL when not given */
        unsigned line;  /* JS: 1-based, where the function starts; 0 when not given */
        unsigned column;
};

/* Parses the name NAME[LEN] of a perf map line: "JS:~render /app/x.js:12:5"
 * and the older forms, or V8 code. Returns 0, or -ENOMEM with OUT cleared. */
int lt_pm_name_parse(const char *name, size_t len, struct lt_pm_name *out);
void lt_pm_name_clear(struct lt_pm_name *n);

/* The code at an address. */
struct lt_pm_code {
        struct lt_pm_name name;
        uint32_t js_id; /* JS: the function (name, script, line, column), numbered from 1 in
                         * the order first asked for, the same at every tier; 0 for V8 code */
        uint64_t start, end;
};

struct lt_perfmap;

struct lt_pm_stats {
        uint64_t lines;     /* whole lines read */
        uint64_t malformed; /* of them, not "START SIZE name" */
        bool partial;       /* the last line had no newline: ignored */
        bool cut;           /* the byte or range limit stopped the reading */
};

/* Reads the perf map on FD, which it keeps (and closes in
 * lt_perfmap_free) to read names back from. Returns 0 with *OUT, or
 * -ENOMEM, or -errno of a failed read() (with FD closed). */
int lt_perfmap_read(int fd, struct lt_perfmap **out, struct lt_pm_stats *st);

/* The code whose latest line covers PC. Returns 0 with *OUT (valid until
 * lt_perfmap_free), -ENOENT when no line does (or its name can no longer
 * be read), or -ENOMEM. */
int lt_perfmap_find(struct lt_perfmap *m, uint64_t pc, const struct lt_pm_code **out);

void lt_perfmap_free(struct lt_perfmap *m);

/* The perf map of trace T: the copy beside it when the header has
 * LT_F_PERF_MAP; else (or when the copy is gone) /tmp/perf-<pid>.map if it
 * was last written while T's process ran. What cannot be used is said in
 * one warning line on stderr, once per trace file. NULL when there is none
 * (or on -ENOMEM, said too). */
struct lt_perfmap *lt_perfmap_of_trace(const struct lt_trace *t);

#endif
