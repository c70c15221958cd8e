/* `leaktrace attach PID`: traces a process that was started without the
 * preload, for a while, then leaves it as it was. inject.c loads the
 * preload into it and calls leaktrace_attach(); from then on the process
 * is controlled like one started under `leaktrace run`, through its trace
 * file (ctl.c), and the detach is a command of that channel: the
 * process's own background thread puts every relocation slot back and
 * finishes the file, with no second stop of the process. In node, the JS
 * timer module is started through node's inspector when the user opened
 * it (node/inspect.js), and stopped before the detach. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "inject.h"
#include "leaktrace/format.h"
#include "leaktrace/node_exe.h"
#include "leaktrace/options.h"
#include "trace.h"

#define DETACH_WITHIN_MS 5000

static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
        (void)sig;
        stop_asked = 1;
}

/* The options for the process: -o as LEAKTRACE_DIR, the others from our
 * environment. Returns 0, or -E2BIG. */
static int make_opts(char *out, size_t size, const char *dir)
{
        size_t used = 0;
        int n = snprintf(out, size, "LEAKTRACE_DIR=%s\n", dir);
        if (n < 0 || (size_t)n >= size)
                return -E2BIG;
        used = (size_t)n;
        const char *v;
#define LT_X_PASS(field, NAME, type, def, min, max, help)                                          \
        if (strcmp(NAME, "DIR") && (v = getenv("LEAKTRACE_" NAME)) && !strchr(v, '\n')) {          \
                n = snprintf(out + used, size - used, "LEAKTRACE_%s=%s\n", NAME, v);               \
                if (n < 0 || (size_t)n >= size - used)                                             \
                        return -E2BIG;                                                             \
                used += (size_t)n;                                                                 \
        }
        LT_OPTIONS(LT_X_PASS)
#undef LT_X_PASS
        return 0;
}

/* Refuses a process that records already: preloaded, or attached by
 * another leaktrace. A file left complete by an earlier attach is fine. */
static int traced_already(pid_t pid)
{
        char path[PATH_MAX];
        struct lt_header h;
        if (lt_file_of_pid(pid, path, sizeof(path)) < 0 || lt_trace_peek(path, &h) < 0 ||
            (h.flags & (LT_F_COMPLETE | LT_F_EXEC)))
                return 0;
        if (h.flags & LT_F_ATTACHED)
                fprintf(stderr,
                        "leaktrace: process %d is attached already (%s); `leaktrace ctl %d "
                        "detach` ends that\n",
                        (int)pid, path, (int)pid);
        else
                fprintf(stderr,
                        "leaktrace: process %d runs under the preload already (%s); use "
                        "`leaktrace ctl %d start|stop|snapshot|status`\n",
                        (int)pid, path, (int)pid);
        return 1;
}

static const char *entry_error(int rc)
{
        switch (rc) {
        case -EEXIST:
                return "it runs under the preload already; use `leaktrace ctl`";
        case -EALREADY:
                return "it is attached already; `leaktrace ctl PID detach` ends that";
        case -EPERM:
                return "a setuid or setgid program is never traced";
        case -LT_ERR_UNSAFE_DIR:
                return "the trace directory is writable by anyone and not sticky, where another "
                       "user could replace the trace: give -o a directory of the process's user, "
                       "or make it sticky (chmod +t)";
        case -ENOTSUP:
                return "it allocates with another allocator than the C library's (jemalloc, "
                       "tcmalloc, ...), whose blocks the C library's free cannot take: start it "
                       "under `leaktrace run` instead";
        default:
                return strerror(-rc);
        }
}

/* Waits for Ctrl-C, the end of the process, or DURATION seconds from T0
 * (when recording began: following the JS timers took a second or two of
 * it). Returns 1 when the process is gone. */
