/* `leaktrace run`: starts a program with libleaktrace.so preloaded, waits
 * for it as a shell would, then finds the trace files it and its children
 * wrote (by the session number given to them in the environment) and
 * reports on stderr, leaving the program's stdout to the program. */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "leaktrace/format.h"
#include "leaktrace/options.h"
#include "progress.h"
#include "trace.h"
#include "writers.h"

#define PRELOAD_NAME "libleaktrace.so"

static void print_option(FILE *out, const char *name, const char *type, const char *def,
                         const char *min, const char *max, const char *help)
{
        char range[64] = "";
        if (!strcmp(type, "INT"))
                snprintf(range, sizeof(range), "%s..%s, ", min, max);
        else if (!strcmp(type, "BOOL"))
                snprintf(range, sizeof(range), "0 or 1, ");
        fprintf(out, "  LEAKTRACE_%s (%sdefault %s)\n      %s\n", name, range, def, help);
}

/* After the options: the variables, from options.h as the preload reads
 * them. */
static void run_more_help(FILE *out)
{
        fputs("\nThe traced program reads these (run sets LEAKTRACE_DIR from -o):\n", out);
#define LT_X_HELP(field, NAME, type, def, min, max, help)                                          \
        print_option(out, NAME, #type, #def, #min, #max, help);
        LT_OPTIONS(LT_X_HELP)
#undef LT_X_HELP
        fputs("\nAnd leaktrace itself reads:\n"
              "  LEAKTRACE_PRELOAD\n"
              "      the preload to use, instead of the " PRELOAD_NAME
              " installed with leaktrace\n"
              "(all of them: man leaktrace-env)\n",
              out);
}

/* Where an install puts the preload, relative to this program's directory:
 * the build defines it from the install layout. */
#ifndef LEAKTRACE_PRELOAD_RELDIR
#define LEAKTRACE_PRELOAD_RELDIR "../lib/leaktrace"
#endif

/* The preload: $LEAKTRACE_PRELOAD, else the one beside this program in a
 * build tree, else where an install puts it relative to this program, so
 * that an install tree moved elsewhere still works. Writes its absolute
 * path into out[PATH_MAX]. Returns 0, or -errno after saying why on stderr. */
int lt_find_preload(char *out)
{
        const char *env = getenv("LEAKTRACE_PRELOAD");
        if (env && *env) {
                if (!realpath(env, out)) {
                        int err = -errno;
                        fprintf(stderr, "leaktrace: LEAKTRACE_PRELOAD=%s: %s\n", env,
                                strerror(-err));
                        return err;
                }
                return 0;
        }
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) {
                int err = n < 0 ? -errno : -ENOENT;
                fprintf(stderr,
                        "leaktrace: cannot find where leaktrace is (/proc/self/exe: %s); "
                        "set LEAKTRACE_PRELOAD\n",
                        strerror(-err));
                return err;
        }
        self[n] = '\0';
        const char *dir = dirname(self);
        static const char *const rel[] = {"", LEAKTRACE_PRELOAD_RELDIR "/"};
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                char cand[PATH_MAX];
                if (snprintf(cand, sizeof(cand), "%s/%s" PRELOAD_NAME, dir, rel[i]) <
                        (int)sizeof(cand) &&
                    access(cand, R_OK) == 0 && realpath(cand, out))
                        return 0;
        }
        fprintf(stderr,
                "leaktrace: cannot find " PRELOAD_NAME " beside %s/leaktrace, nor in "
                "%s/" LEAKTRACE_PRELOAD_RELDIR "; set LEAKTRACE_PRELOAD to its path\n",
                dir, dir);
        return -ENOENT;
}

