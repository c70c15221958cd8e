/* The stdio call through which V8 opens its log (node.h): node's fopen64,
 * and fopen for builds that call it by that name. Anything else passes
 * through with one test. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include "engine.h"
#include "node.h"
#include "real.h"

#define REAL(name) (lt_likely(lt_real.name != NULL) || lt_real_init() == 0 ? lt_real.name : NULL)

/* The log in an unnamed temporary file: V8 wants a regular file, and
 * writes to stdout when it gets none. When even that cannot be had, V8
 * gets what it asked for. */
static FILE *v8_log(FILE *(*real)(const char *, const char *), const char *path, const char *mode)
{
        int saved = errno;
        FILE *f = tmpfile();
        errno = saved;
        return f ? f : real(path, mode);
}

/* Both names: the log when it is V8's, else the real call. */
static FILE *open_stream(FILE *(*real)(const char *, const char *), const char *path,
                         const char *mode)
{
        if (!real) {
                errno = ENOSYS;
                return NULL;
        }
        if (lt_unlikely(lt_node_v8_log) && lt_node_is_v8_log(path, mode))
                return v8_log(real, path, mode);
        return real(path, mode);
}

LT_EXPORT FILE *fopen(const char *path, const char *mode)
{
        return open_stream(REAL(fopen), path, mode);
}

LT_EXPORT FILE *fopen64(const char *path, const char *mode)
{
        return open_stream(REAL(fopen64), path, mode);
}
