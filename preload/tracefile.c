#define _GNU_SOURCE
#include "tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fds.h"
#include "log.h"
#include "options.h"

struct lt_tf lt_tf = { .fd = -1 };
LT_TLS int lt_tf_tracer_thread;

/* Records in chunk 0 of each section. Small, so that a short-lived process
 * leaves a small file; 16 chunks of that size, then 16 twice as big, ...
 * Each at least a page: a chunk takes whole pages of the file. Frames:
 * more than LT_MAX_DEPTH, so that place_frames() finds room in the next
 * chunk. */
static const uint32_t section_base[LT_SEC__COUNT] = {
        [LT_SEC_STACKS] = 1024,
        [LT_SEC_FRAMES] = 16384,
        [LT_SEC_MODULES] = 64,
        [LT_SEC_TIMERS] = 64,
        [LT_SEC_TIMER_SITES] = 128,
        [LT_SEC_TIMELINE] = LT_HIST_COLS,
        [LT_SEC_HISTORY] = 64,
        [LT_SEC_SNAPSHOTS] = 32,
        [LT_SEC_SNAPVALS] = 1024,
        [LT_SEC_MAP_SITES] = 64,
};
_Static_assert(LT_SEC__COUNT == 11, "every section has a chunk-0 size above");
static const uint32_t section_rec_size[LT_SEC__COUNT] = {
#define LT_X_SIZE(K, name, type) [LT_SEC_##K] = sizeof(type),
        LT_SECTIONS(LT_X_SIZE)
#undef LT_X_SIZE
};

static dev_t tf_dev;
static ino_t tf_ino;
static uint64_t capacity[LT_SEC__COUNT];

uint64_t lt_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t lt_tf_sibling(char *out, size_t size, const char *suffix)
{
        size_t n = strlen(lt_tf.path), m = strlen(suffix);
        if (n > 3 && !strcmp(lt_tf.path + n - 3, ".lt"))
                n -= 3;
        if (n + m >= size)
                return 0;
        memcpy(out, lt_tf.path, n);
        memcpy(out + n, suffix, m + 1);
        return n + m;
}

static size_t page_align(size_t n)
{
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        return (n + pg - 1) & ~(pg - 1);
}

/* Up to SIZE bytes of FD from its start. Returns how many, or -errno. */
static ssize_t read_fd(int fd, char *buf, size_t size)
{
        size_t got = 0;
        while (got < size) {
                ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && !got)
                        return -errno;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t got = read_fd(fd, buf, size);
        close(fd);
        return got;
}

/* Field 22 of /proc/self/stat: when the process started, in clock ticks
 * after boot. It survives exec, so with the pid it names the process. */
static uint64_t proc_start_time(void)
{
        char buf[1024];
        ssize_t n = read_file("/proc/self/stat", buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return lt_stat_start_time(buf);
}

/* Reserves [off, off + len) of the file on disk, so that stores through the
 * mapping cannot fault for want of space. Never raises SIGXFSZ: a limit on
 * the file size is checked first. */
static int reserve_disk(int fd, uint64_t off, uint64_t len)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            off + len > rl.rlim_cur)
                return -EFBIG;
        if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
                return 0;
        if (errno != EOPNOTSUPP)
                return -errno;
        /* A filesystem without fallocate: write the zeros ourselves. */
        static const char zeros[4096];
        for (uint64_t at = off; at < off + len; at += sizeof(zeros)) {
                size_t n = off + len - at < sizeof(zeros) ? (size_t)(off + len - at) : sizeof(zeros);
                if (pwrite(fd, zeros, n, (off_t)at) != (ssize_t)n)
                        return errno ? -errno : -ENOSPC;
        }
        return 0;
}

/* The trace file's descriptor, kept high and guarded (fds.h); -1: none. */
static void set_fd(int fd)
{
        lt_tf.fd = fd < 0 ? -1 : lt_fd_adopt(fd, LT_FD_TRACE);
}

static void close_fd(void)
{
        lt_fd_release(LT_FD_TRACE);
        if (lt_tf.fd >= 0)
                close(lt_tf.fd);
        lt_tf.fd = -1;
}

