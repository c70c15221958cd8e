/* The subcommands of `leaktrace`, and what they share: how a report is
 * asked for on the command line, and how trace files become one. */
#ifndef LT_COMMANDS_H
#define LT_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

#define LT_DEFAULT_TOP 20

struct lt_report_opts {
        unsigned top; /* sites shown per process; 0: all */
        int json;
};

/* `leaktrace report ARGS`: argv[0] is "report". Returns the exit status. */
int lt_cmd_report(int argc, char **argv);

/* `leaktrace run ARGS`: argv[0] is "run". Returns the exit status. */
int lt_cmd_run(int argc, char **argv);

/* `leaktrace ctl PID|FILE COMMAND [NAME]`: argv[0] is "ctl". Returns the
 * exit status: 0, or 2 when the process cannot be controlled. */
int lt_cmd_ctl(int argc, char **argv);

/* The help of each subcommand, written to OUT. */
void lt_report_help(FILE *out);
void lt_run_help(FILE *out);
void lt_ctl_help(FILE *out);

/* Takes the value of --top or --format into O. Returns 0, or -EINVAL after
 * saying on stderr what is wrong with it (CMD names the subcommand). */
int lt_report_opt(struct lt_report_opts *o, const char *cmd, const char *opt, const char *val);

/* Reads, validates and reports the N trace files at PATHS, written to OUT.
 * A file that cannot be read gets its one line on stderr and no report.
 * Returns 0 when every file was reported, else 2 (the exit status). */
int lt_report_files(FILE *out, char *const *paths, size_t n, const struct lt_report_opts *o);

/* Says on stderr that the command line is wrong: "leaktrace CMD: ...". */
__attribute__((format(printf, 2, 3))) void lt_usage_error(const char *cmd, const char *fmt, ...);

#endif
