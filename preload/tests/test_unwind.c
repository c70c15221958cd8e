/* The fast unwinder against libunwind: from the same point of many kinds of
 * stack, the two must give the same frames (or the fast one must hand the
 * stack to libunwind, as it does for signal frames). */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <link.h>

#include "cfi.h"
#include "tap.h"
#include "unwind.h"

#define MAX 256
#define NOINLINE __attribute__((noinline))

/* What one comparison found. */
struct outcome {
        int fast;   /* frames the fast unwinder gave from the common point, -1: handed over */
        int slow;   /* the same from libunwind */
        int agree;  /* the two lists are equal */
};
static struct outcome last;
static int may_read = 1; /* what compare() lets the fast unwinder do */
static int at_caller;    /* compare() starts the fast unwinder at its caller, as a hook does */

/* Both unwinders from here; compared from the return address into this
 * function's caller outward, the first frame both see alike. Started at
 * the caller, the fast one must give that return address first. */
static NOINLINE void compare(void)
{
        void *fast[MAX], *slow[MAX];
        void *from = __builtin_return_address(0);
        struct lt_caller caller = LT_CALLER();
        int nf = lt_unwind(fast, MAX, may_read, at_caller ? &caller : NULL);
        int ns = unw_backtrace(slow, MAX);
        int i = 0, j = 0;
        while (!at_caller && i < nf && fast[i] != from)
                i++;
        while (j < ns && slow[j] != from)
                j++;
        last.fast = nf < 0 ? -1 : nf - i;
        last.slow = ns - j;
        last.agree = nf >= 0 && i < nf && j < ns && nf - i == ns - j &&
                     !memcmp(fast + i, slow + j, (size_t)(nf - i) * sizeof(void *));
        __asm__ volatile("" ::: "memory");
}

static NOINLINE int recurse(int depth)
{
        if (depth == 0) {
                compare();
                return 0;
        }
        int r = recurse(depth - 1);
        __asm__ volatile("" ::: "memory");
        return r + 1;
}

/* A variable-length array: gcc addresses this frame from rbp. */
static NOINLINE int with_vla(int n)
{
        volatile char buf[n];
        buf[0] = 1;
        buf[n - 1] = 2;
        compare();
        return buf[0] + buf[n - 1];
}

static int cmp_calls;
static int by_value(const void *a, const void *b)
{
        if (!cmp_calls++)
                compare();
        return *(const int *)a - *(const int *)b;
}

/* Called only once, with rules not to be read: its frames are unknown. */
static NOINLINE int never_seen(int x)
{
        may_read = 0;
        compare();
        may_read = 1;
        return x + 1;
}

static void *in_thread(void *arg)
{
        (void)arg;
        recurse(7);
        return NULL;
}

static volatile sig_atomic_t in_handler;
static void on_signal(int sig)
{
        (void)sig;
        may_read = 0; /* as the timer hooks: no rule read in a handler */
        compare();
        may_read = 1;
        in_handler = 1;
}

/* lt_cfi_row() against libdw, at code addresses of every loaded object
 * with an .eh_frame_hdr: every byte of the first and last 48 of each
 * function (prologues, epilogues) and every 16th between. */
struct cfi_count {
        long pcs, differ, unread, objects;
        char first_diff[256];
};

/* A register's rule as libdw gives it, in lt_cfi_row's terms. */
static struct lt_cfi_reg libdw_reg(Dwarf_Frame *f, int reg)
{
        Dwarf_Op mem[3], *ops;
        size_t n;
        if (dwarf_frame_register(f, reg, mem, &ops, &n) < 0)
                return (struct lt_cfi_reg){ LT_CFI_OTHER, 1 };
        if (n == 0)
                return (struct lt_cfi_reg){ ops ? LT_CFI_UNDEF : LT_CFI_SAME, 0 };
        if (ops[0].atom == DW_OP_call_frame_cfa && n == 1)
                return (struct lt_cfi_reg){ LT_CFI_OFFSET, 0 };
        if (ops[0].atom == DW_OP_call_frame_cfa && n == 2 && ops[1].atom == DW_OP_plus_uconst)
                return (struct lt_cfi_reg){ LT_CFI_OFFSET, (int64_t)ops[1].number };
        return (struct lt_cfi_reg){ LT_CFI_OTHER, 0 };
}

