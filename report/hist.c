/* hist.c - bounded log-linear histograms of durations (see hist.h). */
#include "hist.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

uint32_t vals_bucket(uint64_t x)
{
	if (x < (2u << VALS_SUB_BITS))
		return (uint32_t)x;
	unsigned e = 63u - (unsigned)__builtin_clzll(x); /* >= VALS_SUB_BITS + 1 */
	unsigned shift = e - VALS_SUB_BITS;
	return (uint32_t)(shift << VALS_SUB_BITS) + (uint32_t)(x >> shift);
}

uint64_t vals_bucket_lo(uint32_t i)
{
	if (i < (2u << VALS_SUB_BITS))
		return i;
	if (i >= VALS_NBUCKETS) /* no such bucket: the last one */
		i = VALS_NBUCKETS - 1;
	unsigned shift = (i >> VALS_SUB_BITS) - 1;
	uint64_t m = (i & ((1u << VALS_SUB_BITS) - 1)) + (1u << VALS_SUB_BITS);
	return m << shift;
}

uint64_t vals_bucket_hi(uint32_t i)
{
	if (i < (2u << VALS_SUB_BITS))
		return i;
	if (i >= VALS_NBUCKETS)
		i = VALS_NBUCKETS - 1;
	unsigned shift = (i >> VALS_SUB_BITS) - 1;
	return vals_bucket_lo(i) + ((1ull << shift) - 1);
}

/* Makes buckets [i, j) part of the run (with some slack for growth). */
static int cover(struct vals *a, uint32_t i, uint32_t j)
{
	uint32_t lo = a->len ? a->lo : i, hi = a->len ? a->lo + a->len : j;
	if (i < lo)
		lo = i;
	if (j > hi)
		hi = j;
	if (a->len && lo == a->lo && hi == a->lo + a->len)
		return 0;
	/* grow by an octave's worth at a time: few reallocations, little waste */
	uint32_t slack = 1u << VALS_SUB_BITS;
	if (a->len && lo < a->lo)
		lo = lo > slack ? lo - slack : 0;
	if (a->len && hi > a->lo + a->len)
		hi = hi + slack < VALS_NBUCKETS ? hi + slack : VALS_NBUCKETS;
	uint64_t *nb = calloc(hi - lo, sizeof(*nb));
	if (!nb)
		return -1;
	if (a->len)
		memcpy(nb + (a->lo - lo), a->b, a->len * sizeof(*nb));
	free(a->b);
	a->b = nb;
	a->lo = lo;
	a->len = hi - lo;
	return 0;
}

int vals_add(struct vals *a, uint64_t x)
{
	uint32_t i = vals_bucket(x);
	if ((i < a->lo || i - a->lo >= a->len) && cover(a, i, i + 1))
		return -1;
	a->b[i - a->lo]++;
	if (!a->n || x < a->min)
		a->min = x;
	if (!a->n || x > a->max)
		a->max = x;
	a->n++;
	return 0;
}

int vals_merge(struct vals *a, const struct vals *src)
{
	if (!src->n)
		return 0;
	if (cover(a, src->lo, src->lo + src->len))
		return -1;
	for (uint32_t k = 0; k < src->len; k++)
		a->b[src->lo - a->lo + k] += src->b[k];
	if (!a->n || src->min < a->min)
		a->min = src->min;
	if (!a->n || src->max > a->max)
		a->max = src->max;
	a->n += src->n;
	return 0;
}

uint64_t vals_pct(const struct vals *a, double p)
{
	if (!a->n)
		return 0;
	if (p <= 0)
		return a->min;
	if (p >= 100)
		return a->max;
	/* nearest rank */
	size_t r = (size_t)(p / 100.0 * (double)a->n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > a->n)
		r = a->n;
	size_t seen = 0;
	for (uint32_t k = 0; k < a->len; k++) {
		seen += a->b[k];
		if (seen < r)
			continue;
		uint64_t lo = vals_bucket_lo(a->lo + k), hi = vals_bucket_hi(a->lo + k);
		uint64_t mid = lo + (hi - lo) / 2;
		return mid < a->min ? a->min : mid > a->max ? a->max : mid;
	}
	return a->max; /* not reached: the buckets hold n values */
}

void vals_free(struct vals *a)
{
	free(a->b);
	memset(a, 0, sizeof(*a));
}

static int log2_slot(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0; /* 0 for 0, k for [2^(k-1), 2^k) */
}

void vals_log2(const struct vals *a, uint64_t unit, uint64_t slots[65])
{
	memset(slots, 0, 65 * sizeof(uint64_t));
	for (uint32_t k = 0; k < a->len; k++)
		if (a->b[k])
			slots[log2_slot(vals_bucket_lo(a->lo + k) / unit)] += a->b[k];
}

void vals_hist_text(FILE *f, const struct vals *a, uint64_t unit, const char *unitname)
{
	uint64_t slots[65], maxc = 0;
	int lo = 65, hi = -1;
	vals_log2(a, unit, slots);
	for (int k = 0; k < 65; k++) {
		if (!slots[k])
			continue;
		if (k < lo)
			lo = k;
		hi = k;
		if (slots[k] > maxc)
			maxc = slots[k];
	}
	if (hi < 0)
		return;
	fprintf(f, "     %-19s : count    distribution\n", unitname);
	for (int k = lo; k <= hi; k++) {
		uint64_t l = k ? 1ull << (k - 1) : 0, h = !k ? 0 : k >= 64 ? UINT64_MAX : (1ull << k) - 1;
		char stars[41];
		int w = maxc ? (int)((slots[k] * 30 + maxc - 1) / maxc) : 0;
		memset(stars, '*', (size_t)w);
		stars[w] = 0;
		fprintf(f, "%10" PRIu64 " -> %-10" PRIu64 " : %-8" PRIu64 " |%-30s|\n", l, h, slots[k],
			stars);
	}
}

void vals_json(FILE *f, const struct vals *a)
{
	fprintf(f, "{\"count\": %zu, \"min_ns\": %" PRIu64 ", \"p50_ns\": %" PRIu64
		   ", \"p90_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64
		   ", \"log2_us\": [",
		a->n, vals_pct(a, 0), vals_pct(a, 50), vals_pct(a, 90), vals_pct(a, 99),
		vals_pct(a, 100));
	uint64_t slots[65];
	vals_log2(a, 1000, slots);
	int first = 1;
	for (int k = 0; k < 65; k++) {
		if (!slots[k])
			continue;
		uint64_t l = k ? 1ull << (k - 1) : 0, h = !k ? 0 : k >= 64 ? UINT64_MAX : (1ull << k) - 1;
		fprintf(f, "%s{\"lo\": %" PRIu64 ", \"hi\": %" PRIu64 ", \"count\": %" PRIu64 "}",
			first ? "" : ", ", l, h, slots[k]);
		first = 0;
	}
	fputs("]}", f);
}
