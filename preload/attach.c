/* Attach mode. `leaktrace attach PID` makes a thread of a running process
 * call dlopen() on this library, then leaktrace_attach(). Loaded that late,
 * the library's malloc interposes nothing: every object keeps calling the C
 * library through its relocation slots (the GOT). So each JUMP_SLOT and
 * GLOB_DAT slot that names a hooked function is pointed at the hook, and
 * the old value is kept to be put back at detach.
 *
 * The real functions come from the C library's own handle. Not from
 * RTLD_NEXT (nothing is next to an object loaded last), nor from the global
 * scope: a non-PIE executable such as Debian's /usr/bin/node gives malloc a
 * canonical PLT address there, whose slot is one of those patched, and the
 * hook would call itself.
 *
 * dlopen is not hooked (the preload does not interpose it either: glibc
 * finds RUNPATH and $ORIGIN from the caller's address, which a hook would
 * change). The background thread looks at the loader's counters every
 * LT_CONTROL_POLL_MS instead and patches what was loaded since: the
 * allocations an object makes in its first moments are not seen, which
 * costs nothing but their record (their frees are unknown blocks). */
#define _GNU_SOURCE
#include "attach.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "lt.h"
#include "options.h"
#include "real.h"
#include "tracefile.h"

int lt_attached;

/* What is redirected: the malloc family, the timer calls and the calls that
 * end or copy a timer fd, the mapping calls, dlclose (a new epoch of the
 * unwinder's rules), setenv (node's exit event, as the JS module tells
 * it: hooks_node.c), and pthread_getattr_np (hooks.c: a thread's stack is
 * not looked for inside it). Not exec, exit or fopen:
 * an exec'd image or an exit leaves the file as a killed process does. */
static const char *const hooked[] = {
        "malloc",        "free",           "calloc",          "realloc",      "reallocarray",
        "posix_memalign", "aligned_alloc", "memalign",        "valloc",       "pvalloc",
        "timerfd_create", "timerfd_settime", "timer_create",  "timer_settime", "timer_delete",
        "setitimer",     "alarm",          "close",           "close_range",  "closefrom",
        "dup",           "dup2",           "dup3",            "fcntl",        "fcntl64",
        "mmap",          "mmap64",         "munmap",          "mprotect",     "mremap",
        "dlclose",       "setenv",         "pthread_getattr_np",
};
#define NHOOKED LT_ARRAY_SIZE(hooked)
static uintptr_t hook_addr[NHOOKED];

/* A patched slot, and the object it belongs to (its bias and a hash of its
 * name: an object loaded later at the same place is another). */
struct slot {
        uintptr_t *at;
        uintptr_t old;
        uintptr_t base;
        uint64_t name;
        uint32_t hook;
        uint32_t relro;
};
#define MAX_SLOTS 16384
static struct slot slots[MAX_SLOTS];
static unsigned nslots;

#define MAX_OBJECTS 4096
static struct object {
        uintptr_t base;
        uint64_t name;
        int seen;
} objects[MAX_OBJECTS];
static unsigned nobjects;
static unsigned long long seen_adds, seen_subs;

static uint64_t hash_name(const char *s)
{
        uint64_t h = 1469598103934665603ull;
        for (; s && *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

static int is_libc(const char *name)
{
        const char *base = name ? strrchr(name, '/') : NULL;
        base = base ? base + 1 : name;
        return base && !strncmp(base, "libc.so", 7);
}

static int holds(const struct dl_phdr_info *info, uintptr_t addr)
{
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
                if (ph->p_type == PT_LOAD && addr >= lo && addr < lo + ph->p_memsz)
                        return 1;
        }
        return 0;
}

static int order_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        int *late = arg;
        if (holds(info, (uintptr_t)lt_attach_late)) {
                *late = 0;
                return 1;
        }
        if (is_libc(info->dlpi_name)) {
                *late = 1;
                return 1;
        }
        return 0;
}

int lt_attach_late(void)
{
        static int late = -1;
        if (late < 0) {
                int l = 0;
                dl_iterate_phdr(order_cb, &l);
                late = l;
        }
        return late;
}

/* A pointer of the dynamic section: glibc relocates most of them in place,
 * the vDSO's stay offsets. */
static uintptr_t dyn_ptr(uintptr_t base, uintptr_t v)
{
        return v < base ? v + base : v;
}

struct dyn {
        const ElfW(Sym) *symtab;
        const char *strtab;
        size_t strsz;
        const ElfW(Rela) *rel[2];
        size_t relsz[2];
        uintptr_t relro_lo, relro_hi; /* pages made read-only after relocation */
};

