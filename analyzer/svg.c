/* SVG helpers. See svg.h. */
#define _GNU_SOURCE
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "json_escape.h"
#include "output.h"

void lt_svg_text_n(FILE *out, const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *)str;
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                switch (c) {
                case '&':
                        fputs("&amp;", out);
                        i++;
                        continue;
                case '<':
                        fputs("&lt;", out);
                        i++;
                        continue;
                case '>':
                        fputs("&gt;", out);
                        i++;
                        continue;
                case '"':
                        fputs("&quot;", out);
                        i++;
                        continue;
                case '\'':
                        fputs("&apos;", out);
                        i++;
                        continue;
                }
                if (c < 0x20 || c == 0x7f) {
                        putc(c == '\t' || c == '\n' || c == '\r' ? c : '?', out);
                        i++;
                        continue;
                }
                size_t n = lt_utf8_len(s + i, len - i);
                if (!n) {
                        fputs("\xef\xbf\xbd", out);
                        i++;
                } else if (n == 3 && c == 0xef && s[i + 1] == 0xbf &&
                           (s[i + 2] == 0xbe || s[i + 2] == 0xbf)) {
                        putc('?', out); /* U+FFFE, U+FFFF: not XML characters */
                        i += n;
                } else {
                        fwrite(s + i, 1, n, out);
                        i += n;
                }
        }
}

void lt_svg_text(FILE *out, const char *s)
{
        if (s)
                lt_svg_text_n(out, s, strlen(s));
}

void lt_svg_begin(FILE *out, double w, double h, const char *title)
{
        fprintf(out,
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
                "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n<title>",
                w, h, w, h);
        lt_svg_text(out, title);
        fputs("</title>\n<style>text{font-family:sans-serif;font-size:12px;fill:#222}"
              ".mono{font-family:monospace;font-size:11px}"
              ".title{font-size:16px;font-weight:bold}.small{font-size:11px;fill:#555}"
              "</style>\n",
              out);
        fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", w,
                h);
}

int lt_svg_end(FILE *out)
{
        fputs("</svg>\n", out);
        return lt_out_error(out);
}

double lt_svg_step(double range, int max_ticks, int binary)
{
        if (!(range > 0) || max_ticks < 1)
                return 1;
        double base = binary && range >= 1024 ? 1024 : 10;
        double p = 1;
        if (base == 1024) {
                while (range / (p * 1024) >= 1)
                        p *= 1024;
                /* within one binary unit, steps are decimal: 1, 2, 5, 10, ... units */
                double units = range / p, q = 1;
                while (units / q > max_ticks * 10)
                        q *= 10;
                static const double m[] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500};
                for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
                        if (units / (m[i] * q) <= max_ticks)
                                return m[i] * q * p;
                return 1000 * q * p;
        }
        p = pow(10, floor(log10(range / max_ticks)));
        static const double m[] = {1, 2, 5, 10};
        for (size_t i = 0; i < 4; i++)
                if (range / (m[i] * p) <= max_ticks)
                        return m[i] * p;
        return 10 * p;
}

const char *lt_svg_label(char *buf, size_t len, double v, int bytes)
{
        if (!bytes) {
                if (fabs(v - round(v)) < 1e-9)
                        snprintf(buf, len, "%.0f", v);
                else
                        snprintf(buf, len, "%g", v);
                return buf;
        }
        static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double a = fabs(v);
        while (a >= 1024 && u < 4) {
                a /= 1024;
                v /= 1024;
                u++;
        }
        if (v == 0)
                snprintf(buf, len, "0");
        else if (fabs(v - round(v)) < 1e-6)
                snprintf(buf, len, "%.0f %s", v, unit[u]);
        else
                snprintf(buf, len, "%.1f %s", v, unit[u]);
        return buf;
}

const char *lt_svg_color(char *buf, const char *name, int palette)
{
        /* FNV-1a: the same name gets the same colour in every file. */
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++)
                h = (h ^ *p) * 16777619u;
        double r1 = (h & 0xff) / 255.0, r2 = ((h >> 8) & 0xff) / 255.0;
        int r, g, b;
        if (palette == 1) { /* leaks: reds */
                r = 200 + (int)(55 * r1);
                g = 40 + (int)(60 * r2);
                b = 40 + (int)(40 * r2);
        } else if (palette == 2) { /* mappings: blues */
                r = 80 + (int)(60 * r1);
                g = 150 + (int)(60 * r2);
                b = 210 + (int)(45 * r1);
        } else { /* flamegraph.pl's "hot" */
                r = 205 + (int)(50 * r1);
                g = 120 + (int)(110 * r2);
                b = (int)(55 * r1);
        }
        snprintf(buf, 8, "#%02x%02x%02x", r, g, b);
        return buf;
}
