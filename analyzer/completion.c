/* The bash completion script, from the tables of the command line (cli.h):
 * commands, each one's options, the values an option takes (format names,
 * files, directories) and its operands (trace files, a program, a ctl
 * command). Written by `leaktrace help --bash-completion` at build time. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* The script's helpers: what to offer for each kind of word. */
static const char helpers[] =
    "# bash completion for leaktrace. Written by `leaktrace help --bash-completion`\n"
    "# from the tables of its command line: edit analyzer/*.c, not this.\n"
    "\n"
    "_leaktrace_reply()\n"
    "{\n"
    "        local IFS=$'\\n'\n"
    "        case $1 in\n"
    "        traces) COMPREPLY=($(compgen -d -- \"$2\") $(compgen -f -X '!*.lt' -- \"$2\")) ;;\n"
    "        files) COMPREPLY=($(compgen -f -- \"$2\")) ;;\n"
    "        dirs) COMPREPLY=($(compgen -d -- \"$2\")) ;;\n"
    "        esac\n"
    "        # Outside a completion (a test calling the function), compopt fails.\n"
    "        compopt -o filenames 2>/dev/null\n"
    "        return 0\n"
    "}\n"
    "\n";

static const char *reply_of(enum lt_cli_kind k)
{
        switch (k) {
        case LT_KIND_TRACE:
                return "traces";
        case LT_KIND_FILE:
                return "files";
        case LT_KIND_DIR:
                return "dirs";
        default:
                return NULL;
        }
}

static void words(FILE *out, const char *w)
{
        fprintf(out, "COMPREPLY=($(compgen -W '%s' -- \"$cur\"))", w);
}

/* The options of C, as one word list. */
static void option_words(FILE *out, const struct lt_cli_cmd *c)
{
        for (const struct lt_cli_opt *o = c->opts; o && o->key; o++) {
                if (o->short_name)
                        fprintf(out, "-%c ", o->short_name);
                fprintf(out, "--%s ", o->name);
        }
        fputs("-h --help", out);
}

/* The names of C's options that take a value, as a case pattern. */
static int valued(FILE *out, const struct lt_cli_cmd *c)
{
        int n = 0;
        for (const struct lt_cli_opt *o = c->opts; o && o->key; o++) {
                if (!o->arg)
                        continue;
                if (o->short_name)
                        fprintf(out, "%s-%c", n++ ? "|" : "", o->short_name);
                fprintf(out, "%s--%s", n++ ? "|" : "", o->name);
        }
        return n;
}

