/* See harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_case, n_pass, n_fail;
static const char *case_prefix;

void tap_set_prefix(const char *prefix)
{
        case_prefix = prefix;
}

int tap_ok(int cond, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        printf("%s %d - %s", cond ? "ok" : "not ok", ++n_case, case_prefix ? case_prefix : "");
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
        if (cond)
                n_pass++;
        else
                n_fail++;
        fflush(stdout);
        return cond;
}

void tap_diag(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("# ", stdout);
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
}

int tap_done(void)
{
        printf("%d passed, %d failed\n", n_pass, n_fail);
        return n_fail ? 1 : 0;
}

struct sink {
        char *buf;
        size_t len, cap;
};

static void sink_add(struct sink *s, const char *p, size_t n)
{
        if (s->len + n + 1 > s->cap) {
                s->cap = (s->len + n + 1) * 2;
                s->buf = realloc(s->buf, s->cap);
                if (!s->buf)
                        abort();
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        s->buf[s->len] = '\0';
}

void proc_run(struct proc_result *r, char *const argv[], char *const env[], const char *dir)
{
        int o[2], e[2];
        memset(r, 0, sizeof(*r));
        r->status = -1;
        if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
                abort();
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY);
                dup2(null, 0);
                dup2(o[1], 1);
                dup2(e[1], 2);
                for (int i = 0; env && env[i]; i++) {
                        char *eq = strchr(env[i], '=');
                        if (eq) {
                                char *name = strndup(env[i], (size_t)(eq - env[i]));
                                setenv(name, eq + 1, 1);
                        } else {
                                unsetenv(env[i]);
                        }
                }
                if (dir && chdir(dir) < 0)
                        _exit(125);
                execv(argv[0], argv);
                _exit(124);
        }
        close(o[1]);
        close(e[1]);
        struct sink so = {0}, se = {0};
        sink_add(&so, "", 0);
        sink_add(&se, "", 0);
        struct pollfd p[2] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0}};
        int open_fds = 2;
        while (open_fds) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        abort();
                }
                for (int i = 0; i < 2; i++) {
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        char buf[65536];
                        ssize_t n = read(p[i].fd, buf, sizeof(buf));
                        if (n > 0) {
                                sink_add(i ? &se : &so, buf, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                close(p[i].fd);
                                p[i].fd = -1;
                                open_fds--;
                        }
                }
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        r->out = so.buf;
        r->err = se.buf;
}

void proc_free(struct proc_result *r)
{
        free(r->out);
        free(r->err);
        memset(r, 0, sizeof(*r));
}

int count_lines(const char *s)
{
        int n = 0;
        for (; *s; s++)
                if (*s == '\n' || !s[1])
                        n++;
        return n;
}

char *make_temp_dir(const char *tag)
{
        const char *tmp = getenv("TMPDIR");
        char *path;
        if (asprintf(&path, "%s/lt-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag) < 0 ||
            !mkdtemp(path))
                abort();
        return path;
}

void rm_tree(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                char *p;
                if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
                        abort();
                struct stat st;
                if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        rm_tree(p);
                else
                        unlink(p);
                free(p);
        }
        closedir(d);
        rmdir(dir);
}
