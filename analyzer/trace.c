/* Reading a trace file: read() it whole (a live process may still be
 * writing, and a mapping could change or shrink under us), check every
 * field the analyzer relies on, and copy each section out of its chunks into
 * one array. The first problem found is the one reported. */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const section_name[LT_SEC__COUNT] = {
#define LT_X_NAME(K, name, type) [LT_SEC_##K] = name,
    LT_SECTIONS(LT_X_NAME)
#undef LT_X_NAME
};

static const uint32_t section_rec_size[LT_SEC__COUNT] = {
#define LT_X_SIZE(K, name, type) [LT_SEC_##K] = sizeof(type),
    LT_SECTIONS(LT_X_SIZE)
#undef LT_X_SIZE
};

struct loader {
        const unsigned char *buf;
        size_t size;
        char *why;
        size_t why_len;
        const struct lt_header *h;      /* the file's, in buf: once check_header() passed */
        const struct lt_layout *layout; /* its version's */
};

__attribute__((format(printf, 2, 3))) static int bad(struct loader *l, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->why, l->why_len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int nomem(struct loader *l)
{
        snprintf(l->why, l->why_len, "out of memory");
        return -ENOMEM;
}

/* The whole file, to EOF rather than to the size fstat() saw: a process
 * that is still running appends chunks, and every chunk the header we read
 * lists was reserved on disk before it was listed. */
static int read_all(const char *path, unsigned char **out, size_t *out_size, char *why,
                    size_t why_len)
{
        /* O_NONBLOCK: a FIFO named *.lt must not hold the command until a
         * writer comes (it is said not to be a regular file below). */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                int err = -errno;
                snprintf(why, why_len, "cannot open: %s", strerror(-err));
                return err;
        }
        struct stat st;
        int err = fstat(fd, &st) < 0 ? -errno : 0;
        if (err || !S_ISREG(st.st_mode)) {
                if (err)
                        snprintf(why, why_len, "cannot read: %s", strerror(-err));
                else if (S_ISDIR(st.st_mode))
                        snprintf(why, why_len, "is a directory, not a trace file (name its *.lt files)");
                else
                        snprintf(why, why_len, "not a regular file");
                close(fd);
                return err ? err : S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        }
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, size = 0;
        unsigned char *buf = malloc(cap);
        while (buf) {
                if (size == cap) {
                        unsigned char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
                        if (!nb) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = nb;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + size, cap - size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        err = -errno;
                        snprintf(why, why_len, "cannot read: %s", strerror(-err));
                        break;
                }
                if (n == 0)
                        break;
                size += (size_t)n;
        }
        close(fd);
        if (!buf && !err) {
                snprintf(why, why_len, "out of memory reading the file");
                err = -ENOMEM;
        }
        if (err) {
                free(buf);
                return err;
        }
        *out = buf;
        *out_size = size;
        return 0;
}

static int check_header(struct loader *l, const struct lt_header *h)
{
        if (l->size == 0)
                return bad(l, "empty file, not a leaktrace trace");
        if (l->size < LT_MAGIC_LEN || memcmp(l->buf, LT_MAGIC, LT_MAGIC_LEN))
                return bad(l, "not a leaktrace trace (wrong magic)");
        /* The version before the sizes: a later format may have others. */
        uint32_t version = 0;
        if (l->size < offsetof(struct lt_header, version) + sizeof(version))
                return bad(l, "truncated: %zu bytes, shorter than the header", l->size);
        memcpy(&version, l->buf + offsetof(struct lt_header, version), sizeof(version));
        if (version > LT_VERSION)
                return bad(l,
                           "written by a newer leaktrace (format %" PRIu32
                           "); this one reads formats 1 to %d",
                           version, LT_VERSION);
        const struct lt_layout *lay = lt_layout_of(version);
        if (!lay)
                return bad(l, "unknown format version %" PRIu32, version);
        if (l->size < lay->header_size)
                return bad(l, "truncated: %zu bytes, shorter than the %" PRIu32 "-byte header",
                           l->size, lay->header_size);
        if (h->header_size != lay->header_size)
                return bad(l, "header size %" PRIu32 ", format %" PRIu32 " has %" PRIu32,
                           h->header_size, version, lay->header_size);
        if (h->file_size < lay->header_size)
                return bad(l,
                           "the header gives a file size of %" PRIu64
                           " bytes, smaller than the header itself",
                           h->file_size);
        if (h->file_size > l->size)
                return bad(l, "truncated: the header says %" PRIu64 " bytes, the file has %zu",
                           h->file_size, l->size);
        if (h->cmdline_len > LT_CMDLINE_MAX)
                return bad(l, "command line length %" PRIu32 " exceeds %d", h->cmdline_len,
                           LT_CMDLINE_MAX);
        if (!memchr(h->exe, '\0', sizeof(h->exe)))
                return bad(l, "executable path not NUL-terminated");
        l->h = (const struct lt_header *)l->buf;
        l->layout = lay;
        return 0;
}

