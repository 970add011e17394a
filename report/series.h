/* series.h - a net count per time bucket, in bounded memory.
 *
 * For "open sockets over time" per allocation site: +1 when a socket is
 * allocated, -1 when it is released, summed per bucket; the running sum is
 * the number open.  The file streams once and its end is not known until
 * it is read, so the buckets adapt: SERIES_N buckets of width
 * base << shift from the start; when a timestamp falls beyond the last
 * bucket the clock's shift grows (the width doubles) until it fits.  A
 * series still at an older shift is folded (pairs of buckets summed) when
 * it is next touched, and by series_sync() before it is read: memory is
 * SERIES_N counters per series whatever the recording's length.
 */
#ifndef SOCKREPORT_SERIES_H
#define SOCKREPORT_SERIES_H
#include <stdint.h>

#define SERIES_N 240

struct series_clock {
	uint64_t start_ns, base_ns;
	unsigned shift;
};

struct series {
	unsigned shift;
	int64_t d[SERIES_N];
};

/* Width of one bucket now. */
static inline uint64_t series_width(const struct series_clock *k)
{
	return k->base_ns ? k->base_ns << k->shift : 1;
}
/* Adds delta at ts (before the start: the first bucket). */
void series_add(struct series *s, struct series_clock *k, uint64_t ts, int64_t delta);
/* Widens the buckets until ts falls in the last one at most (the end of
 * the recording, before drawing). */
void series_cover(struct series_clock *k, uint64_t ts);
/* Brings s to the clock's current width. */
void series_sync(struct series *s, const struct series_clock *k);
/* dst += src (both synced to k first). */
void series_merge(struct series *dst, struct series *src, const struct series_clock *k);
/* Buckets in use for a recording ending at end_ns (at least 1). */
unsigned series_used(const struct series_clock *k, uint64_t end_ns);

#endif
