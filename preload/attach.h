/* Attach mode: libleaktrace.so loaded into a running process by `leaktrace
 * attach` (analyzer/attach.c), which calls leaktrace_attach() in it. The
 * hooks are reached through the relocation slots (GOT) of every loaded
 * object, patched here and put back exactly at detach. */
#ifndef LT_ATTACH_H
#define LT_ATTACH_H

/* 1 when this library was loaded after the C library (by dlopen), so that
 * its symbols interpose nothing: the constructor then stays out, and only
 * leaktrace_attach() starts recording. */
int lt_attach_late(void);

/* 1 while attached (between leaktrace_attach() and the detach). */
extern int lt_attached;

/* Points the slots of the malloc family, the timer calls, the calls that
 * end a timer fd and the mapping calls, in every loaded object (this one
 * too: its own calls to malloc must reach its hooks, as when preloaded), at
 * the hooks. Returns the slots patched, or -errno. */
int lt_attach_patch(void);

/* From the background thread, every LT_CONTROL_POLL_MS: patches the
 * objects loaded since the last call (dlopen), forgets those unloaded. */
void lt_attach_poll(void);

/* The detach command, from the background thread: stops recording, puts
 * every slot back as it was, finishes the trace file. Returns 0, or
 * -EOPNOTSUPP when the process was not attached (preloaded). */
int lt_attach_detach(void);

#endif
