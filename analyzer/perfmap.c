/* Reading node's perf map. Lines become ranges (start, end, where the name
 * is in the file); the ranges are then laid flat, in one pass over their
 * ends with a heap of the lines open at each point, into disjoint segments
 * each owned by the latest line covering it: V8 frees code and makes other
 * code where it was, and says so only by a later line. A name is read back
 * with pread() and parsed the first time a frame falls in its range. */
#define _GNU_SOURCE
#include "perfmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "leaktrace/format.h"
#include "leaktrace/node_exe.h"
#include "paths.h"

#define NO_ENTRY UINT32_MAX
#define READ_CHUNK (64u << 10)

struct entry {
        uint64_t start, end;
        uint64_t name; /* file offset << 16 | length */
};

struct code_cache {
        uint32_t entry;
        struct lt_pm_code code;
        UT_hash_handle hh;
};

struct js_fn {
        char *key; /* name, script, line and column */
        uint32_t id;
        UT_hash_handle hh;
};

struct lt_perfmap {
        int fd;
        struct entry *ents;
        uint32_t nents;
        uint64_t *seg_start; /* segment i is [seg_start[i], seg_start[i + 1]) */
        uint32_t *seg_entry; /* its line, or NO_ENTRY for a gap */
        uint32_t nsegs;
        struct code_cache *cache;
        struct js_fn *fns;
        uint32_t nfns;
};

static const struct {
        const char *name;
        char mark;
} tiers[] = {
#define LT_X_TIER(K, name, mark) [LT_TIER_##K] = {name, mark},
    LT_JS_TIERS(LT_X_TIER)
#undef LT_X_TIER
};

const char *lt_js_tier_name(unsigned tier)
{
        return tier < sizeof(tiers) / sizeof(tiers[0]) ? tiers[tier].name : NULL;
}

/* ---- names ---- */

/* The tags V8 puts before the name of JS code, in this and older nodes. */
static const char *const js_tags[] = {"JS", "Eval", "Function", "LazyCompile", "Script"};

static bool is_js_tag(const char *s, size_t len)
{
        for (size_t i = 0; i < sizeof(js_tags) / sizeof(js_tags[0]); i++)
                if (strlen(js_tags[i]) == len && !memcmp(s, js_tags[i], len))
                        return true;
        return false;
}

/* Decimal S[LEN] of 1 to 9 digits into *V. */
static bool parse_dec(const char *s, size_t len, unsigned *v)
{
        if (!len || len > 9)
                return false;
        unsigned x = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                x = x * 10 + (unsigned)(s[i] - '0');
        }
        *v = x;
        return true;
}

/* "SCRIPT:LINE:COLUMN" or "SCRIPT:LINE", or ":LINE:COLUMN" for code
 * eval'd without a name (webpack's eval devtool): the length of SCRIPT
 * into *SCRIPT_LEN (0: that empty one). Returns false when S[LEN] is none
 * of these. */
static bool parse_location(const char *s, size_t len, size_t *script_len, unsigned *line,
                           unsigned *column)
{
        size_t c2 = len;
        while (c2 > 0 && s[c2 - 1] != ':')
                c2--;
        if (!c2)
                return false;
        unsigned a, b;
        if (!parse_dec(s + c2, len - c2, &b))
                return false;
        size_t c1 = c2 - 1;
        while (c1 > 0 && s[c1 - 1] != ':')
                c1--;
        if (c1 > 0 && parse_dec(s + c1, c2 - 1 - c1, &a)) {
                *line = a;
                *column = b;
                *script_len = c1 - 1;
                return true;
        }
        *line = b;
        *column = 0;
        *script_len = c2 - 1;
        return c2 > 1;
}

/* What a script looks like: an absolute path, node:..., or a URL. */
static bool scriptish(const char *s, size_t len)
{
        if (len && s[0] == '/')
                return true;
        if (len >= 5 && !memcmp(s, "node:", 5))
                return true;
        for (size_t i = 0; i + 2 < len && i < 16 && s[i] != ' '; i++)
                if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
                        return true;
        return false;
}

/* An ES module's script is a file:// URL: as a path, like a CommonJS
 * script's, so that every report finds and names its file alike. Only a
 * local one (no host, or localhost), with every escape valid and none a
 * NUL; anything else stays as node gave it. Returns a malloc'd string, or
 * NULL when out of memory. */
static char *script_name(const char *s, size_t len)
{
        int url;
        return lt_file_url_path(s, len, &url);
}

