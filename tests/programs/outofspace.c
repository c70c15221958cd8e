/* Many distinct call stacks, to fill a trace file or the tracer's tables.
 * Pattern p (BITS bits) reaches the leaf through a chain of BITS calls, one
 * of step0 or step1 per bit, highest bit innermost: every pattern is a call
 * stack of its own, and a report's frames tell the pattern back. The leaf
 * leaks one block of leak_size(p) bytes and allocates and frees another.
 *
 * Usage:
 *   outofspace stacks BITS STATUS   every pattern once; prints a checksum of
 *                                   the program's own work; exits STATUS
 *   outofspace tables BITS NBULK keep|free
 *                                   first one malloc/free at the bulk and
 *                                   after sites (their stacks known early),
 *                                   then every pattern, then NBULK blocks of
 *                                   BULK_SIZE kept live at one site; with
 *                                   "free", frees them all and then keeps
 *                                   AFTER blocks of AFTER_SIZE at another */
#include "common.h"

#define BULK_SIZE 48
#define AFTER 100
#define AFTER_SIZE 80

static int bits;
static uint64_t checksum;
static void **leaked;

static size_t leak_size(unsigned p)
{
        return 16 + (p * 7u) % 200u;
}

static NOINLINE void leaf(unsigned p)
{
        void *tmp = malloc(64 + p % 32); /* CALL: leaf_tmp */
        if (!tmp)
                die("outofspace: malloc failed\n");
        memset(tmp, (int)p, 64 + p % 32);
        checksum = checksum * 31 + ((unsigned char *)tmp)[5] + p;
        free(tmp);
        leaked[p] = malloc(leak_size(p)); /* LEAK: leaf */
        if (!leaked[p])
                die("outofspace: malloc failed\n");
        memset(leaked[p], 1, leak_size(p));
}

static void descend(unsigned p, int bit);

static NOINLINE void step0(unsigned p, int bit)
{
        descend(p, bit);
}

static NOINLINE void step1(unsigned p, int bit)
{
        descend(p, bit);
}

static NOINLINE void descend(unsigned p, int bit)
{
        if (bit == bits)
                leaf(p);
        else if ((p >> bit) & 1)
                step1(p, bit + 1);
        else
                step0(p, bit + 1);
}

static NOINLINE void *bulk_alloc(void)
{
        return malloc(BULK_SIZE); /* LEAK: bulk */
}

static NOINLINE void *after_alloc(void)
{
        return malloc(AFTER_SIZE); /* LEAK: after */
}

/* Each from one call site, so that a block of the first call and one of
 * the later calls have the same stack. */
static NOINLINE void fill_bulk(void **bulk, long n)
{
        for (long i = 0; i < n; i++)
                if (!(bulk[i] = bulk_alloc()))
                        die("outofspace: malloc failed\n");
}

static NOINLINE void fill_after(void **after, int n)
{
        for (int i = 0; i < n; i++)
                if (!(after[i] = after_alloc()))
                        die("outofspace: malloc failed\n");
}

static void patterns(void)
{
        leaked = calloc((size_t)1 << bits, sizeof(void *)); /* LEAK: table */
        if (!leaked)
                die("outofspace: calloc failed\n");
        for (unsigned p = 0; p < (1u << bits); p++)
                descend(p, 0);
}

int main(int argc, char **argv)
{
        if (argc == 4 && !strcmp(argv[1], "stacks")) {
                bits = atoi(argv[2]);
                patterns();
                say("outofspace: %u patterns, checksum %llx\n", 1u << bits,
                    (unsigned long long)checksum);
                return atoi(argv[3]);
        }
        if (argc == 5 && !strcmp(argv[1], "tables")) {
                bits = atoi(argv[2]);
                long nbulk = atol(argv[3]);
                int keep = !strcmp(argv[4], "keep");
                void **bulk = calloc((size_t)nbulk, sizeof(void *)); /* LEAK: bulk_table */
                if (!bulk)
                        die("outofspace: calloc failed\n");
                static void *after[AFTER];
                /* Phase 0 makes the bulk and after stacks known, through
                 * the very calls that phase 1 makes again. */
                for (int phase = 0; phase < 2; phase++) {
                        if (phase == 1)
                                patterns();
                        long n = phase ? nbulk : 1;
                        fill_bulk(bulk, n);
                        if (phase == 1 && keep)
                                break;
                        for (long i = 0; i < n; i++)
                                free(bulk[i]);
                        fill_after(after, phase ? AFTER : 1);
                        if (phase == 0)
                                free(after[0]);
                }
                say("outofspace: %u patterns, %ld bulk blocks %s, checksum %llx\n", 1u << bits,
                    nbulk, keep ? "kept" : "freed", (unsigned long long)checksum);
                return 0;
        }
        die("usage: outofspace stacks BITS STATUS | outofspace tables BITS NBULK keep|free\n");
}
