#define _GNU_SOURCE
#include "node.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "follow.h"
#include "log.h"
#include "options.h"
#include "tracefile.h"

/* The module, found from where this library is: beside it in the build
 * tree, under share/ in an install tree. */
static int find_module(char *out, size_t size)
{
        const char *env = getenv("LEAKTRACE_JS_MODULE");
        if (env && *env) {
                lt_fmt(out, size, "%s", env);
                return access(out, R_OK);
        }
        Dl_info info;
        if (!dladdr((void *)&find_module, &info) || !info.dli_fname)
                return -1;
        char dir[LT_PATH_MAX];
        lt_fmt(dir, sizeof(dir), "%s", info.dli_fname);
        char *slash = strrchr(dir, '/');
        if (!slash)
                return -1;
        *slash = '\0';
        static const char *const where[] = {
                "%s/node/leaktrace.js",
                "%s/../../share/leaktrace/node/leaktrace.js",
                "%s/../share/leaktrace/node/leaktrace.js",
        };
        for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
                lt_fmt(out, size, where[i], dir);
                if (access(out, R_OK) == 0)
                        return 0;
        }
        return -1;
}

void lt_node_setup(void)
{
        const char *js = getenv("LEAKTRACE_JS");
        if (!lt_tf.hdr || !lt_is_node_exe(lt_tf.hdr->exe) || (js && !strcmp(js, "0")))
                return;

        char stem[LT_PATH_MAX];
        size_t n = lt_fmt(stem, sizeof(stem), "%s", lt_tf.path);
        if (n > 3 && !strcmp(stem + n - 3, ".lt"))
                stem[n - 3] = '\0';
        setenv("LEAKTRACE_JS_STATE", stem, 1);

        char module[LT_PATH_MAX];
        if (find_module(module, sizeof(module)) < 0) {
                lt_log("cannot find leaktrace.js (set LEAKTRACE_JS_MODULE): JS timers are not traced");
                return;
        }
        const char *old = getenv("NODE_OPTIONS");
        if (old && strstr(old, module))
                return; /* inherited from a traced parent */
        /* NODE_OPTIONS takes a quoted argument; a path is quoted always. */
        char opts[LT_PATH_MAX * 4];
        size_t len = lt_fmt(opts, sizeof(opts), "--require \"%s\"%s%s", module, old && *old ? " " : "",
                            old ? old : "");
        if (len >= sizeof(opts) - 1) {
                lt_log("NODE_OPTIONS is too long to add leaktrace.js: JS timers are not traced");
                return;
        }
        setenv("NODE_OPTIONS", opts, 1);
}
