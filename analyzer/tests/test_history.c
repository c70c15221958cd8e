/* Histories, verdicts and the formats over synthetic traces, through the
 * leaktrace binary (plain and sanitized):
 *
 * - a grid filled as the preload fills it (a second reading of ticker.c:
 *   long-term columns thinned twice, a recent ring holding a snapshot's
 *   tick) must merge into exactly the expected points, each site's history
 *   must be its figures at those points, and the verdicts leak, cache,
 *   transient, cache (a mapping) and unclear must come out, leaks first;
 * - a file caught thinning uses its ring only; a column being rewritten is
 *   skipped;
 * - diff of two snapshots, check's exit status and lines;
 * - folded stacks and markdown, exactly, for names full of what those
 *   formats must escape (';', '|', backticks, a newline);
 * - the flame graph and the timeline are well-formed XML, and the
 *   timeline's polylines are the recorded figures mapped onto its axes.
 *
 * Usage: lt-test-history LEAKTRACE LEAKTRACE_ASAN */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "captures.h"
#include "harness.h"
#include "synth.h"

static const char *bins[2];
static const char *me = lt_test_captures_file;

#define START_NS 1700000000000000000ull
#define TICKS 120 /* 100 ms apart */
#define NSITES 5  /* L, C, T, X allocation sites; M a mapping site */

/* Each site's figures at MS milliseconds since the start. */
static void figures(unsigned site, uint64_t ms, int64_t *bytes, int32_t *blocks)
{
        int64_t k = (int64_t)(ms / 100), b = 0, size = 0;
        switch (site) {
        case 0: /* L: a leak, one block of 100 bytes a tick */
                b = k + 1, size = 100;
                break;
        case 1: /* C: a cache of at most 10 blocks of 200 */
                b = k < 10 ? k : 10, size = 200;
                break;
        case 2: /* T: up and down between 0 and 10 blocks of 64 */
                b = k % 20 < 10 ? k % 20 : 20 - k % 20, size = 64;
                break;
        case 3: /* X: appears in the last 3 ticks */
                b = ms >= 11700, size = 5000;
                break;
        case 4: /* M: 64 KiB mapped from 500 ms on */
                b = ms >= 500, size = 65536;
                break;
        }
        *bytes = b * size;
        *blocks = (int32_t)b;
}

/* The grid as ticker.c fills it. */
struct grid {
        struct lt_tick_rec cols[LT_HIST_COLS];
        struct lt_history_rec hist[NSITES];
        struct lt_history_state hs;
};

static void fill(struct grid *g, unsigned col, const struct lt_tick_rec *t, uint64_t ms)
{
        g->cols[col] = *t;
        for (unsigned s = 0; s < NSITES; s++)
                figures(s, ms, &g->hist[s].bytes[col], &g->hist[s].blocks[col]);
}

static void thin(struct grid *g)
{
        for (unsigned c = 0; c < LT_HIST_LONG / 2; c++) {
                g->cols[c] = g->cols[2 * c];
                for (unsigned s = 0; s < NSITES; s++) {
                        g->hist[s].bytes[c] = g->hist[s].bytes[2 * c];
                        g->hist[s].blocks[c] = g->hist[s].blocks[2 * c];
                }
        }
        for (unsigned c = LT_HIST_LONG / 2; c < LT_HIST_LONG; c++) {
                memset(&g->cols[c], 0, sizeof(g->cols[c]));
                for (unsigned s = 0; s < NSITES; s++)
                        g->hist[s].bytes[c] = g->hist[s].blocks[c] = 0;
        }
        g->hs.nlong = LT_HIST_LONG / 2;
        g->hs.period *= 2;
}

static void tick(struct grid *g, uint64_t ms, uint32_t snapshot)
{
        struct lt_tick_rec t = {0};
        t.time_ns = START_NS + ms * 1000000;
        t.tick = g->hs.ticks;
        for (unsigned s = 0; s < 4; s++) {
                int64_t b;
                int32_t k;
                figures(s, ms, &b, &k);
                t.live_bytes += b;
                t.live_blocks += k;
        }
        int64_t mb;
        int32_t mk;
        figures(4, ms, &mb, &mk);
        t.mapped_bytes = mb;
        t.rss = 4000000 + ms * 1000;
        t.allocs = ms;
        t.timers_live = ms >= 5000 ? 2 : 0;
        t.snapshot = snapshot;
        t.flags = snapshot ? LT_TICK_SNAPSHOT : 0;
        if (!snapshot && g->hs.ticks % g->hs.period == 0) {
                if (g->hs.nlong == LT_HIST_LONG)
                        thin(g);
                if (g->hs.ticks % g->hs.period == 0)
                        fill(g, g->hs.nlong++, &t, ms);
        }
        fill(g, LT_HIST_LONG + g->hs.recent_next, &t, ms);
        g->hs.recent_next = (g->hs.recent_next + 1) % LT_HIST_RECENT;
        if (g->hs.nrecent < LT_HIST_RECENT)
                g->hs.nrecent++;
        if (!snapshot)
                g->hs.ticks++;
}

#define SNAP_A_MS 5550  /* long gone from the ring */
#define SNAP_B_MS 11250 /* in the ring */

