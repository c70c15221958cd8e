/* Configuration of libleaktrace.so, read from the environment once at start.
 * One list gives the variable names, the defaults and the help that
 * `leaktrace run --help` prints, so that the three never disagree.
 *
 * X(field, NAME, type, default, min, max, help): the variable is
 * LEAKTRACE_<NAME>. type is INT (min..max), BOOL (0 or 1) or STR.
 */
#ifndef LEAKTRACE_OPTIONS_H
#define LEAKTRACE_OPTIONS_H

#define LT_OPTIONS(X)                                                                          \
        X(dir, "DIR", STR, ".", 0, 0,                                                          \
          "directory for trace files, named leaktrace.<pid>.lt (default: the current one)")  \
        X(depth, "DEPTH", INT, 64, 1, 256, "frames kept per call stack")                       \
        X(follow, "FOLLOW", STR, "node", 0, 0,                                                 \
          "which programs started with exec are traced: node (the command, unless a shell "    \
          "or a package manager, and every node process), all, or none (1 and 0 mean all "      \
          "and none)")                                                                         \
        X(max_stacks, "MAX_STACKS", INT, 1048576, 256, 67108864,                               \
          "distinct call stacks kept; allocations from further new stacks are counted as dropped") \
        X(max_live, "MAX_LIVE", INT, 268435456, 1024, 1073741824,                              \
          "live allocations tracked at once; further ones are counted as dropped")             \
        X(quiet, "QUIET", BOOL, 0, 0, 1,                                                       \
          "1: say nothing on stderr but a wrong value or why recording fails")                  \
        X(start, "START", STR, "on", 0, 0,                                                     \
          "on: record from the start; paused: record nothing until `leaktrace ctl PID start`")  \
        X(tick_ms, "TICK_MS", INT, 1000, 10, 3600000,                                          \
          "milliseconds between two points of the timeline and the per-site history")          \
        X(history_sites, "HISTORY_SITES", INT, 16384, 16, 1048576,                             \
          "sites whose history over time is kept (about 780 bytes each)")                      \
        X(sample, "SAMPLE", INT, 0, 0, 1073741824,                                             \
          "0: record every allocation; N: sample one allocation per N bytes on average "      \
          "(Poisson), figures weighted into unbiased estimates")                               \
        X(seed, "SEED", INT, 0, 0, 2147483647,                                                 \
          "seed of the sampling; 0: a different one in every thread and run")                  \
        X(unwind, "UNWIND", STR, "fast", 0, 0,                                                 \
          "fast: each frame by a rule read once from .eh_frame, libunwind where none "         \
          "applies; libunwind: libunwind for every stack")                                     \
        X(js_frames, "JS_FRAMES", BOOL, 1, 0, 1,                                               \
          "1: node writes its perf map (--perf-basic-prof --interpreted-frames-native-stack), "  \
          "copied beside the trace, so that reports name JS functions; 0: JS frames stay "       \
          "addresses")

/* The other variables, read by name where they are used: X(NAME, default,
 * who, help), the variable LEAKTRACE_<NAME>; who is PRELOAD, NODE (the JS
 * module, node/leaktrace.js), COMMAND (leaktrace) or INTERNAL (set by
 * leaktrace or the preload for the processes they start, not by users).
 * They and LT_OPTIONS make the man page leaktrace-env(7). */
#define LT_ENV_OTHERS(X)                                                                       \
        X("JS", "1", PRELOAD, "0: do not load the JS timer module into node processes")        \
        X("JS_MODULE", "found from the preload", PRELOAD,                                      \
          "path of leaktrace.js, the JS timer module")                                         \
        X("JS_STATE", "set by the preload", NODE,                                              \
          "stem of this process's trace file; unset or naming another pid: the module does "   \
          "nothing")                                                                           \
        X("JS_GC", "auto", NODE,                                                               \
          "1: a full garbage collection before the exit write; 0: none; unset: one when the "   \
          "process ran 5 ticks or more and ends by process.exit, not by itself")                \
        X("PRELOAD", "the one installed with leaktrace", COMMAND,                              \
          "the preload that `leaktrace run` uses")                                             \
        X("SOURCE_MAPS", "auto", COMMAND,                                                      \
          "JS frames through their scripts' source maps: auto (scripts unchanged since the "   \
          "trace began), off, or always; --source-maps overrides it")                          \
        X("SESSION", "none", INTERNAL,                                                         \
          "set by `leaktrace run`: the trace files of its run carry it")                       \
        X("ROOT_PID", "none", INTERNAL,                                                        \
          "the pid of the traced command, set by its preload for its descendants")             \
        X("FOLLOW_SAID", "none", INTERNAL,                                                     \
          "set by the preload of a launcher or package manager once it said that it is not "   \
          "traced: the processes it starts do not say it again")                               \
        X("OPTIONS_SAID", "none", INTERNAL,                                                    \
          "set by the first preload that said a LEAKTRACE_ value is wrong: the processes it "  \
          "starts do not say it again")                                                        \
        X("JS_EXIT", "none", INTERNAL,                                                         \
          "set by the JS module at node's exit event: the preload stops recording there")

#define LT_SESSION_ENV "LEAKTRACE_SESSION" /* set by `leaktrace run`, not by users */
/* The pid of the command itself: set by the first process that loads the
 * preload, for its descendants; `leaktrace run` clears it for its command. */
#define LT_ROOT_ENV "LEAKTRACE_ROOT_PID"
/* Set once a launcher said it is not traced (follow.c). */
#define LT_FOLLOW_SAID_ENV "LEAKTRACE_FOLLOW_SAID"
/* Set once a wrong value was said (options.c). */
#define LT_OPTIONS_SAID_ENV "LEAKTRACE_OPTIONS_SAID"

/* What the preload returns (negated) when LEAKTRACE_DIR is writable by
 * anyone and not sticky, where another user could replace the trace: to
 * `leaktrace attach`, which says so, not as a system error. */
#define LT_ERR_UNSAFE_DIR EBADE

#endif
