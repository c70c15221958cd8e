/* Leaks around fork. Usage:
 *   forks basic      parent leaks A and A2, forks; the child frees A2, leaks
 *                    B and exits 0; the parent leaks C, waits and exits 0.
 *   forks stress N   N forks while three threads allocate hard; each child
 *                    allocates a little and exits 0. */
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"

static void *kept[8];

static void wait_ok(pid_t pid)
{
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("forks: child %d failed (status 0x%x)\n", (int)pid, status);
}

static int basic(void)
{
        kept[0] = malloc(1111); /* LEAK: fork_A */
        kept[1] = malloc(4444); /* LEAK: fork_A2 */
        pid_t pid = fork();
        if (pid < 0)
                die("forks: fork failed\n");
        if (pid == 0) {
                free(kept[1]);
                for (int i = 0; i < 2; i++)
                        kept[2 + i] = malloc(2222); /* LEAK: fork_B */
                say("child %d\n", (int)getpid());
                exit(0);
        }
        kept[4] = malloc(3333); /* LEAK: fork_C */
        wait_ok(pid);
        say("parent %d\n", (int)getpid());
        return 0;
}

static atomic_int stop;

static void *hammer(void *arg)
{
        uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
        void *slot[16] = {0};
        for (unsigned i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
                int j = (int)(i % 16);
                free(slot[j]);
                slot[j] = malloc(rng_size(&rng));
        }
        for (int j = 0; j < 16; j++)
                free(slot[j]);
        return NULL;
}

static int stress(int n)
{
        pthread_t t[3];
        for (long i = 0; i < 3; i++)
                if (pthread_create(&t[i], NULL, hammer, (void *)(i + 1)))
                        die("forks: pthread_create failed\n");
        for (int k = 0; k < n; k++) {
                usleep(2000); /* let the threads get going between forks */
                pid_t pid = fork();
                if (pid < 0)
                        die("forks: fork failed\n");
                if (pid == 0) {
                        uint64_t rng = (uint64_t)k + 7;
                        for (int i = 0; i < 1000; i++)
                                free(malloc(rng_size(&rng)));
                        exit(0);
                }
                wait_ok(pid);
        }
        atomic_store(&stop, 1);
        for (int i = 0; i < 3; i++)
                pthread_join(t[i], NULL);
        say("forks: %d forks done\n", n);
        return 0;
}

/* A worker that names itself after its fork, as nginx's do: its first
 * allocation comes before (the child's file is a copy of its parent's,
 * with the parent's command line), the title after, written over its
 * arguments; it then lives 300 ms, for the ticks that see the title. */
static int title(int argc, char **argv)
{
        pid_t pid = fork();
        if (pid < 0)
                die("forks: fork failed\n");
        if (pid == 0) {
                free(malloc(64));
                size_t room = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
                memset(argv[0], 0, room);
                snprintf(argv[0], room, "forks: worker process");
                usleep(300000);
                exit(0);
        }
        wait_ok(pid);
        say("title %d\n", (int)pid);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 2 && !strcmp(argv[1], "basic"))
                return basic();
        if (argc == 2 && !strcmp(argv[1], "title"))
                return title(argc, argv);
        if (argc == 3 && !strcmp(argv[1], "stress"))
                return stress(atoi(argv[2]));
        die("usage: forks basic | forks title | forks stress N\n");
}
