/* .eh_frame read in place, for the fast unwinder's rules.
 *
 * Reading a rule through libdw opened the object's file, mapped it whole
 * (98 MB for node), and allocated at every address: about 2,400
 * instructions a rule, a lock and malloc, so that a capture inside malloc
 * or a signal handler (mmap, mprotect, timers) could not read one and went
 * to libunwind whole. The loader already has the object's .eh_frame_hdr
 * mapped and gives it with _dl_find_object: its table is sorted by
 * address, and the FDE it points to holds the instructions to run up to
 * the address asked. That is all a rule needs.
 *
 * Every byte read is checked against the object's segment, every count
 * against what is left: a damaged table gives -1 (libdw then), never a
 * read elsewhere. */
#include "cfi.h"

#include <dwarf.h>
#include <string.h>

#define DW_RBP 6
#define DW_RSP 7

/* A reader over [p, end): a read past end sets bad and gives 0. */
struct cur {
        const uint8_t *p, *end;
        int bad;
};

static uint64_t fixed(struct cur *c, unsigned n)
{
        if (c->bad || (size_t)(c->end - c->p) < n) {
                c->bad = 1;
                return 0;
        }
        uint64_t v = 0;
        memcpy(&v, c->p, n); /* little-endian, as x86-64 */
        c->p += n;
        return v;
}

/* A LEB128 number, sign-extended when is_signed. */
static uint64_t leb(struct cur *c, int is_signed)
{
        uint64_t v = 0;
        for (unsigned shift = 0;; shift += 7) {
                uint8_t b = (uint8_t)fixed(c, 1);
                if (c->bad)
                        return 0;
                if (shift < 64)
                        v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        if (is_signed && shift + 7 < 64 && (b & 0x40))
                                v |= ~UINT64_C(0) << (shift + 7);
                        return v;
                }
        }
}

static uint64_t uleb(struct cur *c)
{
        return leb(c, 0);
}

static int64_t sleb(struct cur *c)
{
        return (int64_t)leb(c, 1);
}

/* v times the factor f, and bad when that does not fit. */
static int64_t scaled(struct cur *c, int64_t v, int64_t f)
{
        int64_t r;
        if (__builtin_mul_overflow(v, f, &r) || r == INT64_MIN) {
                c->bad = 1;
                return 0;
        }
        return r;
}

/* A value in pointer encoding enc, read at c. Relative to its own place
 * (pcrel) or to data (datarel); the others do not occur in .eh_frame on
 * x86-64 and make it bad. */
static uintptr_t pointer(struct cur *c, uint8_t enc, uintptr_t data)
{
        uintptr_t at = (uintptr_t)c->p;
        uint64_t v;
        switch (enc & 0x0f) {
        case DW_EH_PE_absptr:
        case DW_EH_PE_udata8:
        case DW_EH_PE_sdata8:
                v = fixed(c, 8);
                break;
        case DW_EH_PE_uleb128:
                v = uleb(c);
                break;
        case DW_EH_PE_udata2:
                v = fixed(c, 2);
                break;
        case DW_EH_PE_udata4:
                v = fixed(c, 4);
                break;
        case DW_EH_PE_sleb128:
                v = (uint64_t)sleb(c);
                break;
        case DW_EH_PE_sdata2:
                v = (uint64_t)(int64_t)(int16_t)fixed(c, 2);
                break;
        case DW_EH_PE_sdata4:
                v = (uint64_t)(int64_t)(int32_t)fixed(c, 4);
                break;
        default:
                c->bad = 1;
                return 0;
        }
        switch (enc & 0x70) {
        case DW_EH_PE_absptr:
                return (uintptr_t)v;
        case DW_EH_PE_pcrel:
                return (uintptr_t)v + at;
        case DW_EH_PE_datarel:
                return (uintptr_t)v + data;
        default:
                c->bad = 1;
                return 0;
        }
}

/* The entry (CIE or FDE) at e: its contents after the length in *c, and
 * where its id field is. 1, 0 at the terminator, -1 when it is not whole
 * in [lo, hi). */
