#define _GNU_SOURCE
#include "timers.h"

#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "engine.h"
#include "lock.h"
#include "log.h"
#include "lt.h"
#include "options.h"
#include "stacks.h"
#include "tracefile.h"

#define MAX_POSIX 4096   /* live POSIX timers tracked at once */
#define MAX_SITES 65536  /* distinct (stack, kind) timer sites */

_Atomic uint64_t *lt_timer_fd_bits;
static uint32_t *fd_slot;   /* fd -> timer slot + 1 */
static uint32_t *free_slots; /* slots of ended timers, for reuse */
static uint32_t nfree;
static struct posix_map {
        int64_t id;
        uint32_t slot; /* + 1; 0: empty */
} posix[MAX_POSIX];
static uint32_t itimer_slot[3]; /* ITIMER_REAL, _VIRTUAL, _PROF -> slot + 1 */
static struct site_map {
        uint32_t stack;
        uint32_t kind;
        uint32_t site; /* + 1 */
} sites[MAX_SITES];
static struct lt_lock lock;

static void *map_zeroed(size_t bytes)
{
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

static struct lt_timer_rec *rec(uint32_t slot)
{
        return lt_tf_rec(LT_SEC_TIMERS, slot);
}

static struct lt_timer_site_rec *site_rec(uint32_t site)
{
        return lt_tf_rec(LT_SEC_TIMER_SITES, site);
}

static uint64_t ts_ns(const struct timespec *t)
{
        return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

/* The site of (stack, kind): found, or made. Under the lock. Returns the
 * site index + 1, or 0 when the table is full. */
static uint32_t site_get(uint32_t stack, enum lt_timer_kind kind)
{
        uint64_t i = lt_mix64(((uint64_t)stack << 8) | kind) & (MAX_SITES - 1);
        for (unsigned probes = 0; probes < MAX_SITES; probes++, i = (i + 1) & (MAX_SITES - 1)) {
                if (sites[i].site && sites[i].stack == stack && sites[i].kind == kind)
                        return sites[i].site;
                if (sites[i].site)
                        continue;
                struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_TIMER_SITES];
                uint64_t idx = s->count;
                if (lt_tf_reserve(LT_SEC_TIMER_SITES, idx + 1) < 0)
                        return 0;
                struct lt_timer_site_rec *r = site_rec((uint32_t)idx);
                r->stack = stack;
                r->kind = (uint8_t)kind;
                __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
                sites[i] = (struct site_map){ stack, kind, (uint32_t)idx + 1 };
                return (uint32_t)idx + 1;
        }
        return 0;
}

/* A slot for a new timer: an ended one, or a new record. Under the lock.
 * Returns slot + 1, or 0. */
static uint32_t slot_get(void)
{
        if (nfree)
                return free_slots[--nfree] + 1;
        struct lt_section *s = &lt_tf.hdr->sections[LT_SEC_TIMERS];
        uint64_t idx = s->count;
        if (idx >= LT_MAX_FDS || lt_tf_reserve(LT_SEC_TIMERS, idx + 1) < 0)
                return 0;
        __atomic_store_n(&s->count, idx + 1, __ATOMIC_RELEASE);
        return (uint32_t)idx + 1;
}

static void fd_map(int fd, uint32_t slot1)
{
        if ((unsigned)fd >= LT_MAX_FDS)
                return;
        fd_slot[fd] = slot1;
        uint64_t bit = 1ull << ((unsigned)fd % 64);
        if (slot1)
                __atomic_fetch_or(&lt_timer_fd_bits[(unsigned)fd / 64], bit, __ATOMIC_RELAXED);
        else
                __atomic_fetch_and(&lt_timer_fd_bits[(unsigned)fd / 64], ~bit, __ATOMIC_RELAXED);
}

static struct posix_map *posix_find(int64_t id, int make)
{
        uint64_t i = lt_mix64((uint64_t)id) & (MAX_POSIX - 1);
        for (unsigned probes = 0; probes < MAX_POSIX; probes++, i = (i + 1) & (MAX_POSIX - 1)) {
                if (posix[i].slot && posix[i].id == id)
                        return &posix[i];
                if (!posix[i].slot && make)
                        return &posix[i];
        }
        return NULL;
}

/* Removing from open addressing without tombstones: re-enter the rest of
 * the probe run. The table is small and deletions rare. */
static void posix_remove(struct posix_map *m)
{
        m->slot = 0;
        uint64_t i = (uint64_t)(m - posix);
        for (i = (i + 1) & (MAX_POSIX - 1); posix[i].slot; i = (i + 1) & (MAX_POSIX - 1)) {
                struct posix_map e = posix[i];
                posix[i].slot = 0;
                *posix_find(e.id, 1) = e;
        }
}

/* The timer in slot ends. Under the lock. */
static void end(uint32_t slot)
{
        struct lt_timer_rec *r = rec(slot);
        if (r->state != LT_TIMER_LIVE)
                return;
        __atomic_store_n(&r->state, LT_TIMER_FREE, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&site_rec(r->site)->live, 1, __ATOMIC_RELAXED);
        free_slots[nfree++] = slot;
}

/* Makes a live timer record. Under the lock. Returns slot + 1, or 0. */
static uint32_t make(enum lt_timer_kind kind, uint32_t stack, int64_t id, int clock, int flags)
{
        uint32_t site = site_get(stack, kind);
        uint32_t slot1 = site ? slot_get() : 0;
        if (!slot1) {
                lt_tf_drop(LT_DROP_TIMERS_FULL, 1);
                return 0;
        }
        struct lt_timer_rec *r = rec(slot1 - 1);
        memset((char *)r + sizeof(r->state), 0, sizeof(*r) - sizeof(r->state));
        r->kind = (uint8_t)kind;
        r->flags = (uint8_t)flags;
        r->fds = kind == LT_TIMER_TIMERFD;
        r->clock = clock;
        r->site = site - 1;
        r->id = id;
        r->created_ns = lt_now_ns();
        struct lt_timer_site_rec *s = site_rec(site - 1);
        __atomic_add_fetch(&s->created, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s->live, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&r->state, LT_TIMER_LIVE, __ATOMIC_RELEASE);
        return slot1;
}

static void close_locked(int fd)
{
        uint32_t slot1 = fd_slot[fd];
        fd_map(fd, 0);
        if (!slot1)
                return;
        struct lt_timer_rec *r = rec(slot1 - 1);
        if (r->fds > 0)
                r->fds--;
        if (!r->fds)
                end(slot1 - 1);
}

static uint32_t current_stack(void)
{
        return lt_stack_here(1, NULL);
}

void lt_timer_created(enum lt_timer_kind kind, int64_t id, int clock)
{
        uint32_t stack = current_stack();
        if (!stack)
                return;
        lt_lock(&lock);
        if (kind == LT_TIMER_TIMERFD) {
                if ((uint64_t)id >= LT_MAX_FDS) {
                        /* Its close could not be seen: not recorded at all. */
                        lt_tf_drop(LT_DROP_TIMERS_FULL, 1);
                } else {
                        if (lt_fd_is_timer((int)id))
                                close_locked((int)id); /* its close went unseen */
                        fd_map((int)id, make(kind, stack, id, clock, 0));
                }
        } else if (kind == LT_TIMER_POSIX) {
                struct posix_map *m = posix_find(id, 1);
                if (m && m->slot)
                        end(m->slot - 1);
                uint32_t slot1 = m ? make(kind, stack, id, clock, 0) : 0;
                if (slot1)
                        *m = (struct posix_map){ id, slot1 };
                else if (!m)
                        lt_tf_drop(LT_DROP_TIMERS_FULL, 1);
        }
        lt_unlock(&lock);
}

static void arm_locked(uint32_t slot1, uint32_t stack, int flags, const struct itimerspec *v,
                       uint64_t at_ns)
{
        int armed = v->it_value.tv_sec || v->it_value.tv_nsec;
        struct lt_timer_rec *r = rec(slot1 - 1);
        r->arm_stack = stack;
        r->arms++;
        r->armed_ns = at_ns;
        r->interval_ns = ts_ns(&v->it_interval);
        r->value_ns = ts_ns(&v->it_value);
        r->flags = (uint8_t)((r->flags & LT_TIMER_INHERITED) | (armed ? LT_TIMER_ARMED : 0) |
                             (flags ? LT_TIMER_ABSTIME : 0));
}

/* A one-shot real-time itimer or alarm whose expiry has passed. Those on
 * CPU time (ITIMER_VIRTUAL, ITIMER_PROF) cannot be told from here: they
 * count as armed until re-armed or disarmed. */
static int expired_once(const struct lt_timer_rec *r)
{
        return r->interval_ns == 0 && r->clock == ITIMER_REAL && !(r->flags & LT_TIMER_ABSTIME) &&
               r->armed_ns + r->value_ns <= lt_now_ns();
}

void lt_timer_armed(enum lt_timer_kind kind, int64_t id, int flags, const struct itimerspec *v,
                    uint64_t at_ns)
{
        uint32_t stack = current_stack();
        int armed = v->it_value.tv_sec || v->it_value.tv_nsec;
        uint32_t slot1 = 0;

        lt_lock(&lock);
        if (kind == LT_TIMER_TIMERFD) {
                slot1 = (uint64_t)id < LT_MAX_FDS ? fd_slot[id] : 0;
        } else if (kind == LT_TIMER_POSIX) {
                struct posix_map *m = posix_find(id, 0);
                slot1 = m ? m->slot : 0;
        } else if ((uint64_t)id < 3) { /* itimer or alarm: id says which */
                slot1 = itimer_slot[id];
                /* The last arming was one-shot and has fired, or was the
                 * other call's (alarm is ITIMER_REAL, which setitimer arms
                 * too: a repeating setitimer after an alarm is no alarm):
                 * this arming makes a new timer, of this call's kind and
                 * site. */
                if (slot1 && (expired_once(rec(slot1 - 1)) || rec(slot1 - 1)->kind != kind)) {
                        end(slot1 - 1);
                        slot1 = itimer_slot[id] = 0;
                }
                if (!armed) {
                        if (slot1)
                                end(slot1 - 1);
                        itimer_slot[id] = 0;
                        slot1 = 0;
                } else if (!slot1 && stack) {
                        slot1 = itimer_slot[id] = make(kind, stack, id, (int)id, 0);
                }
        }
        if (slot1)
                arm_locked(slot1, stack, flags, v, at_ns);
        lt_unlock(&lock);
}

void lt_timer_deleted(int64_t id)
{
        lt_lock(&lock);
        struct posix_map *m = posix_find(id, 0);
        if (m) {
                end(m->slot - 1);
                posix_remove(m);
        }
        lt_unlock(&lock);
}

void lt_fd_closing(int fd)
{
        /* A vfork child closing its copies: the parent's timers stay. */
        if (!lt_engine_own_process())
                return;
        lt_lock(&lock);
        if (lt_fd_is_timer(fd))
                close_locked(fd);
        lt_unlock(&lock);
}

void lt_fd_range_closing(unsigned first, unsigned last)
{
        if (!lt_engine_own_process())
                return;
        if (last >= LT_MAX_FDS)
                last = LT_MAX_FDS - 1;
        lt_lock(&lock);
        for (unsigned fd = first; fd <= last && first <= last; fd++) {
                if (!(fd % 64) && fd + 63 <= last && !lt_timer_fd_bits[fd / 64]) {
                        fd += 63; /* a word without timers */
                        continue;
                }
                if (lt_fd_is_timer((int)fd))
                        close_locked((int)fd);
        }
        lt_unlock(&lock);
}

void lt_fd_duped(int oldfd, int newfd)
{
        if (!lt_engine_own_process())
                return;
        if (oldfd == newfd || (unsigned)newfd >= LT_MAX_FDS)
                return;
        lt_lock(&lock);
        if (lt_fd_is_timer(newfd))
                close_locked(newfd); /* dup2 closed what was there */
        if (lt_fd_is_timer(oldfd)) {
                uint32_t slot1 = fd_slot[oldfd];
                rec(slot1 - 1)->fds++;
                fd_map(newfd, slot1);
        }
        lt_unlock(&lock);
}

/* "it_value: (1, 500)" in /proc/self/fdinfo: seconds and nanoseconds. */
static int parse_pair(const char *text, const char *key, struct timespec *t)
{
        const char *p = strstr(text, key);
        if (!p)
                return -1;
        p += strlen(key);
        while (*p == ' ' || *p == '(' || *p == '\t')
                p++;
        long sec = 0, nsec = 0;
        while (*p >= '0' && *p <= '9')
                sec = sec * 10 + (*p++ - '0');
        while (*p == ',' || *p == ' ')
                p++;
        while (*p >= '0' && *p <= '9')
                nsec = nsec * 10 + (*p++ - '0');
        t->tv_sec = sec;
        t->tv_nsec = nsec;
        return 0;
}

/* A timerfd this image did not create: it came through exec. Its clock and
 * arming are in /proc/self/fdinfo. */
static void adopt_timerfd(int fd)
{
        char path[64], text[512];
        lt_fmt(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        int in = open(path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return;
        ssize_t n = read(in, text, sizeof(text) - 1);
        close(in);
        if (n <= 0)
                return;
        text[n] = '\0';
        const char *c = strstr(text, "clockid:");
        int clock = c ? (int)strtol(c + 8, NULL, 10) : 0;
        struct itimerspec v = { 0 };
        parse_pair(text, "it_value:", &v.it_value);
        parse_pair(text, "it_interval:", &v.it_interval);

        lt_lock(&lock);
        /* Descriptors duplicated before the exec are one timer: the kernel
         * says whether two descriptors are the same open file. */
        pid_t self = getpid();
        for (int other = 0; other < fd; other++) {
                if (!lt_fd_is_timer(other) ||
                    syscall(SYS_kcmp, self, self, KCMP_FILE, other, fd) != 0)
                        continue;
                uint32_t same = fd_slot[other];
                rec(same - 1)->fds++;
                fd_map(fd, same);
                lt_unlock(&lock);
                return;
        }
        uint32_t slot1 = make(LT_TIMER_TIMERFD, 0, fd, clock, LT_TIMER_INHERITED);
        fd_map(fd, slot1);
        if (slot1 && (v.it_value.tv_sec || v.it_value.tv_nsec))
                arm_locked(slot1, 0, 0, &v, lt_now_ns());
        lt_unlock(&lock);
}

static void adopt_inherited(void)
{
        int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return;
        char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
                for (long off = 0; off < n;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        char *end;
                        long fd = strtol(d->d_name, &end, 10);
                        if (*end || end == d->d_name || fd == dir)
                                continue;
                        char path[64], target[64];
                        lt_fmt(path, sizeof(path), "/proc/self/fd/%ld", fd);
                        ssize_t len = readlink(path, target, sizeof(target) - 1);
                        if (len <= 0)
                                continue;
                        target[len] = '\0';
                        if (!strcmp(target, "anon_inode:[timerfd]"))
                                adopt_timerfd((int)fd);
                }
        }
        close(dir);

        /* An itimer survives exec too (alarm is ITIMER_REAL). */
        for (int which = 0; which < 3; which++) {
                struct itimerval it;
                if (getitimer(which, &it) < 0 || (!it.it_value.tv_sec && !it.it_value.tv_usec))
                        continue;
                struct itimerspec v = {
                        { it.it_interval.tv_sec, it.it_interval.tv_usec * 1000 },
                        { it.it_value.tv_sec, it.it_value.tv_usec * 1000 },
                };
                lt_lock(&lock);
                uint32_t slot1 = make(LT_TIMER_ITIMER, 0, which, which, LT_TIMER_INHERITED);
                itimer_slot[which] = slot1;
                if (slot1)
                        arm_locked(slot1, 0, 0, &v, lt_now_ns());
                lt_unlock(&lock);
        }
}

static int init_tables(void)
{
        uint64_t *bits = map_zeroed(LT_MAX_FDS / 8);
        fd_slot = map_zeroed(LT_MAX_FDS * sizeof(uint32_t));
        free_slots = map_zeroed(LT_MAX_FDS * sizeof(uint32_t));
        if (!bits || !fd_slot || !free_slots)
                return -ENOMEM;
        lt_timer_fd_bits = (_Atomic uint64_t *)bits;
        return 0;
}

int lt_timers_init(void)
{
        int err = init_tables();
        if (err)
                return err;
        adopt_inherited();
        return 0;
}

int lt_timers_attach(void)
{
        if (!lt_timer_fd_bits) {
                int err = init_tables();
                if (err)
                        return err;
        }
        lt_lock(&lock);
        /* Zero pages again rather than touch megabytes. */
        madvise((void *)lt_timer_fd_bits, LT_MAX_FDS / 8, MADV_DONTNEED);
        madvise(fd_slot, LT_MAX_FDS * sizeof(uint32_t), MADV_DONTNEED);
        nfree = 0;
        memset(posix, 0, sizeof(posix));
        memset(itimer_slot, 0, sizeof(itimer_slot));
        memset(sites, 0, sizeof(sites));
        lt_unlock(&lock);
        return 0;
}

void lt_timers_lock(void)
{
        lt_lock(&lock);
}

void lt_timers_unlock(void)
{
        lt_unlock(&lock);
}

void lt_timers_fork_child(void)
{
        lt_lock_reset(&lock);
        /* Not recording (an attached process's child): the file may be the
         * parent's, shared. */
        if (!lt_tf.hdr || lt_recording == LT_OFF)
                return;
        /* fork passes on descriptors, so timerfds live on in the child; POSIX
         * timers, itimers and alarm stay with the parent. */
        for (unsigned i = 0; i < MAX_POSIX; i++)
                if (posix[i].slot) {
                        end(posix[i].slot - 1);
                        posix[i].slot = 0;
                }
        for (int which = 0; which < 3; which++)
                if (itimer_slot[which]) {
                        end(itimer_slot[which] - 1);
                        itimer_slot[which] = 0;
                }
}
