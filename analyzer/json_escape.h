/* JSON strings, written out. Names from a trace (a command line, a path, a
 * symbol) are bytes, not necessarily UTF-8: the output must still parse. */
#ifndef LT_JSON_ESCAPE_H
#define LT_JSON_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Writes the LEN bytes at S to OUT as a JSON string, quotes included:
 * quote, backslash and control characters escaped, valid UTF-8 kept as it
 * is, and each byte that is not part of valid UTF-8 (overlong, surrogate,
 * beyond U+10FFFF, cut short) written as \ufffd. */
void lt_json_string_n(FILE *out, const char *s, size_t len);

/* The LEN bytes at S escaped as inside a JSON string, without the quotes:
 * for a string written in pieces. */
void lt_json_chars(FILE *out, const char *s, size_t len);

/* The same for a NUL-terminated string; NULL is written as null. */
void lt_json_string(FILE *out, const char *s);

/* Length of the valid UTF-8 sequence at S (at most LEN >= 1 bytes), or 0
 * when S does not start one: for the other writers that must keep their
 * output valid UTF-8 (SVG, markdown). */
size_t lt_utf8_len(const unsigned char *s, size_t len);

#endif