/* mkdir -p, then the absolute path into out[PATH_MAX]. Returns 0 or -errno. */
int lt_make_dir(const char *dir, char *out)
{
        char path[PATH_MAX];
        if (!*dir)
                return -ENOENT;
        if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        for (char *p = path + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;
                *p = '\0';
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = c;
                if (!c)
                        break;
        }
        if (!realpath(path, out))
                return -errno;
        struct stat st;
        if (stat(out, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static uint64_t new_session(void)
{
        uint64_t s = 0;
        while (!s) {
                if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
                        /* No entropy source: time and pid are unique enough
                         * to tell this run's files from a neighbour's. */
                        struct timespec ts;
                        clock_gettime(CLOCK_REALTIME, &ts);
                        s = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                            ((uint64_t)getpid() << 40);
                }
        }
        return s;
}

static int set_environment(const char *preload, const char *dir, uint64_t session)
{
        const char *old = getenv("LD_PRELOAD");
        char *value, num[32];
        if (old && *old ? asprintf(&value, "%s %s", preload, old) < 0 : !(value = strdup(preload)))
                return -ENOMEM;
        snprintf(num, sizeof(num), "%" PRIu64, session);
        int err = 0;
        if (setenv("LD_PRELOAD", value, 1) < 0 || setenv("LEAKTRACE_DIR", dir, 1) < 0 ||
            setenv(LT_SESSION_ENV, num, 1) < 0 || unsetenv(LT_ROOT_ENV) < 0 ||
            unsetenv(LT_FOLLOW_SAID_ENV) < 0 || unsetenv(LT_OPTIONS_SAID_ENV) < 0)
                err = -errno;
        free(value);
        return err;
}

/* Signals sent to `leaktrace run` (a service manager's SIGTERM, a script's
 * kill, a test harness's SIGINT) are the program's: passed on, so that it
 * can end cleanly and its trace is complete. SIGINT and SIGQUIT from the
 * terminal (Ctrl-C, Ctrl-\) reach the program by its process group
 * already, and are not sent twice: the kernel sends those (SI_KERNEL), a
 * process sends the others. A kill of the whole group (kill -INT -PGID)
 * is sent by a process too, and reaches the program twice. */
static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))
static volatile pid_t forward_to;

static void forward(int sig)
{
        int saved = errno;
        if (forward_to > 0)
                kill(forward_to, sig);
        errno = saved;
}

static void forward_sent(int sig, siginfo_t *info, void *ctx)
{
        (void)ctx;
        if (info->si_code != SI_KERNEL)
                forward(sig);
}

/* Runs argv as a child, waiting as a shell does. Returns its wait status,
 * or -errno when it could not be started (said on stderr). *pid gets the
 * child's pid. */
