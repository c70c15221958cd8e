/* Symbolization with libdw's dwfl, offline: every module of the trace is
 * reported to a Dwfl session at its recorded bias, the first time a frame
 * needs it. A library dlclosed and another loaded at the same address cannot
 * share a session (dwfl refuses overlapping modules), so there are as many
 * sessions as the deepest pile of overlapping modules. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "addrinfo.h"
#include "modindex.h"
#include "modmap.h"
#include "perfmap.h"
#include "sourcemap.h"

enum mod_state { MOD_UNTRIED, MOD_READY, MOD_FAILED };

struct mod {
        enum mod_state state;
        int session; /* -1 until reported */
        Dwfl_Module *dm;
        char *why; /* why a failed module cannot be used; NULL: nothing to say */
        bool warned;
        struct lt_modindex *ix; /* when ready */
        int64_t orig;           /* an alias's object (LT_MOD_ALIAS); else -1 */
};

struct cache_key {
        int64_t mod;
        uint64_t addr;
};

struct cache_entry {
        struct cache_key key;
        struct lt_addr_info info;
        UT_hash_handle hh;
};

struct lt_symbolizer {
        const struct lt_trace *t;
        struct mod *mods;
        struct lt_modmap *map;
        Dwfl **sessions;
        unsigned nsessions;
        struct cache_entry *cache;
        struct lt_perfmap *perfmap; /* read when a frame first needs it */
        bool perfmap_read;
        bool maps_kept;
        uint64_t used;                  /* when it last read a file (trim_others()) */
        struct lt_symbolizer *next_open; /* every symbolizer, for trim_others() */
};

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* The object whose code alias record i maps again: loaded while the alias
 * was, with the same file. -1 when i is no alias, or its object is unknown
 * (then the alias is read as an object of its own). */
static int64_t alias_of(const struct lt_trace *t, uint64_t i)
{
        const struct lt_module_rec *a = &t->mods[i];
        if (!(a->flags & LT_MOD_ALIAS))
                return -1;
        for (uint64_t k = 0; k < t->nmods; k++) {
                const struct lt_module_rec *m = &t->mods[k];
                if (!(m->flags & LT_MOD_ALIAS) && m->gen_loaded <= a->gen_loaded &&
                    a->gen_loaded < m->gen_unloaded && m->build_id_len == a->build_id_len &&
                    !memcmp(m->build_id, a->build_id, m->build_id_len) && !strcmp(m->path, a->path))
                        return (int64_t)k;
        }
        return -1;
}

/* A report of many files (a directory of forked workers) holds a
 * symbolizer for each: libdw's sessions map every module's file and its
 * debug info, megabytes a process, and node's perf map is read whole. So
 * only OPEN_MAX of them keep those at once; the least recently used one is
 * trimmed when another needs a file, and keeps what it answered already
 * (the cache). Its files are read again if a later lookup needs them. */
#define OPEN_MAX 2
static struct lt_symbolizer *all;
static uint64_t use_clock;

static bool holds_files(const struct lt_symbolizer *s)
{
        return s->nsessions || s->perfmap;
}

static void trim(struct lt_symbolizer *s)
{
        for (unsigned i = 0; i < s->nsessions; i++)
                dwfl_end(s->sessions[i]);
        free(s->sessions);
        s->sessions = NULL;
        s->nsessions = 0;
        for (uint64_t i = 0; i < s->t->nmods; i++) {
                struct mod *ms = &s->mods[i];
                if (ms->state == MOD_READY) { /* a failed one keeps why, said once */
                        lt_modindex_free(ms->ix);
                        ms->ix = NULL;
                        ms->dm = NULL;
                        ms->state = MOD_UNTRIED;
                }
                ms->session = -1;
        }
        if (s->perfmap) { /* read again when needed; one that failed was said, and stays */
                lt_perfmap_free(s->perfmap);
                s->perfmap = NULL;
                s->perfmap_read = false;
        }
}

