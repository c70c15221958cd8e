#define _GNU_SOURCE
#include "modules.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "tracefile.h"

uintptr_t lt_self_lo, lt_self_hi;

#define MAX_LOADED 4096

static struct lt_lock scan_lock;
static uint32_t gen = 1;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
/* Records of the modules loaded now, by index, and whether this scan saw them. */
static uint32_t loaded[MAX_LOADED];
static unsigned char loaded_seen[MAX_LOADED];
static unsigned nloaded;

/* Aliases recorded and not unmapped: their ranges and records. */
#define MAX_ALIASES 16
static struct alias {
        uintptr_t lo, hi;
        uint32_t rec;
} aliases[MAX_ALIASES];
static unsigned naliases;

/* The records the last scan found gone, and that scan's generation: a
 * library loaded again as it was (a plugin reloaded in a loop) takes its
 * record back instead of a new one each time, so the table does not grow
 * with every cycle. Its code is the same at the same addresses. */
#define MAX_GONE 64
static uint32_t gone[MAX_GONE];
static unsigned ngone;
static uint32_t gone_gen;

struct scan {
        int changed;
        uint32_t new_gen;
};

static void read_build_id(const struct dl_phdr_info *info, struct lt_module_rec *m)
{
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_NOTE)
                        continue;
                const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
                const char *end = p + ph->p_memsz;
                while (p + sizeof(ElfW(Nhdr)) <= end) {
                        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
                        const char *name = p + sizeof(*n);
                        const char *desc = name + ((n->n_namesz + 3) & ~3u);
                        const char *next = desc + ((n->n_descsz + 3) & ~3u);
                        if (next > end)
                                break;
                        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                            !memcmp(name, "GNU", 4) && n->n_descsz <= sizeof(m->build_id)) {
                                memcpy(m->build_id, desc, n->n_descsz);
                                m->build_id_len = (uint16_t)n->n_descsz;
                                return;
                        }
                        p = next;
                }
        }
}

static void describe(const struct dl_phdr_info *info, struct lt_module_rec *m)
{
        memset(m, 0, sizeof(*m));
        m->bias = info->dlpi_addr;
        m->lo = UINT64_MAX;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD)
                        continue;
                uint64_t lo = info->dlpi_addr + ph->p_vaddr;
                uint64_t hi = lo + ph->p_memsz;
                if (lo < m->lo)
                        m->lo = lo;
                if (hi > m->hi)
                        m->hi = hi;
                if (m->nsegs < LT_MAX_SEGS) {
                        struct lt_segment *s = &m->segs[m->nsegs++];
                        s->vaddr = ph->p_vaddr;
                        s->memsz = ph->p_memsz;
                        s->pflags = ph->p_flags;
                        s->offset = ph->p_offset;
                }
        }
        if (m->lo == UINT64_MAX)
                m->lo = 0;
        read_build_id(info, m);

        const char *name = info->dlpi_name;
        size_t room = sizeof(m->path);
        size_t len = 0;
        uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
        if (vdso && vdso >= m->lo && vdso < m->hi) {
                m->flags |= LT_MOD_VDSO;
                name = "[vdso]";
        } else if (!name || !*name) {
                m->flags |= LT_MOD_MAIN;
                name = lt_tf.hdr->exe;
        } else if (name[0] != '/') {
                /* dlopen("./x.so"): the loader keeps the name as given. */
                if (getcwd(m->path, room - 1)) {
                        len = strlen(m->path);
                        m->path[len++] = '/';
                }
        }
        size_t nlen = strlen(name);
        if (len + nlen >= room) {
                nlen = room - 1 - len;
                m->flags |= LT_MOD_PATH_CUT;
        }
        memcpy(m->path + len, name, nlen);
        len += nlen;
        m->path[len] = '\0';
        m->path_len = (uint16_t)len;
        if (lt_self_lo <= m->lo && m->hi <= lt_self_hi && lt_self_lo < lt_self_hi)
                m->flags |= LT_MOD_SELF;
}

