/* Timers per creation site. OS timers come from the trace's records, which
 * the preload keeps for every timer alive (a slot is freed when the timer
 * ends); their creation stacks are shown as allocation stacks are, so
 * sites whose shown frames are the same are one site. JS timers come from
 * node/leaktrace.js's state file beside the trace, already per site; its
 * entries that share an application frame (a timer and the timers re-armed
 * from its callbacks) are one site here. */
#define _GNU_SOURCE
#include "timers.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static const char *const kind_name[LT_TIMER__COUNT] = {
#define LT_X_NAME(K, name) [LT_TIMER_##K] = name,
    LT_TIMER_KINDS(LT_X_NAME)
#undef LT_X_NAME
};

const char *lt_timer_kind_name(unsigned kind)
{
        return kind < LT_TIMER__COUNT && kind_name[kind] ? kind_name[kind] : "unknown";
}

/* The moment the trace speaks of: its end, or its last update for a
 * process that did not end. */
static uint64_t trace_now(const struct lt_header *h)
{
        return h->end_ns ? h->end_ns : h->update_ns;
}

/* A live record is a live timer, except an itimer on the real clock (or
 * alarm) that was armed once and whose expiry has passed: the kernel
 * disarmed it without a call we could see. The CPU-time itimers expire
 * by CPU time, which the trace does not keep: they stay live. */
static bool is_live(const struct lt_timer_rec *r, uint64_t now)
{
        if (r->state != LT_TIMER_LIVE)
                return false;
        bool real =
            r->kind == LT_TIMER_ALARM || (r->kind == LT_TIMER_ITIMER && r->clock == ITIMER_REAL);
        uint64_t expiry;
        if (real && !r->interval_ns && now &&
            !__builtin_add_overflow(r->armed_ns, r->value_ns, &expiry) && expiry <= now)
                return false;
        return true;
}

/* The site of timer site record I: found by kind and shown frames, or
 * made. Returns it, or NULL on -ENOMEM. */
static struct lt_timer_site *native_site(struct lt_report *rep, struct lt_timers *t,
                                         const struct lt_timer_site_rec *sr, uint64_t *buf)
{
        const struct lt_trace *tr = rep->trace;
        unsigned first_skip = 0;
        int n = 0;
        buf[0] = sr->kind | (sr->stack ? 0 : 0x100u);
        if (sr->stack) {
                n = lt_report_shown_frames(rep, &tr->stacks[sr->stack - 1], buf + 1, &first_skip);
                if (n < 0)
                        return NULL;
        }
        size_t key_len = sizeof(uint64_t) + LT_KEY_BYTES(n);
        struct lt_timer_site *s;
        HASH_FIND(hh, t->native, buf, key_len, s);
        if (s)
                return s;
        size_t words = 1 + LT_KEY_WORDS(n);
        if (!(s = calloc(1, sizeof(*s))) || !(s->hash_key = malloc(words * sizeof(uint64_t)))) {
                free(s);
                return NULL;
        }
        memcpy(s->hash_key, buf, words * sizeof(uint64_t));
        s->kind = sr->kind;
        s->inherited = !sr->stack;
        s->oldest_ns = UINT64_MAX;
        s->stack.key = s->hash_key + 1;
        s->stack.nframes = (unsigned)n;
        s->stack.first_skip = first_skip;
        s->stack.truncated = sr->stack && (tr->stacks[sr->stack - 1].flags & LT_STACK_TRUNCATED);
        HASH_ADD_KEYPTR(hh, t->native, s->hash_key, key_len, s);
        return s;
}

static int u64_cmp(const void *pa, const void *pb)
{
        uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
        return a < b ? -1 : a > b;
}