static int read_dynamic(const struct dl_phdr_info *info, struct dyn *d)
{
        memset(d, 0, sizeof(*d));
        const ElfW(Dyn) *dyn = NULL;
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_DYNAMIC)
                        dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
                if (ph->p_type == PT_GNU_RELRO) {
                        /* As the loader protects it: both ends rounded down. */
                        d->relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
                        d->relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(pg - 1);
                }
        }
        if (!dyn)
                return -ENOENT;
        uintptr_t b = info->dlpi_addr;
        for (; dyn->d_tag != DT_NULL; dyn++) {
                switch (dyn->d_tag) {
                case DT_SYMTAB:
                        d->symtab = (const ElfW(Sym) *)dyn_ptr(b, dyn->d_un.d_ptr);
                        break;
                case DT_STRTAB:
                        d->strtab = (const char *)dyn_ptr(b, dyn->d_un.d_ptr);
                        break;
                case DT_STRSZ:
                        d->strsz = dyn->d_un.d_val;
                        break;
                case DT_JMPREL:
                        d->rel[0] = (const ElfW(Rela) *)dyn_ptr(b, dyn->d_un.d_ptr);
                        break;
                case DT_PLTRELSZ:
                        d->relsz[0] = dyn->d_un.d_val;
                        break;
                case DT_RELA:
                        d->rel[1] = (const ElfW(Rela) *)dyn_ptr(b, dyn->d_un.d_ptr);
                        break;
                case DT_RELASZ:
                        d->relsz[1] = dyn->d_un.d_val;
                        break;
                }
        }
        return d->symtab && d->strtab ? 0 : -ENOENT;
}

static int hook_index(const char *name)
{
        for (unsigned k = 0; k < NHOOKED; k++)
                if (!strcmp(name, hooked[k]))
                        return (int)k;
        return -1;
}

/* Stores v into *at, making a read-only (RELRO) page writable meanwhile.
 * Returns 0 or -errno. */
static int store_slot(uintptr_t *at, uintptr_t v, int relro)
{
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
        void *page = (void *)((uintptr_t)at & ~(pg - 1));
        if (relro && lt_real.mprotect(page, pg, PROT_READ | PROT_WRITE) < 0)
                return -errno;
        __atomic_store_n(at, v, __ATOMIC_RELEASE);
        if (relro)
                lt_real.mprotect(page, pg, PROT_READ);
        return 0;
}

static int skip_object(const struct dl_phdr_info *info)
{
        return info->dlpi_addr == getauxval(AT_BASE) ||                /* the loader */
               info->dlpi_addr == getauxval(AT_SYSINFO_EHDR) ||        /* the vDSO */
               (info->dlpi_name && strstr(info->dlpi_name, "linux-vdso"));
}

static int patch_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        int *patched = arg;
        if (skip_object(info))
                return 0;
        uint64_t name = hash_name(info->dlpi_name);
        for (unsigned i = 0; i < nobjects; i++) {
                if (objects[i].base == info->dlpi_addr && objects[i].name == name) {
                        objects[i].seen = 1;
                        return 0;
                }
        }
        if (nobjects >= MAX_OBJECTS) {
                lt_log_once(attach_objects, "more than %d objects loaded: later ones are not "
                            "traced", MAX_OBJECTS);
                return 0;
        }
        objects[nobjects++] = (struct object){ info->dlpi_addr, name, 1 };
        struct dyn d;
        if (read_dynamic(info, &d) < 0)
                return 0;
        for (int t = 0; t < 2; t++) {
                size_t n = d.rel[t] ? d.relsz[t] / sizeof(ElfW(Rela)) : 0;
                for (size_t i = 0; i < n; i++) {
                        const ElfW(Rela) *r = &d.rel[t][i];
                        unsigned type = ELF64_R_TYPE(r->r_info);
                        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                                continue;
                        const ElfW(Sym) *sym = &d.symtab[ELF64_R_SYM(r->r_info)];
                        if (!sym->st_name || (d.strsz && sym->st_name >= d.strsz))
                                continue;
                        int k = hook_index(d.strtab + sym->st_name);
                        if (k < 0)
                                continue;
                        uintptr_t *at = (uintptr_t *)(info->dlpi_addr + r->r_offset);
                        uintptr_t old = __atomic_load_n(at, __ATOMIC_ACQUIRE);
                        /* 0: a weak reference left unresolved, which the
                         * object may test; it stays so. */
                        if (!old || !hook_addr[k] || old == hook_addr[k])
                                continue;
                        if (nslots >= MAX_SLOTS) {
                                lt_log_once(attach_slots, "more than %d relocations to patch: "
                                            "later ones are not traced", MAX_SLOTS);
                                return 0;
                        }
                        int relro = (uintptr_t)at >= d.relro_lo && (uintptr_t)at < d.relro_hi;
                        if (store_slot(at, hook_addr[k], relro) < 0)
                                continue;
                        slots[nslots++] = (struct slot){ at, old, info->dlpi_addr, name,
                                                         (uint32_t)k, (uint32_t)relro };
                        (*patched)++;
                }
        }
        return 0;
}

static int counters_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
        unsigned long long *c = arg;
        if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
                return 1;
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
        return 1;
}

