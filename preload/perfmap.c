/* The copy of node's perf map. V8 opens /tmp/perf-<pid>.map when it starts
 * and appends a line for each piece of code it makes, so the copy only ever
 * appends what is new: sendfile() from the offset reached, no buffer, no
 * malloc. The source stays open once found, so that a /tmp cleaner that
 * removes it does not stop the copy (node too goes on writing the file it
 * opened). */
#define _GNU_SOURCE
#include "perfmap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "fds.h"
#include "lock.h"
#include "log.h"
#include "tracefile.h"

static struct {
        struct lt_lock lock;
        int on;                 /* node was asked for its map */
        int stopped;            /* the copy ended for good: full, or failed (said) */
        int src;                /* /tmp/perf-<pid>.map, once it exists */
        int dst;                /* the copy, once made */
        uint64_t copied;        /* bytes of the source in the copy */
        int forked;             /* a forked child: link the parent's copy, copy nothing */
        char path[LT_PATH_MAX]; /* the copy's path, once made */
} pm = {.src = -1, .dst = -1};

/* The copy in progress is this thread's: an exit from a signal handler
 * that interrupted it must not wait for itself. */
static LT_TLS int copying;

static void source_path(char *out, size_t size)
{
        lt_fmt(out, size, "/tmp/perf-%d.map", (int)getpid());
}

int lt_perfmap_prepare(void)
{
        char path[64];
        source_path(path, sizeof(path));
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        /* Left by an earlier process (or image) of this pid: node would
         * truncate it, so nothing is lost; and a file that node could not
         * open must not be there when it tries, or it aborts. */
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
                return -EPERM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

void lt_perfmap_enable(void)
{
        pm.on = 1;
}

static void publish(void)
{
        struct lt_header *h = lt_tf.hdr;
        __atomic_store_n(&h->perf_map_bytes, pm.copied, __ATOMIC_RELEASE);
        if (!(__atomic_load_n(&h->flags, __ATOMIC_RELAXED) & LT_F_PERF_MAP))
                __atomic_fetch_or(&h->flags, LT_F_PERF_MAP, __ATOMIC_RELEASE);
}

/* Creates the copy as the trace file is created: never through a link,
 * never over a file, except one of this user's own that a removed trace of
 * the same name left behind. Returns 0 or -errno. */
static int open_copy(void)
{
        if (!lt_tf_sibling(pm.path, sizeof(pm.path), ".perf.map"))
                return -ENAMETOOLONG;
        for (int attempt = 0; attempt < 2; attempt++) {
                int fd = open(pm.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        pm.dst = lt_fd_adopt(fd, LT_FD_PERFMAP_COPY);
                        return 0;
                }
                struct stat st;
                if (errno != EEXIST || lstat(pm.path, &st) < 0 || !S_ISREG(st.st_mode) ||
                    st.st_uid != geteuid() || unlink(pm.path) < 0)
                        return -errno;
        }
        return -EEXIST;
}

/* Opens node's map when it exists: only a regular file of this user's,
 * never through a link, never waiting (O_NONBLOCK: a FIFO planted there
 * must not hold the thread). Returns 0, -ENOENT (not yet), or -errno. */
static int open_source(void)
{
        char path[64];
        source_path(path, sizeof(path));
        /* Asked at every tick until node writes it: a failed open() holds
         * a descriptor number for a moment too (fds.h), lstat() none. */
        struct stat st;
        if (lstat(path, &st) < 0)
                return -errno;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                close(fd);
                return -EPERM;
        }
        pm.src = lt_fd_adopt(fd, LT_FD_PERFMAP_SRC);
        return 0;
}

/* sendfile() where it cannot: through a small buffer on the stack. */
static ssize_t copy_plain(uint64_t len)
{
        char buf[4096];
        ssize_t n = pread(pm.src, buf, len < sizeof(buf) ? len : sizeof(buf), (off_t)pm.copied);
        if (n <= 0)
                return n;
        for (ssize_t done = 0; done < n;) {
                ssize_t w = write(pm.dst, buf + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -1 : (errno = ENOSPC, -1);
                done += w;
        }
        return n;
}

/* Appends source bytes [copied, upto) to the copy. Returns 0 or -errno. */
static int append(uint64_t upto)
{
        while (pm.copied < upto) {
                off_t off = (off_t)pm.copied;
                ssize_t n = sendfile(pm.dst, pm.src, &off, upto - pm.copied);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EINVAL || errno == ENOSYS))
                        n = copy_plain(upto - pm.copied);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break; /* the source is shorter than it said: next time */
                pm.copied += (uint64_t)n;
        }
        return 0;
}

