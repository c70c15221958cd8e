/* The synthetic trace writer. See synth.h. */
#define _GNU_SOURCE
#include "synth.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void synth_init(struct synth *s, uint32_t pid, int argc, const char *const *argv)
{
        memset(s, 0, sizeof(*s));
        struct lt_header *h = &s->hdr;
        memcpy(h->magic, LT_MAGIC, LT_MAGIC_LEN);
        h->version = LT_VERSION;
        h->header_size = LT_HEADER_SIZE;
        h->flags = LT_F_COMPLETE;
        h->pid = pid;
        h->ppid = 1;
        h->depth = 64;
        h->start_ns = 1700000000000000000ull;
        h->update_ns = h->end_ns = h->start_ns + 1000000000ull;
        h->mod_gen = 1;
        size_t used = 0;
        for (int i = 0; i < argc; i++) {
                size_t n = strlen(argv[i]) + 1;
                if (used + n > LT_CMDLINE_MAX)
                        break;
                memcpy(h->cmdline + used, argv[i], n);
                used += n;
                h->argc++;
        }
        h->cmdline_len = (uint32_t)used;
        ssize_t n = readlink("/proc/self/exe", h->exe, LT_PATH_MAX - 1);
        h->exe[n > 0 ? n : 0] = '\0';
        s->base[LT_SEC_STACKS] = 4;
        s->base[LT_SEC_FRAMES] = 16;
        s->base[LT_SEC_MODULES] = 2;
        s->base[LT_SEC_TIMERS] = 2;
        s->base[LT_SEC_TIMER_SITES] = 2;
        s->align = 8;
}

void synth_free(struct synth *s)
{
        free(s->stacks);
        free(s->frames);
        free(s->mods);
        free(s->timers);
        free(s->timer_sites);
        for (int k = 0; k < LT_SEC__COUNT; k++)
                free(s->recs[k]);
        memset(s, 0, sizeof(*s));
}

int synth_add_module(struct synth *s, const struct lt_module_rec *m)
{
        struct lt_module_rec *mods = realloc(s->mods, (s->nmods + 1) * sizeof(*mods));
        if (!mods)
                return -ENOMEM;
        s->mods = mods;
        mods[s->nmods] = *m;
        return (int)s->nmods++;
}

static int self_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
        struct lt_module_rec *m = arg;
        (void)size;
        m->bias = info->dlpi_addr;
        m->lo = UINT64_MAX;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_LOAD) {
                        uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
                        m->lo = lo < m->lo ? lo : m->lo;
                        m->hi = hi > m->hi ? hi : m->hi;
                        if (m->nsegs < LT_MAX_SEGS) {
                                struct lt_segment *sg = &m->segs[m->nsegs++];
                                sg->vaddr = ph->p_vaddr;
                                sg->memsz = ph->p_memsz;
                                sg->pflags = ph->p_flags;
                                sg->offset = ph->p_offset;
                        }
                } else if (ph->p_type == PT_NOTE) {
                        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
                        const char *end = p + ph->p_memsz;
                        while (p + sizeof(ElfW(Nhdr)) <= end) {
                                const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
                                const char *name = p + sizeof(*n);
                                const char *desc = name + ((n->n_namesz + 3) & ~3u);
                                if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                                    !memcmp(name, "GNU", 4) && n->n_descsz <= sizeof(m->build_id)) {
                                        memcpy(m->build_id, desc, n->n_descsz);
                                        m->build_id_len = (uint16_t)n->n_descsz;
                                }
                                p = desc + ((n->n_descsz + 3) & ~3u);
                        }
                }
        }
        return 1; /* the executable comes first */
}

int synth_self_module(struct lt_module_rec *m)
{
        memset(m, 0, sizeof(*m));
        dl_iterate_phdr(self_phdr, m);
        ssize_t n = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -ENOENT;
        m->path[n] = '\0';
        m->path_len = (uint16_t)n;
        m->flags = LT_MOD_MAIN;
        m->gen_loaded = 1;
        m->gen_unloaded = LT_MOD_LOADED;
        return 0;
}

static unsigned chunk_lg(const struct synth *s)
{
        const struct lt_layout *lay = lt_layout_of(s->hdr.version);
        return lay ? lay->chunk_lg : LT_CHUNK_LG;
}

/* Appends DEPTH frames where the preload would put them: never across a
 * chunk boundary. Returns 0 with *at their index, or -ENOMEM. */
