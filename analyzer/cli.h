/* The command line of `leaktrace`: every command and every option is a row
 * of a table, from which the parser, the help, the man page and the bash
 * completion are all made, so that they never disagree. A command is a
 * `struct lt_cli_cmd` beside its code, listed once in `lt_cli_commands`
 * (main.c). */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define LT_STR_(x) #x
#define LT_STR(x) LT_STR_(x) /* a number's macro as a string literal */

/* What an option's value or a command's operands are: for the help and
 * the completion. */
enum lt_cli_kind {
        LT_KIND_ANY,     /* a number, a name: nothing to complete */
        LT_KIND_TRACE,   /* trace files (*.lt), or directories of them */
        LT_KIND_FILE,    /* a file to write */
        LT_KIND_DIR,     /* a directory */
        LT_KIND_WORDS,   /* one of `words` (the parser refuses any other) */
        LT_KIND_PROGRAM, /* a program and its arguments */
        LT_KIND_CTL,     /* a pid or trace file, then one of `words` */
        LT_KIND_COMMAND, /* a command of leaktrace */
};

struct lt_cli_opt {
        int key;          /* what lt_args_next() returns for it; 0 ends a table */
        char short_name;  /* 0: none */
        const char *name; /* the long name, without "--" */
        const char *arg;  /* the value's name ("N"); NULL: it takes none */
        enum lt_cli_kind kind;
        const char *words; /* LT_KIND_WORDS: the values, each followed by a space */
        const char *help;  /* one paragraph; "{}" stands for the list of the words */
};

/* Commands whose operands end the options: `run CMD --its-own-option`. */
#define LT_CLI_OPTIONS_FIRST 1u

struct lt_cli_cmd {
        const char *name;
        const char *operands; /* for the usage line: "FILE|DIR..." */
        const char *summary;  /* one line, for the list of commands */
        /* Paragraphs, separated by a blank line; a paragraph "TERM\tTEXT"
         * is an item of a list; `code` is set in bold in the man page. */
        const char *description;
        const struct lt_cli_opt *opts; /* -h, --help is every command's, not listed */
        enum lt_cli_kind operand_kind;
        const char *operand_words;          /* LT_KIND_CTL: the second operand's words */
        const char *exit_status;            /* one paragraph, or NULL */
        int (*main)(int argc, char **argv); /* argv[0] is the command's name */
        void (*more_help)(FILE *out);       /* after the options in --help, or NULL */
        unsigned flags;
};

extern const struct lt_cli_cmd *const lt_cli_commands[];
extern const size_t lt_cli_ncommands;
extern const struct lt_cli_opt lt_cli_global_opts[]; /* leaktrace --help, --version */
extern const char lt_cli_intro[];                    /* what leaktrace is, for help and man */

/* The command named NAME, or NULL. */
const struct lt_cli_cmd *lt_cli_find(const char *name);

/* Walks a command's arguments as getopt_long does, from the table alone:
 * options anywhere (`--name VALUE`, `--name=VALUE`, `-c VALUE`, `-cVALUE`)
 * unless LT_CLI_OPTIONS_FIRST, `--` ends them. Operands are gathered, in
 * order, at argv[1..]. */
struct lt_args {
        const struct lt_cli_cmd *cmd;
        int argc;
        char **argv;
        int next;         /* the next argument to read */
        int noperands;    /* operands gathered so far, at argv[1..] */
        int rest;         /* every argument from here is an operand */
        const char *val;  /* the value of the option just returned */
        const char *name; /* the option just returned, as given ("--top") */
};

enum { LT_ARGS_END = 0, LT_ARGS_HELP = -1, LT_ARGS_BAD = -2 };

void lt_args_init(struct lt_args *a, const struct lt_cli_cmd *cmd, int argc, char **argv);

/* The key of the next option, its value in a->val. LT_ARGS_END when there is
 * none left (operands at argv[1..a->noperands]); LT_ARGS_HELP after the
 * command's help was printed on stdout; LT_ARGS_BAD after one line on
 * stderr said what is wrong (an unknown option with the nearest one, a
 * missing value, a value not among the option's words). */
int lt_args_next(struct lt_args *a);

/* The exit status for what lt_args_next() returned other than an option. */
static inline int lt_args_status(int c)
{
        return c == LT_ARGS_HELP ? 0 : 2;
}

/* The word of the space-terminated list WORDS nearest to S, written into
 * out[size], when one is close enough to be a slip of the fingers (edits
 * with transpositions, or a prefix of only one). Returns 1, else 0. */
int lt_cli_nearest(const char *s, const char *words, char *out, size_t size);

/* The names of the commands, each followed by a space, into out[size]. */
void lt_cli_command_words(char *out, size_t size);

/* The space-terminated WORDS as a list for people: "a, b or c". */
void lt_cli_words(FILE *out, const char *words);

/* O's help, its "{}" replaced by its words. Returns a malloc'd string, or
 * NULL. */
char *lt_cli_opt_help(const struct lt_cli_opt *o);

/* The help of CMD (NULL: of leaktrace itself), to OUT. */
void lt_cli_help(const struct lt_cli_cmd *cmd, FILE *out);

/* The man pages: leaktrace(1), the command; leaktrace-env(7), the
 * environment. And the bash completion script. Each returns 0 or -EIO. */
int lt_man_command(FILE *out);
int lt_man_env(FILE *out);
int lt_bash_completion(FILE *out);

/* A count of bytes or timers: digits, then for bytes an optional K, M or
 * G (KiB, MiB, GiB) suffix. Returns 0, or -EINVAL. */
int lt_parse_count(const char *s, int bytes, int64_t *out);

#endif
