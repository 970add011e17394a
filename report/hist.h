/* hist.h - bounded histograms of u64 durations (ns) with percentiles.
 *
 * A log-linear ("HDR"-style) histogram: values below 128 each have their
 * own bucket; above, every power-of-two range [2^e, 2^(e+1)) is split into
 * 64 equal linear buckets of width 2^(e-6).  A percentile is the middle of
 * the bucket holding the nearest-rank value, clamped to [min, max], so it is
 * within 1/128 (0.78 %) of the exact nearest-rank value (exact below
 * 128 ns).  Count, min and max are exact.  The buckets are a contiguous run
 * of the 3,776 possible ones, grown to cover the values seen, so memory is
 * at most 30 KiB per histogram whatever the number of values (a metric
 * spanning 1 us .. 10 s: 24 octaves, 12 KiB).
 *
 * The bcc-style log2 histogram in microseconds (slot k counts v/1000 in
 * [2^(k-1), 2^k)) is derived from the buckets exactly: every slot boundary
 * 1000 * 2^j ns is a bucket boundary (1000 * 2^j = 125 * 2^(j+3), and the
 * buckets of [2^(j+9), 2^(j+10)) are 2^(j+3) wide).
 */
#ifndef SOCKREPORT_HIST_H
#define SOCKREPORT_HIST_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VALS_SUB_BITS 6
#define VALS_NBUCKETS ((65 - VALS_SUB_BITS) << VALS_SUB_BITS) /* 3776 */

struct vals {
	size_t n;          /* values added (exact) */
	uint64_t min, max; /* exact; 0 when empty */
	uint64_t *b;       /* counts of buckets lo .. lo + len - 1 */
	uint32_t lo, len;
};

/* Bucket index of x, and the smallest and largest value of bucket i. */
uint32_t vals_bucket(uint64_t x);
uint64_t vals_bucket_lo(uint32_t i);
uint64_t vals_bucket_hi(uint32_t i);

int vals_add(struct vals *a, uint64_t x);
/* Adds every value of src to a. */
int vals_merge(struct vals *a, const struct vals *src);
/* p in 0..100: the nearest-rank value (rank ceil(p/100 * n), at least 1),
 * within 1/128 of it; p 0 gives min and p 100 max exactly; 0 when empty. */
uint64_t vals_pct(const struct vals *a, double p);
void vals_free(struct vals *a);
/* The 65 slots of the log2 histogram of the values in `unit`s; unit must be
 * 1000 (us) or a power of two for the counts to be exact. */
void vals_log2(const struct vals *a, uint64_t unit, uint64_t slots[65]);
/* bcc-style log2 histogram of the values, in `unit` (1000 = us). */
void vals_hist_text(FILE *f, const struct vals *a, uint64_t unit, const char *unitname);
/* {"count":..,"min_ns":..,"p50_ns":..,"p90_ns":..,"p99_ns":..,"max_ns":..,
 *  "log2_us":[{"lo":..,"hi":..,"count":..},..]} */
void vals_json(FILE *f, const struct vals *a);

#endif
