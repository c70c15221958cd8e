/* `leaktrace run` and the command line, with a stand-in preload that writes
 * synthetic trace files: the environment given to the program, exit status
 * passed on, the trace files found by session, the report on stderr with
 * stdout left alone, the preload found beside the binary in a build or an
 * install layout, SIGINT left to the child, and every usage error.
 *
 * Usage: lt-test-run LEAKTRACE FAKE_PRELOAD [LEAKTRACE_ASAN]: with the
 * third, every case runs again against the sanitized build. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "leaktrace/options.h"
#include "synth.h"

static const char *leaktrace, *fake;
static char *top;
static int nsub;

static char *subdir(const char *tag)
{
        char *p;
        if (asprintf(&p, "%s/%02d-%s", top, nsub++, tag) < 0)
                abort();
        return p;
}

/* Runs leaktrace with ARGS (NULL-terminated) and the stand-in preload. */
static void lt(struct proc_result *r, char *const *env_extra, const char *cwd, ...)
{
        char *argv[32] = {(char *)leaktrace};
        int n = 1;
        va_list ap;
        va_start(ap, cwd);
        for (char *a; (a = va_arg(ap, char *));)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;
        char *pre;
        if (asprintf(&pre, "LEAKTRACE_PRELOAD=%s", fake) < 0)
                abort();
        /* The sanitized build, preloaded with libm in one case, would
         * refuse to start otherwise. */
        char *env[16] = {pre,
                         "LD_PRELOAD",
                         "LEAKTRACE_DIR",
                         "LEAKTRACE_SESSION",
                         "LT_FAKE_SILENT",
                         "ASAN_OPTIONS=verify_asan_link_order=0"};
        int e = 6;
        for (int i = 0; env_extra && env_extra[i]; i++)
                env[e++] = env_extra[i];
        env[e] = NULL;
        proc_run(r, argv, env, cwd);
        free(pre);
}

/* Trace files in DIR. */
static int count_traces(const char *dir)
{
        DIR *d = opendir(dir);
        int n = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
                n += !strncmp(e->d_name, "leaktrace.", 10);
        if (d)
                closedir(d);
        return n;
}

static int copy_file(const char *from, const char *to)
{
        int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        char buf[65536];
        ssize_t n;
        int ok = in >= 0 && out >= 0;
        while (ok && (n = read(in, buf, sizeof(buf))) > 0)
                ok = write(out, buf, (size_t)n) == n;
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        return ok ? 0 : -1;
}

static void mkdirs(const char *path)
{
        char *p = strdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s == '/') {
                        *s = '\0';
                        mkdir(p, 0755);
                        *s = '/';
                }
        }
        mkdir(p, 0755);
        free(p);
}

static void test_exit_status_and_report(void)
{
        char *d = subdir("exit");
        struct proc_result r;
        lt(&r, NULL, NULL, "run", "-o", d, "--", "/bin/sh", "-c", "exit 3", NULL);
        tap_ok(r.status == 3, "exit status 3 passed on (got %d)", r.status);
        tap_ok(!r.out[0], "nothing on stdout");
        char want[PATH_MAX + 64];
        int pid = 0;
        int ok = sscanf(r.err, "leaktrace: trace of pid %d written to ", &pid) == 1;
        snprintf(want, sizeof(want), "leaktrace: trace of pid %d written to %s/leaktrace.%d.lt\n",
                 pid, d, pid);
        if (!tap_ok(ok && !strncmp(r.err, want, strlen(want)),
                    "stderr starts with the line naming the one file"))
                tap_diag("stderr: %s", r.err);
        snprintf(want, sizeof(want), "pid %d: /bin/sh -c 'exit 3'", pid);
        tap_ok(strstr(r.err, want) && strstr(r.err, "live: 100 bytes in 1 block;"),
               "then the report of that file");
        tap_ok(count_traces(d) == 1, "one trace file in the -o directory");
        proc_free(&r);

        lt(&r, NULL, NULL, "run", "-o", d, "--", "/bin/sh", "-c", "echo hello", NULL);
        tap_ok(r.status == 0 && !strcmp(r.out, "hello\n"), "the program's stdout untouched");
        proc_free(&r);

        lt(&r, NULL, NULL, "run", "-o", d, "--no-report", "/bin/sh", "-c", "exit 0", NULL);
        tap_ok(r.status == 0 && count_lines(r.err) == 1 && strstr(r.err, "written to"),
               "--no-report: only the line naming the file");
        proc_free(&r);

        lt(&r, NULL, NULL, "run", "-o", d, "--format", "json", "--top", "1", "/bin/sh", "-c",
           "exit 0", NULL);
        const char *j =
            strstr(r.err, "\n{\"tool\":\"leaktrace\",\"version\":1,\"process\":{\"pid\":");
        tap_ok(r.status == 0 && j && strstr(j, "\"live_bytes\":100,"), "--format json on stderr");
        proc_free(&r);
        free(d);
}

