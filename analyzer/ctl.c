/* `leaktrace ctl PID|FILE start|stop|snapshot [NAME]|status`: talks to a
 * running traced process through its trace file. The file is mode 0600, so
 * only its owner (or root) can open it for writing: that is the whole of
 * the access control, and no signal the application might use is sent.
 * The process's background thread polls the control block every
 * LT_CONTROL_POLL_MS and answers by storing the request's sequence number. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "jsstate.h"
#include "leaktrace/format.h"
#include "leaktrace/node_exe.h"
#include "trace.h"

#define ANSWER_WITHIN_MS 2000

static const char *const command_names[] = {
#define LT_X_NAME(K, name) [LT_CMD_##K] = name,
        LT_COMMANDS(LT_X_NAME)
#undef LT_X_NAME
};

static const char *const state_names[] = {
#define LT_X_NAME(K, text) [LT_STATE_##K] = text,
        LT_STATES(LT_X_NAME)
#undef LT_X_NAME
};

static const char *const drop_names[] = {
#define LT_X_NAME(K, text, what) [LT_DROP_##K] = text,
        LT_DROPS(LT_X_NAME)
#undef LT_X_NAME
};

/* The trace file mapped in MAPS (a /proc maps file), as lt_file_of_pid();
 * *LINES gets how many lines it has. */
static int file_in_maps(const char *maps, char *path, size_t size, int *lines)
{
        FILE *f = fopen(maps, "r");
        *lines = 0;
        if (!f)
                return -errno;
        char line[4096 + 128];
        int found = -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                ++*lines;
                char *p = strchr(line, '/');
                if (!p)
                        continue;
                p[strcspn(p, "\n")] = '\0';
                size_t n = strlen(p);
                static const char deleted[] = " (deleted)";
                int gone = n > sizeof(deleted) - 1 && !strcmp(p + n - (sizeof(deleted) - 1), deleted);
                if (gone)
                        p[n -= sizeof(deleted) - 1] = '\0';
                const char *base = strrchr(p, '/') + 1;
                if (strncmp(base, "leaktrace.", 10) || n < 3 || strcmp(p + n - 3, ".lt"))
                        continue;
                snprintf(path, size, "%s", p);
                found = gone ? -ESTALE : 0; /* the last one mapped is the newest image's */
        }
        fclose(f);
        return found;
}

/* The trace file a running process has mapped: its path, from /proc/PID/maps.
 * Returns 0, -ENOENT (none), -ESTALE (one whose file was deleted: PATH
 * names it), or another -errno. A process whose main thread has exited
 * (pthread_exit) has an empty map there: another thread's says it. */
int lt_file_of_pid(pid_t pid, char *path, size_t size)
{
        char maps[64];
        int lines;
        snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
        int found = file_in_maps(maps, path, size, &lines);
        if (found != -ENOENT || lines)
                return found;
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
        DIR *d = opendir(dir);
        if (!d)
                return found;
        struct dirent *e;
        while ((e = readdir(d)) && found == -ENOENT && !lines) {
                if (e->d_name[0] == '.' || atoi(e->d_name) == (int)pid)
                        continue;
                char task[sizeof(dir) + sizeof(e->d_name) + 8];
                snprintf(task, sizeof(task), "%s/%s/maps", dir, e->d_name);
                found = file_in_maps(task, path, size, &lines);
        }
        closedir(d);
        return found;
}


static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static void human(char *buf, size_t size, double v)
{
        const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
        int u = 0;
        while (v >= 1024 && u < 4) {
                v /= 1024;
                u++;
        }
        snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* The live figures now, the sum of the sites' (the header's totals are
 * added by each thread 64 KiB at a time), from the file as the report
 * reads it. Returns 0, or -1 when it cannot be read so (then the totals
 * do). */
static int live_now(const char *path, int64_t *bytes, int64_t *blocks)
{
        struct lt_trace t;
        char why[256];
        if (lt_trace_load(path, &t, why, sizeof(why)) < 0)
                return -1;
        int64_t b = 0, k = 0;
        for (uint64_t i = 0; i < t.nstacks; i++) {
                b += t.stacks[i].live_bytes;
                k += t.stacks[i].live_blocks;
        }
        lt_trace_free(&t);
        *bytes = b;
        *blocks = k;
        return 0;
}

