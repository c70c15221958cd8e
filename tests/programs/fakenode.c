/* Stands in for node to test the copy of its perf map: built as "node-0",
 * a name the preload takes for node's, it writes /tmp/perf-<pid>.map as V8
 * does (line by line, appending, through one descriptor that a fork
 * shares). Usage:
 *   node-0 exec     leaves a stale map, as an earlier image of the pid
 *                   would, and execs "node-0 run": the map is gone at its
 *                   start (removed by the preload) and written afresh
 *   node-0 run      writes a line, a line in two halves, forks a child that
 *                   allocates and writes a line of its own (V8 in a fork
 *                   goes on writing its parent's map), then a last line
 *   node-0 foreign  leaves a map of another user's (run as root) and execs
 *                   "node-0 options": node would abort on it, so the preload
 *                   must not ask for a map
 *   node-0 options  prints NODE_OPTIONS */
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

static void map_path(char *buf, size_t len)
{
        snprintf(buf, len, "/tmp/perf-%d.map", (int)getpid());
}

static void put(int fd, const char *s)
{
        if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
                die("node-0: cannot write the map\n");
}

static void nap_ms(long ms)
{
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
}

static void stale_then_exec(char *self, const char *next, int foreign)
{
        char path[64];
        map_path(path, sizeof(path));
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
                die("node-0: cannot create %s\n", path);
        put(fd, "100 10 JS:~stale /old.js:1:1\n");
        close(fd);
        if (foreign && chown(path, 65534, 65534) < 0)
                die("node-0: cannot give %s away\n", path);
        execl(self, self, next, (char *)NULL);
        die("node-0: exec failed\n");
}

static int run(void)
{
        char path[64];
        map_path(path, sizeof(path));
        const char *opts = getenv("NODE_OPTIONS");
        say("stale map removed: %s\n", access(path, F_OK) == 0 ? "no" : "yes");
        say("perf options: %s\n", opts && strstr(opts, "--perf-basic-prof") &&
                                          strstr(opts, "--interpreted-frames-native-stack")
                                      ? "yes"
                                      : "no");
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
                die("node-0: cannot create %s\n", path);
        put(fd, "1000 10 JS:~first /x.js:1:1\n");
        nap_ms(100);
        put(fd, "2000 10 JS:~sec");
        nap_ms(100); /* copied with half a line */
        put(fd, "ond /x.js:2:2\n");
        pid_t pid = fork();
        if (pid < 0)
                die("node-0: fork failed\n");
        if (pid == 0) {
                void *volatile p = malloc(100); /* the child's own trace file */
                (void)p;
                put(fd, "3000 10 JS:~child /x.js:3:3\n");
                nap_ms(100);
                exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
                die("node-0: the child failed\n");
        put(fd, "4000 10 JS:~last /x.js:4:4\n");
        say("child %d\n", (int)pid);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "exec"))
                stale_then_exec(argv[0], "run", 0);
        if (argc == 2 && !strcmp(argv[1], "foreign"))
                stale_then_exec(argv[0], "options", 1);
        if (argc == 2 && !strcmp(argv[1], "run"))
                return run();
        if (argc == 2 && !strcmp(argv[1], "options")) {
                const char *opts = getenv("NODE_OPTIONS");
                say("NODE_OPTIONS=%s\n", opts ? opts : "");
                return 0;
        }
        die("usage: node-0 exec|run|foreign|options\n");
}