static int place_frames(struct synth *s, const uint64_t *frames, unsigned depth, uint64_t *at)
{
        uint32_t base = s->base[LT_SEC_FRAMES];
        unsigned lg = chunk_lg(s);
        uint64_t i = s->nframes;
        if (depth) {
                /* Into the next chunk big enough: with chunks smaller
                 * than a stack, several may be skipped. */
                uint64_t within;
                unsigned k = lt_chunk_of(i, base, lg, &within);
                while (within + depth > lt_chunk_recs(k, base, lg)) {
                        i = lt_chunk_start(++k, base, lg);
                        within = 0;
                }
        }
        uint64_t *f = realloc(s->frames, (i + depth + 1) * sizeof(*f));
        if (!f)
                return -ENOMEM;
        s->frames = f;
        memset(f + s->nframes, 0, (i - s->nframes) * sizeof(*f));
        if (depth)
                memcpy(f + i, frames, depth * sizeof(*f));
        s->nframes = i + depth;
        *at = i;
        return 0;
}

int synth_set_version(struct synth *s, uint32_t version)
{
        if (!lt_layout_of(version))
                return -EINVAL;
        s->hdr.version = version;
        uint64_t *old = s->frames;
        s->frames = NULL;
        s->nframes = 0;
        int err = 0;
        for (size_t i = 0; i < s->nstacks && !err; i++) {
                struct lt_stack_rec *r = &s->stacks[i];
                uint64_t at;
                err = place_frames(s, old + r->frames, r->depth, &at);
                if (r->depth)
                        r->frames = at;
        }
        free(old);
        return err;
}

int synth_add_stack(struct synth *s, const uint64_t *frames, unsigned depth, uint32_t mod_gen,
                    int64_t live_bytes, int64_t live_blocks, uint64_t allocs,
                    uint64_t bytes_allocated)
{
        uint64_t at;
        if (place_frames(s, frames, depth, &at) < 0)
                return -ENOMEM;

        struct lt_stack_rec *st = realloc(s->stacks, (s->nstacks + 1) * sizeof(*st));
        if (!st)
                return -ENOMEM;
        s->stacks = st;
        struct lt_stack_rec *r = &st[s->nstacks];
        memset(r, 0, sizeof(*r));
        r->hash = 0x9e3779b97f4a7c15ull * (s->nstacks + 1);
        r->frames = depth ? at : 0;
        r->depth = (uint16_t)depth;
        r->mod_gen = mod_gen;
        r->live_bytes = live_bytes;
        r->live_blocks = live_blocks;
        r->allocs = allocs;
        r->bytes_allocated = bytes_allocated;
        r->peak_live_bytes = live_bytes;
        return (int)s->nstacks++;
}

int synth_add_timer_site(struct synth *s, uint32_t stack, unsigned kind, int64_t live,
                         uint64_t created)
{
        struct lt_timer_site_rec *t = realloc(s->timer_sites, (s->ntimer_sites + 1) * sizeof(*t));
        if (!t)
                return -ENOMEM;
        s->timer_sites = t;
        memset(&t[s->ntimer_sites], 0, sizeof(*t));
        t[s->ntimer_sites].stack = stack;
        t[s->ntimer_sites].kind = (uint8_t)kind;
        t[s->ntimer_sites].live = live;
        t[s->ntimer_sites].created = created;
        return (int)s->ntimer_sites++;
}

int synth_add_timer(struct synth *s, const struct lt_timer_rec *r)
{
        struct lt_timer_rec *t = realloc(s->timers, (s->ntimers + 1) * sizeof(*t));
        if (!t)
                return -ENOMEM;
        s->timers = t;
        t[s->ntimers] = *r;
        return (int)s->ntimers++;
}

int synth_set_records(struct synth *s, enum lt_section_kind kind, const void *recs, size_t n)
{
        static const uint32_t rec_size[LT_SEC__COUNT] = {
#define LT_X_SIZE(K, name, type) [LT_SEC_##K] = sizeof(type),
            LT_SECTIONS(LT_X_SIZE)
#undef LT_X_SIZE
        };
        void *copy = n ? malloc(n * rec_size[kind]) : NULL;
        if (n && !copy)
                return -ENOMEM;
        if (n)
                memcpy(copy, recs, n * rec_size[kind]);
        free(s->recs[kind]);
        s->recs[kind] = copy;
        s->nrecs[kind] = n;
        return 0;
}

