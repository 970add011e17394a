/* html.h - text from a .srec file, safe inside an HTML page.
 *
 * Strings from a recording (comm, paths, symbol names) are hostile: they
 * are first made printable exactly as the text reports do (out_text():
 * control bytes, DEL and invalid UTF-8 as \xNN), then the five characters
 * that mean something to HTML become entities.  The result is safe both
 * in element content and inside a double- or single-quoted attribute.
 */
#ifndef SOCKREPORT_HTML_H
#define SOCKREPORT_HTML_H
#include <stddef.h>
#include <stdio.h>

void html_text(FILE *f, const char *s);
void html_textn(FILE *f, const char *s, size_t len);
/* At most `max` characters of s (UTF-8 aware), "…" when cut. */
void html_text_cut(FILE *f, const char *s, size_t max);

#endif