static void test_environment(void)
{
        char *d = subdir("env");
        mkdir(d, 0755);
        char *extra[] = {"LD_PRELOAD=libm.so.6", NULL};
        struct proc_result r;
        lt(&r, extra, d, "run", "-o", "traces/deeper", "--", "/bin/sh", "-c",
           "printf '%s|%s|%s' \"$LD_PRELOAD\" \"$LEAKTRACE_DIR\" \"$LEAKTRACE_SESSION\"", NULL);
        char real_fake[PATH_MAX], real_d[PATH_MAX], want[3 * PATH_MAX];
        if (!realpath(fake, real_fake) || !realpath(d, real_d))
                abort();
        snprintf(want, sizeof(want), "%s libm.so.6|%s/traces/deeper|", real_fake, real_d);
        const char *session = r.out + strlen(want);
        int ok = !strncmp(r.out, want, strlen(want)) && *session && *session != '0' &&
                 strspn(session, "0123456789") == strlen(session) && strlen(session) <= 20;
        if (!tap_ok(ok, "LD_PRELOAD prepended, LEAKTRACE_DIR absolute, a decimal session"))
                tap_diag("stdout: %s; want %s<session>; stderr: %s", r.out, want, r.err);
        char *traces;
        if (asprintf(&traces, "%s/traces/deeper", d) < 0)
                abort();
        tap_ok(count_traces(traces) == 1, "a missing -o directory is created");
        proc_free(&r);
        free(traces);
        free(d);
}

static void test_signal(void)
{
        char *d = subdir("signal");
        struct proc_result r;
        lt(&r, NULL, NULL, "run", "-o", d, "--", "/bin/sh", "-c", "kill -TERM $$", NULL);
        tap_ok(r.status == 128 + SIGTERM, "killed by SIGTERM: status 143 (got %d)", r.status);
        tap_ok(strstr(r.err, "leaktrace: /bin/sh was killed by signal 15 (SIGTERM)\n") != NULL,
               "and said so");
        tap_ok(strstr(r.err, "note: the process did not exit cleanly") != NULL,
               "its report notes it did not exit cleanly");
        proc_free(&r);

        /* SIGINT sent to leaktrace (by a process, not the terminal): passed
         * on to the child, which decides. */
        char *pre;
        if (asprintf(&pre, "LEAKTRACE_PRELOAD=%s", fake) < 0)
                abort();
        pid_t pid = fork();
        if (pid == 0) {
                putenv(pre);
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                dup2(null, 2);
                execl(leaktrace, leaktrace, "run", "-o", d, "--", "/bin/sh", "-c",
                      "trap 'exit 7' INT; sleep 2 & wait; exit 5", (char *)NULL);
                _exit(124);
        }
        usleep(300000);
        kill(pid, SIGINT);
        int st;
        waitpid(pid, &st, 0);
        tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 7,
               "SIGINT sent to leaktrace reaches the child, whose exit status it passes on");
        free(pre);
        free(d);
}

