/* libFuzzer target: any bytes, as a trace file, through `leaktrace report`'s
 * path (harness.c). A crash, a sanitizer report, or a refusal without a
 * one-line message is a finding; its input goes into fuzz/corpus/. */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        lt_fuzz_quiet();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        lt_fuzz_one(data, size, NULL, 0);
        return 0;
}