static int same_module(const struct lt_module_rec *a, const struct lt_module_rec *b)
{
        return a->bias == b->bias && a->lo == b->lo && a->hi == b->hi &&
               a->build_id_len == b->build_id_len &&
               !memcmp(a->build_id, b->build_id, a->build_id_len) && !strcmp(a->path, b->path);
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
        struct scan *sc = arg;
        struct lt_module_rec m;
        (void)size;

        describe(info, &m);
        if (m.lo == m.hi)
                return 0;
        for (unsigned i = 0; i < nloaded; i++) {
                if (!loaded_seen[i] && same_module(lt_tf_rec(LT_SEC_MODULES, loaded[i]), &m)) {
                        loaded_seen[i] = 1;
                        return 0;
                }
        }
        if (nloaded >= MAX_LOADED) {
                lt_tf_drop(LT_DROP_MODULES_FULL, 1);
                return 0;
        }
        for (unsigned i = 0; i < ngone && gone_gen == gen; i++) {
                struct lt_module_rec *old = lt_tf_rec(LT_SEC_MODULES, gone[i]);
                if (old->gen_unloaded == gen && same_module(old, &m)) {
                        __atomic_store_n(&old->gen_unloaded, LT_MOD_LOADED, __ATOMIC_RELEASE);
                        loaded[nloaded] = gone[i];
                        loaded_seen[nloaded] = 1;
                        nloaded++;
                        gone[i] = gone[--ngone];
                        sc->changed = 1;
                        return 0;
                }
        }
        struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_MODULES];
        uint64_t idx = s->count;
        if (lt_tf_reserve(LT_SEC_MODULES, idx + 1) < 0) {
                lt_tf_drop(LT_DROP_MODULES_FULL, 1);
                return 0;
        }
        m.gen_loaded = sc->new_gen;
        m.gen_unloaded = LT_MOD_LOADED;
        memcpy(lt_tf_rec(LT_SEC_MODULES, idx), &m, sizeof(m));
        __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
        loaded[nloaded] = (uint32_t)idx;
        loaded_seen[nloaded] = 1;
        nloaded++;
        sc->changed = 1;
        return 0;
}

static int self_range(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        (void)arg;
        uintptr_t me = (uintptr_t)&self_range;
        uintptr_t lo = UINTPTR_MAX, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_LOAD)
                        continue;
                uintptr_t a = info->dlpi_addr + ph->p_vaddr;
                if (a < lo)
                        lo = a;
                if (a + ph->p_memsz > hi)
                        hi = a + ph->p_memsz;
        }
        if (lo <= me && me < hi) {
                lt_self_lo = lo;
                lt_self_hi = hi;
                return 1;
        }
        return 0;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
        unsigned long long *c = arg;
        if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
                c[0] = c[1] = ~0ull - 1; /* unknown: always rescan */
                return 1;
        }
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
        return 1;
}

int lt_modules_scan(void)
{
        if (!lt_tf.hdr)
                return 0;
        if (__atomic_exchange_n(&scan_lock.held, 1, __ATOMIC_ACQUIRE))
                return -EBUSY;
        if (!lt_self_hi)
                dl_iterate_phdr(self_range, NULL);

        unsigned long long c[2];
        dl_iterate_phdr(read_counters, c);
        struct scan sc = { 0, gen + 1 };
        memset(loaded_seen, 0, nloaded);
        dl_iterate_phdr(scan_one, &sc);
        /* Whatever was loaded and was not seen now is gone. */
        unsigned kept = 0, ngone_now = 0;
        for (unsigned i = 0; i < nloaded; i++) {
                if (loaded_seen[i]) {
                        loaded[kept++] = loaded[i];
                } else {
                        struct lt_module_rec *m = lt_tf_rec(LT_SEC_MODULES, loaded[i]);
                        __atomic_store_n(&m->gen_unloaded, sc.new_gen, __ATOMIC_RELEASE);
                        if (ngone_now < MAX_GONE)
                                gone[ngone_now++] = loaded[i];
                        sc.changed = 1;
                }
        }
        if (sc.changed) {
                ngone = ngone_now;
                gone_gen = sc.new_gen;
        }
        nloaded = kept;
        /* An object loaded and unloaded since the last scan was never seen
         * here, but its code may have been walked at the addresses that
         * another object holds now: any load or unload is a new epoch. */
        if (c[0] != seen_adds || c[1] != seen_subs)
                sc.changed = 1;
        if (sc.changed) {
                __atomic_store_n(&gen, sc.new_gen, __ATOMIC_RELEASE);
                __atomic_store_n(&lt_tf.hdr->mod_gen, sc.new_gen, __ATOMIC_RELEASE);
        }
        seen_adds = c[0];
        seen_subs = c[1];
        lt_unlock(&scan_lock);
        return 0;
}

