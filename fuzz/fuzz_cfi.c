/* libFuzzer target: any bytes as an object's segment that starts with its
 * .eh_frame_hdr, for the preload's .eh_frame reader (preload/cfi.c). The
 * bytes are copied to a block of their exact size, which is all the reader
 * is told it may read: a read outside it is an AddressSanitizer report. It
 * is asked for the rows at the starts of the first functions the table
 * names, a few bytes into them, and at an address the bytes give. A crash
 * or a sanitizer report is a finding; its input goes into fuzz/corpus-cfi/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"

static void row_at(const uint8_t *seg, size_t size, uintptr_t pc)
{
        struct lt_cfi_row row;
        int r = lt_cfi_row(seg, (uintptr_t)seg, (uintptr_t)seg + size, pc, &row);
        if (r < -1 || r > 1)
                abort();
        if (r == 1 && row.rbp.how > LT_CFI_OTHER)
                abort(); /* found, but not a row */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *seg = malloc(size ? size : 1);
        if (!seg)
                return 0;
        memcpy(seg, data, size);
        /* The table of a header with 4-byte pointer and count. */
        for (size_t i = 0; i < 8 && 12 + 8 * (i + 1) <= size; i++) {
                int32_t loc;
                memcpy(&loc, seg + 12 + 8 * i, 4);
                static const int step[] = { 0, 1, 4, 17, 64 };
                for (size_t s = 0; s < sizeof(step) / sizeof(step[0]); s++)
                        row_at(seg, size,
                               (uintptr_t)seg + (uintptr_t)(intptr_t)loc + (uintptr_t)step[s]);
        }
        if (size >= 8) {
                int64_t at;
                memcpy(&at, seg + size - 8, 8);
                row_at(seg, size, (uintptr_t)seg + (uintptr_t)at);
        }
        free(seg);
        return 0;
}
