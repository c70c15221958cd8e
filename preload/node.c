#define _GNU_SOURCE
#include "node.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "follow.h"
#include "log.h"
#include "options.h"
#include "perfmap.h"
#include "tracefile.h"

/* Where an install puts the module, relative to this library's directory:
 * the build defines it from the install layout. */
#ifndef LT_JS_MODULE_RELPATH
#define LT_JS_MODULE_RELPATH "../../share/leaktrace/node/leaktrace.js"
#endif

/* The module, found from where this library is, so that a build tree and
 * an install tree work wherever they are: beside it (node/) in the build
 * tree, at LT_JS_MODULE_RELPATH in an install tree. */
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
                "%s/" LT_JS_MODULE_RELPATH,
        };
        for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
                lt_fmt(out, size, where[i], dir);
                if (access(out, R_OK) == 0)
                        return 0;
        }
        return -1;
}

int lt_node_v8_log;

int lt_node_is_v8_log(const char *path, const char *mode)
{
        if (!path || !mode || mode[0] != 'w')
                return 0;
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        return !strcmp(base, "v8.log") ||
               (!strncmp(base, "isolate-0x", 10) && n > 17 && !strcmp(base + n - 7, "-v8.log"));
}

/* Whether WORD (LEN bytes) is a V8 option that wants V8's log: --log...,
 * --prof..., --ll-prof, --perf-prof..., --gdbjit, '_' for '-' alike. */
static int wants_v8_log(const char *word, size_t len)
{
        static const char *const opts[] = {"--log", "--prof", "--ll-prof", "--perf-prof", "--gdbjit"};
        for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
                size_t k = strlen(opts[i]), j = 0;
                for (; j < k && j < len; j++)
                        if (word[j] != opts[i][j] && !(word[j] == '_' && opts[i][j] == '-'))
                                break;
                if (j == k)
                        return 1;
        }
        return 0;
}

/* Whether the command line (the header's, NUL-separated) or NODE_OPTIONS
 * asks for V8's log. */
static int log_wanted(const char *node_options)
{
        const struct lt_header *h = lt_tf.hdr;
        for (uint32_t at = 0; at < h->cmdline_len;) {
                size_t n = strnlen(h->cmdline + at, h->cmdline_len - at);
                if (wants_v8_log(h->cmdline + at, n))
                        return 1;
                at += (uint32_t)n + 1;
        }
        for (const char *p = node_options ? node_options : ""; *p;) {
                size_t n = strcspn(p, " ");
                if (wants_v8_log(p, n))
                        return 1;
                p += n;
                p += strspn(p, " ");
        }
        return 0;
}

/* Whether NODE_OPTIONS value OPTS has option OPT, as a word of its own. */
static int has_option(const char *opts, const char *opt)
{
        size_t n = strlen(opt);
        for (const char *p = opts; (p = strstr(p, opt)); p += n)
                if ((p == opts || p[-1] == ' ') && (!p[n] || p[n] == ' ' || p[n] == '='))
                        return 1;
        return 0;
}

/* Appends " OPT" to OUT[SIZE] (LEN used) unless OLD has it. Returns the new
 * length, SIZE when it does not fit. */
static size_t add_option(char *out, size_t size, size_t len, const char *old, const char *opt)
{
        if (len >= size || (old && has_option(old, opt)))
                return len;
        size_t n = lt_fmt(out + len, size - len, "%s%s", len ? " " : "", opt);
        return len + n + 1 >= size ? size : len + n;
}

/* Appends the words of OLD to OUT[SIZE] (LEN used), but those that would
 * have node write its perf map. A quoted word ("--require \"a b\"") is one.
 * Returns the new length, SIZE when it does not fit. */
static size_t add_without_maps(char *out, size_t size, size_t len, const char *old)
{
        static const char *const drop[] = {"--perf-basic-prof", "--perf-basic-prof-only-functions"};
        for (const char *p = old; *p && len < size;) {
                p += strspn(p, " ");
                const char *w = p;
                for (int quoted = 0; *p && (quoted || *p != ' '); p++) {
                        if (*p == '\\' && p[1])
                                p++;
                        else if (*p == '"')
                                quoted = !quoted;
                }
                size_t n = (size_t)(p - w);
                int keep = n > 0;
                for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]) && keep; i++)
                        keep = !(strlen(drop[i]) == n && !memcmp(w, drop[i], n));
                if (!keep)
                        continue;
                if (len + (len ? 1 : 0) + n >= size)
                        return size;
                if (len)
                        out[len++] = ' ';
                memcpy(out + len, w, n);
                len += n;
                out[len] = '\0';
        }
        return len;
}

