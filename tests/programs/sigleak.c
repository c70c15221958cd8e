/* A signal handler that keeps a block: its stack goes through the C
 * library's signal return trampoline, which a stripped libc names nowhere;
 * the report shows it as gdb does, "<signal handler called>", between the
 * handler and the code the signal interrupted. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *volatile kept;

static void on_usr1(int sig)
{
        (void)sig;
        kept = malloc(123); /* LEAK: handler */
}

static NOINLINE void interrupted(void)
{
        raise(SIGUSR1);
}

int main(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        interrupted();
        puts(kept ? "kept" : "lost");
        return 0;
}
