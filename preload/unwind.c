/* A fast unwinder for x86-64: the rule that gives each frame's caller,
 * read once per code address from the object's .eh_frame where the loader
 * mapped it (cfi.c; libdw, opened when needed, for an object whose
 * .eh_frame_hdr it does not read) and kept in a table, then applied with a few loads per frame.
 *
 * libunwind's unw_backtrace costs about 85 instructions a frame even with
 * its per-thread cache; it was three quarters of the tracer's cost on a
 * malloc-heavy program. The rules that compilers emit at call sites are
 * nearly all of one shape: the caller's stack pointer (the CFA) is rsp or
 * rbp plus a constant, the return address sits just below it, and rbp is
 * either untouched or saved at a constant offset from it. Those are cached;
 * everything else (signal frames, DWARF expressions, a CFA in another
 * register, code without CFI that is not JIT code) sends the whole stack to
 * libunwind, as before.
 *
 * Code that no loaded object contains is JIT code (V8's), and code that an
 * object holds but its CFI does not describe (V8's builtins): both keep the
 * frame pointer chain, which is what libunwind follows there too.
 *
 * Every load is checked against the thread's stack: a wrong rule can give a
 * wrong frame, never a fault. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "unwind.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi.h"
#include "log.h"
#include "lt.h"
#include "modules.h"
#include "real.h"

#define DW_RBP 6
#define DW_RSP 7
#define DW_RA 16

/* A rule, packed in 64 bits:
 *   bits  0-7   the base of the CFA: RULE_RSP, RULE_RBP, RULE_END, RULE_SLOW
 *   bits 16-31  where rbp was saved, CFA + this (signed), or RBP_SAME /
 *               RBP_LOST
 *   bits 32-63  CFA = base + this (signed) */
enum { RULE_RSP = 1, RULE_RBP, RULE_END, RULE_SLOW };
#define RBP_SAME INT16_MAX
#define RBP_LOST INT16_MIN

static inline uint64_t rule_pack(unsigned base, int rbp, int32_t cfa)
{
        return base | (uint64_t)(uint16_t)(int16_t)rbp << 16 | (uint64_t)(uint32_t)cfa << 32;
}
#define RULE_BASE(r) ((unsigned)(r)&0xff)
#define RULE_RBP_AT(r) ((int16_t)((r) >> 16))
#define RULE_CFA(r) ((int32_t)((r) >> 32))

/* The table: return address -> the rule of the call before it (an exact
 * address pc is entered as pc + 1), open addressing with linear probing,
 * never shrinking.
 * Written under resolve_lock, read without a lock: a key is published after
 * its rule. It starts small and doubles when half full, up to TABLE_MAX
 * slots (half a million addresses, 16 MiB), the old table kept for the
 * lookups still in it (what they miss, slow_lookup finds in the new one): a
 * table of the largest size from the start was touched at random pages,
 * 1600 page faults of node's start-up. Half full, a lookup in the SSR
 * example probed 1.4 slots on average; three quarters full, 2.7
 * (callgrind). A full table sends new addresses to libunwind. */
#define TABLE_MIN (1u << 12)
#define TABLE_MAX (1u << 20)
#define TABLE_FULL(t) ((t)->used >= ((t)->mask + 1) / 2)
struct rtable {
        uint64_t mask;
        uint64_t used;
        unsigned shift; /* 64 - log2(slots): the hash's top bits index the table */
        struct {
                _Atomic uint64_t key, rule;
        } e[];
};
static struct rtable *_Atomic table;

/* Objects whose CFI was read, by link map. */
#define MAX_OBJECTS 512
struct object {
        const void *map; /* struct link_map *, as _dl_find_object gives it */
        uintptr_t start, bias;
        dev_t dev; /* the file read, to tell it from another at the same place */
        ino_t ino;
        struct timespec mtime;
        Elf *elf;
        Dwarf_CFI *cfi; /* NULL: none usable */
};
static struct object objects[MAX_OBJECTS];
static int nobjects;

/* libdw and libelf, for the objects whose .eh_frame_hdr lt_cfi_row() does
 * not read: none, or one of another form, which no program or library
 * seen here has (node, python, git and their libraries). Not linked:
 * loading them, and libz, liblzma and libbz2 with them, cost every process
 * the preload enters about 1 ms (/bin/true: 6.8 against 5.7 ms, medians of
 * 151 runs in alternation). Opened at start when a loaded object needs
 * them, else by the background thread once a walk met such an object:
 * dlopen takes the loader's lock, which a hook may be under. Until then
 * those stacks go to libunwind. */
