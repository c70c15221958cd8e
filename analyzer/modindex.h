/* Per-module indexes by address, built on first use: the functions of the
 * symbol table, and the compilation units. libdw has both lookups, but
 * dwfl_module_addrinfo() scans every symbol at each call (node has some
 * 200,000: seconds for a report), and dwfl finds units only through
 * .debug_aranges, which clang does not emit. */
#ifndef LT_MODINDEX_H
#define LT_MODINDEX_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

struct lt_modindex;

/* An empty index for module DM, which must outlive it; NULL on -ENOMEM. */
struct lt_modindex *lt_modindex_new(Dwfl_Module *dm);

/* Releases the index; NULL is fine. */
void lt_modindex_free(struct lt_modindex *ix);

/* The function symbol holding PC (a module address): its name as the
 * table has it, valid while the module is, or NULL. *ERR gets -ENOMEM
 * when the index could not be built. */
const char *lt_modindex_symbol(struct lt_modindex *ix, GElf_Addr pc, int *err);

/* The unit holding PC, into *MEM (returned), with the module's DWARF bias
 * in *BIAS; NULL when none. *ERR gets -ENOMEM as above. */
Dwarf_Die *lt_modindex_unit(struct lt_modindex *ix, Dwarf_Addr pc, Dwarf_Addr *bias, Dwarf_Die *mem,
                            int *err);

#endif