static int build_native(struct lt_report *rep, struct lt_timers *t)
{
        const struct lt_trace *tr = rep->trace;
        if (!tr->ntimer_sites)
                return 0;
        struct lt_timer_site **of = calloc(tr->ntimer_sites, sizeof(*of));
        uint64_t *buf = malloc((1 + LT_KEY_WORDS(LT_MAX_DEPTH + 1)) * sizeof(uint64_t));
        int err = of && buf ? 0 : -ENOMEM;
        for (uint64_t i = 0; i < tr->ntimer_sites && !err; i++) {
                const struct lt_timer_site_rec *sr = &tr->timer_sites[i];
                if (!(of[i] = native_site(rep, t, sr, buf)))
                        err = -ENOMEM;
                else
                        of[i]->created += sr->created;
        }
        uint64_t now = trace_now(&tr->hdr);
        for (uint64_t i = 0; i < tr->ntimers && !err; i++) {
                const struct lt_timer_rec *r = &tr->timers[i];
                if (!is_live(r, now))
                        continue;
                struct lt_timer_site *s = of[r->site]; /* in range: trace.c checked */
                s->live++;
                /* never armed, or disarmed by a zero value */
                if (r->value_ns || r->interval_ns)
                        s->armed = true;
                if (r->created_ns < s->oldest_ns)
                        s->oldest_ns = r->created_ns;
                if (r->interval_ns && (!s->repeating || r->created_ns >= s->newest_repeat_ns)) {
                        s->repeating = true;
                        s->interval_ns = r->interval_ns;
                        s->newest_repeat_ns = r->created_ns;
                }
        }
        struct lt_timer_site *s, *tmp;
        HASH_ITER(hh, t->native, s, tmp)
        {
                s->oldest_age_s = -1;
                if (s->live && now)
                        s->oldest_age_s =
                            now > s->oldest_ns ? (double)(now - s->oldest_ns) / 1e9 : 0;
                if (s->live && !err && !(s->live_created_ns = malloc(s->live * sizeof(uint64_t))))
                        err = -ENOMEM;
                s->live = 0; /* counted again as they are filled in */
        }
        for (uint64_t i = 0; i < tr->ntimers && !err; i++) {
                const struct lt_timer_rec *r = &tr->timers[i];
                if (is_live(r, now)) {
                        s = of[r->site];
                        s->live_created_ns[s->live++] = r->created_ns;
                }
        }
        HASH_ITER(hh, t->native, s, tmp)
        {
                if (s->live_created_ns)
                        qsort(s->live_created_ns, (size_t)s->live, sizeof(uint64_t), u64_cmp);
        }
        free(buf);
        free(of);
        return err;
}

static int64_t add_sat(int64_t a, int64_t b)
{
        int64_t c;
        return __builtin_add_overflow(a, b, &c) ? INT64_MAX : c;
}

