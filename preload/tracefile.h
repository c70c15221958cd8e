/* The trace file of this process: created at start, grown chunk by chunk,
 * written through a shared mapping so that what is recorded survives the
 * process. See include/leaktrace/format.h for the layout. */
#ifndef LT_TRACEFILE_H
#define LT_TRACEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "leaktrace/format.h"
#include "lock.h"

struct lt_tf {
        struct lt_header *hdr; /* NULL when not recording */
        int fd;
        struct lt_lock grow_lock;
        unsigned char *chunk[LT_SEC__COUNT][LT_MAX_CHUNKS];
        char path[LT_PATH_MAX];
};

extern LT_HIDDEN struct lt_tf lt_tf;

/* Set in the tracer's own thread: it never opens the trace file again when
 * the program took its descriptor. An open() there takes the lowest free
 * number at a moment the program does not expect (its dup2 onto that
 * number fails with EBUSY; its next open gets the one after); the
 * program's own threads open it again, at their next allocation. Growing
 * the file there meanwhile fails with -EAGAIN, neither counted nor said. */
extern LT_TLS int lt_tf_tracer_thread;

/* Creates the trace file in lt_opt.dir and maps it. Returns 0, or -errno
 * after saying on stderr why the process runs untraced. */
int lt_tf_open(void);

/* Makes records [0, n) of a section exist, allocating chunks as needed.
 * Returns 0, or -ENOSPC when the file cannot grow (counted as FILE_FULL,
 * said once). Takes grow_lock: never call with it held. */
int lt_tf_reserve(enum lt_section_kind kind, uint64_t n);

/* Record i of a section, which lt_tf_reserve() has made exist. */
static inline void *lt_tf_rec(enum lt_section_kind kind, uint64_t i)
{
        const struct lt_section *s = &lt_tf.hdr->sections[kind];
        uint64_t within;
        unsigned k = lt_chunk_of(i, s->base, LT_CHUNK_LG, &within);
        return lt_tf.chunk[kind][k] + within * s->rec_size;
}

/* Records a section's chunks can hold without growing. */
uint64_t lt_tf_capacity(enum lt_section_kind kind);

/* Counts a record that could not be kept. */
void lt_tf_drop(enum lt_drop_kind kind, uint64_t n);

/* Attach mode, after a detach, before the next file: unmaps the file and
 * closes it. Nothing may record meanwhile. */
void lt_tf_close(void);

/* "LEAKTRACE_DIR=" and the trace directory as an absolute path, for the
 * environment of an image exec'd after a chdir; NULL before lt_tf_open()
 * found the directory. */
const char *lt_tf_dir_env(void);

/* Marks the file complete (clean exit). */
void lt_tf_finish(void);

/* fork(), with every tracer lock held: the parent copies the file's pages
 * (prepare) and lets the copy go (parent); the child puts the copy in place
 * of its mappings of the parent's file, so that nothing it does reaches the
 * parent's file (child: returns 0, or -errno with recording to be turned
 * off). Async-signal-safe calls only. */
void lt_tf_fork_prepare(void);
void lt_tf_fork_parent(void);
int lt_tf_fork_child(void);
/* A fork child that records nothing: lets go of its parent's file. */
void lt_tf_fork_forget(void);

/* In a forked child, before it records anything: gives it a file of its
 * own, a copy of its private pages, mapped where they are. Returns 0, or
 * -errno with recording to be turned off. */
int lt_tf_materialize(void);

uint64_t lt_now_ns(void);

/* The header's command line made what /proc/self/cmdline (open as FD, the
 * tracer's own: see fds.h) says now, when it changed: a title the process
 * gave itself (nginx's "worker process", set after the fork whose copy of
 * the file had the master's). */
void lt_tf_refresh_cmdline(int fd);

/* The path of a file beside the trace: its path with ".lt" replaced by
 * SUFFIX ("" gives the stem). Returns the length, or 0 when it does not fit
 * in SIZE bytes. */
size_t lt_tf_sibling(char *out, size_t size, const char *suffix);

#endif