/* The program may have closed our descriptor, or put another file on its
 * number. Returns 0 when lt_tf.fd is still the trace file. */
static int check_fd(void)
{
        struct stat st;
        if (lt_tf.fd >= 0 && fstat(lt_tf.fd, &st) == 0 && st.st_dev == tf_dev &&
            st.st_ino == tf_ino)
                return 0;
        if (lt_tf_tracer_thread)
                return -EAGAIN;
        int fd = open(lt_tf.path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || st.st_dev != tf_dev || st.st_ino != tf_ino) {
                close(fd);
                return -ESTALE;
        }
        set_fd(fd);
        return 0;
}

/* The bytes chunk k of a section takes in the file and in memory. */
static uint64_t chunk_bytes(const struct lt_section *s, unsigned k)
{
        return page_align((uint64_t)s->rec_size * lt_chunk_recs(k, s->base, LT_CHUNK_LG));
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Maps a new chunk's pages for writing at once. Sections fill their chunks
 * in order, and a chunk is at most a sixteenth of its section, so its pages
 * are all wanted soon. The first store to a page of a shared file mapping
 * faults even after MAP_POPULATE, which maps pages for reading only: the
 * filesystem is told of the page made dirty (ext4's page_mkwrite). On a
 * virtual machine of the project's (2026-11), writing 4096 pages of an
 * ext4 file cost 20 us a page mapped with MAP_POPULATE, 13 us by faults
 * alone, 8 us after MADV_POPULATE_WRITE; node -e 0 writes about 1000
 * pages of its trace file, and took 5 % less time. An older kernel: the
 * pages fault in as they come. */
static void populate(void *p, uint64_t bytes)
{
        static int unsupported;
        if (!__atomic_load_n(&unsupported, __ATOMIC_RELAXED) &&
            madvise(p, bytes, MADV_POPULATE_WRITE) < 0 && (errno == EINVAL || errno == ENOSYS))
                __atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
}

static int grow(enum lt_section_kind kind)
{
        struct lt_header *h = lt_tf.hdr;
        struct lt_section *s = &h->sections[kind];
        unsigned k = s->nchunks;
        if (k >= LT_MAX_CHUNKS)
                return -ENOSPC;
        uint64_t bytes = chunk_bytes(s, k);
        uint64_t off = h->file_size;
        int err = check_fd();
        if (!err)
                err = reserve_disk(lt_tf.fd, off, bytes);
        if (err)
                return err;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, lt_tf.fd, (off_t)off);
        if (p == MAP_FAILED)
                return -errno;
        populate(p, bytes);
        lt_tf.chunk[kind][k] = p;
        *lt_chunk_slot(h, kind, k) = off;
        __atomic_store_n(&h->file_size, off + bytes, __ATOMIC_RELEASE);
        __atomic_store_n(&s->nchunks, k + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&capacity[kind], lt_chunk_start(k + 1, s->base, LT_CHUNK_LG),
                         __ATOMIC_RELEASE);
        return 0;
}

uint64_t lt_tf_capacity(enum lt_section_kind kind)
{
        return __atomic_load_n(&capacity[kind], __ATOMIC_ACQUIRE);
}

void lt_tf_drop(enum lt_drop_kind kind, uint64_t n)
{
        struct lt_header *h = lt_tf.hdr;
        if (!h)
                return;
        __atomic_fetch_add(&h->drops[kind], n, __ATOMIC_RELAXED);
        if (kind != LT_DROP_TRUNCATED_STACKS && kind != LT_DROP_SHORT_STACKS &&
            !(__atomic_load_n(&h->flags, __ATOMIC_RELAXED) & LT_F_DROPPED))
                __atomic_fetch_or(&h->flags, LT_F_DROPPED, __ATOMIC_RELAXED);
}

/* After the file failed to grow, it is not tried again before this time
 * (CLOCK_MONOTONIC, ns; 0: try): on a full disk every allocation of a
 * stack not yet recorded would try again, three system calls each, and
 * made a program 33 times slower. */
static uint64_t grow_again_ns;
#define GROW_RETRY_NS 1000000000ull

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int lt_tf_reserve(enum lt_section_kind kind, uint64_t n)
{
        if (lt_likely(n <= lt_tf_capacity(kind)))
                return 0;
        uint64_t again = __atomic_load_n(&grow_again_ns, __ATOMIC_RELAXED);
        if (again && mono_ns() < again) {
                lt_tf_drop(LT_DROP_FILE_FULL, 1);
                return -ENOSPC;
        }
        int err = 0;
        lt_lock(&lt_tf.grow_lock);
        LT_NO_CANCEL(while (n > lt_tf_capacity(kind) && !err) err = grow(kind));
        lt_unlock(&lt_tf.grow_lock);
        __atomic_store_n(&grow_again_ns, err && err != -EAGAIN ? mono_ns() + GROW_RETRY_NS : 0,
                         __ATOMIC_RELAXED);
        if (err && err != -EAGAIN) {
                lt_tf_drop(LT_DROP_FILE_FULL, 1);
                lt_log_once(grow_failed, "%s: cannot grow the trace file (%s); what follows is "
                            "counted, not recorded", lt_tf.path, strerrordesc_np(-err));
        }
        return err;
}

/* An earlier image of this very process (before exec) left its file under
 * our name: mark it ended by exec, and count the images. */
static void mark_predecessor(const char *path, uint64_t proc_start, uint32_t *exec_count)
{
        int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return;
        struct stat st;
        struct lt_header h;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
            !memcmp(h.magic, LT_MAGIC, LT_MAGIC_LEN) && h.pid == (uint32_t)getpid() &&
            h.proc_start == proc_start) {
                if (!(h.flags & (LT_F_COMPLETE | LT_F_EXEC))) {
                        uint32_t flags = h.flags | LT_F_EXEC;
                        uint64_t end = lt_now_ns();
                        ssize_t w = pwrite(fd, &flags, sizeof(flags), offsetof(struct lt_header, flags));
                        w = pwrite(fd, &end, sizeof(end), offsetof(struct lt_header, end_ns));
                        (void)w;
                }
                if (h.exec_count + 1 > *exec_count)
                        *exec_count = h.exec_count + 1;
        }
        close(fd);
}

