/* The stdio call through which V8 opens its log (node.h): node's fopen64,
 * and fopen for builds that call it by that name; and setenv, through which
 * the JS module says that node is exiting. Anything else passes through
 * with one test. The module also says, around the stacks it captures,
 * that what V8 allocates for them is its own (LEAKTRACE_JS_BUSY). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

/* node's 'exit' event, as the JS module hears it first: it sets
 * LEAKTRACE_JS_EXIT (process.env, which node keeps in the environment
 * with setenv), a call that needs no addon and comes back only when done.
 * What node frees after it, as it tears its heap down at a natural end,
 * is not recorded: see lt_engine_freeze(). */
LT_EXPORT int setenv(const char *name, const char *value, int overwrite)
{
        int (*real)(const char *, const char *, int) = REAL(setenv);
        if (!real) {
                errno = ENOSYS;
                return -1;
        }
        if (lt_unlikely(name && name[0] == 'L')) {
                if (!strcmp(name, "LEAKTRACE_JS_EXIT")) {
                        lt_engine_freeze();
                } else if (!strcmp(name, "LEAKTRACE_JS_BUSY")) {
                        /* Said around each stack the module captures: kept
                         * out of the environment, which it only passes by. */
                        lt_js_busy = value && value[0] == '1';
                        return 0;
                }
        }
        return real(name, value, overwrite);
}