static int spawn(char **argv, pid_t *pid)
{
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        struct sigaction sent = {.sa_sigaction = forward_sent, .sa_flags = SA_RESTART | SA_SIGINFO},
                         old_int, old_quit;
        struct sigaction fwd = {.sa_handler = forward, .sa_flags = SA_RESTART},
                         old_fwd[NFORWARDED];
        sigemptyset(&sent.sa_mask);
        sigemptyset(&fwd.sa_mask);
        /* Ignored before (nohup, a shell's background job): stay so. */
        sigaction(SIGINT, NULL, &old_int);
        sigaction(SIGQUIT, NULL, &old_quit);
        struct sigaction ign = {.sa_handler = SIG_IGN};
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, old_int.sa_handler == SIG_IGN ? &ign : &sent, NULL);
        sigaction(SIGQUIT, old_quit.sa_handler == SIG_IGN ? &ign : &sent, NULL);
        for (size_t i = 0; i < NFORWARDED; i++)
                sigaction(forwarded[i], NULL, &old_fwd[i]);
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGQUIT, &old_quit, NULL);
                close(pfd[0]);
                execvp(argv[0], argv);
                int e = errno;
                ssize_t w = write(pfd[1], &e, sizeof(e));
                (void)w;
                _exit(127);
        }
        int err = child < 0 ? -errno : 0, status = 0;
        forward_to = child;
        for (size_t i = 0; i < NFORWARDED && child > 0; i++)
                if (old_fwd[i].sa_handler != SIG_IGN) /* nohup's SIGHUP stays ignored */
                        sigaction(forwarded[i], &fwd, NULL);
        close(pfd[1]);
        if (!err) {
                int e;
                ssize_t n;
                while ((n = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
                        ;
                while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                        ;
                if (n == (ssize_t)sizeof(e))
                        err = -e;
        }
        close(pfd[0]);
        for (size_t i = 0; i < NFORWARDED; i++)
                sigaction(forwarded[i], &old_fwd[i], NULL);
        forward_to = 0;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        if (err) {
                fprintf(stderr, "leaktrace: %s: %s\n", argv[0], strerror(-err));
                return err;
        }
        *pid = child;
        return status;
}

struct found {
        char *path;
        struct lt_header hdr;
        int direct; /* the pid run started */
};

static int found_cmp(const void *pa, const void *pb)
{
        const struct found *a = pa, *b = pb;
        if (a->direct != b->direct)
                return a->direct ? -1 : 1;
        if (a->hdr.pid == b->hdr.pid && a->hdr.exec_count != b->hdr.exec_count)
                return a->hdr.exec_count < b->hdr.exec_count ? -1 : 1; /* images in exec order */
        if (a->hdr.start_ns != b->hdr.start_ns)
                return a->hdr.start_ns < b->hdr.start_ns ? -1 : 1;
        if (a->hdr.pid != b->hdr.pid)
                return a->hdr.pid < b->hdr.pid ? -1 : 1;
        return a->hdr.exec_count < b->hdr.exec_count ? -1 : a->hdr.exec_count > b->hdr.exec_count;
}

/* The trace files in DIR whose header carries SESSION, the direct child's
 * first, a process's images in exec order, the others by start time.
 * Returns how many, or -errno. */
static ssize_t find_traces(const char *dir, uint64_t session, pid_t child, struct found **out)
{
        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        struct found *f = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        int err = 0;
        while (!err && (e = readdir(d))) {
                size_t len = strlen(e->d_name);
                if (len < 13 || strncmp(e->d_name, "leaktrace.", 10) ||
                    strcmp(e->d_name + len - 3, ".lt"))
                        continue;
                struct found one = {0};
                if (asprintf(&one.path, "%s/%s", dir, e->d_name) < 0) {
                        err = -ENOMEM;
                        break;
                }
                if (lt_trace_peek(one.path, &one.hdr) < 0 || one.hdr.session != session) {
                        free(one.path);
                        continue;
                }
                if (n == cap) {
                        struct found *g = realloc(f, (cap = cap ? 2 * cap : 8) * sizeof(*g));
                        if (!g) {
                                free(one.path);
                                err = -ENOMEM;
                                break;
                        }
                        f = g;
                }
                one.direct = one.hdr.pid == (uint32_t)child;
                f[n++] = one;
        }
        closedir(d);
        if (err) {
                while (n)
                        free(f[--n].path);
                free(f);
                return err;
        }
        if (n)
                qsort(f, n, sizeof(*f), found_cmp);
        *out = f;
        return (ssize_t)n;
}

/* How the process of H ended, in a word or three. */
static const char *ending(const struct lt_header *h)
{
        switch (lt_trace_end(h)) {
        case LT_END_UNSEEN:
                return "exited past the tracer's hooks";
        case LT_END_SIGNALED:
                return "killed";
        case LT_END_RUNNING:
                return "still running";
        case LT_END_UNCLEAN:
                return "did not exit cleanly";
        default:
                return "complete";
        }
}

/* One line about a trace file, for the list of a run's files. */
static void describe(FILE *out, const struct found *f)
{
        struct lt_trace t;
        char why[512];
        if (lt_trace_load(f->path, &t, why, sizeof(why)) < 0) {
                fprintf(out, "  %s: %s\n", f->path, why);
                return;
        }
        int64_t live = 0;
        for (uint64_t i = 0; i < t.nstacks; i++)
                __builtin_add_overflow(live, t.stacks[i].live_bytes, &live);
        char *cmd = NULL, size[64];
        size_t len = 0;
        FILE *mem = open_memstream(&cmd, &len);
        if (mem) {
                lt_write_command(mem, &t);
                fclose(mem);
        }
        /* One line a file: a long command is cut. */
        if (cmd && len > 72)
                strcpy(cmd + 69, "...");
        fprintf(out, "  %s  pid %" PRIu32 "  %s  %s live  %s\n", f->path, t.hdr.pid,
                cmd ? cmd : "?", lt_human_bytes(size, sizeof(size), live),
                ending(&t.hdr));
        free(cmd);
        lt_trace_free(&t);
}

/* The report goes to stderr in one piece, not interleaved by stderr's lack
 * of buffering with what else is said there. */
void lt_report_to_stderr(char **paths, size_t n, const struct lt_report_opts *o)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem) {
                lt_report_files(stderr, paths, n, o);
                return;
        }
        lt_report_files(mem, paths, n, o);
        fclose(mem);
        fwrite(buf, 1, len, stderr);
        free(buf);
}

