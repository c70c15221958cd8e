/* Holds a process under ptrace, as a debugger or strace would, for the
 * test of `leaktrace attach` refusing a process traced already: seizes PID
 * (without stopping it), prints "held", and lets it go when its stdin
 * closes. Usage: ptrace_hold PID. */
#include <sys/ptrace.h>

#include "common.h"

int main(int argc, char **argv)
{
        if (argc != 2)
                die("usage: ptrace_hold PID\n");
        pid_t pid = (pid_t)atoi(argv[1]);
        if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
                die("ptrace_hold: %d: %s\n", (int)pid, strerror(errno));
        say("held\n");
        char c;
        while (read(0, &c, 1) > 0)
                ;
        return 0; /* exiting detaches */
}
