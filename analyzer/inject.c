/* Loading libleaktrace.so into a running process, as a debugger calls a
 * function: every thread is seized and stopped (PTRACE_SEIZE, then
 * PTRACE_INTERRUPT), each thread's stack is unwound with libunwind-ptrace,
 * and one thread whose frames are all outside the allocator (the malloc
 * family of the C library) and outside the loader (ld.so, dlopen and its
 * kin, dl_iterate_phdr) is made to call dlopen(), dlsym() and
 * leaktrace_attach(), its registers (general and extended state) saved
 * before and put back after. When no thread is in such a place, all go on
 * and we try again a little later. At a later attach, no thread at all may
 * be in libleaktrace.so: the attach empties the tables that a hook of the
 * last one, still running (a thread descheduled in it for long), would
 * write into; found by attaching to torture again and again.
 *
 * The other threads run during the calls, as gdb lets them run during an
 * inferior call: a stopped thread holding an arena lock or the loader lock
 * would block dlopen forever, a running one lets go of it. Only the chosen
 * thread must hold nothing, and it is stopped where it holds nothing.
 *
 * A call returns to address 0: the fault stops the thread in a
 * signal-delivery-stop that we swallow. Signals the other threads get
 * meanwhile are passed on. SIGINT and its kin are blocked for the whole
 * time: a call cannot be undone half way, and an interrupted leaktrace
 * must not leave a thread to return into address 0. */
#define _GNU_SOURCE
#include "inject.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libunwind-ptrace.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 8192
#define MAX_UNSAFE 256
#define XSTATE_MAX 16384
#define RTLD_NOW_VALUE 2 /* <dlfcn.h>'s RTLD_NOW, in the target's C library */

struct thread {
        pid_t tid;
        int stopped; /* in a ptrace stop now */
        int sig;     /* a signal it stopped for, to deliver when it goes on */
        int gone;
        struct user_regs_struct regs;
};

struct range {
        uintptr_t lo, hi;
};

struct ctx {
        pid_t pid;
        struct thread *t;
        size_t n;
        struct range unsafe[MAX_UNSAFE];
        size_t nunsafe;
        /* libleaktrace.so's code, loaded by an earlier attach: no thread
         * may be in it (a hook of that attach still running, its
         * background thread ending) when the next one empties its tables. */
        struct range tracer[8];
        size_t ntracer;
        int tracer_busy; /* a thread was found in it at the last choice */
        uintptr_t libc_base;
        char libc_path[PATH_MAX];
        int mem;
        char *why;
        size_t size;
};

__attribute__((format(printf, 2, 3))) static int say(struct ctx *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->size, fmt, ap);
        va_end(ap);
        return 0;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A field of /proc/PID/status, as text. Returns 0, -ENOENT when the field
 * is not there, or -errno when the file cannot be read. */
static int status_field(pid_t pid, const char *field, char *out, size_t size)
{
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return -errno;
        size_t n = strlen(field);
        int rc = -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, field, n) || line[n] != ':')
                        continue;
                const char *v = line + n + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                snprintf(out, size, "%s", v);
                out[strcspn(out, "\n")] = '\0';
                rc = 0;
                break;
        }
        fclose(f);
        return rc;
}

static void comm_of(pid_t pid, char *out, size_t size)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        FILE *f = fopen(path, "r");
        out[0] = '\0';
        if (f) {
                if (!fgets(out, (int)size, f))
                        out[0] = '\0';
                fclose(f);
        }
        out[strcspn(out, "\n")] = '\0';
        if (!out[0])
                snprintf(out, size, "?");
}

