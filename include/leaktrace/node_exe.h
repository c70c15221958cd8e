/* Whether a program is node, by its file name: node, nodejs, node20,
 * node-20.1 (a versioned install's). The preload asks it to set node up,
 * the analyzer to say what a node process lacks. */
#ifndef LEAKTRACE_NODE_EXE_H
#define LEAKTRACE_NODE_EXE_H

#include <string.h>

static inline int lt_is_node_exe(const char *exe)
{
        const char *slash = strrchr(exe, '/');
        const char *base = slash ? slash + 1 : exe;
        if (strncmp(base, "node", 4))
                return 0;
        for (const char *p = base + 4; *p; p++)
                if (!strchr("0123456789.-js", *p))
                        return 0;
        return 1;
}

#endif
