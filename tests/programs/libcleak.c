/* Memory that grows outside the program's code, and a cache of its own:
 * 50 threads, 20 ms apart, whose start routine is libc's strdup, each
 * leaving its copy (no frame of this program on their stacks, and strdup
 * hidden as an allocator's wrapper: start_thread is all); and 64
 * blocks kept from main at once. `check` judges the program's code only,
 * unless --all-code. */
#define _GNU_SOURCE
#include "common.h"

static void *cache[64];

int main(void)
{
        for (int i = 0; i < 64; i++)
                cache[i] = malloc(100); /* CACHE: own */
        for (int i = 0; i < 50; i++) {
                pthread_t t;
                void *(*start)(void *) = (void *(*)(void *))(void (*)(void))strdup;
                if (pthread_create(&t, NULL, start, "copied by libc"))
                        die("libcleak: pthread_create failed\n");
                pthread_join(t, NULL); /* the copy, dropped */
                usleep(20 * 1000);
        }
        say("done\n");
        return 0;
}
