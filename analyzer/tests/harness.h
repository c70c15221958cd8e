/* What the analyzer's test programs share: TAP-style results, and running
 * a program with its output captured. */
#ifndef LT_TEST_HARNESS_H
#define LT_TEST_HARNESS_H

#include <stddef.h>

/* Prints "ok N - name" or "not ok N - name"; returns COND. */
__attribute__((format(printf, 2, 3))) int tap_ok(int cond, const char *fmt, ...);

/* Names every case that follows with PREFIX first (NULL: none), for a
 * test program that runs its cases twice, say against two builds. */
void tap_set_prefix(const char *prefix);

/* Prints a diagnostic line, "# ...", under a failing case. */
__attribute__((format(printf, 1, 2))) void tap_diag(const char *fmt, ...);

/* Prints "N passed, N failed"; returns the exit status of the test program. */
int tap_done(void);

struct proc_result {
        int status; /* exit status, or 128 + signal; -1 when it did not start */
        char *out;  /* everything written to stdout, NUL-terminated */
        char *err;  /* and to stderr */
};

/* Runs ARGV (argv[0] a path), with ENV edits ("NAME=VALUE" sets, "NAME"
 * unsets; NULL-terminated, or NULL), stdin from /dev/null, in directory
 * DIR (NULL: this one), and waits. */
void proc_run(struct proc_result *r, char *const argv[], char *const env[], const char *dir);

void proc_free(struct proc_result *r);

/* Lines in S (a last line without a newline counts). */
int count_lines(const char *s);

/* A fresh directory under $TMPDIR (or /tmp), for rm_tree() to remove with
 * all it holds. Returns a malloc'd path. */
char *make_temp_dir(const char *tag);
void rm_tree(const char *dir);

#endif
