/* The man pages, as troff, from the tables that the parser and the help
 * use: leaktrace(1), every command and option; leaktrace-env(7), every
 * environment variable (options.h). The build writes them with `leaktrace
 * help --man` and `--man-env`, so that they never disagree with the
 * program. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "leaktrace/options.h"
#include "output.h"

#ifndef LEAKTRACE_VERSION_STRING
#error "the build defines LEAKTRACE_VERSION_STRING from PROJECT_VERSION"
#endif

/* TEXT as troff running text: backslashes and dashes escaped, a dot or a
 * quote that would begin a line guarded, `code` in bold, newlines spaces. */
static void roff(FILE *out, const char *text, size_t len)
{
        int bold = 0, at_start = 1;
        for (size_t i = 0; i < len && text[i]; i++) {
                char c = text[i];
                if (at_start && (c == '.' || c == '\''))
                        fputs("\\&", out);
                at_start = 0;
                if (c == '\\')
                        fputs("\\e", out);
                else if (c == '-')
                        fputs("\\-", out);
                else if (c == '`')
                        fputs((bold = !bold) ? "\\fB" : "\\fR", out);
                else if (c == '\n')
                        fputc(' ', out);
                else
                        fputc(c, out);
        }
        if (bold)
                fputs("\\fR", out);
}

static void roff_line(FILE *out, const char *text)
{
        roff(out, text, strlen(text));
        fputc('\n', out);
}

/* The paragraphs of a command's description (cli.h): ".PP" before each,
 * ".TP" before each item of a list. */
static void paragraphs(FILE *out, const char *desc)
{
        for (const char *p = desc; p && *p;) {
                const char *end = strstr(p, "\n\n");
                size_t len = end ? (size_t)(end - p) : strlen(p);
                const char *tab = memchr(p, '\t', len);
                if (tab) {
                        fputs(".TP\n\\fB", out);
                        roff(out, p, (size_t)(tab - p));
                        fputs("\\fR\n", out);
                        roff(out, tab + 1, len - (size_t)(tab - p) - 1);
                } else {
                        fputs(".PP\n", out);
                        roff(out, p, len);
                }
                fputc('\n', out);
                p = end ? end + 2 : NULL;
        }
}

static void option(FILE *out, const struct lt_cli_opt *o)
{
        fputs(".TP\n", out);
        if (o->short_name)
                fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", out);
        roff(out, o->name, strlen(o->name));
        fputs("\\fR", out);
        if (o->arg)
                fprintf(out, " \\fI%s\\fR", o->arg);
        fputc('\n', out);
        char *help = lt_cli_opt_help(o);
        roff_line(out, help ? help : o->help);
        free(help);
}

static void usage(FILE *out, const struct lt_cli_cmd *c)
{
        fprintf(out, "leaktrace %s%s", c->name, c->opts && c->opts[0].key ? " [OPTIONS]" : "");
        if (c->operands) {
                fputc(' ', out);
                roff(out, c->operands, strlen(c->operands));
        }
}