static unsigned chunks_for(uint64_t count, uint32_t base, unsigned lg)
{
        unsigned k = 1;
        while (lt_chunk_start(k, base, lg) < count)
                k++;
        return k;
}

int synth_build(struct synth *s, unsigned char **out, size_t *out_len)
{
        struct lt_header *h = &s->hdr;
        static const uint32_t rec_size[LT_SEC__COUNT] = {
#define LT_X_SIZE(K, name, type) [LT_SEC_##K] = sizeof(type),
            LT_SECTIONS(LT_X_SIZE)
#undef LT_X_SIZE
        };
        const void *data[LT_SEC__COUNT] = {[LT_SEC_STACKS] = s->stacks,
                                           [LT_SEC_FRAMES] = s->frames,
                                           [LT_SEC_MODULES] = s->mods,
                                           [LT_SEC_TIMERS] = s->timers,
                                           [LT_SEC_TIMER_SITES] = s->timer_sites};
        uint64_t count[LT_SEC__COUNT] = {[LT_SEC_STACKS] = s->nstacks,
                                         [LT_SEC_FRAMES] = s->nframes,
                                         [LT_SEC_MODULES] = s->nmods,
                                         [LT_SEC_TIMERS] = s->ntimers,
                                         [LT_SEC_TIMER_SITES] = s->ntimer_sites};
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                if (!data[k] && s->recs[k]) {
                        data[k] = s->recs[k];
                        count[k] = s->nrecs[k];
                }
        }
        const struct lt_layout *lay = lt_layout_of(h->version);
        if (!lay)
                return -EINVAL;
        h->header_size = lay->header_size;
        unsigned nchunks[LT_SEC__COUNT] = {0};
        uint64_t off[LT_SEC__COUNT][LT_MAX_CHUNKS];
        size_t len = lay->header_size;
        /* Every section the format knows gets a chunk, as the preload gives
         * them at start; only these get records. */
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                struct lt_section *sec = &h->sections[k];
                memset(sec, 0, sizeof(*sec));
                sec->kind = (uint32_t)k;
                sec->rec_size = rec_size[k];
                sec->base = s->base[k] ? s->base[k] : 1;
                sec->count = count[k];
                nchunks[k] = chunks_for(count[k], sec->base, lay->chunk_lg);
                if (nchunks[k] > lay->max_chunks)
                        return -E2BIG;
        }
        /* Chunk c of every section, then chunk c + 1: as a process that
         * grows all its tables at once would leave them. */
        for (unsigned c = 0; c < lay->max_chunks; c++) {
                for (int k = 1; k < LT_SEC__COUNT; k++) {
                        if (c >= nchunks[k])
                                continue;
                        struct lt_section *sec = &h->sections[k];
                        len = (len + s->align - 1) / s->align * s->align;
                        off[k][c] = len;
                        if (c < LT_HEAD_CHUNKS)
                                sec->chunk_off[c] = len;
                        sec->nchunks = c + 1;
                        len += (size_t)rec_size[k] * lt_chunk_recs(c, sec->base, lay->chunk_lg);
                }
        }
        h->file_size = len;
        unsigned char *buf = calloc(1, len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, h, sizeof(*h));
        for (int k = 1; k < LT_SEC__COUNT; k++)
                for (unsigned c = 0; c < nchunks[k]; c++)
                        *lt_chunk_slot((struct lt_header *)buf, (unsigned)k, c) = off[k][c];
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *sec = &h->sections[k];
                for (uint64_t i = 0; i < count[k]; i++) {
                        uint64_t within;
                        unsigned c = lt_chunk_of(i, sec->base, lay->chunk_lg, &within);
                        memcpy(buf + off[k][c] + within * rec_size[k],
                               (const char *)data[k] + i * rec_size[k], rec_size[k]);
                }
        }
        *out = buf;
        *out_len = len;
        return 0;
}

int synth_write_file(const char *path, const void *buf, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        const char *p = buf;
        while (len) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int err = n < 0 ? -errno : -EIO;
                        close(fd);
                        return err;
                }
                p += n;
                len -= (size_t)n;
        }
        return close(fd) < 0 ? -errno : 0;
}

int synth_write(struct synth *s, const char *path)
{
        unsigned char *buf;
        size_t len;
        int err = synth_build(s, &buf, &len);
        if (err)
                return err;
        err = synth_write_file(path, buf, len);
        free(buf);
        return err;
}
