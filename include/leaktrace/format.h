/* The leaktrace trace file: the one contract between libleaktrace.so, which
 * writes it through a shared file mapping, and the leaktrace command, which
 * reads it.
 *
 * Layout. A fixed header of `header_size` bytes, then chunks. Each section
 * (stacks, frames, modules, ...) is a segmented array: its chunks come in
 * levels of 2^lg, each chunk of level g holding `base << g` records, so a
 * section grows without ever moving a record, and the header lists the file
 * offset of every chunk (lt_chunk_of(), lt_chunk_start(), lt_chunk_off()).
 * Chunks are appended at the end of the file and reserved with fallocate()
 * before they are used, so a write into the mapping can never fault for
 * want of disk space.
 *
 * Everything is little-endian and fixed-width. A writer fills a record,
 * then publishes it by a release store of the section's `count`; a reader
 * trusts only records below `count`, and validates every offset and count
 * against the size of the file before using it.
 *
 * Compatibility: fields are only ever added (in reserved space or new
 * section kinds), never renamed or moved. LT_VERSION changes only when an
 * old reader could not read a new file correctly. The reader reads every
 * version; the preload writes the last.
 *
 * Version 1: an 8 KiB header (struct lt_header), lg = 0 (each chunk twice
 * the last), 32 chunks a section. A section that has just crossed the end
 * of a chunk holds about half of what its chunks take: the file of a
 * long-running server grew by half again when its frames did so by a few
 * records.
 * Version 2: lg = 4 (16 chunks a level), so what the last chunk leaves
 * unused is at most an 8th of what the section holds (at the start of
 * level 1), nearer a 16th in later levels. Its 208 chunks a section need
 * more slots than struct lt_section has: the header is 32 KiB, the first
 * 8 KiB exactly version 1's (chunk slots 0..31 included, and the control
 * and history state that `leaktrace ctl` maps), then struct
 * lt_header_more with slots 32.. of every section.
 */
#ifndef LEAKTRACE_FORMAT_H
#define LEAKTRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define LT_MAGIC "LEAKTRC\0"
#define LT_MAGIC_LEN 8
#define LT_VERSION 2
#define LT_HEADER_SIZE 32768   /* version 2's */
#define LT_HEADER_SIZE_V1 8192 /* version 1's; where version 2's extension starts */
#define LT_MAX_SECTIONS 16
#define LT_HEAD_CHUNKS 32 /* chunk slots in struct lt_section: all of version 1's */
#define LT_MAX_CHUNKS 208 /* chunks of a version-2 section: 13 levels of 16 */
#define LT_MAX_CHUNKS_V1 LT_HEAD_CHUNKS
#define LT_CHUNK_LG 4 /* version 2: 2^4 chunks a level */
#define LT_CHUNK_LG_V1 0
#define LT_MAX_DEPTH 256
#define LT_CMDLINE_MAX 2048
#define LT_PATH_MAX 1024

/* Header flags. */
#define LT_F_COMPLETE 0x1u   /* the process exited cleanly and said so */
#define LT_F_EXEC 0x2u       /* the process image was replaced by exec */
#define LT_F_FORK_CHILD 0x4u /* started as a copy of the parent's state at fork */
#define LT_F_DROPPED 0x8u    /* something was not recorded: see drops */
#define LT_F_STATUS 0x10u    /* exit_status holds what was passed to exit() or _exit() */
#define LT_F_PERF_MAP 0x20u  /* a copy of node's perf map is beside the file: see below */
#define LT_F_ATTACHED 0x40u  /* recorded by `leaktrace attach` from start_ns on: blocks
                              * allocated before are unknown, their frees not counted;
                              * end_ns is the detach when LT_F_COMPLETE */
#define LT_F_FROZEN 0x80u    /* node: recording ended at its 'exit' event, before node
                              * tore its heap down (which frees every block it held) */
#define LT_F_SIGNALED 0x100u /* killed by the signal in exit_status: written after its
                              * death by `leaktrace run`, which saw it */
#define LT_F_EXITED 0x200u   /* exited with the status in exit_status by a way past the
                              * tracer's hooks (the exit system call), the file not
                              * finished: written after by `leaktrace run`, with
                              * LT_F_STATUS */
