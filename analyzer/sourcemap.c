/* Source maps: a script's comment to its map, the map's mappings decoded
 * into one sorted array of segments, and positions looked up in it
 * (sourcemap.h). Parsed with jansson, as the JS module's state is. */
#define _GNU_SOURCE
#include "sourcemap.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "paths.h"

/* One segment of the mappings: a generated line and column, and the
 * source position it came from (src NO_SOURCE: a segment that maps
 * nowhere, as a one-field one). Lines and columns 0-based. */
#define NO_SOURCE UINT32_MAX
#define NO_NAME UINT32_MAX
struct seg {
        uint32_t line, col;
        uint32_t src, src_line, src_col;
        uint32_t name; /* in names, or NO_NAME */
};

struct smap {
        char **sources; /* resolved names; NULL for a null entry */
        struct text {
                char *text; /* sourcesContent: NULL when the map has none */
                size_t len;
        } * contents; /* one per source */
        size_t nsources;
        char **names; /* the original identifiers that segments name */
        size_t nnames;
        struct seg *segs; /* by line, then column */
        size_t nsegs, cap;
};

struct script {
        char *key; /* the script as the frame named it */
        bool ready;
        struct smap map;
        int64_t mtime_ns; /* the newer of the script's and the map's */
        bool warned_changed;
        UT_hash_handle hh;
};

static struct script *scripts;

/* The text of each source that a ready map carries (the first map's, when
 * several do), by its resolved name. */
struct content {
        const char *name; /* the map's */
        const struct text *text;
        UT_hash_handle hh;
};
static struct content *contents;

/* Scripts under node_modules whose map is not there, and scripts changed
 * after the trace began: each said in one line, at the end. */
static unsigned missing_packages, changed_scripts;
static char *first_missing, *first_changed;
static int mode = -1; /* enum lt_srcmap_mode, or -1: not chosen yet */

int lt_srcmap_parse_mode(const char *word, enum lt_srcmap_mode *m)
{
        static const char *const words[] = {"auto", "off", "always"};
        for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                if (!strcmp(word, words[i])) {
                        *m = (enum lt_srcmap_mode)i;
                        return 0;
                }
        }
        return -EINVAL;
}

void lt_srcmap_set_mode(enum lt_srcmap_mode m)
{
        mode = (int)m;
}

static enum lt_srcmap_mode current_mode(void)
{
        if (mode < 0) {
                const char *env = getenv("LEAKTRACE_SOURCE_MAPS");
                enum lt_srcmap_mode m = LT_SRCMAP_AUTO;
                if (env && *env && lt_srcmap_parse_mode(env, &m) < 0)
                        fprintf(stderr,
                                "leaktrace: warning: LEAKTRACE_SOURCE_MAPS=%s is none of auto, "
                                "off, always; auto is used\n",
                                env);
                mode = (int)m;
        }
        return (enum lt_srcmap_mode)mode;
}

/* S on stderr, a control character (a newline from a URL's %0A) as '?':
 * a warning stays one line. */
static void put_clean(const char *s)
{
        for (; *s; s++)
                fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stderr);
}

/* Says once for the script what is wrong with its map, in one line. */
__attribute__((format(printf, 2, 3))) static void warn(const char *script, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        fputs("leaktrace: warning: ", stderr);
        put_clean(script);
        fputs(": ", stderr);
        put_clean(buf);
        fputs("; its frames keep the script's positions\n", stderr);
}

static const char *read_error(int err)
{
        return err == -EFBIG    ? "larger than 256 MiB"
               : err == -EINVAL ? "not a regular file"
                                : strerror(-err);
}

/* The URL of the script's last "//# sourceMappingURL=" line (or the older
 * "//@"), alone on its line but for blanks. Returns 1 with it in
 * [*URL, *URL + *ULEN), or 0. */