/* Whether file I of the N is of an image that a later image of the same
 * process (same pid, same start) replaced by exec. */
static int replaced(const struct found *f, ssize_t n, ssize_t i)
{
        for (ssize_t j = 0; j < n; j++)
                if (f[j].hdr.pid == f[i].hdr.pid && f[j].hdr.proc_start == f[i].hdr.proc_start &&
                    f[j].hdr.exec_count > f[i].hdr.exec_count)
                        return 1;
        return 0;
}

/* For people at a terminal, after the run: the command that reports its
 * files again, and the page to explore them in. */
static void say_how_to_report(const char *dir, char **paths, size_t n)
{
        fputs("leaktrace: to report again: leaktrace report", stderr);
        if (n <= 3) {
                for (size_t i = 0; i < n; i++)
                        fprintf(stderr, " %s", paths[i]);
        } else {
                fprintf(stderr, " %s (every trace in it)", dir);
        }
        fputs("; a page to explore them: add --format html -o report.html\n", stderr);
}

/* The file execvp ran for cmd, into path. Returns 0, or -1. */
static int command_file(const char *cmd, char *path)
{
        if (strchr(cmd, '/'))
                return snprintf(path, PATH_MAX, "%s", cmd) < PATH_MAX ? 0 : -1;
        const char *dirs = getenv("PATH");
        for (const char *d = dirs && *dirs ? dirs : "/usr/local/bin:/usr/bin:/bin"; *d;) {
                size_t len = strcspn(d, ":");
                if (len && (size_t)snprintf(path, PATH_MAX, "%.*s/%s", (int)len, d, cmd) < PATH_MAX &&
                    access(path, X_OK) == 0)
                        return 0;
                d += len + (d[len] == ':');
        }
        return -1;
}

/* Why the loader never preloads into the program at path, when that is
 * plain from the file: a static or 32-bit executable, a setuid or setgid
 * one. NULL when it is not (a script, a launcher, a program that clears
 * LD_PRELOAD). */
static const char *never_preloaded(const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        if (st.st_mode & (S_ISUID | S_ISGID))
                return "is setuid or setgid: the loader ignores LD_PRELOAD for it";
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        Elf64_Ehdr eh;
        const char *why = NULL;
        if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
                if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
                        why = "is not a 64-bit program: the preload cannot be loaded into it";
                } else if (eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
                        int interp = 0;
                        for (unsigned i = 0; i < eh.e_phnum && !interp; i++) {
                                Elf64_Phdr ph;
                                if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
                                    (ssize_t)sizeof(ph))
                                        break;
                                interp = ph.p_type == PT_INTERP;
                        }
                        if (!interp)
                                why = "is statically linked: no loader reads LD_PRELOAD for it, and "
                                      "leaktrace cannot trace it";
                }
        }
        close(fd);
        return why;
}

/* The command was killed by a signal, or exited past the tracer's hooks
 * (the exit system call): its last image's file, which could
 * not say so itself, says it now, with the signal or the status. */