#define LT_F_EXEC_UNTRACED 0x400u /* with LT_F_EXEC: the environment given to exec had
                                   * no preload (cleared, LEAKTRACE_FOLLOW=none): the
                                   * image after this one ran untraced */

/* JS frames. node run with --perf-basic-prof writes /tmp/perf-<pid>.map, one
 * line per piece of code it makes: "START SIZE name", START and SIZE in hex
 * without 0x, a later line winning where a range is reused. The process's
 * background thread copies it, appending only what is new, beside the trace
 * file: the copy of `DIR/NAME.lt` is `DIR/NAME.perf.map` (made 0600, with
 * O_EXCL|O_NOFOLLOW like the trace file), and the header's perf_map_bytes
 * says how much of it was copied. A copy stops at LT_PERF_MAP_MAX bytes
 * (counted as PERF_MAP_FULL); its last line may be partial, and a reader
 * ignores a line without its newline. A forked child (without exec) copies
 * /tmp/perf-<its pid>.map, never its parent's. */
#define LT_PERF_MAP_MAX (256ull << 20)

/* Section kinds: kind, name, record type. One list, so that the writer's
 * defaults, the reader's validation and its messages always agree. */
#define LT_SECTIONS(X)                                                          \
        X(STACKS, "stacks", struct lt_stack_rec)                               \
        X(FRAMES, "frames", uint64_t)                                          \
        X(MODULES, "modules", struct lt_module_rec)                             \
        X(TIMERS, "timers", struct lt_timer_rec)                                 \
        X(TIMER_SITES, "timer sites", struct lt_timer_site_rec)                  \
        X(TIMELINE, "timeline", struct lt_tick_rec)                              \
        X(HISTORY, "history", struct lt_history_rec)                             \
        X(SNAPSHOTS, "snapshots", struct lt_snapshot_rec)                        \
        X(SNAPVALS, "snapshot values", struct lt_snapval_rec)                    \
        X(MAP_SITES, "mapping sites", struct lt_map_site_rec)

enum lt_section_kind {
        LT_SEC_NONE = 0,
#define LT_X_ENUM(K, name, type) LT_SEC_##K,
        LT_SECTIONS(LT_X_ENUM)
#undef LT_X_ENUM
        LT_SEC__COUNT
};

/* Reasons for not recording something: counted in the header. Each with
 * what it is, and what its count counts ("note: TEXT; WHAT: N"). */
#define LT_DROPS(X)                                                                                \
        X(STACKS_FULL, "stack table full (LEAKTRACE_MAX_STACKS)", "allocations not recorded")     \
        X(LIVE_FULL, "live-allocation table full (LEAKTRACE_MAX_LIVE)",                            \
          "allocations not recorded")                                                              \
        X(FILE_FULL, "trace file could not grow (disk full or file size limit)",                   \
          "allocations and records not written")                                                   \
        X(MODULES_FULL, "module table full", "modules not recorded")                               \
        X(TRUNCATED_STACKS, "stacks cut at LEAKTRACE_DEPTH (raise it to keep their outer frames)", \
          "stacks cut")                                                                            \
        X(TIMERS_FULL, "timer table full", "timers not recorded")                                  \
        X(HISTORY_FULL, "sites without history (LEAKTRACE_HISTORY_SITES)",                         \
          "sites without a timeline, so without a verdict")                                        \
        X(SNAPSHOTS_FULL, "snapshots not taken (at most 64)", "snapshots refused")                 \
        X(MAPPINGS_FULL, "anonymous mappings not tracked (table full)", "mappings not tracked")    \
        X(PERF_MAP_FULL, "perf map copy cut at 256 MiB (JS code made later not named)", "cuts")    \
        X(SHORT_STACKS,                                                                            \
          "stacks cut short: made on a small signal stack or a stack the program made, through "  \
          "code with neither unwind tables nor frame pointers, or with libunwind's pipe taken "    \
          "by the program",                                                                        \
          "stacks cut short")