/* Records [lo, lo + len), which maps the file FST at OFF with PROT_EXEC, as
 * an alias of the loaded object of that file, if there is one. Under
 * scan_lock. */
static void add_alias(uintptr_t lo, size_t len, const struct stat *fst, uint64_t off)
{
        struct stat st;
        const struct lt_module_rec *orig = NULL;
        const struct lt_segment *seg = NULL;
        for (unsigned i = 0; i < nloaded && !orig; i++) {
                const struct lt_module_rec *m = lt_tf_rec(LT_SEC_MODULES, loaded[i]);
                if (m->flags & (LT_MOD_VDSO | LT_MOD_PATH_CUT) ||
                    (m->lo < lo + len && lo < m->hi) || stat(m->path, &st) < 0 ||
                    st.st_dev != fst->st_dev || st.st_ino != fst->st_ino)
                        continue;
                for (uint32_t k = 0; k < m->nsegs; k++)
                        if ((m->segs[k].pflags & PF_X) && m->segs[k].offset <= off &&
                            off - m->segs[k].offset < m->segs[k].memsz) {
                                orig = m;
                                seg = &m->segs[k];
                                break;
                        }
        }
        if (!orig)
                return;
        struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_MODULES];
        uint64_t idx = s->count;
        if (naliases == MAX_ALIASES || lt_tf_reserve(LT_SEC_MODULES, idx + 1) < 0) {
                lt_tf_drop(LT_DROP_MODULES_FULL, 1);
                return;
        }
        struct lt_module_rec *m = lt_tf_rec(LT_SEC_MODULES, idx);
        memcpy(m, orig, sizeof(*m));
        m->bias = lo - (seg->vaddr + (off - seg->offset));
        m->lo = lo;
        m->hi = lo + len;
        m->flags = (orig->flags & ~LT_MOD_MAIN) | LT_MOD_ALIAS;
        /* Nothing was code here before (a reservation, V8's code range):
         * the stacks of this generation may name it. */
        m->gen_loaded = gen;
        m->gen_unloaded = LT_MOD_LOADED;
        __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
        aliases[naliases] = (struct alias){lo, lo + len, (uint32_t)idx};
        __atomic_store_n(&naliases, naliases + 1, __ATOMIC_RELEASE);
}

void lt_modules_mapped_exec(uintptr_t lo, size_t len, int fd, uint64_t off)
{
        struct stat fst;
        if (!lt_tf.hdr || !len || fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode))
                return;
        lt_lock(&scan_lock);
        add_alias(lo, len, &fst, off);
        lt_unlock(&scan_lock);
}

/* One line of /proc/self/maps: an executable mapping of a file that no
 * loaded object covers is checked for an alias. */
static void alias_of_line(const char *line)
{
        unsigned long lo, hi;
        unsigned long long off;
        char perms[8];
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %llx %*s %*s %n", &lo, &hi, perms, &off, &path_at) < 4 ||
            !path_at || perms[2] != 'x' || line[path_at] != '/')
                return;
        for (unsigned i = 0; i < nloaded; i++) {
                const struct lt_module_rec *m = lt_tf_rec(LT_SEC_MODULES, loaded[i]);
                if (m->lo <= lo && hi <= m->hi)
                        return; /* the object's own */
        }
        for (unsigned i = 0; i < naliases; i++)
                if (aliases[i].lo == lo)
                        return;
        int fd = open(line + path_at, O_RDONLY | O_CLOEXEC);
        struct stat fst;
        if (fd < 0)
                return;
        if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode))
                add_alias(lo, hi - lo, &fst, off);
        close(fd);
}

