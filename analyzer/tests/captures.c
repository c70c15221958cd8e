/* See captures.h. */
#include "captures.h"

#define NOINLINE __attribute__((noinline))
#define RETURN_ADDRESS() ((uint64_t)(uintptr_t)__builtin_return_address(0))
/* CALL, with the number of its line stored into LINE: one line, so that the
 * line is that of the call whatever the formatting. */
#define AT(line, call) ((line) = __LINE__, (call))

/* fake_wrappers.c */
extern unsigned lt_test_xstrdup_line;
extern void (*const lt_test_strdup)(uint64_t *);
extern void (*const lt_test_new)(uint64_t *);
extern void (*const lt_test_new_array)(uint64_t *);
extern void (*const lt_test_xstrdup)(uint64_t *);
extern unsigned lt_test_inline_wrapper_line;
extern void (*const lt_test_inline_wrapper)(uint64_t *);
extern unsigned lt_test_mangled_line;
extern void (*const lt_test_mangled)(uint64_t *);

static NOINLINE uint64_t here(void)
{
        return RETURN_ADDRESS();
}

static NOINLINE void leaf_a(struct cap *c)
{
        c->f[0] = AT(c->line[0], here());
        c->f[1] = RETURN_ADDRESS();
}

static NOINLINE void mid_a(struct cap *c)
{
        AT(c->line[1], leaf_a(c));
        c->f[2] = RETURN_ADDRESS();
}

/* Calls every wrapper from one line: f[0..3] are strdup's, _Znwm's and
 * _ZnamRKSt9nothrow_t's inner addresses, then the return into this function,
 * the same for all (a synthetic stack may reuse it). */
static NOINLINE void leaf_b(struct cap *c, uint64_t inner[3])
{
        uint64_t w[2];
        lt_test_new(w);
        inner[1] = w[0];
        lt_test_new_array(w);
        inner[2] = w[0];
        AT(c->line[0], lt_test_strdup(w));
        inner[0] = w[0];
        c->f[0] = w[1];
        c->f[1] = RETURN_ADDRESS();
}

static inline __attribute__((always_inline)) void inl_leaf(struct cap *c)
{
        c->f[0] = AT(c->line[0], here());
}

static NOINLINE void inl_outer(struct cap *c)
{
        AT(c->line[1], inl_leaf(c));
        c->f[1] = RETURN_ADDRESS();
}

static NOINLINE void leaf_c(struct cap *c)
{
        c->f[0] = AT(c->line[0], here());
}

static NOINLINE void leaf_d(struct cap *c)
{
        c->f[0] = AT(c->line[0], here());
}

static NOINLINE void capture_all(struct caps *k)
{
        AT(k->a.line[2], mid_a(&k->a));
        AT(k->b.line[1], leaf_b(&k->b, k->wrapper_inner));
        AT(k->x.line[1], lt_test_xstrdup(k->x.f));
        k->x.line[0] = lt_test_xstrdup_line;
        AT(k->d.line[2], inl_outer(&k->d));
        AT(k->w.line[1], lt_test_inline_wrapper(k->w.f));
        k->w.line[0] = lt_test_inline_wrapper_line;
        AT(k->m.line[1], lt_test_mangled(k->m.f));
        k->m.line[0] = lt_test_mangled_line;
        leaf_c(&k->c);
        leaf_d(&k->dd);
}

const char lt_test_captures_file[] = __FILE__;

void lt_test_capture_all(struct caps *k)
{
        capture_all(k);
}
