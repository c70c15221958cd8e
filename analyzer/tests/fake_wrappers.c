/* Functions named as allocation wrappers are, for the report test: their
 * symbols are `strdup`, `_Znwm` (operator new) and `_ZnamRKSt9nothrow_t`
 * (nothrow operator new[]), which the report must hide, and `xstrdup`,
 * which it must not. Local symbols under those names: in a file of their
 * own, so that no call to the C library's strdup meets them.
 *
 * Each stores in f[0] a return address inside itself and in f[1] its own
 * return address, which is in the caller. */
#include <stdint.h>

#define NOINLINE __attribute__((noinline))
#define RETURN_ADDRESS() ((uint64_t)(uintptr_t)__builtin_return_address(0))
/* CALL, with the number of its line stored into LINE: one line, so that the
 * line is that of the call whatever the formatting. */
#define AT(line, call) ((line) = __LINE__, (call))

const char lt_test_wrappers_file[] = __FILE__;
unsigned lt_test_xstrdup_line;

static NOINLINE uint64_t here(void)
{
        return RETURN_ADDRESS();
}

static void fake_strdup(uint64_t *f) __asm__("strdup");
static void fake_new(uint64_t *f) __asm__("_Znwm");
static void fake_new_array(uint64_t *f) __asm__("_ZnamRKSt9nothrow_t");
static void fake_xstrdup(uint64_t *f) __asm__("xstrdup");

static NOINLINE void fake_strdup(uint64_t *f)
{
        f[0] = here();
        f[1] = RETURN_ADDRESS();
}

static NOINLINE void fake_new(uint64_t *f)
{
        f[0] = here();
        f[1] = RETURN_ADDRESS();
}

static NOINLINE void fake_new_array(uint64_t *f)
{
        f[0] = here();
        f[1] = RETURN_ADDRESS();
}

static NOINLINE void fake_xstrdup(uint64_t *f)
{
        f[0] = AT(lt_test_xstrdup_line, here());
        f[1] = RETURN_ADDRESS();
}

void (*const lt_test_strdup)(uint64_t *) = fake_strdup;
void (*const lt_test_new)(uint64_t *) = fake_new;
void (*const lt_test_new_array)(uint64_t *) = fake_new_array;
void (*const lt_test_xstrdup)(uint64_t *) = fake_xstrdup;

/* An allocator entry point inlined under its own name, as ld.so's malloc
 * is: its inlined frame is hidden, the function it was inlined into shown
 * at the line of the call. */
unsigned lt_test_inline_wrapper_line;

static inline __attribute__((always_inline)) void reallocarray(uint64_t *f)
{
        f[0] = here();
}

static NOINLINE void inline_wrapper_user(uint64_t *f)
{
        AT(lt_test_inline_wrapper_line, reallocarray(f));
        f[1] = RETURN_ADDRESS();
}

void (*const lt_test_inline_wrapper)(uint64_t *) = inline_wrapper_user;

/* A C++ symbol: shown demangled. */
unsigned lt_test_mangled_line;
static void mangled(uint64_t *f) __asm__("_ZN9leaktrace4test7mangledEPm");

static NOINLINE void mangled(uint64_t *f)
{
        f[0] = AT(lt_test_mangled_line, here());
        f[1] = RETURN_ADDRESS();
}

void (*const lt_test_mangled)(uint64_t *) = mangled;