void lt_pm_name_clear(struct lt_pm_name *n)
{
        free(n->function);
        free(n->script);
        memset(n, 0, sizeof(*n));
}

int lt_pm_name_parse(const char *name, size_t len, struct lt_pm_name *out)
{
        memset(out, 0, sizeof(*out));
        const char *colon = memchr(name, ':', len);
        if (!colon || !is_js_tag(name, (size_t)(colon - name))) {
                out->kind = LT_CODE_V8;
                return (out->function = strndup(name, len)) ? 0 : -ENOMEM;
        }
        out->kind = LT_CODE_JS;
        const char *s = colon + 1;
        size_t n = len - (size_t)(s - name);
        for (unsigned t = 1; n && t < sizeof(tiers) / sizeof(tiers[0]); t++) {
                if (*s == tiers[t].mark) {
                        out->tier = t;
                        s++;
                        n--;
                        break;
                }
        }
        /* "NAME LOCATION": names may hold spaces ("get x"), and so may
         * paths. The location starts at the first space followed by what
         * looks like a script and parses as one; else at the last space
         * followed by a location. */
        size_t split = n, script_len = 0;
        unsigned line = 0, column = 0;
        for (size_t i = 0; i < n && split == n; i++)
                if (s[i] == ' ' && scriptish(s + i + 1, n - i - 1) &&
                    parse_location(s + i + 1, n - i - 1, &script_len, &line, &column))
                        split = i;
        for (size_t i = n; i-- > 0 && split == n;)
                if (s[i] == ' ' &&
                    parse_location(s + i + 1, n - i - 1, &script_len, &line, &column))
                        split = i;
        if (split < n) {
                out->line = line;
                out->column = column;
                /* Eval'd code without a name: as the JS module names it. */
                if (!(out->script = script_len ? script_name(s + split + 1, script_len)
                                               : strdup("<eval>")))
                        goto nomem;
        }
        out->function = split ? strndup(s, split) : strdup("(anonymous)");
        if (!out->function)
                goto nomem;
        return 0;
nomem:
        lt_pm_name_clear(out);
        return -ENOMEM;
}

/* ---- reading ---- */

/* Hex S[LEN] of 1 to 16 digits into *V. */
static bool parse_hex(const char *s, size_t len, uint64_t *v)
{
        if (!len || len > 16)
                return false;
        uint64_t x = 0;
        for (size_t i = 0; i < len; i++) {
                int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                        : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                        : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                                     : -1;
                if (d < 0)
                        return false;
                x = x << 4 | (uint64_t)d;
        }
        *v = x;
        return true;
}

struct reader {
        struct lt_perfmap *m;
        uint32_t cap;
        struct lt_pm_stats *st;
};

/* One whole line, at file offset OFF. Returns 0, or -ENOMEM. */
static int add_line(struct reader *r, const char *p, size_t len, uint64_t off)
{
        r->st->lines++;
        const char *sp1 = memchr(p, ' ', len);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - p)) : NULL;
        uint64_t start, size, end;
        if (len > LT_PERFMAP_LINE_MAX || !sp2 || sp2 + 1 == p + len || memchr(p, '\0', len) ||
            !parse_hex(p, (size_t)(sp1 - p), &start) ||
            !parse_hex(sp1 + 1, (size_t)(sp2 - sp1 - 1), &size) ||
            __builtin_add_overflow(start, size, &end)) {
                r->st->malformed++;
                return 0;
        }
        if (!size)
                return 0; /* names nothing */
        struct lt_perfmap *m = r->m;
        if (m->nents == r->cap) {
                uint32_t cap = r->cap ? r->cap * 2 : 1024;
                struct entry *e = realloc(m->ents, (size_t)cap * sizeof(*e));
                if (!e)
                        return -ENOMEM;
                m->ents = e;
                r->cap = cap;
        }
        uint64_t name_off = off + (uint64_t)(sp2 + 1 - p);
        m->ents[m->nents++] =
            (struct entry){start, end, name_off << 16 | (uint64_t)(p + len - sp2 - 1)};
        return 0;
}

/* Reads whole lines up to LT_PERF_MAP_MAX bytes and LT_PERFMAP_MAX_ENTRIES
 * ranges. Returns 0, -ENOMEM or -errno. */
