#include "options.h"

#include <stdlib.h>

#include "log.h"

struct lt_options lt_opt = {
#define LT_X_DEFAULT(field, name, type, def, min, max, help) .field = def,
        LT_OPTIONS(LT_X_DEFAULT)
#undef LT_X_DEFAULT
};

/* Parses a decimal number in [min, max]. Returns 0, or -1 with *out unchanged. */
static int parse_long(const char *s, long min, long max, long *out)
{
        char *end;
        if (!*s)
                return -1;
        long long v = strtoll(s, &end, 10);
        if (*end || v < min || v > max)
                return -1;
        *out = (long)v;
        return 0;
}

static void load_int(const char *var, const char *s, long min, long max, long *field)
{
        if (parse_long(s, min, max, field) < 0)
                lt_log_error("%s=%s is not a number from %ld to %ld; using %ld", var, s, min, max,
                             *field);
}

static void load_bool(const char *var, const char *s, long min, long max, long *field)
{
        (void)min;
        (void)max;
        if ((s[0] == '0' || s[0] == '1') && !s[1])
                *field = s[0] - '0';
        else
                lt_log_error("%s=%s is neither 0 nor 1; using %ld", var, s, *field);
}

static void load_str(const char *var, const char *s, long min, long max, const char **field)
{
        (void)min;
        (void)max;
        if (*s)
                *field = s;
        else
                lt_log_error("%s is empty; using %s", var, *field);
}

#define load_INT load_int
#define load_BOOL load_bool
#define load_STR load_str

void lt_options_load(void)
{
        const char *s;
#define LT_X_LOAD(field, name, type, def, min, max, help)                                      \
        if ((s = getenv("LEAKTRACE_" name)))                                                   \
                load_##type("LEAKTRACE_" name, s, min, max, &lt_opt.field);
        LT_OPTIONS(LT_X_LOAD)
#undef LT_X_LOAD

        if ((s = getenv(LT_SESSION_ENV))) {
                char *end;
                unsigned long long v = strtoull(s, &end, 10);
                if (*s && !*end)
                        lt_opt.session = v;
        }
}
