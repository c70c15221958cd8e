/* What changes the process itself, past malloc's reach.
 *
 * The exec family: the image about to be replaced marks its file as ended
 * by exec (and unmarks it if exec fails). The new image, when traced, also
 * marks its predecessor; this catches the case where it is not
 * (LEAKTRACE_FOLLOW=0, a setuid program).
 *
 * And the process confining itself (a seccomp filter, a user namespace)
 * or making children around fork's handlers (_Fork, clone, the system
 * calls through syscall()): see each. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"

/* ENV: the environment the new image gets; CALL the real function, which
 * may use `use`, that environment with the trace directory made absolute
 * (lt_exec_env). */
#define EXEC_BODY(env, call)                                                                   \
        if (!REAL_EXEC(call))                                                                  \
                return errno = ENOSYS, -1;                                                     \
        size_t nenv = lt_env_count(env);                                                       \
        char *copy[nenv <= LT_EXEC_ENV_MAX ? nenv + 2 : 1];                                    \
        char *const *use = lt_exec_env(env, copy, sizeof(copy) / sizeof(*copy));               \
        int marked = lt_engine_exec_begin(use);                                                \
        int rc = lt_real.call;                                                                 \
        if (marked) {                                                                          \
                int saved = errno;                                                             \
                lt_engine_exec_failed();                                                       \
                errno = saved;                                                                 \
        }                                                                                      \
        return rc

#define REAL_EXEC(call) (lt_real.malloc || lt_real_init() == 0)
#define REAL(name) (lt_likely(lt_real.name != NULL) || lt_real_init() == 0 ? lt_real.name : NULL)

LT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
        EXEC_BODY(envp, execve(path, argv, use));
}

LT_EXPORT int execv(const char *path, char *const argv[])
{
        EXEC_BODY(environ, execve(path, argv, use));
}

LT_EXPORT int execvp(const char *file, char *const argv[])
{
        EXEC_BODY(environ, execvpe(file, argv, use));
}

LT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
        EXEC_BODY(envp, execvpe(file, argv, use));
}

LT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
        EXEC_BODY(envp, fexecve(fd, argv, use));
}

/* The execl family: the arguments counted, then copied into an array of
 * that size on the stack (as the C library's own execl does: no limit but
 * the kernel's, no malloc in a vfork child), then the vector call.
 * execle's environment follows the NULL that ends the arguments. */
#define EXEC_LIST(call, with_env)                                                              \
        va_list ap;                                                                            \
        va_start(ap, arg);                                                                     \
        size_t n = 1;                                                                          \
        for (const char *a = arg; a; a = va_arg(ap, const char *))                             \
                n++;                                                                           \
        va_end(ap);                                                                            \
        char *argv[n];                                                                         \
        char *const *envp = NULL;                                                              \
        va_start(ap, arg);                                                                     \
        argv[0] = (char *)arg;                                                                 \
        for (size_t i = 1; i < n; i++)                                                         \
                argv[i] = va_arg(ap, char *);                                                  \
        if (with_env)                                                                          \
                envp = va_arg(ap, char *const *);                                              \
        va_end(ap);                                                                            \
        (void)envp;                                                                            \
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

/* A seccomp filter is about to be installed: the tracer stops before it,
 * as its own system calls could be refused or kill the process. */
static void sandboxed(int all_threads)
{
        int saved = errno;
        lt_engine_sandbox(all_threads);
        errno = saved;
}

LT_EXPORT int prctl(int option, ...)
{
        va_list ap;
        va_start(ap, option);
        unsigned long a[4];
        for (int i = 0; i < 4; i++)
                a[i] = va_arg(ap, unsigned long);
        va_end(ap);
        if (!REAL(prctl))
                return errno = ENOSYS, -1;
        if (option == PR_SET_SECCOMP && (a[0] == SECCOMP_MODE_FILTER || a[0] == SECCOMP_MODE_STRICT))
                sandboxed(a[0] == SECCOMP_MODE_STRICT);
        return lt_real.prctl(option, a[0], a[1], a[2], a[3]);
}