static int read_lines(struct reader *r, int fd)
{
        char *buf = malloc(READ_CHUNK + LT_PERFMAP_LINE_MAX);
        if (!buf)
                return -ENOMEM;
        size_t have = 0;       /* bytes of an unfinished line at buf */
        uint64_t at = 0;       /* file offset of buf[0] */
        bool skipping = false; /* inside a line too long to keep */
        int err = 0;
        for (;;) {
                uint64_t total = at + have;
                if (total >= LT_PERF_MAP_MAX || r->m->nents >= LT_PERFMAP_MAX_ENTRIES) {
                        char probe;
                        if (pread(fd, &probe, 1, (off_t)total) == 1 ||
                            r->m->nents >= LT_PERFMAP_MAX_ENTRIES)
                                r->st->cut = true;
                        break;
                }
                size_t want = READ_CHUNK;
                if (want > LT_PERF_MAP_MAX - total)
                        want = (size_t)(LT_PERF_MAP_MAX - total);
                ssize_t n = read(fd, buf + have, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        err = -errno;
                        break;
                }
                if (n == 0) {
                        if (have || skipping)
                                r->st->partial = true;
                        break;
                }
                size_t end = have + (size_t)n, s = 0;
                for (size_t i = have; i < end && !err; i++) {
                        if (buf[i] != '\n')
                                continue;
                        if (skipping) {
                                skipping = false;
                                r->st->lines++;
                                r->st->malformed++;
                        } else if (r->m->nents < LT_PERFMAP_MAX_ENTRIES) {
                                err = add_line(r, buf + s, i - s, at + s);
                        }
                        s = i + 1;
                }
                if (err)
                        break;
                have = end - s;
                if (have > LT_PERFMAP_LINE_MAX) {
                        skipping = true; /* counted when its newline comes */
                        have = 0;
                        s = end;
                }
                memmove(buf, buf + s, have);
                at += s;
        }
        free(buf);
        return err;
}

/* Ranges by start, then by line: qsort_r's comparator over the ranges ARG. */
static int by_start(const void *pa, const void *pb, void *arg)
{
        uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
        const struct entry *e = arg;
        if (e[a].start != e[b].start)
                return e[a].start < e[b].start ? -1 : 1;
        return a < b ? -1 : a > b;
}

static int by_end(const void *pa, const void *pb, void *arg)
{
        uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
        const struct entry *e = arg;
        if (e[a].end != e[b].end)
                return e[a].end < e[b].end ? -1 : 1;
        return a < b ? -1 : a > b;
}

/* A max-heap of line numbers: the latest line open wins. */
static void heap_push(uint32_t *h, uint32_t *n, uint32_t v)
{
        uint32_t i = (*n)++;
        while (i && h[(i - 1) / 2] < v) {
                h[i] = h[(i - 1) / 2];
                i = (i - 1) / 2;
        }
        h[i] = v;
}

static void heap_pop(uint32_t *h, uint32_t *n)
{
        uint32_t v = h[--*n], i = 0;
        for (;;) {
                uint32_t c = 2 * i + 1;
                if (c >= *n)
                        break;
                if (c + 1 < *n && h[c + 1] > h[c])
                        c++;
                if (h[c] <= v)
                        break;
                h[i] = h[c];
                i = c;
        }
        if (*n)
                h[i] = v;
}

/* Lays the ranges flat: at every point where a range starts or ends, the
 * latest line still open owns what follows. Returns 0 or -ENOMEM. */
static int flatten(struct lt_perfmap *m)
{
        uint32_t n = m->nents;
        if (!n)
                return 0;
        uint32_t *order = malloc((size_t)n * sizeof(*order));
        uint32_t *ends = malloc((size_t)n * sizeof(*ends));
        uint32_t *heap = malloc((size_t)n * sizeof(*heap));
        m->seg_start = malloc(2 * (size_t)n * sizeof(*m->seg_start));
        m->seg_entry = malloc(2 * (size_t)n * sizeof(*m->seg_entry));
        int err = order && ends && heap && m->seg_start && m->seg_entry ? 0 : -ENOMEM;
        if (!err) {
                for (uint32_t i = 0; i < n; i++)
                        order[i] = ends[i] = i;
                qsort_r(order, n, sizeof(*order), by_start, m->ents);
                qsort_r(ends, n, sizeof(*ends), by_end, m->ents);
                uint32_t i = 0, j = 0, nheap = 0;
                const struct entry *e = m->ents;
                while (j < n) {
                        uint64_t x = i < n && e[order[i]].start < e[ends[j]].end ? e[order[i]].start
                                                                                 : e[ends[j]].end;
                        while (i < n && e[order[i]].start == x)
                                heap_push(heap, &nheap, order[i++]);
                        while (j < n && e[ends[j]].end == x)
                                j++;
                        while (nheap && e[heap[0]].end <= x)
                                heap_pop(heap, &nheap);
                        uint32_t owner = nheap ? heap[0] : NO_ENTRY;
                        if (m->nsegs && m->seg_entry[m->nsegs - 1] == owner)
                                continue;
                        m->seg_start[m->nsegs] = x;
                        m->seg_entry[m->nsegs++] = owner;
                }
        }
        free(order);
        free(ends);
        free(heap);
        return err;
}

