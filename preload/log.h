/* Messages from inside the traced process. They format into a buffer on the
 * stack and go out with one write(2): no malloc, no stdio, safe to call from
 * any hook. */
#ifndef LT_LOG_H
#define LT_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

/* Formats %s %d %u %ld %lu %lld %llu %zu %zd %x %lx %llx %p %c %% into buf,
 * always NUL-terminated. Returns the length written. */
size_t lt_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
size_t lt_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Notes what stderr is, as the tracer starts: messages go there only while
 * descriptor 2 is that file still (never into a file of the program's
 * that took its number), and nowhere when it was closed then. */
void lt_log_init(void);

/* Writes "leaktrace[pid]: <message>\n" to stderr, unless quiet and not an
 * error. */
void lt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lt_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* lt_log_error with a va_list; returns whether the line was written. */
int lt_vlog_error(const char *fmt, va_list ap);

/* lt_log_error, once per process for each flag word. */
#define lt_log_once(flag, ...)                                                                 \
        do {                                                                                   \
                static atomic_int flag##_said;                                                 \
                if (!atomic_exchange(&flag##_said, 1))                                         \
                        lt_log_error(__VA_ARGS__);                                             \
        } while (0)

void lt_log_set_quiet(int quiet);

#endif