/* A new user namespace, or joining one, is refused to a process of several
 * threads: the background thread ends for the call, and starts again. */
static int alone(int (*call)(int, int), int a, int b)
{
        int saved = errno;
        int stopped = lt_engine_pause_thread();
        errno = saved;
        int rc = call(a, b);
        saved = errno;
        if (stopped)
                lt_engine_resume_thread();
        errno = saved;
        return rc;
}

static int unshare_2(int flags, int unused)
{
        (void)unused;
        return lt_real.unshare(flags);
}

LT_EXPORT int unshare(int flags)
{
        if (!REAL(unshare))
                return errno = ENOSYS, -1;
        if (!(flags & CLONE_NEWUSER))
                return lt_real.unshare(flags);
        return alone(unshare_2, flags, 0);
}

LT_EXPORT int setns(int fd, int nstype)
{
        if (!REAL(setns))
                return errno = ENOSYS, -1;
        if (nstype != 0 && nstype != CLONE_NEWUSER)
                return lt_real.setns(fd, nstype);
        return alone(lt_real.setns, fd, nstype);
}

/* Children made without fork's handlers: glibc's _Fork (the
 * async-signal-safe fork, which runs none), clone() and the clone, clone3,
 * fork and vfork system calls made through syscall(). Such a child still
 * has its parent's mappings of the trace file, shared: it records nothing
 * (what it execs is traced anew), and leaves the file alone. A child that
 * shares its parent's memory (CLONE_VM: vfork, a thread made by hand) is
 * left as it is: what it would change is its parent's. fork() itself calls
 * _Fork inside the C library, not through this hook. */
LT_EXPORT pid_t _Fork(void)
{
        if (!REAL(_Fork))
                return errno = ENOSYS, -1;
        pid_t pid = lt_real._Fork();
        if (pid == 0)
                lt_engine_child_untraced();
        return pid;
}

struct clone_start {
        int (*fn)(void *);
        void *arg;
};

/* The child's first steps, on the stack its parent gave it. */
static int clone_child(void *p)
{
        struct clone_start start = *(struct clone_start *)p; /* the child's copy */
        lt_engine_child_untraced();
        return start.fn(start.arg);
}

LT_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
        va_list ap;
        va_start(ap, arg);
        pid_t *ptid = va_arg(ap, pid_t *);
        void *tls = va_arg(ap, void *);
        pid_t *ctid = va_arg(ap, pid_t *);
        va_end(ap);
        if (!REAL(clone))
                return errno = ENOSYS, -1;
        if (flags & CLONE_VM)
                return lt_real.clone(fn, stack, flags, arg, ptid, tls, ctid);
        /* Without CLONE_VM the child has a copy of this frame: it reads
         * START there, whatever the parent does with its own meanwhile. */
        struct clone_start start = {fn, arg};
        return lt_real.clone(clone_child, stack, flags, &start, ptid, tls, ctid);
}

LT_EXPORT long syscall(long n, ...)
{
        va_list ap;
        va_start(ap, n);
        long a[6];
        for (int i = 0; i < 6; i++)
                a[i] = va_arg(ap, long);
        va_end(ap);
        if (!REAL(syscall))
                return errno = ENOSYS, -1;
        /* Strict mode ends with a raw exit of its thread: the background
         * thread must not be the one left. */
        if (n == SYS_seccomp && (a[0] == SECCOMP_SET_MODE_FILTER || a[0] == SECCOMP_SET_MODE_STRICT))
                sandboxed(a[0] == SECCOMP_SET_MODE_STRICT || (a[1] & SECCOMP_FILTER_FLAG_TSYNC));
        long rc = lt_real.syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (rc == 0) {
                int vm = 0;
                if (n == SYS_clone)
                        vm = (a[0] & CLONE_VM) != 0;
                else if (n == SYS_clone3)
                        vm = a[0] && (((const struct clone_args *)a[0])->flags & CLONE_VM);
                else if (n == SYS_vfork)
                        vm = 1;
                if ((n == SYS_clone || n == SYS_clone3 || n == SYS_fork) && !vm)
                        lt_engine_child_untraced();
        }
        return rc;
}
