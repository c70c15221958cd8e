/* The command line from the tables of cli.h: the parser, its suggestions,
 * and the help. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

#define WIDTH 80
#define OPT_COLUMN 22 /* where an option's help starts, unless its name is longer */

void lt_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "leaktrace%s%s: ", cmd ? " " : "", cmd ? cmd : "");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, " (see leaktrace %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
        va_end(ap);
}

const struct lt_cli_cmd *lt_cli_find(const char *name)
{
        for (size_t i = 0; i < lt_cli_ncommands; i++)
                if (!strcmp(lt_cli_commands[i]->name, name))
                        return lt_cli_commands[i];
        return NULL;
}

void lt_cli_command_words(char *out, size_t size)
{
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < lt_cli_ncommands && n < size; i++)
                n += (size_t)snprintf(out + n, size - n, "%s ", lt_cli_commands[i]->name);
}

void lt_cli_words(FILE *out, const char *words)
{
        for (const char *w = words; *w;) {
                size_t lw = strcspn(w, " ");
                int last = !w[lw] || !w[lw + 1];
                fprintf(out, "%s%.*s", w == words ? "" : last ? " or " : ", ", (int)lw, w);
                w += lw + (w[lw] == ' ');
        }
}

char *lt_cli_opt_help(const struct lt_cli_opt *o)
{
        const char *mark = o->words ? strstr(o->help, "{}") : NULL;
        if (!mark)
                return strdup(o->help);
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        fprintf(f, "%.*s", (int)(mark - o->help), o->help);
        lt_cli_words(f, o->words);
        fputs(mark + 2, f);
        if (fclose(f)) {
                free(s);
                return NULL;
        }
        return s;
}

/* Optimal string alignment distance (Damerau-Levenshtein without edits of
 * a transposed pair), bounded: anything over 8 is 9. */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
        if (la > 32 || lb > 32)
                return 9;
        unsigned d[33][33];
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned)i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                for (size_t j = 1; j <= lb; j++) {
                        unsigned best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                        if (d[i - 1][j] + 1 < best)
                                best = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < best)
                                best = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < best)
                                best = d[i - 2][j - 2] + 1;
                        d[i][j] = best;
                }
        }
        return d[la][lb] > 8 ? 9 : d[la][lb];
}

int lt_cli_nearest(const char *s, const char *words, char *out, size_t size)
{
        size_t ls = strlen(s);
        /* A third of the word may be wrong: "reprot", "--formt", "chek"; not
         * "x" for "json", nor "-x" for "-o". */
        unsigned best = ls < 3 ? 0 : (unsigned)ls / 3 + (ls % 3 != 0);
        unsigned best_d = best + 1;
        const char *pick = NULL, *prefix_of = NULL;
        size_t pick_len = 0, prefix_len = 0;
        int prefixes = 0;
        for (const char *w = words; *w;) {
                size_t lw = strcspn(w, " ");
                unsigned d = distance(s, ls, w, lw);
                if (d < best_d) {
                        best_d = d;
                        pick = w;
                        pick_len = lw;
                }
                /* Dashes alone are no prefix of an option. */
                if (ls < lw && !strncmp(w, s, ls) && strspn(s, "-") < ls) {
                        prefixes++;
                        prefix_of = w;
                        prefix_len = lw;
                }
                w += lw + (w[lw] == ' ');
        }
        if (best_d > best || best_d == 0) {
                if (prefixes != 1)
                        return 0;
                pick = prefix_of;
                pick_len = prefix_len;
        }
        snprintf(out, size, "%.*s", (int)pick_len, pick);
        return 1;
}

/* The options of CMD as a word list ("--top -o --output ..."), with -h and
 * --help. Returns a malloc'd string, or NULL. */
static char *option_words(const struct lt_cli_opt *opts)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        for (const struct lt_cli_opt *o = opts; o && o->key; o++) {
                if (o->short_name)
                        fprintf(f, "-%c ", o->short_name);
                fprintf(f, "--%s ", o->name);
        }
        fputs("-h --help ", f);
        if (fclose(f)) {
                free(s);
                return NULL;
        }
        return s;
}

static int unknown_option(const struct lt_args *a, const char *arg, size_t len)
{
        char given[64], near[64], *words = option_words(a->cmd->opts);
        snprintf(given, sizeof(given), "%.*s", (int)(len < 60 ? len : 60), arg);
        /* "-format" for "--format": a dash too few. */
        char twice[66];
        snprintf(twice, sizeof(twice), "-%s", given);
        int single = given[1] != '-' && given[2];
        if (words && ((single && lt_cli_nearest(twice, words, near, sizeof(near))) ||
                      lt_cli_nearest(given, words, near, sizeof(near))))
                lt_usage_error(a->cmd->name, "unknown option '%s'; did you mean '%s'?", given,
                               near);
        else
                lt_usage_error(a->cmd->name, "unknown option '%s'", given);
        free(words);
        return LT_ARGS_BAD;
}

