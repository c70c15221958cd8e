/* Source maps, the reader alone (sanitized): scripts and maps written here,
 * their mappings encoded by this test's own VLQ encoder from a list of
 * segments, and every position asked for checked against what the list
 * says: the last segment at or before the column on its line, nothing
 * before a line's first segment nor on a line without one, a segment of
 * one field or of a null source mapping nowhere, segments out of order
 * sorted, numbers past one base64 digit and negative steps; index maps
 * (sections, a column offset on their first line); sources resolved
 * (relative to the map, sourceRoot, file: URLs, other URLs as they are);
 * the script's comment (the last one, //@ too, alone on its line); the
 * sources' texts the map carries; a minifier's names; the modes, and a
 * script changed after the trace began.
 *
 * Usage: lt-test-sourcemap */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "sourcemap.h"
#include "synth.h"

static char *dir;

/* A segment as a map lists it, 0-based; src -1: one field (maps nowhere). */
struct seg {
        int line, col, src, sline, scol;
};

static void vlq(char **o, long v)
{
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned long u = v < 0 ? ((unsigned long)-v << 1) | 1 : (unsigned long)v << 1;
        do {
                unsigned d = u & 31;
                u >>= 5;
                *(*o)++ = b64[d | (u ? 32 : 0)];
        } while (u);
}

/* The mappings string of the N segments (in the order given, grouped by
 * line, which must not go down). */
static char *encode(const struct seg *s, int n)
{
        char *out = calloc(1, 64 * (size_t)n + 4096), *o = out;
        int line = 0, col = 0, first = 1;
        long src = 0, sline = 0, scol = 0;
        for (int i = 0; i < n; i++) {
                while (line < s[i].line) {
                        *o++ = ';';
                        line++, col = 0, first = 1;
                }
                if (!first)
                        *o++ = ',';
                first = 0;
                vlq(&o, s[i].col - col);
                col = s[i].col;
                if (s[i].src >= 0) {
                        vlq(&o, s[i].src - src);
                        vlq(&o, s[i].sline - sline);
                        vlq(&o, s[i].scol - scol);
                        src = s[i].src, sline = s[i].sline, scol = s[i].scol;
                }
        }
        return out;
}

static void write_file(const char *name, const char *text)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash;
             slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                mkdir(path, 0755);
                *slash = '/';
        }
        if (synth_write_file(path, text, strlen(text)) < 0) {
                perror(path);
                exit(2);
        }
}

static char *path_of(const char *name)
{
        char *p;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                exit(2);
        return p;
}

/* Asks SCRIPT for LINE:COL; WANT_FILE NULL: no answer expected. */
static void expect(const char *what, const char *script, unsigned line, unsigned col,
                   uint64_t began, const char *want_file, unsigned want_line, unsigned want_col)
{
        char *p = path_of(script);
        struct lt_src_pos pos = {0};
        int r = lt_srcmap_find(p, line, col, began, &pos);
        if (!want_file) {
                if (!tap_ok(r == 0, "%s: %s %u:%u maps nowhere", what, script, line, col))
                        tap_diag("got %d: %s %u:%u", r, r > 0 ? pos.file : "", pos.line,
                                 pos.column);
        } else {
                int ok = r == 1 && !strcmp(pos.file, want_file) && pos.line == want_line &&
                         pos.column == want_col;
                if (!tap_ok(ok, "%s: %s %u:%u is %s:%u:%u", what, script, line, col, want_file,
                            want_line, want_col))
                        tap_diag("got %d: %s %u:%u", r, r > 0 ? pos.file : "", pos.line,
                                 pos.column);
        }
        free(p);
}

static char *map_json(const char *sources, const char *root, const char *mappings)
{
        char *j;
        if (asprintf(&j,
                     "{\"version\":3,\"file\":\"x.js\",%s%s%s\"sources\":[%s],\"names\":[],"
                     "\"mappings\":\"%s\"}",
                     root ? "\"sourceRoot\":\"" : "", root ? root : "", root ? "\"," : "", sources,
                     mappings) < 0)
                exit(2);
        return j;
}