int lt_inject_check(pid_t pid, char *why, size_t size)
{
        char state[64], tracer[32];
        int err = status_field(pid, "State", state, sizeof(state));
        if (err == -ENOENT || err == -ESRCH) {
                snprintf(why, size, "no process %d", (int)pid);
                return -ESRCH;
        }
        if (err) {
                snprintf(why, size, "process %d: cannot read /proc/%d/status (%s)", (int)pid,
                         (int)pid, strerror(-err));
                return err;
        }
        char threads[32];
        if (state[0] == 'Z' || state[0] == 'X') {
                /* The leader alone is a zombie once the main thread called
                 * pthread_exit(); the others run on. */
                if (status_field(pid, "Threads", threads, sizeof(threads)) == 0 &&
                    atoi(threads) > 1) {
                        int others = atoi(threads) - 1;
                        snprintf(why, size,
                                 "process %d: its main thread has exited (pthread_exit) while %d "
                                 "other%s run%s on; attach works through the main thread: start "
                                 "the program under leaktrace run instead",
                                 (int)pid, others, others == 1 ? "" : "s", others == 1 ? "s" : "");
                        return -ESRCH;
                }
                snprintf(why, size, "process %d has exited (a zombie its parent did not reap)",
                         (int)pid);
                return -ESRCH;
        }
        /* Strict mode kills the process at any call but read, write and
         * exit: the first of attach's (openat, mmap) would. Filters are
         * read once the threads are seized (seccomp_check()). */
        char seccomp[32];
        if (status_field(pid, "Seccomp", seccomp, sizeof(seccomp)) == 0 && atoi(seccomp) == 1) {
                snprintf(why, size,
                         "process %d runs in seccomp strict mode, which would kill it at the "
                         "first call attach makes in it; start the program under leaktrace run "
                         "instead",
                         (int)pid);
                return -EPERM;
        }
        if (status_field(pid, "TracerPid", tracer, sizeof(tracer)) == 0 && atoi(tracer) != 0) {
                char comm[64];
                comm_of((pid_t)atoi(tracer), comm, sizeof(comm));
                snprintf(why, size,
                         "process %d is already traced by process %d (%s); detach that debugger "
                         "or tracer first",
                         (int)pid, atoi(tracer), comm);
                return -EBUSY;
        }
        if (state[0] == 'T' || state[0] == 't') {
                snprintf(why, size,
                         "process %d is stopped (%s); let it go on first (kill -CONT %d)",
                         (int)pid, state, (int)pid);
                return -EBUSY;
        }
        return 0;
}

static int have_cap_sys_ptrace(void)
{
        char caps[64];
        if (status_field(getpid(), "CapEff", caps, sizeof(caps)) < 0)
                return 0;
        return (strtoull(caps, NULL, 16) >> 19) & 1; /* CAP_SYS_PTRACE */
}

/* Why PTRACE_SEIZE said EPERM: the other user, yama, a missing capability. */
static void explain_eperm(struct ctx *c)
{
        char uids[128], scope[16] = "";
        unsigned ruid = 0, euid = 0;
        int other = 0;
        if (status_field(c->pid, "Uid", uids, sizeof(uids)) == 0 &&
            sscanf(uids, "%u %u", &ruid, &euid) == 2)
                other = ruid != getuid() || euid != getuid();
        FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
        if (f) {
                if (!fgets(scope, sizeof(scope), f))
                        scope[0] = '\0';
                fclose(f);
        }
        int yama = scope[0] ? atoi(scope) : -1;
        int cap = have_cap_sys_ptrace();
        if (yama == 3) {
                say(c, "cannot attach to process %d: ptrace is turned off on this machine "
                       "(kernel.yama.ptrace_scope=3, which only a reboot lowers); start the "
                       "program under `leaktrace run --paused` instead",
                    (int)c->pid);
        } else if (other && !cap) {
                say(c, "cannot attach to process %d: it belongs to uid %u and leaktrace runs as "
                       "uid %u; run leaktrace as that user, or as root",
                    (int)c->pid, euid, (unsigned)getuid());
        } else if (yama == 2 && !cap) {
                say(c, "cannot attach to process %d: kernel.yama.ptrace_scope=2 lets only "
                       "CAP_SYS_PTRACE attach; run leaktrace as root, or lower it (sysctl "
                       "kernel.yama.ptrace_scope=1)",
                    (int)c->pid);
        } else if (yama == 1 && !cap) {
                say(c, "cannot attach to process %d: kernel.yama.ptrace_scope=1 lets a process "
                       "be traced only by its ancestors; run leaktrace as root (CAP_SYS_PTRACE), "
                       "or sysctl kernel.yama.ptrace_scope=0",
                    (int)c->pid);
        } else if (!cap && getuid() == 0) {
                say(c, "cannot attach to process %d: leaktrace lacks CAP_SYS_PTRACE (a container "
                       "started without it?); add it (docker run --cap-add=SYS_PTRACE)",
                    (int)c->pid);
        } else {
                say(c, "cannot attach to process %d: permission denied (a setuid program, or a "
                       "security module forbids it); start the program under `leaktrace run "
                       "--paused` instead",
                    (int)c->pid);
        }
}

/* Waits for thread t to stop (or to be gone). */
static void wait_stop(struct thread *t)
{
        for (;;) {
                int st;
                pid_t w = waitpid(t->tid, &st, __WALL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
                        t->gone = 1;
                        t->stopped = 0;
                        return;
                }
                if (WIFSTOPPED(st)) {
                        t->stopped = 1;
                        if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
                                t->sig = WSTOPSIG(st); /* its own signal, held for it */
                        return;
                }
        }
}