enum lt_drop_kind {
#define LT_X_ENUM(K, text, what) LT_DROP_##K,
        LT_DROPS(LT_X_ENUM)
#undef LT_X_ENUM
        LT_DROP__COUNT
};
#define LT_MAX_DROPS 16

struct lt_section {
        uint32_t kind;     /* enum lt_section_kind; 0 for an unused slot */
        uint32_t rec_size; /* bytes per record */
        uint32_t base;     /* records in chunk 0, a power of two */
        uint32_t nchunks;  /* chunks allocated, each listed: lt_chunk_off() */
        uint64_t count;    /* records published */
        uint64_t chunk_off[LT_HEAD_CHUNKS]; /* chunks 0..31; version 2's next in lt_header_more */
};
_Static_assert(sizeof(struct lt_section) == 24 + 8 * LT_HEAD_CHUNKS, "lt_section layout");

/* Counters that belong to the whole process. Kept on a cache line of their
 * own: every allocation touches them. */
struct lt_totals {
        int64_t live_bytes;
        int64_t live_blocks;
        int64_t peak_live_bytes;
        int64_t mapped_bytes;      /* anonymous memory mapped and accessible now */
        int64_t peak_mapped_bytes;
        uint64_t reserved[3];
};
_Static_assert(sizeof(struct lt_totals) == 64, "lt_totals layout");

/* Recording states (lt_history_state.state). */
#define LT_STATES(X)                                                            \
        X(OFF, "off")                                                          \
        X(ON, "recording")                                                     \
        X(PAUSED, "paused (nothing recorded yet)")                             \
        X(STOPPED, "stopped (frees of recorded blocks still counted)")

enum lt_state {
#define LT_X_ENUM(K, text) LT_STATE_##K,
        LT_STATES(LT_X_ENUM)
#undef LT_X_ENUM
        LT_STATE__COUNT
};

/* Commands that `leaktrace ctl` writes into a running process's file. The
 * file is mode 0600: only its owner (or root) can open it for writing,
 * which is the whole of the access control. The process's background
 * thread polls req_seq every LT_CONTROL_POLL_MS, runs the command, and
 * answers by storing done_seq = req_seq. */
#define LT_CONTROL_POLL_MS 100
#define LT_COMMANDS(X)                                                          \
        X(START, "start")                                                      \
        X(STOP, "stop")                                                        \
        X(SNAPSHOT, "snapshot")                                                \
        X(STATUS, "status")                                                    \
        X(DETACH, "detach") /* attached processes: restore, finish the file */

enum lt_command {
        LT_CMD_NONE = 0,
#define LT_X_ENUM(K, name) LT_CMD_##K,
        LT_COMMANDS(LT_X_ENUM)
#undef LT_X_ENUM
        LT_CMD__COUNT
};

struct lt_control {
        uint32_t req_seq;  /* written by ctl, after req_cmd and req_arg */
        uint32_t req_cmd;  /* enum lt_command */
        uint32_t done_seq; /* written by the process when the command is done */
        int32_t done_status; /* 0, or -errno */
        char req_arg[48];  /* a snapshot's name, NUL-terminated */
};
_Static_assert(sizeof(struct lt_control) == 64, "lt_control layout");

/* The timeline and the per-site history share one grid of LT_HIST_COLS
 * columns: the first LT_HIST_LONG sample the whole run at a period that
 * doubles whenever they are full (every other one is kept), the last
 * LT_HIST_RECENT are a ring of the most recent ticks. A day-long run keeps
 * its trend over the whole day, and its last seconds in detail, in a
 * fixed size. */
#define LT_HIST_LONG 48
#define LT_HIST_RECENT 16
#define LT_HIST_COLS (LT_HIST_LONG + LT_HIST_RECENT)

