/* `leaktrace report`: trace files in, a report out. Every file is read and
 * checked before anything is written, so that a bad one costs its own
 * report and one line on stderr, not the others'. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "report.h"
#include "trace.h"
#include "writers.h"

int lt_report_opt(struct lt_report_opts *o, const char *cmd, const char *opt, const char *val)
{
        if (!strcmp(opt, "source-maps")) {
                enum lt_srcmap_mode m;
                if (lt_srcmap_parse_mode(val, &m) < 0) {
                        lt_usage_error(cmd, "--source-maps is auto, off or always, not '%s'", val);
                        return -EINVAL;
                }
                lt_srcmap_set_mode(m);
                return 0;
        }
        if (!strcmp(opt, "top")) {
                char *end;
                errno = 0;
                unsigned long n = strtoul(val, &end, 10);
                if (!*val || *end || errno || val[0] == '-' || n > 1000000000) {
                        lt_usage_error(cmd, "--top wants a number of sites, not '%s'", val);
                        return -EINVAL;
                }
                o->top = (unsigned)n;
                o->top_given = 1;
                return 0;
        }
        static const char *const names[] = {
#define LT_X_NAME(K, name) [LT_FORMAT_##K] = name,
            LT_FORMATS(LT_X_NAME)
#undef LT_X_NAME
        };
        for (int f = 0; f < LT_FORMAT__COUNT; f++) {
                if (!strcmp(val, names[f])) {
                        o->format = (enum lt_format)f;
                        return 0;
                }
        }
        lt_usage_error(cmd, "no format '%s'", val);
        return -EINVAL;
}

int lt_report_files(FILE *out, char *const *paths, size_t n, const struct lt_report_opts *o)
{
        struct lt_trace *traces = calloc(n, sizeof(*traces));
        struct lt_report *reports = calloc(n, sizeof(*reports));
        struct lt_report **good = calloc(n, sizeof(*good));
        size_t ngood = 0;
        int status = 0;
        FILE *dst = out;
        if (!traces || !reports || !good) {
                fprintf(stderr, "leaktrace: out of memory\n");
                status = 2;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                char why[512];
                int err = lt_trace_load(paths[i], &traces[i], why, sizeof(why));
                if (!err && (err = lt_report_build(&reports[i], &traces[i])) < 0)
                        snprintf(why, sizeof(why), "out of memory");
                if (err) {
                        fprintf(stderr, "leaktrace: %s: %s\n", paths[i], why);
                        status = 2;
                        continue;
                }
                good[ngood++] = &reports[i];
        }
        if (ngood && o->output && strcmp(o->output, "-")) {
                /* Opened only now: no empty report is left behind for files
                 * that could not be read. */
                if (!(dst = fopen(o->output, "w"))) {
                        fprintf(stderr, "leaktrace: %s: %s\n", o->output, strerror(errno));
                        status = 2;
                        goto out;
                }
        }
        if (ngood) {
                int err;
                unsigned top = o->top;
                if (!o->top_given)
                        top = o->format == LT_FORMAT_HTML ? LT_HTML_DEFAULT_TOP : LT_DEFAULT_TOP;
                switch (o->format) {
                case LT_FORMAT_JSON:
                        err = lt_write_json(dst, good, ngood, top);
                        break;
                case LT_FORMAT_MARKDOWN:
                        err = lt_write_markdown(dst, good, ngood, top);
                        break;
                case LT_FORMAT_COLLAPSED: /* every site: a flame graph wants them all */
                        err = lt_write_collapsed(dst, good, ngood);
                        break;
                case LT_FORMAT_SVG:
                        err = lt_write_flame_svg(dst, good, ngood);
                        break;
                case LT_FORMAT_HTML:
                        err = lt_write_html(dst, good, ngood, top);
                        break;
                case LT_FORMAT_SPEEDSCOPE: /* every site, as collapsed */
                        err = lt_write_speedscope(dst, good, ngood);
                        break;
                case LT_FORMAT_SARIF: /* every leak unless --top says otherwise */
                        err = lt_write_sarif(dst, good, ngood, o->top_given ? o->top : 0);
                        break;
                default:
                        err = lt_write_text(dst, good, ngood, top);
                }
                if (dst != out) {
                        int closed = lt_out_close(dst);
                        err = err ? err : closed;
                }
                dst = out;
                if (err) {
                        if (err == -ENOMEM)
                                fprintf(stderr, "leaktrace: out of memory writing the report\n");
                        else
                                fprintf(stderr, "leaktrace: cannot write the report to %s: %s\n",
                                        o->output && strcmp(o->output, "-") ? o->output
                                                                            : "standard output",
                                        strerror(-err));
                        status = 2;
                }
        }
