/* Node.js: JS timers never reach the OS timer calls (libuv keeps its own
 * heap), so in a node process the preload has node load leaktrace's JS
 * module, which tracks them from inside and writes its state beside the
 * trace file. And JIT code has no symbols: node is asked for its perf map,
 * which perfmap.h copies. */
#ifndef LT_NODE_H
#define LT_NODE_H

/* In a node process: unless LEAKTRACE_JS=0, puts `--require <module>` into
 * NODE_OPTIONS and this process's trace stem into LEAKTRACE_JS_STATE;
 * unless LEAKTRACE_JS_FRAMES=0, adds --perf-basic-prof-only-functions and
 * --interpreted-frames-native-stack and has the map copied. Nothing that
 * NODE_OPTIONS already has. Called from the constructor, before node reads
 * its environment. */
void lt_node_setup(void);

/* --perf-basic-prof also turns on V8's log, a file in node's working
 * directory (isolate-0x...-<pid>-v8.log), or node's stdout when that
 * directory cannot be written. Unless node was given an option that asks
 * for that log (--log..., --prof...), the fopen of it gets an unnamed
 * temporary file instead. */
extern int lt_node_v8_log;

/* Whether an fopen of PATH with MODE is V8 opening its log. */
int lt_node_is_v8_log(const char *path, const char *mode);

#endif
