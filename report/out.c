/* out.c - escaping for terminals and JSON. */
#include "out.h"
#include <string.h>

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;

	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0) { n = 2; min = 0x80; c &= 0x1F; }
	else if ((c & 0xF0) == 0xE0) { n = 3; min = 0x800; c &= 0x0F; }
	else if ((c & 0xF8) == 0xF0) { n = 4; min = 0x10000; c &= 0x07; }
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	/* C1 controls (U+0080..U+009F) act as escapes on some terminals. */
	if (c >= 0x80 && c <= 0x9F)
		return 0;
	return n;
}

void out_text(FILE *f, const char *s, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);
		if (n == 1 && p[i] >= 0x20 && p[i] != 0x7F && p[i] != '\\') {
			fputc(p[i++], f);
		} else if (n > 1) {
			fwrite(p + i, 1, n, f);
			i += n;
		} else if (p[i] == '\\') {
			fputs("\\\\", f);
			i++;
		} else {
			char esc[5] = { '\\', 'x', hx[p[i] >> 4], hx[p[i] & 15], 0 };
			fputs(esc, f);
			i++;
		}
	}
}

void out_text_buf(char *buf, size_t cap, const char *s, size_t len)
{
	FILE *m;

	if (!cap)
		return;
	buf[0] = 0;
	m = fmemopen(buf, cap, "w");
	if (!m)
		return;
	out_text(m, s, len);
	fclose(m);
	buf[cap - 1] = 0;
}

void out_text_z(FILE *f, const char *s)
{
	if (s)
		out_text(f, s, strlen(s));
}

void out_json_str(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(p + i, len - i);
		unsigned char c = p[i];
		if (n > 1) {
			fwrite(p + i, 1, n, f);
			i += n;
			continue;
		}
		if (n == 1 && c == '"')
			fputs("\\\"", f);
		else if (n == 1 && c == '\\')
			fputs("\\\\", f);
		else if (n == 1 && c == '\n')
			fputs("\\n", f);
		else if (n == 1 && c == '\t')
			fputs("\\t", f);
		else if (n == 1 && c >= 0x20 && c != 0x7F)
			fputc(c, f);
		else
			fprintf(f, "\\u%04x", c); /* control byte or invalid UTF-8 byte */
		i++;
	}
	fputc('"', f);
}

void out_json_z(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		out_json_str(f, s, strlen(s));
}

void out_hex(FILE *f, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

static ssize_t escaping_write(void *cookie, const char *buf, size_t size)
{
	FILE *dst = cookie;
	size_t start = 0;

	for (size_t i = 0; i <= size; i++) {
		if (i == size || buf[i] == '\n') {
			out_text(dst, buf + start, i - start);
			if (i < size)
				fputc('\n', dst);
			start = i + 1;
		}
	}
	return (ssize_t)size;
}

FILE *out_escaping_stream(FILE *dst)
{
	cookie_io_functions_t io = { .write = escaping_write };
	FILE *f = fopencookie(dst, "w", io);
	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}
