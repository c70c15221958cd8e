/* Addresses to functions, files and lines, with elfutils' libdw, offline:
 * from the module records of a trace, never from a live process; and the
 * addresses no module explains by node's perf map (perfmap.h), when the
 * trace has one: JS functions and V8's code. */
#ifndef LT_SYMBOLIZE_H
#define LT_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "addrinfo.h"
#include "trace.h"

struct lt_symbolizer;

/* A symbolizer for the modules of T, which must outlive it. Returns NULL
 * only on -ENOMEM. */
struct lt_symbolizer *lt_sym_open(const struct lt_trace *t);

/* Releases the symbolizer and every answer it gave. */
void lt_sym_close(struct lt_symbolizer *s);

/* The module that explains return address ADDR of a stack recorded in
 * module generation GEN: the index of a module record (the first of its
 * mapping, see modmap.h), or -1 when none does. */
int lt_sym_module(const struct lt_symbolizer *s, uint64_t addr, uint32_t gen);

/* What the return address ADDR in module MOD (an index from lt_sym_module,
 * or -1) is. Answers are cached and live until lt_sym_close(). When SHOWN
 * (the frame is going into a report), a module whose file cannot be used
 * is said on stderr, once. Returns NULL only on -ENOMEM. */
const struct lt_addr_info *lt_sym_lookup(struct lt_symbolizer *s, int mod, uint64_t addr,
                                         bool shown);

/* The JS function that return address ADDR, which no module explains, is
 * in, by node's perf map: its number (perfmap.h: the same at every tier
 * of its code) in *ID, or 0 when it is not JS code. Returns 0 or -ENOMEM. */
int lt_sym_js_function(struct lt_symbolizer *s, uint64_t addr, uint32_t *id);

/* Whose JS code return address ADDR is in, by node's perf map. */
enum {
        LT_JS_NOT_APP, /* none (native code, V8's), or node's own (node:...) */
        LT_JS_TRACER,  /* leaktrace's node module: a script whose path ends in node/leaktrace.js */
        LT_JS_APP,     /* any other script: the application's, its packages' */
};
/* Returns one of the above, or -ENOMEM. */
int lt_sym_js_owner(struct lt_symbolizer *s, uint64_t addr);

#endif
