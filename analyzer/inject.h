/* Loading libleaktrace.so into a running process through ptrace, for
 * `leaktrace attach` (attach.c). */
#ifndef LT_INJECT_H
#define LT_INJECT_H

#include <sys/types.h>

/* Why a process cannot be traced by us, checked before any ptrace call:
 * writes "CAUSE; REMEDY" into why and returns -errno (-ESRCH, -EPERM,
 * -EBUSY), or returns 0. */
int lt_inject_check(pid_t pid, char *why, size_t size);

/* Stops the threads of PID, picks one that is neither in the allocator nor
 * in the loader (else lets them all go and tries again, for up to
 * LT_INJECT_TRIES rounds), makes it call dlopen(LIB, RTLD_NOW) and then
 * leaktrace_attach(OPTS) while the other threads run on, puts its
 * registers back and lets every thread go. The process is never left
 * stopped, whatever the outcome. Returns 0 with the entry's return value in
 * *entry_rc, or -errno with one line (without "leaktrace: ") in why. */
int lt_inject(pid_t pid, const char *lib, const char *opts, int *entry_rc, char *why,
              size_t size);

#define LT_INJECT_TRIES 100

#endif
