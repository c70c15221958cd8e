/* Anonymous mappings: memory a program takes with mmap rather than malloc
 * (V8's heap, arenas, page caches). The tracer keeps the anonymous ranges
 * in a sorted table, each either accessible (counted for the site that made
 * it so) or reserved with PROT_NONE (counted for nobody), and follows mmap,
 * mprotect, munmap and mremap over them. */
#ifndef LT_MAPPINGS_H
#define LT_MAPPINGS_H

#include <stddef.h>
#include <stdint.h>

int lt_mappings_init(void);

/* An anonymous mapping [addr, addr + len) was made with prot. A MAP_FIXED
 * one replaced whatever was there. */
void lt_mapping_mapped(uintptr_t addr, size_t len, int prot);

/* [addr, addr + len) was given prot. */
void lt_mapping_protected(uintptr_t addr, size_t len, int prot);

/* [addr, addr + len) was unmapped (also: a file was mapped over it). */
void lt_mapping_unmapped(uintptr_t addr, size_t len);

/* [old, old + old_len) moved to [addr, addr + len). */
void lt_mapping_remapped(uintptr_t old, size_t old_len, uintptr_t addr, size_t len);

/* The history record index kept for each map site (ticker). */
uint32_t *lt_mapping_history_slot(uint32_t site);

/* Bytes of memory the range table holds. */
uint64_t lt_mappings_footprint(void);

/* Attach mode, before a new trace file: forgets every range and site. */
void lt_mappings_reset(void);

void lt_mappings_lock(void);
void lt_mappings_unlock(void);
void lt_mappings_reset_lock(void);

#endif