static int64_t live_of(unsigned site, uint64_t ms)
{
        int64_t b;
        int32_t k;
        figures(site, ms, &b, &k);
        return b;
}

/* The trace of the grid: stacks L, C, T, X from captures, M's stack; in a
 * file of format VERSION. The timeline's 64 columns are in chunks of one
 * record: 36 chunks in format 2, the last 4 listed in the header's
 * extension (they hold the recent ring); 7 in format 1. */
static int write_grid_trace(const char *path, const struct caps *k, int variant, uint32_t version)
{
        static const char *const argv[] = {"grid"};
        struct synth s;
        synth_init(&s, 3000, 1, argv);
        s.hdr.start_ns = START_NS;
        s.hdr.update_ns = s.hdr.end_ns = START_NS + (TICKS - 1) * 100000000ull;
        struct lt_module_rec x;
        if (synth_self_module(&x) < 0)
                return -1;
        synth_add_module(&s, &x);
        const uint64_t *frames[5] = {k->a.f, k->b.f, &k->c.f[0], &k->dd.f[0], k->d.f};
        const unsigned depth[5] = {3, 2, 1, 1, 2};
        uint64_t last = (TICKS - 1) * 100;
        for (unsigned i = 0; i < 4; i++) {
                int64_t b;
                int32_t n;
                figures(i, last, &b, &n);
                synth_add_stack(&s, frames[i], depth[i], 1, b, n, 1000 + (uint64_t)n,
                                (uint64_t)b + 100000);
        }
        synth_add_stack(&s, frames[4], depth[4], 1, 0, 0, 0, 0); /* M's: maps nothing itself */

        struct grid g;
        memset(&g, 0, sizeof(g));
        g.hs.period = 1;
        g.hs.tick_ms = 100;
        g.hs.state = LT_STATE_ON;
        struct lt_snapshot_rec snaps[2];
        struct lt_snapval_rec vals[8];
        size_t nvals = 0;
        memset(snaps, 0, sizeof(snaps));
        for (unsigned t = 0; t < TICKS; t++) {
                uint64_t ms = t * 100;
                for (unsigned sn = 0; sn < 2; sn++) {
                        uint64_t at = sn ? SNAP_B_MS : SNAP_A_MS;
                        if (at > ms - 100 && at < ms) {
                                tick(&g, at, sn + 1);
                                snaps[sn].time_ns = START_NS + at * 1000000;
                                snaps[sn].tick = g.hs.ticks;
                                snaps[sn].first_val = nvals;
                                for (unsigned i = 0; i < 4; i++) {
                                        int64_t b;
                                        int32_t n;
                                        figures(i, at, &b, &n);
                                        if (!n)
                                                continue;
                                        vals[nvals++] =
                                            (struct lt_snapval_rec){sn, i + 1, b, n, (uint64_t)n};
                                        snaps[sn].nvals++;
                                }
                                snprintf(snaps[sn].name, sizeof(snaps[sn].name), "%s",
                                         sn ? "snap-b" : "snap|a");
                        }
                }
                tick(&g, ms, 0);
        }
        for (unsigned i = 0; i < NSITES; i++)
                g.hist[i].stack = i < 4 ? i + 1 : (0 | LT_HIST_MAPPING);
        if (variant == 1)
                g.hs.reserved[0] = 1; /* caught thinning */
        if (variant == 2)             /* the column of the last tick being rewritten */
                g.cols[LT_HIST_LONG + (g.hs.recent_next + LT_HIST_RECENT - 1) % LT_HIST_RECENT]
                    .time_ns = 0;
        if (variant == 3) { /* damaged: a point after the end, a history's absurd figure */
                g.cols[1].time_ns = START_NS + 4000000000000000000ull;
                g.hist[1].bytes[2] = INT64_C(0x4141414141414141);
        }
        s.hdr.history = g.hs;
        struct lt_map_site_rec map = {0};
        map.stack = 5;
        map.live_bytes = 65536;
        map.regions = 1;
        map.maps = 2;
        map.bytes_mapped = 131072;
        synth_set_records(&s, LT_SEC_TIMELINE, g.cols, LT_HIST_COLS);
        synth_set_records(&s, LT_SEC_HISTORY, g.hist, NSITES);
        synth_set_records(&s, LT_SEC_SNAPSHOTS, snaps, 2);
        synth_set_records(&s, LT_SEC_SNAPVALS, vals, nvals);
        synth_set_records(&s, LT_SEC_MAP_SITES, &map, 1);
        s.base[LT_SEC_HISTORY] = 2;
        s.base[LT_SEC_TIMELINE] = 1;
        int err = synth_set_version(&s, version);
        if (!err)
                err = synth_write(&s, path);
        synth_free(&s);
        return err;
}

