/* The module map: every object loaded into the process, recorded in the
 * trace file while it is loaded, so that a report can symbolize its
 * addresses after the process (or the object) is gone. */
#ifndef LT_MODULES_H
#define LT_MODULES_H

#include <stdint.h>

/* Scans the loaded objects: records new ones, marks the vanished ones
 * unloaded. Returns 0, or -EBUSY when another thread is scanning (that
 * scan will see what this one would have). */
int lt_modules_scan(void);

/* Rescans if anything was loaded or unloaded since the last scan. Cheap
 * enough for every new stack, not for every allocation. */
void lt_modules_refresh(void);

/* Attach mode, before a new trace file: forgets what the last one held. */
void lt_modules_reset(void);

/* The current module generation, for the stacks recorded now. */
uint32_t lt_modules_gen(void);

/* The address range of libleaktrace.so's own code, whose frames are never
 * stored. */
extern uintptr_t lt_self_lo, lt_self_hi;

#endif
