/* Prints where format.h puts the header fields that the end-to-end tests
 * read from trace files, so that the tests never restate the layout. */
#include <stdio.h>

#include "leaktrace/format.h"

#define FIELD(f)                                                                                   \
        printf("\"%s\": {\"offset\": %zu, \"size\": %zu},\n", #f, offsetof(struct lt_header, f),   \
               sizeof(((struct lt_header *)0)->f))

int main(void)
{
        printf("{\n");
        /* What the process passed to exit() or _exit(), when LT_F_STATUS. */
        FIELD(exit_status);
        printf("\"LT_F_STATUS\": %u,\n", LT_F_STATUS);
        FIELD(magic);
        FIELD(version);
        FIELD(flags);
        FIELD(pid);
        FIELD(ppid);
        FIELD(depth);
        FIELD(fork_parent);
        FIELD(exec_count);
        FIELD(perf_map_bytes);
        printf("\"LT_MAGIC\": \"%s\",\n", LT_MAGIC);
        printf("\"LT_F_COMPLETE\": %u,\n\"LT_F_EXEC\": %u,\n\"LT_F_FORK_CHILD\": %u,\n"
               "\"LT_F_PERF_MAP\": %u,\n\"LT_F_ATTACHED\": %u\n}\n",
               LT_F_COMPLETE, LT_F_EXEC, LT_F_FORK_CHILD, LT_F_PERF_MAP, LT_F_ATTACHED);
        return 0;
}