out:
        for (size_t i = 0; i < ngood; i++)
                lt_report_free(good[i]);
        for (size_t i = 0; traces && i < n; i++)
                lt_trace_free(&traces[i]);
        free(good);
        free(reports);
        free(traces);
        return status;
}

/* A trace file of a directory, with what its header says for the order. */
struct dir_entry {
        char *path;
        struct lt_header hdr;
        int peeked; /* the header was read and carries the magic */
};

/* Oldest process first: by start time, then pid, then exec image; files
 * whose header cannot be read last (they will get their error line). */
static int dir_entry_cmp(const void *pa, const void *pb)
{
        const struct dir_entry *a = pa, *b = pb;
        if (a->peeked != b->peeked)
                return a->peeked ? -1 : 1;
        if (a->peeked) {
                if (a->hdr.start_ns != b->hdr.start_ns)
                        return a->hdr.start_ns < b->hdr.start_ns ? -1 : 1;
                if (a->hdr.pid != b->hdr.pid)
                        return a->hdr.pid < b->hdr.pid ? -1 : 1;
                if (a->hdr.exec_count != b->hdr.exec_count)
                        return a->hdr.exec_count < b->hdr.exec_count ? -1 : 1;
        }
        return strcmp(a->path, b->path);
}

static int ends_with_lt(const char *name)
{
        size_t len = strlen(name);
        return len > 3 && !strcmp(name + len - 3, ".lt");
}

/* Appends the *.lt files of directory DIR to paths[*n] (room grown as
 * needed), sorted by dir_entry_cmp. Returns 0, or -errno with nothing
 * appended; -ENOENT also when there is none, after saying so. */
static int add_dir(const char *dir, char ***paths, size_t *n)
{
        DIR *d = opendir(dir);
        if (!d) {
                int err = -errno;
                fprintf(stderr, "leaktrace: %s: cannot open: %s\n", dir, strerror(-err));
                return err;
        }
        struct dir_entry *e = NULL;
        size_t ne = 0, cap = 0;
        const char *slash = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
        struct dirent *de;
        int err = 0;
        while (!err && (de = readdir(d))) {
                if (!ends_with_lt(de->d_name))
                        continue; /* the JS state, anything else: not a trace file */
                struct dir_entry one = {0};
                struct stat st;
                if (asprintf(&one.path, "%s%s%s", dir, slash, de->d_name) < 0) {
                        err = -ENOMEM;
                        break;
                }
                if (stat(one.path, &st) == 0 && S_ISDIR(st.st_mode)) {
                        free(one.path); /* not recursive */
                        continue;
                }
                one.peeked = lt_trace_peek(one.path, &one.hdr) == 0;
                if (ne == cap) {
                        struct dir_entry *g = realloc(e, (cap = cap ? 2 * cap : 16) * sizeof(*g));
                        if (!g) {
                                free(one.path);
                                err = -ENOMEM;
                                break;
                        }
                        e = g;
                }
                e[ne++] = one;
        }
        closedir(d);
        char **p = NULL;
        if (!err && ne && !(p = realloc(*paths, (*n + ne) * sizeof(*p))))
                err = -ENOMEM;
        if (err) {
                fprintf(stderr, "leaktrace: out of memory\n");
        } else if (!ne) {
                fprintf(stderr, "leaktrace: %s: no trace file (*.lt) in this directory\n", dir);
                err = -ENOENT;
        } else {
                qsort(e, ne, sizeof(*e), dir_entry_cmp);
                for (size_t i = 0; i < ne; i++)
                        p[(*n)++] = e[i].path;
                *paths = p;
                ne = 0;
        }
        for (size_t i = 0; i < ne; i++)
                free(e[i].path);
        free(e);
        return err;
}

