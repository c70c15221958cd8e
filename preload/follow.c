/* Which processes record. The preload stays in LD_PRELOAD for the whole
 * tree of processes (so that a node server started by npm, through a shell,
 * is found), but by default only some of them write a trace:
 *
 *   node  the command itself, and every node process; not shells,
 *         launchers (env, nohup, timeout, ...) or package managers, which
 *         only start other programs: when one of those is the command, the
 *         programs it starts are the command. npm runs scripts through sh,
 *         which runs node: only the last is traced.
 *   all   every process that loads the preload.
 *   none  the command itself; the preload leaves LD_PRELOAD, so nothing it
 *         starts loads it.
 *
 * "The command itself" is the first process of the tree to load the
 * preload and not pass it on, in every image it execs: it names its pid in
 * LEAKTRACE_ROOT_PID for its descendants. */
#define _GNU_SOURCE
#include "follow.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

enum follow { FOLLOW_NODE, FOLLOW_ALL, FOLLOW_NONE };

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static int in_list(const char *name, const char *const *list)
{
        for (; *list; list++)
                if (!strcmp(name, *list))
                        return 1;
        return 0;
}

/* Programs that only start another: tracing them shows nothing of the
 * program the user meant. */
static const char *const launchers[] = {
        /* shells */
        "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox",
        /* programs that run a command in another setting */
        "env", "nohup", "timeout", "setsid", "stdbuf", "nice", "ionice", "taskset", "chrt",
        "unshare", "nsenter", "flock", "xargs", "make", "time",
        /* programs that watch a command: their own memory is not the question */
        "perf", "strace", "ltrace", "hyperfine", "valgrind.bin", NULL,
};

/* Launchers that exec the command in their own process, starting none:
 * the image after them decides for itself, and says so if it must. Their
 * name said would puzzle: `npm start` is `env node npm-cli.js start` by
 * npm's #! line, and "env only starts other programs" named a program the
 * user never ran. */
static const char *const in_place[] = {
        "env", "nohup", "stdbuf", "nice", "ionice", "taskset", "chrt", NULL,
};

/* node scripts that install packages or run the project's scripts; the
 * first argument of node that is not an option names them, as a link in
 * bin/ or as the file it points to. */
static const char *const package_managers[] = {
        "npm",      "npx",      "yarn",     "yarnpkg", "pnpm",      "pnpx",
        "corepack", "npm-cli.js", "npx-cli.js", "yarn.js", "yarn.cjs", "pnpm.cjs",
        "pnpm.mjs", NULL,
};

static ssize_t read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -1;
        buf[n] = '\0';
        return n;
}

/* The first argument after argv[0] that is not an option, or "". */
static const char *script_of(const char *cmdline, ssize_t len)
{
        const char *p = cmdline + strlen(cmdline) + 1;
        while (p < cmdline + len && *p == '-')
                p += strlen(p) + 1;
        return p < cmdline + len ? p : "";
}

static enum follow follow_mode(void)
{
        const char *v = lt_opt.follow;
        if (!strcmp(v, "node"))
                return FOLLOW_NODE;
        if (!strcmp(v, "all") || !strcmp(v, "1"))
                return FOLLOW_ALL;
        if (!strcmp(v, "none") || !strcmp(v, "0"))
                return FOLLOW_NONE;
        lt_options_bad("LEAKTRACE_FOLLOW=%s is none of node, all, none; using node", v);
        return FOLLOW_NODE;
}

/* The command itself? The first process to ask names itself, unless it
 * only starts others (passes_on): then what it starts is the command. */
static int is_root(int passes_on)
{
        char num[24];
        lt_fmt(num, sizeof(num), "%d", (int)getpid());
        const char *root = getenv(LT_ROOT_ENV);
        if (root && *root)
                return !strcmp(root, num);
        if (passes_on)
                return 0;
        setenv(LT_ROOT_ENV, num, 1);
        return 1;
}

/* LEAKTRACE_FOLLOW=none: take ourselves out of LD_PRELOAD, in place, so
 * that the programs this one execs run untraced. The string is edited where
 * it stands in the environment: nothing is allocated. */
static void unfollow(void)
{
        char *v = getenv("LD_PRELOAD");
        if (!v)
                return;
        char *out = v;
        for (char *p = v; *p;) {
                while (*p == ' ' || *p == ':')
                        p++;
                char *start = p;
                while (*p && *p != ' ' && *p != ':')
                        p++;
                size_t len = (size_t)(p - start);
                if (!len)
                        break;
                int ours = len >= 15 && !memcmp(p - 15, "libleaktrace.so", 15);
                if (!ours) {
                        if (out != v)
                                *out++ = ' ';
                        memmove(out, start, len);
                        out += len;
                }
        }
        *out = '\0';
}

int lt_follow_decide(void)
{
        enum follow mode = follow_mode();
        if (mode != FOLLOW_NODE) {
                int root = is_root(0);
                if (mode == FOLLOW_NONE)
                        unfollow();
                return mode == FOLLOW_ALL || root;
        }

        char exe[4096], cmdline[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        ssize_t len = read_small("/proc/self/cmdline", cmdline, sizeof(cmdline));
        if (n <= 0 || len <= 0)
                return is_root(0); /* no /proc: the command itself, as with none */
        exe[n] = '\0';
        const char *script = base_name(script_of(cmdline, len));
        int node = lt_is_node_exe(exe);
        int manager = node && in_list(script, package_managers);
        int launcher = !node && in_list(base_name(exe), launchers);
        int root = is_root(manager || launcher);
        /* Said once for a tree: a shell script's every helper is a
         * launcher's child too (a pyenv shim said it 28 times). */
        int say = !getenv(LT_ROOT_ENV) && !getenv(LT_FOLLOW_SAID_ENV) &&
                  !(launcher && in_list(base_name(exe), in_place));
        if (manager && say)
                lt_log("%s is a package manager: not traced, the node processes it starts are "
                       "(LEAKTRACE_FOLLOW=all traces it too)",
                       script);
        else if (launcher && say)
                lt_log("%s only starts other programs: not traced, the programs it starts are "
                       "(LEAKTRACE_FOLLOW=all traces it too)",
                       base_name(exe));
        if ((manager || launcher) && say)
                setenv(LT_FOLLOW_SAID_ENV, "1", 1);
        return !manager && (node || root);
}