void lt_modules_find_aliases(void)
{
        if (!lt_tf.hdr)
                return;
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        lt_lock(&scan_lock);
        /* Line by line, without allocating: a line longer than the buffer
         * (a path near PATH_MAX) is passed over. */
        char buf[4096 + 256];
        size_t have = 0;
        int skipping = 0;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                have += (size_t)n;
                buf[have] = '\0';
                char *p = buf, *nl;
                while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
                        *nl = '\0';
                        if (!skipping)
                                alias_of_line(p);
                        skipping = 0;
                        p = nl + 1;
                }
                have -= (size_t)(p - buf);
                memmove(buf, p, have);
                if (have == sizeof(buf) - 1) {
                        skipping = 1;
                        have = 0;
                }
        }
        lt_unlock(&scan_lock);
        close(fd);
}

void lt_modules_unmapped(uintptr_t addr, size_t len)
{
        /* V8 maps and unmaps its heap's pages all the time, never over its
         * builtins: a look without the lock first. */
        unsigned n = __atomic_load_n(&naliases, __ATOMIC_ACQUIRE), hit = 0;
        for (unsigned i = 0; i < n && i < MAX_ALIASES; i++)
                hit |= aliases[i].lo < addr + len && addr < aliases[i].hi;
        if (!hit)
                return;
        lt_lock(&scan_lock);
        if (!lt_tf.hdr) /* no file any more (a child that could not have its own) */
                naliases = 0;
        unsigned kept = 0;
        int gone = 0;
        for (unsigned i = 0; i < naliases; i++) {
                if (aliases[i].lo < addr + len && addr < aliases[i].hi) {
                        struct lt_module_rec *m = lt_tf_rec(LT_SEC_MODULES, aliases[i].rec);
                        __atomic_store_n(&m->gen_unloaded, gen + 1, __ATOMIC_RELEASE);
                        gone = 1;
                } else {
                        aliases[kept++] = aliases[i];
                }
        }
        naliases = kept;
        if (gone) { /* a new generation, in which the alias is gone */
                __atomic_store_n(&gen, gen + 1, __ATOMIC_RELEASE);
                __atomic_store_n(&lt_tf.hdr->mod_gen, gen, __ATOMIC_RELEASE);
        }
        lt_unlock(&scan_lock);
}

void lt_modules_refresh(void)
{
        /* Under the scan's lock, which fork's prepare takes: no thread of
         * the tracer is inside dl_iterate_phdr when a fork copies the
         * loader's lock (a child that asked for it then would wait
         * forever). Busy: another thread is looking already. */
        if (!lt_trylock(&scan_lock))
                return;
        unsigned long long c[2];
        dl_iterate_phdr(read_counters, c);
        lt_unlock(&scan_lock);
        if (c[0] != __atomic_load_n(&seen_adds, __ATOMIC_RELAXED) ||
            c[1] != __atomic_load_n(&seen_subs, __ATOMIC_RELAXED))
                lt_modules_scan();
}

uint32_t lt_modules_gen(void)
{
        return __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
}

int lt_modules_trylock(void)
{
        return lt_trylock(&scan_lock);
}

void lt_modules_lock(void)
{
        lt_lock(&scan_lock);
}

void lt_modules_unlock(void)
{
        lt_unlock(&scan_lock);
}

void lt_modules_reset_lock(void)
{
        lt_lock_reset(&scan_lock);
}

void lt_modules_reset(void)
{
        lt_lock(&scan_lock);
        nloaded = 0;
        naliases = 0;
        ngone = 0;
        gen = 1;
        seen_adds = seen_subs = ~0ull;
        lt_unlock(&scan_lock);
}