/* Whether our row at pc is libdw's. A row lt_cfi_row() does not read (-1)
 * is not compared, but counted in c->unread. */
static int same_row(Dwarf_CFI *cfi, uintptr_t bias, const void *hdr, uintptr_t lo, uintptr_t hi,
                    uintptr_t pc, struct cfi_count *c)
{
        struct lt_cfi_row row;
        int ours = lt_cfi_row(hdr, lo, hi, pc, &row);
        Dwarf_Frame *f;
        if (ours < 0) {
                c->unread++;
                return 1;
        }
        if (dwarf_cfi_addrframe(cfi, pc - bias, &f) != 0)
                return ours == 0;
        int same = 0;
        bool signal;
        Dwarf_Op *ops;
        size_t n;
        int ra = dwarf_frame_info(f, NULL, NULL, &signal);
        if (ours == 1 && ra == row.ra_reg && signal == !!row.signal &&
            dwarf_frame_cfa(f, &ops, &n) == 0) {
                int cfa_same = n == 1 && ops[0].atom == DW_OP_bregx
                                       ? row.cfa_reg == (int)ops[0].number &&
                                                 row.cfa_off == (int64_t)ops[0].number2
                                       : row.cfa_reg == -1;
                struct lt_cfi_reg rbp = libdw_reg(f, 6), rr = libdw_reg(f, ra);
                same = cfa_same && rbp.how == row.rbp.how && rbp.off == row.rbp.off &&
                       rr.how == row.ra.how && rr.off == row.ra.off;
        }
        free(f);
        return same;
}

static int check_object(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        struct cfi_count *c = arg;
        const ElfW(Phdr) *eh = NULL;
        uintptr_t lo = UINTPTR_MAX, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *p = &info->dlpi_phdr[i];
                if (p->p_type == PT_GNU_EH_FRAME)
                        eh = p;
                if (p->p_type == PT_LOAD) {
                        uintptr_t a = info->dlpi_addr + p->p_vaddr;
                        lo = a < lo ? a : lo;
                        hi = a + p->p_memsz > hi ? a + p->p_memsz : hi;
                }
        }
        const char *path = info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
        int fd = eh ? open(path, O_RDONLY) : -1;
        if (fd < 0)
                return 0; /* the vDSO: no file */
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        Dwarf_CFI *cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
        const uint8_t *hdr = (const uint8_t *)(info->dlpi_addr + eh->p_vaddr);
        /* The table as every linker makes it: a 4-byte .eh_frame pointer
         * and count, then pairs of 4-byte offsets from the header. */
        const int ptr4 = (hdr[1] & 0x0f) == DW_EH_PE_udata4 || (hdr[1] & 0x0f) == DW_EH_PE_sdata4;
        if (cfi && hdr[0] == 1 && ptr4 && hdr[2] == DW_EH_PE_udata4 &&
            hdr[3] == (DW_EH_PE_datarel | DW_EH_PE_sdata4)) {
                c->objects++;
                const uint8_t *p = hdr + 4 + 4;
                uint32_t count;
                memcpy(&count, p, 4);
                const int32_t *t = (const int32_t *)(p + 4);
                for (uint32_t i = 0; i < count; i++) {
                        uintptr_t start = (uintptr_t)hdr + t[2 * i];
                        uintptr_t end = i + 1 < count ? (uintptr_t)hdr + t[2 * i + 2] : start + 64;
                        for (uintptr_t pc = start; pc < end; pc++) {
                                if (pc - start >= 48 && end - pc > 48 && (pc - start) % 16)
                                        continue;
                                c->pcs++;
                                if (same_row(cfi, info->dlpi_addr, hdr, lo, hi, pc, c))
                                        continue;
                                if (!c->differ++)
                                        snprintf(c->first_diff, sizeof(c->first_diff),
                                                 "%s+%#lx", path,
                                                 (unsigned long)(pc - info->dlpi_addr));
                        }
                }
        }
        if (cfi)
                dwarf_cfi_end(cfi);
        if (elf)
                elf_end(elf);
        close(fd);
        return 0;
}