int lt_man_command(FILE *out)
{
        fputs(".\\\" Written by `leaktrace help --man`: edit analyzer/*.c, not this.\n", out);
        fprintf(out, ".TH LEAKTRACE 1 \"\" \"leaktrace %s\" \"User Commands\"\n",
                LEAKTRACE_VERSION_STRING);
        fputs(".SH NAME\nleaktrace \\- find memory and timer leaks in Linux processes\n"
              ".SH SYNOPSIS\n",
              out);
        for (size_t i = 0; i < lt_cli_ncommands; i++) {
                fputs(i ? ".br\n" : "", out);
                fputs(".B ", out);
                usage(out, lt_cli_commands[i]);
                fputc('\n', out);
        }
        fputs(".br\n.B leaktrace \\-\\-version\n.SH DESCRIPTION\n", out);
        roff_line(out, lt_cli_intro);
        fputs(".SH COMMANDS\n", out);
        for (size_t i = 0; i < lt_cli_ncommands; i++) {
                const struct lt_cli_cmd *c = lt_cli_commands[i];
                fputs(".SS \"", out);
                usage(out, c);
                fputs("\"\n", out);
                paragraphs(out, c->description);
                fputs(".PP\nOptions:\n", out);
                for (const struct lt_cli_opt *o = c->opts; o && o->key; o++)
                        option(out, o);
                option(out, &(struct lt_cli_opt){'h', 'h', "help", NULL, LT_KIND_ANY, NULL,
                                                 "the help of this command"});
                if (c->exit_status) {
                        fputs(".PP\n", out);
                        roff_line(out, c->exit_status);
                }
        }
        fputs(".SH OPTIONS\n", out);
        for (const struct lt_cli_opt *o = lt_cli_global_opts; o->key; o++)
                option(out, o);
        fputs(".SH ENVIRONMENT\n"
              "The traced program reads the variables of\n"
              ".BR leaktrace\\-env (7);\n"
              ".B leaktrace run\n"
              "sets LEAKTRACE_DIR from \\fB\\-o\\fR. leaktrace itself reads:\n",
              out);
#define LT_X_MAN(NAME, def, who, help)                                                             \
        if (!strcmp(#who, "COMMAND")) {                                                            \
                fputs(".TP\n.B LEAKTRACE_" NAME "\n", out);                                        \
                roff_line(out, help " (default: " def ")");                                        \
        }
        LT_ENV_OTHERS(LT_X_MAN)
#undef LT_X_MAN
        fputs(".TP\n.B CI\n"
              "when set and not 0 or false, as CI services set it, no progress is shown, even "
              "on a terminal\n"
              ".SH EXIT STATUS\n"
              "0; 1 when \\fBcheck\\fR finds a leak; 2 for a bad command line or a trace file "
              "that cannot be read; \\fBrun\\fR passes on the program's status (128+N when "
              "signal N killed it).\n"
              ".SH FILES\n"
              ".TP\n.I leaktrace.<pid>.lt\n"
              "the trace file of process <pid>, in LEAKTRACE_DIR (an image started by exec: "
              "leaktrace.<pid>.<n>.lt)\n"
              ".TP\n.I leaktrace.<pid>.js.json\n"
              "the state of a node process's JS timers, beside its trace\n"
              ".TP\n.I leaktrace.<pid>.perf.map\n"
              "the copy of node's perf map, which names JS functions\n"
              ".TP\n.I leaktrace.<pid>.maps.json\n"
              "the source maps node held in memory for scripts transpiled as they loaded (tsx)\n"
              ".SH EXAMPLES\n"
              ".nf\n"
              "leaktrace run \\-\\- ./myprog arg1\n"
              "leaktrace run \\-o traces \\-\\-no\\-report \\-\\- node server.js\n"
              "leaktrace report \\-\\-format html \\-o report.html traces/\n"
              "leaktrace diff leaktrace.12345.lt@warm leaktrace.12345.lt@hot\n"
              "leaktrace check \\-\\-max\\-growth 64K leaktrace.*.lt\n"
              ".fi\n"
              ".SH SEE ALSO\n"
              ".BR leaktrace\\-env (7)\n",
              out);
        return lt_out_error(out);
}

static void env_var(FILE *out, const char *name, const char *def, const char *range,
                    const char *help)
{
        fprintf(out, ".TP\n.B LEAKTRACE_%s\n", name);
        roff_line(out, help);
        fputs(".br\nDefault: \\fB", out);
        roff(out, def, strlen(def));
        fputs("\\fR", out);
        if (range) {
                fputs("; ", out);
                roff(out, range, strlen(range));
        }
        fputc('\n', out);
}

/* A default of options.h as written in C: a string's quotes dropped. */
static void opt_var(FILE *out, const char *name, const char *type, const char *def, const char *min,
                    const char *max, const char *help)
{
        char d[64], range[80];
        size_t n = strlen(def);
        if (n >= 2 && def[0] == '"')
                snprintf(d, sizeof(d), "%.*s", (int)(n - 2), def + 1);
        else
                snprintf(d, sizeof(d), "%s", def);
        if (!strcmp(type, "INT"))
                snprintf(range, sizeof(range), "from %s to %s", min, max);
        else if (!strcmp(type, "BOOL"))
                snprintf(range, sizeof(range), "0 or 1");
        env_var(out, name, d, !strcmp(type, "STR") ? NULL : range, help);
}

/* The variables of LT_ENV_OTHERS that WHO reads. */
static void others(FILE *out, const char *who)
{
#define LT_X_ENV(NAME, def, reader, help)                                                          \
        if (!strcmp(#reader, who))                                                                 \
                env_var(out, NAME, def, NULL, help);
        LT_ENV_OTHERS(LT_X_ENV)
#undef LT_X_ENV
}

int lt_man_env(FILE *out)
{
        fputs(".\\\" Written by `leaktrace help --man-env`: edit include/leaktrace/options.h, "
              "not this.\n",
              out);
        fprintf(out, ".TH LEAKTRACE\\-ENV 7 \"\" \"leaktrace %s\" \"Miscellaneous\"\n",
                LEAKTRACE_VERSION_STRING);
        fputs(".SH NAME\nleaktrace\\-env \\- the environment variables of leaktrace\n"
              ".SH DESCRIPTION\n"
              "A process traced by libleaktrace.so, preloaded by \\fBleaktrace run\\fR or by "
              "hand (LD_PRELOAD=.../libleaktrace.so), reads these variables once, when it "
              "starts, and passes them on to the processes it starts. A bad value gets one line "
              "on stderr and the default; it never stops the program.\n"
              ".SH THE PRELOAD\n",
              out);
#define LT_X_OPT(field, NAME, type, def, min, max, help)                                           \
        opt_var(out, NAME, #type, #def, #min, #max, help);
        LT_OPTIONS(LT_X_OPT)
#undef LT_X_OPT
        others(out, "PRELOAD");
        fputs(".SH THE NODE MODULE\n"
              "In a node process, the preload adds \\fB\\-\\-require\\fR leaktrace.js to "
              "NODE_OPTIONS; the module reads LEAKTRACE_TICK_MS, LEAKTRACE_QUIET and "
              "LEAKTRACE_JS as the preload does, and:\n",
              out);
        others(out, "NODE");
        fputs(".SH THE COMMAND\n", out);
        others(out, "COMMAND");
        fputs(".SH SET FOR THE TRACED PROCESSES\n"
              "Not for users: leaktrace and the preload set them.\n",
              out);
        others(out, "INTERNAL");
        fputs(".SH SEE ALSO\n.BR leaktrace (1)\n", out);
        return lt_out_error(out);
}