/* The times of the points the grid must merge into, in order. */
static size_t expected_points(uint64_t *ms, int variant)
{
        size_t n = 0;
        if (variant != 1) /* long-term: every 4th tick after two thinnings */
                for (uint64_t t = 0; t < TICKS; t += 4)
                        ms[n++] = t * 100;
        /* the ring: the last 16 ticks taken, the snapshot among them */
        uint64_t ring[LT_HIST_RECENT];
        size_t nr = 0;
        for (uint64_t t = TICKS - 1; nr < LT_HIST_RECENT; t--) {
                ring[nr++] = t * 100;
                if (nr < LT_HIST_RECENT && t * 100 > SNAP_B_MS && (t - 1) * 100 < SNAP_B_MS)
                        ring[nr++] = SNAP_B_MS;
        }
        for (size_t i = 0; i < nr; i++) {
                if (variant == 2 && i == 0)
                        continue;
                int dup = 0;
                for (size_t j = 0; j < n; j++)
                        dup |= ms[j] == ring[i];
                if (!dup)
                        ms[n++] = ring[i];
        }
        for (size_t i = 1; i < n; i++) /* insertion sort: few */
                for (size_t j = i; j > 0 && ms[j - 1] > ms[j]; j--) {
                        uint64_t t = ms[j];
                        ms[j] = ms[j - 1];
                        ms[j - 1] = t;
                }
        return n;
}

static char *run_leaktrace(const char *bin, const char *const *args, int *status, char **err)
{
        char *argv[16] = {(char *)bin};
        int n = 1;
        for (; args[n - 1]; n++)
                argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        struct proc_result r;
        proc_run(&r, argv, NULL, NULL);
        *status = r.status;
        if (err)
                *err = r.err;
        else
                free(r.err);
        return r.out;
}

static json_t *report_json(const char *bin, const char *path)
{
        const char *args[] = {"report", "--format", "json", "--top", "0", path, NULL};
        int status;
        char *out = run_leaktrace(bin, args, &status, NULL);
        json_error_t e;
        json_t *j = status == 0 ? json_loads(out, 0, &e) : NULL;
        if (!j)
                tap_diag("report of %s: status %d, output %.300s", path, status, out);
        free(out);
        return j;
}

static const char *frame0_function(json_t *site)
{
        json_t *f = json_array_get(json_object_get(site, "frames"), 0);
        return json_string_value(json_object_get(f, "function"));
}

static void check_grid(const char *bin, const char *path, int variant)
{
        json_t *j = report_json(bin, path);
        if (!tap_ok(j != NULL, "grid %d: JSON report", variant))
                return;
        uint64_t ms[LT_HIST_COLS];
        size_t n = expected_points(ms, variant);
        json_t *tl = json_object_get(j, "timeline");
        int ok = json_array_size(tl) == n;
        for (size_t i = 0; ok && i < n; i++) {
                json_t *p = json_array_get(tl, i);
                double t = json_number_value(json_object_get(p, "t"));
                int64_t live = 0;
                for (unsigned s = 0; s < 4; s++)
                        live += live_of(s, ms[i]);
                const char *snap = json_string_value(json_object_get(p, "snapshot"));
                ok &= fabs(t - (double)ms[i] / 1000) < 1e-9 &&
                      json_integer_value(json_object_get(p, "live_bytes")) == live &&
                      json_integer_value(json_object_get(p, "rss")) ==
                          (json_int_t)(4000000 + ms[i] * 1000) &&
                      json_integer_value(json_object_get(p, "allocations")) == (json_int_t)ms[i] &&
                      json_integer_value(json_object_get(p, "mapped_bytes")) == live_of(4, ms[i]) &&
                      json_integer_value(json_object_get(p, "timers_live")) ==
                          (ms[i] >= 5000 ? 2 : 0) &&
                      (ms[i] == SNAP_B_MS ? snap && !strcmp(snap, "snap-b") : !snap);
                if (!ok)
                        tap_diag("point %zu: want t %.3f, got %s", i, (double)ms[i] / 1000,
                                 json_dumps(p, JSON_COMPACT));
        }
        if (!tap_ok(ok, "grid %d: %zu points, in time order, each tick once, figures exact",
                    variant, n))
                tap_diag("got %zu points", json_array_size(tl));

        /* Sites: leaks first, then by live bytes; each one's history its
         * figures at the points. */
        static const char *const fn[NSITES] = {"leaf_a", "leaf_b", "leaf_c", "leaf_d", "inl_leaf"};
        static const char *const want_verdict[NSITES] = {"leak", "cache", "transient", "unclear",
                                                         "cache"};
        static const unsigned order[NSITES] = {0, 4, 3, 1, 2}; /* L, M 64K, X 5000, C 2000, T */
        json_t *sites = json_object_get(j, "sites");
        ok = json_array_size(sites) == NSITES;
        for (size_t i = 0; ok && i < NSITES; i++) {
                unsigned w = order[i];
                json_t *s = json_array_get(sites, i);
                const char *f = frame0_function(s);
                const char *v = json_string_value(json_object_get(s, "verdict"));
                const char *kind = json_string_value(json_object_get(s, "kind"));
                json_t *h = json_object_get(s, "history");
                int site_ok = f && !strcmp(f, fn[w]) && v && kind &&
                              !strcmp(kind, w == 4 ? "mapping" : "allocation") &&
                              json_array_size(h) == n;
                if (site_ok && variant == 0)
                        site_ok = !strcmp(v, want_verdict[w]);
                for (size_t p = 0; site_ok && p < n; p++) {
                        int64_t b;
                        int32_t k;
                        figures(w, ms[p], &b, &k);
                        json_t *hp = json_array_get(h, p);
                        site_ok = json_integer_value(json_object_get(hp, "bytes")) == b &&
                                  json_integer_value(json_object_get(hp, "blocks")) == k;
                }
                if (!site_ok)
                        tap_diag("site %zu: want %s %s, got %s", i, fn[w], want_verdict[w],
                                 json_dumps(s, JSON_COMPACT));
                ok &= site_ok;
        }
        tap_ok(ok, "grid %d: sites in order (leak first), kinds, %shistories exact", variant,
               variant ? "" : "verdicts leak/cache/transient/unclear/cache, ");
        if (variant == 0) {
                json_t *l = json_array_get(sites, 0);
                double per_s = json_number_value(json_object_get(l, "growth_bytes_per_s"));
                double per_k =
                    json_number_value(json_object_get(l, "growth_bytes_per_1k_allocations"));
                double r2 = json_number_value(json_object_get(l, "fit_r2"));
                /* 100 bytes a tick of 100 ms, 1 allocation a ms */
                tap_ok(fabs(per_s - 1000) < 0.01 && fabs(per_k - 1000) < 0.01 &&
                           fabs(r2 - 1) < 0.001 &&
                           json_integer_value(json_object_get(l, "growth_bytes")) ==
                               live_of(0, (TICKS - 1) * 100) - live_of(0, 0),
                       "grid: the leak's growth: 1000 B/s, 1000 B per 1000 allocations, R2 1 "
                       "(got %.3f, %.3f, %.4f)",
                       per_s, per_k, r2);
                json_t *v = json_object_get(j, "verdicts");
                tap_ok(json_integer_value(json_object_get(v, "leak")) == 1 &&
                           json_integer_value(json_object_get(v, "cache")) == 2 &&
                           json_integer_value(json_object_get(v, "transient")) == 1 &&
                           json_integer_value(json_object_get(v, "unclear")) == 1 &&
                           json_integer_value(json_object_get(v, "points")) == (json_int_t)n &&
                           json_integer_value(json_object_get(v, "tick_ms")) == 100 &&
                           json_is_null(json_object_get(v, "note")),
                       "grid: verdict counts, points, tick");
                json_t *sn = json_object_get(j, "snapshots");
                json_t *a = json_array_get(sn, 0), *b = json_array_get(sn, 1);
                tap_ok(json_array_size(sn) == 2 &&
                           !strcmp(json_string_value(json_object_get(a, "name")), "snap|a") &&
                           fabs(json_number_value(json_object_get(a, "t")) - 5.55) < 1e-9 &&
                           !strcmp(json_string_value(json_object_get(b, "name")), "snap-b"),
                       "grid: snapshots listed with names and times");
        }
        if (variant == 1) {
                const char *note =
                    json_string_value(json_object_get(json_object_get(j, "verdicts"), "note"));
                tap_ok(note && strstr(note, "thinned"), "grid caught thinning: says so");
        }
        json_decref(j);
}