static int find_url(const char *buf, size_t len, const char **url, size_t *ulen)
{
        static const char tag[] = "sourceMappingURL=";
        size_t end = len;
        for (;;) {
                const char *nl = end ? memrchr(buf, '\n', end) : NULL;
                size_t start = nl ? (size_t)(nl - buf) + 1 : 0;
                const char *p = buf + start, *e = buf + end;
                while (p < e && (*p == ' ' || *p == '\t'))
                        p++;
                if (e - p > 4 + (ptrdiff_t)sizeof(tag) - 1 && p[0] == '/' && p[1] == '/' &&
                    (p[2] == '#' || p[2] == '@') && (p[3] == ' ' || p[3] == '\t') &&
                    !memcmp(p + 4, tag, sizeof(tag) - 1)) {
                        const char *u = p + 4 + sizeof(tag) - 1, *q = u;
                        while (q < e && *q != ' ' && *q != '\t' && *q != '\r')
                                q++;
                        const char *r = q;
                        while (r < e && (*r == ' ' || *r == '\t' || *r == '\r'))
                                r++;
                        if (r == e && q > u) {
                                *url = u;
                                *ulen = (size_t)(q - u);
                                return 1;
                        }
                }
                if (!nl)
                        return 0;
                end = start - 1;
        }
}

static int b64_digit(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Base64 S[LEN] (padding optional, no blanks) into a malloc'd buffer.
 * Returns its length, -EINVAL when S is not base64, or -ENOMEM. */
static ssize_t base64_decode(const char *s, size_t len, char **out)
{
        while (len && s[len - 1] == '=')
                len--;
        char *o = malloc(len / 4 * 3 + 3);
        if (!o)
                return -ENOMEM;
        size_t n = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < len; i++) {
                int d = b64_digit((unsigned char)s[i]);
                if (d < 0) {
                        free(o);
                        return -EINVAL;
                }
                acc = acc << 6 | (uint32_t)d;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        o[n++] = (char)(acc >> bits);
                }
        }
        *out = o;
        return (ssize_t)n;
}

/* Percent-decoded S[LEN], malloc'd; NULL when out of memory. An escape
 * that is not one stays as it is. */
static char *percent_decode(const char *s, size_t len, size_t *n_out)
{
        char *o = malloc(len + 1);
        if (!o)
                return NULL;
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
                int hi, lo;
                if (s[i] == '%' && i + 2 < len && (hi = lt_hex_digit(s[i + 1])) >= 0 &&
                    (lo = lt_hex_digit(s[i + 2])) >= 0) {
                        o[n++] = (char)(hi << 4 | lo);
                        i += 2;
                } else {
                        o[n++] = s[i];
                }
        }
        o[n] = '\0';
        *n_out = n;
        return o;
}

