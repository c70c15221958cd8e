/* A stand-in for libleaktrace.so, for the tests of `leaktrace run`: at
 * start it writes a small valid trace file where and as the real preload
 * would (LEAKTRACE_DIR, leaktrace.<pid>.lt or .<pid>.<n>.lt, the session
 * of LEAKTRACE_SESSION), one site of 100 live bytes; a clean exit marks it
 * complete. LT_FAKE_SILENT=1 makes it write nothing, as a static or setuid
 * program would. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

static char path[4096];

__attribute__((constructor)) static void fake_start(void)
{
        const char *dir = getenv("LEAKTRACE_DIR"), *session = getenv("LEAKTRACE_SESSION");
        if (!dir || getenv("LT_FAKE_SILENT"))
                return;
        char cmd[LT_CMDLINE_MAX];
        const char *argv[64];
        int argc = 0;
        int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
        if (fd >= 0)
                close(fd);
        for (ssize_t i = 0; i < n && argc < 64; i += (ssize_t)strlen(cmd + i) + 1)
                argv[argc++] = cmd + i;
        if (n >= 0)
                cmd[n] = '\0';

        struct synth s;
        synth_init(&s, (uint32_t)getpid(), argc, argv);
        s.hdr.flags = 0;
        s.hdr.ppid = (uint32_t)getppid();
        s.hdr.session = session ? strtoull(session, NULL, 10) : 0;
        uint64_t frame = 0x42;
        synth_add_stack(&s, &frame, 1, 1, 100, 1, 1, 100);
        for (int i = 1; i <= 100; i++) {
                if (i == 1)
                        snprintf(path, sizeof(path), "%s/leaktrace.%d.lt", dir, (int)getpid());
                else
                        snprintf(path, sizeof(path), "%s/leaktrace.%d.%d.lt", dir, (int)getpid(),
                                 i);
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        s.hdr.exec_count = (uint32_t)i - 1; /* as the preload counts images */
                        break;
                }
        }
        if (fd < 0 || (close(fd), synth_write(&s, path) < 0))
                path[0] = '\0';
        synth_free(&s);
}

__attribute__((destructor)) static void fake_finish(void)
{
        if (!path[0])
                return;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        uint32_t flags = LT_F_COMPLETE;
        if (fd >= 0) {
                ssize_t w = pwrite(fd, &flags, sizeof(flags), offsetof(struct lt_header, flags));
                (void)w;
                close(fd);
        }
}