static void test_segments(void)
{
        const struct seg segs[] = {
            {0, 0, 0, 10, 0},
            {0, 5, 1, 20, 4},
            {0, 9, -1, 0, 0},
            {0, 12, 2, 3, 7},
            /* line 1: none; line 2 out of order; its col 2 of a null source */
            {2, 4, 0, 0, 0},
            {2, 2, 3, 1, 1},
            {3, 100000, 0, 123456, 99999},
        };
        char *m = encode(segs, (int)(sizeof(segs) / sizeof(segs[0])));
        char *json =
            map_json("\"a.ts\",\"webpack://app/./b.js\",\"file:///abs/c%20d.ts\",null", NULL, m);
        write_file("seg/gen.js", "line one\n\n\nfour\n//# sourceMappingURL=gen.js.map\n");
        write_file("seg/gen.js.map", json);
        char *a = path_of("seg/a.ts");
        const char *w = "segments";
        expect(w, "seg/gen.js", 1, 1, 0, a, 11, 1);
        expect(w, "seg/gen.js", 1, 5, 0, a, 11, 1);
        expect(w, "seg/gen.js", 1, 6, 0, "webpack://app/./b.js", 21, 5);
        expect(w, "seg/gen.js", 1, 10, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 1, 13, 0, "/abs/c d.ts", 4, 8);
        expect(w, "seg/gen.js", 1, 1000, 0, "/abs/c d.ts", 4, 8);
        expect(w, "seg/gen.js", 2, 1, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 3, 1, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 3, 3, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 3, 5, 0, a, 1, 1);
        expect(w, "seg/gen.js", 4, 100001, 0, a, 123457, 100000);
        expect(w, "seg/gen.js", 4, 100000, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 5, 1, 0, NULL, 0, 0);
        expect(w, "seg/gen.js", 0, 1, 0, NULL, 0, 0);
        free(a);
        free(json);
        free(m);
}

static void test_sections(void)
{
        const struct seg one[] = {{0, 0, 0, 0, 0}, {1, 3, 0, 5, 2}};
        const struct seg two[] = {{0, 0, 0, 7, 0}, {0, 4, 0, 8, 1}, {1, 0, 0, 9, 0}};
        char *m1 = encode(one, 2), *m2 = encode(two, 3);
        char *j1 = map_json("\"one.ts\"", NULL, m1), *j2 = map_json("\"two.ts\"", "src/", m2);
        char *json;
        if (asprintf(&json,
                     "{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"map\":"
                     "%s},{\"offset\":{\"line\":2,\"column\":10},\"map\":%s}]}",
                     j1, j2) < 0)
                exit(2);
        write_file("sec/out/bundle.js", "a\nb\nc\nd\n//# sourceMappingURL=../maps/bundle.js.map\n");
        write_file("sec/maps/bundle.js.map", json);
        char *one_ts = path_of("sec/maps/one.ts"), *two_ts = path_of("sec/maps/src/two.ts");
        const char *w = "sections";
        expect(w, "sec/out/bundle.js", 1, 1, 0, one_ts, 1, 1);
        expect(w, "sec/out/bundle.js", 2, 9, 0, one_ts, 6, 3);
        expect(w, "sec/out/bundle.js", 3, 10, 0, NULL, 0, 0); /* before the section's column */
        expect(w, "sec/out/bundle.js", 3, 11, 0, two_ts, 8, 1);
        expect(w, "sec/out/bundle.js", 3, 15, 0, two_ts, 9, 2);
        expect(w, "sec/out/bundle.js", 4, 1, 0, two_ts, 10, 1);
        /* Section two starts at line 3, column 11: one's segment at line
         * 2 is not seen past that, and a gap before two's first segment
         * maps nowhere. */
        const struct seg gap1[] = {{2, 0, 0, 50, 0}}, gap2[] = {{0, 5, 0, 60, 0}};
        char *g1 = encode(gap1, 1), *g2 = encode(gap2, 1);
        char *gj1 = map_json("\"one.ts\"", NULL, g1), *gj2 = map_json("\"two.ts\"", NULL, g2);
        char *gap;
        if (asprintf(&gap,
                     "{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"map\":"
                     "%s},{\"offset\":{\"line\":2,\"column\":10},\"map\":%s}]}",
                     gj1, gj2) < 0)
                exit(2);
        write_file("sec/gap.js", "a\nb\nc\n//# sourceMappingURL=gap.map\n");
        write_file("sec/gap.map", gap);
        char *gone = path_of("sec/one.ts"), *gtwo = path_of("sec/two.ts");
        expect("section gap", "sec/gap.js", 3, 10, 0, gone, 51, 1);
        expect("section gap", "sec/gap.js", 3, 11, 0, NULL, 0, 0);
        expect("section gap", "sec/gap.js", 3, 15, 0, NULL, 0, 0);
        expect("section gap", "sec/gap.js", 3, 16, 0, gtwo, 61, 1);
        free(gone);
        free(gtwo);
        free(gap);
        free(gj1);
        free(gj2);
        free(g1);
        free(g2);
        free(one_ts);
        free(two_ts);
        free(json);
        free(j1);
        free(j2);
        free(m1);
        free(m2);
}