enum { DW_NONE, DW_WANTED, DW_READY, DW_FAILED };
/* Held around the dlopen, and by fork's prepare handler (lt_unwind_lock):
 * a fork in the middle would copy the loader's lists half linked and its
 * write lock taken, which glibc's fork does not reset in the child. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        _Atomic int state;
        __typeof__(elf_begin) *elf_begin;
        __typeof__(elf_end) *elf_end;
        __typeof__(dwarf_getcfi_elf) *getcfi_elf;
        __typeof__(dwarf_cfi_end) *cfi_end;
        __typeof__(dwarf_cfi_addrframe) *cfi_addrframe;
        __typeof__(dwarf_frame_register) *frame_register;
        __typeof__(dwarf_frame_info) *frame_info;
        __typeof__(dwarf_frame_cfa) *frame_cfa;
} dw;
static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

static int enabled;

/* The thread's stack, found once; lo > hi: unknown, use libunwind. */
LT_TLS uintptr_t lt_stack_lo, lt_stack_hi;
LT_TLS int lt_stack_known;

static uint64_t rtable_bytes(uint64_t n)
{
        return sizeof(struct rtable) + n * sizeof(((struct rtable *)0)->e[0]);
}

static struct rtable *rtable_new(uint64_t n)
{
        struct rtable *t = lt_anon_map(rtable_bytes(n));
        if (t) {
                t->mask = n - 1;
                t->shift = 64 - (unsigned)__builtin_ctzll(n);
        }
        return t;
}

/* Opens libdw, once: by the constructor, or by the background thread. */
/* dw_open(), under open_lock. */
static void dw_open_locked(void)
{
        void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
        __typeof__(elf_version) *version = h ? dlsym(h, "elf_version") : NULL;
        __typeof__(dwarf_errno) *dw_errno = h ? dlsym(h, "dwarf_errno") : NULL;
        __typeof__(elf_errno) *el_errno = h ? dlsym(h, "elf_errno") : NULL;
        /* libelf's, found among libdw's dependencies. */
        if (version) {
                dw.elf_begin = dlsym(h, "elf_begin");
                dw.elf_end = dlsym(h, "elf_end");
                dw.getcfi_elf = dlsym(h, "dwarf_getcfi_elf");
                dw.cfi_end = dlsym(h, "dwarf_cfi_end");
                dw.cfi_addrframe = dlsym(h, "dwarf_cfi_addrframe");
                dw.frame_register = dlsym(h, "dwarf_frame_register");
                dw.frame_info = dlsym(h, "dwarf_frame_info");
                dw.frame_cfa = dlsym(h, "dwarf_frame_cfa");
        }
        if (!version || !dw_errno || !el_errno || !dw.elf_begin || !dw.elf_end ||
            !dw.getcfi_elf || !dw.cfi_end || !dw.cfi_addrframe || !dw.frame_register ||
            !dw.frame_info || !dw.frame_cfa) {
                lt_log("libdw.so.1 cannot be loaded (%s): stacks through code without "
                       ".eh_frame_hdr are unwound by libunwind",
                       h ? "a function is missing" : dlerror());
                atomic_store_explicit(&dw.state, DW_FAILED, memory_order_release);
                return;
        }
        version(EV_CURRENT);
        /* Their error codes are thread-local, dynamic as the libraries
         * were opened: the first use in the process decides that, under
         * the loader's lock, which a walk under resolve_lock must never
         * wait for (a thread in dlopen allocates, and its walk waits for
         * resolve_lock). Used here, with no lock of ours held. */
        (void)dw_errno();
        (void)el_errno();
        atomic_store_explicit(&dw.state, DW_READY, memory_order_release);
}

static void dw_open(void)
{
        pthread_mutex_lock(&open_lock);
        if (atomic_load_explicit(&dw.state, memory_order_acquire) < DW_READY)
                dw_open_locked();
        pthread_mutex_unlock(&open_lock);
}

/* Whether an object with code has no .eh_frame_hdr: libdw reads its rules. */
static int lacks_eh_frame_hdr(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        (void)arg;
        int hdr = 0, code = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *p = &info->dlpi_phdr[i];
                hdr |= p->p_type == PT_GNU_EH_FRAME;
                code |= p->p_type == PT_LOAD && (p->p_flags & PF_X);
        }
        return code && !hdr;
}

int lt_unwind_init(int on)
{
        if (!on)
                return 0;
        struct rtable *t = rtable_new(TABLE_MIN);
        if (!t)
                return -1;
        atomic_store_explicit(&table, t, memory_order_release);
        enabled = 1;
        if (dl_iterate_phdr(lacks_eh_frame_hdr, NULL))
                dw_open();
        return 0;
}

/* Rules read before objects came or went may name code that is gone: a
 * key is the code address with the epoch of the module map it was read in
 * (the loader's count of loads and unloads, 8 bits of it) in its top byte,
 * user-space addresses leaving that byte 0. A walk looks for the key of its
 * own epoch; the entry of an older one is read again in its place. */