int lt_expand_trace_args(char *const *args, size_t nargs, char ***paths, size_t *n)
{
        int status = 0;
        *paths = NULL;
        *n = 0;
        for (size_t i = 0; i < nargs; i++) {
                struct stat st;
                if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                        if (add_dir(args[i], paths, n) < 0)
                                status = 2;
                        continue;
                }
                char **p = realloc(*paths, (*n + 1) * sizeof(*p));
                if (!p || !(p[*n] = strdup(args[i]))) {
                        if (p)
                                *paths = p;
                        fprintf(stderr, "leaktrace: out of memory\n");
                        return 2;
                }
                *paths = p;
                (*n)++;
        }
        return status;
}

static int report_main(int argc, char **argv)
{
        struct lt_report_opts o = {.top = LT_DEFAULT_TOP};
        struct lt_args a;
        int c;
        lt_args_init(&a, &lt_report_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0) {
                switch (c) {
                case 'o':
                        o.output = a.val;
                        break;
                case 't':
                case 'f':
                case 'S':
                        if (lt_report_opt(&o, "report", lt_report_opt_name(c), a.val) < 0)
                                return 2;
                        break;
                }
        }
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (!a.noperands) {
                lt_usage_error("report", "no trace file given");
                return 2;
        }
        char **paths;
        size_t n;
        int status = lt_expand_trace_args(argv + 1, (size_t)a.noperands, &paths, &n);
        struct stat out_st, in_st;
        bool clash = false;
        for (size_t i = 0; o.output && i < n && !clash && stat(o.output, &out_st) == 0; i++)
                clash = stat(paths[i], &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
                        in_st.st_ino == out_st.st_ino;
        if (clash) {
                fprintf(stderr,
                        "leaktrace: %s: is a trace file being reported; write the report "
                        "elsewhere\n",
                        o.output);
                status = 2;
        } else if (n) {
                int s = lt_report_files(stdout, paths, n, &o);
                status = s > status ? s : status;
        }
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
        free(paths);
        return status;
}

static const struct lt_cli_opt report_opts[] = {
    {'t', 0, "top", "N", LT_KIND_ANY, NULL,
     "sites shown per process (default " LT_STR(LT_DEFAULT_TOP) ", html " LT_STR(
         LT_HTML_DEFAULT_TOP) "; 0: all)"},
    {'f', 0, "format", "FORMAT", LT_KIND_WORDS, LT_FORMAT_WORDS,
     "the form of the report: {} (text by default; see below)"},
    {'o', 'o', "output", "FILE", LT_KIND_FILE, NULL, "where to write the report (default: stdout)"},
    LT_SOURCE_MAPS_OPT,
    {0},
};

const struct lt_cli_cmd lt_report_cmd = {
    .name = "report",
    .operands = "FILE|DIR...",
    .summary = "report on trace files: the sites holding live memory, each with its verdict "
               "(leak, cache, transient, unclear) from its history, and the live timers",
    .description =
        "Reports what each trace file shows still allocated: the call sites holding live "
        "memory, with a verdict from each one's history (leak, cache, transient or unclear, "
        "with its growth per minute and per 1000 allocations and the fit of its trend): leaks "
        "first, then the others, biggest first. Anonymous memory mapped with mmap is reported "
        "as sites of their own (kind mapping); the timers still live, by creation site, after "
        "them.\n\n"
        "A directory stands for every *.lt file in it (not in its subdirectories), oldest "
        "process first. With several processes, the report starts with one line per process "
        "and the sites and live timers that are the same in several processes, merged "
        "(cluster workers, forked children); then each process's own report.\n\n"
        "On a terminal, the stacks of a large trace are counted on stderr as they are "
        "symbolized.\n\n"
        "Formats:\n\n"
        "text\tfor people (the default)\n\n"
        "json\tfor programs: a schema that later versions only add to\n\n"
        "markdown\tfor a code review: a table of the top sites, their stacks with source "
        "lines\n\n"
        "collapsed\tfolded stacks of live bytes, for flamegraph.pl or speedscope (all sites)\n\n"
        "svg\ta flame graph of live bytes (all sites)\n\n"
        "html\tone self-contained page to explore in a browser: timeline, sites, stacks with "
        "their source, flame graph, timers\n\n"
        "speedscope\tlive bytes and blocks per stack in speedscope's file format (all sites)\n\n"
        "sarif\tSARIF 2.1.0 for code review and code scanning: a result per leak and per timer "
        "site left running (all unless --top)",
    .opts = report_opts,
    .operand_kind = LT_KIND_TRACE,
    .exit_status = "Exit status: 0, or 2 when a file cannot be read or is not a valid trace "
                   "(one line on stderr says why).",
    .main = report_main,
};
