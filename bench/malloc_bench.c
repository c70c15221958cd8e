/* A malloc-heavy workload: each thread keeps a sliding window of live
 * blocks of random sizes (16 bytes to 4 KB), replacing one per step, and
 * allocates through call paths of random depth (2 to 40 frames), so that
 * the tracer sees many distinct stacks of many depths.
 *
 *   malloc_bench [threads] [steps per thread]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 1024

static long steps = 2000000;

/* Each level is a real frame: the tracer must unwind through all of them. */
__attribute__((noinline)) static void *alloc_at_depth(int depth, size_t size)
{
        if (depth > 0) {
                void *p = alloc_at_depth(depth - 1, size);
                __asm__ volatile("" ::: "memory");
                return p;
        }
        return malloc(size);
}

static void *worker(void *arg)
{
        unsigned s = (unsigned)(uintptr_t)arg * 2654435761u;
        void **window = calloc(WINDOW, sizeof(void *));
        for (long i = 0; i < steps; i++) {
                s = s * 1103515245u + 12345u;
                unsigned slot = (s >> 8) % WINDOW;
                free(window[slot]);
                size_t size = 16 + (s >> 4) % 4081;
                window[slot] = alloc_at_depth(2 + (int)((s >> 20) % 39), size);
                memset(window[slot], (int)i, 16);
        }
        for (int i = 0; i < WINDOW; i++)
                free(window[i]);
        free(window);
        return NULL;
}

int main(int argc, char **argv)
{
        int threads = argc > 1 ? atoi(argv[1]) : 1;
        if (argc > 2)
                steps = atol(argv[2]);
        if (threads < 1 || threads > 64 || steps < 1) {
                fprintf(stderr, "usage: malloc_bench [threads 1-64] [steps]\n");
                return 2;
        }
        pthread_t t[64];
        for (int i = 0; i < threads; i++)
                pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
        for (int i = 0; i < threads; i++)
                pthread_join(t[i], NULL);
        return 0;
}