static void print_status(const char *path, const struct lt_header *h)
{
        const char *cmd = h->cmdline_len ? h->cmdline : "?";
        uint32_t state = h->history.state < LT_STATE__COUNT ? h->history.state : LT_STATE_OFF;
        int64_t bytes = h->totals.live_bytes, blocks = h->totals.live_blocks;
        int exact = live_now(path, &bytes, &blocks) == 0;
        char live[32];
        human(live, sizeof(live), (double)bytes);
        printf("pid %u (%s): %s\n", h->pid, cmd, state_names[state]);
        printf("file: %s\n", path);
        unsigned long long timers = h->sections[LT_SEC_TIMERS].count;
        unsigned long long stacks = h->sections[LT_SEC_STACKS].count;
        printf("live: %s%s in %lld block%s, %llu stack%s, %llu OS timer%s made%s\n",
               exact ? "" : "about ", live, (long long)blocks, blocks == 1 ? "" : "s", stacks,
               stacks == 1 ? "" : "s", timers, timers == 1 ? "" : "s",
               lt_is_node_exe(h->exe) ? " (JS timers: in the report)" : "");
        unsigned long long snaps = h->sections[LT_SEC_SNAPSHOTS].count;
        printf("timeline: %u tick%s of %u ms, %llu snapshot%s\n", h->history.ticks,
               h->history.ticks == 1 ? "" : "s", h->history.tick_ms, snaps, snaps == 1 ? "" : "s");
        int any = 0;
        for (int k = 0; k < LT_DROP__COUNT; k++) {
                if (!h->drops[k])
                        continue;
                printf("%s%llu %s", any ? ", " : "dropped: ", (unsigned long long)h->drops[k],
                       drop_names[k]);
                any = 1;
        }
        printf(any ? "\n" : "dropped: nothing\n");
        if (h->sample_bytes)
                printf("sampling: one per %llu bytes on average\n",
                       (unsigned long long)h->sample_bytes);
}

int lt_ctl_send(struct lt_header *h, uint32_t cmd, const char *arg, int wait_ms, int *status)
{
        struct lt_control *c = &h->control;
        memset(c->req_arg, 0, sizeof(c->req_arg));
        memcpy(c->req_arg, arg, strnlen(arg, sizeof(c->req_arg) - 1));
        __atomic_store_n(&c->req_cmd, cmd, __ATOMIC_RELEASE);
        uint32_t seq = __atomic_add_fetch(&c->req_seq, 1, __ATOMIC_ACQ_REL);
        for (int waited = 0; __atomic_load_n(&c->done_seq, __ATOMIC_ACQUIRE) != seq; waited += 10) {
                if (waited >= wait_ms)
                        return -ETIMEDOUT;
                sleep_ms(10);
        }
        *status = c->done_status;
        return 0;
}

/* When pid is `leaktrace run` (this same program), the child it started:
 * the pid a user finds first (`$!`, pgrep) is often run's. 0 otherwise. */
static pid_t run_child(pid_t pid)
{
        char link[64], exe[PATH_MAX], self[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(link, exe, sizeof(exe) - 1), m = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0 || m <= 0 || n != m || memcmp(exe, self, (size_t)n))
                return 0;
        snprintf(link, sizeof(link), "/proc/%d/task/%d/children", (int)pid, (int)pid);
        FILE *f = fopen(link, "r");
        if (!f)
                return 0;
        int child = 0;
        if (fscanf(f, "%d", &child) != 1)
                child = 0;
        fclose(f);
        return (pid_t)child;
}

/* After `start`: node's JS module reads the recording state between two
 * tasks of its event loop, 20 ms apart, and writes its state file saying
 * it follows timers. Waited for (up to JS_WITHIN_MS), so that the timers
 * the program makes once this command returned are followed. Returns 0,
 * or -1 when the module did not say so in time (its loop busy, or gone). */
#define JS_WITHIN_MS 2000
static int js_follows(const char *trace_path)
{
        char *state = lt_js_state_path(trace_path);
        if (!state)
                return 0;
        int rc = 0;
        for (int waited = 0;; waited += 10) {
                char head[1024];
                FILE *f = fopen(state, "re");
                if (!f)
                        break; /* no JS module in this process */
                size_t n = fread(head, 1, sizeof(head) - 1, f);
                fclose(f);
                head[n] = '\0';
                if (!strstr(head, "\"following\":false"))
                        break; /* following, or a module that does not say */
                if (waited >= JS_WITHIN_MS) {
                        rc = -1;
                        break;
                }
                nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        free(state);
        return rc;
}

/* The effective uid of process PID (/proc/PID/status, which anyone may
 * read), or (uid_t)-1. */
static uid_t owner_of(pid_t pid)
{
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return (uid_t)-1;
        unsigned real, eff;
        uid_t uid = (uid_t)-1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Uid: %u %u", &real, &eff) == 2) {
                        uid = (uid_t)eff;
                        break;
                }
        fclose(f);
        return uid;
}

