/* libFuzzer target: any bytes as node's perf map (analyzer/perfmap.c):
 * read into ranges, then every range the bytes seem to name looked up at
 * its edges and middle (which parses its name), and the bytes as one name.
 * A crash or a sanitizer report is a finding; its input goes into
 * fuzz/corpus-perfmap/. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "perfmap.h"

static int memfd = -1;

/* A hex number at S (at most 16 digits) into *V; the digits used. */
static size_t hex(const uint8_t *s, size_t n, uint64_t *v)
{
        size_t i = 0;
        *v = 0;
        for (; i < n && i < 16; i++) {
                int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                        : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                        : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                                     : -1;
                if (d < 0)
                        break;
                *v = *v << 4 | (uint64_t)d;
        }
        return i;
}

static void look_up(struct lt_perfmap *m, uint64_t pc)
{
        const struct lt_pm_code *c;
        if (lt_perfmap_find(m, pc, &c) == 0 && (!c->name.function || pc < c->start || pc >= c->end))
                abort(); /* found, but not what it says */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (memfd < 0 && (memfd = memfd_create("lt-fuzz-perfmap", MFD_CLOEXEC)) < 0)
                abort();
        if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
                abort();
        int fd = dup(memfd);
        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        struct lt_perfmap *m;
        struct lt_pm_stats st;
        if (lt_perfmap_read(fd, &m, &st) == 0) {
                look_up(m, 0);
                look_up(m, UINT64_MAX);
                for (size_t at = 0; at < size;) {
                        uint64_t start, len;
                        size_t a = hex(data + at, size - at, &start);
                        size_t b =
                            at + a + 1 < size ? hex(data + at + a + 1, size - at - a - 1, &len) : 0;
                        if (a && b) {
                                look_up(m, start);
                                look_up(m, start - 1);
                                look_up(m, start + len / 2);
                                look_up(m, start + len - 1);
                                look_up(m, start + len);
                        }
                        const uint8_t *nl = memchr(data + at, '\n', size - at);
                        at = nl ? (size_t)(nl - data) + 1 : size;
                }
                lt_perfmap_free(m);
        }
        struct lt_pm_name n;
        if (lt_pm_name_parse((const char *)data, size < 8192 ? size : 8192, &n) == 0)
                lt_pm_name_clear(&n);
        return 0;
}
