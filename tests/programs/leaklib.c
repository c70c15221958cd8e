/* A library that leaky loads with dlopen, leaks from, and unloads: the
 * report must still name this function, file and line. */
#include <stdlib.h>

void leaklib_leak(void **out, int count, size_t n)
{
        for (int i = 0; i < count; i++)
                out[i] = malloc(n); /* LEAK: leaklib */
}
