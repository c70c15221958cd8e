// Functions inlined into their callers from inside namespaces and a class,
// with no linkage name of their own (static, in an anonymous namespace,
// inline only): the report names them whole (app::net::grab), not by their
// bare DWARF name (grab). always_inline inlines them at -O0 too.
#include <cstdio>
#include <cstdlib>

#define INLINE inline __attribute__((always_inline))

namespace app {
namespace net {
static INLINE void *grab(size_t n)
{
        return malloc(n); /* LEAK: grab */
}
struct Pool {
        static INLINE void *take(size_t n) { return grab(n + 1); }
};
namespace {
INLINE void *anon(size_t n)
{
        return Pool::take(n);
}
} // namespace
__attribute__((noinline)) void *entry(size_t n)
{
        return anon(n);
}
} // namespace net
} // namespace app

int main(int argc, char **)
{
        void *volatile kept = app::net::entry(76 + (size_t)argc);
        (void)kept;
        puts("nsinline");
        return 0;
}
