// The C++ half of leaky: blocks from operator new, whose report must start
// at the line with `new`, not inside libstdc++.
#include <cstddef>

struct Widget {
        long field[6];
};
static_assert(sizeof(Widget) == 48, "the test expects 48 bytes");

extern "C" void *leaky_cxx_new(void)
{
        return new Widget{}; /* LEAK: cxx_new */
}

extern "C" void *leaky_cxx_new_array(void)
{
        return new int[25]; /* LEAK: cxx_new_array */
}
