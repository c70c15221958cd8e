/* Plants things at the names a traced program's trace file will get, before
 * the program starts: forks, plants for the child's pid, then lets the child
 * exec the program (with LD_PRELOAD set, umask 0) through a pipe handshake.
 *
 * Usage: plant DIR PRELOAD SPEC... -- PROG ARGS...
 * SPEC is KIND:SUFFIX[:ARG], the name being DIR/leaktrace.<pid>SUFFIX:
 *   symlink:SUFFIX:TARGET  a symbolic link to TARGET (which may not exist)
 *   file:SUFFIX            a regular file holding "planted\n", mode 0644
 *   fifo:SUFFIX            a named pipe
 *   forge:SUFFIX:TRACE     a copy of the trace file TRACE made to look like
 *                          an earlier image of the child (its pid and start
 *                          time in the header), owned by nobody (65534)
 * Prints "child PID" and exits with the child's status (128 + N for a
 * signal). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"
#include "leaktrace/format.h"

static unsigned long long start_time(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
                die("plant: %s: %s\n", path, strerror(errno));
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                die("plant: cannot read %s\n", path);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        int field = 2;
        for (; p && *p && field < 22; p++)
                if (*p == ' ')
                        field++;
        return p ? strtoull(p, NULL, 10) : 0;
}

static void forge(const char *name, const char *trace, pid_t pid)
{
        int in = open(trace, O_RDONLY);
        if (in < 0)
                die("plant: %s: %s\n", trace, strerror(errno));
        int out = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (out < 0)
                die("plant: %s: %s\n", name, strerror(errno));
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t)n) != n)
                        die("plant: write failed\n");
        close(in);
        uint32_t p = (uint32_t)pid;
        uint64_t st = start_time(pid);
        uint32_t flags = 0;
        if (pwrite(out, &p, sizeof(p), offsetof(struct lt_header, pid)) != sizeof(p) ||
            pwrite(out, &st, sizeof(st), offsetof(struct lt_header, proc_start)) != sizeof(st) ||
            pwrite(out, &flags, sizeof(flags), offsetof(struct lt_header, flags)) != sizeof(flags))
                die("plant: pwrite failed\n");
        if (fchown(out, 65534, 65534) < 0)
                die("plant: fchown: %s\n", strerror(errno));
        close(out);
}

static void plant(const char *dir, const char *spec, pid_t pid)
{
        char kind[16], suffix[64], name[4096];
        const char *arg = NULL;
        const char *c1 = strchr(spec, ':');
        if (!c1 || (size_t)(c1 - spec) >= sizeof(kind))
                die("plant: bad spec %s\n", spec);
        memcpy(kind, spec, (size_t)(c1 - spec));
        kind[c1 - spec] = '\0';
        const char *c2 = strchr(c1 + 1, ':');
        size_t slen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
        if (slen >= sizeof(suffix))
                die("plant: bad spec %s\n", spec);
        memcpy(suffix, c1 + 1, slen);
        suffix[slen] = '\0';
        if (c2)
                arg = c2 + 1;
        snprintf(name, sizeof(name), "%s/leaktrace.%d%s", dir, (int)pid, suffix);
        if (!strcmp(kind, "symlink") && arg) {
                if (symlink(arg, name) < 0)
                        die("plant: symlink %s: %s\n", name, strerror(errno));
        } else if (!strcmp(kind, "file")) {
                int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
                if (fd < 0 || write(fd, "planted\n", 8) != 8)
                        die("plant: %s: %s\n", name, strerror(errno));
                fchmod(fd, 0644);
                close(fd);
        } else if (!strcmp(kind, "fifo")) {
                if (mkfifo(name, 0644) < 0)
                        die("plant: mkfifo %s: %s\n", name, strerror(errno));
        } else if (!strcmp(kind, "forge") && arg) {
                forge(name, arg, pid);
        } else {
                die("plant: bad spec %s\n", spec);
        }
}

int main(int argc, char **argv)
{
        int sep = 0;
        for (int i = 1; i < argc; i++)
                if (!strcmp(argv[i], "--")) {
                        sep = i;
                        break;
                }
        if (argc < 4 || sep < 3 || sep + 1 >= argc)
                die("usage: plant DIR PRELOAD SPEC... -- PROG ARGS...\n");
        const char *dir = argv[1], *preload = argv[2];
        int go[2];
        if (pipe(go) < 0)
                die("plant: pipe failed\n");
        pid_t pid = fork();
        if (pid < 0)
                die("plant: fork failed\n");
        if (pid == 0) {
                close(go[1]);
                char c;
                if (read(go[0], &c, 1) != 1)
                        _exit(120);
                close(go[0]);
                setenv("LD_PRELOAD", preload, 1);
                umask(0);
                execv(argv[sep + 1], argv + sep + 1);
                _exit(127);
        }
        close(go[0]);
        for (int i = 3; i < sep; i++)
                plant(dir, argv[i], pid);
        if (write(go[1], "g", 1) != 1)
                die("plant: handshake failed\n");
        close(go[1]);
        int status;
        if (waitpid(pid, &status, 0) != pid)
                die("plant: waitpid failed\n");
        say("child %d\n", (int)pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