static int entry(uintptr_t e, uintptr_t lo, uintptr_t hi, struct cur *c, int *wide)
{
        if (e < lo || e >= hi)
                return -1;
        *c = (struct cur){ (const uint8_t *)e, (const uint8_t *)hi, 0 };
        uint64_t len = fixed(c, 4);
        *wide = len == 0xffffffff;
        if (*wide)
                len = fixed(c, 8);
        if (c->bad)
                return -1;
        if (len == 0)
                return 0;
        if (len > (uint64_t)(c->end - c->p))
                return -1;
        c->end = c->p + len;
        return 1;
}

struct cie {
        uint64_t caf; /* code alignment factor */
        int64_t daf;  /* data alignment factor */
        uint64_t ra_reg;
        uint8_t fde_enc;
        int has_aug; /* 'z': FDEs have augmentation data */
        int signal;
        struct cur insns;
};

static int read_cie(uintptr_t at, uintptr_t lo, uintptr_t hi, struct cie *cie)
{
        struct cur c;
        int wide;
        if (entry(at, lo, hi, &c, &wide) != 1 || fixed(&c, wide ? 8 : 4) != 0)
                return -1; /* not a CIE */
        uint8_t version = (uint8_t)fixed(&c, 1);
        if (version != 1 && version != 3)
                return -1;
        char aug[8];
        size_t n = 0;
        for (;;) {
                uint8_t ch = (uint8_t)fixed(&c, 1);
                if (c.bad || n == sizeof(aug))
                        return -1;
                aug[n++] = (char)ch;
                if (!ch)
                        break;
        }
        if (aug[0] && aug[0] != 'z')
                return -1; /* "eh" and the like: not since GCC 3 */
        cie->caf = uleb(&c);
        cie->daf = sleb(&c);
        cie->ra_reg = version == 1 ? fixed(&c, 1) : uleb(&c);
        cie->fde_enc = DW_EH_PE_absptr;
        cie->has_aug = aug[0] == 'z';
        cie->signal = 0;
        if (cie->has_aug) {
                uint64_t len = uleb(&c);
                if (c.bad || len > (uint64_t)(c.end - c.p))
                        return -1;
                struct cur a = { c.p, c.p + len, 0 };
                for (const char *s = aug + 1; *s; s++) {
                        switch (*s) {
                        case 'R':
                                cie->fde_enc = (uint8_t)fixed(&a, 1);
                                break;
                        case 'P': {
                                uint8_t enc = (uint8_t)fixed(&a, 1);
                                pointer(&a, enc & 0x7f, 0); /* the personality: skipped */
                                break;
                        }
                        case 'L':
                                fixed(&a, 1);
                                break;
                        case 'S':
                                cie->signal = 1;
                                break;
                        default:
                                return -1;
                        }
                }
                if (a.bad)
                        return -1;
                c.p += len;
        }
        if (c.bad)
                return -1;
        cie->insns = c;
        return 0;
}

/* The rules followed: the CFA's, rbp's and the return address's. */
struct state {
        int cfa_reg; /* -1: an expression */
        int64_t cfa_off;
        struct lt_cfi_reg rbp, ra;
};

static void set(struct state *s, const struct cie *cie, uint64_t reg, enum lt_cfi_how how,
                int64_t off)
{
        if (reg == DW_RBP)
                s->rbp = (struct lt_cfi_reg){ how, off };
        else if (reg == cie->ra_reg)
                s->ra = (struct lt_cfi_reg){ how, off };
}

static void restore(struct state *s, const struct state *init, const struct cie *cie, uint64_t reg)
{
        if (reg == DW_RBP)
                s->rbp = init->rbp;
        else if (reg == cie->ra_reg)
                s->ra = init->ra;
}

#define MAX_REMEMBERED 8

/* Runs the instructions at c from code address loc until the row that
 * holds pc. init: the rules after the CIE's instructions, for
 * DW_CFA_restore. 0, or -1 for an instruction not known. */