/* Our own hooks, by name in our own handle: `&malloc` here would be the
 * global scope's malloc. */
static int find_hooks(void)
{
        Dl_info di;
        if (!dladdr((void *)lt_attach_late, &di) || !di.dli_fname)
                return -ENOENT;
        void *self = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD);
        if (!self)
                return -ENOENT;
        for (unsigned k = 0; k < NHOOKED; k++) {
                hook_addr[k] = (uintptr_t)dlsym(self, hooked[k]);
                if (!hook_addr[k] && strcmp(hooked[k], "closefrom") && strcmp(hooked[k], "fcntl64"))
                        return -ENOENT;
        }
        dlclose(self); /* the count dlopen took; the library stays */
        return 0;
}

int lt_attach_patch(void)
{
        if (!hook_addr[0] && find_hooks() < 0)
                return -ENOENT;
        unsigned long long c[2] = { 0, 0 };
        dl_iterate_phdr(counters_cb, c);
        seen_adds = c[0];
        seen_subs = c[1];
        int patched = 0;
        dl_iterate_phdr(patch_cb, &patched);
        return patched;
}

void lt_attach_poll(void)
{
        if (!__atomic_load_n(&lt_attached, __ATOMIC_ACQUIRE))
                return;
        unsigned long long c[2] = { 0, 0 };
        dl_iterate_phdr(counters_cb, c);
        if (c[0] == seen_adds && c[1] == seen_subs)
                return;
        int subs = c[1] != seen_subs;
        seen_adds = c[0];
        seen_subs = c[1];
        for (unsigned i = 0; i < nobjects; i++)
                objects[i].seen = 0;
        int patched = 0;
        dl_iterate_phdr(patch_cb, &patched);
        if (!subs)
                return;
        /* Objects gone: their slots went with them. */
        unsigned kept = 0, skept = 0;
        for (unsigned i = 0; i < nobjects; i++)
                if (objects[i].seen)
                        objects[kept++] = objects[i];
        nobjects = kept;
        for (unsigned i = 0; i < nslots; i++) {
                int alive = 0;
                for (unsigned j = 0; j < nobjects && !alive; j++)
                        alive = objects[j].base == slots[i].base && objects[j].name == slots[i].name;
                if (alive)
                        slots[skept++] = slots[i];
        }
        nslots = skept;
}

/* Puts back the slots of one object, under the loader's lock that
 * dl_iterate_phdr holds, so that the object cannot go meanwhile. A slot
 * that no longer holds the hook (rebound since) is left alone. */
static int restore_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        (void)arg;
        uint64_t name = hash_name(info->dlpi_name);
        for (unsigned i = 0; i < nslots; i++) {
                struct slot *s = &slots[i];
                if (s->base != info->dlpi_addr || s->name != name)
                        continue;
                if (__atomic_load_n(s->at, __ATOMIC_ACQUIRE) == hook_addr[s->hook])
                        store_slot(s->at, s->old, (int)s->relro);
                s->at = NULL;
        }
        return 0;
}

int lt_attach_detach(void)
{
        if (!__atomic_load_n(&lt_attached, __ATOMIC_ACQUIRE))
                return -EOPNOTSUPP;
        /* New blocks stop first; frees of recorded ones count until the
         * slots are back. */
        lt_engine_set(LT_STOPPED);
        dl_iterate_phdr(restore_cb, NULL);
        nslots = 0;
        nobjects = 0;
        lt_engine_detach();
        __atomic_store_n(&lt_attached, 0, __ATOMIC_RELEASE);
        return 0;
}

/* The options leaktrace passes: "LEAKTRACE_NAME=VALUE" lines. Kept here:
 * lt_opt points into it. */
static char opts_copy[4096];

/* The entry point `leaktrace attach` calls in the target, on a thread it
 * stopped where neither the allocator nor the loader was running. Returns
 * 0 (recording), or -errno: -EEXIST when the library was preloaded (then
 * `leaktrace ctl` is the way), -EALREADY when attached already, -EPERM in
 * a setuid or setgid program, -E2BIG for options too long, else why the
 * engine or the file could not start. */
LT_EXPORT int leaktrace_attach(const char *opts)
{
        if (!lt_attach_late())
                return -EEXIST;
        if (getauxval(AT_SECURE))
                return -EPERM; /* setuid or setgid: never traced */
        if (__atomic_load_n(&lt_attached, __ATOMIC_ACQUIRE))
                return -EALREADY;
        size_t n = opts ? strlen(opts) : 0;
        if (n >= sizeof(opts_copy))
                return -E2BIG;
        memset(opts_copy, 0, sizeof(opts_copy));
        memcpy(opts_copy, opts ? opts : "", n);
        lt_options_load_list(opts_copy);
        int err = lt_engine_attach();
        if (err < 0)
                return err;
        __atomic_store_n(&lt_attached, 1, __ATOMIC_RELEASE);
        return 0;
}
