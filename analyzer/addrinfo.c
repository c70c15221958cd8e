/* Functions, lines and inline frames of an address. Line and unit lookups
 * go through dwfl, which finds a compilation unit through .debug_aranges;
 * clang does not emit that section and elfutils 0.188 does not make up for
 * it, so a module where dwfl finds no unit gets an index of its units'
 * address ranges, built once. */
#define _GNU_SOURCE
#include "addrinfo.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From libstdc++: the C++ ABI's demangler. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

struct cu_range {
        Dwarf_Addr lo, hi;
        Dwarf_Off die;
};

struct lt_cu_index {
        struct cu_range *r; /* by lo */
        Dwarf_Addr *max_hi; /* max_hi[i]: the highest hi among r[0..i] */
        size_t n;
};

void lt_cu_index_free(struct lt_cu_index *idx)
{
        if (!idx)
                return;
        free(idx->r);
        free(idx->max_hi);
        free(idx);
}

static int range_cmp(const void *pa, const void *pb)
{
        const struct cu_range *a = pa, *b = pb;
        return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static struct lt_cu_index *build_index(Dwarf *dw)
{
        struct lt_cu_index *idx = calloc(1, sizeof(*idx));
        size_t cap = 0;
        Dwarf_CU *cu = NULL;
        Dwarf_Die cudie;
        uint8_t type;
        while (idx && dwarf_get_units(dw, cu, &cu, NULL, &type, &cudie, NULL) == 0) {
                if (type != DW_UT_compile && type != DW_UT_partial)
                        continue;
                Dwarf_Addr base, lo, hi;
                for (ptrdiff_t off = 0; (off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0;) {
                        if (idx->n == cap) {
                                struct cu_range *r =
                                    realloc(idx->r, (cap = cap ? 2 * cap : 64) * sizeof(*r));
                                if (!r) {
                                        lt_cu_index_free(idx);
                                        return NULL;
                                }
                                idx->r = r;
                        }
                        idx->r[idx->n++] = (struct cu_range){lo, hi, dwarf_dieoffset(&cudie)};
                }
        }
        if (!idx)
                return NULL;
        qsort(idx->r, idx->n, sizeof(*idx->r), range_cmp);
        if (!(idx->max_hi = malloc((idx->n + 1) * sizeof(*idx->max_hi)))) {
                lt_cu_index_free(idx);
                return NULL;
        }
        for (size_t i = 0; i < idx->n; i++)
                idx->max_hi[i] =
                    i && idx->max_hi[i - 1] > idx->r[i].hi ? idx->max_hi[i - 1] : idx->r[i].hi;
        return idx;
}

/* The unit holding pc (a module address), into *mem. Returns it, or NULL;
 * -ENOMEM through *err. */
static Dwarf_Die *unit_of(Dwfl_Module *dm, struct lt_cu_index **cus, Dwarf_Addr pc,
                          Dwarf_Addr *bias, Dwarf_Die *mem, int *err)
{
        Dwarf_Die *cu = dwfl_module_addrdie(dm, pc, bias);
        if (cu)
                return cu;
        Dwarf *dw = dwfl_module_getdwarf(dm, bias);
        if (!dw)
                return NULL;
        if (!*cus && !(*cus = build_index(dw))) {
                *err = -ENOMEM;
                return NULL;
        }
        const struct lt_cu_index *idx = *cus;
        Dwarf_Addr a = pc - *bias;
        size_t lo = 0, hi = idx->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (idx->r[mid].lo <= a)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (size_t i = lo; i-- > 0 && idx->max_hi[i] > a;)
                if (a < idx->r[i].hi && dwarf_offdie(dw, idx->r[i].die, mem))
                        return mem;
        return NULL;
}

static const char *die_name(Dwarf_Die *die)
{
        Dwarf_Attribute a;
        const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
        if (!n)
                n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
        if (!n)
                n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
        return n;
}

/* A copy of symbol NAME without its version ("dlopen@GLIBC_2.2.5", as
 * symbol tables of debug files name aliases), or NULL on -ENOMEM. */
static char *unversioned(const char *name)
{
        return strndup(name, strcspn(name, "@"));
}

/* A copy of NAME for people: unversioned, demangled when it is a C++ name.
 * Returns 0, or -ENOMEM. */
static int demangle(const char *name, const char **out)
{
        *out = NULL;
        if (!name)
                return 0;
        char *plain = unversioned(name);
        if (!plain)
                return -ENOMEM;
        if (plain[0] == '_' && plain[1] == 'Z') {
                int status;
                char *d = __cxa_demangle(plain, NULL, NULL, &status);
                if (d && status == 0) {
                        free(plain);
                        *out = d;
                        return 0;
                }
                free(d);
        }
        *out = plain;
        return 0;
}

/* An absolute copy of a source file name, when the unit's directory makes
 * it one. Returns 0, or -ENOMEM. */
static int source_path(const char *file, const char *comp_dir, const char **out)
{
        *out = NULL;
        if (!file)
                return 0;
        char *p;
        if (file[0] != '/' && comp_dir && comp_dir[0]) {
                if (asprintf(&p, "%s/%s", comp_dir, file) < 0)
                        return -ENOMEM;
        } else if (!(p = strdup(file))) {
                return -ENOMEM;
        }
        *out = p;
        return 0;
}

static struct lt_frame_info *add_frame(struct lt_addr_info *info)
{
        struct lt_frame_info *f = realloc(info->frames, (info->nframes + 1) * sizeof(*f));
        if (!f)
                return NULL;
        info->frames = f;
        f = &info->frames[info->nframes++];
        memset(f, 0, sizeof(*f));
        return f;
}

/* Where the code is: file, line and the directory a relative file name is
 * relative to. */
struct place {
        const char *file;
        unsigned line;
        const char *comp_dir;
};

/* The inlined functions around pc, innermost first, each at its place,
 * which *at moves along: from the line of the code to the line of each call.
 * Returns the name of the function they were inlined into, or NULL. */
static const char *inline_chain(Dwarf_Die *cu, Dwarf_Addr pc, struct lt_addr_info *info,
                                struct place *at, int *err)
{
        Dwarf_Die *scopes = NULL;
        int n = dwarf_getscopes(cu, pc, &scopes);
        if (n <= 0) {
                free(scopes);
                return NULL;
        }
        /* dwarf_getscopes() gives lexical scopes (an inlined function's
         * parents are those of its definition); the physical nesting, from
         * which the call sites come, is dwarf_getscopes_die()'s. */
        Dwarf_Die inner = scopes[0];
        free(scopes);
        Dwarf_Die *chain = NULL;
        n = dwarf_getscopes_die(&inner, &chain);
        Dwarf_Files *files = NULL;
        size_t nfiles = 0;
        if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
                files = NULL;
        Dwarf_Attribute a;
        const char *cd = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
        const char *outer = NULL;
        for (int i = 0; i < n && !*err; i++) {
                int tag = dwarf_tag(&chain[i]);
                if (tag == DW_TAG_subprogram) {
                        outer = die_name(&chain[i]);
                        break;
                }
                if (tag != DW_TAG_inlined_subroutine)
                        continue;
                struct lt_frame_info *f = add_frame(info);
                if (!f) {
                        *err = -ENOMEM;
                        break;
                }
                f->inlined = true;
                f->line = at->line;
                *err = demangle(die_name(&chain[i]), &f->function);
                if (!*err)
                        *err = source_path(at->file, at->comp_dir, &f->file);
                Dwarf_Word v;
                *at = (struct place){NULL, 0, cd};
                if (files && dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file, &a), &v) == 0 &&
                    v < nfiles)
                        at->file = dwarf_filesrc(files, v, NULL, NULL);
                if (dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &a), &v) == 0)
                        at->line = (unsigned)v;
        }
        free(chain);
        return outer;
}