static int run(struct cur c, const struct cie *cie, uintptr_t loc, uintptr_t pc,
               struct state *s, const struct state *init)
{
        struct state saved[MAX_REMEMBERED];
        int nsaved = 0;
        while (!c.bad && c.p < c.end) {
                uint8_t op = (uint8_t)fixed(&c, 1);
                uint64_t reg, delta;
                switch (op >> 6) {
                case 1:
                        delta = op & 0x3f;
                        goto advance;
                case 2: {
                        int64_t off = scaled(&c, (int64_t)uleb(&c), cie->daf);
                        set(s, cie, op & 0x3f, LT_CFI_OFFSET, off);
                        continue;
                }
                case 3:
                        restore(s, init, cie, op & 0x3f);
                        continue;
                }
                switch (op) {
                case DW_CFA_nop:
                        continue;
                case DW_CFA_set_loc: {
                        uintptr_t to = pointer(&c, cie->fde_enc, 0);
                        if (c.bad)
                                return -1;
                        if (pc < to)
                                return 0;
                        loc = to;
                        continue;
                }
                case DW_CFA_advance_loc1:
                        delta = fixed(&c, 1);
                        goto advance;
                case DW_CFA_advance_loc2:
                        delta = fixed(&c, 2);
                        goto advance;
                case DW_CFA_advance_loc4:
                        delta = fixed(&c, 4);
                        goto advance;
                case DW_CFA_offset_extended:
                        reg = uleb(&c);
                        set(s, cie, reg, LT_CFI_OFFSET, scaled(&c, (int64_t)uleb(&c), cie->daf));
                        break;
                case DW_CFA_offset_extended_sf:
                        reg = uleb(&c);
                        set(s, cie, reg, LT_CFI_OFFSET, scaled(&c, sleb(&c), cie->daf));
                        break;
                case DW_CFA_GNU_negative_offset_extended:
                        reg = uleb(&c);
                        set(s, cie, reg, LT_CFI_OFFSET, -scaled(&c, (int64_t)uleb(&c), cie->daf));
                        break;
                case DW_CFA_restore_extended:
                        restore(s, init, cie, uleb(&c));
                        break;
                case DW_CFA_undefined:
                        set(s, cie, uleb(&c), LT_CFI_UNDEF, 0);
                        break;
                case DW_CFA_same_value:
                        set(s, cie, uleb(&c), LT_CFI_SAME, 0);
                        break;
                case DW_CFA_register:
                case DW_CFA_val_offset:
                case DW_CFA_val_offset_sf:
                        /* A register and a second operand, skipped: a LEB128
                         * number has the same length read signed or not. */
                        reg = uleb(&c);
                        uleb(&c);
                        set(s, cie, reg, LT_CFI_OTHER, 0);
                        break;
                case DW_CFA_expression:
                case DW_CFA_val_expression: {
                        reg = uleb(&c);
                        uint64_t len = uleb(&c);
                        if (c.bad || len > (uint64_t)(c.end - c.p))
                                return -1;
                        c.p += len;
                        set(s, cie, reg, LT_CFI_OTHER, 0);
                        break;
                }
                case DW_CFA_remember_state:
                        if (nsaved == MAX_REMEMBERED)
                                return -1;
                        saved[nsaved++] = *s;
                        break;
                case DW_CFA_restore_state:
                        /* The CFA's rule too, as GCC's and libdw's
                         * unwinders do: epilogues count on it. */
                        if (nsaved == 0)
                                return -1;
                        *s = saved[--nsaved];
                        break;
                case DW_CFA_def_cfa:
                        s->cfa_reg = (int)uleb(&c);
                        s->cfa_off = (int64_t)uleb(&c);
                        break;
                case DW_CFA_def_cfa_sf:
                        s->cfa_reg = (int)uleb(&c);
                        s->cfa_off = scaled(&c, sleb(&c), cie->daf);
                        break;
                case DW_CFA_def_cfa_register:
                        s->cfa_reg = (int)uleb(&c);
                        break;
                case DW_CFA_def_cfa_offset:
                        s->cfa_off = (int64_t)uleb(&c);
                        break;
                case DW_CFA_def_cfa_offset_sf:
                        s->cfa_off = scaled(&c, sleb(&c), cie->daf);
                        break;
                case DW_CFA_def_cfa_expression: {
                        uint64_t len = uleb(&c);
                        if (c.bad || len > (uint64_t)(c.end - c.p))
                                return -1;
                        c.p += len;
                        s->cfa_reg = -1;
                        break;
                }
                case DW_CFA_GNU_args_size:
                        uleb(&c);
                        break;
                default:
                        return -1;
                }
                if (c.bad)
                        return -1;
                continue;
advance:
                if (c.bad)
                        return -1;
                loc += delta * cie->caf;
                if (pc < loc)
                        return 0;
        }
        return c.bad ? -1 : 0;
}

