/* Escaping for JSON strings (RFC 8259). Everything below U+0020 must be
 * escaped; DEL is escaped too, as it is invisible on a terminal. Invalid
 * UTF-8 is replaced byte by byte, so that one bad byte never swallows the
 * valid characters after it. */
#include "json_escape.h"

#include <string.h>

size_t lt_utf8_len(const unsigned char *s, size_t len)
{
        unsigned char c = s[0];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c < 0x80)
                return 1;
        if (c < 0xc2)
                return 0; /* continuation byte, or an overlong 2-byte form */
        if (c < 0xe0) {
                n = 2;
        } else if (c < 0xf0) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0; /* overlong */
                else if (c == 0xed)
                        hi = 0x9f; /* UTF-16 surrogates */
        } else if (c < 0xf5) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90; /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f; /* beyond U+10FFFF */
        } else {
                return 0;
        }
        if (len < n || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

void lt_json_chars(FILE *out, const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *)str;
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                if (c == '"' || c == '\\') {
                        putc('\\', out);
                        putc(c, out);
                        i++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        switch (c) {
                        case '\b':
                                fputs("\\b", out);
                                break;
                        case '\f':
                                fputs("\\f", out);
                                break;
                        case '\n':
                                fputs("\\n", out);
                                break;
                        case '\r':
                                fputs("\\r", out);
                                break;
                        case '\t':
                                fputs("\\t", out);
                                break;
                        default:
                                fprintf(out, "\\u%04x", c);
                                break;
                        }
                        i++;
                        continue;
                }
                size_t n = lt_utf8_len(s + i, len - i);
                if (!n) {
                        fputs("\\ufffd", out);
                        i++;
                        continue;
                }
                fwrite(s + i, 1, n, out);
                i += n;
        }
}

void lt_json_string_n(FILE *out, const char *s, size_t len)
{
        putc('"', out);
        lt_json_chars(out, s, len);
        putc('"', out);
}

void lt_json_string(FILE *out, const char *s)
{
        if (!s)
                fputs("null", out);
        else
                lt_json_string_n(out, s, strlen(s));
}
