/* Reading node/leaktrace.js's state file. jansson parses; this file only
 * checks that every field the report uses is there and of its type, and
 * copies it out, so that the rest of the analyzer never sees a json_t. The
 * module replaces the file by rename at every tick, so a file that exists
 * is whole; one that does not parse was damaged, or written by something
 * else, and is refused. */
#define _GNU_SOURCE
#include "jsstate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "sourcemap.h"

#define JS_TOOL "leaktrace-js"
#define JS_VERSION 2
/* The module keeps 10000 sites of 32 frames: far below this. */
#define JS_MAX_BYTES (256u << 20)
/* node/leaktrace.js's TIMELINE_MAX and TIMELINE_SITES: a file with more was
 * not written by it (and the growth summary's fits are quadratic in the
 * points). */
#define JS_MAX_POINTS 256
#define JS_MAX_POINT_SITES 16

struct ctx {
        char *why;
        size_t len;
};

__attribute__((format(printf, 2, 3))) static int bad(struct ctx *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int nomem(struct ctx *c)
{
        snprintf(c->why, c->len, "out of memory");
        return -ENOMEM;
}

char *lt_js_state_path(const char *trace_path)
{
        size_t n = strlen(trace_path);
        if (n < 3 || strcmp(trace_path + n - 3, ".lt"))
                return NULL;
        char *p;
        if (asprintf(&p, "%.*s.js.json", (int)(n - 3), trace_path) < 0)
                return NULL;
        return p;
}

/* A count: an integer >= 0, at most the largest int64. */
static int get_count(struct ctx *c, json_t *obj, const char *key, const char *where, uint64_t *out)
{
        json_t *v = json_object_get(obj, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return bad(c, "%s.%s: not a count", where, key);
        *out = (uint64_t)json_integer_value(v);
        return 0;
}

/* A line or column: an integer from 0 to UINT_MAX, or null (unknown, 0). */
static int get_position(struct ctx *c, json_t *obj, const char *key, const char *where,
                        unsigned *out)
{
        json_t *v = json_object_get(obj, key);
        *out = 0;
        if (json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
                return bad(c, "%s.%s: not a line or column number", where, key);
        *out = (unsigned)json_integer_value(v);
        return 0;
}

/* A string or null, copied; absent counts as null. */
static int get_string(struct ctx *c, json_t *obj, const char *key, const char *where, char **out)
{
        json_t *v = json_object_get(obj, key);
        *out = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return bad(c, "%s.%s: not a string", where, key);
        if (!(*out = strdup(json_string_value(v))))
                return nomem(c);
        return 0;
}

static int get_frame(struct ctx *c, json_t *obj, const char *where, struct lt_js_frame *f)
{
        if (!json_is_object(obj))
                return bad(c, "%s: not an object", where);
        int err = get_string(c, obj, "function", where, &f->function);
        if (!err)
                err = get_string(c, obj, "file", where, &f->file);
        if (!err && f->file && !strncmp(f->file, "file:", 5)) {
                /* An ES module's: a path, as the other frames name it. */
                int url;
                char *p = lt_file_url_path(f->file, strlen(f->file), &url);
                if (!p)
                        return nomem(c);
                free(f->file);
                f->file = p;
        }
        if (!err)
                err = get_position(c, obj, "line", where, &f->line);
        if (!err)
                err = get_position(c, obj, "column", where, &f->column);
        return err;
}

static void frame_free(struct lt_js_frame *f)
{
        free(f->function);
        free(f->file);
        free(f->gen_file);
}

static int get_site(struct ctx *c, json_t *obj, size_t i, struct lt_js_site *s)
{
        char where[64];
        snprintf(where, sizeof(where), "sites[%zu]", i);
        if (!json_is_object(obj))
                return bad(c, "%s: not an object", where);
        int err = get_frame(c, obj, where, &s->at);
        if (!err)
                err = get_count(c, obj, "live", where, &s->live);
        if (!err)
                err = get_count(c, obj, "created", where, &s->created);
        if (err)
                return err;
        json_t *rep = json_object_get(obj, "repeating");
        json_t *interval = json_object_get(obj, "interval_ms");
        json_t *oldest = json_object_get(obj, "oldest_created_ms");
        json_t *frames = json_object_get(obj, "frames");
        if (!json_is_boolean(rep))
                return bad(c, "%s.repeating: not true or false", where);
        if (!json_is_number(interval))
                return bad(c, "%s.interval_ms: not a number", where);
        if (!json_is_null(oldest) && !json_is_number(oldest))
                return bad(c, "%s.oldest_created_ms: not a number or null", where);
        if (!json_is_array(frames))
                return bad(c, "%s.frames: not an array", where);
        json_t *callers = json_object_get(obj, "callers"); /* none from older modules */
        if (callers && (!json_is_integer(callers) || json_integer_value(callers) < 0 ||
                        json_integer_value(callers) > 64))
                return bad(c, "%s.callers: not a count of frames", where);
        s->callers = callers ? (unsigned)json_integer_value(callers) : 0;
        s->repeating = json_is_true(rep);
        /* node keeps -1 as the delay of a timer already cleared */
        s->interval_ms = json_number_value(interval) > 0 ? json_number_value(interval) : 0;
        s->oldest_ms = json_is_number(oldest) ? json_number_value(oldest) : -1;
        size_t n = json_array_size(frames);
        if (n && !(s->frames = calloc(n, sizeof(*s->frames))))
                return nomem(c);
        for (size_t j = 0; j < n; j++) {
                char fw[96];
                snprintf(fw, sizeof(fw), "%s.frames[%zu]", where, j);
                s->nframes++;
                if ((err = get_frame(c, json_array_get(frames, j), fw, &s->frames[j])))
                        return err;
        }
        return 0;
}

/* Point I of the timeline; its site counts go on at js->site_live +
 * js->nsite_live, which has room for JS_MAX_POINT_SITES more. */
static int get_point(struct ctx *c, json_t *obj, size_t i, struct lt_js_state *js)
{
        char where[64];
        snprintf(where, sizeof(where), "timeline[%zu]", i);
        if (!json_is_object(obj))
                return bad(c, "%s: not an object", where);
        struct lt_js_point *p = &js->points[i];
        json_t *time = json_object_get(obj, "time_ms");
        if (!json_is_number(time) || !(json_number_value(time) >= 0))
                return bad(c, "%s.time_ms: not a time", where);
        p->time_ms = json_number_value(time);
        static const char *const keys[] = {"timers_live", "heap_used",     "heap_total",
                                           "external",    "array_buffers", "rss"};
        uint64_t *const out[] = {&p->timers_live, &p->heap_used,     &p->heap_total,
                                 &p->external,    &p->array_buffers, &p->rss};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                int err = get_count(c, obj, keys[k], where, out[k]);
                if (err)
                        return err;
        }
        json_t *live = json_object_get(obj, "site_live");
        if (!json_is_array(live))
                return bad(c, "%s.site_live: not an array", where);
        size_t n = json_array_size(live);
        if (n > JS_MAX_POINT_SITES)
                return bad(c, "%s.site_live: %zu sites, the module lists %d at most", where, n,
                           JS_MAX_POINT_SITES);
        struct lt_js_site_live *sl = js->site_live + js->nsite_live;
        uint64_t sum = 0;
        for (size_t j = 0; j < n; j++) {
                json_t *pair = json_array_get(live, j);
                json_t *site = json_array_get(pair, 0), *count = json_array_get(pair, 1);
                if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(site) ||
                    !json_is_integer(count))
                        return bad(c, "%s.site_live[%zu]: not a pair [site, live]", where, j);
                if (json_integer_value(site) < 0 ||
                    (uint64_t)json_integer_value(site) >= js->nsites)
                        return bad(c,
                                   "%s.site_live[%zu]: site %" JSON_INTEGER_FORMAT
                                   " is not one of the %zu sites",
                                   where, j, json_integer_value(site), js->nsites);
                if (json_integer_value(count) <= 0)
                        return bad(c, "%s.site_live[%zu]: not a live count", where, j);
                sl[j] = (struct lt_js_site_live){(uint32_t)json_integer_value(site),
                                                 (uint64_t)json_integer_value(count)};
                for (size_t k = 0; k < j; k++)
                        if (sl[k].site == sl[j].site)
                                return bad(c, "%s.site_live: site %u twice", where, sl[j].site);
                if (__builtin_add_overflow(sum, sl[j].live, &sum) || sum > p->timers_live)
                        return bad(c, "%s.site_live: more live timers than timers_live", where);
        }
        p->live = sl;
        p->nlive = (unsigned)n;
        js->nsite_live += n;
        return 0;
}

static int get_timeline(struct ctx *c, json_t *tl, struct lt_js_state *js)
{
        if (!json_is_array(tl))
                return bad(c, "state.timeline: not an array");
        size_t n = json_array_size(tl);
        if (n > JS_MAX_POINTS)
                return bad(c, "state.timeline: %zu points, the module keeps %d at most", n,
                           JS_MAX_POINTS);
        if (!n)
                return 0;
        /* Room for every point's sites at once: nothing moves while they
         * point into it. */
        js->points = calloc(n, sizeof(*js->points));
        js->site_live = calloc(n * JS_MAX_POINT_SITES, sizeof(*js->site_live));
        if (!js->points || !js->site_live)
                return nomem(c);
        js->npoints = n;
        for (size_t i = 0; i < n; i++) {
                int err = get_point(c, json_array_get(tl, i), i, js);
                if (err)
                        return err;
        }
        return 0;
}

static int get_state(struct ctx *c, json_t *root, struct lt_js_state *js)
{
        if (!json_is_object(root))
                return bad(c, "not a JSON object");
        json_t *tool = json_object_get(root, "tool");
        if (!json_is_string(tool) || strcmp(json_string_value(tool), JS_TOOL))
                return bad(c, "not a " JS_TOOL " state (\"tool\" is not \"" JS_TOOL "\")");
        json_t *version = json_object_get(root, "version");
        if (!json_is_integer(version))
                return bad(c, "version: not an integer");
        if (json_integer_value(version) != JS_VERSION)
                return bad(c, "version %" JSON_INTEGER_FORMAT ", this leaktrace reads version %d",
                           json_integer_value(version), JS_VERSION);
        uint64_t pid;
        int err = get_count(c, root, "pid", "state", &pid);
        if (err)
                return err;
        if (pid == 0 || pid > UINT32_MAX)
                return bad(c, "state.pid: not a process id");
        js->pid = (uint32_t)pid;
        json_t *time = json_object_get(root, "time_ms");
        json_t *complete = json_object_get(root, "complete");
        json_t *sites = json_object_get(root, "sites");
        if (!json_is_number(time))
                return bad(c, "state.time_ms: not a number");
        if (!json_is_boolean(complete))
                return bad(c, "state.complete: not true or false");
        if (!json_is_array(sites))
                return bad(c, "state.sites: not an array");
        js->time_ms = json_number_value(time);
        js->complete = json_is_true(complete);
        /* Of later modules: a number, or null while it waits. */
        json_t *since = json_object_get(root, "following_since_ms");
        if (since && !json_is_null(since) && !json_is_number(since))
                return bad(c, "state.following_since_ms: not a number");
        js->following_since_ms = json_is_number(since) ? json_number_value(since) : 0;
        json_t *overflow = json_object_get(root, "overflow");
        if (overflow && !json_is_null(overflow)) {
                if (!json_is_object(overflow))
                        return bad(c, "state.overflow: not an object");
                if ((err = get_count(c, overflow, "live", "state.overflow", &js->overflow_live)))
                        return err;
        }
        size_t n = json_array_size(sites);
        if (n && !(js->sites = calloc(n, sizeof(*js->sites))))
                return nomem(c);
        for (size_t i = 0; i < n; i++) {
                js->nsites++;
                if ((err = get_site(c, json_array_get(sites, i), i, &js->sites[i])))
                        return err;
        }
        return get_timeline(c, json_object_get(root, "timeline"), js);
}

int lt_js_load(const char *path, struct lt_js_state *js, char *why, size_t len)
{
        struct ctx c = {why, len};
        memset(js, 0, sizeof(*js));
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                int err = -errno;
                snprintf(why, len, "cannot open: %s", strerror(-err));
                return err;
        }
        struct stat st;
        int err = fstat(fd, &st) < 0 ? -errno : 0;
        if (err)
                snprintf(why, len, "cannot read: %s", strerror(-err));
        else if (!S_ISREG(st.st_mode))
                err = bad(&c, "not a regular file");
        else if (st.st_size > JS_MAX_BYTES)
                err = bad(&c, "%lld bytes, more than a state file can be", (long long)st.st_size);
        if (err) {
                close(fd);
                return err;
        }
        json_error_t jerr;
        json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
        close(fd);
        if (!root)
                return bad(&c, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                           jerr.column);
        err = get_state(&c, root, js);
        json_decref(root);
        if (err)
                lt_js_free(js);
        return err;
}

