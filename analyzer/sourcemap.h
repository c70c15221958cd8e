/* Source maps (ECMA-426, version 3): the position of a JS frame in the
 * script node ran (tsc's output, a webpack or esbuild bundle) read back to
 * the source it was built from.
 *
 * The map is the one the script names in its last "//# sourceMappingURL="
 * comment: a file (a path relative to the script, or a file: URL) or a
 * data: URL; never fetched from a network, nor guessed from a name beside
 * the script, as node's --enable-source-maps does not either. A script is
 * read from disk the first time a report needs one of its positions, and
 * once per run of the command. A script or map changed after the trace
 * began describes other code than the frames': it is left unmapped, with a
 * warning, unless the mode is LT_SRCMAP_ALWAYS (a trace read on another
 * machine, whose checkout is newer than the run).
 *
 * Everything wrong with a map (unreadable, not JSON, not version 3, a bad
 * mappings string, too big) is said in one warning line per script on
 * stderr, and its positions stay as node gave them. */
#ifndef LT_SOURCEMAP_H
#define LT_SOURCEMAP_H

#include <stddef.h>
#include <stdint.h>

/* A script or map is read up to this size. */
#define LT_SRCMAP_MAX_BYTES (256u << 20)
/* Mappings beyond this many segments make a map too big to use. */
#define LT_SRCMAP_MAX_SEGMENTS (1u << 24)

enum lt_srcmap_mode {
        LT_SRCMAP_AUTO,   /* maps of scripts unchanged since the trace began */
        LT_SRCMAP_OFF,    /* none */
        LT_SRCMAP_ALWAYS, /* every map found */
};
/* The words of --source-maps, in the order of the enum, each followed by a
 * space. */
#define LT_SRCMAP_WORDS "auto off always "

/* The mode: LEAKTRACE_SOURCE_MAPS (one of the words) when the first
 * position is mapped, unless lt_srcmap_set_mode() was called before. */
void lt_srcmap_set_mode(enum lt_srcmap_mode mode);
/* Takes WORD as the mode. Returns 0, or -EINVAL when it is none of the
 * words. */
int lt_srcmap_parse_mode(const char *word, enum lt_srcmap_mode *mode);

/* Reads the source maps that node's module kept beside a trace (PATH:
 * <stem>.maps.json, absent when node had none): those of scripts it
 * compiled from something else than JS on disk (tsx, a require hook that
 * transpiles). Each is the map of its script from then on, whatever the
 * script's file on disk is or says, since it describes the code that ran;
 * but a map already read for the script stays. What is wrong with the
 * file is said in one warning line. Returns 0 or -ENOMEM. */
int lt_srcmap_keep(const char *path);

/* A position in a source; FILE lives until lt_srcmap_release(). */
struct lt_src_pos {
        const char *file; /* the map's name of the source, resolved: a path when local */
        unsigned line;    /* 1-based */
        unsigned column;  /* 1-based */
};

/* Maps LINE:COLUMN (1-based, as V8 counts) of SCRIPT (a path or a file:
 * URL), run by a process whose trace began at BEGAN_NS (CLOCK_REALTIME;
 * 0: unknown, no script is taken as changed). Returns 1 with *OUT, 0 when
 * the script has no usable map or its map says nothing of that position,
 * or -ENOMEM. */
int lt_srcmap_find(const char *script, unsigned line, unsigned column, uint64_t began_ns,
                   struct lt_src_pos *out);

/* The name FUNCTION had in its source, for the JS function that V8 places
 * at LINE:COLUMN of SCRIPT (as lt_srcmap_find(): its parameters): the map's
 * name for the identifier FUNCTION right before them, when the map gives
 * one (a minifier's "t" was "openSession"). NULL when it gives none; else
 * valid until lt_srcmap_release(). */
const char *lt_srcmap_function(const char *script, unsigned line, unsigned column,
                               const char *function, uint64_t began_ns);

/* Maps *FILE:*LINE:*COLUMN in place as lt_srcmap_find() does, the
 * malloc'd *FILE then replaced by a malloc'd copy of the source's name;
 * the position node gave goes to *GEN_FILE (which takes the old *FILE),
 * *GEN_LINE and *GEN_COLUMN. Returns 1, 0 (nothing changed), or -ENOMEM
 * (nothing changed). */
int lt_srcmap_apply(char **file, unsigned *line, unsigned *column, char **gen_file,
                    unsigned *gen_line, unsigned *gen_column, uint64_t began_ns);

/* The text of source FILE (a name lt_srcmap_find() gave) as a map read so
 * far carries it (sourcesContent): what was built, which the file on disk
 * may no longer be, or the only copy (webpack://...). NULL when none does;
 * else its length in *LEN, NUL-terminated, valid until lt_srcmap_release(). */
const char *lt_srcmap_content(const char *file, size_t *len);

/* Releases every map read; the names lt_srcmap_find() gave are gone. */
void lt_srcmap_release(void);

#endif
