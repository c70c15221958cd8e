/* What one address in one ELF module is: its function, source file and
 * line, and the functions inlined there, from the module's symbol table
 * and DWARF through libdw. */
#ifndef LT_ADDRINFO_H
#define LT_ADDRINFO_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

/* One frame as shown. An address inside inlined code gives several: the
 * inlined functions innermost first, marked inlined, then the function they
 * were inlined into. */
struct lt_frame_info {
        const char *function; /* demangled; NULL when unknown */
        const char *file;     /* NULL when unknown */
        unsigned line;        /* 0 when unknown */
        bool inlined;
};

struct lt_addr_info {
        const char *symbol; /* the raw (mangled, unversioned) symbol name, or NULL */
        unsigned nframes;   /* at least 1 */
        struct lt_frame_info *frames;
};

/* The compilation units of a module by address, for when dwfl cannot find
 * them itself. */
struct lt_cu_index;

/* Fills the zeroed INFO with what return address ADDR is in DM (NULL: a
 * module that cannot be read, which gives one frame with nothing known).
 * *CUS caches the module's unit index between calls. Returns 0, or -ENOMEM
 * with INFO holding what lt_addrinfo_clear() releases. */
int lt_addrinfo_fill(Dwfl_Module *dm, struct lt_cu_index **cus, uint64_t addr,
                     struct lt_addr_info *info);

/* Releases what INFO holds. */
void lt_addrinfo_clear(struct lt_addr_info *info);

/* Releases an index; NULL is fine. */
void lt_cu_index_free(struct lt_cu_index *idx);

#endif