int lt_cfi_row(const void *hdr, uintptr_t lo, uintptr_t hi, uintptr_t pc, struct lt_cfi_row *row)
{
        /* The header: version, three encodings, the pointer to .eh_frame,
         * the count, then (initial location, FDE) pairs sorted by the
         * first, as offsets from the header when the linker made it, as
         * every linker does. */
        const uintptr_t h = (uintptr_t)hdr;
        if (h < lo || h >= hi || hi - h < 4)
                return -1;
        const uint8_t *b = hdr;
        if (b[0] != 1 || b[2] == DW_EH_PE_omit || b[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
                return -1;
        struct cur c = { b + 4, (const uint8_t *)hi, 0 };
        pointer(&c, b[1], h);
        uint64_t n = pointer(&c, b[2], h);
        if (c.bad || n > (uint64_t)(c.end - c.p) / 8)
                return -1;
        const uint8_t *table = c.p;
        int32_t at[2];
        if (n == 0)
                return 0;
        const int64_t rel = (int64_t)(pc - h);
        uint64_t first = 0, past = n; /* the entry sought is in [first, past) */
        while (past - first > 1) {
                uint64_t mid = first + (past - first) / 2;
                memcpy(at, table + mid * 8, 4);
                if (at[0] <= rel)
                        first = mid;
                else
                        past = mid;
        }
        memcpy(at, table + first * 8, 8);
        if (at[0] > rel)
                return 0;

        /* The FDE: its CIE, the range it covers, its instructions. */
        struct cur f;
        int wide;
        const uintptr_t fde = h + (uintptr_t)(intptr_t)at[1];
        int e = entry(fde, lo, hi, &f, &wide);
        if (e <= 0)
                return e;
        const uintptr_t id_at = (uintptr_t)f.p;
        const uint64_t id = fixed(&f, wide ? 8 : 4);
        struct cie cie;
        if (f.bad || id == 0 || id > id_at || read_cie(id_at - id, lo, hi, &cie) < 0)
                return -1;
        if ((cie.fde_enc & 0x70) == DW_EH_PE_datarel || (cie.fde_enc & DW_EH_PE_indirect))
                return -1;
        const uintptr_t start = pointer(&f, cie.fde_enc, 0);
        const uintptr_t range = pointer(&f, cie.fde_enc & 0x0f, 0);
        if (f.bad)
                return -1;
        if (pc < start || pc - start >= range)
                return 0;
        if (cie.has_aug) {
                uint64_t len = uleb(&f);
                if (f.bad || len > (uint64_t)(f.end - f.p))
                        return -1;
                f.p += len;
        }

        /* Before the CIE's instructions, the ABI's: the CFA is rsp + 8
         * at the call, rbp is callee-saved, the return address unknown
         * until the CIE says where. */
        struct state init = { DW_RSP, 8, { LT_CFI_SAME, 0 }, { LT_CFI_UNDEF, 0 } };
        if (run(cie.insns, &cie, start, UINTPTR_MAX, &init, &init) < 0)
                return -1;
        struct state s = init;
        if (run(f, &cie, start, pc, &s, &init) < 0)
                return -1;
        *row = (struct lt_cfi_row){ .cfa_reg = s.cfa_reg,
                                    .cfa_off = s.cfa_off,
                                    .ra_reg = (int)cie.ra_reg,
                                    .signal = cie.signal,
                                    .rbp = s.rbp,
                                    .ra = s.ra };
        return 1;
}