/* Creates leaktrace.<pid>.lt, or .<pid>.<n>.lt when an earlier image of the
 * process (or another process of the same pid) has the name. Never follows
 * a link, never opens what exists. */
static int create_file(uint64_t proc_start, uint32_t *exec_count)
{
        int pid = (int)getpid();
        for (int n = 1; n <= 100; n++) {
                if (n == 1)
                        lt_fmt(lt_tf.path, sizeof(lt_tf.path), "%s/leaktrace.%d.lt", lt_opt.dir, pid);
                else
                        lt_fmt(lt_tf.path, sizeof(lt_tf.path), "%s/leaktrace.%d.%d.lt", lt_opt.dir,
                               pid, n);
                int fd = open(lt_tf.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
                mark_predecessor(lt_tf.path, proc_start, exec_count);
        }
        return -EEXIST;
}

/* The directory as an absolute path, so that the JS module and a program
 * that changes directory find the same place. */
static char abs_dir[LT_PATH_MAX];

static char dir_env[LT_PATH_MAX + 16];

const char *lt_tf_dir_env(void)
{
        return dir_env[0] ? dir_env : NULL;
}

/* Returns 0, -errno, or 1 when the directory was refused and said so. */
static int check_dir(void)
{
        struct stat st;
        if (lt_opt.dir[0] != '/' && getcwd(abs_dir, sizeof(abs_dir) - 2)) {
                size_t n = strlen(abs_dir);
                if (!strcmp(lt_opt.dir, "."))
                        lt_opt.dir = abs_dir;
                else if (n + 1 + strlen(lt_opt.dir) < sizeof(abs_dir)) {
                        lt_fmt(abs_dir + n, sizeof(abs_dir) - n, "/%s", lt_opt.dir);
                        lt_opt.dir = abs_dir;
                }
        }
        if (stat(lt_opt.dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
                lt_log_error("LEAKTRACE_DIR=%s is writable by anyone and not sticky: another user "
                             "could replace the trace; running untraced", lt_opt.dir);
                return 1;
        }
        if (access(lt_opt.dir, W_OK | X_OK) < 0)
                return -errno;
        if (lt_opt.dir[0] == '/' && strlen(lt_opt.dir) < LT_PATH_MAX)
                lt_fmt(dir_env, sizeof(dir_env), "LEAKTRACE_DIR=%s", lt_opt.dir);
        return 0;
}

/* The command line, as /proc/self/cmdline (open as FD, or by its path
 * when FD is -1) has it now, into BUF (LT_CMDLINE_MAX bytes, zeroed past
 * it). Returns its length, or 0 when it cannot be read. */
static ssize_t cmdline_now(char *buf, int fd)
{
        ssize_t n = fd >= 0 ? read_fd(fd, buf, LT_CMDLINE_MAX)
                            : read_file("/proc/self/cmdline", buf, LT_CMDLINE_MAX);
        if (n <= 0)
                return 0;
        if (buf[n - 1] != '\0') { /* cut: end it */
                if (n == LT_CMDLINE_MAX)
                        n--;
                buf[n++] = '\0';
        }
        /* A process title written over the arguments (nginx's workers,
         * redis) leaves the rest of their space zeroed: hundreds of empty
         * arguments. Two or more at the end are taken for that and dropped;
         * one may be the program's. */
        if (n >= 3 && !buf[n - 2] && !buf[n - 3]) {
                while (n >= 2 && !buf[n - 2])
                        n--;
        }
        memset(buf + n, 0, LT_CMDLINE_MAX - (size_t)n);
        return n;
}

static void set_cmdline(struct lt_header *h, const char *buf, ssize_t n)
{
        if (buf != h->cmdline)
                memcpy(h->cmdline, buf, LT_CMDLINE_MAX);
        h->cmdline_len = (uint32_t)n;
        h->argc = 0;
        for (ssize_t i = 0; i < n; i++)
                h->argc += buf[i] == '\0';
}

/* The command line into H's (a read that fails writes nothing: H's is
 * kept). */
static void read_cmdline(struct lt_header *h)
{
        char buf[LT_CMDLINE_MAX];
        ssize_t n = cmdline_now(buf, -1);
        if (n > 0)
                set_cmdline(h, buf, n);
}

void lt_tf_refresh_cmdline(int fd)
{
        struct lt_header *h = lt_tf.hdr;
        char buf[LT_CMDLINE_MAX];
        ssize_t n = h ? cmdline_now(buf, fd) : 0;
        if (n > 0 && ((uint32_t)n != h->cmdline_len || memcmp(buf, h->cmdline, (size_t)n)))
                set_cmdline(h, buf, n);
}

static void fill_header(struct lt_header *h, uint64_t proc_start, uint32_t exec_count)
{
        memcpy(h->magic, LT_MAGIC, LT_MAGIC_LEN);
        h->version = LT_VERSION;
        h->header_size = LT_HEADER_SIZE;
        h->pid = (uint32_t)getpid();
        h->ppid = (uint32_t)getppid();
        h->depth = (uint32_t)lt_opt.depth;
        h->start_ns = h->update_ns = lt_now_ns();
        h->session = lt_opt.session;
        h->proc_start = proc_start;
        h->exec_count = exec_count;
        h->file_size = LT_HEADER_SIZE;

        read_cmdline(h);
        ssize_t n = readlink("/proc/self/exe", h->exe, LT_PATH_MAX - 1);
        h->exe[n > 0 ? n : 0] = '\0';

        for (int k = 1; k < LT_SEC__COUNT; k++) {
                h->sections[k].kind = (uint32_t)k;
                h->sections[k].rec_size = section_rec_size[k];
                h->sections[k].base = section_base[k];
        }
}

int lt_tf_open(void)
{
        uint64_t proc_start = proc_start_time();
        uint32_t exec_count = 0;
        int err = check_dir();
        if (err > 0)
                return -LT_ERR_UNSAFE_DIR; /* said already */
        int fd = err ? err : create_file(proc_start, &exec_count);
        if (fd < 0) {
                lt_log_error("cannot create a trace file in LEAKTRACE_DIR=%s (%s); running untraced",
                             lt_opt.dir, strerrordesc_np(-fd));
                return fd;
        }
        struct stat st;
        fstat(fd, &st);
        tf_dev = st.st_dev;
        tf_ino = st.st_ino;
        set_fd(fd);
        fd = lt_tf.fd;
        err = reserve_disk(fd, 0, LT_HEADER_SIZE);
        void *p = MAP_FAILED;
        if (!err) {
                p = mmap(NULL, LT_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                        err = -errno;
        }
        if (err) {
                lt_log_error("cannot write the trace file %s (%s); running untraced", lt_tf.path,
                             strerrordesc_np(-err));
                close_fd();
                unlink(lt_tf.path);
                return err;
        }
        fill_header(p, proc_start, exec_count);
        lt_tf.hdr = p;
        /* Sections get their first chunk when first used. */
        return 0;
}

void lt_tf_finish(void)
{
        struct lt_header *h = lt_tf.hdr;
        if (!h)
                return;
        h->end_ns = h->update_ns = lt_now_ns();
        __atomic_fetch_or(&h->flags, LT_F_COMPLETE, __ATOMIC_RELEASE);
}

void lt_tf_close(void)
{
        lt_lock(&lt_tf.grow_lock); /* not while a fork copies it */
        struct lt_header *h = lt_tf.hdr;
        if (!h) {
                lt_unlock(&lt_tf.grow_lock);
                return;
        }
        __atomic_store_n(&lt_tf.hdr, NULL, __ATOMIC_RELEASE);
        for (int k = 1; k < LT_SEC__COUNT; k++) {
                const struct lt_section *s = &h->sections[k];
                for (unsigned c = 0; c < LT_MAX_CHUNKS; c++) {
                        if (!lt_tf.chunk[k][c])
                                continue;
                        munmap(lt_tf.chunk[k][c], chunk_bytes(s, c));
                        lt_tf.chunk[k][c] = NULL;
                }
                capacity[k] = 0;
        }
        munmap(h, LT_HEADER_SIZE);
        close_fd();
        lt_unlock(&lt_tf.grow_lock);
}

/* Maps [off, off + len) of the file on fd at addr, in place of what is there. */
static int remap(void *addr, uint64_t len, int flags, int fd, uint64_t off)
{
        void *p = mmap(addr, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, (off_t)off);
        return p == MAP_FAILED ? -errno : 0;
}

/* Calls fn on the header and every chunk: address, length, file offset. */
static int each_region(int (*fn)(void *addr, uint64_t len, uint64_t off, int fd), int fd)
{
        struct lt_header *h = lt_tf.hdr;
        int err = fn(h, LT_HEADER_SIZE, 0, fd);
        for (int k = 1; k < LT_SEC__COUNT && !err; k++) {
                struct lt_section *s = &h->sections[k];
                for (unsigned c = 0; c < s->nchunks && !err; c++)
                        err = fn(lt_tf.chunk[k][c], chunk_bytes(s, c), lt_chunk_off(h, k, c), fd);
        }
        return err;
}

static int copy_and_share(void *addr, uint64_t len, uint64_t off, int fd)
{
        const char *src = addr;
        for (uint64_t done = 0; done < len;) {
                ssize_t n = pwrite(fd, src + done, len - done, (off_t)(off + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -ENOSPC;
                done += (uint64_t)n;
        }
        return remap(addr, len, MAP_SHARED, fd, off);
}

/* fork(): the parent copies its file's pages into anonymous memory while
 * the tracer's locks are held (no section can grow, no stack be added), and
 * the child, which gets that memory copy-on-write, moves the copies over its
 * mappings of the parent's file. Copying in the child instead would race
 * with the parent, which goes on writing to the shared file at once. */
static unsigned char *fork_copy;
static uint64_t fork_copy_len;

static int sum_region(void *addr, uint64_t len, uint64_t off, int fd)
{
        (void)addr;
        (void)off;
        (void)fd;
        fork_copy_len += len;
        return 0;
}

static int copy_region(void *addr, uint64_t len, uint64_t off, int fd)
{
        (void)off;
        (void)fd;
        memcpy(fork_copy + fork_copy_len, addr, len);
        fork_copy_len += len;
        return 0;
}

static int move_copy(void *addr, uint64_t len, uint64_t off, int fd)
{
        (void)off;
        (void)fd;
        void *from = fork_copy + fork_copy_len;
        fork_copy_len += len;
        return mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED ? -errno : 0;
}

void lt_tf_fork_prepare(void)
{
        fork_copy = NULL;
        if (!lt_tf.hdr)
                return;
        fork_copy_len = 0;
        each_region(sum_region, -1);
        void *p = mmap(NULL, fork_copy_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED)
                return; /* the child will run untraced */
        fork_copy = p;
        fork_copy_len = 0;
        each_region(copy_region, -1);
}

void lt_tf_fork_parent(void)
{
        if (fork_copy)
                munmap(fork_copy, fork_copy_len);
        fork_copy = NULL;
}

void lt_tf_fork_forget(void)
{
        close_fd();
        lt_tf.hdr = NULL; /* the parent's pages, still mapped: never written from here */
}

int lt_tf_fork_child(void)
{
        if (!lt_tf.hdr)
                return 0;
        int err = -ENOMEM;
        if (fork_copy) {
                /* Walk the regions as the copy has them: the header at the
                 * start of the copy is the one of the moment of the fork. */
                uint64_t len = fork_copy_len;
                fork_copy_len = 0;
                err = each_region(move_copy, -1);
                if (!err && fork_copy_len < len)
                        munmap(fork_copy + fork_copy_len, len - fork_copy_len);
        }
        close_fd();
        fork_copy = NULL;
        if (err) {
                lt_tf.hdr = NULL; /* some pages may still be the parent's */
                lt_log_error("cannot separate a forked child's trace from its parent's (%s); the "
                             "child runs untraced", strerrordesc_np(-err));
        }
        return err;
}

/* A forked child's file starts as a copy of its parent's: a server that
 * forks a child per job would fill the disk with them. None is made that
 * would leave the filesystem of LEAKTRACE_DIR with less than a twentieth
 * of its size free (at most 1 GiB kept). */
static int room_for_copy(uint64_t bytes)
{
        struct statvfs v;
        if (statvfs(lt_opt.dir, &v) < 0 || !v.f_blocks)
                return 1; /* not known: as before */
        uint64_t total = (uint64_t)v.f_blocks * v.f_frsize;
        uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
        uint64_t keep = total / 20 < (1ull << 30) ? total / 20 : (1ull << 30);
        return avail >= bytes + keep;
}

int lt_tf_materialize(void)
{
        struct lt_header *h = lt_tf.hdr;
        if (!h)
                return -EBADF;
        if (!room_for_copy(h->file_size)) {
                lt_tf.hdr = NULL;
                lt_log_error("a forked child's trace file (a copy of its parent's, %lu MiB) would "
                             "leave %s nearly full; the child runs untraced",
                             (unsigned long)(h->file_size >> 20), lt_opt.dir);
                return -ENOSPC;
        }
        uint32_t parent = h->pid;
        uint32_t exec_count = 0;
        uint64_t proc_start = proc_start_time();
        int fd = create_file(proc_start, &exec_count);
        int err = fd < 0 ? fd : reserve_disk(fd, 0, h->file_size);
        /* The header says whose file it is before the copy goes out: a
         * child killed in the middle leaves a file of its own, cut short,
         * not one that claims to be its parent's. */
        h->pid = (uint32_t)getpid();
        h->ppid = parent;
        h->fork_parent = parent;
        h->proc_start = proc_start;
        h->start_ns = h->update_ns = lt_now_ns();
        h->end_ns = 0;
        h->flags = (h->flags & LT_F_DROPPED) | LT_F_FORK_CHILD;
        h->perf_map_bytes = 0; /* perfmap.h links the parent's copy */
        read_cmdline(h); /* a worker may have a title of its own by now */
        if (!err)
                err = each_region(copy_and_share, fd);
        if (err) {
                lt_tf.hdr = NULL;
                if (fd >= 0) {
                        close(fd);
                        unlink(lt_tf.path);
                }
                lt_log_error("cannot create the trace file of a forked child (%s); the child runs "
                             "untraced", strerrordesc_np(-err));
                return err;
        }
        struct stat st;
        fstat(fd, &st);
        tf_dev = st.st_dev;
        tf_ino = st.st_ino;
        set_fd(fd);
        return 0;
}