/* Header fields of the trace files in DIR: pid and cmdline's first word. */
static void test_several_files(void)
{
        char *d = subdir("several");
        mkdir(d, 0755);
        /* A file of another session, left over: never listed. */
        struct synth s;
        const char *argv[] = {"stale"};
        synth_init(&s, 1, 1, argv);
        s.hdr.session = 12345;
        char *stale;
        if (asprintf(&stale, "%s/leaktrace.1.lt", d) < 0 || synth_write(&s, stale) < 0)
                abort();
        synth_free(&s);

        struct proc_result r;
        lt(&r, NULL, NULL, "run", "-o", d, "--", "/bin/sh", "-c", "/bin/true; /bin/true; exit 0",
           NULL);
        tap_ok(r.status == 0, "several processes: exit 0");
        tap_ok(strstr(r.err, "leaktrace: 3 trace files written:\n") != NULL,
               "three files of this run listed, not the stale one");
        int sh_pid = 0, listed = 0, true_lines = 0;
        for (char *l = r.err; (l = strstr(l, "\n  ")); l++) {
                char path[PATH_MAX], rest[PATH_MAX];
                int pid;
                size_t len = strcspn(l + 1, "\n");
                if (len >= sizeof(rest) || sscanf(l + 3, "%s  pid %d", path, &pid) != 2)
                        continue;
                memcpy(rest, l + 1, len);
                rest[len] = '\0';
                listed++;
                if (strstr(rest, "  /bin/sh -c '/bin/true; /bin/true; exit 0'  100 bytes live"))
                        sh_pid = pid;
                if (strstr(rest, "  /bin/true  100 bytes live  complete"))
                        true_lines++;
        }
        tap_ok(listed == 3 && true_lines == 2 && sh_pid > 0,
               "one line per file: path, pid, command, live bytes, complete");
        char want[PATH_MAX + 64], first[PATH_MAX + 64];
        snprintf(want, sizeof(want),
                 "leaktrace: report of the 3 processes:\n3 processes:\n  pid %d  /bin/sh -c ",
                 sh_pid);
        snprintf(first, sizeof(first), "\n\n== %s/leaktrace.%d.lt ==\npid %d: ", d, sh_pid, sh_pid);
        const char *at_first = strstr(r.err, first), *at_other = strstr(r.err, "\n\n== ");
        if (!tap_ok(strstr(r.err, want) != NULL && strstr(r.err, "\nleading sites across the 3 ") &&
                        at_first && at_first == at_other,
                    "then the report of the three, the process run started first"))
                tap_diag("stderr: %s", r.err);
        proc_free(&r);
        free(stale);

        /* The direct child execs: its last image is the one reported. */
        char *d2 = subdir("exec");
        lt(&r, NULL, NULL, "run", "-o", d2, "--", "/bin/sh", "-c", "exec /bin/sh -c 'exit 0'",
           NULL);
        int pid = 0;
        char *at = strstr(r.err, "leaktrace: report of pid ");
        if (at)
                sscanf(at, "leaktrace: report of pid %d", &pid);
        snprintf(want, sizeof(want), "leaktrace: report of pid %d (%s/leaktrace.%d.2.lt):\n", pid,
                 d2, pid);
        if (!tap_ok(strstr(r.err, "leaktrace: 2 trace files written:\n") && strstr(r.err, want),
                    "a child that execs: the report is of its last image"))
                tap_diag("stderr: %s", r.err);
        proc_free(&r);
        free(d2);
        free(d);
}