int lt_perfmap_read(int fd, struct lt_perfmap **out, struct lt_pm_stats *st)
{
        *out = NULL;
        memset(st, 0, sizeof(*st));
        struct lt_perfmap *m = calloc(1, sizeof(*m));
        if (!m) {
                close(fd);
                return -ENOMEM;
        }
        m->fd = fd;
        struct reader r = {m, 0, st};
        int err = read_lines(&r, fd);
        if (!err)
                err = flatten(m);
        if (err) {
                lt_perfmap_free(m);
                return err;
        }
        /* Only the flat segments are searched from now on. */
        *out = m;
        return 0;
}

void lt_perfmap_free(struct lt_perfmap *m)
{
        if (!m)
                return;
        struct code_cache *c, *ct;
        HASH_ITER(hh, m->cache, c, ct)
        {
                HASH_DEL(m->cache, c);
                lt_pm_name_clear(&c->code.name);
                free(c);
        }
        struct js_fn *f, *ft;
        HASH_ITER(hh, m->fns, f, ft)
        {
                HASH_DEL(m->fns, f);
                free(f->key);
                free(f);
        }
        if (m->fd >= 0)
                close(m->fd);
        free(m->ents);
        free(m->seg_start);
        free(m->seg_entry);
        free(m);
}

/* The number of JS function N (its name, script, line and column alike at
 * every tier). Returns 0 with *ID, or -ENOMEM. */
static int js_id(struct lt_perfmap *m, const struct lt_pm_name *n, uint32_t *id)
{
        char *key;
        if (asprintf(&key, "%s%c%s%c%u:%u", n->function, 0x1f, n->script ? n->script : "", 0x1f,
                     n->line, n->column) < 0)
                return -ENOMEM;
        struct js_fn *f;
        HASH_FIND_STR(m->fns, key, f);
        if (f) {
                free(key);
                *id = f->id;
                return 0;
        }
        if (!(f = calloc(1, sizeof(*f)))) {
                free(key);
                return -ENOMEM;
        }
        f->key = key;
        f->id = ++m->nfns;
        HASH_ADD_KEYPTR(hh, m->fns, f->key, strlen(f->key), f);
        *id = f->id;
        return 0;
}

int lt_perfmap_find(struct lt_perfmap *m, uint64_t pc, const struct lt_pm_code **out)
{
        if (!m || !m->nsegs || pc < m->seg_start[0])
                return -ENOENT;
        uint32_t lo = 0, hi = m->nsegs; /* the last segment starting at or before pc */
        while (hi - lo > 1) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (m->seg_start[mid] <= pc)
                        lo = mid;
                else
                        hi = mid;
        }
        uint32_t ent = m->seg_entry[lo];
        if (ent == NO_ENTRY)
                return -ENOENT;
        struct code_cache *c;
        HASH_FIND(hh, m->cache, &ent, sizeof(ent), c);
        if (c) {
                *out = &c->code;
                return c->code.name.function ? 0 : -ENOENT;
        }
        if (!(c = calloc(1, sizeof(*c))))
                return -ENOMEM;
        c->entry = ent;
        const struct entry *e = &m->ents[ent];
        c->code.start = e->start;
        c->code.end = e->end;
        size_t len = (size_t)(e->name & 0xffff);
        char buf[LT_PERFMAP_LINE_MAX];
        int err = 0;
        /* A name that cannot be read back (the file changed) stays a
         * cached nothing: the frame is an address. */
        if (pread(m->fd, buf, len, (off_t)(e->name >> 16)) == (ssize_t)len &&
            !memchr(buf, '\n', len) && !memchr(buf, '\0', len)) {
                err = lt_pm_name_parse(buf, len, &c->code.name);
                if (!err && c->code.name.kind == LT_CODE_JS)
                        err = js_id(m, &c->code.name, &c->code.js_id);
        }
        if (err) {
                lt_pm_name_clear(&c->code.name);
                free(c);
                return err;
        }
        HASH_ADD(hh, m->cache, entry, sizeof(c->entry), c);
        *out = &c->code;
        return c->code.name.function ? 0 : -ENOENT;
}