/* Bytes of chunk c of a section, or 0 when that does not fit in 64 bits. */
static uint64_t chunk_bytes(const struct loader *l, const struct lt_section *s, unsigned c)
{
        uint64_t recs = lt_chunk_recs(c, s->base, l->layout->chunk_lg), bytes;
        if (__builtin_mul_overflow(recs, (uint64_t)s->rec_size, &bytes))
                return 0;
        return bytes;
}

static int check_section(struct loader *l, unsigned k)
{
        const struct lt_section *s = &l->h->sections[k];
        const char *name = section_name[k];
        if (s->kind == LT_SEC_NONE)
                return 0; /* never set up: read as empty */
        if (s->kind != k)
                return bad(l, "section slot %u (%s) holds kind %" PRIu32, k, name, s->kind);
        if (s->rec_size != section_rec_size[k])
                return bad(l, "%s section: record size %" PRIu32 ", expected %" PRIu32, name,
                           s->rec_size, section_rec_size[k]);
        if (s->base == 0 || (s->base & (s->base - 1)))
                return bad(l, "%s section: chunk size %" PRIu32 " is not a power of two", name,
                           s->base);
        if (s->nchunks > l->layout->max_chunks)
                return bad(l, "%s section: %" PRIu32 " chunks, at most %u in format %" PRIu32, name,
                           s->nchunks, l->layout->max_chunks, l->h->version);
        /* < 2^63: no overflow */
        uint64_t capacity = lt_chunk_start(s->nchunks, s->base, l->layout->chunk_lg);
        if (s->count > capacity)
                return bad(l, "%s section: %" PRIu64 " records, but its chunks hold %" PRIu64, name,
                           s->count, capacity);
        for (unsigned c = 0; c < s->nchunks; c++) {
                uint64_t off = lt_chunk_off(l->h, k, c), bytes = chunk_bytes(l, s, c), end;
                if (!bytes || __builtin_add_overflow(off, bytes, &end) ||
                    off < l->layout->header_size || end > l->size)
                        return bad(l,
                                   "%s section: chunk %u (offset %" PRIu64 ", %" PRIu64
                                   " bytes) lies outside the file of %zu bytes",
                                   name, c, off, bytes, l->size);
        }
        return 0;
}

/* Chunks may not share bytes: copying them out then costs at most the size
 * of the file, whatever their counts claim. */
static int check_overlaps(struct loader *l)
{
        const struct lt_header *h = l->h;
        for (unsigned k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *s = &h->sections[k];
                for (unsigned c = 0; s->kind && c < s->nchunks; c++) {
                        uint64_t lo = lt_chunk_off(h, k, c), hi = lo + chunk_bytes(l, s, c);
                        for (unsigned k2 = k; k2 < LT_SEC__COUNT; k2++) {
                                const struct lt_section *s2 = &h->sections[k2];
                                for (unsigned c2 = k2 == k ? c + 1 : 0;
                                     s2->kind && c2 < s2->nchunks; c2++) {
                                        uint64_t lo2 = lt_chunk_off(h, k2, c2);
                                        uint64_t hi2 = lo2 + chunk_bytes(l, s2, c2);
                                        if (lo < hi2 && lo2 < hi)
                                                return bad(l, "%s chunk %u and %s chunk %u overlap",
                                                           section_name[k], c, section_name[k2],
                                                           c2);
                                }
                        }
                }
        }
        return 0;
}

/* Copies records [0, count) of a section into one new array. */
static int flatten(struct loader *l, unsigned k, void **out, uint64_t *n)
{
        const struct lt_section *s = &l->h->sections[k];
        unsigned lg = l->layout->chunk_lg;
        *out = NULL;
        *n = 0;
        if (s->kind == LT_SEC_NONE || s->count == 0)
                return 0;
        uint64_t total;
        if (__builtin_mul_overflow(s->count, (uint64_t)s->rec_size, &total) || total > SIZE_MAX)
                return nomem(l);
        unsigned char *dst = malloc((size_t)total);
        if (!dst)
                return nomem(l);
        for (unsigned c = 0; c < s->nchunks; c++) {
                uint64_t first = lt_chunk_start(c, s->base, lg);
                if (first >= s->count)
                        break;
                uint64_t recs = lt_chunk_recs(c, s->base, lg);
                if (recs > s->count - first)
                        recs = s->count - first;
                memcpy(dst + first * s->rec_size, l->buf + lt_chunk_off(l->h, k, c),
                       recs * s->rec_size);
        }
        *out = dst;
        *n = s->count;
        return 0;
}

