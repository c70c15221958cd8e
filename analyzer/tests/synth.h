/* A trace file writer for tests: builds files as format.h describes them,
 * with chosen records, so that the analyzer can be checked against known
 * answers and fed every kind of damage. Not the preload's writer: a second
 * reading of the format, which is the point. */
#ifndef LT_TEST_SYNTH_H
#define LT_TEST_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "leaktrace/format.h"

struct synth {
        struct lt_header hdr; /* hdr.version: LT_VERSION; synth_set_version() changes it */
        struct lt_stack_rec *stacks;
        size_t nstacks;
        uint64_t *frames;
        size_t nframes;
        struct lt_module_rec *mods;
        size_t nmods;
        struct lt_timer_rec *timers;
        size_t ntimers;
        struct lt_timer_site_rec *timer_sites;
        size_t ntimer_sites;
        /* Records of the other sections (timeline, history, snapshots, ...),
         * as synth_set_records() gave them. */
        void *recs[LT_SEC__COUNT];
        size_t nrecs[LT_SEC__COUNT];
        uint32_t base[LT_SEC__COUNT]; /* chunk-0 records; small, so files have many chunks */
        size_t align;                 /* chunk offsets are multiples of this (1: packed) */
};

/* An empty trace of a process that exited cleanly, with the command line
 * ARGC strings at ARGV. */
void synth_init(struct synth *s, uint32_t pid, int argc, const char *const *argv);

/* Releases the records. */
void synth_free(struct synth *s);

/* Appends a module record. Returns its index, or -ENOMEM. */
int synth_add_module(struct synth *s, const struct lt_module_rec *m);

/* Fills M with the running executable, as the preload would: bias, load
 * segments, build-id, /proc/self/exe, LT_MOD_MAIN, loaded in generation 1.
 * Returns 0 or -errno. */
int synth_self_module(struct lt_module_rec *m);

/* Appends a stack record with DEPTH frames, placed as the preload places
 * them (never across a chunk boundary; in the next chunk that holds them
 * when chunks are smaller than DEPTH). Returns its index, or -ENOMEM. */
int synth_add_stack(struct synth *s, const uint64_t *frames, unsigned depth, uint32_t mod_gen,
                    int64_t live_bytes, int64_t live_blocks, uint64_t allocs,
                    uint64_t bytes_allocated);

/* Appends a timer site record (STACK a stack id: index + 1, or 0).
 * Returns its index, or -ENOMEM. */
int synth_add_timer_site(struct synth *s, uint32_t stack, unsigned kind, int64_t live,
                         uint64_t created);

/* Appends a timer record. Returns its index, or -ENOMEM. */
int synth_add_timer(struct synth *s, const struct lt_timer_rec *r);

/* Makes the file one of format VERSION (1 or 2), with the frames of the
 * stacks added so far placed again by its chunk sizes. Returns 0, or
 * -EINVAL for a version that does not exist, or -ENOMEM. */
int synth_set_version(struct synth *s, uint32_t version);

/* Sets the N records of section KIND (one without a field of its own
 * above: timeline, history, snapshots, snapshot values, mapping sites) to
 * a copy of RECS. Returns 0 or -ENOMEM. */
int synth_set_records(struct synth *s, enum lt_section_kind kind, const void *recs, size_t n);

/* Lays the file out: header (of hdr.version's size), then the chunks of
 * every section, interleaved as a growing process would leave them.
 * Returns 0 with *buf (malloc'd) and *len, -E2BIG when a section needs
 * more chunks than the version has, or -ENOMEM. */
int synth_build(struct synth *s, unsigned char **buf, size_t *len);

/* Writes LEN bytes to PATH, replacing it. Returns 0 or -errno. */
int synth_write_file(const char *path, const void *buf, size_t len);

/* synth_build() and synth_write_file(). Returns 0 or -errno. */
int synth_write(struct synth *s, const char *path);

#endif