#define KEY_RA(k) ((k) & ((UINT64_C(1) << 56) - 1))
static inline uint64_t epoch_tag(void)
{
        return (uint64_t)(lt_modules_gen() & 0xff) << 56;
}

LT_TLS int lt_unwind_in_getattr;

/* The calling thread's stack, found by pthread_getattr_np: -1 when it
 * cannot be, for good, or for now (lt_stack_known stays 0: inside the
 * program's own call of it, whose lock this call would wait for). */
static LT_NOINLINE LT_COLD int find_stack(void)
{
        if (lt_unwind_in_getattr)
                return -1;
        /* The C library's, past our hook; before the hooks are resolved (a
         * program of the unit tests, linked with this file alone), the
         * symbol as it binds. */
        int (*getattr)(pthread_t, pthread_attr_t *) =
            lt_real.pthread_getattr_np ? lt_real.pthread_getattr_np : pthread_getattr_np;
        lt_stack_known = -1;
        pthread_attr_t a;
        if (getattr(pthread_self(), &a))
                return -1;
        void *addr;
        size_t size;
        int err = pthread_attr_getstack(&a, &addr, &size);
        pthread_attr_destroy(&a);
        if (err)
                return -1;
        lt_stack_lo = (uintptr_t)addr;
        lt_stack_hi = (uintptr_t)addr + size;
        /* 2: too small for the one compare of lt_unwind_room_short(). */
        lt_stack_known = size >= 2 * LT_ROOM_NEEDED ? 1 : 2;
        return 0;
}

LT_NOINLINE LT_COLD int lt_unwind_room_short_slow(uintptr_t sp, int may_find)
{
        /* A thread's first hook: its stack, small as it may be, found now. */
        if (!lt_stack_known && may_find)
                find_stack();
        if (lt_stack_known > 0 && sp >= lt_stack_lo && sp < lt_stack_hi)
                return sp - lt_stack_lo < LT_ROOM_NEEDED;
        stack_t ss;
        if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
                return sp - (uintptr_t)ss.ss_sp < LT_ROOM_NEEDED;
        /* A stack of the program's making (a coroutine's), the thread's own
         * being known: neither walk may run there (the fast one keeps to the
         * thread's stack, libunwind needs more than such a stack may have),
         * so the caller alone, without the walk's 2 KiB buffer on a stack
         * that may have 4 KiB in all. Not found yet (a hook that may not
         * look for it: mmap or a timer call, which signal handlers reach):
         * nothing is known here, and the walk goes on as it did before. */
        return lt_stack_known > 0;
}

void lt_unwind_know_stack(void)
{
        if (!lt_stack_known)
                find_stack();
}

int lt_unwind_libunwind_fits(void)
{
        uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
        if (lt_stack_known <= 0 || (sp >= lt_stack_lo && sp < lt_stack_hi))
                return 1; /* not looked for yet (a walk that may not read), or
                           * the thread's own, whose room was checked */
        stack_t ss;
        if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
                return sp - (uintptr_t)ss.ss_sp >= LT_ROOM_NEEDED;
        return 0; /* a coroutine's stack, of a size nobody told */
}

/* The objects read so far are checked when the modules change: an object
 * unloaded and another loaded in its place may have the same link map
 * (malloc gives its memory back) and the same start, so that only the file
 * tells them apart. Those gone are dropped, the others kept: dropping them
 * all unmapped every file read and mapped them again at the next rules,
 * which moved where the loader put the libraries loaded meanwhile. */
static uint32_t objects_gen;

static const char *path_of(const struct link_map *lm)
{
        /* The main program's link map has no name. */
        return lm->l_name && *lm->l_name ? lm->l_name : "/proc/self/exe";
}

static int same_file(const struct object *ob, const struct stat *st)
{
        return st->st_dev == ob->dev && st->st_ino == ob->ino &&
               st->st_mtim.tv_sec == ob->mtime.tv_sec && st->st_mtim.tv_nsec == ob->mtime.tv_nsec;
}

static int still_loaded(const struct object *ob)
{
        struct dl_find_object o;
        struct stat st;
        return _dl_find_object((void *)ob->start, &o) == 0 && o.dlfo_link_map == ob->map &&
               (uintptr_t)o.dlfo_map_start == ob->start &&
               stat(path_of(o.dlfo_link_map), &st) == 0 && same_file(ob, &st);
}

static void objects_check(void)
{
        int kept = 0;
        for (int i = 0; i < nobjects; i++) {
                struct object *ob = &objects[i];
                if (still_loaded(ob)) {
                        objects[kept++] = *ob;
                        continue;
                }
                if (ob->cfi)
                        dw.cfi_end(ob->cfi);
                if (ob->elf)
                        dw.elf_end(ob->elf);
        }
        nobjects = kept;
}