static int check_stacks(struct loader *l, const struct lt_trace *t)
{
        uint32_t fbase = t->hdr.sections[LT_SEC_FRAMES].base;
        unsigned lg = l->layout->chunk_lg;
        for (uint64_t i = 0; i < t->nstacks; i++) {
                const struct lt_stack_rec *r = &t->stacks[i];
                uint64_t end;
                if (r->depth > LT_MAX_DEPTH)
                        return bad(l, "stack %" PRIu64 ": depth %u exceeds %d", i, r->depth,
                                   LT_MAX_DEPTH);
                if (r->depth == 0)
                        continue;
                if (__builtin_add_overflow(r->frames, (uint64_t)r->depth, &end) || end > t->nframes)
                        return bad(l,
                                   "stack %" PRIu64 ": frames %" PRIu64 "..%" PRIu64
                                   " lie outside the %" PRIu64 " frames recorded",
                                   i, r->frames, r->frames + r->depth, t->nframes);
                uint64_t within;
                if (lt_chunk_of(r->frames, fbase, lg, &within) !=
                    lt_chunk_of(end - 1, fbase, lg, &within))
                        return bad(l, "stack %" PRIu64 ": its frames straddle a chunk boundary", i);
        }
        return 0;
}

static int check_modules(struct loader *l, const struct lt_trace *t)
{
        for (uint64_t i = 0; i < t->nmods; i++) {
                const struct lt_module_rec *m = &t->mods[i];
                const char *nul = memchr(m->path, '\0', sizeof(m->path));
                if (!nul)
                        return bad(l, "module %" PRIu64 ": path not NUL-terminated", i);
                if (m->path_len != (size_t)(nul - m->path))
                        return bad(l, "module %" PRIu64 ": path length %u, but the path has %zu", i,
                                   m->path_len, (size_t)(nul - m->path));
                if (m->build_id_len > sizeof(m->build_id))
                        return bad(l, "module %" PRIu64 ": build-id of %u bytes, at most %zu", i,
                                   m->build_id_len, sizeof(m->build_id));
                if (m->nsegs > LT_MAX_SEGS)
                        return bad(l, "module %" PRIu64 ": %" PRIu32 " segments, at most %d", i,
                                   m->nsegs, LT_MAX_SEGS);
                if (m->lo > m->hi)
                        return bad(l, "module %" PRIu64 ": its range ends before it starts", i);
        }
        return 0;
}

/* Timers: each live one names a site of its own kind, each site a stack
 * recorded (0: inherited across exec, no stack). Ended slots are not read. */
static int check_timers(struct loader *l, const struct lt_trace *t)
{
        for (uint64_t i = 0; i < t->ntimer_sites; i++) {
                const struct lt_timer_site_rec *s = &t->timer_sites[i];
                if (s->kind == LT_TIMER_NONE || s->kind >= LT_TIMER_JS)
                        return bad(l, "timer site %" PRIu64 ": unknown kind %u", i, s->kind);
                if (s->stack > t->nstacks)
                        return bad(l,
                                   "timer site %" PRIu64 ": stack %" PRIu32 " beyond the %" PRIu64
                                   " recorded",
                                   i, s->stack, t->nstacks);
        }
        for (uint64_t i = 0; i < t->ntimers; i++) {
                const struct lt_timer_rec *r = &t->timers[i];
                if (r->state == LT_TIMER_FREE)
                        continue;
                if (r->state != LT_TIMER_LIVE)
                        return bad(l, "timer %" PRIu64 ": unknown state %" PRIu32, i, r->state);
                if (r->kind == LT_TIMER_NONE || r->kind >= LT_TIMER_JS)
                        return bad(l, "timer %" PRIu64 ": unknown kind %u", i, r->kind);
                if (r->site >= t->ntimer_sites)
                        return bad(l,
                                   "timer %" PRIu64 ": site %" PRIu32 " beyond the %" PRIu64
                                   " timer sites",
                                   i, r->site, t->ntimer_sites);
                if (t->timer_sites[r->site].kind != r->kind)
                        return bad(l, "timer %" PRIu64 ": kind %u, but its site's is %u", i,
                                   r->kind, t->timer_sites[r->site].kind);
                if (r->arm_stack > t->nstacks)
                        return bad(l,
                                   "timer %" PRIu64 ": arming stack %" PRIu32 " beyond the %" PRIu64
                                   " recorded",
                                   i, r->arm_stack, t->nstacks);
        }
        return 0;
}

