/* Leaks, then replaces itself with exec; the new image leaks too. Usage:
 *   execs first execve|execvp   leaks X, execs `execs second`
 *   execs first cleared         the same by execve with an empty environment
 *   execs first chdir DIR       the same by execv, after chdir(DIR)
 *   execs second                leaks Y, says whether the tracer is preloaded */
#include "common.h"

extern char **environ;
static void *kept[4];

int main(int argc, char **argv)
{
        if (argc >= 3 && !strcmp(argv[1], "first")) {
                kept[0] = malloc(500); /* LEAK: exec_X */
                char *args[] = {argv[0], "second", NULL};
                char *none[] = {NULL};
                if (!strcmp(argv[2], "execve"))
                        execve(argv[0], args, environ);
                else if (!strcmp(argv[2], "cleared"))
                        execve(argv[0], args, none);
                else if (!strcmp(argv[2], "chdir") && argc == 4 && chdir(argv[3]) == 0)
                        execv(argv[0], args);
                else
                        execvp(argv[0], args);
                die("execs: exec of %s failed: %s\n", argv[0], strerror(errno));
        }
        if (argc == 2 && !strcmp(argv[1], "second")) {
                for (int i = 0; i < 2; i++)
                        kept[i] = malloc(600); /* LEAK: exec_Y */
                const char *pre = getenv("LD_PRELOAD");
                say("second: tracer %s\n",
                    pre && strstr(pre, "libleaktrace") ? "preloaded" : "absent");
                return 0;
        }
        die("usage: execs first execve|execvp|cleared | execs first chdir DIR | execs second\n");
}