static struct thread *thread_of(struct ctx *c, pid_t tid)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->t[i].tid == tid)
                        return &c->t[i];
        return NULL;
}

/* Lets every thread go, stopping first those that run (a tracee is
 * detached only in a stop), each with the signal it was holding. */
static void release_all(struct ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct thread *t = &c->t[i];
                if (t->gone)
                        continue;
                if (!t->stopped) {
                        if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0) {
                                t->gone = errno == ESRCH;
                                if (t->gone)
                                        continue;
                        }
                        wait_stop(t);
                        if (t->gone)
                                continue;
                }
                ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->sig);
                t->stopped = 0;
        }
        c->n = 0;
}

/* The system calls attach makes in the process, and those the tracer then
 * makes on its threads: dlopen's, the trace file's, the background
 * thread's, libunwind's pipe, the exit paths. */
#define ATTACH_CALLS(X) \
        X(openat) X(open) X(read) X(pread64) X(write) X(pwrite64) X(writev) X(close) X(fstat) \
        X(newfstatat) X(statx) X(lseek) X(mmap) X(munmap) X(mprotect) X(madvise) X(brk) \
        X(mremap) X(futex) X(rt_sigprocmask) X(rt_sigaction) X(rt_sigreturn) X(clone) X(clone3) \
        X(set_robust_list) X(rseq) X(getpid) X(gettid) X(getppid) X(prctl) X(prlimit64) \
        X(getrlimit) X(fallocate) X(ftruncate) X(fcntl) X(pipe2) X(readlink) X(readlinkat) \
        X(getdents64) X(clock_gettime) X(clock_nanosleep) X(nanosleep) X(sched_yield) X(kcmp) \
        X(uname) X(access) X(faccessat) X(getcwd) X(dup) X(dup2) X(dup3) X(tgkill) \
        X(sched_getaffinity) X(getrandom) X(exit) X(exit_group)

#define LT_X_CALL(name) {SYS_##name, #name},
static const struct {
        int nr;
        const char *name;
} attach_calls[] = {ATTACH_CALLS(LT_X_CALL)};
#undef LT_X_CALL

/* Runs a seccomp filter's program (classic BPF, as the kernel checked it)
 * on D. Returns the action, or SECCOMP_RET_KILL_PROCESS for a program it
 * cannot follow (taken as the worst). */
