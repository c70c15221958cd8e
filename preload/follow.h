/* Which processes of a traced tree record: LEAKTRACE_FOLLOW. */
#ifndef LT_FOLLOW_H
#define LT_FOLLOW_H

#include "leaktrace/node_exe.h" /* lt_is_node_exe() */

/* Called once from the constructor, after the options are read: 1 if this
 * process records, 0 if it only passes the preload on. Marks the command
 * itself for its descendants, and with LEAKTRACE_FOLLOW=none takes the
 * preload out of LD_PRELOAD. */
int lt_follow_decide(void);

#endif
