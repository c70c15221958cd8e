/* Paths and file: URLs, lexically: names from another machine (a build's
 * debug information, a source map's sources) are cleaned without asking
 * this one's file system. And files named by a trace, read whole. */
#ifndef LT_PATHS_H
#define LT_PATHS_H

#include <stddef.h>
#include <stdint.h>

/* Absolute PATH without its "." and ".." segments nor doubled slashes, in
 * BUF[LEN]; returns BUF, or PATH itself when it does not fit. */
const char *lt_path_lexical(char *buf, size_t len, const char *path);

/* S[LEN] when it is a local file: URL (no host, or localhost; every
 * escape valid and none a NUL): its path, malloc'd, *IS_URL set. Anything
 * else: a copy as it is, *IS_URL cleared. NULL when out of memory. */
char *lt_file_url_path(const char *s, size_t len, int *is_url);

/* The value of hex digit C, or -1. */
int lt_hex_digit(char c);

/* Does S start with a URL scheme ("webpack:", "https:")? One letter and a
 * colon is not one. */
int lt_has_scheme(const char *s);

/* Reads the regular file PATH whole, NUL-terminated, into a malloc'd
 * *BUF of *LEN bytes, and its modification time into *MTIME_NS (when not
 * NULL). Never waits on a FIFO or a device: what a trace names may be
 * anything. Returns 0, or -errno: -EINVAL when it is not a regular file,
 * -EFBIG when it is over MAX bytes. */
int lt_read_file(const char *path, size_t max, char **buf, size_t *len, int64_t *mtime_ns);

#endif