static void mark_ended(struct found *f, ssize_t n, pid_t child, int wstatus)
{
        struct found *last = NULL;
        for (ssize_t i = 0; i < n; i++)
                if (f[i].hdr.pid == (uint32_t)child &&
                    (!last || f[i].hdr.exec_count > last->hdr.exec_count))
                        last = &f[i];
        if (!last || (last->hdr.flags & (LT_F_COMPLETE | LT_F_EXEC)))
                return;
        int fd = open(last->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        uint32_t flags = last->hdr.flags |
                         (WIFSIGNALED(wstatus) ? LT_F_SIGNALED : LT_F_EXITED | LT_F_STATUS);
        uint32_t status = (uint32_t)(WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
        if (pwrite(fd, &status, sizeof(status), offsetof(struct lt_header, exit_status)) ==
            (ssize_t)sizeof(status))
                pwrite(fd, &flags, sizeof(flags), offsetof(struct lt_header, flags));
        close(fd);
}

/* Whether process PID has the preload mapped: its trace file is coming,
 * if it is not there yet. */
static int preloaded(pid_t pid)
{
        char path[64], line[4096];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        FILE *m = fopen(path, "re");
        if (!m)
                return 0;
        int found = 0;
        while (!found && fgets(line, sizeof(line), m))
                found = strstr(line, "/libleaktrace.so") != NULL;
        fclose(m);
        return found;
}

/* Waits, at most 2 s in all, for the trace files of the processes the
 * command left running (a daemon: glibc's daemon() forks, and the parent
 * exits at once, before the child may have opened its file). The kernel
 * gave them to run, the command's subreaper: they are run's children now,
 * the command reaped. */
static void await_daemons(const char *dir)
{
        DIR *proc = opendir("/proc");
        if (!proc)
                return;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        struct dirent *e;
        while ((e = readdir(proc))) {
                char *end, path[PATH_MAX + 64], stat[512];
                long pid = strtol(e->d_name, &end, 10);
                if (pid <= 0 || *end)
                        continue;
                snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof(stat) - 1);
                if (fd >= 0)
                        close(fd);
                if (n <= 0)
                        continue;
                stat[n] = '\0';
                /* "pid (comm) state ppid ...": comm may hold anything but
                 * ends at the last ')' */
                const char *rp = strrchr(stat, ')');
                char state;
                int ppid;
                if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid() ||
                    state == 'Z' || !preloaded((pid_t)pid))
                        continue;
                snprintf(path, sizeof(path), "%s/leaktrace.%ld.lt", dir, pid);
                for (;;) {
                        if (access(path, F_OK) == 0)
                                break;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        if ((now.tv_sec - start.tv_sec) * 1000000000L + now.tv_nsec - start.tv_nsec >
                            2000000000L)
                                break;
                        nanosleep(&(struct timespec){0, 10000000}, NULL);
                }
        }
        closedir(proc);
}

static void after_run(const char *dir, const char *cmd, uint64_t session, pid_t child,
                      int status, const struct lt_report_opts *o, int no_report)
{
        await_daemons(dir);
        struct found *f = NULL;
        ssize_t n = find_traces(dir, session, child, &f);
        if (n < 0) {
                fprintf(stderr, "leaktrace: cannot look for trace files in %s: %s\n", dir,
                        strerror((int)-n));
                return;
        }
        if (WIFSIGNALED(status) || WIFEXITED(status))
                mark_ended(f, n, child, status);
        char file[PATH_MAX];
        const char *why = n == 0 && command_file(cmd, file) == 0 ? never_preloaded(file) : NULL;
        if (why) {
                fprintf(stderr, "leaktrace: no trace file was written: %s %s\n", cmd, why);
                free(f);
                return;
        }
        if (n == 0) {
                fprintf(stderr,
                        "leaktrace: no trace file was written in %s: %s may only start other "
                        "programs, none of them node (--follow all traces every program), or be "
                        "setuid or setgid (the loader ignores LD_PRELOAD for those), statically "
                        "linked, or clear LD_PRELOAD; if the preload could not write, it said why "
                        "above\n",
                        dir, cmd);
                free(f);
                return;
        }
        /* Each process in its last image, the one run started first: a
         * wrapper that execs the real program leaves the program as the one
         * reported. */
        char **paths = calloc((size_t)n, sizeof(*paths));
        size_t np = 0;
        ssize_t one = 0;
        for (ssize_t i = 0; paths && i < n; i++) {
                if (!replaced(f, n, i)) {
                        paths[np++] = f[i].path;
                        one = i;
                }
        }
        if (n == 1) {
                fprintf(stderr, "leaktrace: trace of pid %" PRIu32 " written to %s\n", f[0].hdr.pid,
                        f[0].path);
        } else {
                fprintf(stderr, "leaktrace: %zd trace files written:\n", n);
                for (ssize_t i = 0; i < n; i++)
                        describe(stderr, &f[i]);
                if (!no_report && np == 1)
                        fprintf(stderr, "leaktrace: report of pid %" PRIu32 " (%s):\n",
                                f[one].hdr.pid, f[one].path);
                else if (!no_report && np)
                        fprintf(stderr, "leaktrace: report of the %zu processes%s:\n", np,
                                np < (size_t)n ? " (images replaced by exec left out)" : "");
        }
        if (!paths)
                fprintf(stderr, "leaktrace: out of memory\n");
        else if (!no_report && !o->output)
                lt_report_to_stderr(paths, np, o);
        else if (!no_report && lt_report_files(stdout, paths, np, o) == 0 &&
                 strcmp(o->output, "-"))
                fprintf(stderr, "leaktrace: report written to %s\n", o->output);
        if (paths && lt_progress_wanted())
                say_how_to_report(dir, paths, np);
        free(paths);
        for (ssize_t i = 0; i < n; i++)
                free(f[i].path);
        free(f);
}