/* The directory part of PATH, malloc'd ("/" for "/x"). */
static char *dir_of(const char *path)
{
        const char *slash = strrchr(path, '/');
        if (!slash)
                return strdup(".");
        return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* REL against directory DIR, lexically cleaned when absolute; malloc'd. */
static char *resolve(const char *dir, const char *rel)
{
        char *joined;
        if (rel[0] == '/')
                joined = strdup(rel);
        else if (asprintf(&joined, "%s/%s", dir, rel) < 0)
                joined = NULL;
        if (!joined || joined[0] != '/')
                return joined;
        size_t len = strlen(joined) + 2;
        char *buf = malloc(len);
        if (!buf) {
                free(joined);
                return NULL;
        }
        const char *clean = lt_path_lexical(buf, len, joined);
        if (clean == buf) {
                free(joined);
                return buf;
        }
        free(buf);
        return joined;
}

/* A source's name as a report shows it: sourceRoot before it, then a
 * file: URL as its path and a relative name against the map's directory;
 * another URL (webpack://app/./src/x.js) as it is. NULL only when out of
 * memory. */
static char *source_name(const char *raw, const char *root, const char *map_dir)
{
        char *name = NULL;
        if (root && *root && raw[0] != '/' && !lt_has_scheme(raw)) {
                size_t rl = strlen(root);
                if (asprintf(&name, "%s%s%s", root, root[rl - 1] == '/' ? "" : "/", raw) < 0)
                        return NULL;
        } else if (!(name = strdup(raw))) {
                return NULL;
        }
        int url;
        if (lt_has_scheme(name)) {
                char *path = lt_file_url_path(name, strlen(name), &url);
                free(name);
                if (!path || !url)
                        return path;
                name = path;
        }
        size_t n;
        char *decoded = percent_decode(name, strlen(name), &n); /* a URL, relative */
        free(name);
        char *out = decoded ? resolve(map_dir, decoded) : NULL;
        free(decoded);
        return out;
}

static int vlq(const char **pp, const char *end, int64_t *out)
{
        const char *p = *pp;
        uint64_t v = 0;
        unsigned shift = 0;
        for (;;) {
                if (p == end || shift > 30)
                        return -1;
                int d = b64_digit((unsigned char)*p++);
                if (d < 0)
                        return -1;
                v |= (uint64_t)(d & 31) << shift;
                shift += 5;
                if (!(d & 32))
                        break;
        }
        if (v > UINT32_MAX)
                return -1;
        *out = v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
        *pp = p;
        return 0;
}

static int push(struct smap *m, struct seg s)
{
        if (m->nsegs == m->cap) {
                if (m->cap >= LT_SRCMAP_MAX_SEGMENTS)
                        return -EFBIG;
                size_t cap = m->cap ? m->cap * 2 : 1024;
                struct seg *n = realloc(m->segs, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                m->segs = n;
                m->cap = cap;
        }
        m->segs[m->nsegs++] = s;
        return 0;
}

/* Decodes MAPPINGS of a map whose sources are [SRC0, SRC0 + NSRC) of M,
 * its first line at LINE0 and that line's columns from COL0. Returns 0,
 * -ENOMEM, -EFBIG, or -EINVAL with WHY. */
static int decode(struct smap *m, const char *s, size_t len, uint32_t src0, size_t nsrc,
                  uint32_t name0, size_t nname, uint32_t line0, uint32_t col0, char *why,
                  size_t wlen)
{
        const char *p = s, *end = s + len;
        int64_t line = 0, col = 0, src = 0, sline = 0, scol = 0, name = 0;
        size_t nseg = 0;
        while (p < end) {
                if (*p == ';') {
                        line++, col = 0, p++;
                        continue;
                }
                if (*p == ',') {
                        p++;
                        continue;
                }
                int64_t f[5];
                int n = 0;
                while (p < end && *p != ',' && *p != ';') {
                        if (n == 5 || vlq(&p, end, &f[n]) < 0) {
                                snprintf(why, wlen,
                                         "mappings: segment %zu (line %lld) is not "
                                         "base64 VLQ of 1, 4 or 5 fields",
                                         nseg + 1, (long long)line + 1);
                                return -EINVAL;
                        }
                        n++;
                }
                nseg++;
                if (n != 1 && n != 4 && n != 5) {
                        snprintf(why, wlen, "mappings: segment %zu (line %lld) has %d fields", nseg,
                                 (long long)line + 1, n);
                        return -EINVAL;
                }
                col += f[0];
                struct seg g = {.src = NO_SOURCE, .name = NO_NAME};
                if (n >= 4) {
                        src += f[1], sline += f[2], scol += f[3];
                        if (src < 0 || (uint64_t)src >= nsrc || sline < 0 ||
                            sline > UINT32_MAX - 1 || scol < 0 || scol > UINT32_MAX - 1) {
                                snprintf(why, wlen,
                                         "mappings: segment %zu (line %lld) points "
                                         "outside its sources",
                                         nseg, (long long)line + 1);
                                return -EINVAL;
                        }
                        g.src = src0 + (uint32_t)src;
                        g.src_line = (uint32_t)sline;
                        g.src_col = (uint32_t)scol;
                }
                /* A name out of range names nothing: the position stands. */
                if (n == 5 && (name += f[4]) >= 0 && (uint64_t)name < nname)
                        g.name = name0 + (uint32_t)name;
                int64_t gl = line + line0, gc = col + (line ? 0 : col0);
                if (col < 0 || gl > UINT32_MAX - 1 || gc > UINT32_MAX - 1) {
                        snprintf(why, wlen,
                                 "mappings: segment %zu (line %lld) has a column out "
                                 "of range",
                                 nseg, (long long)line + 1);
                        return -EINVAL;
                }
                g.line = (uint32_t)gl;
                g.col = (uint32_t)gc;
                int err = push(m, g);
                if (err)
                        return err;
        }
        return 0;
}

/* One map (a section's, or the whole): its sources appended to M's, its
 * mappings decoded at LINE0:COL0. Returns 0, -ENOMEM, or -EINVAL /
 * -EFBIG with WHY. */
static int add_map(struct smap *m, json_t *j, const char *map_dir, uint32_t line0, uint32_t col0,
                   char *why, size_t wlen)
{
        json_t *v = json_object_get(j, "version");
        if (!json_is_integer(v) || json_integer_value(v) != 3) {
                snprintf(why, wlen, "not version 3");
                return -EINVAL;
        }
        json_t *sources = json_object_get(j, "sources");
        json_t *mappings = json_object_get(j, "mappings");
        json_t *root = json_object_get(j, "sourceRoot");
        if (!json_is_array(sources) || !json_is_string(mappings) ||
            (root && !json_is_null(root) && !json_is_string(root))) {
                snprintf(why, wlen, "no sources array or mappings string");
                return -EINVAL;
        }
        size_t n = json_array_size(sources);
        if (m->nsources + n > UINT32_MAX / 2) {
                snprintf(why, wlen, "too many sources");
                return -EFBIG;
        }
        char **all = realloc(m->sources, (m->nsources + n + 1) * sizeof(*all));
        if (all)
                m->sources = all;
        struct text *texts =
            all ? realloc(m->contents, (m->nsources + n + 1) * sizeof(*texts)) : NULL;
        if (!texts)
                return -ENOMEM;
        m->contents = texts;
        json_t *content = json_object_get(j, "sourcesContent");
        uint32_t src0 = (uint32_t)m->nsources;
        for (size_t i = 0; i < n; i++) {
                json_t *s = json_array_get(sources, i), *c = json_array_get(content, i);
                char *name = NULL;
                struct text t = {0};
                if (json_is_string(s) &&
                    !(name = source_name(json_string_value(s), json_string_value(root), map_dir)))
                        return -ENOMEM;
                if (name && json_is_string(c)) {
                        t.len = json_string_length(c);
                        if (!(t.text = malloc(t.len + 1))) {
                                free(name);
                                return -ENOMEM;
                        }
                        memcpy(t.text, json_string_value(c), t.len);
                        t.text[t.len] = '\0';
                }
                m->contents[m->nsources] = t;
                m->sources[m->nsources++] = name;
        }
        json_t *names = json_object_get(j, "names");
        size_t nn = json_is_array(names) ? json_array_size(names) : 0;
        if (m->nnames + nn > UINT32_MAX / 2) {
                snprintf(why, wlen, "too many names");
                return -EFBIG;
        }
        char **nall = realloc(m->names, (m->nnames + nn + 1) * sizeof(*nall));
        if (!nall)
                return -ENOMEM;
        m->names = nall;
        uint32_t name0 = (uint32_t)m->nnames;
        for (size_t i = 0; i < nn; i++) {
                json_t *v = json_array_get(names, i);
                char *id = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
                if (json_is_string(v) && !id)
                        return -ENOMEM;
                m->names[m->nnames++] = id;
        }
        return decode(m, json_string_value(mappings), json_string_length(mappings), src0, n, name0,
                      nn, line0, col0, why, wlen);
}

/* The whole map J: an index map's sections in order, or one map. */
static int build(struct smap *m, json_t *j, const char *map_dir, char *why, size_t wlen)
{
        if (!json_is_object(j)) {
                snprintf(why, wlen, "not a JSON object");
                return -EINVAL;
        }
        json_t *sections = json_object_get(j, "sections");
        if (!sections)
                return add_map(m, j, map_dir, 0, 0, why, wlen);
        json_t *v = json_object_get(j, "version");
        if (!json_is_integer(v) || json_integer_value(v) != 3 || !json_is_array(sections)) {
                snprintf(why, wlen, "not version 3, or sections not an array");
                return -EINVAL;
        }
        for (size_t i = 0; i < json_array_size(sections); i++) {
                json_t *s = json_array_get(sections, i);
                json_t *off = json_object_get(s, "offset");
                json_t *l = json_object_get(off, "line"), *c = json_object_get(off, "column");
                json_t *sub = json_object_get(s, "map");
                if (json_object_get(sub, "sections")) {
                        snprintf(why, wlen, "section %zu: an index map inside an index map", i + 1);
                        return -EINVAL;
                }
                if (!json_is_integer(l) || !json_is_integer(c) || json_integer_value(l) < 0 ||
                    json_integer_value(c) < 0 || json_integer_value(l) > UINT32_MAX / 2 ||
                    json_integer_value(c) > UINT32_MAX / 2 || !json_is_object(sub)) {
                        snprintf(why, wlen,
                                 "section %zu: no offset line and column, or no map "
                                 "of its own (a url is not followed)",
                                 i + 1);
                        return -EINVAL;
                }
                /* Where the section starts, what came before ends: a
                 * position before its first segment maps nowhere. */
                struct seg start = {.line = (uint32_t)json_integer_value(l),
                                    .col = (uint32_t)json_integer_value(c),
                                    .src = NO_SOURCE,
                                    .name = NO_NAME};
                char sub_why[192];
                snprintf(sub_why, sizeof(sub_why), "more than %u segments", LT_SRCMAP_MAX_SEGMENTS);
                int err = push(m, start);
                if (!err)
                        err = add_map(m, sub, map_dir, (uint32_t)json_integer_value(l),
                                      (uint32_t)json_integer_value(c), sub_why, sizeof(sub_why));
                if (err == -EINVAL || err == -EFBIG)
                        snprintf(why, wlen, "section %zu: %s", i + 1, sub_why);
                if (err)
                        return err;
        }
        return 0;
}

/* By line, then column; at one position, a segment that maps nowhere (a
 * section's start) before one that maps. */
static int seg_cmp(const void *pa, const void *pb)
{
        const struct seg *a = pa, *b = pb;
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        if (a->col != b->col)
                return a->col < b->col ? -1 : 1;
        return (a->src != NO_SOURCE) - (b->src != NO_SOURCE);
}

static void smap_free(struct smap *m)
{
        for (size_t i = 0; i < m->nsources; i++) {
                free(m->sources[i]);
                free(m->contents[i].text);
        }
        free(m->sources);
        free(m->contents);
        for (size_t i = 0; i < m->nnames; i++)
                free(m->names[i]);
        free(m->names);
        free(m->segs);
        memset(m, 0, sizeof(*m));
}

/* What load() reads a map from: its text, the directory its relative
 * sources resolve against and the name it is said by; or why it is not
 * read. */
struct map_text {
        char *text, *dir, *where;
        size_t len;
        bool hush; /* a package's map that is missing: counted, not said */
        char why[512];
};

/* The map in a data: URL (URL[ULEN]) of the script at PATH. Returns 0 or
 * -ENOMEM; what is wrong with the URL is in t->why. */
static int inline_map(struct map_text *t, const char *path, const char *url, size_t ulen)
{
        const char *comma = memchr(url, ',', ulen);
        if (!(t->where = strdup("(inline)")) || !(t->dir = dir_of(path)))
                return -ENOMEM;
        if (!comma) {
                snprintf(t->why, sizeof(t->why), "a data: URL without a comma");
                return 0;
        }
        const char *data = comma + 1;
        size_t dlen = ulen - (size_t)(data - url);
        if (!memmem(url, (size_t)(comma - url), ";base64", 7))
                return (t->text = percent_decode(data, dlen, &t->len)) ? 0 : -ENOMEM;
        ssize_t n = base64_decode(data, dlen, &t->text);
        if (n == -ENOMEM)
                return -ENOMEM;
        if (n < 0)
                snprintf(t->why, sizeof(t->why), "its base64 is not valid");
        else
                t->len = (size_t)n;
        return 0;
}

/* The map file that URL[ULEN] names for script S at PATH: a path relative
 * to the script's directory, or a file: URL. Returns 0 or -ENOMEM; what
 * is wrong is in t->why. */
static int file_map(struct map_text *t, struct script *s, const char *path, const char *url,
                    size_t ulen)
{
        /* Its query and fragment (app.js.map?v=3) name no file. */
        size_t plen, bare = 0;
        while (bare < ulen && url[bare] != '?' && url[bare] != '#')
                bare++;
        /* A URL with a scheme is decoded as one (file:), a relative one
         * here: each once. */
        char *raw = strndup(url, bare);
        bool scheme = raw && lt_has_scheme(raw);
        char *u = !raw ? NULL : scheme ? strdup(raw) : percent_decode(url, bare, &plen);
        char *dir = dir_of(path);
        int is_url = 0, err = 0;
        if (!u || !dir)
                err = -ENOMEM;
        else if (!scheme)
                err = (t->where = resolve(dir, u)) ? 0 : -ENOMEM;
        else if (!(t->where = lt_file_url_path(u, strlen(u), &is_url)))
                err = -ENOMEM;
        else if (!is_url)
                snprintf(t->why, sizeof(t->why), "source map %s: not a local file, not read", u);
        free(raw);
        free(u);
        free(dir);
        if (err || *t->why)
                return err;
        int64_t mt;
        int r = lt_read_file(t->where, LT_SRCMAP_MAX_BYTES, &t->text, &t->len, &mt);
        if (r == -ENOMEM)
                return -ENOMEM;
        if (r < 0)
                snprintf(t->why, sizeof(t->why), "source map %s: %s", t->where, read_error(r));
        else if (mt > s->mtime_ns)
                s->mtime_ns = mt;
        /* Many packages ship the comment without the map. */
        t->hush = r == -ENOENT && strstr(path, "/node_modules/");
        return (t->dir = dir_of(t->where)) ? 0 : -ENOMEM;
}

/* S's map built from the text in T, which is freed. Returns 0 or -ENOMEM;
 * a map that is not valid says why in t->why. */
static int parse_map(struct map_text *t, struct script *s)
{
        json_error_t je;
        json_t *j = json_loadb(t->text, t->len, JSON_ALLOW_NUL, &je);
        free(t->text); /* a map of 100 MB is its size again as a tree */
        t->text = NULL;
        if (!j) {
                snprintf(t->why, sizeof(t->why), "source map %s: not JSON (line %d: %s)", t->where,
                         je.line, je.text);
                return 0;
        }
        char bwhy[256] = "";
        int err = build(&s->map, j, t->dir, bwhy, sizeof(bwhy));
        json_decref(j);
        if (err == -EFBIG && !*bwhy)
                snprintf(bwhy, sizeof(bwhy), "more than %u segments", LT_SRCMAP_MAX_SEGMENTS);
        if (err == -EINVAL || err == -EFBIG) {
                snprintf(t->why, sizeof(t->why), "source map %s: %s", t->where, bwhy);
                err = 0;
        }
        return err;
}

/* M's segments in order, and its sources' texts offered by name. Out of
 * memory, the texts left are not offered: the files are. */
static void ready(struct smap *m)
{
        for (size_t i = 1; i < m->nsegs; i++) {
                if (seg_cmp(&m->segs[i - 1], &m->segs[i]) > 0) {
                        qsort(m->segs, m->nsegs, sizeof(*m->segs), seg_cmp);
                        break;
                }
        }
        for (size_t i = 0; i < m->nsources; i++) {
                struct content *c;
                if (!m->contents[i].text)
                        continue;
                HASH_FIND_STR(contents, m->sources[i], c);
                if (c)
                        continue;
                if (!(c = malloc(sizeof(*c))))
                        break;
                c->name = m->sources[i];
                c->text = &m->contents[i];
                HASH_ADD_KEYPTR(hh, contents, c->name, strlen(c->name), c);
        }
}

/* Reads the map of script S (its text in BUF). Returns 0 with S ready, 0
 * with S not ready (no map, or one said to be unusable), or -ENOMEM. */
static int load(struct script *s, const char *path, const char *buf, size_t len)
{
        const char *url;
        size_t ulen;
        if (!find_url(buf, len, &url, &ulen))
                return 0;
        struct map_text t = {0};
        int err = ulen > 5 && !memcmp(url, "data:", 5) ? inline_map(&t, path, url, ulen)
                                                       : file_map(&t, s, path, url, ulen);
        if (!err && !*t.why)
                err = parse_map(&t, s);
        if (!err && !*t.why) {
                ready(&s->map);
                s->ready = true;
        }
        if (*t.why && t.hush && !missing_packages++)
                first_missing = strdup(s->key);
        else if (*t.why && !t.hush)
                warn(s->key, "%s", t.why);
        if (!s->ready)
                smap_free(&s->map);
        free(t.text);
        free(t.dir);
        free(t.where);
        return err;
}

/* Script SCRIPT's map, kept by node's module (JSON MAP): it describes the
 * code that ran, which no file on disk does, so it is used whatever the
 * script's file is now. An entry read from disk without a map takes it; one
 * with a map keeps its own. Returns 0 or -ENOMEM. */
static int keep_one(const char *script, json_t *map)
{
        struct script *s;
        HASH_FIND_STR(scripts, script, s);
        if (s && s->ready)
                return 0;
        bool added = !s;
        if (added && (!(s = calloc(1, sizeof(*s))) || !(s->key = strdup(script)))) {
                free(s);
                return -ENOMEM;
        }
        char *dir = dir_of(script), why[256] = "";
        int err = dir ? build(&s->map, map, dir, why, sizeof(why)) : -ENOMEM;
        free(dir);
        if (err == -EFBIG && !*why)
                snprintf(why, sizeof(why), "more than %u segments", LT_SRCMAP_MAX_SEGMENTS);
        if (err == -EINVAL || err == -EFBIG) {
                warn(script, "its kept source map: %s", why);
                err = 0;
                smap_free(&s->map);
        } else if (!err) {
                ready(&s->map);
                s->ready = true;
                s->mtime_ns = 0; /* never "changed since" */
        }
        if (err && added) {
                smap_free(&s->map);
                free(s->key);
                free(s);
        } else if (added) {
                HASH_ADD_KEYPTR(hh, scripts, s->key, strlen(s->key), s);
        }
        return err;
}

int lt_srcmap_keep(const char *path)
{
        char *buf;
        size_t len;
        int64_t mt;
        int r = lt_read_file(path, LT_SRCMAP_MAX_BYTES, &buf, &len, &mt);
        if (r == -ENOENT || r == -ENOMEM)
                return r == -ENOMEM ? r : 0;
        if (r < 0) {
                warn(path, "%s", read_error(r));
                return 0;
        }
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        free(buf);
        json_t *maps = j ? json_object_get(j, "maps") : NULL;
        if (!json_is_array(maps)) {
                if (j)
                        warn(path, "not a file of kept source maps (no \"maps\" list)");
                else
                        warn(path, "not JSON (line %d: %s)", je.line, je.text);
                json_decref(j);
                return 0;
        }
        size_t i;
        json_t *e;
        int err = 0;
        json_array_foreach(maps, i, e)
        {
                const char *script = json_string_value(json_object_get(e, "script"));
                json_t *map = json_object_get(e, "map");
                if (script && script[0] == '/' && json_is_object(map) && (err = keep_one(script, map)))
                        break;
        }
        json_decref(j);
        return err;
}

/* The entry of SCRIPT, read the first time. NULL only when out of memory. */
static struct script *script_of(const char *script)
{
        struct script *s;
        HASH_FIND_STR(scripts, script, s);
        if (s)
                return s;
        if (!(s = calloc(1, sizeof(*s))) || !(s->key = strdup(script))) {
                free(s);
                return NULL;
        }
        int url;
        char *path = lt_file_url_path(script, strlen(script), &url);
        char *buf = NULL;
        size_t len;
        int err = !path ? -ENOMEM : 0;
        /* Only a script with a path: node's own (node:...) and eval'd code
         * have no file, and one that is gone says nothing. */
        if (!err && path[0] == '/' &&
            lt_read_file(path, LT_SRCMAP_MAX_BYTES, &buf, &len, &s->mtime_ns) == 0)
                err = load(s, path, buf, len);
        free(buf);
        free(path);
        if (err) {
                free(s->key);
                free(s);
                return NULL;
        }
        HASH_ADD_KEYPTR(hh, scripts, s->key, strlen(s->key), s);
        return s;
}

/* The last segment of M at or before LINE:COL (0-based) on that line, or
 * NULL. */
static const struct seg *at_or_before(const struct smap *m, uint32_t line, uint32_t col)
{
        const struct seg *g = m->segs;
        size_t lo = 0, hi = m->nsegs;
        const struct seg key = {.line = line, .col = col};
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (seg_cmp(&g[mid], &key) <= 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo && g[lo - 1].line == line ? &g[lo - 1] : NULL;
}

/* The script's map when it may be used for a trace that began at
 * BEGAN_NS: NULL when it has none, or it changed since (said at the end). */
static int usable(const char *script, uint64_t began_ns, struct script **out)
{
        *out = NULL;
        enum lt_srcmap_mode md = current_mode();
        if (md == LT_SRCMAP_OFF || !script)
                return 0;
        struct script *s = script_of(script);
        if (!s)
                return -ENOMEM;
        if (!s->ready)
                return 0;
        if (md == LT_SRCMAP_AUTO && began_ns && s->mtime_ns > 0 &&
            (uint64_t)s->mtime_ns > began_ns) {
                if (!s->warned_changed) {
                        s->warned_changed = true;
                        if (!changed_scripts++)
                                first_changed = strdup(script);
                }
                return 0;
        }
        *out = s;
        return 0;
}

const char *lt_srcmap_function(const char *script, unsigned line, unsigned column,
                               const char *function, uint64_t began_ns)
{
        struct script *s;
        size_t n = function ? strlen(function) : 0;
        if (!line || !column || !n || usable(script, began_ns, &s) < 0 || !s)
                return NULL;
        /* V8 places a function at its parameters: its name ends right
         * before them ("function t(e)", a method's "t(e)"), or one
         * character before (an arrow or a class given to "t=", V8's
         * inferred name). The segment there names what it was. */
        for (size_t gap = 0; gap < 2; gap++) {
                if (column - 1 < n + gap)
                        break;
                uint32_t at = (uint32_t)(column - 1 - n - gap);
                const struct seg *g = at_or_before(&s->map, line - 1, at);
                if (g && g->col == at && g->name != NO_NAME && s->map.names[g->name])
                        return s->map.names[g->name];
        }
        return NULL;
}

int lt_srcmap_find(const char *script, unsigned line, unsigned column, uint64_t began_ns,
                   struct lt_src_pos *out)
{
        struct script *s;
        if (!line || !column)
                return 0;
        int err = usable(script, began_ns, &s);
        if (err < 0 || !s)
                return err;
        const struct seg *g = at_or_before(&s->map, line - 1, column - 1);
        if (!g || g->src == NO_SOURCE || !s->map.sources[g->src])
                return 0;
        out->file = s->map.sources[g->src];
        out->line = g->src_line + 1;
        out->column = g->src_col + 1;
        return 1;
}

int lt_srcmap_apply(char **file, unsigned *line, unsigned *column, char **gen_file,
                    unsigned *gen_line, unsigned *gen_column, uint64_t began_ns)
{
        struct lt_src_pos p;
        int r = lt_srcmap_find(*file, *line, *column, began_ns, &p);
        if (r <= 0)
                return r;
        char *src = strdup(p.file);
        if (!src)
                return -ENOMEM;
        *gen_file = *file;
        *gen_line = *line;
        *gen_column = *column;
        *file = src;
        *line = p.line;
        *column = p.column;
        return 1;
}

const char *lt_srcmap_content(const char *file, size_t *len)
{
        struct content *c;
        if (!file)
                return NULL;
        HASH_FIND_STR(contents, file, c);
        if (!c)
                return NULL;
        *len = c->text->len;
        return c->text->text;
}

void lt_srcmap_release(void)
{
        if (changed_scripts) {
                fprintf(stderr, "leaktrace: warning: %u script%s changed after the trace began (",
                        changed_scripts, changed_scripts == 1 ? "" : "s");
                put_clean(first_changed ? first_changed : "?");
                fprintf(stderr,
                        "%s): %s may describe other code, not applied (--source-maps always "
                        "applies %s)\n",
                        changed_scripts == 1 ? "" : ", ...",
                        changed_scripts == 1 ? "its source map" : "their source maps",
                        changed_scripts == 1 ? "it" : "them");
        }
        if (missing_packages) {
                fprintf(stderr,
                        "leaktrace: warning: %u script%s under node_modules name%s a source map "
                        "that is not there (",
                        missing_packages, missing_packages == 1 ? "" : "s",
                        missing_packages == 1 ? "s" : "");
                put_clean(first_missing ? first_missing : "?");
                fprintf(stderr, "%s); %s\n", missing_packages == 1 ? "" : ", ...",
                        missing_packages == 1 ? "its frames keep the script's positions"
                                              : "their frames keep the scripts' positions");
        }
        free(first_changed);
        first_changed = NULL;
        changed_scripts = 0;
        free(first_missing);
        first_missing = NULL;
        missing_packages = 0;
        struct content *c, *ctmp;
        HASH_ITER(hh, contents, c, ctmp)
        {
                HASH_DEL(contents, c);
                free(c);
        }
        struct script *s, *tmp;
        HASH_ITER(hh, scripts, s, tmp)
        {
                HASH_DEL(scripts, s);
                smap_free(&s->map);
                free(s->key);
                free(s);
        }
}
