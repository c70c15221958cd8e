#define _GNU_SOURCE
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"
#include "trace.h"
#include "writers.h"

static int memfd = -1;
static char memfd_path[64];
static FILE *sink;

void lt_fuzz_quiet(void)
{
        if (!getenv("LT_FUZZ_VERBOSE")) {
                FILE *null = fopen("/dev/null", "w");
                if (null)
                        stderr = null;
        }
}

/* The bytes as a file the reader can open by name, without touching the
 * disk: a memfd, reopened through /proc/self/fd. */
static const char *as_file(const uint8_t *data, size_t size)
{
        if (memfd < 0) {
                memfd = memfd_create("lt-fuzz-trace", MFD_CLOEXEC);
                if (memfd < 0) {
                        perror("memfd_create");
                        abort();
                }
                snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
                sink = fopen("/dev/null", "w");
                if (!sink)
                        abort();
        }
        if (ftruncate(memfd, 0) < 0)
                abort();
        for (size_t done = 0; done < size;) {
                ssize_t n = pwrite(memfd, data + done, size - done, (off_t)done);
                if (n <= 0)
                        abort();
                done += (size_t)n;
        }
        return memfd_path;
}

int lt_fuzz_one(const uint8_t *data, size_t size, char *why_out, size_t why_len)
{
        const char *path = as_file(data, size);
        struct lt_trace t;
        char why[512] = "";
        int err = lt_trace_load(path, &t, why, sizeof(why));
        if (err) {
                /* leaktrace prints "leaktrace: FILE: <why>": one line. */
                if (!why[0] || strchr(why, '\n')) {
                        fprintf(stdout, "lt_fuzz: refusal without a one-line message: \"%s\"\n", why);
                        fflush(stdout);
                        abort();
                }
                if (why_out)
                        snprintf(why_out, why_len, "%s", why);
                return 1;
        }
        /* Symbolizing would open whatever files the module records name:
         * blank their paths, as for modules that are gone. */
        for (uint64_t i = 0; i < t.nmods; i++) {
                t.mods[i].path[0] = '\0';
                t.mods[i].path_len = 0;
        }
        /* Nor may it read whatever /tmp/perf-<pid>.map this machine has. */
        t.hdr.pid = 0;
        struct lt_report r;
        if (lt_report_build(&r, &t) == 0) {
                struct lt_report *one = &r;
                lt_write_text(sink, &one, 1, 0);
                lt_write_json(sink, &one, 1, 0);
                lt_write_markdown(sink, &one, 1, 0);
                lt_write_collapsed(sink, &one, 1);
                lt_write_flame_svg(sink, &one, 1);
                lt_write_speedscope(sink, &one, 1);
                lt_write_sarif(sink, &one, 1, 0);
                /* Not --format html: the JSON writer's output wrapped, and
                 * read back (write_html.c); it would double the time spent
                 * on each input for no new reading of the trace. */
                fflush(sink);
                lt_report_free(&r);
        }
        lt_trace_free(&t);
        return 0;
}