/* Whether VAL is one of O's words; else says so, with the nearest. */
static int check_word(const struct lt_args *a, const struct lt_cli_opt *o, const char *val)
{
        size_t lv = strlen(val);
        for (const char *w = o->words; *w;) {
                size_t lw = strcspn(w, " ");
                if (lw == lv && !strncmp(w, val, lv))
                        return 0;
                w += lw + (w[lw] == ' ');
        }
        char list[256] = "", near[64];
        FILE *f = fmemopen(list, sizeof(list) - 1, "w");
        if (f) {
                lt_cli_words(f, o->words);
                fclose(f);
        }
        if (lt_cli_nearest(val, o->words, near, sizeof(near)))
                lt_usage_error(a->cmd->name, "--%s is %s, not '%s'; did you mean '%s'?", o->name,
                               list, val, near);
        else
                lt_usage_error(a->cmd->name, "--%s is %s, not '%s'", o->name, list, val);
        return -1;
}

void lt_args_init(struct lt_args *a, const struct lt_cli_cmd *cmd, int argc, char **argv)
{
        *a = (struct lt_args){.cmd = cmd, .argc = argc, .argv = argv, .next = 1};
}

int lt_args_next(struct lt_args *a)
{
        static const struct lt_cli_opt help = {'h', 'h', "help", NULL, LT_KIND_ANY, NULL, NULL};
        while (a->next < a->argc) {
                char *arg = a->argv[a->next++];
                if (a->rest || arg[0] != '-' || !arg[1]) {
                        /* Operands move down over what was read: argv[1..] */
                        a->argv[1 + a->noperands++] = arg;
                        if (a->cmd->flags & LT_CLI_OPTIONS_FIRST)
                                a->rest = 1;
                        continue;
                }
                if (!strcmp(arg, "--")) {
                        a->rest = 1;
                        continue;
                }
                const struct lt_cli_opt *o = NULL;
                const char *val = NULL;
                if (arg[1] == '-') {
                        const char *name = arg + 2;
                        size_t len = strcspn(name, "=");
                        if (len == 4 && !strncmp(name, "help", 4))
                                o = &help;
                        for (const struct lt_cli_opt *p = a->cmd->opts; !o && p && p->key; p++)
                                if (strlen(p->name) == len && !strncmp(p->name, name, len))
                                        o = p;
                        if (!o)
                                return unknown_option(a, arg, len + 2);
                        if (name[len] == '=') {
                                if (!o->arg) {
                                        lt_usage_error(a->cmd->name, "--%s takes no value",
                                                       o->name);
                                        return LT_ARGS_BAD;
                                }
                                val = name + len + 1;
                        }
                } else {
                        if (arg[1] == 'h')
                                o = &help;
                        for (const struct lt_cli_opt *p = a->cmd->opts; !o && p && p->key; p++)
                                if (p->short_name && p->short_name == arg[1])
                                        o = p;
                        if (!o || (arg[2] && !o->arg))
                                return unknown_option(a, arg, strlen(arg));
                        if (arg[2])
                                val = arg + 2;
                }
                if (o == &help) {
                        lt_cli_help(a->cmd, stdout);
                        return LT_ARGS_HELP;
                }
                if (o->arg && !val) {
                        if (a->next >= a->argc) {
                                lt_usage_error(a->cmd->name, "%s wants a value (%s)", arg, o->arg);
                                return LT_ARGS_BAD;
                        }
                        val = a->argv[a->next++];
                }
                if (o->kind == LT_KIND_WORDS && check_word(a, o, val) < 0)
                        return LT_ARGS_BAD;
                a->val = val;
                a->name = arg;
                return o->key;
        }
        return LT_ARGS_END;
}

/* A count of bytes or timers: digits, then for bytes an optional K, M or
 * G (KiB, MiB, GiB) suffix. Returns 0, or -EINVAL. */
int lt_parse_count(const char *s, int bytes, int64_t *out)
{
        char *end;
        errno = 0;
        if (!*s || *s == '-' || *s == '+')
                return -EINVAL;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        unsigned shift = 0;
        if (bytes && *end) {
                const char *suf = end;
                shift = *suf == 'K' || *suf == 'k'   ? 10
                        : *suf == 'M' || *suf == 'm' ? 20
                        : *suf == 'G' || *suf == 'g' ? 30
                                                     : 64;
                if (shift == 64)
                        return -EINVAL;
                suf++;
                if (!strcmp(suf, "iB") || !strcmp(suf, "B"))
                        suf += strlen(suf);
                end = (char *)suf;
        }
        if (*end || v > (unsigned long long)INT64_MAX >> shift)
                return -EINVAL;
        *out = (int64_t)(v << shift);
        return 0;
}

