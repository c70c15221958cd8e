/* A program that confines itself, then allocates from many stacks and
 * prints a checksum (with write: stdio would ask fstat), one mode each:
 *
 *   sandbox filter   a seccomp filter through prctl that allows only what
 *                    the program itself needs and kills the process on
 *                    anything else
 *   sandbox tsync    the same filter through the seccomp system call, for
 *                    every thread (SECCOMP_FILTER_FLAG_TSYNC)
 *   sandbox strict   seccomp's strict mode (read, write, exit, sigreturn),
 *                    its heap made beforehand; ends with the exit system
 *                    call of its one thread
 *   sandbox unshare  unshare(CLONE_NEWUSER), which the kernel refuses to a
 *                    process of several threads; prints what it returned
 *   sandbox wait kill|errno|arch
 *                    a filter that answers openat by killing the process
 *                    (kill) or with EPERM (errno) and allows the rest, or
 *                    (arch) kills only a call of another architecture than
 *                    x86-64, as a container's filter does; prints "ready",
 *                    then allocates every 10 ms until a signal ends it
 *                    (what `leaktrace attach` meets)
 *
 * The output must be the same traced and untraced. */
#define _GNU_SOURCE
#include "common.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define OK(n)                                                                                      \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (n), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static NOINLINE void *nest(int depth, unsigned path)
{
        void *p =
            depth ? nest(depth - 1, path >> 1) : malloc((path & 1) ? 200000 : 16 + (path & 0xff));
        __asm__ volatile("" ::: "memory");
        return p;
}

static unsigned long work(void)
{
        unsigned long sum = 0;
        uint64_t s = 7;
        void *held[128] = {0};
        for (int i = 0; i < 20000; i++) {
                int k = (int)(rng_next(&s) & 127);
                free(held[k]);
                held[k] = nest((int)(rng_next(&s) % 24), (unsigned)rng_next(&s));
                if (!held[k])
                        return 0;
                ((unsigned char *)held[k])[0] = (unsigned char)i;
                sum += ((unsigned char *)held[k])[0];
        }
        for (int i = 0; i < 128; i++)
                free(held[i]);
        return sum;
}

static void report(unsigned long sum)
{
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "sum %lu\n", sum);
        if (write(1, buf, (size_t)n) != n)
                syscall(SYS_exit_group, 9);
}

static int wait_filtered(const char *how)
{
        unsigned action = !strcmp(how, "kill") ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | EPERM;
        struct sock_filter by_call[] = {
            NR,
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, action),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_filter by_arch[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        int arch = !strcmp(how, "arch");
        struct sock_fprog prog = {4, arch ? by_arch : by_call};
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
                die("sandbox: seccomp: %s\n", strerror(errno));
        say("ready\n");
        for (;;) {
                free(nest(3, 1));
                usleep(10000);
        }
}

int main(int argc, char **argv)
{
        const char *mode = argc > 1 ? argv[1] : "";
        if (!strcmp(mode, "unshare")) {
                int rc = unshare(CLONE_NEWUSER);
                say("unshare %d %s\n", rc, rc ? strerror(errno) : "ok");
                return 0;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
                die("sandbox: no_new_privs: %s\n", strerror(errno));
        if (!strcmp(mode, "wait") && argc == 3)
                return wait_filtered(argv[2]);
        if (!strcmp(mode, "strict")) {
                /* No brk nor mmap from here: the heap, made now, will do. */
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, 1 << 30);
                static void *pre[64];
                for (int i = 0; i < 64; i++)
                        pre[i] = malloc(1 << 20);
                for (int i = 0; i < 64; i++)
                        free(pre[i]);
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
                        die("sandbox: strict: %s\n", strerror(errno));
                report(work());
                syscall(SYS_exit, 0);
        }
        struct sock_filter f[] = {
            NR,
            OK(SYS_read),
            OK(SYS_write),
            OK(SYS_exit),
            OK(SYS_exit_group),
            OK(SYS_brk),
            OK(SYS_mmap),
            OK(SYS_munmap),
            OK(SYS_mremap),
            OK(SYS_mprotect),
            OK(SYS_madvise),
            OK(SYS_futex),
            OK(SYS_rt_sigreturn),
            OK(SYS_getrandom),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        };
        struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};
        int rc = !strcmp(mode, "filter") ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)
                 : !strcmp(mode, "tsync")
                     ? (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                                    &prog)
                     : (die("usage: sandbox filter|tsync|strict|unshare|wait kill|errno|arch\n"), -1);
        if (rc)
                die("sandbox: seccomp: %s\n", strerror(errno));
        report(work());
        exit(0);
}