struct lt_history_state {
        uint32_t state;      /* enum lt_state */
        uint32_t tick_ms;    /* configured tick */
        uint32_t ticks;      /* ticks taken so far */
        uint32_t period;     /* ticks between long-term columns */
        uint32_t nlong;      /* long-term columns in use */
        uint32_t nrecent;    /* recent columns in use (at most LT_HIST_RECENT) */
        uint32_t recent_next; /* next recent column to write, 0-based within the ring */
        uint32_t pid_alive;  /* the pid whose background thread answers control */
        uint64_t tracer_bytes; /* memory the tracer itself holds, at the last tick */
        uint64_t start_tick_ns; /* CLOCK_REALTIME when recording first started */
        uint64_t stop_tick_ns;  /* CLOCK_REALTIME when it (last) stopped (ctl stop, a
                                 * seccomp filter); 0: never, or started since */
        uint64_t stopped_ns;    /* time between a stop and a later start, summed */
        uint64_t restarts;      /* starts after a stop */
        uint64_t reserved[1];
};
_Static_assert(sizeof(struct lt_history_state) == 80, "lt_history_state layout");

struct lt_header {
        char magic[LT_MAGIC_LEN];
        uint32_t version;
        uint32_t header_size; /* LT_HEADER_SIZE, or LT_HEADER_SIZE_V1 in version 1 */
        uint32_t flags;       /* LT_F_* */
        uint32_t pid;
        uint32_t ppid;
        uint32_t depth;       /* configured stack depth */
        uint64_t start_ns;    /* CLOCK_REALTIME when recording began */
        uint64_t update_ns;   /* CLOCK_REALTIME of the last header update */
        uint64_t end_ns;      /* CLOCK_REALTIME at exit or exec; 0 before */
        uint64_t file_size;   /* bytes of the file in use: end of the last chunk */
        uint64_t session;     /* set by `leaktrace run` to find its files; 0 if none */
        uint32_t mod_gen;     /* module map generation, bumped by every change */
        uint32_t exit_status; /* as passed to exit() or _exit(), when LT_F_STATUS */
        uint32_t cmdline_len; /* bytes used in cmdline: NUL-terminated arguments */
        uint32_t argc;
        uint32_t fork_parent; /* pid whose state a fork child started from, or 0 */
        uint32_t exec_count;  /* how many images this pid had before this one */
        uint64_t proc_start;  /* process start, clock ticks after boot (/proc/PID/stat):
                               * with pid, names one process across its execs */
        uint64_t sample_bytes; /* mean bytes between samples; 0: every allocation
                                * recorded. Sampled figures are estimates */
        uint64_t perf_map_bytes; /* bytes of the perf map copied, when LT_F_PERF_MAP */
        uint64_t exit_allocs; /* allocations made when exit() was called, before the atexit
                               * handlers and destructors (housekeeping, not work): the
                               * analyzer's axis of work ends there; 0: not known */
        struct lt_totals totals;
        uint64_t drops[LT_MAX_DROPS]; /* enum lt_drop_kind */
        char cmdline[LT_CMDLINE_MAX];
        char exe[LT_PATH_MAX];
        struct lt_section sections[LT_MAX_SECTIONS]; /* indexed by kind */
        struct lt_control control;
        struct lt_history_state history;
};
_Static_assert(offsetof(struct lt_header, totals) % 64 == 0, "totals on their own line");
_Static_assert(offsetof(struct lt_header, perf_map_bytes) == 112, "perf_map_bytes where reserved0 was");
_Static_assert(offsetof(struct lt_header, exit_allocs) == 120, "exit_allocs where reserved0 was");
_Static_assert(sizeof(struct lt_header) <= LT_HEADER_SIZE_V1, "lt_header fits version 1's header");

/* Version 2's header, from LT_HEADER_SIZE_V1 on: the file offsets of
 * chunks LT_HEAD_CHUNKS.. of each section, indexed by kind. */
struct lt_header_more {
        uint64_t chunk_off[LT_MAX_SECTIONS][LT_MAX_CHUNKS - LT_HEAD_CHUNKS];
};
_Static_assert(LT_HEADER_SIZE_V1 + sizeof(struct lt_header_more) <= LT_HEADER_SIZE,
               "lt_header_more fits version 2's header");

/* What a version of the format implies: the layout of its header and its
 * chunks. lt_layout_of() is NULL for a version that does not exist. */
struct lt_layout {
        uint32_t header_size;
        unsigned chunk_lg;   /* chunks a level: 2^chunk_lg */
        unsigned max_chunks; /* chunks a section */
};