/* Before S reads a file: room for it among the symbolizers that hold some. */
static void trim_others(struct lt_symbolizer *s)
{
        s->used = ++use_clock;
        for (;;) {
                unsigned holding = 0;
                struct lt_symbolizer *oldest = NULL;
                for (struct lt_symbolizer *o = all; o; o = o->next_open) {
                        if (o == s || !holds_files(o))
                                continue;
                        holding++;
                        if (!oldest || o->used < oldest->used)
                                oldest = o;
                }
                if (holding < OPEN_MAX)
                        return;
                trim(oldest);
        }
}

struct lt_symbolizer *lt_sym_open(const struct lt_trace *t)
{
        struct lt_symbolizer *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->next_open = all;
        all = s;
        s->t = t;
        s->mods = calloc((size_t)t->nmods + 1, sizeof(*s->mods));
        s->map = lt_modmap_new(t);
        if (!s->mods || !s->map) {
                lt_sym_close(s);
                return NULL;
        }
        for (uint64_t i = 0; i < t->nmods; i++) {
                s->mods[i].session = -1;
                s->mods[i].orig = alias_of(t, i);
        }
        return s;
}

void lt_sym_close(struct lt_symbolizer *s)
{
        if (!s)
                return;
        for (struct lt_symbolizer **p = &all; *p; p = &(*p)->next_open)
                if (*p == s) {
                        *p = s->next_open;
                        break;
                }
        struct cache_entry *e, *tmp;
        HASH_ITER(hh, s->cache, e, tmp)
        {
                HASH_DEL(s->cache, e);
                lt_addrinfo_clear(&e->info);
                free(e);
        }
        for (unsigned i = 0; i < s->nsessions; i++)
                dwfl_end(s->sessions[i]);
        free(s->sessions);
        for (uint64_t i = 0; s->mods && i < s->t->nmods; i++) {
                free(s->mods[i].why);
                lt_modindex_free(s->mods[i].ix);
        }
        free(s->mods);
        lt_modmap_free(s->map);
        lt_perfmap_free(s->perfmap);
        free(s);
}

int lt_sym_module(const struct lt_symbolizer *s, uint64_t addr, uint32_t gen)
{
        return lt_modmap_find(s->map, addr, gen);
}

/* Keeps, for the first time a frame of the module is shown, why its file
 * cannot be used: a module that only hidden frames touch is never
 * mentioned. */
__attribute__((format(printf, 2, 3))) static void fail(struct mod *ms, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&ms->why, fmt, ap) < 0)
                ms->why = NULL;
        va_end(ap);
}

static void warn_once(struct lt_symbolizer *s, int idx)
{
        struct mod *ms = &s->mods[idx];
        if (ms->warned || !ms->why)
                return;
        ms->warned = true;
        const char *path = s->t->mods[idx].path;
        fprintf(stderr, "leaktrace: warning: %s: %s; its frames show addresses only\n",
                path[0] ? path : "(module without a path)", ms->why);
}

static int overlaps_session(const struct lt_symbolizer *s, int session,
                            const struct lt_module_rec *m)
{
        for (uint64_t i = 0; i < s->t->nmods; i++) {
                const struct lt_module_rec *o = &s->t->mods[i];
                if (s->mods[i].session == session && m->lo < o->hi && o->lo < m->hi)
                        return 1;
        }
        return 0;
}

/* Reports module idx to the first session that takes it: one where no
 * module reported so far overlaps it, else a new one. Dwfl computes ranges
 * from the file's program headers, rounded to pages, so it may still refuse
 * where the records did not overlap: then the next session is tried. */
static Dwfl_Module *report(struct lt_symbolizer *s, int idx)
{
        const struct lt_module_rec *m = &s->t->mods[idx];
        for (unsigned i = 0; i <= s->nsessions; i++) {
                if (i < s->nsessions && overlaps_session(s, (int)i, m))
                        continue;
                int fresh = i == s->nsessions;
                if (fresh) {
                        Dwfl **grown = realloc(s->sessions, (i + 1) * sizeof(*grown));
                        if (!grown)
                                return NULL;
                        s->sessions = grown;
                        if (!(s->sessions[i] = dwfl_begin(&offline_callbacks)))
                                return NULL;
                        s->nsessions++;
                }
                Dwfl *d = s->sessions[i];
                /* add_p_vaddr true: the bias is added to p_vaddr, which is
                 * what dlpi_addr means, prelinked libraries included. */
                dwfl_report_begin_add(d);
                Dwfl_Module *dm = dwfl_report_elf(d, m->path, m->path, -1, m->bias, true);
                dwfl_report_end(d, NULL, NULL);
                if (dm) {
                        s->mods[idx].session = (int)i;
                        return dm;
                }
                if (fresh) {
                        dwfl_end(d);
                        s->nsessions--;
                        return NULL;
                }
        }
        return NULL;
}

