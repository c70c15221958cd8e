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
              "  run [-o DIR] [--paused] [--no-js-frames] [--top N] [--format FORMAT]\n"
              "      [--no-report] [--] CMD [ARGS...]\n"
              "                 run CMD traced, then report on stderr\n"
              "  report [--top N] [--format FORMAT] FILE...\n"
              "                 report on trace files: sites, each with its verdict (leak,\n"
              "                 cache, transient, unclear) from its history; FORMAT is text,\n"
              "                 json, markdown, collapsed (folded stacks) or svg (flame graph)\n"
              "  attach [-o DIR] [--duration S] PID\n"
              "                 trace a running process started without the preload, for a\n"
              "                 while, then detach and report\n"
              "  ctl PID|FILE start|stop|snapshot [NAME]|status|detach\n"
              "                 control a running traced process\n"
              "  diff [--top N] [--format text|json] A B\n"
              "                 sites that grew, appeared, shrank or disappeared between two\n"
              "                 files or snapshots (FILE, FILE@NAME, FILE@N)\n"
              "  check [--max-growth BYTES] [--max-live-timers N] [--max-live BYTES] FILE...\n"
              "                 for CI: exit 1 when a trace shows a leak beyond the bounds\n"
              "  timeline [-o FILE.svg] FILE...\n"
              "                 chart of RSS, live and mapped bytes and live timers over time\n"
              "  help [COMMAND] this help, or a command's\n"
              "\n"
              "Options:\n"
              "  -h, --help     this help\n"
              "  --version      the version\n"
              "\n"
              "Exit status: run passes the program's on; check gives 1 when it finds a\n"
              "leak; otherwise 0, or 2 for a bad command line or a trace file that\n"
              "cannot be read.\n",
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
        else if (!strcmp(cmd, "attach"))
                lt_attach_help(stdout);
        else if (!strcmp(cmd, "diff"))
                lt_diff_help(stdout);
        else if (!strcmp(cmd, "check"))
                lt_check_help(stdout);
        else if (!strcmp(cmd, "timeline"))
                lt_timeline_help(stdout);
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
        if (!strcmp(cmd, "attach"))
                return lt_cmd_attach(argc - 1, argv + 1);
        if (!strcmp(cmd, "diff"))
                return lt_cmd_diff(argc - 1, argv + 1);
        if (!strcmp(cmd, "check"))
                return lt_cmd_check(argc - 1, argv + 1);
        if (!strcmp(cmd, "timeline"))
                return lt_cmd_timeline(argc - 1, argv + 1);
        if (cmd[0] == '-')
                lt_usage_error(NULL, "unknown option '%s'", cmd);
        else
                lt_usage_error(NULL, "unknown command '%s'", cmd);
        return 2;
}
