/* `leaktrace`: the command. Dispatches to a subcommand; each has its own
 * options, help and file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef LEAKTRACE_VERSION_STRING
#error "the build defines LEAKTRACE_VERSION_STRING from PROJECT_VERSION"
#endif

static void help(FILE *out)
{
        fputs("Usage: leaktrace COMMAND [ARGS...]\n"
              "\n"
              "Finds memory leaks in Linux processes: `run` starts a program with\n"
              "libleaktrace.so preloaded, which records every live allocation and the\n"
              "call stack that made it into a trace file; `report` reads trace files.\n"
              "\n"
              "Commands:\n"
              "  run [-o DIR] [--top N] [--format text|json] [--no-report] [--] CMD [ARGS...]\n"
              "                 run CMD traced, then report on stderr\n"
              "  report [--top N] [--format text|json] FILE...\n"
              "                 report on trace files\n"
              "  ctl PID|FILE start|stop|snapshot [NAME]|status\n"
              "                 control a running traced process\n"
              "  help [COMMAND] this help, or a command's\n"
              "\n"
              "Options:\n"
              "  -h, --help     this help\n"
              "  --version      the version\n"
              "\n"
              "Exit status: run passes the program's on; otherwise 0, or 2 for a bad\n"
              "command line or a trace file that cannot be read.\n",
              out);
}

static int help_for(const char *cmd)
{
        if (!cmd)
                help(stdout);
        else if (!strcmp(cmd, "run"))
                lt_run_help(stdout);
        else if (!strcmp(cmd, "report"))
                lt_report_help(stdout);
        else if (!strcmp(cmd, "ctl"))
                lt_ctl_help(stdout);
        else {
                lt_usage_error(NULL, "no command '%s'", cmd);
                return 2;
        }
        return 0;
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : NULL;
        if (!cmd) {
                help(stderr);
                return 2;
        }
        if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
                return help_for(NULL);
        if (!strcmp(cmd, "help"))
                return help_for(argc > 2 ? argv[2] : NULL);
        if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
                printf("leaktrace %s\n", LEAKTRACE_VERSION_STRING);
                return 0;
        }
        if (!strcmp(cmd, "report"))
                return lt_cmd_report(argc - 1, argv + 1);
        if (!strcmp(cmd, "run"))
                return lt_cmd_run(argc - 1, argv + 1);
        if (!strcmp(cmd, "ctl"))
                return lt_cmd_ctl(argc - 1, argv + 1);
        if (cmd[0] == '-')
                lt_usage_error(NULL, "unknown option '%s'", cmd);
        else
                lt_usage_error(NULL, "unknown command '%s'", cmd);
        return 2;
}