static void test_no_trace_and_errors(void)
{
        char *d = subdir("none");
        char *silent[] = {"LT_FAKE_SILENT=1", NULL};
        struct proc_result r;
        lt(&r, silent, NULL, "run", "-o", d, "--", "/bin/sh", "-c", "exit 4", NULL);
        tap_ok(r.status == 4 && count_lines(r.err) == 1 &&
                   strstr(r.err, "leaktrace: no trace file was written in ") &&
                   strstr(r.err, "setuid") && strstr(r.err, "statically linked"),
               "no trace file: said in one line, with the likely reasons");
        proc_free(&r);

        lt(&r, NULL, NULL, "run", "-o", d, "--", "/nonexistent/program", NULL);
        tap_ok(r.status == 127 &&
                   !strcmp(r.err, "leaktrace: /nonexistent/program: No such file or directory\n"),
               "a command that does not exist: 127 and one line");
        proc_free(&r);
        char *noexec;
        if (asprintf(&noexec, "%s/not-executable", d) < 0)
                abort();
        close(open(noexec, O_WRONLY | O_CREAT, 0644));
        lt(&r, NULL, NULL, "run", "-o", d, "--", noexec, NULL);
        tap_ok(r.status == 126 && count_lines(r.err) == 1 && strstr(r.err, "Permission denied"),
               "a command that cannot be run: 126 and one line");
        proc_free(&r);
        char *file_as_dir;
        if (asprintf(&file_as_dir, "%s/sub", noexec) < 0)
                abort();
        lt(&r, NULL, NULL, "run", "-o", noexec, "--", "/bin/true", NULL);
        tap_ok(r.status == 2 && count_lines(r.err) == 1 && strstr(r.err, "cannot use"),
               "-o naming a file: status 2, one line");
        proc_free(&r);
        free(file_as_dir);
        free(noexec);

        char *missing[] = {"LEAKTRACE_PRELOAD=/nonexistent/libleaktrace.so", NULL};
        lt(&r, missing, NULL, "run", "-o", d, "--", "/bin/true", NULL);
        tap_ok(r.status == 2 && count_lines(r.err) == 1 &&
                   strstr(r.err, "LEAKTRACE_PRELOAD=/nonexistent/libleaktrace.so"),
               "LEAKTRACE_PRELOAD naming nothing: status 2, one line");
        proc_free(&r);
        free(d);
}

/* leaktrace copied into LAYOUT/bin, the stand-in preload to PRELOAD_AT
 * (relative to LAYOUT, or NULL): what LD_PRELOAD does the program get? */
