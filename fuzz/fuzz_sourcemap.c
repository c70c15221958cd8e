/* libFuzzer target: any bytes as a source map (analyzer/sourcemap.c), or,
 * when the first byte is 'd', the rest as the script whose last comment
 * names its map (a data: URL, a path). Positions are then asked for on the
 * first lines, at columns from the first to past any line's end; whatever
 * the map says must be a position in a source it names, and a function's
 * name one of its strings. A crash or a
 * sanitizer report is a finding; its input goes into fuzz/crashes/. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sourcemap.h"

static char dir[] = "/tmp/lt-fuzz-sourcemap-XXXXXX", script[4096], map[4096];

static void clean(void)
{
        unlink(script);
        unlink(map);
        rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t size)
{
        FILE *f = fopen(path, "w");
        if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!script[0]) {
                if (!mkdtemp(dir))
                        abort();
                atexit(clean);
                snprintf(script, sizeof(script), "%s/s.js", dir);
                snprintf(map, sizeof(map), "%s/m.map", dir);
                lt_fuzz_quiet();
                lt_srcmap_set_mode(LT_SRCMAP_ALWAYS);
        }
        static const char comment[] = "x\n//# sourceMappingURL=m.map\n";
        if (size && data[0] == 'd') {
                write_file(script, data + 1, size - 1);
        } else {
                write_file(script, comment, sizeof(comment) - 1);
                write_file(map, data, size);
        }
        static const unsigned cols[] = {1, 2, 5, 17, 100, 4096, 1u << 20, UINT32_MAX};
        for (unsigned line = 0; line <= 6; line++) {
                for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
                        struct lt_src_pos p;
                        int r = lt_srcmap_find(script, line, cols[c], 0, &p);
                        if (r < 0 || (r == 1 && (!p.file || !p.line || !p.column)))
                                abort();
                        /* A name, when given, is a string of the map's (read whole). */
                        const char *was = lt_srcmap_function(script, line, cols[c], "t", 0);
                        if (was && strlen(was) > LT_SRCMAP_MAX_BYTES)
                                abort();
                }
        }
        lt_srcmap_release(); /* the next input is read afresh */
        return 0;
}
