#include "log.h"

#include "lt.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_quiet;

/* What stderr was when the tracer started: a program that closed it and
 * opened a file of its own on descriptor 2 gets no line of ours in it. */
static int err_state; /* 0: not looked at yet, 1: known, -1: closed then */
static dev_t err_dev;
static ino_t err_ino;

void lt_log_init(void)
{
        struct stat st;
        if (fstat(STDERR_FILENO, &st) == 0) {
                err_dev = st.st_dev;
                err_ino = st.st_ino;
                err_state = 1;
        } else {
                err_state = -1;
        }
}

static int stderr_ours(void)
{
        struct stat st;
        if (!err_state)
                lt_log_init();
        return err_state > 0 && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == err_dev &&
               st.st_ino == err_ino;
}

struct out {
        char *p;
        size_t left; /* room left, keeping one byte for the NUL */
};

static void put(struct out *o, char c)
{
        if (o->left) {
                *o->p++ = c;
                o->left--;
        }
}

static void put_str(struct out *o, const char *s)
{
        if (!s)
                s = "(null)";
        while (*s)
                put(o, *s++);
}

static void put_uint(struct out *o, unsigned long long v, unsigned base)
{
        char tmp[24];
        int n = 0;
        do {
                tmp[n++] = "0123456789abcdef"[v % base];
                v /= base;
        } while (v);
        while (n)
                put(o, tmp[--n]);
}

size_t lt_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
        struct out o = { buf, size ? size - 1 : 0 };

        for (; *fmt; fmt++) {
                if (*fmt != '%') {
                        put(&o, *fmt);
                        continue;
                }
                int lng = 0, sz = 0;
                fmt++;
                while (*fmt == 'l') {
                        lng++;
                        fmt++;
                }
                if (*fmt == 'z') {
                        sz = 1;
                        fmt++;
                }
                switch (*fmt) {
                case 'd': {
                        long long v = sz ? (long long)va_arg(ap, ssize_t)
                                    : lng == 2 ? va_arg(ap, long long)
                                    : lng == 1 ? va_arg(ap, long)
                                               : va_arg(ap, int);
                        if (v < 0) {
                                put(&o, '-');
                                put_uint(&o, -(unsigned long long)v, 10);
                        } else {
                                put_uint(&o, (unsigned long long)v, 10);
                        }
                        break;
                }
                case 'u':
                case 'x': {
                        unsigned long long v = sz ? va_arg(ap, size_t)
                                             : lng == 2 ? va_arg(ap, unsigned long long)
                                             : lng == 1 ? va_arg(ap, unsigned long)
                                                        : va_arg(ap, unsigned);
                        put_uint(&o, v, *fmt == 'x' ? 16 : 10);
                        break;
                }
                case 'p':
                        put_str(&o, "0x");
                        put_uint(&o, (uintptr_t)va_arg(ap, void *), 16);
                        break;
                case 's':
                        put_str(&o, va_arg(ap, const char *));
                        break;
                case 'c':
                        put(&o, (char)va_arg(ap, int));
                        break;
                case '%':
                        put(&o, '%');
                        break;
                case '\0':
                        fmt--;
                        break;
                default:
                        put(&o, '?');
                        break;
                }
        }
        if (size)
                *o.p = '\0';
        return size ? (size_t)(o.p - buf) : 0;
}

size_t lt_fmt(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        size_t n = lt_vfmt(buf, size, fmt, ap);
        va_end(ap);
        return n;
}

/* Returns whether the line went to stderr (not when it is not ours). */
static int vlog(const char *fmt, va_list ap)
{
        char buf[512];
        int saved = errno, said = 0;
        size_t n = lt_fmt(buf, sizeof(buf), "leaktrace[%d]: ", (int)getpid());
        n += lt_vfmt(buf + n, sizeof(buf) - n - 1, fmt, ap);
        buf[n++] = '\n';
        if (stderr_ours()) {
                ssize_t w;
                LT_NO_CANCEL(w = write(STDERR_FILENO, buf, n));
                said = w > 0;
        }
        errno = saved;
        return said;
}

void lt_log(const char *fmt, ...)
{
        if (log_quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        vlog(fmt, ap);
        va_end(ap);
}

void lt_log_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vlog(fmt, ap);
        va_end(ap);
}

int lt_vlog_error(const char *fmt, va_list ap)
{
        return vlog(fmt, ap);
}

void lt_log_set_quiet(int quiet)
{
        log_quiet = quiet;
}
