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

        /* Without reading rules: the known stack alike, an unknown one left
         * to libunwind. */
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
        CHECK(last.fast == -1, "without reading rules, a frame never seen: left to libunwind (%d)",
              last.fast);

        /* The rules are cached: the second time is the same. */
        recurse(10);
        int first = last.fast;
        recurse(10);
        CHECK(last.agree && last.fast == first, "cached rules give the same stack again");
        return tap_done();
}