static int map_frame(struct lt_js_frame *f, uint64_t began_ns)
{
        if (!f->file)
                return 0;
        return lt_srcmap_apply(&f->file, &f->line, &f->column, &f->gen_file, &f->gen_line,
                               &f->gen_column, began_ns);
}

/* node's own, or a package's: its source under node_modules, or the
 * script node ran (a package that ships a map of its own names its
 * sources webpack://pkg/./src/...). */
static bool in_package(const struct lt_js_frame *f)
{
        return f->file && (strstr(f->file, "/node_modules/") || !strncmp(f->file, "node:", 5) ||
                           (f->gen_file && strstr(f->gen_file, "/node_modules/")));
}

static int frame_copy(struct lt_js_frame *to, const struct lt_js_frame *from)
{
        struct lt_js_frame c = *from;
        c.function = c.file = c.gen_file = NULL;
        if ((from->function && !(c.function = strdup(from->function))) ||
            (from->file && !(c.file = strdup(from->file))) ||
            (from->gen_file && !(c.gen_file = strdup(from->gen_file)))) {
                frame_free(&c);
                return -ENOMEM;
        }
        frame_free(to);
        *to = c;
        return 0;
}

static bool str_eq(const char *a, const char *b)
{
        return a && b ? !strcmp(a, b) : a == b;
}

