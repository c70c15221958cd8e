/* The HTML report over synthetic traces, through the leaktrace binary
 * (plain and sanitized): what the page holds, not how a browser draws it
 * (tests/browser/ does that).
 *
 * - a command line that tries to end the page's script element
 *   ("</script><script>alert(1)</script>") stays inside it: three script
 *   elements, each closed once, no '<' in the data, and the data is the
 *   JSON report exactly once \u003c is read back as '<';
 * - the page's own data: the source lines around the frames, read from
 *   this program's captures.c, and how many sites the process had;
 * - -o FILE writes the same page and nothing on stdout; an unwritable
 *   FILE, or no readable trace, gives status 2 and one line, and leaves no
 *   file behind; --top cuts the sites and the page says of how many.
 *
 * Usage: lt-test-html LEAKTRACE LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "captures.h"
#include "harness.h"
#include "synth.h"

#define EVIL "</script><script>alert(1)</script>"

static char *run_leaktrace(const char *bin, const char *const *args, int *status, char **err)
{
        char *argv[16] = {(char *)bin};
        int n = 1;
        for (; args[n - 1]; n++)
                argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        struct proc_result r;
        proc_run(&r, argv, NULL, NULL);
        *status = r.status;
        if (err)
                *err = r.err;
        else
                free(r.err);
        return r.out;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t cap = 0;
        ssize_t n = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* Two allocation sites in captures.c's functions, the command line EVIL. */
static int write_trace(const char *path, const struct caps *k)
{
        static const char *const argv[] = {"app", EVIL};
        struct synth s;
        synth_init(&s, 4100, 2, argv);
        struct lt_module_rec x;
        if (synth_self_module(&x) < 0)
                return -1;
        synth_add_module(&s, &x);
        synth_add_stack(&s, k->a.f, 3, 1, 1000, 10, 10, 1000);
        synth_add_stack(&s, k->b.f, 2, 1, 64, 1, 1, 64);
        int err = synth_write(&s, path);
        synth_free(&s);
        return err;
}

static size_t count(const char *s, const char *what)
{
        size_t n = 0, len = strlen(what);
        for (const char *p = s; (p = strcasestr(p, what)); p += len)
                n++;
        return n;
}

/* The content of the script element with id ID, malloc'd; NULL if none. */
static char *script(const char *page, const char *id)
{
        char open[64];
        snprintf(open, sizeof(open), "<script type=\"application/json\" id=\"%s\">", id);
        const char *a = strstr(page, open);
        if (!a)
                return NULL;
        a += strlen(open);
        const char *b = strstr(a, "</script>");
        return b ? strndup(a, (size_t)(b - a)) : NULL;
}

