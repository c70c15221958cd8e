/* The page of the HTML report: analyzer/html/report.html, report.css and
 * report.js, built into the program as they are (html/embed.cmake), each
 * NUL-terminated. The template's slots are @@LT_NAME@@ (write_html.c). */
#ifndef LT_HTML_ASSETS_H
#define LT_HTML_ASSETS_H

extern const char lt_html_template[];
extern const char lt_html_css[];
extern const char lt_html_js[];

#endif
