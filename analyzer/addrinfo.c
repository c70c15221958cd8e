/* Functions, lines and inline frames of an address: the function from the
 * symbol table, the line from DWARF, and the inlined functions from the
 * DWARF scopes around the address. */
#define _GNU_SOURCE
#include "addrinfo.h"

#include <ctype.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <libiberty/demangle.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modindex.h"

/* From libstdc++: the C++ ABI's demangler. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* The DIE that declares function DIE: its abstract origin's, or its
 * specification's (a member defined out of its class). */
static Dwarf_Die *declaration(Dwarf_Die *die, Dwarf_Die *mem)
{
        Dwarf_Attribute a;
        Dwarf_Die *d = die;
        for (int hops = 0; hops < 4; hops++) {
                if (dwarf_attr(d, DW_AT_abstract_origin, &a) && dwarf_formref_die(&a, mem))
                        d = mem;
                else if (dwarf_attr(d, DW_AT_specification, &a) && dwarf_formref_die(&a, mem))
                        d = mem;
                else
                        break;
        }
        return d;
}

/* A C++ function without a linkage name (static, in an anonymous
 * namespace, inlined only) under the namespaces and classes it is in,
 * which its DW_AT_name lacks: "app::net::grab". NULL when it has a
 * linkage name (demangled, that is whole), is not C++'s, or on -ENOMEM. */
