/* The subcommands of `leaktrace`, and what they share: how a report is
 * asked for on the command line, and how trace files become one. */
#ifndef LT_COMMANDS_H
#define LT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sourcemap.h"

#define LT_DEFAULT_TOP 20
/* The HTML report carries far more sites than a page of text, since it
 * sorts and filters them; but not all of a huge trace's. */
#define LT_HTML_DEFAULT_TOP 500

/* Report formats: --format NAME. */
#define LT_FORMATS(X)                                                                              \
        X(TEXT, "text")                                                                            \
        X(JSON, "json")                                                                            \
        X(MARKDOWN, "markdown")                                                                    \
        X(COLLAPSED, "collapsed")                                                                  \
        X(SVG, "svg")                                                                              \
        X(HTML, "html")                                                                            \
        X(SPEEDSCOPE, "speedscope")                                                                \
        X(SARIF, "sarif")

/* The names as one string literal, each followed by a space: the words of
 * --format in the command line's tables (cli.h). */
#define LT_X_WORD(K, name) name " "
#define LT_FORMAT_WORDS LT_FORMATS(LT_X_WORD)

/* --source-maps of every command that shows JS frames (sourcemap.h). */
#define LT_SOURCE_MAPS_OPT                                                                         \
        {'S', 0, "source-maps", "WHEN", LT_KIND_WORDS, LT_SRCMAP_WORDS,                            \
         "JS frames at the sources their scripts' source maps name: {} (default auto, or "         \
         "LEAKTRACE_SOURCE_MAPS: the maps of scripts unchanged since the trace began; always: "    \
         "changed ones too, as for a trace read on another machine)"}

/* --top and --format of the commands that report when they end (run,
 * attach): entries of their option tables (struct lt_cli_opt, cli.h). */
#define LT_END_REPORT_OPTS                                                                         \
        {'t', 0, "top", "N", LT_KIND_ANY, NULL,                                                    \
         "sites shown (default " LT_STR(LT_DEFAULT_TOP) "; 0: all)"},                              \
        {'f', 0, "format", "FORMAT", LT_KIND_WORDS, LT_FORMAT_WORDS,                               \
         "the form of the report: {} (text by default; see leaktrace help report)"},               \
        LT_SOURCE_MAPS_OPT

enum lt_format {
#define LT_X_ENUM(K, name) LT_FORMAT_##K,
        LT_FORMATS(LT_X_ENUM)
#undef LT_X_ENUM
        LT_FORMAT__COUNT
};

struct lt_report_opts {
        unsigned top;  /* sites shown per process; 0: all */
        int top_given; /* --top was given: else each format's default */
        enum lt_format format;
        const char *output; /* where the report goes; NULL or "-": the FILE given */
};

/* The commands, each a row of the command line's tables (cli.h) with its
 * options, help and main function: `leaktrace report ARGS` calls
 * lt_report_cmd.main with argv[0] "report", and so on; each returns the
 * exit status. */
struct lt_cli_cmd;
extern const struct lt_cli_cmd lt_report_cmd, lt_run_cmd, lt_attach_cmd, lt_ctl_cmd, lt_diff_cmd,
    lt_check_cmd, lt_timeline_cmd;

/* Takes the value of --top or --format into O, or of --source-maps (OPT
 * "source-maps") as the mode of every report (sourcemap.h). Returns 0, or -EINVAL after
 * saying on stderr what is wrong with it (CMD names the subcommand). */
int lt_report_opt(struct lt_report_opts *o, const char *cmd, const char *opt, const char *val);
/* The OPT of lt_report_opt() for the key of --top, --format or --source-maps. */
static inline const char *lt_report_opt_name(int key)
{
        return key == 't' ? "top" : key == 'f' ? "format" : "source-maps";
}

/* Reads, validates and reports the N trace files at PATHS, written to OUT.
 * A file that cannot be read gets its one line on stderr and no report.
 * Returns 0 when every file was reported, else 2 (the exit status). */
int lt_report_files(FILE *out, char *const *paths, size_t n, const struct lt_report_opts *o);

/* The trace files that ARGS name: a file itself, a directory its *.lt
 * files (not recursive), oldest process first. Returns the exit status so
 * far: 0, or 2 when an argument named no file (said on stderr); *paths
 * (malloc'd strings, and the array) and *n hold the others. */
int lt_expand_trace_args(char *const *args, size_t nargs, char ***paths, size_t *n);


/* The preload: $LEAKTRACE_PRELOAD, else the one beside this program in a
 * build tree, else where an install puts it relative to the binary. Writes
 * its absolute path into out[PATH_MAX]. Returns 0, or -errno after saying
 * why on stderr. */
int lt_find_preload(char *out);

/* mkdir -p DIR, then its absolute path into out[PATH_MAX]. Returns 0 or
 * -errno. */
int lt_make_dir(const char *dir, char *out);

/* The report of N files on stderr, in one piece. */
void lt_report_to_stderr(char **paths, size_t n, const struct lt_report_opts *o);

/* The trace file a running process has mapped (the last, the newest
 * image's): its path, from /proc/PID/maps. Returns 0, -ENOENT when there
 * is none, or -errno when the map cannot be read. */
int lt_file_of_pid(pid_t pid, char *path, size_t size);


struct lt_header;
/* Leaves CMD (enum lt_command) with ARG in the control block of the trace
 * file mapped at H, and waits up to WAIT_MS for the process's answer.
 * Returns 0 with the answer in *status (0 or -errno), or -ETIMEDOUT. */
int lt_ctl_send(struct lt_header *h, uint32_t cmd, const char *arg, int wait_ms, int *status);

/* Says on stderr that the command line is wrong: "leaktrace CMD: ...". */
__attribute__((format(printf, 2, 3))) void lt_usage_error(const char *cmd, const char *fmt, ...);

#endif