static uint32_t bpf_run(const struct sock_filter *prog, long n, const struct seccomp_data *d)
{
        uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
        const unsigned char *data = (const unsigned char *)d;
        for (long pc = 0; pc >= 0 && pc < n; pc++) {
                const struct sock_filter *f = &prog[pc];
                uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? x : k;
                switch (BPF_CLASS(f->code)) {
                case BPF_LD:
                        if (BPF_MODE(f->code) == BPF_ABS && k % 4 == 0 && k + 4 <= sizeof(*d))
                                memcpy(&a, data + k, 4);
                        else if (BPF_MODE(f->code) == BPF_LEN)
                                a = sizeof(*d);
                        else if (BPF_MODE(f->code) == BPF_IMM)
                                a = k;
                        else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
                                a = mem[k];
                        else
                                return SECCOMP_RET_KILL_PROCESS;
                        break;
                case BPF_LDX:
                        if (BPF_MODE(f->code) == BPF_LEN)
                                x = sizeof(*d);
                        else if (BPF_MODE(f->code) == BPF_IMM)
                                x = k;
                        else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
                                x = mem[k];
                        else
                                return SECCOMP_RET_KILL_PROCESS;
                        break;
                case BPF_ST:
                case BPF_STX:
                        if (k >= BPF_MEMWORDS)
                                return SECCOMP_RET_KILL_PROCESS;
                        mem[k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
                        break;
                case BPF_ALU:
                        switch (BPF_OP(f->code)) {
                        case BPF_ADD: a += src; break;
                        case BPF_SUB: a -= src; break;
                        case BPF_MUL: a *= src; break;
                        case BPF_DIV: if (!src) return SECCOMP_RET_KILL_PROCESS; a /= src; break;
                        case BPF_MOD: if (!src) return SECCOMP_RET_KILL_PROCESS; a %= src; break;
                        case BPF_AND: a &= src; break;
                        case BPF_OR: a |= src; break;
                        case BPF_XOR: a ^= src; break;
                        case BPF_LSH: a = src < 32 ? a << src : 0; break;
                        case BPF_RSH: a = src < 32 ? a >> src : 0; break;
                        case BPF_NEG: a = -a; break;
                        default: return SECCOMP_RET_KILL_PROCESS;
                        }
                        break;
                case BPF_JMP:
                        if (BPF_OP(f->code) == BPF_JA) {
                                pc += k;
                                break;
                        }
                        int taken;
                        switch (BPF_OP(f->code)) {
                        case BPF_JEQ: taken = a == src; break;
                        case BPF_JGT: taken = a > src; break;
                        case BPF_JGE: taken = a >= src; break;
                        case BPF_JSET: taken = (a & src) != 0; break;
                        default: return SECCOMP_RET_KILL_PROCESS;
                        }
                        pc += taken ? f->jt : f->jf;
                        break;
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? a : k;
                case BPF_MISC:
                        if (BPF_MISCOP(f->code) == BPF_TAX)
                                x = a;
                        else
                                a = x;
                        break;
                default:
                        return SECCOMP_RET_KILL_PROCESS;
                }
        }
        return SECCOMP_RET_KILL_PROCESS; /* ran off its end: the kernel refuses such programs */
}

/* What the filter answers to one of attach's calls (arguments 0, on
 * x86-64) that ends or signals the process: NULL when none. *CALL gets
 * the call's name. */
static const char *fatal_action(const struct sock_filter *prog, long n, const char **call)
{
        for (size_t i = 0; i < sizeof(attach_calls) / sizeof(*attach_calls); i++) {
                struct seccomp_data d = {.nr = attach_calls[i].nr, .arch = AUDIT_ARCH_X86_64};
                *call = attach_calls[i].name;
                switch (bpf_run(prog, n, &d) & SECCOMP_RET_ACTION_FULL) {
                case SECCOMP_RET_KILL_PROCESS:
                        return "killing the process";
                case SECCOMP_RET_KILL_THREAD:
                        return "killing the thread";
                case SECCOMP_RET_TRAP:
                        return "SIGSYS";
                }
        }
        return NULL;
}

/* Refuses a process any thread of which runs under a seccomp filter that
 * answers one of attach's calls by killing it or with SIGSYS: attach makes
 * them in it (openat and mmap in dlopen, then the tracer's own, on every
 * thread), and the program would end. A filter that answers those with an
 * error (a container's allows them, and kills only a foreign architecture)
 * is no danger: attach goes on, or fails and says so. The calls are run
 * through the filter with their arguments 0: one that judges arguments may
 * answer otherwise. Returns 0 or -EPERM (said in c->why). */
static int seccomp_check(struct ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                const struct thread *t = &c->t[i];
                char mode[32];
                if (t->gone || status_field(t->tid, "Seccomp", mode, sizeof(mode)) < 0 ||
                    atoi(mode) == 0)
                        continue;
                for (long k = 0;; k++) {
                        long n = ptrace(PTRACE_SECCOMP_GET_FILTER, t->tid, (void *)k, NULL);
                        if (n < 0 && errno == ENOENT && k > 0)
                                break;
                        struct sock_filter *prog = n > 0 && n <= BPF_MAXINSNS
                                                           ? calloc((size_t)n, sizeof(*prog))
                                                           : NULL;
                        if (!prog || ptrace(PTRACE_SECCOMP_GET_FILTER, t->tid, (void *)k, prog) != n) {
                                int e = n < 0 ? errno : prog ? errno : ENOMEM;
                                free(prog);
                                say(c, "process %d runs under a seccomp filter that leaktrace "
                                       "cannot read (%s%s), and one that kills at a call attach "
                                       "makes would kill the program; start it under leaktrace "
                                       "run instead",
                                    (int)c->pid, strerror(e), e == EACCES || e == EPERM
                                                                  ? ": reading it needs CAP_SYS_ADMIN"
                                                                  : "");
                                return -EPERM;
                        }
                        const char *call;
                        const char *fatal = fatal_action(prog, n, &call);
                        free(prog);
                        if (fatal) {
                                say(c, "process %d runs under a seccomp filter that answers %s "
                                       "with %s, a call attach makes in it: it would end the "
                                       "program; start it under leaktrace run instead",
                                    (int)c->pid, call, fatal);
                                return -EPERM;
                        }
                }
        }
        return 0;
}

/* Seizes and stops every thread, listing /proc/PID/task again until no new
 * one appears. Returns 0 or -errno (said in c->why). */
