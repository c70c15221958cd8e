/* The preload's configuration, from LEAKTRACE_* environment variables. */
#ifndef LT_OPTIONS_H
#define LT_OPTIONS_H

#include <stdint.h>

#include "leaktrace/options.h"
#include "lt.h"

#define LT_OPT_TYPE_INT long
#define LT_OPT_TYPE_BOOL long
#define LT_OPT_TYPE_STR const char *

struct lt_options {
#define LT_X_FIELD(field, name, type, def, min, max, help) LT_OPT_TYPE_##type field;
        LT_OPTIONS(LT_X_FIELD)
#undef LT_X_FIELD
        uint64_t session;
};

extern LT_HIDDEN struct lt_options lt_opt;

/* Reads the environment into lt_opt. A bad value gets one line on stderr
 * and the default. Allocates nothing. */
void lt_options_load(void);

/* Says that a LEAKTRACE_ value is wrong (one line, as lt_log_error), unless
 * a process this one descends from said one already. */
void lt_options_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Attach mode: the defaults, then the "LEAKTRACE_NAME=VALUE" lines of
 * LIST (the environment of a running process is not ours to read). LIST
 * must end with two NULs and outlive lt_opt: its newlines become NULs and
 * values point into it. */
void lt_options_load_list(char *list);

#endif