/* The line of pc, from dwfl, or from the unit when dwfl found none. */
static void line_of(Dwfl_Module *dm, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Addr bias,
                    struct place *at)
{
        int lineno = 0;
        Dwfl_Line *ln = dwfl_module_getsrc(dm, pc);
        if (ln && (at->file = dwfl_lineinfo(ln, NULL, &lineno, NULL, NULL, NULL))) {
                at->comp_dir = dwfl_line_comp_dir(ln);
        } else if (cu) {
                Dwarf_Line *dl = dwarf_getsrc_die(cu, pc - bias);
                Dwarf_Attribute a;
                if (dl && (at->file = dwarf_linesrc(dl, NULL, NULL)) &&
                    dwarf_lineno(dl, &lineno) == 0)
                        at->comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
        }
        at->line = lineno > 0 ? (unsigned)lineno : 0;
}

int lt_addrinfo_fill(Dwfl_Module *dm, struct lt_cu_index **cus, uint64_t addr,
                     struct lt_addr_info *info)
{
        struct place at = {NULL, 0, NULL};
        const char *sym = NULL, *outer = NULL;
        int err = 0;
        if (dm) {
                /* A return address: the call is the instruction before. */
                Dwarf_Addr pc = addr ? addr - 1 : 0, bias = 0;
                GElf_Off off;
                GElf_Sym es;
                sym = dwfl_module_addrinfo(dm, pc, &off, &es, NULL, NULL, NULL);
                Dwarf_Die mem;
                Dwarf_Die *cu = unit_of(dm, cus, pc, &bias, &mem, &err);
                line_of(dm, cu, pc, bias, &at);
                if (cu && !err)
                        outer = inline_chain(cu, pc - bias, info, &at, &err);
        }
        if (!sym)
                sym = outer;
        struct lt_frame_info *f = err ? NULL : add_frame(info);
        if (!f)
                return -ENOMEM;
        f->line = at.line;
        if ((err = demangle(sym, &f->function)) ||
            (err = source_path(at.file, at.comp_dir, &f->file)))
                return err;
        if (sym && !(info->symbol = unversioned(sym)))
                return -ENOMEM;
        return 0;
}

void lt_addrinfo_clear(struct lt_addr_info *info)
{
        for (unsigned i = 0; i < info->nframes; i++) {
                free((char *)info->frames[i].function);
                free((char *)info->frames[i].file);
        }
        free(info->frames);
        free((char *)info->symbol);
        memset(info, 0, sizeof(*info));
}
