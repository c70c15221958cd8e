/* Node.js: JS timers never reach the OS timer calls (libuv keeps its own
 * heap), so in a node process the preload has node load leaktrace's JS
 * module, which tracks them from inside and writes its state beside the
 * trace file. */
#ifndef LT_NODE_H
#define LT_NODE_H

/* In a node process, unless LEAKTRACE_JS=0: puts `--require <module>` into
 * NODE_OPTIONS and this process's trace stem into LEAKTRACE_JS_STATE.
 * Called from the constructor, before node reads its environment. */
void lt_node_setup(void);

#endif