static inline const struct lt_layout *lt_layout_of(uint32_t version)
{
        static const struct lt_layout layouts[] = {
            [1] = {LT_HEADER_SIZE_V1, LT_CHUNK_LG_V1, LT_MAX_CHUNKS_V1},
            [2] = {LT_HEADER_SIZE, LT_CHUNK_LG, LT_MAX_CHUNKS},
        };
        _Static_assert(sizeof(layouts) / sizeof(layouts[0]) == LT_VERSION + 1, "every version");
        return version >= 1 && version <= LT_VERSION ? &layouts[version] : NULL;
}

/* Where the file offset of chunk c of section `kind` is kept, in a header
 * held whole (header_size bytes) of a version whose sections have more
 * than c chunks. Slots 0..31 are where version 1 has them. */
static inline uint64_t *lt_chunk_slot(struct lt_header *h, unsigned kind, unsigned c)
{
        if (c < LT_HEAD_CHUNKS)
                return &h->sections[kind].chunk_off[c];
        struct lt_header_more *more = (struct lt_header_more *)((char *)h + LT_HEADER_SIZE_V1);
        return &more->chunk_off[kind][c - LT_HEAD_CHUNKS];
}

static inline uint64_t lt_chunk_off(const struct lt_header *h, unsigned kind, unsigned c)
{
        return *lt_chunk_slot((struct lt_header *)h, kind, c);
}

/* A distinct call stack, and the allocation counters of the site it names.
 * One cache line: an allocation from a known stack touches only this. */
struct lt_stack_rec {
        uint64_t hash;
        uint64_t frames;  /* index of the innermost frame in the frames section */
        uint16_t depth;   /* frames, innermost first */
        uint16_t flags;   /* LT_STACK_* */
        uint32_t mod_gen; /* module map generation when first seen */
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
        uint64_t bytes_allocated;
        int64_t peak_live_bytes;
};
_Static_assert(sizeof(struct lt_stack_rec) == 64, "lt_stack_rec layout");
#define LT_STACK_TRUNCATED 0x1u /* deeper than the configured depth */
#define LT_STACK_SHORT 0x2u     /* the walk could not go on: a small signal stack, or no libunwind */

/* Frame addresses, innermost first, are return addresses as the unwinder
 * gave them: the innermost is the return address into the code that called
 * malloc (or calloc, new, ...). A reader looks up `address - 1` to find the
 * calling line. Frames of libleaktrace.so itself are never stored. */

#define LT_MOD_MAIN 0x1u    /* the executable */
#define LT_MOD_SELF 0x2u    /* libleaktrace.so */
#define LT_MOD_VDSO 0x4u    /* the kernel's vDSO: no file behind it */
#define LT_MOD_PATH_CUT 0x8u /* path longer than the record holds */
/* A copy of a loaded object's code mapped from its file at another address
 * (V8 maps node's builtins again next to its JIT code): same path, build-id
 * and segments as the object's own record, its own bias and range. */
#define LT_MOD_ALIAS 0x10u
#define LT_MAX_SEGS 8
#define LT_MOD_LOADED UINT32_MAX /* gen_unloaded of a module still loaded */

struct lt_segment {
        uint64_t vaddr; /* p_vaddr of a PT_LOAD header */
        uint64_t memsz;
        uint32_t pflags; /* PF_R | PF_W | PF_X */
        uint32_t pad;
        uint64_t offset; /* p_offset */
};
_Static_assert(sizeof(struct lt_segment) == 32, "lt_segment layout");

/* A loaded object. Addresses in it are bias + p_vaddr. */
struct lt_module_rec {
        uint64_t bias;         /* dlpi_addr */
        uint64_t lo;           /* lowest address of its PT_LOAD segments */
        uint64_t hi;           /* one past the highest */
        uint32_t gen_loaded;   /* module generation in which it was seen first */
        uint32_t gen_unloaded; /* generation in which it was gone; LT_MOD_LOADED */
        uint32_t flags;        /* LT_MOD_* */
        uint16_t build_id_len;
        uint16_t path_len;
        uint8_t build_id[32];
        uint32_t nsegs;
        uint32_t pad;
        struct lt_segment segs[LT_MAX_SEGS];
        char path[LT_PATH_MAX - 336]; /* NUL-terminated */
};
_Static_assert(sizeof(struct lt_module_rec) == LT_PATH_MAX, "lt_module_rec layout");