/* History, snapshots and mapping sites: every stack id they name is one
 * recorded, every mapping history a mapping site, every snapshot's values
 * inside the values section. A snapshot's values are published before the
 * snapshot itself, so values beyond the last snapshot are not an error. */
static int check_history(struct loader *l, const struct lt_trace *t)
{
        for (uint64_t i = 0; i < t->nmap_sites; i++)
                if (t->map_sites[i].stack > t->nstacks)
                        return bad(l,
                                   "mapping site %" PRIu64 ": stack %" PRIu32 " beyond the %" PRIu64
                                   " recorded",
                                   i, t->map_sites[i].stack, t->nstacks);
        for (uint64_t i = 0; i < t->nhist; i++) {
                uint32_t key = t->hist[i].stack;
                if (key & LT_HIST_MAPPING ? (key & ~LT_HIST_MAPPING) >= t->nmap_sites
                                          : key == 0 || key > t->nstacks)
                        return bad(l, "history %" PRIu64 ": %s %" PRIu32 " not recorded", i,
                                   key & LT_HIST_MAPPING ? "mapping site" : "stack",
                                   key & ~LT_HIST_MAPPING);
        }
        for (uint64_t i = 0; i < t->nsnapvals; i++)
                if (t->snapvals[i].stack == 0 || t->snapvals[i].stack > t->nstacks)
                        return bad(l, "snapshot value %" PRIu64 ": stack %" PRIu32 " not recorded",
                                   i, t->snapvals[i].stack);
        for (uint64_t i = 0; i < t->nsnaps; i++) {
                const struct lt_snapshot_rec *s = &t->snaps[i];
                uint64_t end;
                if (__builtin_add_overflow(s->first_val, (uint64_t)s->nvals, &end) ||
                    end > t->nsnapvals)
                        return bad(l,
                                   "snapshot %" PRIu64 ": values %" PRIu64 "..%" PRIu64
                                   " lie outside the %" PRIu64 " recorded",
                                   i + 1, s->first_val, s->first_val + s->nvals, t->nsnapvals);
                if (!memchr(s->name, '\0', sizeof(s->name)))
                        return bad(l, "snapshot %" PRIu64 ": name not NUL-terminated", i + 1);
        }
        return 0;
}

/* argv from the header's NUL-separated command line. */
static int split_cmdline(struct loader *l, struct lt_trace *t)
{
        size_t len = t->hdr.cmdline_len;
        char *copy = malloc(len + 1);
        char **argv = calloc(len + 1, sizeof(char *)); /* pieces <= bytes */
        if (!copy || !argv) {
                free(copy);
                free(argv);
                return nomem(l);
        }
        memcpy(copy, t->hdr.cmdline, len);
        copy[len] = '\0';
        unsigned argc = 0;
        for (size_t i = 0; i < len; i += strlen(copy + i) + 1)
                argv[argc++] = copy + i;
        if (!argc)
                free(copy);
        t->argv = argv;
        t->argc = argc;
        return 0;
}

int lt_trace_load(const char *path, struct lt_trace *t, char *why, size_t why_len)
{
        struct loader l = {.why = why, .why_len = why_len};
        unsigned char *buf = NULL;
        void *p;
        memset(t, 0, sizeof(*t));
        int err = read_all(path, &buf, &l.size, why, why_len);
        if (err)
                return err;
        l.buf = buf;
        if (l.size >= sizeof(t->hdr))
                memcpy(&t->hdr, buf, sizeof(t->hdr));
        err = check_header(&l, &t->hdr);
        for (unsigned k = 1; k < LT_SEC__COUNT && !err; k++)
                err = check_section(&l, k);
        if (!err)
                err = check_overlaps(&l);
        if (!err && !(err = flatten(&l, LT_SEC_STACKS, &p, &t->nstacks)))
                t->stacks = p;
        if (!err && !(err = flatten(&l, LT_SEC_FRAMES, &p, &t->nframes)))
                t->frames = p;
        if (!err && !(err = flatten(&l, LT_SEC_MODULES, &p, &t->nmods)))
                t->mods = p;
        if (!err && !(err = flatten(&l, LT_SEC_TIMERS, &p, &t->ntimers)))
                t->timers = p;
        if (!err && !(err = flatten(&l, LT_SEC_TIMER_SITES, &p, &t->ntimer_sites)))
                t->timer_sites = p;
        if (!err && !(err = flatten(&l, LT_SEC_TIMELINE, &p, &t->nticks)))
                t->ticks = p;
        if (!err && !(err = flatten(&l, LT_SEC_HISTORY, &p, &t->nhist)))
                t->hist = p;
        if (!err && !(err = flatten(&l, LT_SEC_SNAPSHOTS, &p, &t->nsnaps)))
                t->snaps = p;
        if (!err && !(err = flatten(&l, LT_SEC_SNAPVALS, &p, &t->nsnapvals)))
                t->snapvals = p;
        if (!err && !(err = flatten(&l, LT_SEC_MAP_SITES, &p, &t->nmap_sites)))
                t->map_sites = p;
        if (!err)
                err = check_stacks(&l, t);
        if (!err)
                err = check_modules(&l, t);
        if (!err)
                err = check_timers(&l, t);
        if (!err)
                err = check_history(&l, t);
        if (!err)
                err = split_cmdline(&l, t);
        if (!err && !(t->path = strdup(path)))
                err = nomem(&l);
        free(buf);
        if (err)
                lt_trace_free(t);
        return err;
}