static int run_main(int argc, char **argv)
{
        struct lt_report_opts o = {.top = LT_DEFAULT_TOP};
        const char *dir = ".";
        const char *follow = NULL;
        int no_report = 0, paused = 0, no_js_frames = 0, c;
        int64_t sample = -1;
        struct lt_args a;
        lt_args_init(&a, &lt_run_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0) {
                switch (c) {
                case 'o':
                        if (!*a.val) {
                                lt_usage_error("run", "%s wants a directory, not an empty name",
                                               a.name);
                                return 2;
                        }
                        dir = a.val;
                        break;
                case 't':
                case 'f':
                case 'S':
                        if (lt_report_opt(&o, "run", lt_report_opt_name(c), a.val) < 0)
                                return 2;
                        break;
                case 'n':
                        no_report = 1;
                        break;
                case 'R':
                        o.output = a.val;
                        break;
                case 'p':
                        paused = 1;
                        break;
                case 'F':
                        follow = a.val;
                        break;
                case 'j':
                        no_js_frames = 1;
                        break;
                case 's':
                        if (lt_parse_count(a.val, 1, &sample) < 0 || sample > (1 << 30)) {
                                lt_usage_error("run",
                                               "--sample wants a number of bytes from 0 to 1G (K, "
                                               "M, G allowed), not '%s'",
                                               a.val);
                                return 2;
                        }
                        break;
                }
        }
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (!a.noperands) {
                lt_usage_error("run", "no command given");
                return 2;
        }
        char preload[PATH_MAX], absdir[PATH_MAX];
        if (lt_find_preload(preload) < 0)
                return 2;
        if (strpbrk(preload, " :")) {
                fprintf(stderr,
                        "leaktrace: %s: LD_PRELOAD cannot name a path with a space or a "
                        "colon; copy it elsewhere and set LEAKTRACE_PRELOAD\n",
                        preload);
                return 2;
        }
        int err = lt_make_dir(dir, absdir);
        if (err) {
                fprintf(stderr, "leaktrace: cannot use %s for trace files: %s\n", dir,
                        strerror(-err));
                return 2;
        }
        /* What the preload would refuse, said before the program starts
         * untraced: a directory it cannot write, or one anyone may write
         * to without the sticky bit (another user could replace a trace). */
        struct stat dst;
        if (access(absdir, W_OK | X_OK) < 0) {
                fprintf(stderr, "leaktrace: cannot write trace files in %s: %s; give -o a "
                                "directory you can write\n",
                        absdir, strerror(errno));
                return 2;
        }
        if (stat(absdir, &dst) == 0 && (dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX)) {
                fprintf(stderr, "leaktrace: %s is writable by anyone and not sticky: another user "
                                "could replace a trace; give -o a directory of yours, or make it "
                                "sticky (chmod +t)\n",
                        absdir);
                return 2;
        }
        /* The report's file, likewise: not found lost after the run. */
        if (o.output && strcmp(o.output, "-")) {
                char *copy = strdup(o.output);
                const char *parent = copy ? dirname(copy) : ".";
                int bad = access(o.output, F_OK) == 0 ? access(o.output, W_OK)
                                                      : access(parent, W_OK | X_OK);
                int e = errno;
                free(copy);
                if (bad < 0) {
                        fprintf(stderr, "leaktrace: cannot write the report to %s: %s\n",
                                o.output, strerror(e));
                        return 2;
                }
        }
        char sample_str[24];
        snprintf(sample_str, sizeof(sample_str), "%" PRId64, sample);
        uint64_t session = new_session();
        if (set_environment(preload, absdir, session) < 0 ||
            (paused && setenv("LEAKTRACE_START", "paused", 1) < 0) ||
            (follow && setenv("LEAKTRACE_FOLLOW", follow, 1) < 0) ||
            (no_js_frames && setenv("LEAKTRACE_JS_FRAMES", "0", 1) < 0) ||
            (sample >= 0 && setenv("LEAKTRACE_SAMPLE", sample_str, 1) < 0)) {
                fprintf(stderr, "leaktrace: cannot set the environment: %s\n", strerror(errno));
                return 2;
        }
        char **cmd = argv + 1;
        argv[1 + a.noperands] = NULL;
        if (lt_progress_wanted())
                fprintf(stderr, "leaktrace: tracing %s; trace files go to %s\n", cmd[0], absdir);
        /* What the command leaves running when it exits (a daemon) comes
         * to run, not to init: its trace is waited for and reported. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        pid_t child = 0;
        int status = spawn(cmd, &child);
        if (status < 0)
                return status == -ENOENT ? 127 : 126;
        int code;
        if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                char name[32];
                fprintf(stderr, "leaktrace: %s was killed by signal %d (%s)%s\n", cmd[0], sig,
                        lt_signal_name(sig, name, sizeof(name)),
                        WCOREDUMP(status) ? ", core dumped" : "");
                code = 128 + sig;
        } else {
                code = WEXITSTATUS(status);
        }
        after_run(absdir, cmd[0], session, child, status, &o, no_report);
        return code;
}

static const struct lt_cli_opt run_opts[] = {
    {'o', 'o', "output", "DIR", LT_KIND_DIR, NULL,
     "where trace files go (default: the current directory; created if missing)"},
    {'p', 0, "paused", NULL, LT_KIND_ANY, NULL,
     "record nothing until `leaktrace ctl PID start` (sets LEAKTRACE_START=paused): start a "
     "server, warm it up, then record only the load test"},
    {'F', 0, "follow", "MODE", LT_KIND_WORDS, "node all none ",
     "which processes are traced (sets LEAKTRACE_FOLLOW): node (default): CMD, unless a shell "
     "or a package manager, and every node process but npm, npx, yarn and pnpm; all: every "
     "process; none: CMD only"},
    {'s', 0, "sample", "BYTES", LT_KIND_ANY, NULL,
     "sample one allocation per BYTES allocated, on average (sets LEAKTRACE_SAMPLE; K, M, G "
     "allowed; 0: every one, the default): figures become unbiased estimates, and the "
     "tracer's cost a few per cent at 512K, the rate for a staging server under load"},
    {'j', 0, "no-js-frames", NULL, LT_KIND_ANY, NULL,
     "node: do not ask for its perf map; JS frames stay addresses (sets "
     "LEAKTRACE_JS_FRAMES=0)"},
    LT_END_REPORT_OPTS,
    {'R', 0, "report-to", "FILE", LT_KIND_FILE, NULL,
     "write the report to FILE, not to stderr (JSON or HTML to keep apart from what CMD says "
     "there)"},
    {'n', 0, "no-report", NULL, LT_KIND_ANY, NULL, "only say which trace files were written"},
    {0},
};

const struct lt_cli_cmd lt_run_cmd = {
    .name = "run",
    .operands = "[--] CMD [ARGS...]",
    .summary = "run CMD traced, then report on stderr",
    .description =
        "Runs CMD with " PRELOAD_NAME " preloaded. CMD and every node process it starts "
        "write a trace file each, DIR/leaktrace.<pid>.lt; when CMD is done, the report of its "
        "processes goes to stderr, so that CMD's stdout stays its own (several processes: the "
        "sites they share first, then each one's).\n\n"
        "On a terminal, run first says where the traces go, and last how to report them "
        "again.",
    .opts = run_opts,
    .operand_kind = LT_KIND_PROGRAM,
    .exit_status = "Exit status: CMD's (128+N when signal N killed it); 2 for a bad command "
                   "line, 126 or 127 when CMD cannot be started.",
    .main = run_main,
    .more_help = run_more_help,
    .flags = LT_CLI_OPTIONS_FIRST,
};