/* S with every \u003c read back as '<', in place. */
static void unescape_lt(char *s)
{
        char *w = s;
        for (const char *r = s; *r;) {
                if (!strncmp(r, "\\u003c", 6)) {
                        *w++ = '<';
                        r += 6;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

/* Line LINE of FILE as it is, without its newline. */
static char *file_line(const char *file, unsigned line)
{
        FILE *f = fopen(file, "r");
        char *text = NULL;
        size_t cap = 0;
        for (unsigned i = 0; f && i < line; i++)
                if (getline(&text, &cap, f) < 0)
                        break;
        if (f)
                fclose(f);
        if (text)
                text[strcspn(text, "\n")] = '\0';
        return text;
}

static void check_page(const char *bin, const char *trace, const struct caps *k)
{
        int status;
        const char *aj[] = {"report", "--format", "json", trace, NULL};
        char *json = run_leaktrace(bin, aj, &status, NULL);
        const char *ah[] = {"report", "--format", "html", trace, NULL};
        char *page = run_leaktrace(bin, ah, &status, NULL);
        tap_ok(status == 0, "html: exit 0");
        tap_ok(count(page, "<script") == 3 && count(page, "</script") == 3,
               "html: three script elements, each closed once, whatever the command line");
        tap_ok(!strstr(page, EVIL) && !strstr(page, "alert(1)</script>"),
               "html: the command line is nowhere as markup");
        char *data = script(page, "lt-report");
        char *extra = script(page, "lt-extra");
        tap_ok(data && extra && !strchr(data, '<') && !strchr(extra, '<'),
               "html: no '<' in the page's data");
        if (data) {
                unescape_lt(data);
                if (!tap_ok(!strcmp(data, json), "html: the data is the JSON report exactly"))
                        tap_diag("got %.300s\nwant %.300s", data, json);
        }
        json_t *j = extra ? json_loads(extra, 0, NULL) : NULL;
        tap_ok(j != NULL, "html: the page's own data is JSON");
        json_t *procs = json_object_get(j, "processes");
        json_t *p0 = json_array_get(procs, 0);
        tap_ok(json_array_size(procs) == 1 &&
                   json_integer_value(json_object_get(p0, "pid")) == 4100 &&
                   json_integer_value(json_object_get(p0, "sites")) == 2 &&
                   json_integer_value(json_object_get(p0, "timers")) == 0 &&
                   json_integer_value(json_object_get(j, "top")) == 500,
               "html: the process's pid, its sites and timers in all, the default --top 500");
        json_t *jst = json_object_get(p0, "js_timeline");
        tap_ok(json_is_array(jst) && json_array_size(jst) == 0,
               "html: no JS state beside the trace, an empty JS timeline");
        json_t *src = json_object_get(json_object_get(j, "sources"), lt_test_captures_file);
        int lines_ok = src != NULL;
        for (int i = 0; i < 3 && src; i++) {
                unsigned at = k->a.line[i];
                for (unsigned l = at - 3; l <= at + 3; l++) {
                        char key[16], *want = file_line(lt_test_captures_file, l);
                        snprintf(key, sizeof(key), "%u", l);
                        const char *got = json_string_value(json_object_get(src, key));
                        if (!want || !got || strcmp(got, want)) {
                                tap_diag("line %u: got \"%s\", want \"%s\"", l,
                                         got ? got : "(none)", want ? want : "(none)");
                                lines_ok = 0;
                        }
                        free(want);
                }
        }
        tap_ok(lines_ok, "html: the source lines around each frame, as the file has them");
        tap_ok(json_is_false(json_object_get(j, "sources_cut")), "html: no source left out");
        json_decref(j);
        free(data);
        free(extra);
        free(json);
        free(page);
}

static void check_output(const char *bin, const char *trace, const char *dir)
{
        int status;
        char *err, out[512], bad[512], nothing[512];
        snprintf(out, sizeof(out), "%s/report.html", dir);
        snprintf(bad, sizeof(bad), "%s/no/such/dir/report.html", dir);
        snprintf(nothing, sizeof(nothing), "%s/nothing.html", dir);
        const char *a1[] = {"report", "--format", "html", trace, NULL};
        char *page = run_leaktrace(bin, a1, &status, NULL);
        const char *a2[] = {"report", "--format", "html", "-o", out, trace, NULL};
        char *stdout_text = run_leaktrace(bin, a2, &status, NULL);
        char *file = slurp(out);
        tap_ok(status == 0 && stdout_text && !*stdout_text && file && page && !strcmp(file, page),
               "-o FILE: the same page in the file, nothing on stdout");
        free(stdout_text);
        free(file);
        free(page);
        unlink(out);

        const char *a3[] = {"report", "--format", "html", "--output", bad, trace, NULL};
        free(run_leaktrace(bin, a3, &status, &err));
        char want[1024];
        snprintf(want, sizeof(want), "leaktrace: %s: No such file or directory\n", bad);
        if (!tap_ok(status == 2 && !strcmp(err, want),
                    "-o into a missing directory: status 2, one line"))
                tap_diag("status %d, stderr: %s", status, err);
        free(err);

        const char *a4[] = {"report", "--format", "html", "-o", nothing, "/nonexistent.lt", NULL};
        free(run_leaktrace(bin, a4, &status, &err));
        tap_ok(status == 2 && count_lines(err) == 1 && access(nothing, F_OK) != 0,
               "-o with no readable trace: status 2, one line, no file left behind");
        free(err);

        const char *a5[] = {"report", "--format", "html", "--top", "1", trace, NULL};
        page = run_leaktrace(bin, a5, &status, NULL);
        char *data = page ? script(page, "lt-report") : NULL;
        char *extra = page ? script(page, "lt-extra") : NULL;
        json_t *d = data ? json_loads(data, 0, NULL) : NULL;
        json_t *e = extra ? json_loads(extra, 0, NULL) : NULL;
        json_t *p0 = json_array_get(json_object_get(e, "processes"), 0);
        tap_ok(status == 0 && json_array_size(json_object_get(d, "sites")) == 1 &&
                   json_integer_value(json_object_get(e, "top")) == 1 &&
                   json_integer_value(json_object_get(p0, "sites")) == 2,
               "--top 1: one site in the page, which says there were 2");
        json_decref(d);
        json_decref(e);
        free(data);
        free(extra);
        free(page);
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: %s LEAKTRACE LEAKTRACE_ASAN\n", argv[0]);
                return 2;
        }
        char *dir = make_temp_dir("html");
        struct caps k;
        memset(&k, 0, sizeof(k));
        lt_test_capture_all(&k);
        char *trace;
        if (asprintf(&trace, "%s/evil.lt", dir) < 0 || write_trace(trace, &k) < 0)
                return 2;
        for (int b = 0; b < 2; b++) {
                tap_set_prefix(b ? "(sanitized) " : "");
                check_page(argv[1 + b], trace, &k);
                check_output(argv[1 + b], trace, dir);
        }
        rm_tree(dir);
        free(trace);
        free(dir);
        return tap_done();
}
