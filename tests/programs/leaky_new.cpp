// The C++ half of leaky: blocks from operator new, whose report must start
// at the line with `new`, not inside libstdc++.
#include <cstddef>
#include <cstdint>
#include <malloc.h>

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

// operator new(size_t, align_val_t): libstdc++ takes it from aligned_alloc.
struct alignas(64) Aligned {
        char bytes[200];
};
static_assert(sizeof(Aligned) == 256, "the test expects 256 bytes");

extern "C" void *leaky_cxx_aligned_new(void)
{
        return new Aligned{}; /* LEAK: cxx_aligned_new */
}

// new and delete of every kind in pairs, as V8 and node do, each block
// checked with malloc_usable_size while it lives: none may stay. Returns
// the number of blocks whose usable size was below what was asked.
extern "C" int leaky_cxx_churn(int rounds)
{
        int bad = 0;
        for (int i = 0; i < rounds; i++) {
                std::size_t n = 1 + (std::size_t)(i * 37) % 3000;
                char *a = new char[n];
                Aligned *b = new Aligned{};
                int *c = new int(i);
                bad += malloc_usable_size(a) < n;
                bad += malloc_usable_size(b) < sizeof(Aligned);
                bad += malloc_usable_size(c) < sizeof(int);
                bad += (reinterpret_cast<std::uintptr_t>(b) & 63) != 0;
                delete[] a;
                delete b; /* sized, aligned delete */
                ::operator delete(c, sizeof(int));
        }
        return bad;
}
