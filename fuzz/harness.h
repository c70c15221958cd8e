/* What the fuzz target and the real-file test share: one trace file, given
 * as bytes, through the analyzer as `leaktrace report` takes it (read and
 * validated by lt_trace_load(), then every report format written but html,
 * which wraps the JSON writer's output). */
#ifndef LT_FUZZ_HARNESS_H
#define LT_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Sends the analyzer's own warnings (stdio's stderr) to /dev/null, unless
 * LT_FUZZ_VERBOSE is set. Sanitizer reports, written to descriptor 2, still
 * show. Call once. */
void lt_fuzz_quiet(void);

/* Feeds DATA as a trace file. Returns 0 when the analyzer accepted it and
 * wrote every report, 1 when it refused it with a proper message (why, when
 * not NULL, gets it). Aborts when a refusal's message is empty or not one
 * line: that is a bug as much as a crash. */
int lt_fuzz_one(const uint8_t *data, size_t size, char *why, size_t why_len);

#endif
