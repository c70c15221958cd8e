/* The exec family: the image about to be replaced marks its file as ended
 * by exec (and unmarks it if exec fails). The new image, when traced, also
 * marks its predecessor; this catches the case where it is not
 * (LEAKTRACE_FOLLOW=0, a setuid program). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"

#define MAX_VARARGS 1024 /* execl and friends: arguments counted on the stack */

#define EXEC_BODY(call)                                                                        \
        if (!REAL_EXEC(call))                                                                  \
                return errno = ENOSYS, -1;                                                     \
        int marked = lt_engine_exec_begin();                                                   \
        int rc = lt_real.call;                                                                 \
        if (marked) {                                                                          \
                int saved = errno;                                                             \
                lt_engine_exec_failed();                                                       \
                errno = saved;                                                                 \
        }                                                                                      \
        return rc

#define REAL_EXEC(call) (lt_real.malloc || lt_real_init() == 0)

LT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
        EXEC_BODY(execve(path, argv, envp));
}

LT_EXPORT int execv(const char *path, char *const argv[])
{
        EXEC_BODY(execv(path, argv));
}

LT_EXPORT int execvp(const char *file, char *const argv[])
{
        EXEC_BODY(execvp(file, argv));
}

LT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
        EXEC_BODY(execvpe(file, argv, envp));
}

LT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
        EXEC_BODY(fexecve(fd, argv, envp));
}

/* Collects execl's arguments into argv on the caller's stack. Returns the
 * count, or -1 when there are more than MAX_VARARGS. */
static int collect(const char *arg0, va_list ap, char **argv)
{
        int n = 0;
        for (const char *a = arg0; n < MAX_VARARGS; a = va_arg(ap, const char *)) {
                argv[n++] = (char *)a;
                if (!a)
                        return n;
        }
        return -1;
}

/* The execl family: the arguments onto the stack, then the vector call.
 * execle's environment follows the NULL that ends the arguments. */
#define EXEC_LIST(call, with_env)                                                              \
        char *argv[MAX_VARARGS];                                                               \
        char *const *envp = NULL;                                                              \
        va_list ap;                                                                            \
        va_start(ap, arg);                                                                     \
        int n = collect(arg, ap, argv);                                                        \
        if (with_env && n > 0)                                                                 \
                envp = va_arg(ap, char *const *);                                              \
        va_end(ap);                                                                            \
        (void)envp;                                                                            \
        if (n < 0)                                                                             \
                return errno = E2BIG, -1;                                                      \
        return call

LT_EXPORT int execl(const char *path, const char *arg, ...)
{
        EXEC_LIST(execv(path, argv), 0);
}

LT_EXPORT int execlp(const char *file, const char *arg, ...)
{
        EXEC_LIST(execvp(file, argv), 0);
}

LT_EXPORT int execle(const char *path, const char *arg, ...)
{
        EXEC_LIST(execve(path, argv, envp), 1);
}
