/* What one address in one ELF module is: its function, source file and
 * line, and the functions inlined there, from the module's symbol table
 * and DWARF through libdw. */
#ifndef LT_ADDRINFO_H
#define LT_ADDRINFO_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

#include "perfmap.h"

/* One frame as shown. An address inside inlined code gives several: the
 * inlined functions innermost first, marked inlined, then the function they
 * were inlined into. */
struct lt_frame_info {
        const char *function; /* demangled; NULL when unknown */
        const char *file;     /* NULL when unknown; a JS frame's script */
        unsigned line;        /* 0 when unknown */
        unsigned column;      /* JS frames: 0 when unknown */
        bool inlined;
        unsigned char code;   /* enum lt_code_kind: native, or from node's perf map */
        unsigned char tier;   /* JS frames: enum lt_js_tier */
        /* A JS frame whose script's source map gave file, line and column
         * (sourcemap.h): the position node gave; else NULL and 0. */
        const char *gen_file;
        unsigned gen_line, gen_column;
};

struct lt_addr_info {
        const char *symbol; /* the raw (mangled, unversioned) symbol name, or NULL */
        unsigned nframes;   /* at least 1 */
        struct lt_frame_info *frames;
};

struct lt_modindex;

/* Fills the zeroed INFO with what return address ADDR is in DM, through
 * its index IX (modindex.h); DM NULL is a module that cannot be read,
 * which gives one frame with nothing known. Returns 0, or -ENOMEM with
 * INFO holding what lt_addrinfo_clear() releases. */
int lt_addrinfo_fill(Dwfl_Module *dm, struct lt_modindex *ix, uint64_t addr,
                     struct lt_addr_info *info);

/* Fills the zeroed INFO with CODE, from node's perf map: one frame, JS or
 * V8 code. Returns 0, or -ENOMEM with INFO holding what lt_addrinfo_clear()
 * releases. */
int lt_addrinfo_fill_code(const struct lt_pm_code *code, struct lt_addr_info *info);

/* Releases what INFO holds. */
void lt_addrinfo_clear(struct lt_addr_info *info);

#endif