/* The JS timer module, unless LEAKTRACE_JS=0: its state file's stem in
 * LEAKTRACE_JS_STATE, its path in MODULE. Returns 0, or -1 without it. */
static int timer_module(char *module, size_t size)
{
        const char *js = getenv("LEAKTRACE_JS");
        if (js && !strcmp(js, "0"))
                return -1;
        char stem[LT_PATH_MAX];
        if (!lt_tf_sibling(stem, sizeof(stem), ""))
                return -1;
        setenv("LEAKTRACE_JS_STATE", stem, 1);
        setenv("LEAKTRACE_JS_PRELOAD", "1", 1); /* it may say LEAKTRACE_JS_BUSY */
        /* Started paused: the module follows no timer until the recording
         * starts, which it reads in the trace's header at its ticks. */
        if (!strcmp(lt_opt.start, "paused")) {
                char at[LT_PATH_MAX + 32];
                lt_fmt(at, sizeof(at), "%zu:%s",
                       offsetof(struct lt_header, history) + offsetof(struct lt_history_state, state),
                       lt_tf.path);
                setenv("LEAKTRACE_JS_WAIT", at, 1);
        }
        if (find_module(module, size) < 0) {
                lt_log("cannot find leaktrace.js (set LEAKTRACE_JS_MODULE): JS timers are not traced");
                return -1;
        }
        return 0;
}

void lt_node_setup(void)
{
        if (!lt_tf.hdr || !lt_is_node_exe(lt_tf.hdr->exe))
                return;
        const char *old = getenv("NODE_OPTIONS");
        char module[LT_PATH_MAX];
        int timers = timer_module(module, sizeof(module)) == 0;
        int frames = 0, blocked = 0;
        if (lt_opt.js_frames) {
                int err = lt_perfmap_prepare();
                if (err)
                        lt_log("/tmp/perf-%d.map is in the way and not this user's file (%s): node "
                               "would abort on it, so JS frames stay addresses",
                               (int)getpid(), strerrordesc_np(-err));
                frames = !err;
                /* Even when a traced parent (or the user) asked for it. */
                blocked = err && old && (has_option(old, "--perf-basic-prof") ||
                                          has_option(old, "--perf-basic-prof-only-functions"));
        }

        /* NODE_OPTIONS takes a quoted argument; a path is quoted always. A
         * child inherits what its traced parent had: nothing twice. */
        char opts[LT_PATH_MAX * 4], req[LT_PATH_MAX + 16];
        size_t len = 0;
        if (timers && !(old && strstr(old, module))) {
                lt_fmt(req, sizeof(req), "--require \"%s\"", module);
                len = add_option(opts, sizeof(opts), len, NULL, req);
        }
        if (frames) {
                /* Functions only: V8's builtins, stubs and handlers have
                 * symbols in node's own binary, and logging them all at
                 * start-up cost node -e 0 a tenth more instructions (7 of
                 * 11 million, callgrind). Without the second, functions
                 * still in the interpreter all look like V8's one
                 * interpreter entry. The user's --perf-basic-prof stays. */
                if (!(old && has_option(old, "--perf-basic-prof")))
                        len = add_option(opts, sizeof(opts), len, old,
                                         "--perf-basic-prof-only-functions");
                len = add_option(opts, sizeof(opts), len, old, "--interpreted-frames-native-stack");
        }
        if (blocked)
                len = add_without_maps(opts, sizeof(opts), len, old);
        else if (len && old && *old)
                len = add_option(opts, sizeof(opts), len, NULL, old);
        if (len >= sizeof(opts)) {
                lt_log("NODE_OPTIONS is too long to add leaktrace's options: JS timers are not "
                       "traced, JS frames stay addresses");
                return;
        }
        if (len || blocked)
                setenv("NODE_OPTIONS", len ? opts : "", 1);
        if (frames) {
                lt_perfmap_enable();
                lt_node_v8_log = !log_wanted(old);
        }
}