/* A damaged grid (variant 3): the point after the file's end and the
 * history with an absurd figure left out, said in one note; check, the
 * leak tolerated, cannot pass it. */
static void check_damaged(const char *bin, const char *path)
{
        int status;
        char *err;
        const char *a[] = {"report", path, NULL};
        char *out = run_leaktrace(bin, a, &status, &err);
        tap_ok(status == 0 && strstr(out, "\nnote: the file is damaged: 1 point of the timeline "
                                           "and 1 site history out of range, left out\n"),
               "damaged grid: the report says what it left out");
        tap_ok(!strstr(out, "TiB") && !strstr(out, "PiB"), "damaged grid: no absurd figure shown");
        free(out);
        free(err);
        const char *c[] = {"check", "--max-growth", "1G", path, NULL};
        out = run_leaktrace(bin, c, &status, NULL);
        tap_ok(status == 3 && strstr(out, ": cannot pass: the history is damaged (1 point of the "
                                          "timeline and 1 site history out of range, left out): "
                                          "what was lost may hold a leak\n"),
               "damaged grid: check cannot pass it (3): %s", out);
        free(out);
}

static void check_diff_and_check(const char *bin, const char *path)
{
        char *a, *b;
        if (asprintf(&a, "%s@snap|a", path) < 0 || asprintf(&b, "%s@2", path) < 0)
                return;
        const char *args[] = {"diff", "--format", "json", a, b, NULL};
        int status;
        char *out = run_leaktrace(bin, args, &status, NULL);
        json_error_t e;
        json_t *j = json_loads(out, 0, &e);
        json_t *d = json_object_get(j, "diff");
        json_t *sites = json_object_get(d, "sites");
        /* L: 56 -> 113 blocks; T: 5 -> 8 blocks; C: 10 both times */
        json_t *l = json_array_get(sites, 0), *t = json_array_get(sites, 1);
        int ok = status == 0 && j && json_array_size(sites) == 2 &&
                 json_integer_value(json_object_get(d, "unchanged")) == 1 &&
                 !strcmp(frame0_function(l), "leaf_a") &&
                 json_integer_value(json_object_get(l, "blocks_before")) == 56 &&
                 json_integer_value(json_object_get(l, "blocks_after")) == 113 &&
                 json_integer_value(json_object_get(l, "bytes_delta")) == 5700 &&
                 !strcmp(json_string_value(json_object_get(l, "change")), "grew") &&
                 !strcmp(frame0_function(t), "leaf_c") &&
                 json_integer_value(json_object_get(t, "blocks_delta")) == 3;
        if (!tap_ok(ok, "diff FILE@NAME FILE@2: the leak +57 blocks, the churn +3, the cache "
                        "unchanged"))
                tap_diag("status %d: %.600s", status, out);
        json_decref(j);
        free(out);

        const char *bad[] = {"diff", a, "/nonexistent/x.lt@1", NULL};
        char *err;
        out = run_leaktrace(bin, bad, &status, &err);
        tap_ok(status == 2 && count_lines(err) == 1, "diff with a missing file: 2, one line");
        free(out);
        free(err);
        char *c;
        if (asprintf(&c, "%s@9", path) < 0)
                return;
        const char *nosnap[] = {"diff", a, c, NULL};
        out = run_leaktrace(bin, nosnap, &status, &err);
        tap_ok(status == 2 && strstr(err, "no snapshot '9' (it has: 1 'snap|a', 2 'snap-b')"),
               "diff with no such snapshot: 2, the ones there named");
        free(out);
        free(err);
        free(a);
        free(b);
        free(c);

        const char *chk[] = {"check", path, NULL};
        out = run_leaktrace(bin, chk, &status, NULL);
        char want[256];
        snprintf(want, sizeof(want), "%s: leak at captures.c:", path);
        tap_ok(status == 1 && count_lines(out) == 1 && strstr(out, want) &&
                   strstr(out, "(leaf_a): grew +11.6 KiB (11900 bytes)"),
               "check: exit 1, one line naming the leak's file:line");
        if (status != 1)
                tap_diag("%s", out);
        free(out);
        const char *chk2[] = {"check", "--max-growth", "11900", path, NULL};
        out = run_leaktrace(bin, chk2, &status, NULL);
        tap_ok(
            status == 0 &&
                strstr(out,
                       ": ok: no leak beyond the bounds in the program's code (places, the sites of a line "
                       "summed: 1 leak, 2 caches"),
            "check --max-growth 11900: tolerated, exit 0");
        if (status != 0)
                tap_diag("%s", out);
        free(out);
        const char *chk3[] = {"check", "--max-growth", "11899", "--max-live", "1M", path, NULL};
        out = run_leaktrace(bin, chk3, &status, NULL);
        tap_ok(status == 1, "check --max-growth 11899: exit 1");
        free(out);
        const char *chk4[] = {"check", "--max-growth", "1M", "--max-live", "10K", path, NULL};
        out = run_leaktrace(bin, chk4, &status, NULL);
        tap_ok(status == 1 && strstr(out, "live, more than --max-live 10240"),
               "check --max-live 10K: more live fails");
        free(out);
        const char *chk5[] = {"check", "--max-growth", "12x", path, NULL};
        out = run_leaktrace(bin, chk5, &status, &err);
        tap_ok(status == 2 && count_lines(err) == 1, "check with a bad bound: 2");
        free(out);
        free(err);
        const char *chk6[] = {"check", path, "/nonexistent/x.lt", NULL};
        out = run_leaktrace(bin, chk6, &status, &err);
        tap_ok(status == 2 && count_lines(out) == 1, "check with a missing file: 2");
        free(out);
        free(err);
}

