/* series.c - adaptive time buckets, see series.h. */
#include "series.h"
#include <string.h>

_Static_assert(SERIES_N < (1 << 16), "fold() collapses from a shift of 16");

/* Halves the resolution of s `by` times: bucket i absorbs 2i and 2i+1. */
static void fold(struct series *s, unsigned by)
{
	if (by >= 16) { /* SERIES_N < 2^16: everything lands in bucket 0 */
		int64_t sum = 0;
		for (unsigned i = 0; i < SERIES_N; i++)
			sum += s->d[i];
		memset(s->d, 0, sizeof(s->d));
		s->d[0] = sum;
		return;
	}
	for (unsigned i = 0; i < SERIES_N; i++) {
		int64_t v = s->d[i];
		s->d[i] = 0;
		s->d[i >> by] += v;
	}
}

void series_sync(struct series *s, const struct series_clock *k)
{
	if (s->shift < k->shift) {
		fold(s, k->shift - s->shift);
		s->shift = k->shift;
	}
}

void series_cover(struct series_clock *k, uint64_t ts)
{
	uint64_t off = ts > k->start_ns ? ts - k->start_ns : 0;
	if (!k->base_ns)
		return;
	while (k->shift < 40 && off / series_width(k) >= SERIES_N)
		k->shift++;
}

void series_add(struct series *s, struct series_clock *k, uint64_t ts, int64_t delta)
{
	uint64_t off = ts > k->start_ns ? ts - k->start_ns : 0;
	series_cover(k, ts);
	series_sync(s, k);
	uint64_t i = off / series_width(k);
	s->d[i < SERIES_N ? i : SERIES_N - 1] += delta;
}

void series_merge(struct series *dst, struct series *src, const struct series_clock *k)
{
	series_sync(dst, k);
	series_sync(src, k);
	for (unsigned i = 0; i < SERIES_N; i++)
		dst->d[i] += src->d[i];
}

unsigned series_used(const struct series_clock *k, uint64_t end_ns)
{
	uint64_t off = end_ns > k->start_ns ? end_ns - k->start_ns : 0;
	uint64_t n = off / series_width(k) + 1;
	return n < SERIES_N ? (unsigned)n : SERIES_N;
}