static bool same_frame(const struct lt_js_frame *a, const struct lt_js_frame *b)
{
        return str_eq(a->file, b->file) && a->line == b->line && a->column == b->column &&
               str_eq(a->function, b->function);
}

/* The application's frame that site S's timers are the module's own
 * (bundle) site for: among the callers the module keyed S by, the first
 * the map puts outside the packages, in the same script. NULL when S's
 * `at` is not a package's, or no such caller was keyed (its callers' timers
 * are then together: the package's line stays the site). */
static const struct lt_js_frame *app_caller(const struct lt_js_site *s)
{
        if (!s->at.gen_file || !in_package(&s->at))
                return NULL;
        unsigned k = 0;
        while (k < s->nframes && !same_frame(&s->frames[k], &s->at))
                k++;
        for (unsigned j = k + 1; j < s->nframes && j <= k + s->callers; j++) {
                const struct lt_js_frame *f = &s->frames[j];
                if (!str_eq(f->gen_file, s->at.gen_file))
                        return NULL;
                if (!in_package(f))
                        return f;
        }
        return NULL;
}

int lt_js_map_sources(struct lt_js_state *js, uint64_t began_ns)
{
        for (size_t i = 0; i < js->nsites; i++) {
                struct lt_js_site *s = &js->sites[i];
                int err = map_frame(&s->at, began_ns);
                for (unsigned j = 0; j < s->nframes && err >= 0; j++)
                        err = map_frame(&s->frames[j], began_ns);
                if (err < 0)
                        return err;
                const struct lt_js_frame *app = app_caller(s);
                if (app && frame_copy(&s->at, app) < 0)
                        return -ENOMEM;
        }
        return 0;
}

void lt_js_free(struct lt_js_state *js)
{
        for (size_t i = 0; i < js->nsites; i++) {
                struct lt_js_site *s = &js->sites[i];
                frame_free(&s->at);
                for (unsigned j = 0; j < s->nframes; j++)
                        frame_free(&s->frames[j]);
                free(s->frames);
        }
        free(js->sites);
        free(js->points);
        free(js->site_live);
        memset(js, 0, sizeof(*js));
}