static int wait_for_end(pid_t pid, unsigned long long start, double duration,
                        const struct timespec *t0)
{
        struct timespec now;
        for (;;) {
                if (stop_asked)
                        return 0;
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        return 1;
                if (start && lt_start_time_of(pid) != start)
                        return 1;
                clock_gettime(CLOCK_MONOTONIC, &now);
                double el = (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
                if (duration > 0 && el >= duration)
                        return 0;
                struct timespec nap = { 0, 50 * 1000000L };
                nanosleep(&nap, NULL);
        }
}

/* The port of the one IPv4 socket of pid's that listens on host, for an
 * inspector opened on port 0 (node picks one and only prints it). Several
 * such sockets (the program's own server on the same address) are not told
 * apart: nothing is sent to a port that may be the program's. Returns it,
 * or 0. */
static int listening_port(pid_t pid, const char *host)
{
        struct in_addr want;
        if (inet_pton(AF_INET, host, &want) != 1)
                return 0;
        char path[64], link[64];
        unsigned long inodes[256];
        size_t ninodes = 0;
        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        DIR *d = opendir(path);
        if (!d)
                return 0;
        for (struct dirent *e; (e = readdir(d)) && ninodes < 256;) {
                char fd[PATH_MAX];
                snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
                ssize_t n = readlink(fd, link, sizeof(link) - 1);
                unsigned long ino;
                if (n > 0 && (link[n] = '\0', sscanf(link, "socket:[%lu]", &ino) == 1))
                        inodes[ninodes++] = ino;
        }
        closedir(d);
        snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
        FILE *in = fopen(path, "r");
        if (!in)
                return 0;
        char line[512];
        int port = 0, found = 0;
        while (fgets(line, sizeof(line), in)) {
                unsigned addr, lport, state;
                unsigned long ino;
                if (sscanf(line, " %*u: %8x:%4x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &addr, &lport,
                           &state, &ino) != 4 || state != 0x0A || addr != want.s_addr)
                        continue;
                for (size_t i = 0; i < ninodes; i++)
                        if (inodes[i] == ino) {
                                port = (int)lport;
                                found++;
                        }
        }
        fclose(in);
        return found == 1 ? port : 0;
}

/* Node's inspector, when the user opened it: HOST and PORT of the first
 * --inspect* option of the command line or of NODE_OPTIONS (a port of 0:
 * the one it listens on, when that is plain). Returns 1 when found. */
static int inspector_of(pid_t pid, char *host, size_t hsize, int *port)
{
        char path[64], buf[65536];
        static const char *const files[] = { "cmdline", "environ" };
        for (int f = 0; f < 2; f++) {
                snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[f]);
                FILE *in = fopen(path, "r");
                if (!in)
                        continue;
                size_t n = fread(buf, 1, sizeof(buf) - 1, in);
                fclose(in);
                buf[n] = '\0';
                for (size_t at = 0; at < n; at += strlen(buf + at) + 1) {
                        char *arg = buf + at;
                        if (f == 1 && strncmp(arg, "NODE_OPTIONS=", 13))
                                continue;
                        for (char *tok = strtok(f ? arg + 13 : arg, " "); tok; tok = strtok(NULL, " ")) {
                                if (strncmp(tok, "--inspect", 9))
                                        continue;
                                const char *v = strchr(tok, '=');
                                snprintf(host, hsize, "127.0.0.1");
                                *port = 9229;
                                if (v) {
                                        const char *colon = strrchr(v + 1, ':');
                                        if (colon) {
                                                snprintf(host, hsize, "%.*s", (int)(colon - v - 1),
                                                         v + 1);
                                                v = colon;
                                        }
                                        *port = atoi(v + 1);
                                }
                                if (v && !strcmp(v + 1, "0")) {
                                        *port = listening_port(pid, host[0] ? host : "127.0.0.1");
                                        if (!*port)
                                                fprintf(stderr,
                                                        "leaktrace: JS timers not followed: node's "
                                                        "inspector listens on a port of its choosing "
                                                        "(%s), which its other listening sockets "
                                                        "there hide (nothing is sent to a port that "
                                                        "may be the program's); open it on a port of "
                                                        "yours (--inspect=127.0.0.1:9229)\n",
                                                        tok);
                                }
                                if (!strcmp(host, "0.0.0.0") || !host[0])
                                        snprintf(host, hsize, "127.0.0.1");
                                return *port > 0;
                        }
                }
        }
        return 0;
}

/* node/leaktrace.js and node/inspect.js, beside the preload (a build tree)
 * or in share/leaktrace/node (an install). */