static char *qualified(Dwarf_Die *die, Dwarf_Die *cu)
{
        Dwarf_Attribute a;
        Dwarf_Word lang;
        if (!cu || dwarf_formudata(dwarf_attr(cu, DW_AT_language, &a), &lang) != 0 ||
            (lang != DW_LANG_C_plus_plus && lang != DW_LANG_C_plus_plus_03 &&
             lang != DW_LANG_C_plus_plus_11 && lang != DW_LANG_C_plus_plus_14))
                return NULL;
        if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
            dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
                return NULL;
        Dwarf_Die mem;
        Dwarf_Die *decl = declaration(die, &mem);
        const char *name = dwarf_diename(decl);
        Dwarf_Die *scopes = NULL;
        int n = name ? dwarf_getscopes_die(decl, &scopes) : 0;
        char *q = NULL;
        size_t len = 0;
        FILE *m = n > 1 ? open_memstream(&q, &len) : NULL;
        if (!m) {
                free(scopes);
                return NULL;
        }
        for (int i = n - 1; i >= 1; i--) {
                int tag = dwarf_tag(&scopes[i]);
                const char *part = dwarf_diename(&scopes[i]);
                if (tag == DW_TAG_namespace)
                        fprintf(m, "%s::", part ? part : "(anonymous namespace)");
                else if ((tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
                          tag == DW_TAG_union_type) && part)
                        fprintf(m, "%s::", part);
        }
        fputs(name, m);
        free(scopes);
        if (fclose(m)) {
                free(q);
                return NULL;
        }
        return q;
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

/* Rust's legacy mangling: the C++ ABI's, the path ending in a hash
 * ("17h" and 16 hex digits), its other characters escaped ($LT$, ..). */
static bool rust_legacy(const char *name)
{
        size_t n = strlen(name);
        if (strncmp(name, "_ZN", 3) || n < 3 + 20 || name[n - 1] != 'E' ||
            strncmp(name + n - 20, "17h", 3))
                return false;
        for (size_t i = n - 17; i < n - 1; i++)
                if (!isxdigit((unsigned char)name[i]))
                        return false;
        return true;
}

/* A copy of NAME for people: unversioned, demangled when it is a C++ or a
 * Rust name (libiberty's demangler for Rust's, v0 "_R" and legacy, which
 * the C++ ABI's would leave with its hash and escapes). Returns 0, or
 * -ENOMEM. */
static int demangle(const char *name, const char **out)
{
        *out = NULL;
        if (!name)
                return 0;
        char *plain = unversioned(name);
        if (!plain)
                return -ENOMEM;
        if ((plain[0] == '_' && plain[1] == 'R') || rust_legacy(plain)) {
                char *d = cplus_demangle(plain, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
                if (d) {
                        free(plain);
                        *out = d;
                        return 0;
                }
        }
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
/* The innermost DIE under PARENT whose code holds PC: a function, an
 * inlined one or a block, looked for through the namespaces and types
 * that hold functions. Returns 1 with *OUT, or 0. dwarf_getscopes() does
 * not look inside namespaces (elfutils 0.188), where rustc puts every
 * function; a C++ compiler puts their code at the unit's top. */
static int innermost(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out, unsigned depth)
{
        Dwarf_Die child;
        if (depth > 64 || dwarf_child(parent, &child) != 0)
                return 0;
        do {
                switch (dwarf_tag(&child)) {
                case DW_TAG_namespace:
                case DW_TAG_module:
                case DW_TAG_class_type:
                case DW_TAG_structure_type:
                case DW_TAG_union_type:
                        if (innermost(&child, pc, out, depth + 1))
                                return 1;
                        break;
                case DW_TAG_subprogram:
                case DW_TAG_inlined_subroutine:
                case DW_TAG_lexical_block:
                        if (dwarf_haspc(&child, pc) > 0) {
                                *out = child;
                                innermost(&child, pc, out, depth + 1);
                                return 1;
                        }
                        break;
                default:
                        break;
                }
        } while (dwarf_siblingof(&child, &child) == 0);
        return 0;
}

static const char *inline_chain(Dwarf_Die *cu, Dwarf_Addr pc, struct lt_addr_info *info,
                                struct place *at, int *err)
{
        Dwarf_Die *scopes = NULL;
        int n = dwarf_getscopes(cu, pc, &scopes);
        /* dwarf_getscopes() gives lexical scopes (an inlined function's
         * parents are those of its definition); the physical nesting, from
         * which the call sites come, is dwarf_getscopes_die()'s. */
        Dwarf_Die inner;
        if (n > 0)
                inner = scopes[0];
        free(scopes);
        if (n <= 0 && !innermost(cu, pc, &inner, 0))
                return NULL;
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
                char *q = qualified(&chain[i], cu);
                *err = q ? 0 : demangle(die_name(&chain[i]), &f->function);
                if (q)
                        f->function = q;
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

/* Whether ADDR is the C library's signal return trampoline (x86-64's
 * __restore_rt: mov $15, %rax; syscall, rt_sigreturn), which a stripped
 * libc names nowhere: the frame a handler returns to, as gdb shows it. */
static bool signal_trampoline(Dwfl_Module *dm, uint64_t addr)
{
#if defined(__x86_64__)
        static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
        Dwarf_Addr at = addr, bias;
        Elf_Scn *scn = dwfl_module_address_section(dm, &at, &bias);
        Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
        return d && d->d_buf && at + sizeof(code) <= d->d_size &&
               !memcmp((const unsigned char *)d->d_buf + at, code, sizeof(code));
#else
        (void)dm;
        (void)addr;
        return false;
#endif
}

int lt_addrinfo_fill(Dwfl_Module *dm, struct lt_modindex *ix, uint64_t addr,
                     struct lt_addr_info *info)
{
        struct place at = {NULL, 0, NULL};
        const char *sym = NULL, *outer = NULL;
        int err = 0;
        if (dm) {
                /* A return address: the call is the instruction before. */
                Dwarf_Addr pc = addr ? addr - 1 : 0, bias = 0;
                sym = lt_modindex_symbol(ix, pc, &err);
                Dwarf_Die mem;
                Dwarf_Die *cu = err ? NULL : lt_modindex_unit(ix, pc, &bias, &mem, &err);
                line_of(dm, cu, pc, bias, &at);
                if (cu && !err)
                        outer = inline_chain(cu, pc - bias, info, &at, &err);
        }
        if (!sym)
                sym = outer;
        if (!sym && dm && !err && signal_trampoline(dm, addr))
                sym = "<signal handler called>";
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

int lt_addrinfo_fill_code(const struct lt_pm_code *code, struct lt_addr_info *info)
{
        struct lt_frame_info *f = add_frame(info);
        if (!f || !(f->function = strdup(code->name.function)))
                return -ENOMEM;
        if (code->name.script && !(f->file = strdup(code->name.script)))
                return -ENOMEM;
        f->line = code->name.line;
        f->column = code->name.column;
        f->code = (unsigned char)code->name.kind;
        f->tier = (unsigned char)code->name.tier;
        return 0;
}

void lt_addrinfo_clear(struct lt_addr_info *info)
{
        for (unsigned i = 0; i < info->nframes; i++) {
                free((char *)info->frames[i].function);
                free((char *)info->frames[i].file);
                free((char *)info->frames[i].gen_file);
        }
        free(info->frames);
        free((char *)info->symbol);
        memset(info, 0, sizeof(*info));
}
