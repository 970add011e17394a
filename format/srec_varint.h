/* srec_varint.h - LEB128 varints and zigzag, as the spec defines them.
 *
 * Unsigned varint: 7 bits per byte, least significant group first, high bit
 * set on every byte but the last; at most 10 bytes for 64 bits.  Signed
 * values are zigzag-mapped first: (v << 1) ^ (v >> 63).
 *
 * srec_uv_get() never reads past `end`; it returns NULL on a truncated or
 * over-long (> 10 bytes) varint.
 */
#ifndef SREC_VARINT_H
#define SREC_VARINT_H
#include <stdint.h>

static inline uint8_t *srec_uv_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint64_t srec_zz_enc(int64_t v)
{
	/* all ones for a negative v, without an implementation-defined shift */
	return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

static inline int64_t srec_zz_dec(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline const uint8_t *srec_uv_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;

	if (p < end && *p < 0x80) { /* fast path: one byte */
		*out = *p;
		return p + 1;
	}
	while (p < end && shift < 64) {
		uint8_t b = *p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return p;
		}
		shift += 7;
	}
	return NULL;
}

#define SREC_LIKELY(x) __builtin_expect(!!(x), 1)
#define SREC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Exactly srec_uv_get(p, end, out) (same value, same bytes consumed, NULL
 * in the same cases), for a p <= end inside a buffer that stays readable
 * for at least SREC_UV_PAD bytes from p, even at or past end.  Varints of
 * up to 3 bytes (values < 2^21, nearly all of them) are read without a
 * bounds check per byte; the length is checked against end once. */
#define SREC_UV_PAD 3
static inline const uint8_t *srec_uv_get_padded(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t b0 = p[0], b1, b2;

	if (b0 < 0x80) {
		if (SREC_UNLIKELY(p == end))
			return NULL;
		*out = b0;
		return p + 1;
	}
	b1 = p[1];
	if (b1 < 0x80) {
		if (SREC_UNLIKELY(end - p < 2))
			return NULL;
		*out = (b0 & 0x7f) | b1 << 7;
		return p + 2;
	}
	b2 = p[2];
	if (b2 < 0x80) {
		if (SREC_UNLIKELY(end - p < 3))
			return NULL;
		*out = (b0 & 0x7f) | (b1 & 0x7f) << 7 | b2 << 14;
		return p + 3;
	}
	return srec_uv_get(p, end, out);
}

#endif