static void command(FILE *out, const struct lt_cli_cmd *c)
{
        int first_only = (c->flags & LT_CLI_OPTIONS_FIRST) != 0;
        fprintf(out, "        %s)\n", c->name);
        /* Which operand this is: the words before that are neither options
         * nor their values. */
        fputs("                local n=0 j\n"
              "                for ((j = ci + 1; j < COMP_CWORD; j++)); do\n"
              "                        case ${COMP_WORDS[j]} in\n"
              "                        --) ;;\n"
              "                        ",
              out);
        if (valued(out, c))
                fputs(") [[ ${COMP_WORDS[j+1]} == = ]] && ((j++)); ((j++)) ;;\n"
                      "                        ",
                      out);
        fprintf(out,
                "-*) ;;\n"
                "                        *) ((n++)); [[ $first ]] || first=$j%s ;;\n"
                "                        esac\n"
                "                done\n",
                first_only ? "; break" : "");
        /* The value of the option before; an option. */
        fprintf(out, "                if ((%s)); then\n", first_only ? "n == 0" : "1");
        if (c->opts && c->opts[0].key) {
                fputs("                        case $prev in\n", out);
                for (const struct lt_cli_opt *o = c->opts; o->key; o++) {
                        if (!o->arg)
                                continue;
                        fputs("                        ", out);
                        if (o->short_name)
                                fprintf(out, "-%c|", o->short_name);
                        fprintf(out, "--%s) ", o->name);
                        if (o->kind == LT_KIND_WORDS)
                                words(out, o->words);
                        else if (reply_of(o->kind))
                                fprintf(out, "_leaktrace_reply %s \"$cur\"", reply_of(o->kind));
                        else
                                fputs(":", out); /* a number, a name: nothing to offer */
                        fputs("; return ;;\n", out);
                }
                fputs("                        esac\n", out);
        }
        fputs("                        if [[ $cur == -* && $dd == 0 ]]; then\n"
              "                                COMPREPLY=($(compgen -W '",
              out);
        option_words(out, c);
        fputs("' -- \"$cur\"))\n"
              "                                return\n"
              "                        fi\n"
              "                fi\n",
              out);
        switch (c->operand_kind) {
        case LT_KIND_PROGRAM:
                /* The program's own words are its own: bash-completion's
                 * _command_offset completes them as if it were typed alone. */
                fputs("                if ((n == 0)); then\n"
                      "                        COMPREPLY=($(compgen -c -- \"$cur\"))\n"
                      "                elif declare -F _command_offset >/dev/null; then\n"
                      "                        _command_offset $first\n"
                      "                else\n"
                      "                        _leaktrace_reply files \"$cur\"\n"
                      "                fi\n",
                      out);
                break;
        case LT_KIND_CTL:
                fputs("                if ((n == 0)); then\n"
                      "                        _leaktrace_reply traces \"$cur\"\n"
                      "                elif ((n == 1)); then\n                        ",
                      out);
                words(out, c->operand_words);
                fputs("\n                fi\n", out);
                break;
        case LT_KIND_COMMAND: {
                char names[256];
                lt_cli_command_words(names, sizeof(names));
                fputs("                ((n == 0)) && ", out);
                words(out, names);
                fputc('\n', out);
                break;
        }
        default:
                if (reply_of(c->operand_kind))
                        fprintf(out, "                _leaktrace_reply %s \"$cur\"\n",
                                reply_of(c->operand_kind));
        }
        fputs("                ;;\n", out);
}

int lt_bash_completion(FILE *out)
{
        char names[256];
        lt_cli_command_words(names, sizeof(names));
        fputs(helpers, out);
        fputs("_leaktrace()\n"
              "{\n"
              "        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
              "        # --name=value: bash has split it at the '='.\n"
              "        if [[ $cur == = ]]; then\n"
              "                cur=\n"
              "        elif [[ $prev == = ]]; then\n"
              "                prev=${COMP_WORDS[COMP_CWORD-2]}\n"
              "        fi\n"
              "        COMPREPLY=()\n"
              "        local ci cmd= first= dd=0\n"
              "        for ((ci = 1; ci < COMP_CWORD; ci++)); do\n"
              "                if [[ ${COMP_WORDS[ci]} != -* ]]; then\n"
              "                        cmd=${COMP_WORDS[ci]}\n"
              "                        break\n"
              "                fi\n"
              "        done\n"
              "        local k\n"
              "        for ((k = ci + 1; k < COMP_CWORD; k++)); do\n"
              "                [[ ${COMP_WORDS[k]} == -- ]] && dd=1\n"
              "        done\n"
              "        if [[ -z $cmd ]]; then\n"
              "                if [[ $cur == -* ]]; then\n"
              "                        COMPREPLY=($(compgen -W '",
              out);
        for (const struct lt_cli_opt *o = lt_cli_global_opts; o->key; o++)
                fprintf(out, "%s-%c --%s", o == lt_cli_global_opts ? "" : " ", o->short_name,
                        o->name);
        fputs("' -- \"$cur\"))\n"
              "                else\n                        ",
              out);
        words(out, names);
        fputs("\n"
              "                fi\n"
              "                return\n"
              "        fi\n"
              "        case $cmd in\n",
              out);
        for (size_t i = 0; i < lt_cli_ncommands; i++)
                command(out, lt_cli_commands[i]);
        fputs("        esac\n"
              "}\n"
              "complete -F _leaktrace leaktrace\n",
              out);
        return lt_out_error(out);
}
