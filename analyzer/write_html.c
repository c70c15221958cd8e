/* The HTML report: one self-contained page that explores a report in a
 * browser, with no network at all. The page itself (HTML, CSS, script) is
 * three files of analyzer/html/, built into the program as they are; its
 * data is the JSON report exactly as `--format json` writes it, and beside
 * it what only the page needs: how many sites and timers each process had
 * in all (the page says when --top cut them) and the source lines around
 * the frames it shows, read now, where the files can be read.
 *
 * Both are JSON inside <script type="application/json">, where the HTML
 * parser looks for nothing but "</script" and "<!--": every '<' is written
 * as \u003c, which JSON reads back as the same character, so that no name
 * from a trace can end the element or open a tag. */
#define _GNU_SOURCE
#include "writers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "html_assets.h"
#include "json_escape.h"
#include "paths.h"
#include "sourcemap.h"
#include "timers.h"

/* Bounds on the source lines embedded: a page to attach to a review, not a
 * copy of the source tree. */
#define SRC_MAX_FILES 200
#define SRC_CONTEXT 3            /* lines either side of a frame's */
#define SRC_MAX_FILE (2u << 20)  /* a bigger file is not read */
#define SRC_MAX_LINE 240         /* bytes of a line kept */
#define SRC_BUDGET (1536u << 10) /* bytes of source text in all */

/* A file named by frames, and the lines they name in it. */
struct src_file {
        char *name; /* as the frames give it: the page looks it up so */
        unsigned *lines;
        size_t n, cap;
        UT_hash_handle hh;
};

/* The files, in the order frames first name them. */
struct src_set {
        struct src_file *files;
        int declined; /* a file was left out: SRC_MAX_FILES reached */
};

static void src_free(struct src_set *set)
{
        struct src_file *f, *tmp;
        HASH_ITER(hh, set->files, f, tmp)
        {
                HASH_DEL(set->files, f);
                free(f->name);
                free(f->lines);
                free(f);
        }
}

/* Notes that a frame is at NAME:LINE. Returns 0 or -ENOMEM. */
static int src_add(struct src_set *set, const char *name, unsigned line)
{
        struct src_file *f;
        HASH_FIND_STR(set->files, name, f);
        if (!f) {
                if (HASH_COUNT(set->files) >= SRC_MAX_FILES) {
                        set->declined = 1;
                        return 0;
                }
                if (!(f = calloc(1, sizeof(*f))) || !(f->name = strdup(name))) {
                        free(f);
                        return -ENOMEM;
                }
                HASH_ADD_KEYPTR(hh, set->files, f->name, strlen(f->name), f);
        }
        if (f->n == f->cap) {
                size_t cap = f->cap ? 2 * f->cap : 8;
                unsigned *l = realloc(f->lines, cap * sizeof(*l));
                if (!l)
                        return -ENOMEM;
                f->lines = l;
                f->cap = cap;
        }
        f->lines[f->n++] = line;
        return 0;
}

/* Every frame in the report V: whatever object has a "frames" array (a
 * site, a timer, whatever later versions add), whatever its shape around
 * it. Returns 0 or -ENOMEM. */
static int src_collect(json_t *v, struct src_set *set)
{
        if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                {
                        int err = src_collect(e, set);
                        if (err)
                                return err;
                }
                return 0;
        }
        if (!json_is_object(v))
                return 0;
        json_t *frames = json_object_get(v, "frames");
        size_t i;
        json_t *f;
        json_array_foreach(frames, i, f)
        {
                json_t *file = json_object_get(f, "file");
                json_t *line = json_object_get(f, "line");
                if (json_is_string(file) && json_is_integer(line) && json_integer_value(line) > 0 &&
                    json_integer_value(line) < 100000000) {
                        int err = src_add(set, json_string_value(file),
                                          (unsigned)json_integer_value(line));
                        if (err)
                                return err;
                }
        }
        const char *key;
        json_t *member;
        json_object_foreach(v, key, member)
        {
                if (!strcmp(key, "frames"))
                        continue;
                int err = src_collect(member, set);
                if (err)
                        return err;
        }
        return 0;
}

