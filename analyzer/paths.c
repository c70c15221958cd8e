/* Paths and file: URLs, lexically, and whole files (paths.h). */
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lt_path_lexical(char *buf, size_t len, const char *path)
{
        size_t n = 0;
        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                size_t seg = strcspn(p, "/");
                if (!seg)
                        break;
                if (seg == 1 && p[0] == '.') {
                        /* nothing */
                } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
                        while (n > 0 && buf[--n] != '/')
                                ;
                } else {
                        if (n + 1 + seg >= len)
                                return path; /* too long: as it is */
                        buf[n++] = '/';
                        memcpy(buf + n, p, seg);
                        n += seg;
                }
                p += seg;
        }
        if (len < 2)
                return path;
        if (!n)
                buf[n++] = '/';
        buf[n] = '\0';
        return buf;
}

int lt_hex_digit(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

char *lt_file_url_path(const char *s, size_t len, int *is_url)
{
        const char *p = s;
        size_t n = len;
        *is_url = 0;
        if (n > 7 && !memcmp(p, "file://", 7)) {
                p += 7;
                n -= 7;
                if (n > 9 && !memcmp(p, "localhost", 9))
                        p += 9, n -= 9;
        }
        if (p == s || !n || *p != '/')
                return strndup(s, len);
        char *out = malloc(n + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;
                if (p[i] != '%') {
                        *o++ = p[i];
                } else if (i + 2 < n && (hi = lt_hex_digit(p[i + 1])) >= 0 &&
                           (lo = lt_hex_digit(p[i + 2])) >= 0 && (hi | lo)) {
                        *o++ = (char)(hi << 4 | lo);
                        i += 2;
                } else {
                        free(out);
                        return strndup(s, len);
                }
        }
        *o = '\0';
        *is_url = 1;
        return out;
}

int lt_has_scheme(const char *s)
{
        size_t i = 0;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return 0;
        while (s[i] && s[i] != ':') {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '-' || c == '.'))
                        return 0;
                i++;
        }
        return s[i] == ':' && i > 1;
}

int lt_read_file(const char *path, size_t max, char **buf, size_t *len, int64_t *mtime_ns)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        int err = 0;
        if (fstat(fd, &st) < 0)
                err = -errno;
        else if (!S_ISREG(st.st_mode))
                err = -EINVAL;
        else if ((uint64_t)st.st_size > max)
                err = -EFBIG;
        char *b = NULL;
        size_t n = 0;
        if (!err && !(b = malloc((size_t)st.st_size + 1)))
                err = -ENOMEM;
        while (!err && n < (size_t)st.st_size) {
                ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        err = -errno;
                else if (r == 0)
                        break; /* shrank meanwhile: what there is */
                else
                        n += (size_t)r;
        }
        close(fd);
        if (err) {
                free(b);
                return err;
        }
        b[n] = '\0';
        *buf = b;
        *len = n;
        if (mtime_ns)
                *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        return 0;
}