static int seize_all(struct ctx *c)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task", (int)c->pid);
        for (int pass = 0; pass < 20; pass++) {
                DIR *d = opendir(path);
                if (!d) {
                        say(c, "process %d is gone", (int)c->pid);
                        return -ESRCH;
                }
                int added = 0;
                struct dirent *e;
                while ((e = readdir(d))) {
                        pid_t tid = (pid_t)atoi(e->d_name);
                        if (tid <= 0 || thread_of(c, tid))
                                continue;
                        if (c->n >= MAX_THREADS) {
                                closedir(d);
                                say(c, "process %d has more than %d threads", (int)c->pid,
                                    MAX_THREADS);
                                return -E2BIG;
                        }
                        if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0) {
                                int err = -errno;
                                if (err == -ESRCH)
                                        continue; /* the thread ended meanwhile */
                                closedir(d);
                                if (err == -EPERM)
                                        explain_eperm(c);
                                else
                                        say(c, "cannot attach to process %d: %s", (int)c->pid,
                                            strerror(-err));
                                return err;
                        }
                        struct thread *t = &c->t[c->n++];
                        memset(t, 0, sizeof(*t));
                        t->tid = tid;
                        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
                                t->gone = 1;
                        added++;
                }
                closedir(d);
                if (!added)
                        break;
        }
        for (size_t i = 0; i < c->n; i++)
                if (!c->t[i].gone)
                        wait_stop(&c->t[i]);
        for (size_t i = 0; i < c->n; i++) {
                struct thread *t = &c->t[i];
                if (!t->gone && ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) < 0)
                        t->gone = 1;
        }
        if (!thread_of(c, c->pid) || thread_of(c, c->pid)->gone) {
                say(c, "process %d is gone", (int)c->pid);
                return -ESRCH;
        }
        return 0;
}

/* The file of a mapping, seen from the target's root. */
static void target_path(struct ctx *c, const char *path, char *out, size_t size)
{
        snprintf(out, size, "/proc/%d/root%s", (int)c->pid, path);
}

typedef int (*sym_fn)(const char *name, const GElf_Sym *s, void *arg);

/* Calls fn for every defined function of the file's dynamic symbol table,
 * until it returns nonzero. Returns that, or 0, or -errno. */
static int each_function(const char *path, sym_fn fn, void *arg)
{
        elf_version(EV_CURRENT);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        Elf *e = elf_begin(fd, ELF_C_READ, NULL);
        int rc = e ? 0 : -ENOEXEC;
        Elf_Scn *scn = NULL;
        while (e && !rc && (scn = elf_nextscn(e, scn))) {
                GElf_Shdr sh;
                if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
                        continue;
                Elf_Data *d = elf_getdata(scn, NULL);
                size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
                for (size_t i = 0; i < n && !rc; i++) {
                        GElf_Sym s;
                        if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
                            s.st_shndx == SHN_UNDEF)
                                continue;
                        const char *name = elf_strptr(e, sh.sh_link, s.st_name);
                        if (name)
                                rc = fn(name, &s, arg);
                }
        }
        if (e)
                elf_end(e);
        close(fd);
        return rc;
}

/* Functions inside which a thread may hold the allocator's or the
 * loader's locks. */
static const char *const unsafe_functions[] = {
        "malloc",        "free",        "calloc",       "realloc",      "reallocarray",
        "memalign",      "posix_memalign", "aligned_alloc", "valloc",   "pvalloc",
        "malloc_trim",   "malloc_usable_size", "mallinfo", "mallinfo2", "malloc_stats",
        "malloc_info",   "mallopt",     "dlopen",       "dlmopen",      "dlclose",
        "dlsym",         "dlvsym",      "dladdr",       "dladdr1",      "dlinfo",
        "dlerror",       "dl_iterate_phdr", "fork",     "_Fork",        "pthread_create",
        "pthread_exit",  "exit",        "__libc_malloc", "__libc_free", "__libc_calloc",
        "__libc_realloc", "__libc_memalign",
};

struct libc_syms {
        struct ctx *c;
        uintptr_t dlopen, dlsym, dlerror;
};

static int libc_sym(const char *name, const GElf_Sym *s, void *arg)
{
        struct libc_syms *ls = arg;
        struct ctx *c = ls->c;
        uintptr_t at = c->libc_base + s->st_value;
        if (!strcmp(name, "dlopen"))
                ls->dlopen = at;
        else if (!strcmp(name, "dlsym"))
                ls->dlsym = at;
        else if (!strcmp(name, "dlerror"))
                ls->dlerror = at;
        for (size_t k = 0; k < sizeof(unsafe_functions) / sizeof(unsafe_functions[0]); k++) {
                if (strcmp(name, unsafe_functions[k]) || c->nunsafe >= MAX_UNSAFE)
                        continue;
                c->unsafe[c->nunsafe++] = (struct range){ at, at + (s->st_size ? s->st_size : 1) };
        }
        return 0;
}

static const char *base_name(const char *path)
{
        const char *b = strrchr(path, '/');
        return b ? b + 1 : path;
}