/* The contents of the source file a frame names (a path, or a file://
 * URL as node gives JS scripts), when it is a regular file small enough:
 * never a FIFO or a device, which could block or never end. Returns a
 * malloc'd buffer with its length in *len, or NULL. */
static char *src_read(const char *name, size_t *len)
{
        /* What was built, when a source map carries it (sourcemap.h). */
        const char *built = lt_srcmap_content(name, len);
        if (built) {
                char *copy = *len <= SRC_MAX_FILE ? malloc(*len + 1) : NULL;
                return copy ? memcpy(copy, built, *len + 1) : NULL;
        }
        if (!strncmp(name, "file://", 7))
                name += 7;
        char *buf;
        if (name[0] != '/' || lt_read_file(name, SRC_MAX_FILE, &buf, len, NULL) < 0)
                return NULL;
        return buf;
}

static int by_line(const void *a, const void *b)
{
        unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
        return x < y ? -1 : x > y;
}

/* The members of "sources" for file F: "LINE":"text" for each line within
 * SRC_CONTEXT of a frame's. Takes from *budget what it writes; returns 1
 * when the budget ran out. */
static int src_write_file(FILE *out, struct src_file *f, size_t *budget, const char **sep)
{
        size_t len;
        char *text = src_read(f->name, &len);
        if (!text)
                return 0;
        qsort(f->lines, f->n, sizeof(*f->lines), by_line);
        fputs(*sep, out);
        lt_json_string(out, f->name);
        fputs(":{", out);
        *sep = ",";
        const char *lsep = "";
        int cut = 0;
        size_t j = 0;
        char *p = text, *end = text + len;
        for (unsigned k = 1; p < end && j < f->n; k++) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                while (j < f->n && f->lines[j] + SRC_CONTEXT < k)
                        j++;
                if (j < f->n && f->lines[j] <= k + SRC_CONTEXT) {
                        if (n && p[n - 1] == '\r')
                                n--;
                        if (n > SRC_MAX_LINE)
                                n = SRC_MAX_LINE;
                        if (n + 16 > *budget) {
                                cut = 1;
                                break;
                        }
                        *budget -= n + 16;
                        fprintf(out, "%s\"%u\":", lsep, k);
                        lt_json_string_n(out, p, n);
                        lsep = ",";
                }
                p = nl ? nl + 1 : end;
        }
        putc('}', out);
        free(text);
        return cut;
}

static int by_time(const void *pa, const void *pb)
{
        const struct lt_js_point *a = *(const struct lt_js_point *const *)pa;
        const struct lt_js_point *b = *(const struct lt_js_point *const *)pb;
        if (a->time_ms != b->time_ms)
                return a->time_ms < b->time_ms ? -1 : 1;
        return a < b ? -1 : a > b; /* the order taken */
}

/* The JS state's timeline of REP, which the JSON report does not carry,
 * for the page's chart: [{"t","heap_used","heap_total","timers_live"}],
 * t on the JSON timeline's axis (seconds since the trace's start: both
 * clocks are real-time, as growth.c places them), sorted by time as a
 * clock set back may leave the file's points out of order. Returns 0 or
 * -ENOMEM. */
static int write_js_timeline(FILE *out, const struct lt_report *rep)
{
        const struct lt_timers *tm = rep->timers;
        fputs("[", out);
        if (!tm || !tm->has_js || !tm->state.npoints) {
                fputs("]", out);
                return 0;
        }
        size_t n = tm->state.npoints;
        const struct lt_js_point **p = malloc(n * sizeof(*p));
        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                p[i] = &tm->state.points[i];
        qsort(p, n, sizeof(*p), by_time);
        double start_s = (double)rep->trace->hdr.start_ns / 1e9;
        for (size_t i = 0; i < n; i++)
                fprintf(out,
                        "%s{\"t\":%.3f,\"heap_used\":%" PRIu64 ",\"heap_total\":%" PRIu64
                        ",\"timers_live\":%" PRIu64 "}",
                        i ? "," : "", p[i]->time_ms / 1e3 - start_s, p[i]->heap_used,
                        p[i]->heap_total, p[i]->timers_live);
        fputs("]", out);
        free(p);
        return 0;
}

