/* What the SVG writers share: escaping, the document's frame, colours and
 * axis ticks. The files they make are self-contained: no script, no link,
 * no font but the generic families, readable in any viewer. */
#ifndef LT_SVG_H
#define LT_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Writes the LEN bytes at S as XML character data, fit for an attribute
 * value too: & < > " ' as entities; characters XML 1.0 forbids even as
 * references (control characters but tab, newline and carriage return,
 * U+FFFE, U+FFFF) as '?'; each byte that is not valid UTF-8 as U+FFFD. */
void lt_svg_text_n(FILE *out, const char *s, size_t len);

/* The same for a NUL-terminated string; NULL writes nothing. */
void lt_svg_text(FILE *out, const char *s);

/* The XML declaration and the opening <svg> element of a W x H picture,
 * with its <title> and the style of its text (generic font families). */
void lt_svg_begin(FILE *out, double w, double h, const char *title);

/* Closes the document. Returns 0, or -EIO when OUT failed. */
int lt_svg_end(FILE *out);

/* A step between axis ticks for a range of RANGE units: 1, 2 or 5 times a
 * power of ten (of 1024 when BINARY, for bytes), giving at most MAX_TICKS
 * ticks. */
double lt_svg_step(double range, int max_ticks, int binary);

/* An axis label for V: "0", "512 B", "1.5 MiB" when BYTES, else "1200". */
const char *lt_svg_label(char *buf, size_t len, double v, int bytes);

/* A colour "#rrggbb" into buf[8], stable for NAME: warm hues for PALETTE
 * 0, reds for 1 (leaks), blues for 2 (mappings). */
const char *lt_svg_color(char *buf, const char *name, int palette);

#endif