/* TEXT from column COL on, words wrapped at WIDTH, further lines indented
 * by INDENT; a newline in TEXT is a space. Ends with a newline. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
        int first = 1;
        for (const char *p = text; *p;) {
                while (*p == ' ' || *p == '\n')
                        p++;
                size_t len = strcspn(p, " \n");
                if (!len)
                        break;
                if (!first && col + 1 + (int)len > WIDTH) {
                        fprintf(out, "\n%*s", indent, "");
                        col = indent;
                        first = 1;
                }
                fprintf(out, "%s%.*s", first ? "" : " ", (int)len, p);
                col += (int)len + !first;
                first = 0;
                p += len;
        }
        fputc('\n', out);
}

/* Paragraphs of DESC, indented by INDENT; list items ("TERM\tTEXT") are
 * aligned on the widest term of their run. */
static void paragraphs(FILE *out, const char *desc, int indent)
{
        const char *p = desc;
        int prev_item = -1, w = 0;
        while (p && *p) {
                const char *end = strstr(p, "\n\n");
                size_t len = end ? (size_t)(end - p) : strlen(p);
                char *para = strndup(p, len);
                if (!para)
                        return;
                char *tab = strchr(para, '\t');
                if (prev_item == 0 || (prev_item == 1 && !tab))
                        fputc('\n', out);
                if (tab && prev_item != 1) {
                        /* The widest term of the run of items this one begins. */
                        w = 0;
                        for (const char *q = p; q && *q;) {
                                const char *t = strchr(q, '\t'), *e = strstr(q, "\n\n");
                                if (!t || (e && t > e))
                                        break;
                                if (t - q > w)
                                        w = (int)(t - q);
                                q = e ? e + 2 : NULL;
                        }
                }
                if (tab) {
                        *tab = '\0';
                        fprintf(out, "%*s%-*s  ", indent + 2, "", w, para);
                        wrap(out, tab + 1, indent + 4 + w, indent + 4 + w);
                } else {
                        fprintf(out, "%*s", indent, "");
                        wrap(out, para, indent, indent);
                }
                prev_item = tab != NULL;
                free(para);
                p = end ? end + 2 : NULL;
        }
}

static void option_list(FILE *out, const struct lt_cli_opt *opts, int with_help)
{
        for (const struct lt_cli_opt *o = opts; o && o->key; o++) {
                char label[64];
                int n;
                if (o->short_name)
                        n = snprintf(label, sizeof(label), "  -%c, --%s%s%s", o->short_name,
                                     o->name, o->arg ? " " : "", o->arg ? o->arg : "");
                else
                        n = snprintf(label, sizeof(label), "  --%s%s%s", o->name, o->arg ? " " : "",
                                     o->arg ? o->arg : "");
                fputs(label, out);
                /* A label too wide for its column has its text on the next line. */
                if (n + 2 > OPT_COLUMN)
                        fprintf(out, "\n%*s", OPT_COLUMN, "");
                else
                        fprintf(out, "%*s", OPT_COLUMN - n, "");
                char *help = lt_cli_opt_help(o);
                wrap(out, help ? help : o->help, OPT_COLUMN, OPT_COLUMN);
                free(help);
        }
        if (with_help)
                fprintf(out, "  -h, --help%*sthis help\n", OPT_COLUMN - 12, "");
}

/* The usage line: "leaktrace NAME [OPTIONS] OPERANDS". */
static void usage_line(const struct lt_cli_cmd *cmd, FILE *out)
{
        fprintf(out, "leaktrace %s%s%s%s", cmd->name,
                cmd->opts && cmd->opts[0].key ? " [OPTIONS]" : "", cmd->operands ? " " : "",
                cmd->operands ? cmd->operands : "");
}

void lt_cli_help(const struct lt_cli_cmd *cmd, FILE *out)
{
        if (!cmd) {
                fputs("Usage: leaktrace COMMAND [ARGS...]\n\n", out);
                wrap(out, lt_cli_intro, 0, 0);
                fputs("\nCommands:\n", out);
                for (size_t i = 0; i < lt_cli_ncommands; i++) {
                        fprintf(out, "  %-10s ", lt_cli_commands[i]->name);
                        wrap(out, lt_cli_commands[i]->summary, 13, 13);
                }
                fputs("\nOptions:\n", out);
                option_list(out, lt_cli_global_opts, 0);
                fputs("\n`leaktrace help COMMAND` or `leaktrace COMMAND --help` tells more; `man "
                      "leaktrace`\nand `man leaktrace-env` tell all.\n",
                      out);
                return;
        }
        fputs("Usage: ", out);
        usage_line(cmd, out);
        fputs("\n\n", out);
        paragraphs(out, cmd->description, 0);
        fputs("\nOptions:\n", out);
        option_list(out, cmd->opts, 1);
        if (cmd->more_help)
                cmd->more_help(out);
        if (cmd->exit_status) {
                fputc('\n', out);
                wrap(out, cmd->exit_status, 0, 0);
        }
}
