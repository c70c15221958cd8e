/* See modindex.h. Both indexes are arrays sorted by start address with a
 * running maximum of end addresses beside them, so that a lookup is a
 * binary search and a walk back that stops as soon as nothing earlier can
 * reach the address. */
#define _GNU_SOURCE
#include "modindex.h"

#include <dwarf.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct range {
        GElf_Addr lo, hi;
        const char *name; /* symbols */
        Dwarf_Off die;    /* units */
        int rank;         /* symbols at one address: the lowest rank is named */
};

struct table {
        struct range *r;
        GElf_Addr *max_hi;
        size_t n, cap;
        bool built;
};

struct lt_modindex {
        Dwfl_Module *dm;
        struct table syms, units;
};

struct lt_modindex *lt_modindex_new(Dwfl_Module *dm)
{
        struct lt_modindex *ix = calloc(1, sizeof(*ix));
        if (ix)
                ix->dm = dm;
        return ix;
}

static void table_free(struct table *t)
{
        free(t->r);
        free(t->max_hi);
}

void lt_modindex_free(struct lt_modindex *ix)
{
        if (!ix)
                return;
        table_free(&ix->syms);
        table_free(&ix->units);
        free(ix);
}

static int add(struct table *t, struct range r)
{
        if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 256;
                struct range *nr = realloc(t->r, cap * sizeof(*nr));
                if (!nr)
                        return -ENOMEM;
                t->r = nr;
                t->cap = cap;
        }
        t->r[t->n++] = r;
        return 0;
}

static int range_cmp(const void *pa, const void *pb)
{
        const struct range *a = pa, *b = pb;
        if (a->lo != b->lo)
                return a->lo < b->lo ? -1 : 1;
        return a->rank - b->rank;
}

static int finish(struct table *t)
{
        if (t->n)
                qsort(t->r, t->n, sizeof(*t->r), range_cmp);
        if (!(t->max_hi = malloc((t->n + 1) * sizeof(*t->max_hi))))
                return -ENOMEM;
        for (size_t i = 0; i < t->n; i++)
                t->max_hi[i] = i && t->max_hi[i - 1] > t->r[i].hi ? t->max_hi[i - 1] : t->r[i].hi;
        t->built = true;
        return 0;
}

/* The last entry starting at or below a, or SIZE_MAX. */
static size_t last_at_or_below(const struct table *t, GElf_Addr a)
{
        size_t lo = 0, hi = t->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->r[mid].lo <= a)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo - 1; /* wraps to SIZE_MAX when lo is 0 */
}

/* The entry holding a that starts last (the innermost); of those starting
 * there, the lowest rank. SIZE_MAX when none holds a. */
static size_t holding(const struct table *t, GElf_Addr a)
{
        size_t best = SIZE_MAX;
        for (size_t i = last_at_or_below(t, a); i != SIZE_MAX && t->max_hi[i] > a; i--) {
                if (best != SIZE_MAX && t->r[i].lo < t->r[best].lo)
                        break;
                if (a < t->r[i].hi)
                        best = i; /* walking back at one start: lower ranks */
        }
        return best;
}

/* Global names before weak ones before local ones, as a linker would
 * resolve them: "__strdup" and "strdup" are one function. */
static int bind_rank(unsigned char info)
{
        switch (GELF_ST_BIND(info)) {
        case STB_GLOBAL:
                return 0;
        case STB_WEAK:
                return 1;
        default:
                return 2;
        }
}

static int build_syms(struct lt_modindex *ix)
{
        int n = dwfl_module_getsymtab(ix->dm);
        for (int i = 1; i < n; i++) {
                GElf_Sym sym;
                GElf_Addr addr;
                GElf_Word shndx;
                const char *name =
                    dwfl_module_getsym_info(ix->dm, i, &sym, &addr, &shndx, NULL, NULL);
                int type = GELF_ST_TYPE(sym.st_info);
                if (!name || !*name || shndx == SHN_UNDEF)
                        continue;
                /* Functions; hand-written code may have only a sized label. */
                if (type != STT_FUNC && type != STT_GNU_IFUNC &&
                    !(type == STT_NOTYPE && sym.st_size))
                        continue;
                if (add(&ix->syms, (struct range){addr, addr + sym.st_size, name, 0,
                                                  bind_rank(sym.st_info)}) < 0)
                        return -ENOMEM;
        }
        return finish(&ix->syms);
}

const char *lt_modindex_symbol(struct lt_modindex *ix, GElf_Addr pc, int *err)
{
        struct table *t = &ix->syms;
        if (!t->built && (*err = build_syms(ix)) < 0)
                return NULL;
        size_t i = holding(t, pc);
        if (i != SIZE_MAX)
                return t->r[i].name;
        /* A symbol without a size holds what follows it, up to the next. */
        i = last_at_or_below(t, pc);
        if (i == SIZE_MAX || t->r[i].hi != t->r[i].lo)
                return NULL;
        while (i > 0 && t->r[i - 1].lo == t->r[i].lo)
                i--; /* the lowest rank at that address */
        return t->r[i].name;
}

static int build_units(struct lt_modindex *ix, Dwarf *dw)
{
        Dwarf_CU *cu = NULL;
        Dwarf_Die cudie;
        uint8_t type;
        while (dwarf_get_units(dw, cu, &cu, NULL, &type, &cudie, NULL) == 0) {
                if (type != DW_UT_compile && type != DW_UT_partial)
                        continue;
                Dwarf_Addr base, lo, hi;
                for (ptrdiff_t off = 0; (off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0;)
                        if (add(&ix->units,
                                (struct range){lo, hi, NULL, dwarf_dieoffset(&cudie), 0}) < 0)
                                return -ENOMEM;
        }
        return finish(&ix->units);
}

Dwarf_Die *lt_modindex_unit(struct lt_modindex *ix, Dwarf_Addr pc, Dwarf_Addr *bias, Dwarf_Die *mem,
                            int *err)
{
        Dwarf_Die *cu = dwfl_module_addrdie(ix->dm, pc, bias);
        if (cu)
                return cu;
        Dwarf *dw = dwfl_module_getdwarf(ix->dm, bias);
        if (!dw)
                return NULL;
        struct table *t = &ix->units;
        if (!t->built && (*err = build_units(ix, dw)) < 0)
                return NULL;
        size_t i = holding(t, pc - *bias);
        return i != SIZE_MAX ? dwarf_offdie(dw, t->r[i].die, mem) : NULL;
}
