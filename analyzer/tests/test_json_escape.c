/* JSON string escaping: every class of byte the writer can meet in a
 * command line, a path or a symbol, against the exact text expected. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json_escape.h"

static char *escaped(const char *s, size_t len, int as_cstring)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f)
                abort();
        if (as_cstring)
                lt_json_string(f, s);
        else
                lt_json_string_n(f, s, len);
        fclose(f);
        return buf;
}

static void check_n(const char *name, const char *in, size_t len, const char *want)
{
        char *got = escaped(in, len, 0);
        if (!tap_ok(!strcmp(got, want), "%s", name))
                tap_diag("got %s, want %s", got, want);
        free(got);
}

#define CHECK(name, in, want) check_n(name, in, sizeof(in) - 1, want)

int main(void)
{
        CHECK("plain ASCII", "hello, world", "\"hello, world\"");
        CHECK("empty string", "", "\"\"");
        CHECK("quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"");
        CHECK("slash is left alone", "/usr/lib/x.so", "\"/usr/lib/x.so\"");
        CHECK("short escapes", "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
        CHECK("other control characters as \\u00XX", "\x01\x1f\x1b[0m",
              "\"\\u0001\\u001f\\u001b[0m\"");
        CHECK("DEL escaped", "a\x7f", "\"a\\u007f\"");
        CHECK("NUL inside a counted string", "a\0b", "\"a\\u0000b\"");
        CHECK("2-byte UTF-8 kept", "caf\xc3\xa9", "\"caf\xc3\xa9\"");
        CHECK("3-byte UTF-8 kept", "\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");
        CHECK("4-byte UTF-8 kept", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
        CHECK("highest code point kept", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
        CHECK("lone 0xff replaced",
              "a\xff"
              "b",
              "\"a\\ufffdb\"");
        CHECK("lone continuation byte replaced", "\x80x", "\"\\ufffdx\"");
        CHECK("sequence cut by the end", "ok\xc3", "\"ok\\ufffd\"");
        CHECK("sequence cut by ASCII keeps the ASCII",
              "\xe2\x82"
              "A",
              "\"\\ufffd\\ufffdA\"");
        CHECK("overlong 2-byte form", "\xc0\xaf", "\"\\ufffd\\ufffd\"");
        CHECK("overlong 3-byte form", "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
        CHECK("overlong 4-byte form", "\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        CHECK("UTF-16 surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        CHECK("beyond U+10FFFF", "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        CHECK("0xf5 lead byte", "\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        CHECK("invalid then valid", "\xff\xc3\xa9\"", "\"\\ufffd\xc3\xa9\\\"\"");

        char *got = escaped(NULL, 0, 1);
        tap_ok(!strcmp(got, "null"), "NULL is null");
        free(got);
        got = escaped("tab\there", 0, 1);
        tap_ok(!strcmp(got, "\"tab\\there\""), "NUL-terminated form");
        free(got);

        /* Every single byte: the output is printable ASCII or valid UTF-8,
         * and never holds a raw control character. */
        int clean = 1;
        for (int c = 1; c < 256; c++) {
                char in[2] = {(char)c, 0};
                got = escaped(in, 1, 0);
                for (const unsigned char *p = (const unsigned char *)got; *p; p++)
                        if (*p < 0x20 || *p == 0x7f || *p >= 0x80)
                                clean = 0;
                free(got);
        }
        tap_ok(clean, "each single byte comes out as printable ASCII");
        return tap_done();
}