/* The C library's path and load address, and the loader's code (every
 * executable mapping of ld.so), from /proc/PID/maps. */
static int read_maps(struct ctx *c)
{
        char path[64], line[PATH_MAX + 256];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)c->pid);
        FILE *f = fopen(path, "r");
        if (!f) {
                int err = -errno;
                if (err == -EACCES || err == -EPERM)
                        explain_eperm(c); /* the same rights as ptrace */
                else
                        say(c, "cannot read the memory map of process %d (%s)", (int)c->pid,
                            strerror(-err));
                return err;
        }
        while (fgets(line, sizeof(line), f)) {
                unsigned long lo, hi, off;
                char perms[8];
                int name_at = 0;
                if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &lo, &hi, perms, &off, &name_at) < 4 ||
                    !name_at)
                        continue;
                char *file = line + name_at;
                file[strcspn(file, "\n")] = '\0';
                if (file[0] != '/')
                        continue;
                const char *b = base_name(file);
                /* Its code, not any mapping of the file: the tracer itself
                 * maps libc.so.6 read-only to read its CFI. The code's
                 * mapping starts where its offset says (p_vaddr == p_offset
                 * for the C library's segments). */
                if (!strncmp(b, "libc.so", 7) && perms[2] == 'x' && !c->libc_base) {
                        c->libc_base = lo - off;
                        snprintf(c->libc_path, sizeof(c->libc_path), "%s", file);
                }
                if (!strncmp(b, "ld-linux", 8) && perms[2] == 'x' && c->nunsafe < MAX_UNSAFE)
                        c->unsafe[c->nunsafe++] = (struct range){ lo, hi };
                if (!strcmp(b, "libleaktrace.so") && perms[2] == 'x' && c->ntracer < 8)
                        c->tracer[c->ntracer++] = (struct range){ lo, hi };
        }
        fclose(f);
        if (!c->libc_base) {
                say(c, "process %d has no C library mapped (libc.so): a static program cannot be "
                       "attached to",
                    (int)c->pid);
                return -ENOEXEC;
        }
        return 0;
}

static int in(const struct range *r, size_t n, uintptr_t ip)
{
        for (size_t i = 0; i < n; i++)
                if (ip >= r[i].lo && ip < r[i].hi)
                        return 1;
        return 0;
}

/* Where thread t stands: 1 when outside the allocator and the loader, 0
 * when inside, -1 when inside libleaktrace.so; from its instruction
 * pointer and every return address libunwind finds. */
static int where(struct ctx *c, struct thread *t, unw_addr_space_t as)
{
        if (in(c->tracer, c->ntracer, t->regs.rip))
                return -1;
        int safe = !in(c->unsafe, c->nunsafe, t->regs.rip);
        void *ui = as ? _UPT_create(t->tid) : NULL;
        if (!ui)
                return safe;
        unw_cursor_t cur;
        if (unw_init_remote(&cur, as, ui) == 0) {
                for (int depth = 0; depth < 256; depth++) {
                        unw_word_t ip;
                        if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || !ip)
                                break;
                        uintptr_t at = depth ? ip - 1 : ip;
                        if (in(c->tracer, c->ntracer, at)) {
                                safe = -1;
                                break;
                        }
                        safe &= !in(c->unsafe, c->nunsafe, at);
                        if (unw_step(&cur) <= 0)
                                break;
                }
        }
        _UPT_destroy(ui);
        return safe;
}

/* The thread to borrow: safe, holding no signal of its own; one blocked in
 * a system call first (it is where it waits, not in the middle of work),
 * the main thread first among those. NULL when none is safe. */
static struct thread *choose(struct ctx *c)
{
        unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
        struct thread *best = NULL;
        int best_score = -1;
        c->tracer_busy = 0;
        for (size_t i = 0; i < c->n && !c->tracer_busy; i++) {
                struct thread *t = &c->t[i];
                if (t->gone)
                        continue;
                int score = ((long long)t->regs.orig_rax >= 0) * 2 + (t->tid == c->pid);
                /* Every thread is looked at when an earlier attach left the
                 * library; else only those that could be better. */
                if (!c->ntracer && (score <= best_score || !t->stopped || t->sig))
                        continue;
                int w = t->stopped ? where(c, t, as) : 1;
                if (w < 0)
                        c->tracer_busy = 1;
                else if (w && t->stopped && !t->sig && score > best_score) {
                        best = t;
                        best_score = score;
                }
        }
        if (as)
                unw_destroy_addr_space(as);
        return c->tracer_busy ? NULL : best;
}