static int ctl_main(int argc, char **argv)
{
        struct lt_args a;
        int opt = LT_ARGS_END;
        lt_args_init(&a, &lt_ctl_cmd, argc, argv);
        /* No option but --help, first: a snapshot's name may start with a
         * dash. */
        if (argc >= 2 && argv[1][0] == '-')
                opt = lt_args_next(&a);
        if (opt != LT_ARGS_END)
                return lt_args_status(opt);
        if (argc < 3 || argc > 4) {
                lt_usage_error("ctl", "expects PID|FILE COMMAND [NAME]");
                return 2;
        }
        const char *target = argv[1], *verb = argv[2], *name = argc > 3 ? argv[3] : "";
        int cmd = 0;
        for (int k = 1; k < LT_CMD__COUNT; k++)
                if (!strcmp(verb, command_names[k]))
                        cmd = k;
        if (!cmd) {
                char near[32];
                if (lt_cli_nearest(verb, lt_ctl_cmd.operand_words, near, sizeof(near)))
                        lt_usage_error("ctl", "unknown command '%s'; did you mean '%s'?", verb,
                                       near);
                else
                        lt_usage_error("ctl", "unknown command '%s': start, stop, snapshot, "
                                              "status or detach",
                                       verb);
                return 2;
        }
        if (argc > 3 && cmd != LT_CMD_SNAPSHOT) {
                lt_usage_error("ctl", "only snapshot takes a name");
                return 2;
        }
        if (strchr(name, '@')) {
                lt_usage_error("ctl", "a snapshot name cannot hold '@' (diff reads FILE@NAME)");
                return 2;
        }
        if (*name && strspn(name, "0123456789") == strlen(name)) {
                lt_usage_error("ctl", "a snapshot name cannot be a number (diff reads FILE@N as the "
                                      "Nth snapshot)");
                return 2;
        }
        if (strlen(name) >= sizeof(((struct lt_control *)0)->req_arg)) {
                lt_usage_error("ctl", "snapshot name longer than %zu bytes",
                               sizeof(((struct lt_control *)0)->req_arg) - 1);
                return 2;
        }

        char path[4096];
        pid_t pid = 0;
        int is_pid = *target != '\0';
        for (const char *c = target; *c; c++)
                is_pid &= isdigit((unsigned char)*c) != 0;
        if (is_pid) {
                pid = (pid_t)atoi(target);
                int err = lt_file_of_pid(pid, path, sizeof(path));
                if (err == -ENOENT && kill(pid, 0) < 0 && errno == ESRCH) {
                        fprintf(stderr, "leaktrace: no process %d\n", (int)pid);
                        return 2;
                }
                if (err == -ENOENT) {
                        pid_t child = run_child(pid);
                        if (child > 0)
                                fprintf(stderr,
                                        "leaktrace: process %d is `leaktrace run`, not the program "
                                        "it traces: that is process %d\n",
                                        (int)pid, (int)child);
                        else
                                fprintf(stderr,
                                        "leaktrace: process %d is not traced (no trace file in its "
                                        "memory map); start it with `leaktrace run --paused`\n",
                                        (int)pid);
                        return 2;
                }
                if (err == -ESTALE) {
                        fprintf(stderr,
                                "leaktrace: process %d: its trace file %s was deleted; there is "
                                "nothing left to control or report\n",
                                (int)pid, path);
                        return 2;
                }
                if (err) {
                        /* Reading another process's map takes its owner, or
                         * CAP_SYS_PTRACE, which root lacks in many containers;
                         * a process of one's own that made itself undumpable
                         * has its /proc files owned by root. */
                        const char *why = err != -EACCES ? ""
                                          : !geteuid() ? " (root without CAP_SYS_PTRACE, as in "
                                                         "many containers)"
                                          : owner_of(pid) == geteuid()
                                              ? " (the process made itself undumpable, "
                                                "prctl(PR_SET_DUMPABLE, 0): only root can read "
                                                "its map)"
                                              : " (only the process's owner or root can control it)";
                        fprintf(stderr,
                                "leaktrace: process %d: cannot read its memory map (%s)%s; name its "
                                "trace file instead of its pid\n",
                                (int)pid, strerror(-err), why);
                        return 2;
                }
        } else {
                snprintf(path, sizeof(path), "%s", target);
        }

        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EISDIR) {
                fprintf(stderr, "leaktrace: %s: is a directory; give a pid or a trace file\n",
                        path);
                return 2;
        }
        if (fd < 0) {
                fprintf(stderr, "leaktrace: %s: cannot open: %s%s\n", path, strerror(errno),
                        errno == EACCES ? " (only the process's owner can control it)" : "");
                return 2;
        }
        struct stat st;
        /* The first LT_HEADER_SIZE_V1 bytes, which every version has alike. */
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < LT_HEADER_SIZE_V1) {
                fprintf(stderr, "leaktrace: %s: not a trace file\n", path);
                close(fd);
                return 2;
        }
        struct lt_header *h =
            mmap(NULL, LT_HEADER_SIZE_V1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (h == MAP_FAILED) {
                fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
                return 2;
        }
        int rc = 2;
        if (memcmp(h->magic, LT_MAGIC, LT_MAGIC_LEN) || !lt_layout_of(h->version)) {
                fprintf(stderr, "leaktrace: %s: not a trace file of this leaktrace\n", path);
                goto out;
        }
        if (h->flags & (LT_F_COMPLETE | LT_F_EXEC)) {
                fprintf(stderr, "leaktrace: %s: process %u has %s; report the file instead\n", path,
                        h->pid, h->flags & LT_F_EXEC ? "exec'd another program" : "exited");
                goto out;
        }
        if ((pid && (uint32_t)pid != h->pid) || kill((pid_t)h->pid, 0) < 0 ||
            (h->proc_start && lt_start_time_of((pid_t)h->pid) != h->proc_start)) {
                fprintf(stderr, "leaktrace: %s: process %u is gone (killed or crashed); report the "
                                "file instead\n",
                        path, h->pid);
                goto out;
        }

        /* Asked for the state it is in: said, and done. */
        uint32_t state = h->history.state;
        if ((cmd == LT_CMD_START && state == LT_STATE_ON) ||
            (cmd == LT_CMD_STOP && state == LT_STATE_STOPPED)) {
                printf("process %u: %s already\n", h->pid, state == LT_STATE_ON ? "recording" : "stopped");
                rc = 0;
                goto out;
        }
        int status;
        if (lt_ctl_send(h, (uint32_t)cmd, name, ANSWER_WITHIN_MS, &status) < 0) {
                fprintf(stderr, "leaktrace: process %u did not answer within %d ms (stopped "
                                "by a debugger or a signal, or its tracer thread is not "
                                "running)\n",
                        h->pid, ANSWER_WITHIN_MS);
                goto out;
        }
        if (status == -EEXIST && cmd == LT_CMD_SNAPSHOT) {
                fprintf(stderr, "leaktrace: process %u has a snapshot named %s already; name this "
                                "one otherwise\n",
                        h->pid, name);
                goto out;
        }
        if (status) {
                fprintf(stderr, "leaktrace: process %u: %s failed: %s%s\n", h->pid, verb,
                        strerror(-status),
                        cmd == LT_CMD_DETACH && status == -EOPNOTSUPP
                            ? " (it was not attached by `leaktrace attach`)"
                            : "");
                goto out;
        }
        if (cmd == LT_CMD_SNAPSHOT) {
                const struct lt_section *s = &h->sections[LT_SEC_SNAPSHOTS];
                if (name && *name)
                        printf("snapshot %llu, %s, taken in process %u (%s)\n",
                               (unsigned long long)s->count, name, h->pid, path);
                else
                        printf("snapshot %llu taken in process %u (%s)\n",
                               (unsigned long long)s->count, h->pid, path);
        } else if (cmd != LT_CMD_STATUS) {
                if (cmd == LT_CMD_START && js_follows(path) < 0)
                        fprintf(stderr,
                                "leaktrace: process %u: node's JS module has not seen the start "
                                "within %d ms (its event loop busy): JS timers are followed from "
                                "when it does\n",
                                h->pid, JS_WITHIN_MS);
                printf("process %u: %s\n", h->pid, state_names[h->history.state < LT_STATE__COUNT
                                                                        ? h->history.state
                                                                        : 0]);
        } else {
                print_status(path, h);
        }
        rc = 0;
out:
        munmap(h, LT_HEADER_SIZE_V1);
        return rc;
}