/* Without a build-id to compare, the file's loadable segments must be the
 * ones that were mapped. */
static int segments_match(Dwfl_Module *dm, const struct lt_module_rec *m)
{
        GElf_Addr bias;
        Elf *elf = dwfl_module_getelf(dm, &bias);
        size_t n;
        if (!elf || elf_getphdrnum(elf, &n) < 0)
                return 0;
        uint32_t seen = 0;
        for (size_t i = 0; i < n; i++) {
                GElf_Phdr ph;
                if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
                        continue;
                if (seen < m->nsegs) {
                        const struct lt_segment *sg = &m->segs[seen];
                        if (sg->vaddr != ph.p_vaddr || sg->memsz != ph.p_memsz ||
                            sg->offset != ph.p_offset)
                                return 0;
                }
                seen++;
        }
        return seen == m->nsegs || (m->nsegs == LT_MAX_SEGS && seen > m->nsegs);
}

/* The Dwfl module for record idx, reported on first use; NULL (said once)
 * when its file cannot be used. */
static Dwfl_Module *module_ready(struct lt_symbolizer *s, int idx)
{
        struct mod *ms = &s->mods[idx];
        const struct lt_module_rec *m = &s->t->mods[idx];
        if (ms->state != MOD_UNTRIED)
                return ms->state == MOD_READY ? ms->dm : NULL;
        ms->state = MOD_FAILED;
        if (m->flags & LT_MOD_VDSO)
                return NULL; /* no file behind it */
        if (m->flags & LT_MOD_PATH_CUT) {
                fail(ms, "path cut short in the trace");
                return NULL;
        }
        /* Only regular files: a path that now names a FIFO or a device
         * must not block or feed the ELF reader forever. */
        struct stat st;
        if (!m->path[0] || stat(m->path, &st) < 0 || access(m->path, R_OK) < 0) {
                fail(ms, "cannot open (%s)", strerror(m->path[0] ? errno : ENOENT));
                return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
                fail(ms, "not a regular file");
                return NULL;
        }
        trim_others(s);
        Dwfl_Module *dm = report(s, idx);
        if (!dm) {
                fail(ms, "cannot read (%s)", dwfl_errmsg(-1));
                return NULL;
        }
        const unsigned char *bits;
        GElf_Addr vaddr;
        int len = dwfl_module_build_id(dm, &bits, &vaddr);
        if (m->build_id_len) {
                if (len != m->build_id_len || memcmp(bits, m->build_id, m->build_id_len)) {
                        fail(ms, "the file on disk is not the one traced (build-id differs)");
                        return NULL;
                }
        } else if (!segments_match(dm, m)) {
                fail(ms, "the file on disk is not the one traced (segments differ)");
                return NULL;
        }
        if (!(ms->ix = lt_modindex_new(dm))) {
                fail(ms, "out of memory");
                return NULL;
        }
        ms->state = MOD_READY;
        ms->dm = dm;
        return dm;
}

/* What node's perf map says of return address ADDR, which no module
 * explains. Returns 0 with *CODE, -ENOENT, or -ENOMEM. */
static int perf_code(struct lt_symbolizer *s, uint64_t addr, const struct lt_pm_code **code)
{
        if (!s->perfmap_read) {
                trim_others(s);
                s->perfmap_read = true;
                s->perfmap = lt_perfmap_of_trace(s->t);
                if (s->maps_kept)
                        goto find;
                s->maps_kept = true;
                /* Before any JS frame is placed: the maps node kept. */
                size_t n = strlen(s->t->path);
                char *kept = NULL;
                if (n > 3 && !strcmp(s->t->path + n - 3, ".lt") &&
                    asprintf(&kept, "%.*s.maps.json", (int)(n - 3), s->t->path) < 0)
                        return -ENOMEM;
                int err = kept ? lt_srcmap_keep(kept) : 0;
                free(kept);
                if (err)
                        return err;
        }
find:
        /* A return address, as for native frames: the call is before it. */
        return addr ? lt_perfmap_find(s->perfmap, addr - 1, code) : -ENOENT;
}

