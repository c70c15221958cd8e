/* The live-allocation table: which blocks are allocated now, their size and
 * the stack that allocated them. Sharded by address, so that threads
 * allocating and freeing at once rarely meet on a lock. Kept in anonymous
 * memory: the trace file needs only the per-site counters it drives. */
#ifndef LT_LIVE_H
#define LT_LIVE_H

#include <stdint.h>

struct lt_live_entry {
        uintptr_t ptr;   /* 0: empty slot */
        uint64_t size;   /* bytes it counts for: its size, or its weight when sampled */
        uint32_t stack;  /* stack id, 1-based */
        uint32_t blocks; /* blocks it counts for: 1, or its weight when sampled */
        uint32_t tick;   /* the timeline's tick when it was allocated */
        uint32_t pad;
};

/* Prepares the table for at most max entries. Returns 0 or -ENOMEM. */
int lt_live_init(uint64_t max);

/* Enters ptr. Returns 0; or 1 when ptr was in the table already (its
 * free went unseen), with the stale entry in *old; or -ENOSPC when the table
 * is full or cannot grow, with nothing entered. */
int lt_live_insert(const struct lt_live_entry *e, struct lt_live_entry *old);

/* Removes ptr. Returns 1 with its entry in *out, or 0 when it is unknown. */
int lt_live_remove(uintptr_t ptr, struct lt_live_entry *out);

/* Entries now in the table. */
uint64_t lt_live_count(void);

/* Bytes of memory the table itself holds. */
uint64_t lt_live_footprint(void);

/* Attach mode, before a new trace file: forgets every entry. The tables
 * stay mapped, so that a hook still running cannot fault. */
void lt_live_reset(void);

/* fork(): take every shard lock before, release (parent) or reset (child). */
void lt_live_lock_all(void);
void lt_live_unlock_all(void);
void lt_live_reset_locks(void);

#endif