static int js_files(const char *preload, char *module, char *helper)
{
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", preload);
        const char *d = dirname(dir);
        static const char *const rel[] = { "/node/", "/../../share/leaktrace/node/",
                                           "/../share/leaktrace/node/" };
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                char m[PATH_MAX], h[PATH_MAX];
                snprintf(m, sizeof(m), "%s%sleaktrace.js", d, rel[i]);
                snprintf(h, sizeof(h), "%s%sinspect.js", d, rel[i]);
                if (realpath(m, module) && realpath(h, helper))
                        return 0;
        }
        return -ENOENT;
}

/* A JSON string of S, for an expression. */
static void js_string(char *out, size_t size, const char *s)
{
        size_t o = 0;
        out[o++] = '"';
        for (; *s && o + 8 < size; s++) {
                if (*s == '"' || *s == '\\')
                        out[o++] = '\\';
                if ((unsigned char)*s < 0x20)
                        o += (size_t)snprintf(out + o, size - o, "\\u%04x", (unsigned char)*s);
                else
                        out[o++] = *s;
        }
        out[o++] = '"';
        out[o] = '\0';
}

struct js {
        int on;
        char host[256];
        int port;
        char node[PATH_MAX], module[PATH_MAX], helper[PATH_MAX];
};

/* Runs EXPR in the process through its inspector, with the process's own
 * node. Returns 0 with the value's JSON in out, or -1 with the helper's
 * line in out. */
