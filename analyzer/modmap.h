/* Which module record explains an address of a stack. Records of one
 * mapping (the same file, build-id and addresses: a library dlclosed and
 * loaded again where it was) are one module, whatever the number of
 * generations it went through, so that a plugin reloaded ten thousand
 * times costs one lookup and one symbol table. */
#ifndef LT_MODMAP_H
#define LT_MODMAP_H

#include <stdint.h>

#include "trace.h"

struct lt_modmap;

/* The map of T's module records; T must outlive it. NULL on -ENOMEM. */
struct lt_modmap *lt_modmap_new(const struct lt_trace *t);

/* Releases the map; NULL is fine. */
void lt_modmap_free(struct lt_modmap *m);

/* The module that explains return address ADDR of a stack first seen in
 * module generation GEN: among the modules whose range holds ADDR, one that
 * was loaded in GEN, else the one loaded nearest to GEN (on a tie the later:
 * a library's constructor allocates before the module map sees it).
 * Returns the index of the first record of that module's mapping, or -1
 * when no module holds ADDR. */
int lt_modmap_find(const struct lt_modmap *m, uint64_t addr, uint32_t gen);

#endif