const struct lt_cli_cmd lt_ctl_cmd = {
    .name = "ctl",
    .operands = "PID|FILE COMMAND [NAME]",
    .summary = "control a running traced process: start, stop, snapshot [NAME], status, "
               "detach",
    .description =
        "Controls a running traced process, named by its pid or its trace file.\n\n"
        "Commands:\n\n"
        "start\tstart recording (a process started with LEAKTRACE_START=paused or `leaktrace "
        "run --paused`, or one stopped before)\n\n"
        "stop\tstop recording new blocks; frees of recorded ones still count\n\n"
        "snapshot [NAME]\tmark the timeline now and keep every site's figures, for `leaktrace "
        "diff FILE@NAME1 FILE@NAME2`\n\n"
        "status\trecording or not, live bytes, sites, drops, the file\n\n"
        "detach\ta process `leaktrace attach` attached to: put everything back, finish the "
        "file (when leaktrace attach was killed)\n\n"
        "Only the owner of the process (or root) can control it: the trace file is mode 0600. "
        "The process answers within " LT_STR(ANSWER_WITHIN_MS) " ms or the command fails.",
    .operand_kind = LT_KIND_CTL,
    .operand_words = LT_COMMANDS(LT_X_WORD),
    .exit_status = "Exit status: 0, or 2 when the process cannot be controlled (one line on "
                   "stderr says why).",
    .main = ctl_main,
};