static int poke(struct ctx *c, uintptr_t at, const void *buf, size_t len)
{
        if (pwrite(c->mem, buf, len, (off_t)at) != (ssize_t)len)
                return errno ? -errno : -EIO;
        return 0;
}

/* Calls fn(a0, a1) on thread t, whose registers are t->regs, with its
 * stack below sp. The other threads run meanwhile. Returns 0 with rax in
 * *ret, or -errno (said in c->why). */
static int call(struct ctx *c, struct thread *t, uintptr_t sp, uintptr_t fn, uintptr_t a0,
                uintptr_t a1, uint64_t *ret)
{
        struct user_regs_struct r = t->regs;
        uint64_t zero = 0;
        r.rsp = (sp & ~(uintptr_t)15) - 8; /* as after a call: the return address */
        if (poke(c, r.rsp, &zero, sizeof(zero)) < 0) {
                say(c, "cannot write to the stack of thread %d of process %d", (int)t->tid,
                    (int)c->pid);
                return -EFAULT;
        }
        r.rip = fn;
        r.rdi = a0;
        r.rsi = a1;
        r.rax = 0;
        r.orig_rax = (unsigned long long)-1; /* no restart of the system call it was in */
        if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0 || ptrace(PTRACE_CONT, t->tid, 0, 0) < 0) {
                say(c, "cannot start the call in thread %d of process %d (%s)", (int)t->tid,
                    (int)c->pid, strerror(errno));
                return -errno;
        }
        t->stopped = 0;
        for (long said = now_ms();;) {
                int st;
                pid_t w = waitpid(-1, &st, __WALL | WNOHANG);
                if (w == 0) {
                        sleep_ms(1);
                        if (now_ms() - said > 10000) {
                                fprintf(stderr, "leaktrace: waiting for process %d to finish "
                                                "loading the tracer\n",
                                        (int)c->pid);
                                said = now_ms();
                        }
                        continue;
                }
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        say(c, "process %d is gone", (int)c->pid);
                        return -ESRCH;
                }
                struct thread *o = thread_of(c, w);
                if (!o)
                        continue;
                if (WIFEXITED(st) || WIFSIGNALED(st)) {
                        o->gone = 1;
                        o->stopped = 0;
                        if (o == t) {
                                say(c, "process %d exited during the call", (int)c->pid);
                                return -ESRCH;
                        }
                        continue;
                }
                if (!WIFSTOPPED(st))
                        continue;
                int sig = WSTOPSIG(st), event = st >> 16;
                if (o == t && !event && sig == SIGSEGV) {
                        struct user_regs_struct back;
                        if (ptrace(PTRACE_GETREGS, t->tid, 0, &back) == 0 && back.rip == 0) {
                                t->stopped = 1;
                                *ret = back.rax;
                                return 0;
                        }
                }
                /* Anything else goes on as it would have: a signal is
                 * delivered (to a handler, on this stack if it is t's), a
                 * stop for a group stop or an old interrupt is passed. */
                int deliver = event ? 0 : sig;
                if (!event && sig == SIGTRAP)
                        deliver = 0;
                ptrace(PTRACE_CONT, w, 0, (void *)(long)deliver);
        }
}

/* Reads a string of the target (at most size - 1 bytes). */
static void peek_string(struct ctx *c, uintptr_t at, char *out, size_t size)
{
        ssize_t n = at ? pread(c->mem, out, size - 1, (off_t)at) : -1;
        out[n > 0 ? n : 0] = '\0';
}

/* One attempt with the threads stopped: 1 when no thread was safe (try
 * again), 0 when the calls were made, -errno on failure. */