/* Timers. One record per timer that exists now or did: the slot of a timer
 * that ended (closed, deleted, disarmed) is reused for a later one. */
#define LT_TIMER_KINDS(X)                                                       \
        X(TIMERFD, "timerfd")                                                  \
        X(POSIX, "posix")                                                      \
        X(ITIMER, "itimer")                                                    \
        X(ALARM, "alarm")                                                      \
        X(JS, "js")

enum lt_timer_kind {
        LT_TIMER_NONE = 0,
#define LT_X_ENUM(K, name) LT_TIMER_##K,
        LT_TIMER_KINDS(LT_X_ENUM)
#undef LT_X_ENUM
        LT_TIMER__COUNT
};

#define LT_TIMER_FREE 0 /* slot unused, or its timer ended */
#define LT_TIMER_LIVE 1

#define LT_TIMER_ARMED 0x1u     /* armed with a nonzero expiry at the last call */
#define LT_TIMER_ABSTIME 0x2u   /* value_ns is an absolute time on its clock */
#define LT_TIMER_INHERITED 0x4u /* found at start: made before this image (exec) */

struct lt_timer_rec {
        uint32_t state;      /* LT_TIMER_FREE or LT_TIMER_LIVE, stored last */
        uint8_t kind;        /* enum lt_timer_kind */
        uint8_t flags;       /* LT_TIMER_* */
        uint16_t fds;        /* descriptors open on a timerfd (dup) */
        int32_t clock;       /* clockid_t; for itimers ITIMER_REAL, _VIRTUAL or _PROF */
        uint32_t site;       /* index of its creation site in timer_sites */
        int64_t id;          /* the first fd of a timerfd, the timer_t of a posix timer */
        uint32_t arm_stack;  /* stack id of the last arming call; 0 if never armed */
        uint32_t arms;       /* arming calls */
        uint64_t created_ns; /* CLOCK_REALTIME */
        uint64_t armed_ns;   /* CLOCK_REALTIME of the last arming call */
        uint64_t interval_ns;
        uint64_t value_ns;   /* first expiry, as given to the last arming call */
};
_Static_assert(sizeof(struct lt_timer_rec) == 64, "lt_timer_rec layout");

/* The creation site of timers: a stack and a kind. stack is 0 for timers
 * inherited across exec, whose creation nobody saw. */
struct lt_timer_site_rec {
        uint32_t stack;
        uint8_t kind;
        uint8_t pad[3];
        int64_t live;
        uint64_t created;
        uint64_t reserved;
};
_Static_assert(sizeof(struct lt_timer_site_rec) == 32, "lt_timer_site_rec layout");

/* One column of the timeline: the process at one tick. */
#define LT_TICK_SNAPSHOT 0x1u /* taken for a snapshot */
struct lt_tick_rec {
        uint64_t time_ns; /* CLOCK_REALTIME; 0 for a column not yet used */
        uint32_t tick;    /* ticks since start */
        uint32_t flags;
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t rss; /* bytes */
        uint64_t allocs; /* allocations recorded so far; frees are allocs - live_blocks */
        int64_t mapped_bytes; /* anonymous memory mapped and accessible */
        uint32_t timers_live;
        uint32_t snapshot; /* snapshot index + 1, or 0 */
};
_Static_assert(sizeof(struct lt_tick_rec) == 64, "lt_tick_rec layout");

/* One site's live bytes and blocks at each column of the timeline grid.
 * A site gets a record at the first tick that finds it holding memory;
 * earlier columns hold zero, which is what it held at those ticks. */
struct lt_history_rec {
        uint32_t stack;
        uint32_t first_tick;
        int64_t bytes[LT_HIST_COLS];
        int32_t blocks[LT_HIST_COLS];
};
_Static_assert(sizeof(struct lt_history_rec) == 8 + 12 * LT_HIST_COLS, "lt_history_rec layout");

