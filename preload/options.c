#include "options.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LT_X_DEFAULT(field, name, type, def, min, max, help) .field = def,
struct lt_options lt_opt = { LT_OPTIONS(LT_X_DEFAULT) };
static const struct lt_options defaults = { LT_OPTIONS(LT_X_DEFAULT) };
#undef LT_X_DEFAULT

static int attaching; /* lt_options_load_list(): the program runs, its environment is its own */
static int inherited = -1; /* a process this one descends from said it */

void lt_options_bad(const char *fmt, ...)
{
        /* Said once for a tree of processes: `make` under the preload said
         * one wrong LEAKTRACE_DEPTH 44 times. The first to say it marks the
         * environment its children inherit. */
        if (inherited < 0)
                inherited = getenv(LT_OPTIONS_SAID_ENV) != NULL;
        if (!attaching && inherited)
                return;
        va_list ap;
        va_start(ap, fmt);
        int said = lt_vlog_error(fmt, ap);
        va_end(ap);
        /* Not said (stderr closed): a descendant may say it. */
        if (said && !attaching)
                setenv(LT_OPTIONS_SAID_ENV, "1", 1);
}

/* Parses a decimal number in [min, max], which may end in K, M or G (KiB,
 * MiB, GiB), as the command's options take sizes (--sample 512K). Returns
 * 0, or -1 with *out unchanged. */
static int parse_long(const char *s, long min, long max, long *out)
{
        char *end;
        if (!*s)
                return -1;
        long long v = strtoll(s, &end, 10);
        int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
                    : *end == 'G' || *end == 'g'                                  ? 30
                                                                                  : 0;
        if (shift && end[1] == '\0' && end != s) {
                if (v < 0 || v > (LLONG_MAX >> shift))
                        return -1;
                v <<= shift;
                end++;
        }
        if (*end || v < min || v > max)
                return -1;
        *out = (long)v;
        return 0;
}

static void load_int(const char *var, const char *s, long min, long max, long *field)
{
        /* The suffixes are said where they help: sizes and counts of a
         * million or more, not a depth or a tick. */
        if (parse_long(s, min, max, field) < 0)
                lt_options_bad("%s=%s is not a number from %ld to %ld%s; using %ld", var, s, min,
                               max, max >= 1L << 20 ? " (K, M or G may end it)" : "", *field);
}

static void load_bool(const char *var, const char *s, long min, long max, long *field)
{
        (void)min;
        (void)max;
        if ((s[0] == '0' || s[0] == '1') && !s[1])
                *field = s[0] - '0';
        else
                lt_options_bad("%s=%s is neither 0 nor 1; using %ld", var, s, *field);
}

/* Strings are copied: the environment's own memory is the program's, and
 * programs that set their process title (nginx, redis, postgres) write
 * their title over it, so that a forked worker found LEAKTRACE_DIR empty
 * and wrote its trace in /. */
static char str_pool[8192];
static size_t str_used;

static void load_str(const char *var, const char *s, long min, long max, const char **field)
{
        (void)min;
        (void)max;
        size_t n = strlen(s) + 1;
        if (n == 1) {
                lt_options_bad("%s is empty; using %s", var, *field);
        } else if (n > sizeof(str_pool) - str_used) {
                lt_options_bad("%s is too long (%zu bytes); using %s", var, n - 1, *field);
        } else {
                *field = memcpy(str_pool + str_used, s, n);
                str_used += n;
        }
}

/* The words: checked here, in every process (a launcher too), so that
 * the first one says what is wrong. */
static void check_words(void)
{
        if (strcmp(lt_opt.start, "on") && strcmp(lt_opt.start, "paused")) {
                lt_options_bad("LEAKTRACE_START=%s is neither on nor paused; using on", lt_opt.start);
                lt_opt.start = "on";
        }
        if (strcmp(lt_opt.unwind, "fast") && strcmp(lt_opt.unwind, "libunwind")) {
                lt_options_bad("LEAKTRACE_UNWIND=%s is neither fast nor libunwind; using fast",
                               lt_opt.unwind);
                lt_opt.unwind = "fast";
        }
}

#define load_INT load_int
#define load_BOOL load_bool
#define load_STR load_str

/* The value of VAR in a list of "VAR=VALUE" strings, each ended by a NUL,
 * the list by an empty one; or NULL. */
static const char *list_get(const char *list, const char *var)
{
        size_t n = strlen(var);
        for (const char *p = list; *p; p += strlen(p) + 1)
                if (!strncmp(p, var, n) && p[n] == '=')
                        return p + n + 1;
        return NULL;
}

#define LT_X_LOAD(field, name, type, def, min, max, help)                                      \
        if ((s = GET("LEAKTRACE_" name)))                                                      \
                load_##type("LEAKTRACE_" name, s, min, max, &lt_opt.field);

void lt_options_load_list(char *list)
{
        const char *s;
        lt_opt = defaults;
        str_used = 0;
        attaching = 1;
        for (char *c = list, *end = list + strlen(list); c < end; c++)
                if (*c == '\n')
                        *c = '\0';
#define GET(var) list_get(list, var)
        LT_OPTIONS(LT_X_LOAD)
#undef GET
        check_words();
}

void lt_options_load(void)
{
        const char *s;
        str_used = 0;
#define GET(var) getenv(var)
        LT_OPTIONS(LT_X_LOAD)
#undef GET
        check_words();

        if ((s = getenv(LT_SESSION_ENV))) {
                char *end;
                unsigned long long v = strtoull(s, &end, 10);
                if (*s && !*end)
                        lt_opt.session = v;
        }
}