static struct object *object_of(const struct dl_find_object *o)
{
        uint32_t gen = lt_modules_gen();
        if (gen != objects_gen) {
                objects_check();
                objects_gen = gen;
        }
        for (int i = 0; i < nobjects; i++)
                if (objects[i].map == o->dlfo_link_map &&
                    objects[i].start == (uintptr_t)o->dlfo_map_start)
                        return &objects[i];
        if (nobjects == MAX_OBJECTS)
                return NULL;
        struct object *ob = &objects[nobjects++];
        const struct link_map *lm = o->dlfo_link_map;
        *ob = (struct object){ .map = lm, .start = (uintptr_t)o->dlfo_map_start, .bias = lm->l_addr };
        int fd = open(path_of(lm), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                /* The whole file is mapped: the descriptor is not needed
                 * after, and the program never sees one more open. */
                struct stat st;
                if (fstat(fd, &st) == 0) {
                        ob->dev = st.st_dev;
                        ob->ino = st.st_ino;
                        ob->mtime = st.st_mtim;
                        ob->elf = dw.elf_begin(fd, ELF_C_READ_MMAP, NULL);
                }
                close(fd);
        }
        if (ob->elf)
                ob->cfi = dw.getcfi_elf(ob->elf);
        return ob;
}

/* The rule of a row of the CFI table. */
static uint64_t rule_of(const struct lt_cfi_row *r)
{
        const uint64_t slow = rule_pack(RULE_SLOW, 0, 0);
        if (r->ra_reg != DW_RA || r->signal)
                return slow;
        int rbp;
        switch (r->rbp.how) {
        case LT_CFI_SAME:
                rbp = RBP_SAME;
                break;
        case LT_CFI_UNDEF:
                rbp = RBP_LOST;
                break;
        case LT_CFI_OFFSET:
                if (r->rbp.off <= INT16_MIN || r->rbp.off >= INT16_MAX || r->rbp.off % 8)
                        return slow;
                rbp = (int)r->rbp.off;
                break;
        default:
                return slow;
        }
        if (r->ra.how == LT_CFI_UNDEF) /* the outermost frame: no caller */
                return rule_pack(RULE_END, 0, 0);
        if (r->ra.how != LT_CFI_OFFSET || r->ra.off != -8 ||
            (r->cfa_reg != DW_RSP && r->cfa_reg != DW_RBP))
                return slow;
        if ((r->cfa_off < 16 && r->cfa_reg == DW_RBP) || r->cfa_off < 8 || r->cfa_off > INT32_MAX)
                return slow;
        return rule_pack(r->cfa_reg == DW_RSP ? RULE_RSP : RULE_RBP, rbp, (int32_t)r->cfa_off);
}

/* CFA + what, for a register saved at a constant offset from the CFA;
 * RBP_SAME, RBP_LOST, or 1 for a form not handled. */
static int saved_at(Dwarf_Frame *f, int reg)
{
        Dwarf_Op mem[3], *ops;
        size_t n;
        if (dw.frame_register(f, reg, mem, &ops, &n) < 0)
                return 1;
        if (n == 0)
                return ops ? RBP_LOST : RBP_SAME; /* undefined : same value */
        if (ops[0].atom != DW_OP_call_frame_cfa)
                return 1;
        if (n == 1)
                return 0;
        if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
                int64_t off = (int64_t)ops[1].number;
                return off > INT16_MIN && off < INT16_MAX && off % 8 == 0 ? (int)off : 1;
        }
        return 1;
}

/* The rule at code address pc from libdw, for the objects whose
 * .eh_frame_hdr lt_cfi_row() does not read (none, or of another form).
 * Under resolve_lock, libdw open: it opens files and allocates. */
static uint64_t read_rule_libdw(const struct dl_find_object *o, uintptr_t pc)
{
        struct object *ob = object_of(o);
        Dwarf_Frame *f;
        if (!ob)
                return rule_pack(RULE_SLOW, 0, 0);
        /* Code of an object with no CFI for it (V8's builtins in node's
         * text, hand-written assembly): the frame pointer chain, as
         * libunwind falls back to. */
        if (!ob->cfi || dw.cfi_addrframe(ob->cfi, pc - ob->bias, &f) != 0)
                return rule_pack(RULE_RBP, -16, 16);
        uint64_t rule = rule_pack(RULE_SLOW, 0, 0);
        Dwarf_Op *ops;
        size_t n;
        bool signal;
        int rbp = saved_at(f, DW_RBP), ra = saved_at(f, DW_RA);
        if (dw.frame_info(f, NULL, NULL, &signal) != DW_RA || signal || rbp == 1)
                goto out;
        if (ra == RBP_LOST) { /* the outermost frame: no caller */
                rule = rule_pack(RULE_END, 0, 0);
                goto out;
        }
        if (ra != -8 || dw.frame_cfa(f, &ops, &n) < 0 || n != 1 || ops[0].atom != DW_OP_bregx ||
            (ops[0].number != DW_RSP && ops[0].number != DW_RBP))
                goto out;
        int64_t off = (int64_t)ops[0].number2;
        if (off < 16 && ops[0].number == DW_RBP)
                goto out;
        if (off < 8 || off > INT32_MAX)
                goto out;
        rule = rule_pack(ops[0].number == DW_RSP ? RULE_RSP : RULE_RBP, rbp, (int32_t)off);
out:
        free(f);
        return rule;
}

