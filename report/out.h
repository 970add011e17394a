/* out.h - safe text and JSON output of hostile strings.
 *
 * Every string that comes from a .srec file (comm, paths, symbol names)
 * may hold terminal escapes or control bytes.  out_text() writes it with
 * control bytes, DEL and invalid UTF-8 shown as \xNN; out_json_str() writes
 * a JSON string literal (RFC 8259 escapes; invalid UTF-8 as \u00NN).
 */
#ifndef SOCKREPORT_OUT_H
#define SOCKREPORT_OUT_H
#include <stddef.h>
#include <stdio.h>

void out_text(FILE *f, const char *s, size_t len);
void out_text_z(FILE *f, const char *s);
/* Same, into a buffer (always NUL-terminated, truncated to cap). */
void out_text_buf(char *buf, size_t cap, const char *s, size_t len);
void out_json_str(FILE *f, const char *s, size_t len);
void out_json_z(FILE *f, const char *s);
void out_hex(FILE *f, const unsigned char *p, size_t len);
/* A write-only stream that escapes what is written to it like out_text(),
 * line by line (newlines pass), before it reaches dst.  For logs that quote
 * strings from a file (the symbolizer's -v trace).  NULL on failure. */
FILE *out_escaping_stream(FILE *dst);

#endif