static int js_eval(const struct js *j, const char *expr, char *out, size_t size)
{
        int fds[2];
        out[0] = '\0';
        if (pipe(fds) < 0)
                return snprintf(out, size, "%s", strerror(errno)), -1;
        char port[16];
        snprintf(port, sizeof(port), "%d", j->port);
        pid_t child = fork();
        if (child == 0) {
                dup2(fds[1], 1);
                dup2(fds[1], 2);
                close(fds[0]);
                execl(j->node, j->node, "--experimental-websocket", "--no-warnings", j->helper,
                      j->host, port, expr, (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        size_t got = 0;
        ssize_t n;
        while (child > 0 && got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0)
                got += (size_t)n;
        out[got] = '\0';
        out[strcspn(out, "\n")] = '\0';
        close(fds[0]);
        int st = 0;
        if (child < 0 || waitpid(child, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
                if (!out[0])
                        snprintf(out, size, "%.900s could not run", j->node);
                return -1;
        }
        return 0;
}

/* Starts node/leaktrace.js in a node process whose inspector is open, into
 * the state beside the trace PATH. */
static void js_attach(pid_t pid, const char *preload, const char *path, struct js *j)
{
        char exe[64], stem[PATH_MAX], qstem[2 * PATH_MAX], qmod[2 * PATH_MAX], expr[5 * PATH_MAX];
        snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(exe, j->node, sizeof(j->node) - 1);
        if (n <= 0)
                return;
        j->node[n] = '\0';
        if (!lt_is_node_exe(j->node) || !inspector_of(pid, j->host, sizeof(j->host), &j->port))
                return;
        if (js_files(preload, j->module, j->helper) < 0) {
                fprintf(stderr, "leaktrace: JS timers not followed: node/leaktrace.js and "
                                "node/inspect.js are not beside %s\n",
                        preload);
                return;
        }
        snprintf(stem, sizeof(stem), "%.*s", (int)strlen(path) - 3, path);
        js_string(qstem, sizeof(qstem), stem);
        js_string(qmod, sizeof(qmod), j->module);
        const char *tick = getenv("LEAKTRACE_TICK_MS");
        snprintf(expr, sizeof(expr), "require(%s).attach(%s, %d)", qmod, qstem,
                 tick ? atoi(tick) : 0);
        char out[1024];
        if (js_eval(j, expr, out, sizeof(out)) < 0 || !strcmp(out, "null")) {
                fprintf(stderr, "leaktrace: JS timers not followed (node's inspector at %s:%d: %s)\n",
                        j->host, j->port, out[0] && strcmp(out, "null") ? out : "the module tracks already");
                return;
        }
        j->on = 1;
        fprintf(stderr,
                "leaktrace: JS timers followed through node's inspector at %s:%d (node says "
                "\"Debugger attached.\" on its stderr for each connection)\n",
                j->host, j->port);
}

static void js_detach(const struct js *j)
{
        char expr[3 * PATH_MAX], qmod[2 * PATH_MAX], out[1024];
        if (!j->on)
                return;
        js_string(qmod, sizeof(qmod), j->module);
        snprintf(expr, sizeof(expr), "require(%s).detach()", qmod);
        if (js_eval(j, expr, out, sizeof(out)) < 0)
                fprintf(stderr, "leaktrace: the JS timer module could not be stopped (%s); it stops "
                                "at exit\n",
                        out);
}

/* Sends the detach through the file. Returns 0, or 2 after saying why. */
static int detach(pid_t pid, const char *path)
{
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "leaktrace: %s: %s; the process is still recording: `leaktrace ctl "
                                "%d detach` ends that\n",
                        path, strerror(errno), (int)pid);
                return 2;
        }
        /* The control and the flags: in the first LT_HEADER_SIZE_V1 bytes,
         * where every version has them. */
        struct lt_header *h =
            mmap(NULL, LT_HEADER_SIZE_V1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (h == MAP_FAILED) {
                fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
                return 2;
        }
        int status = 0, rc = 0;
        if (h->flags & LT_F_COMPLETE) {
                rc = 0; /* it exited meanwhile: the file is finished */
        } else if (lt_ctl_send(h, LT_CMD_DETACH, "", DETACH_WITHIN_MS, &status) < 0) {
                fprintf(stderr,
                        "leaktrace: process %d did not answer the detach within %d ms (stopped "
                        "by a signal?); `leaktrace ctl %d detach` ends it later\n",
                        (int)pid, DETACH_WITHIN_MS, (int)pid);
                rc = 2;
        } else if (status) {
                fprintf(stderr, "leaktrace: process %d: detach failed: %s\n", (int)pid,
                        strerror(-status));
                rc = 2;
        }
        munmap(h, LT_HEADER_SIZE_V1);
        return rc;
}

static int attach_main(int argc, char **argv)
{
        struct lt_report_opts o = {.top = LT_DEFAULT_TOP};
        const char *dir = ".";
        double duration = 0;
        int no_report = 0, c;
        struct lt_args a;
        lt_args_init(&a, &lt_attach_cmd, argc, argv);
        while ((c = lt_args_next(&a)) > 0) {
                char *end;
                switch (c) {
                case 'o':
                        dir = a.val;
                        break;
                case 't':
                case 'f':
                case 'S':
                        if (lt_report_opt(&o, "attach", lt_report_opt_name(c), a.val) < 0)
                                return 2;
                        break;
                case 'n':
                        no_report = 1;
                        break;
                case 'd':
                        duration = strtod(a.val, &end);
                        if (*end || end == a.val || !(duration > 0) || duration > 1e7) {
                                lt_usage_error("attach", "%s wants seconds, not '%s'", a.name,
                                               a.val);
                                return 2;
                        }
                        break;
                }
        }
        if (c != LT_ARGS_END)
                return lt_args_status(c);
        if (a.noperands != 1) {
                lt_usage_error("attach", a.noperands ? "one PID only" : "no PID given");
                return 2;
        }
        const char *arg = argv[1]; /* the operands are gathered at argv[1..] */
        char *end;
        long lpid = strtol(arg, &end, 10);
        if (*end || end == arg || lpid <= 0 || lpid > INT32_MAX) {
                lt_usage_error("attach", "'%s' is not a process id", arg);
                return 2;
        }
        pid_t pid = (pid_t)lpid;
        if (pid == getpid()) {
                lt_usage_error("attach", "leaktrace cannot attach to itself");
                return 2;
        }

        char why[512];
        if (lt_inject_check(pid, why, sizeof(why)) < 0) {
                fprintf(stderr, "leaktrace: %s\n", why);
                return 2;
        }
        if (traced_already(pid))
                return 2;
        char preload[PATH_MAX], absdir[PATH_MAX], opts[4000];
        if (lt_find_preload(preload) < 0)
                return 2;
        int err = lt_make_dir(dir, absdir);
        if (err) {
                fprintf(stderr, "leaktrace: cannot use %s for trace files: %s\n", dir,
                        strerror(-err));
                return 2;
        }
        if (make_opts(opts, sizeof(opts), absdir) < 0) {
                fprintf(stderr, "leaktrace: the LEAKTRACE_* options are too long to pass\n");
                return 2;
        }
        unsigned long long start = lt_start_time_of(pid);
        int rc = 0;
        struct timespec t0;
        err = lt_inject(pid, preload, opts, &rc, why, sizeof(why));
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (err) {
                fprintf(stderr, "leaktrace: %s\n", why);
                return 2;
        }
        if (rc == -EACCES || rc == -EROFS) {
                /* /proc/PID belongs to the process's effective user. */
                char proc[32], user[32] = "";
                struct stat st;
                snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
                if (stat(proc, &st) == 0)
                        snprintf(user, sizeof(user), " (uid %u)", (unsigned)st.st_uid);
                fprintf(stderr,
                        "leaktrace: process %d%s cannot create its trace file in %s: %s; give it a "
                        "directory it can write with -o DIR\n",
                        (int)pid, user, absdir, strerror(-rc));
                return 2;
        }
        if (rc) {
                fprintf(stderr, "leaktrace: process %d could not start recording: %s (its stderr "
                                "may say more)\n",
                        (int)pid, entry_error(rc));
                return 2;
        }
        char path[PATH_MAX];
        if (lt_file_of_pid(pid, path, sizeof(path)) < 0) {
                fprintf(stderr, "leaktrace: process %d records, but its trace file is not in its "
                                "memory map\n",
                        (int)pid);
                return 2;
        }

        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (duration > 0)
                fprintf(stderr, "leaktrace: attached to process %d, recording into %s for %g s "
                                "(Ctrl-C detaches sooner)\n",
                        (int)pid, path, duration);
        else
                fprintf(stderr, "leaktrace: attached to process %d, recording into %s; Ctrl-C "
                                "detaches\n",
                        (int)pid, path);
        struct js js = { 0 };
        js_attach(pid, preload, path, &js);
        int gone = wait_for_end(pid, start, duration, &t0);
        if (!gone)
                js_detach(&js);
        if (gone)
                fprintf(stderr, "leaktrace: process %d ended while attached; its file is as of its "
                                "end\n",
                        (int)pid);
        int status = gone ? 0 : detach(pid, path);
        if (!gone && !status)
                fprintf(stderr, "leaktrace: detached from process %d; trace written to %s\n",
                        (int)pid, path);
        if (status)
                return status;
        if (!no_report) {
                char *paths[] = { path };
                lt_report_to_stderr(paths, 1, &o);
        }
        return 0;
}

static const struct lt_cli_opt attach_opts[] = {
    {'o', 'o', "output", "DIR", LT_KIND_DIR, NULL,
     "where the trace file goes (default: the current directory; the process must be able to "
     "write there)"},
    {'d', 0, "duration", "S", LT_KIND_ANY, NULL, "detach after S seconds (default: at Ctrl-C)"},
    LT_END_REPORT_OPTS,
    {'n', 0, "no-report", NULL, LT_KIND_ANY, NULL, "only say where the trace file is"},
    {0},
};

const struct lt_cli_cmd lt_attach_cmd = {
    .name = "attach",
    .operands = "PID",
    .summary = "trace a running process started without the preload, for a while, then detach "
               "and report",
    .description =
        "Loads libleaktrace.so into the running process PID, started without it, and records "
        "what it allocates from now on, until Ctrl-C or the end of --duration; then puts back "
        "everything it changed, leaves the process running, and reports on stderr. Blocks "
        "allocated before the attach are unknown: the report covers only what was allocated "
        "after it.\n\n"
        "LEAKTRACE_DEPTH, LEAKTRACE_TICK_MS and the other variables of leaktrace-env(7) are "
        "taken from leaktrace's own environment (not the process's).\n\n"
        "Attaching needs the right to trace the process: the same user (or root), and "
        "kernel.yama.ptrace_scope 0, or root (CAP_SYS_PTRACE) when it is 1 or 2. If leaktrace "
        "is killed while attached, `leaktrace ctl PID detach` ends it.\n\n"
        "JS timers of a node process are followed when its inspector is open (--inspect): "
        "node/leaktrace.js is started there; no port is ever opened. Otherwise they need a "
        "restart under `leaktrace run --paused` (then `leaktrace ctl PID start`).",
    .opts = attach_opts,
    .operand_kind = LT_KIND_ANY,
    .exit_status = "Exit status: 0 when the process was attached, detached and reported; 2 when "
                   "it cannot be attached (one line on stderr says why and what to do) or the "
                   "command line is wrong.",
    .main = attach_main,
};