/* Where each object's .eh_frame_hdr may be read: the loadable segment
 * that holds it (the range _dl_find_object gives can be the text alone:
 * node's header lies outside). Found with dl_iterate_phdr, which takes
 * the loader's lock, so only by a capture that may read rules
 * (learn_segment); the others use what is here. Keyed as the rule table
 * is, by address and epoch, so that every load or unload (a Python
 * import, say) has the objects learned again: a ring, whose oldest entry
 * the next one replaces, each entry under a sequence count that readers
 * check (odd while it is written), so that no reader takes the bounds of
 * one entry with the key of another. */
#define MAX_SEGMENTS 256
static struct {
        _Atomic uint32_t seq;
        _Atomic uint64_t key;
        _Atomic uintptr_t lo, hi;
} segments[MAX_SEGMENTS];
static _Atomic unsigned nsegments; /* entries written so far, ever */

struct seg_search {
        uintptr_t hdr, lo, hi;
};

static int seg_of(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        struct seg_search *s = arg;
        int holds = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *p = &info->dlpi_phdr[i];
                holds |= p->p_type == PT_GNU_EH_FRAME && info->dlpi_addr + p->p_vaddr == s->hdr;
        }
        for (int i = 0; holds && i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *p = &info->dlpi_phdr[i];
                uintptr_t lo = info->dlpi_addr + p->p_vaddr;
                if (p->p_type == PT_LOAD && s->hdr >= lo && s->hdr - lo < p->p_memsz) {
                        s->lo = lo;
                        s->hi = lo + p->p_memsz;
                }
        }
        return holds;
}

/* The segment holding hdr, as learned in the epoch of tag: 1 with
 * [*lo, *hi), or 0. */
static int segment(uintptr_t hdr, uint64_t tag, uintptr_t *lo, uintptr_t *hi)
{
        /* The newest first: those of the current epoch. */
        unsigned n = atomic_load_explicit(&nsegments, memory_order_acquire);
        for (unsigned k = 0; k < n && k < MAX_SEGMENTS; k++) {
                unsigned i = (n - 1 - k) % MAX_SEGMENTS;
                uint32_t seq = atomic_load_explicit(&segments[i].seq, memory_order_acquire);
                if ((seq & 1) ||
                    atomic_load_explicit(&segments[i].key, memory_order_relaxed) != (hdr | tag))
                        continue;
                uintptr_t l = atomic_load_explicit(&segments[i].lo, memory_order_relaxed);
                uintptr_t h = atomic_load_explicit(&segments[i].hi, memory_order_relaxed);
                atomic_thread_fence(memory_order_acquire);
                if (atomic_load_explicit(&segments[i].seq, memory_order_relaxed) != seq)
                        continue; /* replaced meanwhile */
                *lo = l;
                *hi = h;
                return 1;
        }
        return 0;
}

/* Learns the segment of object o, when it has an .eh_frame_hdr whose
 * segment is not known in the epoch of tag. Called
 * before resolve_lock is taken, never under it: dl_iterate_phdr takes the
 * loader's lock, and the loader allocates while it holds its own, so that
 * an allocation hook waiting on resolve_lock and a walk waiting on the
 * loader could wait on each other. */