static void check_layout(const char *what, const char *preload_at)
{
        char *d = subdir("layout"), *bin, *copy;
        if (asprintf(&bin, "%s/bin", d) < 0 || asprintf(&copy, "%s/leaktrace", bin) < 0)
                abort();
        mkdirs(bin);
        copy_file(leaktrace, copy);
        char *pre = NULL;
        if (preload_at) {
                if (asprintf(&pre, "%s/%s", d, preload_at) < 0)
                        abort();
                char *slash = strrchr(pre, '/');
                *slash = '\0';
                mkdirs(pre);
                *slash = '/';
                copy_file(fake, pre);
        }
        char *argv[] = {copy, "run", "-o", d, "--", "/bin/sh", "-c", "printf %s \"$LD_PRELOAD\"",
                        NULL};
        char *env[] = {"LEAKTRACE_PRELOAD", "LD_PRELOAD", "LEAKTRACE_DIR",
                       "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
        struct proc_result r;
        proc_run(&r, argv, env, NULL);
        if (pre) {
                char real[PATH_MAX];
                if (!realpath(pre, real))
                        abort();
                if (!tap_ok(r.status == 0 && !strcmp(r.out, real), "%s: LD_PRELOAD=%s", what,
                            preload_at))
                        tap_diag("status %d, stdout %s, stderr %s", r.status, r.out, r.err);
        } else {
                tap_ok(r.status == 2 && count_lines(r.err) == 1 &&
                           strstr(r.err, "cannot find libleaktrace.so"),
                       "%s: status 2, one line saying where it looked", what);
        }
        proc_free(&r);
        free(pre);
        free(copy);
        free(bin);
        free(d);
}

static void test_usage(void)
{
        struct proc_result r;
        char want[64];
        snprintf(want, sizeof(want), "leaktrace %s\n", LEAKTRACE_VERSION_STRING);
        lt(&r, NULL, NULL, "--version", NULL);
        tap_ok(r.status == 0 && !strcmp(r.out, want), "--version: %s", LEAKTRACE_VERSION_STRING);
        proc_free(&r);
        const char *helps[][3] = {{"--help"}, {"-h"}, {"help"}};
        for (int i = 0; i < 3; i++) {
                lt(&r, NULL, NULL, helps[i][0], NULL);
                tap_ok(r.status == 0 && strstr(r.out, "Usage: leaktrace COMMAND") &&
                           strstr(r.out, "report") && !r.err[0],
                       "%s: usage on stdout, 0", helps[i][0]);
                proc_free(&r);
        }
        lt(&r, NULL, NULL, "run", "--help", NULL);
        int all = r.status == 0;
#define LT_X_NAME(field, NAME, type, def, min, max, help)                                          \
        all &= strstr(r.out, "LEAKTRACE_" NAME " ") != NULL && strstr(r.out, help) != NULL;
        LT_OPTIONS(LT_X_NAME)
#undef LT_X_NAME
        tap_ok(all, "run --help lists every variable of options.h with its help");
        proc_free(&r);
        lt(&r, NULL, NULL, "help", "report", NULL);
        tap_ok(r.status == 0 && strstr(r.out, "--top N"), "help report");
        proc_free(&r);

        struct {
                const char *what, *a[4], *names;
        } bad[] = {
            {"no command", {NULL}, "Usage"},
            {"unknown command", {"frobnicate"}, "'frobnicate'"},
            {"unknown option", {"--frob"}, "'--frob'"},
            {"help for no such command", {"help", "nope"}, "'nope'"},
            {"report: unknown option", {"report", "--bogus", "x.lt"}, "'--bogus'"},
            {"report: no file", {"report"}, "no trace file"},
            {"report: --top not a number", {"report", "--top", "many", "x.lt"}, "'many'"},
            {"report: --format xml", {"report", "--format", "xml", "x.lt"}, "'xml'"},
            {"report: --top without value", {"report", "--top"}, "--top"},
            {"run: unknown option", {"run", "-x", "/bin/true"}, "'-x'"},
            {"run: no command", {"run", "-o", "/tmp"}, "no command"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *argv[8] = {(char *)leaktrace};
                int n = 1;
                for (int k = 0; k < 4 && bad[i].a[k]; k++)
                        argv[n++] = (char *)bad[i].a[k];
                argv[n] = NULL;
                proc_run(&r, argv, NULL, NULL);
                int lines_ok = !strcmp(bad[i].names, "Usage") || count_lines(r.err) == 1;
                if (!tap_ok(r.status == 2 && lines_ok && strstr(r.err, bad[i].names),
                            "%s: status 2, one line naming it", bad[i].what))
                        tap_diag("status %d, stderr: %s", r.status, r.err);
                proc_free(&r);
        }
}

static void run_all(void)
{
        test_exit_status_and_report();
        test_environment();
        test_signal();
        test_several_files();
        test_no_trace_and_errors();
        check_layout("beside the binary (build tree)", "bin/libleaktrace.so");
        check_layout("install tree", "bin/" LEAKTRACE_PRELOAD_RELDIR "/libleaktrace.so");
        check_layout("nowhere", NULL);
        test_usage();
}

int main(int argc, char **argv)
{
        if (argc != 3 && argc != 4) {
                fprintf(stderr, "usage: %s LEAKTRACE FAKE_PRELOAD [LEAKTRACE_ASAN]\n", argv[0]);
                return 2;
        }
        /* Absolute: some cases run from another directory. */
        static char lt_path[PATH_MAX], fake_path[PATH_MAX], asan_path[PATH_MAX];
        if (!realpath(argv[1], lt_path) || !realpath(argv[2], fake_path) ||
            (argc == 4 && !realpath(argv[3], asan_path))) {
                perror("lt-test-run");
                return 2;
        }
        leaktrace = lt_path;
        fake = fake_path;
        top = make_temp_dir("run");
        run_all();
        if (argc == 4) {
                leaktrace = asan_path;
                tap_set_prefix("sanitized: ");
                run_all();
        }
        rm_tree(top);
        return tap_done();
}
