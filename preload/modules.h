/* The module map: every object loaded into the process, recorded in the
 * trace file while it is loaded, so that a report can symbolize its
 * addresses after the process (or the object) is gone. */
#ifndef LT_MODULES_H
#define LT_MODULES_H

#include <stddef.h>
#include <stdint.h>

/* Scans the loaded objects: records new ones, marks the vanished ones
 * unloaded. Returns 0, or -EBUSY when another thread is scanning (that
 * scan will see what this one would have). */
int lt_modules_scan(void);

/* Rescans if anything was loaded or unloaded since the last scan. Cheap
 * enough for every new stack, not for every allocation. */
void lt_modules_refresh(void);

/* mmap of FD at OFF to [lo, lo + len) with PROT_EXEC: if FD is the file of
 * a loaded object, that code is recorded as its alias (LT_MOD_ALIAS), so
 * that frames in it are named as the object's. */
void lt_modules_mapped_exec(uintptr_t lo, size_t len, int fd, uint64_t off);

/* Attach mode: the aliases mapped before the preload came, from
 * /proc/self/maps. */
void lt_modules_find_aliases(void);

/* [addr, addr + len) was unmapped or mapped over: the aliases in it are
 * gone. Cheap when there are none. */
void lt_modules_unmapped(uintptr_t addr, size_t len);

/* Around fork: the scan's lock, taken before every other of the tracer's. */
void lt_modules_lock(void);
/* 1 with the lock taken, 0 when held: every dl_iterate_phdr of the tracer
 * is made under it, so that none runs when a fork copies the loader's lock. */
int lt_modules_trylock(void);
void lt_modules_unlock(void);
void lt_modules_reset_lock(void);

/* Attach mode, before a new trace file: forgets what the last one held. */
void lt_modules_reset(void);

/* The current module generation, for the stacks recorded now. */
uint32_t lt_modules_gen(void);

/* The address range of libleaktrace.so's own code, whose frames are never
 * stored. */
extern uintptr_t lt_self_lo, lt_self_hi;

#endif
