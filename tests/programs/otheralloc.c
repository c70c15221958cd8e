/* Stands in for jemalloc or tcmalloc: a malloc family defined by another
 * object than the C library (here it hands each call to glibc's own, so
 * that nothing else changes). `leaktrace attach` must refuse a process that
 * allocates with it, and leave it running. */
#include <stddef.h>

void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size)
{
        return __libc_malloc(size);
}

void free(void *p)
{
        __libc_free(p);
}

void *calloc(size_t n, size_t size)
{
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
        return __libc_realloc(p, size);
}
