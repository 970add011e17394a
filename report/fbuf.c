/* fbuf.c - see fbuf.h. */
#include "fbuf.h"
#include <stdlib.h>

int fb_reserve(struct fbuf *b, size_t more)
{
	if (b->err)
		return -1;
	if (b->cap - b->n >= more)
		return 0;
	size_t nc = b->cap ? b->cap : 4096;
	while (nc - b->n < more) {
		if (nc > SIZE_MAX / 2) {
			b->err = 1;
			return -1;
		}
		nc *= 2;
	}
	char *np = realloc(b->p, nc);
	if (!np) {
		b->err = 1;
		return -1;
	}
	b->p = np;
	b->cap = nc;
	return 0;
}

void fb_free(struct fbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int fb_flush(struct fbuf *b, FILE *f)
{
	size_t n = b->n;
	b->n = 0;
	return n && fwrite(b->p, 1, n, f) != n ? -1 : 0;
}

const char fb_digits2[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
			   "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
			   "8081828384858687888990919293949596979899";

void fb_i64(struct fbuf *b, int64_t v)
{
	if (v < 0) {
		fb_c(b, '-');
		fb_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		fb_u64(b, (uint64_t)v);
	}
}

void fb_pad_left(struct fbuf *b, size_t start, size_t width)
{
	size_t have = b->n - start;
	if (have >= width || fb_reserve(b, width - have))
		return;
	size_t pad = width - have;
	memmove(b->p + start + pad, b->p + start, have);
	memset(b->p + start, ' ', pad);
	b->n += pad;
}
