/* Functions under the names rustc gives them, both manglings (v0, "_R",
 * which std uses, and the legacy one, the C++ ABI's with a hash and $
 * escapes), each leaking one block of its own size: the report must name
 * them as Rust does (leaky::inner::leak_v0), not raw, nor with the hash. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE void *leak_v0(void) __asm__("_RNvNtCsjrHSEGnQ3l9_5leaky5inner7leak_v0");
NOINLINE void *leak_legacy(void) __asm__("_ZN5leaky5inner11leak_legacy17h0123456789abcdefE");
NOINLINE void *leak_generic(void) __asm__("_ZN5leaky5inner14leak_$LT$T$GT$17hfedcba9876543210E");

NOINLINE void *leak_v0(void)
{
        return malloc(101); /* LEAK: v0 */
}

NOINLINE void *leak_legacy(void)
{
        return malloc(102); /* LEAK: legacy */
}

NOINLINE void *leak_generic(void)
{
        return malloc(103); /* LEAK: generic */
}

int main(void)
{
        void *volatile kept[3] = {leak_v0(), leak_legacy(), leak_generic()};
        (void)kept;
        puts("rustnames");
        return 0;
}