/* The page's own data: {"leaktrace":VERSION,"top":N,"processes":[{"pid":..,
 * "sites":..,"timers":..,"js_timeline":[..]}],"sources":{FILE:{LINE:TEXT}},
 * "sources_cut":B}. */
static int write_extra(FILE *out, struct lt_report *const *reports, size_t n, unsigned top,
                       const char *json, size_t json_len)
{
        fprintf(out, "{\"leaktrace\":\"%s\",\"top\":%u,\"processes\":[", LEAKTRACE_VERSION_STRING,
                top);
        int err = 0, cut = 0;
        for (size_t i = 0; i < n && !err; i++) {
                fprintf(out, "%s{\"pid\":%u,\"sites\":%zu,\"timers\":%zu,\"js_timeline\":",
                        i ? "," : "", (unsigned)reports[i]->trace->hdr.pid, reports[i]->nsites,
                        reports[i]->timers ? reports[i]->timers->nsites : 0);
                err = write_js_timeline(out, reports[i]);
                putc('}', out);
        }
        if (err)
                return err;
        fputs("],\"sources\":{", out);
        struct src_set set = {0};
        /* Our own JSON read back: every frame, whatever shape the report
         * has (one process, several, what later versions add). */
        json_t *root = json_loadb(json, json_len, 0, NULL);
        if (root && !(err = src_collect(root, &set))) {
                size_t budget = SRC_BUDGET;
                const char *sep = "";
                struct src_file *f, *tmp;
                cut = set.declined;
                HASH_ITER(hh, set.files, f, tmp)
                {
                        if (src_write_file(out, f, &budget, &sep)) {
                                cut = 1;
                                break;
                        }
                }
        }
        json_decref(root);
        src_free(&set);
        fprintf(out, "},\"sources_cut\":%s}", cut ? "true" : "false");
        return err;
}

/* LEN bytes of JSON as the content of a script element: '<' as \u003c. */
static void put_script_json(FILE *out, const char *s, size_t len)
{
        for (const char *end = s + len; s < end;) {
                const char *lt = memchr(s, '<', (size_t)(end - s));
                size_t n = lt ? (size_t)(lt - s) : (size_t)(end - s);
                fwrite(s, 1, n, out);
                s += n;
                if (lt) {
                        fputs("\\u003c", out);
                        s++;
                }
        }
}

int lt_write_html(FILE *out, struct lt_report *const *reports, size_t n, unsigned top)
{
        char *json = NULL, *extra = NULL;
        size_t json_len = 0, extra_len = 0;
        FILE *m = open_memstream(&json, &json_len);
        if (!m)
                return -ENOMEM;
        int err = lt_write_json(m, reports, n, top);
        if (fclose(m) && !err)
                err = -ENOMEM;
        if (err)
                goto out;
        if (!(m = open_memstream(&extra, &extra_len))) {
                err = -ENOMEM;
                goto out;
        }
        err = write_extra(m, reports, n, top, json, json_len);
        if (fclose(m) && !err)
                err = -ENOMEM;
        if (err)
                goto out;
        /* The template's slots: @@LT_STYLE@@, @@LT_SCRIPT@@, @@LT_REPORT@@
         * and @@LT_EXTRA@@; the rest is written as it is. */
        const char *t = lt_html_template;
        for (const char *slot; (slot = strstr(t, "@@LT_"));) {
                fwrite(t, 1, (size_t)(slot - t), out);
                const char *name = slot + 5, *close = strstr(name, "@@");
                if (!close) {
                        t = slot;
                        break;
                }
                size_t len = (size_t)(close - name);
                if (len == 5 && !strncmp(name, "STYLE", 5))
                        fputs(lt_html_css, out);
                else if (len == 6 && !strncmp(name, "SCRIPT", 6))
                        fputs(lt_html_js, out);
                else if (len == 6 && !strncmp(name, "REPORT", 6))
                        put_script_json(out, json, json_len);
                else if (len == 5 && !strncmp(name, "EXTRA", 5))
                        put_script_json(out, extra, extra_len);
                t = close + 2;
        }
        fputs(t, out);
        err = lt_out_error(out);
out:
        free(json);
        free(extra);
        return err;
}