#define LT_MAX_SNAPSHOTS 64
struct lt_snapshot_rec {
        uint64_t time_ns;
        uint32_t tick;
        uint32_t nvals; /* records in snapvals, from first_val */
        uint64_t first_val;
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
        uint64_t rss;
        char name[72];
};
_Static_assert(sizeof(struct lt_snapshot_rec) == 128, "lt_snapshot_rec layout");

/* A site's figures at a snapshot: one per site holding memory then. */
struct lt_snapval_rec {
        uint32_t snapshot;
        uint32_t stack;
        int64_t live_bytes;
        int64_t live_blocks;
        uint64_t allocs;
};
_Static_assert(sizeof(struct lt_snapval_rec) == 32, "lt_snapval_rec layout");

/* Anonymous memory mapped with mmap (not through malloc): what a JIT's
 * heap, an arena allocator or a cache of pages holds. A site is the stack
 * that made the memory accessible: the mmap of it, or the mprotect that
 * committed part of a reservation made with PROT_NONE (as V8 does). Its
 * history is kept like an allocation site's: a history record whose stack
 * has LT_HIST_MAPPING set holds, in the other bits, the index of a map
 * site record. */
#define LT_HIST_MAPPING 0x80000000u
struct lt_map_site_rec {
        uint32_t stack;
        uint32_t pad;
        int64_t live_bytes; /* accessible now */
        int64_t regions;    /* separate ranges accessible now */
        uint64_t maps;      /* calls that made memory accessible here */
        uint64_t bytes_mapped;
        int64_t peak_live_bytes;
        uint64_t reserved[2];
};
_Static_assert(sizeof(struct lt_map_site_rec) == 64, "lt_map_site_rec layout");

/* proc_start from the text of /proc/PID/stat: field 22, counted after the
 * last ')' (the command name may hold spaces and parentheses). 0 when the
 * text is not that. The preload writes it, `leaktrace ctl` compares it. */
static inline uint64_t lt_stat_start_time(const char *stat)
{
        const char *p = NULL;
        for (const char *c = stat; *c; c++)
                if (*c == ')')
                        p = c;
        if (!p)
                return 0;
        int field = 2;
        for (; *p && field < 22; p++)
                if (*p == ' ')
                        field++;
        uint64_t v = 0;
        while (*p >= '0' && *p <= '9')
                v = v * 10 + (uint64_t)(*p++ - '0');
        return v;
}

/* The chunks of a section with chunk-0 size `base` (a power of two), in
 * levels of 2^lg (lt_layout_of()->chunk_lg): chunk k is of level
 * g = k >> lg and holds `base << g` records; level g starts at record
 * (base << lg) * (2^g - 1).
 *
 * Where record `i` lives: its chunk, and its index within the chunk. On the
 * preload's hot path (every allocation): shifts, a clz, a mask. */
static inline unsigned lt_chunk_of(uint64_t i, uint32_t base, unsigned lg, uint64_t *within)
{
        unsigned b = (unsigned)__builtin_ctz(base);
        uint64_t q = (i >> (b + lg)) + 1; /* level g holds q in [2^g, 2^(g+1)) */
        unsigned g = 63u - (unsigned)__builtin_clzll(q);
        uint64_t r = i - (((1ull << g) - 1) << (b + lg)); /* index within the level */
        unsigned s = b + g;                               /* log2 of a chunk's records */
        *within = r & ((1ull << s) - 1);
        return (g << lg) + (unsigned)(r >> s);
}

/* Records that chunks 0..k-1 hold together. */
static inline uint64_t lt_chunk_start(unsigned k, uint32_t base, unsigned lg)
{
        unsigned g = k >> lg;
        uint64_t j = k & ((1u << lg) - 1);
        return (uint64_t)base * ((((1ull << g) - 1) << lg) + (j << g));
}

/* Records that chunk k holds. */
static inline uint64_t lt_chunk_recs(unsigned k, uint32_t base, unsigned lg)
{
        return (uint64_t)base << (k >> lg);
}

#endif
