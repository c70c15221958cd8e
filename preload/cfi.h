/* Call frame information read from a loaded object's own image: the
 * .eh_frame_hdr search table that the linker sorted by address, then the
 * FDE and CIE it points to, interpreted up to the address asked. */
#ifndef LT_CFI_H
#define LT_CFI_H

#include <stdint.h>

/* How the caller's value of a register is found. */
enum lt_cfi_how {
        LT_CFI_SAME,   /* unchanged: the register holds it still */
        LT_CFI_UNDEF,  /* lost (the return address: the outermost frame) */
        LT_CFI_OFFSET, /* saved at CFA + off */
        LT_CFI_OTHER   /* another register, an expression, CFA + off as a value */
};

struct lt_cfi_reg {
        enum lt_cfi_how how;
        int64_t off;
};

/* The row of the CFI table at one address. */
struct lt_cfi_row {
        int cfa_reg;     /* DWARF register the CFA is based on; -1: an expression */
        int64_t cfa_off; /* CFA = cfa_reg + cfa_off */
        int ra_reg;      /* the CIE's return address column */
        int signal;      /* a signal frame: the CIE's augmentation has 'S' */
        struct lt_cfi_reg rbp, ra;
};

/* The row at code address pc of the object whose PT_GNU_EH_FRAME segment
 * is at hdr, every byte read lying in [lo, hi) (the object's mapping).
 * Returns 1 with *row filled, 0 when no FDE covers pc, -1 when the table
 * or the CFI is of a form not read here. Reads memory only: no lock, no
 * allocation, and so safe in a signal handler and inside malloc. */
int lt_cfi_row(const void *hdr, uintptr_t lo, uintptr_t hi, uintptr_t pc,
               struct lt_cfi_row *row);

#endif
