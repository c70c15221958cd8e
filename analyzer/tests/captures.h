/* Frames for the report test: real return addresses inside the test
 * program, each at a line it records, through every kind of call the
 * report must tell apart (plain, inlined, through allocator wrappers,
 * C++-named). Built without optimization, so that a call stays a call at
 * its line. */
#ifndef LT_TEST_CAPTURES_H
#define LT_TEST_CAPTURES_H

#include <stdint.h>

/* A captured stack: frames innermost first, the line of each call. */
struct cap {
        uint64_t f[4];
        unsigned line[4];
};

struct caps {
        struct cap a, b, x, d, c, dd, w, m;
        uint64_t wrapper_inner[3];
};

extern const char lt_test_captures_file[]; /* captures.c */
extern const char lt_test_wrappers_file[]; /* fake_wrappers.c */

/* Fills K: see the functions in captures.c for what each stack is. */
void lt_test_capture_all(struct caps *k);

#endif
