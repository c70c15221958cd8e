/* JS frames: node run with --perf-basic-prof writes /tmp/perf-<pid>.map,
 * which names the code it compiles. The background thread copies it beside
 * the trace file as it grows (format.h gives the name), so that a report
 * names JS frames even after /tmp was cleaned or the process is gone. */
#ifndef LT_PERFMAP_H
#define LT_PERFMAP_H

/* Before node starts (from lt_node_setup): makes room for the map node is
 * about to write. A file left at /tmp/perf-<pid>.map by an earlier process
 * of this pid is removed when it is this user's; another user's (or a link)
 * would make node abort when it opens it. Returns 0, or -errno when node
 * must not be asked for a map. */
int lt_perfmap_prepare(void);

/* Node will write its map: copy it from now on. */
void lt_perfmap_enable(void);

/* Copies what node added to its map since the last call, whole or not:
 * from the background thread at every tick (WAIT 0: skipped when a copy is
 * under way), and at exit and exec (WAIT 1: after the copy under way).
 * Never allocates, never takes another tracer lock. */
void lt_perfmap_copy(int wait);

/* fork(): the lock, taken before and released or reset after. The child
 * copies nothing: node in a forked child goes on writing its parent's map,
 * so the child's trace gets a hard link to the parent's copy instead, made
 * by lt_perfmap_forked() once the child has a file of its own. */
void lt_perfmap_lock(void);
void lt_perfmap_unlock(void);
void lt_perfmap_fork_child(void);
void lt_perfmap_forked(void);

#endif