static LT_NOINLINE LT_COLD void learn_segment(const struct dl_find_object *o, uint64_t tag)
{
        uintptr_t lo, hi;
        if (!o->dlfo_eh_frame || segment((uintptr_t)o->dlfo_eh_frame, tag, &lo, &hi))
                return;
        struct seg_search s = { (uintptr_t)o->dlfo_eh_frame, 0, 0 };
        /* Under the modules' lock, which fork's prepare takes (modules.h);
         * busy: learned at a later walk. */
        if (!lt_modules_trylock())
                return;
        int found = dl_iterate_phdr(seg_of, &s);
        lt_modules_unlock();
        if (!found || !s.hi)
                return;
        pthread_mutex_lock(&resolve_lock);
        if (!segment(s.hdr, tag, &lo, &hi)) {
                unsigned n = atomic_load_explicit(&nsegments, memory_order_relaxed);
                unsigned i = n % MAX_SEGMENTS;
                uint32_t seq = atomic_load_explicit(&segments[i].seq, memory_order_relaxed);
                atomic_store_explicit(&segments[i].seq, seq + 1, memory_order_relaxed);
                atomic_thread_fence(memory_order_release);
                atomic_store_explicit(&segments[i].key, s.hdr | tag, memory_order_relaxed);
                atomic_store_explicit(&segments[i].lo, s.lo, memory_order_relaxed);
                atomic_store_explicit(&segments[i].hi, s.hi, memory_order_relaxed);
                atomic_store_explicit(&segments[i].seq, seq + 2, memory_order_release);
                atomic_store_explicit(&nsegments, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&resolve_lock);
}

/* The rule at code address pc in object o (NULL: none holds it), or 0
 * when it cannot be read without may_alloc (under resolve_lock: it allows
 * libdw).
 * Code that no object holds is JIT code, and code that an object holds
 * but its CFI does not cover is V8's builtins in node's text or
 * hand-written assembly: the frame pointer chain for both, as libunwind
 * falls back to. */
static void want(uintptr_t ra);

static uint64_t read_rule(uintptr_t pc, const struct dl_find_object *o, uint64_t tag,
                          int may_alloc)
{
        if (!o)
                return rule_pack(RULE_RBP, -16, 16);
        uintptr_t lo, hi;
        int learned = o->dlfo_eh_frame && segment((uintptr_t)o->dlfo_eh_frame, tag, &lo, &hi);
        if (learned) {
                struct lt_cfi_row row;
                int found = lt_cfi_row(o->dlfo_eh_frame, lo, hi, pc, &row);
                if (found >= 0)
                        return found ? rule_of(&row) : rule_pack(RULE_RBP, -16, 16);
        }
        if (!may_alloc)
                return 0;
        int state = atomic_load_explicit(&dw.state, memory_order_acquire);
        if (state == DW_READY)
                return read_rule_libdw(o, pc);
        /* Its segment is learned at a later walk (the loader's lock was
         * busy). */
        if (!learned && o->dlfo_eh_frame)
                return 0;
        if (state == DW_FAILED)
                return rule_pack(RULE_SLOW, 0, 0);
        /* An object that libdw must read: the background thread opens it,
         * then reads the rule. */
        int none = DW_NONE;
        atomic_compare_exchange_strong(&dw.state, &none, DW_WANTED);
        want(pc + 1);
        return 0;
}

/* Return addresses are not as even as a hash: V8 gives every function
 * its interpreter runs a copy of the interpreter's entry (with
 * --interpreted-frames-native-stack, which names JS frames), 960 bytes
 * apart in node 20, and every interpreted frame returns to the same offset
 * in its copy, so that with the address's low bits as the slot all of them
 * fell on one slot in 64. So the slot is a hash of the address (Fibonacci:
 * a multiply, whose top bits index the table); the key is the address as
 * the walk read it. Against the low bits, the SSR example walked its
 * stacks in 33 % fewer instructions (with the table half full), node's
 * start-up took 0.90 of the CPU time, malloc_bench 1.005 (medians of 21
 * and 11 in alternation). */
static inline uint64_t ra_slot(uintptr_t ra, unsigned shift)
{
        return (ra * UINT64_C(0x9e3779b97f4a7c15)) >> shift;
}

static inline uint64_t slot_of(const struct rtable *t, uintptr_t ra)
{
        return ra_slot(ra, t->shift);
}

/* Under resolve_lock: t's entries in a table twice its size, published.
 * Returns the new table, or t when it cannot grow. */
static LT_NOINLINE LT_COLD struct rtable *rtable_grow(struct rtable *t)
{
        if (t->mask + 1 >= TABLE_MAX)
                return t;
        struct rtable *u = rtable_new((t->mask + 1) * 2);
        if (!u)
                return t;
        for (uint64_t i = 0; i <= t->mask; i++) {
                uint64_t k = atomic_load_explicit(&t->e[i].key, memory_order_relaxed);
                if (!k)
                        continue;
                uint64_t h = slot_of(u, KEY_RA(k));
                while (atomic_load_explicit(&u->e[h].key, memory_order_relaxed))
                        h = (h + 1) & u->mask;
                atomic_store_explicit(&u->e[h].rule,
                                      atomic_load_explicit(&t->e[i].rule, memory_order_relaxed),
                                      memory_order_relaxed);
                atomic_store_explicit(&u->e[h].key, k, memory_order_relaxed);
        }
        u->used = t->used;
        atomic_store_explicit(&table, u, memory_order_release);
        return u;
}

/* The rule for ra, read and entered in the table. Without may_read (in
 * a signal handler, or inside malloc) only what lt_cfi_row() reads is
 * read, and entered only when the lock is free: the thread may hold it
 * already, in the middle of a read that it interrupted or that mapped
 * memory. */
static LT_NOINLINE LT_COLD uint64_t slow_lookup(uintptr_t ra, uint64_t tag, int may_read)
{
        struct dl_find_object found;
        const struct dl_find_object *o = _dl_find_object((void *)(ra - 1), &found) == 0 ? &found
                                                                                         : NULL;
        if (may_read) {
                if (o)
                        learn_segment(o, tag);
                pthread_mutex_lock(&resolve_lock);
        } else if (pthread_mutex_trylock(&resolve_lock) != 0) {
                uint64_t rule = read_rule(ra - 1, o, tag, 0);
                return rule ? rule : rule_pack(RULE_SLOW, 0, 0);
        }
        struct rtable *t = atomic_load_explicit(&table, memory_order_relaxed);
        if (TABLE_FULL(t))
                t = rtable_grow(t);
        uint64_t h = slot_of(t, ra);
        uint64_t rule = 0;
        for (uint64_t probes = 0; probes <= t->mask; probes++, h = (h + 1) & t->mask) {
                uint64_t k = atomic_load_explicit(&t->e[h].key, memory_order_relaxed);
                if (k == (ra | tag)) { /* read by another thread meanwhile */
                        rule = atomic_load_explicit(&t->e[h].rule, memory_order_relaxed);
                        break;
                }
                if (KEY_RA(k) == ra) { /* of another epoch: read again, in its place */
                        rule = read_rule(ra - 1, o, tag, may_read);
                        if (rule) {
                                atomic_store_explicit(&t->e[h].rule, rule, memory_order_relaxed);
                                atomic_store_explicit(&t->e[h].key, ra | tag, memory_order_release);
                        }
                        break;
                }
                if (k == 0) {
                        rule = read_rule(ra - 1, o, tag, may_read);
                        if (rule && !TABLE_FULL(t)) {
                                t->used++;
                                atomic_store_explicit(&t->e[h].rule, rule, memory_order_relaxed);
                                atomic_store_explicit(&t->e[h].key, ra | tag, memory_order_release);
                        }
                        break;
                }
        }
        pthread_mutex_unlock(&resolve_lock);
        return rule ? rule : rule_pack(RULE_SLOW, 0, 0);
}

/* The rule for ra read in the epoch of tag, or 0 when there is none yet. */
static inline uint64_t known(const struct rtable *t, uintptr_t ra, uint64_t tag)
{
        uint64_t h = slot_of(t, ra);
        for (;;) {
                uint64_t k = atomic_load_explicit(&t->e[h].key, memory_order_acquire);
                if (lt_likely(k == (ra | tag)))
                        return atomic_load_explicit(&t->e[h].rule, memory_order_relaxed);
                if (!k)
                        return 0;
                h = (h + 1) & t->mask;
        }
}

/* As known(), with the entries and the mask in registers: the acquire
 * loads of the probe would have them read again from the table at every
 * frame. The slot is found as a byte offset, which the load takes as it
 * is. */
static inline uint64_t lookup(const char *e, uint64_t bmask, unsigned shift, uintptr_t ra,
                              uint64_t tag, int may_read)
{
        uint64_t off = ra_slot(ra, shift) << 4;
        for (;;) {
                const _Atomic uint64_t *slot = (const _Atomic uint64_t *)(e + off);
                uint64_t k = atomic_load_explicit(&slot[0], memory_order_acquire);
                if (lt_likely(k == (ra | tag)))
                        return atomic_load_explicit(&slot[1], memory_order_relaxed);
                if (!k)
                        break;
                off = (off + 16) & bmask;
        }
        return slow_lookup(ra, tag, may_read);
}

/* Addresses (as the table keys them) that a capture which could not read
 * rules met, read by the ticker thread at its next poll (a check in every
 * capture cost more than the rest of the change saved). Since .eh_frame
 * is read in place, that is only code whose object had not been seen by a
 * capture that may read (its segment unknown), or whose rules need libdw.
 * A full list drops the address: it comes again. */
#define WANTED 64
static _Atomic uintptr_t wanted[WANTED];
static _Atomic int nwanted;

/* Enters ra, unless it is there already, or the list is full. */
static void want(uintptr_t ra)
{
        int free_at = -1;
        for (int s = 0; s < WANTED; s++) {
                uintptr_t w = atomic_load_explicit(&wanted[s], memory_order_relaxed);
                if (w == ra)
                        return;
                if (!w && free_at < 0)
                        free_at = s;
        }
        uintptr_t none = 0;
        if (free_at >= 0 && atomic_compare_exchange_strong(&wanted[free_at], &none, ra))
                atomic_fetch_add_explicit(&nwanted, 1, memory_order_release);
}

void lt_unwind_want(void *const *frames, int n)
{
        if (!enabled)
                return;
        const uint64_t tag = epoch_tag();
        const struct rtable *t = atomic_load_explicit(&table, memory_order_acquire);
        if (t->mask + 1 >= TABLE_MAX && TABLE_FULL(t))
                return; /* full: what is read could not be kept */
        /* frames[0] is exact, entered one byte on; the others are return
         * addresses. */
        for (int i = 0; i < n; i++) {
                uintptr_t ra = (uintptr_t)frames[i] + (i == 0);
                if (!known(t, ra, tag))
                        want(ra);
        }
}

static LT_NOINLINE LT_COLD void read_wanted(uint64_t tag)
{
        if (!enabled)
                return;
        for (int s = 0; s < WANTED; s++) {
                uintptr_t ra = atomic_exchange_explicit(&wanted[s], 0, memory_order_acquire);
                if (!ra)
                        continue;
                atomic_fetch_sub_explicit(&nwanted, 1, memory_order_relaxed);
                if (!known(atomic_load_explicit(&table, memory_order_acquire), ra, tag))
                        slow_lookup(ra, tag, 1);
        }
}

void lt_unwind_read_wanted(void)
{
        if (atomic_load_explicit(&dw.state, memory_order_relaxed) == DW_WANTED)
                dw_open(); /* one library more: a new epoch, its rules read again */
        if (atomic_load_explicit(&nwanted, memory_order_relaxed) > 0)
                read_wanted(epoch_tag());
}

LT_TLS int lt_unwind_lost;

/* Where the unwind starts: this function's own registers, at the label. */
struct regs {
        uintptr_t ip, sp, bp;
};

__attribute__((noinline)) int lt_unwind(void **buf, int want, int may_read,
                                        const struct lt_caller *from)
{
        /* Finding the stack allocates too (the main thread's reads
         * /proc/self/maps). */
        if (!enabled || (lt_stack_known <= 0 && (lt_stack_known < 0 || !may_read || find_stack() < 0)))
                return -1;
        struct regs r;
        __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                         : "=r"(r.ip), "=r"(r.sp), "=r"(r.bp));
        uintptr_t ra = r.ip + 1; /* the first is an exact address, the others return addresses */
        if (from && from->ip) {
                /* The caller's frame is above this one's: a caller that
                 * is not (a hook called on another stack) starts here. */
                if (from->sp > r.sp && from->sp <= lt_stack_hi) {
                        r = (struct regs){ from->ip, from->sp, from->bp };
                        ra = r.ip;
                }
        }
        const uintptr_t hi = lt_stack_hi;
        if (r.sp < lt_stack_lo || r.sp >= hi)
                return -1; /* an alternate signal stack, a coroutine's: not ours to walk */
        const uint64_t tag = epoch_tag();
        const struct rtable *t = atomic_load_explicit(&table, memory_order_acquire);
        const char *const e = (const char *)t->e;
        const uint64_t bmask = t->mask << 4; /* a slot's offset in bytes */
        const unsigned shift = t->shift;
        int bp_known = 1, n = 0;
        for (;;) {
                buf[n++] = (void *)r.ip;
                if (lt_unlikely(n == want))
                        return n;
                uint64_t rule = lookup(e, bmask, shift, ra, tag, may_read);
                unsigned base = RULE_BASE(rule);
                if (lt_unlikely(base > RULE_RBP)) /* RULE_END or RULE_SLOW */
                        return base == RULE_END ? n : -1 - n;
                if (base == RULE_RBP && lt_unlikely(!bp_known))
                        return -1 - n;
                uintptr_t cfa = (base == RULE_RSP ? r.sp : r.bp) + (uintptr_t)(intptr_t)RULE_CFA(rule);
                /* Above this frame, and the return address below the top. */
                if (lt_unlikely(cfa <= r.sp || cfa > hi)) {
                        lt_unwind_lost = 1;
                        return n; /* off the stack: as libunwind, stop here */
                }
                int at = RULE_RBP_AT(rule);
                if (at != RBP_SAME) {
                        if (lt_unlikely(at == RBP_LOST)) {
                                bp_known = 0;
                        } else {
                                uintptr_t slot = cfa + (uintptr_t)(intptr_t)at;
                                if (lt_unlikely(slot < r.sp || slot + 8 > hi))
                                        return -1 - n;
                                r.bp = *(const uintptr_t *)slot;
                                bp_known = 1;
                        }
                }
                r.ip = *(const uintptr_t *)(cfa - 8);
                r.sp = cfa;
                if (lt_unlikely(!r.ip))
                        return n;
                ra = r.ip;
        }
}

void lt_unwind_lock(void)
{
        pthread_mutex_lock(&open_lock);
        pthread_mutex_lock(&resolve_lock);
}

void lt_unwind_unlock(void)
{
        pthread_mutex_unlock(&resolve_lock);
        pthread_mutex_unlock(&open_lock);
}

void lt_unwind_reset_lock(void)
{
        pthread_mutex_init(&resolve_lock, NULL);
        pthread_mutex_init(&open_lock, NULL);
}