static void stop(void)
{
        pm.stopped = 1;
        lt_fd_release(LT_FD_PERFMAP_SRC);
        if (pm.src >= 0)
                close(pm.src);
        pm.src = -1;
}

static void copy_locked(void)
{
        if (pm.stopped || pm.forked)
                return;
        int err;
        /* The program may have closed ours or put its own files there. */
        if (pm.src >= 0 && !lt_fd_still(LT_FD_PERFMAP_SRC))
                pm.src = -1;
        if (pm.dst >= 0 && !lt_fd_still(LT_FD_PERFMAP_COPY)) {
                pm.dst = -1;
                lt_log_once(perfmap_taken, "the program closed or replaced the descriptor of "
                            "%s: the copy of the perf map stops", pm.path);
                stop();
                return;
        }
        if (pm.src < 0 && (err = open_source()) < 0) {
                if (err != -ENOENT) {
                        lt_log_once(perfmap_source,
                                    "/tmp/perf-%d.map is not a file of this "
                                    "user's: not copied; JS frames stay addresses",
                                    (int)getpid());
                        stop();
                }
                return; /* node has not written it yet */
        }
        struct stat st;
        if (fstat(pm.src, &st) < 0)
                return;
        uint64_t size = (uint64_t)st.st_size;
        if (size < pm.copied) {
                lt_log_once(perfmap_shrank,
                            "/tmp/perf-%d.map shrank while copied: the copy "
                            "stops",
                            (int)getpid());
                stop();
                return;
        }
        uint64_t upto = size < LT_PERF_MAP_MAX ? size : LT_PERF_MAP_MAX;
        if (upto > pm.copied) {
                if (pm.dst < 0 && (err = open_copy()) < 0) {
                        lt_log_once(perfmap_create,
                                    "cannot create %s (%s): JS frames stay "
                                    "addresses",
                                    pm.path, strerrordesc_np(-err));
                        stop();
                        return;
                }
                err = append(upto);
                publish();
                if (err) {
                        lt_log_once(perfmap_write,
                                    "cannot write %s (%s): the copy of the perf "
                                    "map stops",
                                    pm.path, strerrordesc_np(-err));
                        stop();
                        return;
                }
        }
        if (size > LT_PERF_MAP_MAX && pm.copied == LT_PERF_MAP_MAX) {
                lt_tf_drop(LT_DROP_PERF_MAP_FULL, 1);
                lt_log_once(perfmap_full,
                            "node's perf map passed %llu MiB: JS code made from "
                            "now on is not named",
                            (unsigned long long)(LT_PERF_MAP_MAX >> 20));
                stop();
        }
}

void lt_perfmap_copy(int wait)
{
        if (!pm.on || !lt_tf.hdr || copying)
                return;
        if (wait)
                lt_lock(&pm.lock);
        else if (!lt_trylock(&pm.lock))
                return;
        copying = 1;
        int saved = errno;
        copy_locked();
        errno = saved;
        copying = 0;
        lt_unlock(&pm.lock);
}

void lt_perfmap_lock(void)
{
        lt_lock(&pm.lock);
}

void lt_perfmap_unlock(void)
{
        lt_unlock(&pm.lock);
}

void lt_perfmap_fork_child(void)
{
        lt_lock_reset(&pm.lock);
        /* The descriptors share their offsets with the parent's: closed
         * unused, the parent's copy is never touched. */
        lt_fd_release(LT_FD_PERFMAP_SRC);
        lt_fd_release(LT_FD_PERFMAP_COPY);
        if (pm.src >= 0)
                close(pm.src);
        if (pm.dst >= 0)
                close(pm.dst);
        pm.src = pm.dst = -1;
        pm.forked = 1;
}

void lt_perfmap_forked(void)
{
        struct lt_header *h = lt_tf.hdr;
        char path[LT_PATH_MAX];
        if (!pm.on || !h || !pm.path[0] || !pm.copied ||
            !lt_tf_sibling(path, sizeof(path), ".perf.map"))
                return;
        if (link(pm.path, path) < 0) {
                lt_log("cannot link %s to %s (%s): this fork's JS frames stay addresses", path,
                       pm.path, strerrordesc_np(errno));
                return;
        }
        memcpy(pm.path, path, sizeof(path));
        publish();
}