void lt_trace_free(struct lt_trace *t)
{
        if (t->argc)
                free(t->argv[0]);
        free(t->argv);
        free(t->stacks);
        free(t->frames);
        free(t->mods);
        free(t->timers);
        free(t->timer_sites);
        free(t->ticks);
        free(t->hist);
        free(t->snaps);
        free(t->snapvals);
        free(t->map_sites);
        free(t->path);
        memset(t, 0, sizeof(*t));
}

int lt_trace_peek(const char *path, struct lt_header *h)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        ssize_t n = pread(fd, h, sizeof(*h), 0);
        int err = n < 0 ? -errno : 0;
        close(fd);
        if (!err && ((size_t)n < sizeof(*h) || memcmp(h->magic, LT_MAGIC, LT_MAGIC_LEN)))
                err = -EINVAL;
        return err;
}

unsigned long long lt_start_time_of(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return 0;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return lt_stat_start_time(buf);
}

enum lt_end lt_trace_end(const struct lt_header *h)
{
        if ((h->flags & LT_F_ATTACHED) && (h->flags & LT_F_COMPLETE) &&
            h->history.state == LT_STATE_OFF)
                return LT_END_DETACHED;
        if (h->flags & LT_F_COMPLETE)
                return h->flags & LT_F_STATUS ? LT_END_STATUS : LT_END_EXITED;
        if (h->flags & LT_F_EXEC)
                return LT_END_EXEC;
        if (h->flags & LT_F_EXITED)
                return LT_END_UNSEEN;
        if (h->flags & LT_F_SIGNALED)
                return LT_END_SIGNALED;
        return lt_still_running(h) ? LT_END_RUNNING : LT_END_UNCLEAN;
}

const char *lt_ending(const struct lt_header *h, char *buf, size_t len)
{
        switch (lt_trace_end(h)) {
        case LT_END_DETACHED:
                snprintf(buf, len, "attached, then detached");
                break;
        case LT_END_STATUS:
                snprintf(buf, len, "exit status %" PRIu32, h->exit_status);
                break;
        case LT_END_EXITED:
                snprintf(buf, len, "exited");
                break;
        case LT_END_EXEC:
                snprintf(buf, len, "%s", h->flags & LT_F_EXEC_UNTRACED
                                             ? "replaced by exec, by an image not traced"
                                             : "replaced by exec");
                break;
        case LT_END_UNSEEN:
                snprintf(buf, len, "exit status %" PRIu32 " (unseen: figures as of its last update)",
                         h->exit_status);
                break;
        case LT_END_SIGNALED: {
                char sig[32];
                snprintf(buf, len, "killed by signal %" PRIu32 " (%s)", h->exit_status,
                         lt_signal_name((int)h->exit_status, sig, sizeof(sig)));
                break;
        }
        case LT_END_RUNNING:
                snprintf(buf, len, "still running");
                break;
        case LT_END_UNCLEAN:
                snprintf(buf, len, "did not exit cleanly");
                break;
        }
        return buf;
}

const char *lt_signal_name(int sig, char *buf, size_t len)
{
        const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
        if (abbrev)
                snprintf(buf, len, "SIG%s", abbrev);
        else if (sig == SIGRTMIN)
                snprintf(buf, len, "SIGRTMIN");
        else if (sig > SIGRTMIN && sig < SIGRTMAX)
                snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
        else if (sig == SIGRTMAX)
                snprintf(buf, len, "SIGRTMAX");
        else
                snprintf(buf, len, "signal %d", sig);
        return buf;
}