static void test_comments(void)
{
        const struct seg s[] = {{0, 0, 0, 41, 0}};
        char *m = encode(s, 1);
        char *good = map_json("\"/src/good.ts\"", NULL, m);
        char *bad = map_json("\"/src/bad.ts\"", NULL, m);
        write_file("com/good.map", good);
        write_file("com/bad.map", bad);
        /* The last comment wins; one inside code does not count; //@ and
         * blanks around are fine. */
        write_file("com/last.js",
                   "x\n//# sourceMappingURL=bad.map\nf('//# sourceMappingURL=bad.map')\n"
                   "  //@ sourceMappingURL=good.map  \r\n\n\n");
        write_file("com/code.js", "x\nvar s = 1; //# sourceMappingURL=good.map\n");
        /* A tab after the mark; a query after the name; escapes decoded once
         * (a file named a%41.map, as a%2541.map in the URL). */
        write_file("com/tab.js", "x\n//#\tsourceMappingURL=good.map?v=3\n");
        write_file("com/a%41.map", good);
        char *pct_url;
        char *com = path_of("com");
        if (asprintf(&pct_url, "x\n//# sourceMappingURL=file://%s/a%%2541.map\n", com) < 0)
                exit(2);
        write_file("com/fileurl.js", pct_url);
        write_file("com/rel.js", "x\n//# sourceMappingURL=a%2541.map\n");
        free(pct_url);
        free(com);
        write_file("com/none.js", "x\n");
        write_file("com/empty.js", "");
        write_file("com/only.js", "//# sourceMappingURL=good.map");
        char *inline_js;
        /* {"version":3,"sources":["/src/inline.ts"],"mappings":"AAAA"} */
        if (asprintf(&inline_js, "x\n//# sourceMappingURL=data:application/json;base64,%s\n",
                     "eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbIi9zcmMvaW5saW5lLnRzIl0sIm1hcHBpbmdzIjoiQUFBQ"
                     "SJ9") < 0)
                exit(2);
        write_file("com/inline.js", inline_js);
        write_file("com/percent.js",
                   "x\n//# sourceMappingURL=data:application/json,%7B%22version%22%3A3%2C%22sources"
                   "%22%3A%5B%22%2Fsrc%2Fpct.ts%22%5D%2C%22mappings%22%3A%22AAAA%22%7D\n");
        const char *w = "comments";
        expect(w, "com/last.js", 1, 1, 0, "/src/good.ts", 42, 1);
        expect(w, "com/code.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "com/none.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "com/empty.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "com/only.js", 1, 1, 0, "/src/good.ts", 42, 1);
        expect(w, "com/inline.js", 1, 1, 0, "/src/inline.ts", 1, 1);
        expect(w, "com/percent.js", 1, 1, 0, "/src/pct.ts", 1, 1);
        expect(w, "com/missing.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "com/tab.js", 1, 1, 0, "/src/good.ts", 42, 1);
        expect(w, "com/fileurl.js", 1, 1, 0, "/src/good.ts", 42, 1);
        expect(w, "com/rel.js", 1, 1, 0, "/src/good.ts", 42, 1);
        /* A relative source is a URL too: its escapes decoded. */
        write_file("com/esc.js", "x\n//# sourceMappingURL=esc.map\n");
        write_file("com/esc.map",
                   "{\"version\":3,\"sources\":[\"my%20src.ts\"],\"mappings\":\"AAAA\"}");
        char *esc = path_of("com/my src.ts");
        expect(w, "com/esc.js", 1, 1, 0, esc, 1, 1);
        free(esc);
        /* A file: URL names the script as node's ES modules do. */
        char *p = path_of("com/only.js"), *url;
        struct lt_src_pos pos;
        if (asprintf(&url, "file://%s", p) < 0)
                exit(2);
        int r = lt_srcmap_find(url, 1, 1, 0, &pos);
        tap_ok(r == 1 && !strcmp(pos.file, "/src/good.ts"), "comments: a file: URL as its path");
        tap_ok(lt_srcmap_find("node:internal/timers", 1, 1, 0, &pos) == 0,
               "comments: node's own scripts have none");
        free(url);
        free(p);
        free(inline_js);
        free(good);
        free(bad);
        free(m);
}

static void test_contents(void)
{
        write_file("txt/t.js", "x\n//# sourceMappingURL=t.map\n");
        write_file("txt/t.map", "{\"version\":3,\"sources\":[\"/src/has.ts\",\"/src/none.ts\"],"
                                "\"sourcesContent\":[\"let a = 1;\\nlet b = 2;\\n\",null],"
                                "\"mappings\":\"AAAA;ACAA\"}");
        struct lt_src_pos pos;
        size_t len = 0;
        const char *none = lt_srcmap_content("/src/has.ts", &len);
        tap_ok(!none, "contents: none before its map is read");
        char *p = path_of("txt/t.js");
        tap_ok(lt_srcmap_find(p, 2, 1, 0, &pos) == 1 && !strcmp(pos.file, "/src/none.ts"),
               "contents: the map read");
        free(p);
        const char *text = lt_srcmap_content("/src/has.ts", &len);
        tap_ok(text && len == 22 && !strcmp(text, "let a = 1;\nlet b = 2;\n"),
               "contents: a source's text, as the map carries it");
        tap_ok(!lt_srcmap_content("/src/none.ts", &len), "contents: none for a null entry");
        tap_ok(!lt_srcmap_content("/src/other.ts", &len) && !lt_srcmap_content(NULL, &len),
               "contents: none for a name no map gave");
}

/* A minifier's names: "function t(e)" and "t=e=>" as V8 places them (at
 * the parameters), the map naming the identifier before them. */
static void test_names(void)
{
        /* line 0: "function t(e){}" t at 9, '(' at 10; "var u=e=>1" u at 20,
         * '=' 21, e 22; a segment with a name out of range at 30. */
        write_file("names/min.js", "function t(e){} var u=e=>1;   x(e)\n"
                                   "//# sourceMappingURL=min.map\n");
        write_file("names/min.map",
                   "{\"version\":3,\"sources\":[\"/src/a.ts\"],\"names\":[\"openSession\","
                   "\"grow\"],\"mappings\":\"AAAA,SAAUA,WAAUC,UAAUI\"}");
        /* col 0; col 9, name 0; col 20, name 1; col 30, name 5 (none). */
        char *p = path_of("names/min.js");
        const char *n;
        n = lt_srcmap_function(p, 1, 11, "t", 0);
        tap_ok(n && !strcmp(n, "openSession"), "names: the name right before the parameters");
        n = lt_srcmap_function(p, 1, 23, "u", 0);
        tap_ok(n && !strcmp(n, "grow"), "names: an arrow's, one character before");
        tap_ok(!lt_srcmap_function(p, 1, 11, "tt", 0),
               "names: not when the name V8 gives is not there");
        tap_ok(!lt_srcmap_function(p, 1, 13, "t", 0), "names: not two characters before");
        tap_ok(!lt_srcmap_function(p, 1, 32, "x", 0), "names: not a name out of the list");
        tap_ok(!lt_srcmap_function(p, 1, 1, "t", 0) && !lt_srcmap_function(p, 1, 11, "", 0) &&
                   !lt_srcmap_function(p, 1, 11, NULL, 0),
               "names: none at the line's start, nor for no name");
        free(p);
}

static void test_bad(void)
{
        write_file("bad/fields.js", "x\n//# sourceMappingURL=fields.map\n");
        write_file("bad/fields.map", "{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"AA\"}");
        write_file("bad/neg.js", "x\n//# sourceMappingURL=neg.map\n");
        write_file("bad/neg.map", "{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"AAAD\"}");
        write_file("bad/long.js", "x\n//# sourceMappingURL=long.map\n");
        write_file("bad/long.map",
                   "{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"gggggggggB\"}");
        write_file("bad/nested.js", "x\n//# sourceMappingURL=nested.map\n");
        write_file("bad/nested.map",
                   "{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"map\":"
                   "{\"version\":3,\"sections\":[]}}]}");
        const char *w = "unusable";
        expect(w, "bad/fields.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "bad/neg.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "bad/long.js", 1, 1, 0, NULL, 0, 0);
        expect(w, "bad/nested.js", 1, 1, 0, NULL, 0, 0);
}

static void test_modes(void)
{
        /* Written now: a trace that began an hour ago is older. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        uint64_t before = ns - 3600ull * 1000000000u, after = ns + 3600ull * 1000000000u;
        const struct seg s[] = {{0, 0, 0, 6, 0}};
        char *m = encode(s, 1);
        char *json = map_json("\"/src/m.ts\"", NULL, m);
        write_file("mode/m.js", "x\n//# sourceMappingURL=m.map\n");
        write_file("mode/m.map", json);
        const char *w = "modes";
        expect(w, "mode/m.js", 1, 1, after, "/src/m.ts", 7, 1);
        expect(w, "mode/m.js", 1, 1, before, NULL, 0, 0);
        lt_srcmap_set_mode(LT_SRCMAP_ALWAYS);
        expect("always", "mode/m.js", 1, 1, before, "/src/m.ts", 7, 1);
        lt_srcmap_set_mode(LT_SRCMAP_OFF);
        expect("off", "mode/m.js", 1, 1, after, NULL, 0, 0);
        lt_srcmap_set_mode(LT_SRCMAP_AUTO);
        enum lt_srcmap_mode md;
        tap_ok(lt_srcmap_parse_mode("always", &md) == 0 && md == LT_SRCMAP_ALWAYS &&
                   lt_srcmap_parse_mode("Always", &md) < 0 && lt_srcmap_parse_mode("", &md) < 0,
               "modes: the words");
        free(json);
        free(m);
}

int main(void)
{
        dir = make_temp_dir("sourcemap");
        lt_srcmap_set_mode(LT_SRCMAP_AUTO);
        test_segments();
        test_sections();
        test_comments();
        test_contents();
        test_names();
        test_bad();
        test_modes();
        lt_srcmap_release();
        rm_tree(dir);
        free(dir);
        return tap_done();
}