static int str_cmp(const char *a, const char *b)
{
        return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

/* JS sites in the order of their application frame. */
static int js_at_cmp(const struct lt_js_site *a, const struct lt_js_site *b)
{
        int c = str_cmp(a->at.file, b->at.file);
        if (c)
                return c;
        if (a->at.line != b->at.line)
                return a->at.line < b->at.line ? -1 : 1;
        if (a->at.column != b->at.column)
                return a->at.column < b->at.column ? -1 : 1;
        return str_cmp(a->at.function, b->at.function);
}

static int js_ptr_cmp(const void *pa, const void *pb)
{
        return js_at_cmp(*(const struct lt_js_site *const *)pa,
                         *(const struct lt_js_site *const *)pb);
}

static bool same_frame(const struct lt_js_frame *a, const struct lt_js_frame *b)
{
        return !str_cmp(a->file, b->file) && a->line == b->line && a->column == b->column &&
               !str_cmp(a->function, b->function);
}

/* The frames of entry E as a report shows them. Returns 0 or -ENOMEM. */
static int js_frames(struct lt_timer_site *s, const struct lt_js_site *e)
{
        if (!(s->js_frames = malloc((e->nframes + 1) * sizeof(*s->js_frames))))
                return -ENOMEM;
        s->js_frames[s->njs_frames++] = &e->at;
        bool skipped = false;
        for (unsigned i = 0; i < e->nframes; i++) {
                if (!skipped && same_frame(&e->frames[i], &e->at))
                        skipped = true;
                else
                        s->js_frames[s->njs_frames++] = &e->frames[i];
        }
        s->node_own = true;
        for (unsigned i = 0; i < s->njs_frames && s->node_own; i++)
                s->node_own = s->js_frames[i]->file && !strncmp(s->js_frames[i]->file, "node:", 5);
        return 0;
}

static int merge_js(struct lt_timers *t)
{
        const struct lt_js_state *st = &t->state;
        if (!st->nsites)
                return 0;
        const struct lt_js_site **by = malloc(st->nsites * sizeof(*by));
        t->js_site_of = malloc(st->nsites * sizeof(*t->js_site_of));
        if (!by || !t->js_site_of || !(t->js = calloc(st->nsites, sizeof(*t->js)))) {
                free(by);
                return -ENOMEM;
        }
        for (size_t i = 0; i < st->nsites; i++)
                by[i] = &st->sites[i];
        qsort(by, st->nsites, sizeof(*by), js_ptr_cmp);
        double oldest = INFINITY;
        uint64_t repeat_live = 0;
        for (size_t i = 0; i < st->nsites; i++) {
                const struct lt_js_site *e = by[i];
                if (!i || js_at_cmp(by[i - 1], e)) {
                        t->njs++;
                        oldest = INFINITY;
                        repeat_live = 0;
                }
                struct lt_timer_site *s = &t->js[t->njs - 1];
                t->js_site_of[e - st->sites] = t->njs - 1;
                if (!s->js) {
                        s->kind = LT_TIMER_JS;
                        s->js = e;
                        s->oldest_age_s = -1;
                        if (js_frames(s, e) < 0) {
                                free(by);
                                return -ENOMEM;
                        }
                }
                s->live = add_sat(s->live, e->live > INT64_MAX ? INT64_MAX : (int64_t)e->live);
                s->created += e->created;
                /* the interval of the entry with the most live repeating timers */
                s->armed = true;
                if (e->repeating && e->live && (!s->repeating || e->live > repeat_live)) {
                        s->repeating = true;
                        s->interval_ns = (uint64_t)llround(fmin(e->interval_ms * 1e6, 1e18));
                        repeat_live = e->live;
                }
                if (e->live && e->oldest_ms >= 0 && e->oldest_ms < oldest) {
                        oldest = e->oldest_ms;
                        s->oldest_age_s = st->time_ms > oldest ? (st->time_ms - oldest) / 1e3 : 0;
                }
        }
        free(by);
        return 0;
}

/* The JS state beside the trace, when there is one that belongs to it. */
static int load_js(struct lt_report *rep, struct lt_timers *t)
{
        const struct lt_trace *tr = rep->trace;
        size_t len = strlen(tr->path);
        if (len < 3 || strcmp(tr->path + len - 3, ".lt"))
                return 0; /* named by hand: no state file can be told to be its */
        char *path = lt_js_state_path(tr->path);
        if (!path)
                return -ENOMEM;
        char why[512];
        int err = lt_js_load(path, &t->state, why, sizeof(why));
        if (!err && t->state.pid != tr->hdr.pid) {
                snprintf(why, sizeof(why), "written by pid %u, not by pid %u of the trace",
                         t->state.pid, tr->hdr.pid);
                lt_js_free(&t->state);
                err = -EINVAL;
        }
        if (!err)
                err = lt_js_map_sources(&t->state, tr->hdr.start_ns);
        if (err == -ENOMEM) {
                free(path);
                return err;
        }
        if (err && err != -ENOENT)
                fprintf(stderr, "leaktrace: warning: %s: %s; JS timers left out of the report\n",
                        path, why);
        free(path);
        t->has_js = !err;
        return t->has_js ? merge_js(t) : 0;
}

int lt_timer_rank_cmp(bool repeating_a, int64_t live_a, uint64_t created_a, bool repeating_b,
                      int64_t live_b, uint64_t created_b)
{
        if (repeating_a != repeating_b)
                return repeating_a ? -1 : 1;
        if (live_a != live_b)
                return live_a > live_b ? -1 : 1;
        if (created_a != created_b)
                return created_a > created_b ? -1 : 1;
        return 0;
}

/* The report's order (lt_timer_rank_cmp); the rest only so that the order
 * never depends on hashing. */
static int site_cmp(const void *pa, const void *pb)
{
        const struct lt_timer_site *a = *(struct lt_timer_site *const *)pa;
        const struct lt_timer_site *b = *(struct lt_timer_site *const *)pb;
        int c = lt_timer_rank_cmp(a->repeating, a->live, a->created, b->repeating, b->live,
                                  b->created);
        if (c)
                return c;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (a->kind == LT_TIMER_JS)
                return js_at_cmp(a->js, b->js);
        const uint64_t *ka = a->hash_key, *kb = b->hash_key;
        size_t na = 1 + 2 * (size_t)a->stack.nframes, nb = 1 + 2 * (size_t)b->stack.nframes;
        for (size_t i = 0; i < na && i < nb; i++)
                if (ka[i] != kb[i])
                        return ka[i] < kb[i] ? -1 : 1;
        return na < nb ? -1 : na > nb;
}

int lt_timers_build(struct lt_report *rep)
{
        struct lt_timers *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        rep->timers = t;
        int err = build_native(rep, t);
        if (!err)
                err = load_js(rep, t);
        if (err)
                return err;
        size_t n = HASH_COUNT(t->native) + t->njs;
        if (!(t->sites = malloc((n + 1) * sizeof(*t->sites))))
                return -ENOMEM;
        struct lt_timer_site *s, *tmp;
        HASH_ITER(hh, t->native, s, tmp)
        {
                t->live = add_sat(t->live, s->live);
                t->created += s->created;
                if (s->live > 0)
                        t->sites[t->nsites++] = s;
        }
        for (size_t i = 0; i < t->njs; i++) {
                s = &t->js[i];
                t->live = add_sat(t->live, s->live);
                if (s->node_own)
                        t->live_node_own = add_sat(t->live_node_own, s->live);
                t->created += s->created;
                if (s->live > 0)
                        t->sites[t->nsites++] = s;
        }
        qsort(t->sites, t->nsites, sizeof(*t->sites), site_cmp);
        return 0;
}

void lt_timers_free(struct lt_timers *t)
{
        if (!t)
                return;
        struct lt_timer_site *s, *tmp;
        HASH_ITER(hh, t->native, s, tmp)
        {
                HASH_DEL(t->native, s);
                free(s->hash_key);
                free(s->live_created_ns);
                free(s);
        }
        for (size_t i = 0; i < t->njs; i++)
                free(t->js[i].js_frames);
        free(t->js);
        free(t->js_site_of);
        free(t->sites);
        lt_js_free(&t->state);
        free(t);
}
