/* `leaktrace`: the command. Dispatches to a subcommand, found in the one
 * list of them below; each has its own options, help and file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "output.h"

#ifndef LEAKTRACE_VERSION_STRING
#error "the build defines LEAKTRACE_VERSION_STRING from PROJECT_VERSION"
#endif

extern const struct lt_cli_cmd lt_help_cmd;

/* Every command, in the order of the help and the man page. */
const struct lt_cli_cmd *const lt_cli_commands[] = {
    &lt_run_cmd,  &lt_report_cmd, &lt_attach_cmd,   &lt_ctl_cmd,
    &lt_diff_cmd, &lt_check_cmd,  &lt_timeline_cmd, &lt_help_cmd,
};
const size_t lt_cli_ncommands = sizeof(lt_cli_commands) / sizeof(lt_cli_commands[0]);

const char lt_cli_intro[] =
    "Finds memory and timer leaks in Linux processes: `run` starts a program with "
    "libleaktrace.so preloaded, which records every live allocation, mapping and timer and the "
    "call stack that made it into a trace file, leaktrace.<pid>.lt; `report` and the other "
    "commands read trace files, even of a process that was killed.";

const struct lt_cli_opt lt_cli_global_opts[] = {
    {'h', 'h', "help", NULL, LT_KIND_ANY, NULL, "this help"},
    {'V', 'V', "version", NULL, LT_KIND_ANY, NULL, "the version"},
    {0},
};

static int help_main(int argc, char **argv)
{
        struct lt_args a;
        int c, status = 0;
        int (*gen)(FILE *) = NULL;
        lt_args_init(&a, &lt_help_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0)
                gen = c == 'm' ? lt_man_command : c == 'e' ? lt_man_env : lt_bash_completion;
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (a.noperands > 1 || (gen && a.noperands)) {
                lt_usage_error("help", "wants one command at most, and none with --man, "
                                       "--man-env or --bash-completion");
                return 2;
        }
        if (gen) {
                int err = gen(stdout);
                if (err)
                        fprintf(stderr, "leaktrace: cannot write to standard output: %s\n",
                                strerror(-err));
                status = err ? 2 : 0;
        } else if (!a.noperands) {
                lt_cli_help(NULL, stdout);
        } else {
                const struct lt_cli_cmd *cmd = lt_cli_find(argv[1]);
                if (cmd) {
                        lt_cli_help(cmd, stdout);
                } else {
                        char near[32];
                        char words[256];
                        lt_cli_command_words(words, sizeof(words));
                        if (lt_cli_nearest(argv[1], words, near, sizeof(near)))
                                lt_usage_error(NULL, "no command '%s'; did you mean '%s'?", argv[1],
                                               near);
                        else
                                lt_usage_error(NULL, "no command '%s'", argv[1]);
                        status = 2;
                }
        }
        return status;
}

static const struct lt_cli_opt help_opts[] = {
    {'m', 0, "man", NULL, LT_KIND_ANY, NULL, "write the man page leaktrace(1), as troff"},
    {'e', 0, "man-env", NULL, LT_KIND_ANY, NULL,
     "write the man page leaktrace-env(7), of the environment variables, as troff"},
    {'b', 0, "bash-completion", NULL, LT_KIND_ANY, NULL,
     "write the bash completion script of leaktrace"},
    {0},
};

const struct lt_cli_cmd lt_help_cmd = {
    .name = "help",
    .operands = "[COMMAND]",
    .summary = "this help, or a command's",
    .description = "The help of leaktrace, or of COMMAND; or, with an option, the man pages or "
                   "the completion script that an install puts in place, made from the same "
                   "tables as the help and the parser of the command line.",
    .opts = help_opts,
    .operand_kind = LT_KIND_COMMAND,
    .main = help_main,
};

/* A word of leaktrace's own where a command should be: an option of its
 * own, else a slip of the fingers. */
static int not_a_command(const char *cmd)
{
        char near[32], words[256];
        lt_cli_command_words(words, sizeof(words));
        if (cmd[0] == '-') {
                if (lt_cli_nearest(cmd, "-h --help -V --version ", near, sizeof(near)))
                        lt_usage_error(NULL, "unknown option '%s'; did you mean '%s'?", cmd, near);
                else
                        lt_usage_error(NULL, "unknown option '%s'", cmd);
        } else if (lt_cli_nearest(cmd, words, near, sizeof(near))) {
                lt_usage_error(NULL, "unknown command '%s'; did you mean '%s'?", cmd, near);
        } else {
                lt_usage_error(NULL, "unknown command '%s'", cmd);
        }
        return 2;
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : NULL;
        if (!cmd) {
                lt_cli_help(NULL, stderr);
                return 2;
        }
        int status;
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
                lt_cli_help(NULL, stdout);
                status = 0;
        } else if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
                printf("leaktrace %s\n", LEAKTRACE_VERSION_STRING);
                status = 0;
        } else {
                const struct lt_cli_cmd *c = lt_cli_find(cmd);
                if (!c)
                        return not_a_command(cmd);
                status = c->main(argc - 1, argv + 1);
                lt_srcmap_release();
        }
        /* What went to standard output without a writer that checks (help,
         * ctl, ...): a full disk or a closed pipe is said, not a success.
         * A command that failed already has said why. */
        int err = lt_out_error(stdout);
        if (err && status != 2) {
                fprintf(stderr, "leaktrace: cannot write to standard output: %s\n", strerror(-err));
                status = 2;
        }
        return status;
}
