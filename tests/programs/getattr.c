/* Threads that ask for their own attributes first thing, as Rust's and the
 * JVM's do: glibc's pthread_getattr_np allocates while it holds the thread's
 * lock, and the tracer must not look for the thread's stack then, with the
 * same call (it would wait for itself). Each thread then leaks one block of
 * 48 bytes at a marked line, from a stack the walk can read whole.
 *
 * Usage: getattr [THREADS] (default 16). Prints "ok N" with N threads that
 * had a stack of more than 0 bytes.
 *   getattr exit-main  the main thread starts one that allocates every 10 ms
 *                      for 20 s, prints "ready" and calls pthread_exit(): the
 *                      process runs on with its leader a zombie. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *thread_leak(void)
{
        return malloc(48); /* LEAK: thread_leak */
}

static void *worker(void *arg)
{
        (void)arg;
        pthread_attr_t a;
        size_t size = 0;
        void *addr;
        if (pthread_getattr_np(pthread_self(), &a) == 0) {
                pthread_attr_getstack(&a, &addr, &size);
                pthread_attr_destroy(&a);
        }
        void *volatile kept = thread_leak();
        (void)kept;
        return (void *)size;
}

static void *allocating(void *arg)
{
        for (int i = 0; i < 2000; i++) {
                free(malloc(64));
                usleep(10000);
        }
        return arg;
}

int main(int argc, char **argv)
{
        if (argc > 1 && !strcmp(argv[1], "exit-main")) {
                pthread_t t;
                if (pthread_create(&t, NULL, allocating, NULL))
                        return 1;
                printf("ready\n");
                fflush(stdout);
                pthread_exit(NULL);
        }
        int n = argc > 1 ? atoi(argv[1]) : 16, ok = 0;
        for (int i = 0; i < n; i++) {
                pthread_t t;
                void *size;
                if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, &size))
                        return 1;
                ok += size != NULL;
        }
        /* And the main thread's own, which reads /proc/self/maps. */
        pthread_attr_t a;
        if (pthread_getattr_np(pthread_self(), &a) == 0)
                pthread_attr_destroy(&a);
        printf("ok %d\n", ok);
        return 0;
}