/* Code that no loaded object holds, keeping the frame pointer chain as V8's
 * JIT code does: push rbp; mov rbp, rsp; call *rdi; pop rbp; ret. */
static const unsigned char jit_code[] = { 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3 };

int main(void)
{
        CHECK(lt_unwind_init(1) == 0, "the rule table is made");

        int all = 1, shortest = MAX;
        for (int d = 0; d <= 60; d++) {
                recurse(d);
                all &= last.agree;
                if (last.fast < shortest)
                        shortest = last.fast;
        }
        CHECK(all, "recursion 0 to 60 deep: the same frames as libunwind");
        CHECK(shortest >= 3, "down to main and the start code (at least %d frames)", shortest);

        /* As the allocation hooks start it: at the caller of the function
         * that LT_CALLER() is in, its frames all alike. */
        at_caller = 1;
        all = 1;
        for (int d = 0; d <= 60; d += 6) {
                recurse(d);
                all &= last.agree && last.fast == last.slow;
        }
        CHECK(all, "started at the caller, recursion 0 to 60 deep: first the caller's return "
              "address, then the same frames as libunwind");
        with_vla(300);
        CHECK(last.agree, "started at the caller, a caller whose CFA is from rbp: %d frames alike",
              last.fast);
        at_caller = 0;

        with_vla(100);
        CHECK(last.agree, "a frame with a variable-length array (CFA from rbp): %d frames alike",
              last.fast);
        with_vla(5000);
        CHECK(last.agree, "the same function with another size: %d frames alike", last.fast);

        int v[] = { 3, 1, 2 };
        qsort(v, 3, sizeof(int), by_value);
        CHECK(last.agree, "through qsort in libc: %d frames alike", last.fast);

        pthread_t t;
        pthread_create(&t, NULL, in_thread, NULL);
        pthread_join(t, NULL);
        CHECK(last.agree, "in a thread, down to clone: %d frames alike", last.fast);

        signal(SIGUSR1, on_signal);
        raise(SIGUSR1);
        CHECK(in_handler && (last.fast == -1 || last.agree),
              "in a signal handler: handed to libunwind (%d) or alike", last.fast);

        void *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memcpy(code, jit_code, sizeof(jit_code));
        mprotect(code, 4096, PROT_READ | PROT_EXEC);
        ((void (*)(void (*)(void)))code)(compare);
        CHECK(last.agree, "through code without CFI that keeps rbp (JIT): %d frames alike, "
              "libunwind %d", last.fast, last.slow);

        /* Without reading rules (no lock, no allocation): the known stack
         * alike, and an unknown one too, its rules read from .eh_frame in
         * place. */
        /* One call site, the same return addresses: a loop the compiler
         * cannot unroll into two. */
        volatile int rounds = 2;
        for (int i = 0; i < rounds; i++) {
                may_read = i == 0;
                recurse(12);
        }
        may_read = 1;
        CHECK(last.agree, "without reading rules, a stack seen before: %d frames alike", last.fast);
        never_seen(1);
        CHECK(last.agree, "without reading rules, a frame never seen: read in place from "
              ".eh_frame, %d frames alike", last.fast);

        /* The rules are cached: the second time is the same. */
        recurse(10);
        int first = last.fast;
        recurse(10);
        CHECK(last.agree && last.fast == first, "cached rules give the same stack again");

        /* C++ code too: personality routines and LSDAs in its CIEs. */
        void *cxx = dlopen("libstdc++.so.6", RTLD_NOW);
        struct cfi_count cc = { 0 };
        elf_version(EV_CURRENT);
        dl_iterate_phdr(check_object, &cc);
        CHECK(cc.objects >= 5 && cc.pcs > 200000 && cc.differ == 0 && cc.unread == 0,
              "the .eh_frame reader against libdw: %ld objects, %ld addresses, %ld differ%s%s, "
              "%ld not read", cc.objects, cc.pcs, cc.differ, cc.differ ? ", first at " : "",
              cc.first_diff, cc.unread);
        if (cxx)
                dlclose(cxx);
        return tap_done();
}
