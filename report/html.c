/* html.c - HTML-escaping writer, see html.h. */
#include "html.h"
#include <stdlib.h>
#include <string.h>
#include "out.h"

static void entities(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(s[i], f);
		}
	}
}

void html_textn(FILE *f, const char *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *ms = open_memstream(&buf, &n);
	if (!ms) {
		/* no memory for the printable copy: drop the bytes out_text()
		 * would have escaped rather than pass them through */
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f)
				entities(f, s + i, 1);
		return;
	}
	out_text(ms, s, len);
	if (fclose(ms) == 0)
		entities(f, buf, n);
	free(buf);
}

void html_text(FILE *f, const char *s)
{
	html_textn(f, s ? s : "", s ? strlen(s) : 0);
}

void html_text_cut(FILE *f, const char *s, size_t max)
{
	size_t chars = 0, i = 0, len = s ? strlen(s) : 0;
	/* count code points: continuation bytes 10xxxxxx do not start one */
	while (i < len) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (chars == max)
				break;
			chars++;
		}
		i++;
	}
	html_textn(f, s ? s : "", i);
	if (i < len)
		fputs("\xe2\x80\xa6", f); /* U+2026 */
}