/* --- well-formed XML, checked without a library --- */

static int name_char(int c, int first)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
               (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* Skips a reference at p ('&' ...;); returns its length, or 0. */
static size_t reference(const char *p)
{
        static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
        for (int i = 0; i < 5; i++)
                if (!strncmp(p, ent[i], strlen(ent[i])))
                        return strlen(ent[i]);
        if (p[1] == '#') {
                size_t i = 2;
                while (p[i] >= '0' && p[i] <= '9')
                        i++;
                return i > 2 && p[i] == ';' ? i + 1 : 0;
        }
        return 0;
}

/* A tag stack, names, attributes quoted, references known, no stray '<'
 * or '&', no control character. Returns NULL, or what is wrong. */
static const char *xml_wellformed(const char *doc)
{
        static char why[128];
        const char *stack[64];
        size_t lens[64], depth = 0;
        const char *p = doc;
        int root_seen = 0;
        if (!strncmp(p, "<?xml", 5)) {
                p = strstr(p, "?>");
                if (!p)
                        return "unterminated XML declaration";
                p += 2;
        }
        while (*p) {
                unsigned char c = (unsigned char)*p;
                if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                        return "control character";
                if (c == '&') {
                        size_t r = reference(p);
                        if (!r)
                                return "bad reference in text";
                        p += r;
                        continue;
                }
                if (c == '>')
                        return "stray '>'";
                if (c != '<') {
                        if (!depth && c != '\n' && c != ' ')
                                return "text outside the root";
                        p++;
                        continue;
                }
                if (p[1] == '/') {
                        const char *n = p + 2;
                        size_t len = 0;
                        while (name_char(n[len], !len))
                                len++;
                        if (!depth || lens[depth - 1] != len || strncmp(stack[depth - 1], n, len))
                                return "mismatched end tag";
                        depth--;
                        p = n + len;
                        while (*p == ' ')
                                p++;
                        if (*p != '>')
                                return "bad end tag";
                        p++;
                        continue;
                }
                const char *n = p + 1;
                size_t len = 0;
                while (name_char(n[len], !len))
                        len++;
                if (!len)
                        return "bad tag name";
                if (!depth && root_seen)
                        return "two roots";
                root_seen = 1;
                p = n + len;
                for (;;) {
                        while (*p == ' ' || *p == '\n')
                                p++;
                        if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                                break;
                        size_t an = 0;
                        while (name_char(p[an], !an))
                                an++;
                        if (!an || p[an] != '=' || (p[an + 1] != '"' && p[an + 1] != '\''))
                                return "bad attribute";
                        char q = p[an + 1];
                        p += an + 2;
                        while (*p && *p != q) {
                                if (*p == '<')
                                        return "'<' in an attribute";
                                if (*p == '&') {
                                        size_t r = reference(p);
                                        if (!r)
                                                return "bad reference in an attribute";
                                        p += r;
                                        continue;
                                }
                                p++;
                        }
                        if (!*p)
                                return "unterminated attribute";
                        p++;
                }
                if (*p == '/') {
                        p += 2;
                } else {
                        if (depth == 64)
                                return "too deep";
                        stack[depth] = n;
                        lens[depth++] = len;
                        p++;
                }
        }
        if (depth) {
                snprintf(why, sizeof(why), "%zu elements left open", depth);
                return why;
        }
        return root_seen ? NULL : "no root element";
}

static char *attr(const char *tag, const char *name)
{
        char key[64];
        snprintf(key, sizeof(key), " %s=\"", name);
        const char *p = strstr(tag, key);
        if (!p)
                return NULL;
        p += strlen(key);
        return strndup(p, strcspn(p, "\""));
}

static double attr_num(const char *tag, const char *name)
{
        char *v = attr(tag, name);
        double d = v ? strtod(v, NULL) : NAN;
        free(v);
        return d;
}

/* Each polyline of series SERIES: its points back through the axes must
 * be the recorded figures. */
static void check_timeline_svg(const char *svg, const char *path)
{
        const char *why = xml_wellformed(svg);
        if (!tap_ok(!why, "timeline SVG is well-formed XML"))
                tap_diag("%s", why);
        tap_ok(!strstr(svg, "<script") && !strstr(svg, "href") && !strstr(svg, "url("),
               "timeline SVG: no script, no link");
        const char *plot = strstr(svg, "<g class=\"plot\"");
        double t0 = plot ? attr_num(plot, "data-t0") : NAN, t1 = attr_num(plot, "data-t1");
        double x0 = attr_num(plot, "data-x0"), x1 = attr_num(plot, "data-x1");
        uint64_t ms[LT_HIST_COLS];
        size_t n = expected_points(ms, 0);
        static const struct {
                const char *series, *panel;
        } sv[] = {{"rss", "memory"},
                  {"live_bytes", "live"},
                  {"mapped_bytes", "memory"},
                  {"timers_live", "timers"}};
        for (size_t k = 0; k < 4; k++) {
                char key[96];
                snprintf(key, sizeof(key), "data-panel=\"%s\"", sv[k].panel);
                const char *axis = strstr(svg, key);
                double v1 = axis ? attr_num(axis, "data-v1") : NAN;
                double y0 = axis ? attr_num(axis, "data-y0") : NAN;
                double y1 = axis ? attr_num(axis, "data-y1") : NAN;
                snprintf(key, sizeof(key), "<polyline data-series=\"%s\"", sv[k].series);
                const char *pl = strstr(svg, key);
                char *pts = pl ? attr(pl, "points") : NULL;
                int ok = pts != NULL;
                char *save = NULL, *tok = pts ? strtok_r(pts, " ", &save) : NULL;
                size_t i = 0;
                for (; ok && tok; tok = strtok_r(NULL, " ", &save), i++) {
                        double x, y;
                        if (i >= n || sscanf(tok, "%lf,%lf", &x, &y) != 2) {
                                ok = 0;
                                break;
                        }
                        double t = t0 + (x - x0) / (x1 - x0) * (t1 - t0);
                        double v = (y0 - y) / (y0 - y1) * v1;
                        uint64_t m = ms[i];
                        double want = k == 0   ? 4000000.0 + (double)m * 1000
                                      : k == 1 ? (double)(live_of(0, m) + live_of(1, m) +
                                                          live_of(2, m) + live_of(3, m))
                                      : k == 2 ? (double)live_of(4, m)
                                               : (m >= 5000 ? 2.0 : 0.0);
                        /* two decimals of a pixel */
                        double tol_t = 0.006 * (t1 - t0) / (x1 - x0);
                        double tol_v = 0.006 * v1 / (y0 - y1);
                        if (fabs(t - (double)m / 1000) > tol_t || fabs(v - want) > tol_v) {
                                tap_diag("%s point %zu: (%.4f, %.1f), want (%.4f, %.1f)",
                                         sv[k].series, i, t, v, (double)m / 1000, want);
                                ok = 0;
                        }
                }
                tap_ok(ok && i == n, "timeline SVG: %s plots the %zu recorded points", sv[k].series,
                       n);
                free(pts);
        }
        tap_ok(strstr(svg, "<title>snapshot snap|a at 5.550 s</title>") &&
                   strstr(svg, "<title>snapshot snap-b at 11.250 s</title>"),
               "timeline SVG: both snapshots marked");
        (void)path;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t cap = 0;
        ssize_t n = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* A trace whose names hold what markdown and folded stacks must escape. */
#define ODD_LIB "/nonexistent/lib|pipe`tick;semi\nnl*.so"
static int write_odd_trace(const char *path, const struct caps *k)
{
        static const char *const argv[] = {"app|x", "`tick`", "*star*", "a;b"};
        struct synth s;
        synth_init(&s, 3100, 4, argv);
        struct lt_module_rec x, m;
        if (synth_self_module(&x) < 0)
                return -1;
        synth_add_module(&s, &x);
        memset(&m, 0, sizeof(m));
        strcpy(m.path, ODD_LIB);
        m.path_len = (uint16_t)strlen(m.path);
        m.bias = m.lo = 0x10000000;
        m.hi = 0x10010000;
        m.gen_loaded = 1;
        m.gen_unloaded = LT_MOD_LOADED;
        m.nsegs = 1;
        m.segs[0].memsz = 0x10000;
        synth_add_module(&s, &m);
        uint64_t odd[2] = {0x10000123, 0x10000456};
        synth_add_stack(&s, k->a.f, 3, 1, 1000, 10, 10, 1000);
        synth_add_stack(&s, odd, 2, 1, 64, 1, 1, 64);
        synth_add_stack(&s, k->d.f, 2, 1, 0, 0, 0, 0);
        struct lt_map_site_rec map = {0};
        map.stack = 3;
        map.live_bytes = 4096;
        map.regions = 1;
        map.maps = 2;
        map.bytes_mapped = 8192;
        synth_set_records(&s, LT_SEC_MAP_SITES, &map, 1);
        int err = synth_write(&s, path);
        synth_free(&s);
        return err;
}

/* Line LINE of this program's captures.c as markdown quotes it. */
static char *src_line(unsigned line)
{
        FILE *f = fopen(me, "r");
        char *text = NULL;
        size_t cap = 0;
        for (unsigned i = 0; f && i < line; i++)
                if (getline(&text, &cap, f) < 0)
                        break;
        if (f)
                fclose(f);
        if (!text)
                return strdup("?");
        text[strcspn(text, "\n")] = '\0';
        char *p = text + strspn(text, " \t");
        char *r = strdup(p);
        free(text);
        return r;
}

static void expect_exact(const char *what, const char *got, const char *want)
{
        if (!tap_ok(got && !strcmp(got, want), "%s: exactly as expected", what)) {
                size_t at = 0;
                while (got && got[at] && got[at] == want[at])
                        at++;
                tap_diag("they differ at byte %zu", at);
                tap_diag("got:\n%s", got ? got : "(null)");
                tap_diag("want:\n%s", want);
        }
}

static void check_odd(const char *bin, const char *path, const struct caps *k, const char *exe)
{
        int status;
        const char *a1[] = {"report", "--format", "collapsed", path, NULL};
        char *out = run_leaktrace(bin, a1, &status, NULL);
        char *want;
        if (asprintf(&want,
                     "capture_all;inl_outer;inl_leaf (captures.c:%u);[anonymous mapping] 4096\n"
                     "capture_all;mid_a;leaf_a (captures.c:%u) 1000\n"
                     "lib|pipe`tick:semi nl*.so+0x456;lib|pipe`tick:semi nl*.so+0x123 64\n",
                     k->d.line[0], k->a.line[0]) < 0)
                return;
        expect_exact("collapsed", out, want);
        tap_ok(status == 0, "collapsed: exit 0");
        free(out);
        free(want);

        const char *a2[] = {"report", "--format", "markdown", path, NULL};
        out = run_leaktrace(bin, a2, &status, NULL);
        char *l[6];
        unsigned lines[6] = {k->d.line[0], k->d.line[1], k->d.line[2],
                             k->a.line[0], k->a.line[1], k->a.line[2]};
        for (int i = 0; i < 6; i++)
                l[i] = src_line(lines[i]);
        if (asprintf(
                &want,
                "## leaktrace: pid 3100 ``'app|x' '`tick`' '*star*' 'a;b'``\n"
                "\n"
                "1.0 KiB (1064 bytes) live in 11 blocks.\n"
                "\n"
                "> The history is too short to judge growth (0 points, 5 needed): no verdicts.\n"
                "\n"
                "| # | verdict | growth | live | where |\n"
                "|--:|---|---|--:|---|\n"
                "| 1 | not judged (mapping) | \xe2\x80\x94 | 4.0 KiB (4096 bytes) in 1 region | `captures.c:%u "
                "(inl_leaf)` |\n"
                "| 2 | not judged | \xe2\x80\x94 | 1000 bytes in 10 blocks | `captures.c:%u (leaf_a)` |\n"
                "| 3 | not judged | \xe2\x80\x94 | 64 bytes in 1 block | ``lib\\|pipe`tick;semi nl*.so+0x123`` |\n"
                "\n"
                "### 1. `captures.c:%u (inl_leaf)`\n"
                "\n"
                "4.0 KiB (4096 bytes) in 1 region mapped (2 mmap/mprotect calls, 8.0 KiB in "
                "all).\n"
                "\n"
                "```\n"
                "#0 inl_leaf  %s:%u (inlined)\n"
                "   %5u | %s\n"
                "#1 inl_outer  %s:%u\n"
                "   %5u | %s\n"
                "#2 capture_all  %s:%u\n"
                "   %5u | %s\n"
                "(anonymous memory mapped here: mmap, or mprotect of a reservation)\n"
                "```\n"
                "\n"
                "### 2. `captures.c:%u (leaf_a)`\n"
                "\n"
                "1000 bytes in 10 blocks live (10 allocations, 1000 bytes in all).\n"
                "\n"
                "```\n"
                "#0 leaf_a  %s:%u\n"
                "   %5u | %s\n"
                "#1 mid_a  %s:%u\n"
                "   %5u | %s\n"
                "#2 capture_all  %s:%u\n"
                "   %5u | %s\n"
                "```\n"
                "\n"
                "### 3. ``lib|pipe`tick;semi nl*.so+0x123``\n"
                "\n"
                "64 bytes in 1 block live (1 allocation, 64 bytes in all).\n"
                "\n"
                "```\n"
                "#0 lib|pipe`tick;semi nl*.so+0x123\n"
                "#1 lib|pipe`tick;semi nl*.so+0x456\n"
                "```\n",
                k->d.line[0], k->a.line[0], k->d.line[0], me, k->d.line[0], k->d.line[0], l[0], me,
                k->d.line[1], k->d.line[1], l[1], me, k->d.line[2], k->d.line[2], l[2],
                k->a.line[0], me, k->a.line[0], k->a.line[0], l[3], me, k->a.line[1], k->a.line[1],
                l[4], me, k->a.line[2], k->a.line[2], l[5]) < 0)
                return;
        expect_exact("markdown", out, want);
        tap_ok(status == 0, "markdown: exit 0");
        for (int i = 0; i < 6; i++)
                free(l[i]);
        free(out);
        free(want);

        const char *a3[] = {"report", "--format", "svg", path, NULL};
        out = run_leaktrace(bin, a3, &status, NULL);
        const char *why = xml_wellformed(out);
        if (!tap_ok(status == 0 && !why, "flame graph SVG is well-formed XML"))
                tap_diag("%s", why ? why : "exit status");
        tap_ok(strstr(out, "<title>lib|pipe`tick:semi nl*.so+0x123 \xe2\x80\x94 64 bytes live "
                           "(1.24%)</title>") != NULL,
               "flame graph: a frame's tooltip, escaped");
        tap_ok(!strstr(out, "<script") && !strstr(out, "href") && !strstr(out, "url("),
               "flame graph: no script, no link");
        (void)exe;
        free(out);
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: %s LEAKTRACE LEAKTRACE_ASAN\n", argv[0]);
                return 2;
        }
        bins[0] = argv[1];
        bins[1] = argv[2];
        char exe[1024];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *dir = make_temp_dir("history");
        struct caps k;
        memset(&k, 0, sizeof(k));
        lt_test_capture_all(&k);

        char *grid[4], *grid_v1, *odd, *svg;
        for (int v = 0; v < 4; v++)
                if (asprintf(&grid[v], "%s/grid%d.lt", dir, v) < 0 ||
                    write_grid_trace(grid[v], &k, v, LT_VERSION) < 0)
                        return 2;
        if (asprintf(&grid_v1, "%s/grid0-v1.lt", dir) < 0 ||
            write_grid_trace(grid_v1, &k, 0, 1) < 0)
                return 2;
        if (asprintf(&odd, "%s/odd.lt", dir) < 0 || write_odd_trace(odd, &k) < 0 ||
            asprintf(&svg, "%s/timeline.svg", dir) < 0)
                return 2;

        for (int b = 0; b < 2; b++) {
                tap_set_prefix(b ? "(sanitized) " : "");
                for (int v = 0; v < 3; v++)
                        check_grid(bins[b], grid[v], v);
                tap_set_prefix(b ? "(sanitized) format 1: " : "format 1: ");
                check_grid(bins[b], grid_v1, 0);
                tap_set_prefix(b ? "(sanitized) " : "");
                check_diff_and_check(bins[b], grid[0]);
                check_damaged(bins[b], grid[3]);
                check_odd(bins[b], odd, &k, exe);
                const char *a[] = {"timeline", "-o", svg, grid[0], NULL};
                int status;
                char *out = run_leaktrace(bins[b], a, &status, NULL);
                free(out);
                char *doc = slurp(svg);
                tap_ok(status == 0 && doc, "timeline -o FILE: exit 0, file written");
                if (doc)
                        check_timeline_svg(doc, grid[0]);
                free(doc);
                const char *none[] = {"timeline", odd, NULL};
                char *err;
                out = run_leaktrace(bins[b], none, &status, &err);
                tap_ok(status == 2 && strstr(err, "no timeline") && !*out,
                       "timeline of a trace without one: 2, nothing written");
                free(out);
                free(err);
        }
        tap_set_prefix(NULL);
        if (!getenv("LT_TEST_KEEP"))
                rm_tree(dir);
        else
                printf("# kept %s\n", dir);
        return tap_done();
}
