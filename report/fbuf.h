/* fbuf.h - a growable output buffer and printf-free number formatting.
 *
 * For reports that print one row per socket (pairs): building each row
 * with snprintf/printf cost more than reading the file.  A row is put
 * together here and written with one fwrite.  On ENOMEM the buffer stops
 * growing and sets err (the caller reports it); nothing is truncated
 * silently.
 */
#ifndef SOCKREPORT_FBUF_H
#define SOCKREPORT_FBUF_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct fbuf {
	char *p;
	size_t n, cap;
	int err;
};

/* Room for `more` bytes; 0, or -1 (err set) on ENOMEM. */
int fb_reserve(struct fbuf *b, size_t more);
void fb_free(struct fbuf *b);
/* Writes the buffer to f and empties it; -1 on a write error. */
int fb_flush(struct fbuf *b, FILE *f);

/* Appending is inline: rows append a few dozen short pieces each. */
static inline void fb_mem(struct fbuf *b, const char *s, size_t len)
{
	if (b->cap - b->n < len && fb_reserve(b, len))
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static inline void fb_s(struct fbuf *b, const char *s)
{
	fb_mem(b, s, strlen(s));
}

/* A string literal, without the strlen. */
#define FB_LIT(b, lit) fb_mem((b), "" lit, sizeof(lit) - 1)

static inline void fb_c(struct fbuf *b, char c)
{
	if (b->cap == b->n && fb_reserve(b, 1))
		return;
	b->p[b->n++] = c;
}

extern const char fb_digits2[201];

/* The decimal digits of v at o, which has room for 20; returns their end. */
static inline char *fb_put_u64(char *o, uint64_t v)
{
	char t[20];
	int i = 20;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		t[--i] = fb_digits2[2 * r + 1];
		t[--i] = fb_digits2[2 * r];
	}
	if (v >= 10) {
		t[--i] = fb_digits2[2 * v + 1];
		t[--i] = fb_digits2[2 * v];
	} else {
		t[--i] = (char)('0' + v);
	}
	memcpy(o, t + i, (size_t)(20 - i));
	return o + (20 - i);
}

static inline void fb_u64(struct fbuf *b, uint64_t v)
{
	if (b->cap - b->n < 20 && fb_reserve(b, 20))
		return;
	b->n = (size_t)(fb_put_u64(b->p + b->n, v) - b->p);
}

void fb_i64(struct fbuf *b, int64_t v);
/* ns as seconds with `dec` (0..9) decimals, rounded half up, like
 * printf("%.*f", dec, ns / 1e9) ("-" first when neg).  Inline: callers
 * pass a constant dec and the divisions become multiplications. */
static inline void fb_sec(struct fbuf *b, int neg, uint64_t ns, int dec)
{
	static const uint64_t p10[10] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
					   100000000, 1000000000 };
	if (dec < 0)
		dec = 0;
	if (dec > 9)
		dec = 9;
	uint64_t unit = p10[9 - dec]; /* ns per last printed digit */
	uint64_t q = ns / unit, r = ns % unit;
	if (unit > 1 && r >= unit / 2)
		q++;
	if (neg)
		fb_c(b, '-');
	fb_u64(b, q / p10[dec]);
	if (!dec)
		return;
	char t[10];
	uint64_t f = q % p10[dec];
	for (int i = dec - 1; i >= 0; i--) {
		t[i] = (char)('0' + f % 10);
		f /= 10;
	}
	fb_c(b, '.');
	fb_mem(b, t, (size_t)dec);
}

/* Pads what was appended since `start` with spaces to `width` bytes, on
 * the right (left-aligned, "%-*s") or on the left (right-aligned, "%*s"). */
void fb_pad_left(struct fbuf *b, size_t start, size_t width);

static inline void fb_pad_right(struct fbuf *b, size_t start, size_t width)
{
	static const char sp[32] = "                               ";
	size_t have = b->n - start;
	while (have < width) {
		size_t k = width - have < sizeof(sp) ? width - have : sizeof(sp);
		fb_mem(b, sp, k);
		if (b->err)
			return;
		have += k;
	}
}

/* s right-aligned in `width` bytes ("%*s"). */
static inline void fb_s_right(struct fbuf *b, const char *s, size_t width)
{
	size_t l = strlen(s), at = b->n;
	if (l < width)
		fb_pad_right(b, at, width - l);
	fb_mem(b, s, l);
}

#endif