/* ---- the map of a trace ---- */

/* Said once per trace file, even when several reports read it (diff). */
static char *warned_for;

__attribute__((format(printf, 2, 3))) static void warn(const struct lt_trace *t, const char *fmt,
                                                       ...)
{
        if (warned_for && !strcmp(warned_for, t->path))
                return;
        free(warned_for);
        warned_for = strdup(t->path);
        va_list ap;
        va_start(ap, fmt);
        fputs("leaktrace: warning: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* Opens PATH if it is a regular file; never waits on a FIFO. Returns the
 * descriptor, or -errno; ST gets its status. */
static int open_regular(const char *path, struct stat *st)
{
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
                int err = S_ISREG(st->st_mode) ? -errno : -EINVAL;
                close(fd);
                return err;
        }
        return fd;
}

/* /tmp/perf-<pid>.map, when it was last written while the process ran:
 * not before it started (a map left by an earlier process of that pid, or
 * by the image that exec'd this one), nor well after it ended. */
static int fallback(const struct lt_trace *t, char *path, size_t size)
{
        const struct lt_header *h = &t->hdr;
        snprintf(path, size, "/tmp/perf-%" PRIu32 ".map", h->pid);
        struct stat st;
        int fd = h->pid ? open_regular(path, &st) : -ENOENT;
        if (fd < 0)
                return fd;
        uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
        uint64_t tick = (h->history.tick_ms ? h->history.tick_ms : 1000) * 1000000ull;
        uint64_t end =
            h->end_ns ? h->end_ns : (h->update_ns ? h->update_ns : h->start_ns) + 2 * tick;
        if (mtime < h->start_ns || mtime > end + 2000000000ull) {
                close(fd);
                return -ESTALE;
        }
        return fd;
}

/* Reads the map on FD (named PATH), saying what is wrong with it. */
static struct lt_perfmap *load(const struct lt_trace *t, int fd, const char *path)
{
        struct lt_perfmap *m;
        struct lt_pm_stats st;
        int err = lt_perfmap_read(fd, &m, &st);
        if (err) {
                warn(t, "%s: cannot read the perf map (%s): JS frames shown as addresses", path,
                     strerror(-err));
                return NULL;
        }
        if (st.malformed > st.lines - st.malformed)
                warn(t,
                     "%s: %" PRIu64 " of %" PRIu64 " lines are not \"START SIZE name\": is it "
                     "a perf map?",
                     path, st.malformed, st.lines);
        else if (st.cut)
                warn(t,
                     "%s: only its first %llu MiB or %u ranges read: later JS code shown as "
                     "addresses",
                     path, (unsigned long long)(LT_PERF_MAP_MAX >> 20), LT_PERFMAP_MAX_ENTRIES);
        return m;
}

struct lt_perfmap *lt_perfmap_of_trace(const struct lt_trace *t)
{
        char copy[4096], tmp[64];
        size_t n = strlen(t->path);
        if (n > 3 && !strcmp(t->path + n - 3, ".lt"))
                n -= 3;
        snprintf(copy, sizeof(copy), "%.*s.perf.map", (int)n, t->path);
        struct stat st;
        if (t->hdr.flags & LT_F_PERF_MAP) {
                int fd = open_regular(copy, &st);
                if (fd >= 0)
                        return load(t, fd, copy);
                if (fd != -ENOENT) {
                        warn(t,
                             "%s: perf map %s cannot be read (%s): JS frames shown as "
                             "addresses",
                             t->path, copy, strerror(-fd));
                        return NULL;
                }
        }
        int fd = fallback(t, tmp, sizeof(tmp));
        if (fd >= 0)
                return load(t, fd, tmp);
        if (t->hdr.flags & LT_F_PERF_MAP) {
                warn(t, "%s: perf map %s missing: JS frames shown as addresses", t->path, copy);
        } else if ((t->hdr.flags & LT_F_ATTACHED) && lt_is_node_exe(t->hdr.exe)) {
                /* Only node itself writes its perf map, from its start. */
                warn(t,
                     "%s: node was not started with --perf-basic-prof, which names JS functions, "
                     "and attach cannot turn it on: JS frames shown as addresses (start node with "
                     "it, or under `leaktrace run`)",
                     t->path);
        }
        return NULL;
}