/* A JS frame at the source its script's map names (sourcemap.h), when it
 * has one, under the name the map gives its function. Returns 0 or
 * -ENOMEM. */
static int map_js(const struct lt_symbolizer *s, struct lt_frame_info *f)
{
        if (!f->file)
                return 0;
        /* Its name first, from where node placed it: a minifier's "t". */
        const char *was =
            lt_srcmap_function(f->file, f->line, f->column, f->function, s->t->hdr.start_ns);
        if (was && strcmp(was, f->function)) {
                char *name = strdup(was);
                if (!name)
                        return -ENOMEM;
                free((char *)f->function);
                f->function = name;
        }
        int r = lt_srcmap_apply((char **)&f->file, &f->line, &f->column, (char **)&f->gen_file,
                                &f->gen_line, &f->gen_column, s->t->hdr.start_ns);
        return r < 0 ? r : 0;
}

static int resolve(struct lt_symbolizer *s, int mod, uint64_t addr, struct lt_addr_info *info)
{
        if (mod < 0) {
                const struct lt_pm_code *code;
                int err = perf_code(s, addr, &code);
                if (!err) {
                        if ((err = lt_addrinfo_fill_code(code, info)) < 0)
                                return err;
                        return code->name.kind == LT_CODE_JS ? map_js(s, &info->frames[0]) : 0;
                }
                if (err != -ENOENT)
                        return err;
        }
        if (mod >= 0 && s->mods[mod].orig >= 0) { /* the same code, where its object has it */
                const struct lt_module_rec *a = &s->t->mods[mod];
                addr = addr - a->bias + s->t->mods[s->mods[mod].orig].bias;
                mod = (int)s->mods[mod].orig;
        }
        Dwfl_Module *dm = mod >= 0 ? module_ready(s, mod) : NULL;
        return lt_addrinfo_fill(dm, dm ? s->mods[mod].ix : NULL, addr, info);
}

int lt_sym_js_function(struct lt_symbolizer *s, uint64_t addr, uint32_t *id)
{
        const struct lt_pm_code *code;
        int err = perf_code(s, addr, &code);
        *id = err ? 0 : code->js_id;
        return err == -ENOMEM ? err : 0;
}

int lt_sym_js_owner(struct lt_symbolizer *s, uint64_t addr)
{
        static const char tail[] = "/node/leaktrace.js";
        const struct lt_pm_code *code;
        int err = perf_code(s, addr, &code);
        if (err)
                return err == -ENOMEM ? err : LT_JS_NOT_APP;
        const char *script = code->name.kind == LT_CODE_JS ? code->name.script : NULL;
        if (!script || !strncmp(script, "node:", 5))
                return LT_JS_NOT_APP;
        size_t n = strlen(script);
        if (n >= sizeof(tail) - 1 && !strcmp(script + n - (sizeof(tail) - 1), tail))
                return LT_JS_TRACER;
        return LT_JS_APP;
}

const struct lt_addr_info *lt_sym_lookup(struct lt_symbolizer *s, int mod, uint64_t addr,
                                         bool shown)
{
        if (shown && mod >= 0)
                warn_once(s, mod);
        struct cache_key key;
        memset(&key, 0, sizeof(key));
        key.mod = mod;
        key.addr = addr;
        struct cache_entry *e;
        HASH_FIND(hh, s->cache, &key, sizeof(key), e);
        if (e)
                return &e->info;
        if (!(e = calloc(1, sizeof(*e))))
                return NULL;
        e->key = key;
        if (resolve(s, mod, addr, &e->info) < 0) {
                lt_addrinfo_clear(&e->info);
                free(e);
                return NULL;
        }
        HASH_ADD(hh, s->cache, key, sizeof(key), e);
        if (shown && mod >= 0)
                warn_once(s, mod);
        return &e->info;
}