static int attempt(struct ctx *c, const struct libc_syms *ls, const char *lib, const char *opts,
                   int *entry_rc)
{
        struct thread *t = choose(c);
        if (!t)
                return 1;
        /* Its extended state (SSE, AVX): a thread stopped anywhere may have
         * live values there that the calls would clobber. */
        static unsigned char xstate[XSTATE_MAX];
        struct iovec xv = { xstate, sizeof(xstate) };
        int have_x = ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &xv) == 0;
        struct user_fpregs_struct fp;
        int have_fp = !have_x && ptrace(PTRACE_GETFPREGS, t->tid, 0, &fp) == 0;

        /* Below its stack pointer and the red zone: the strings, then the
         * calls' frames. */
        static const char entry[] = "leaktrace_attach";
        size_t lib_len = strlen(lib) + 1, opts_len = strlen(opts) + 1;
        uintptr_t strings = (t->regs.rsp - 128 - lib_len - opts_len - sizeof(entry) - 64) &
                            ~(uintptr_t)15;
        uintptr_t lib_at = strings, opts_at = lib_at + lib_len, entry_at = opts_at + opts_len;
        int err = 0;
        if (poke(c, lib_at, lib, lib_len) < 0 || poke(c, opts_at, opts, opts_len) < 0 ||
            poke(c, entry_at, entry, sizeof(entry)) < 0) {
                say(c, "cannot write to the stack of thread %d of process %d", (int)t->tid,
                    (int)c->pid);
                err = -EFAULT;
                goto restore;
        }
        for (size_t i = 0; i < c->n; i++) {
                struct thread *o = &c->t[i];
                if (o == t || o->gone || !o->stopped)
                        continue;
                if (ptrace(PTRACE_CONT, o->tid, 0, (void *)(long)o->sig) == 0) {
                        o->stopped = 0;
                        o->sig = 0;
                }
        }
        uint64_t handle = 0, fn = 0, rc = 0;
        err = call(c, t, strings - 64, ls->dlopen, lib_at, RTLD_NOW_VALUE, &handle);
        if (!err && !handle) {
                uint64_t msg = 0;
                char text[512] = "";
                if (ls->dlerror && call(c, t, strings - 64, ls->dlerror, 0, 0, &msg) == 0)
                        peek_string(c, msg, text, sizeof(text));
                say(c, "process %d could not load %s: %s", (int)c->pid, lib,
                    text[0] ? text : "dlopen failed");
                err = -ENOEXEC;
        }
        if (!err)
                err = call(c, t, strings - 64, ls->dlsym, handle, entry_at, &fn);
        if (!err && !fn) {
                say(c, "%s loaded in process %d has no %s: another version of leaktrace?", lib,
                    (int)c->pid, entry);
                err = -ENOEXEC;
        }
        if (!err)
                err = call(c, t, strings - 64, fn, opts_at, 0, &rc);
        if (!err)
                *entry_rc = (int)(uint32_t)rc;
restore:
        if (t->stopped) {
                ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs);
                if (have_x)
                        ptrace(PTRACE_SETREGSET, t->tid, (void *)NT_X86_XSTATE, &xv);
                else if (have_fp)
                        ptrace(PTRACE_SETFPREGS, t->tid, 0, &fp);
        }
        return err;
}

int lt_inject(pid_t pid, const char *lib, const char *opts, int *entry_rc, char *why, size_t size)
{
        struct ctx c = { .pid = pid, .mem = -1, .why = why, .size = size };
        snprintf(why, size, "process %d: attach failed", (int)pid);
        int err = lt_inject_check(pid, why, size);
        if (err)
                return err;
        err = read_maps(&c);
        if (err)
                return err;
        struct libc_syms ls = { &c, 0, 0, 0 };
        char file[PATH_MAX + 64];
        target_path(&c, c.libc_path, file, sizeof(file));
        err = each_function(file, libc_sym, &ls);
        if (err < 0 || !ls.dlopen || !ls.dlsym) {
                say(&c, "process %d: cannot find dlopen and dlsym in its C library %s%s%s",
                    (int)pid, c.libc_path, err < 0 ? ": " : " (older than glibc 2.34?)",
                    err < 0 ? strerror(-err) : "");
                return err < 0 ? err : -ENOEXEC;
        }
        c.t = calloc(MAX_THREADS, sizeof(*c.t));
        if (!c.t) {
                say(&c, "out of memory");
                return -ENOMEM;
        }
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGQUIT);
        sigprocmask(SIG_BLOCK, &block, &old);

        char mem[64];
        snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pid);
        err = 1;
        for (int round = 0; round < LT_INJECT_TRIES && err == 1; round++) {
                if (round)
                        sleep_ms(20);
                err = seize_all(&c);
                if (!err)
                        err = seccomp_check(&c);
                if (!err && c.mem < 0 && (c.mem = open(mem, O_RDWR | O_CLOEXEC)) < 0) {
                        say(&c, "cannot open %s (%s)", mem, strerror(errno));
                        err = -errno;
                }
                if (!err)
                        err = attempt(&c, &ls, lib, opts, entry_rc);
                release_all(&c);
        }
        if (err == 1 && c.tracer_busy) {
                say(&c, "a thread of process %d stayed inside leaktrace's code from the last attach "
                        "in %d tries; try again",
                    (int)pid, LT_INJECT_TRIES);
                err = -EAGAIN;
        } else if (err == 1) {
                say(&c, "no thread of process %d stood outside the allocator and the loader in %d "
                        "tries; try again, or start it under `leaktrace run --paused`",
                    (int)pid, LT_INJECT_TRIES);
                err = -EAGAIN;
        }
        if (c.mem >= 0)
                close(c.mem);
        free(c.t);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return err;
}
