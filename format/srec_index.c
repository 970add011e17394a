/* srec_index.c - build, find and check the optional index (spec 3.1). */
#include "srec_index.h"
#include "srec_block.h"
#include "srec_error.h"
#include "srec_records.h"
#include "srec_varint.h"
#include "crc32c.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

/* A reader limit (spec 3.1): an index naming more distinct record types is
 * treated as invalid, which bounds the memory its checks need. */
#define MAX_INDEX_TYPES 4096

struct srec_index {
	uint8_t *raw;                 /* the INDEX block's payload: entries' counts point here */
	size_t rawlen;
	struct srec_index_entry *e;
	size_t n, cap;
	struct srec_index_count *totals; /* the IEND record's, at most MAX_INDEX_TYPES */
	size_t ntotals;
	uint64_t offset;              /* of the INDEX block */
};

/* ---------------------------------------------------------------- writer */

struct srec_index_builder {
	uint8_t *buf;
	size_t len, cap, max;
	uint32_t nrec;
	int dropped, failed;
	uint64_t nblocks, records;
	uint64_t totals[SREC_R__MAX];
};

struct srec_index_builder *srec_index_builder_new(size_t max_bytes)
{
	struct srec_index_builder *b = calloc(1, sizeof(*b));
	if (b)
		b->max = max_bytes;
	return b;
}

void srec_index_builder_free(struct srec_index_builder *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

/* Room for one more record of at most n bytes; 0, or -1 (dropped/failed). */
static int builder_room(struct srec_index_builder *b, size_t n)
{
	if (b->dropped || b->failed)
		return -1;
	if (b->len + n > b->max) {
		b->dropped = 1; /* an index is optional: drop it, keep recording */
		return -1;
	}
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *nb = realloc(b->buf, cap);
	if (!nb) {
		b->failed = 1;
		return -1;
	}
	b->buf = nb;
	b->cap = cap;
	return 0;
}

/* Append a record whose body is body[0..blen). */
static void builder_record(struct srec_index_builder *b, uint32_t type, const uint8_t *body,
			   size_t blen)
{
	if (builder_room(b, blen + 20))
		return;
	uint8_t *q = srec_uv_put(b->buf + b->len, type);
	q = srec_uv_put(q, blen);
	memcpy(q, body, blen);
	b->len = (size_t)(q + blen - b->buf);
	b->nrec++;
}

static size_t uv_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* counts B field: uvarint length, then (type, count) pairs. */
static uint8_t *put_counts(uint8_t *q, const uint64_t *counts, uint32_t ntypes)
{
	size_t len = 0;

	for (uint32_t t = 0; t < ntypes && t < SREC_R__MAX; t++)
		if (counts[t])
			len += uv_len(t) + uv_len(counts[t]);
	q = srec_uv_put(q, len);
	for (uint32_t t = 0; t < ntypes && t < SREC_R__MAX; t++) {
		if (!counts[t])
			continue;
		q = srec_uv_put(q, t);
		q = srec_uv_put(q, counts[t]);
	}
	return q;
}

int srec_index_builder_add(struct srec_index_builder *b, uint64_t offset, uint32_t type,
			   uint32_t seq, uint32_t nrecords, uint64_t t_first, uint64_t t_last,
			   uint32_t stored_len, uint32_t payload_crc, const uint32_t *counts,
			   uint32_t ntypes)
{
	uint8_t body[8 * 10 + 10 + SREC_R__MAX * 20], *q = body;
	uint64_t c64[SREC_R__MAX] = { 0 };

	if (!b)
		return SREC_E_ARG;
	for (uint32_t t = 0; t < ntypes && t < SREC_R__MAX; t++) {
		c64[t] = counts[t];
		b->totals[t] += counts[t];
	}
	b->nblocks++;
	b->records += nrecords;
	q = srec_uv_put(q, offset);
	q = srec_uv_put(q, type);
	q = srec_uv_put(q, seq);
	q = srec_uv_put(q, nrecords);
	q = srec_uv_put(q, t_first);
	q = srec_uv_put(q, t_last);
	q = srec_uv_put(q, stored_len);
	q = srec_uv_put(q, payload_crc);
	q = put_counts(q, c64, ntypes);
	builder_record(b, SREC_IR_BLOCK, body, (size_t)(q - body));
	return b->failed ? SREC_E_NOMEM : SREC_OK;
}

const uint8_t *srec_index_builder_payload(struct srec_index_builder *b, size_t *len,
					  uint32_t *nrecords)
{
	uint8_t body[2 * 10 + 10 + SREC_R__MAX * 20], *q = body;

	if (!b || b->dropped || b->failed)
		return NULL;
	q = srec_uv_put(q, b->nblocks);
	q = srec_uv_put(q, b->records);
	q = put_counts(q, b->totals, SREC_R__MAX);
	builder_record(b, SREC_IR_END, body, (size_t)(q - body));
	if (b->dropped || b->failed)
		return NULL;
	*len = b->len;
	*nrecords = b->nrec;
	return b->buf;
}

/* ---------------------------------------------------------------- reader */

static int pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return SREC_E_IO;
		}
		if (k == 0)
			return SREC_E_TRUNCATED;
		got += (size_t)k;
	}
	return SREC_OK;
}

void srec_index_free(struct srec_index *ix)
{
	if (!ix)
		return;
	free(ix->raw);
	free(ix->e);
	free(ix->totals);
	free(ix);
}

size_t srec_index_nblocks(const struct srec_index *ix) { return ix ? ix->n : 0; }

const struct srec_index_entry *srec_index_entry(const struct srec_index *ix, size_t i)
{
	return ix && i < ix->n ? &ix->e[i] : NULL;
}

const struct srec_index_entry *srec_index_find(const struct srec_index *ix, uint64_t offset)
{
	size_t lo = 0, hi = ix ? ix->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->e[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return ix && lo < ix->n && ix->e[lo].offset == offset ? &ix->e[lo] : NULL;
}

/* The counts were checked when the index was read: decoding cannot fail. */
int srec_index_next_count(const struct srec_index *ix, const struct srec_index_entry *e,
			  size_t *pos, struct srec_index_count *c)
{
	if (!ix || !e || *pos >= e->counts_len)
		return 0;
	const uint8_t *p = ix->raw + e->counts_at + *pos, *end = ix->raw + e->counts_at + e->counts_len;
	if (!(p = srec_uv_get(p, end, &c->type)) || !(p = srec_uv_get(p, end, &c->count)))
		return 0;
	*pos = (size_t)(p - (ix->raw + e->counts_at));
	return 1;
}

uint64_t srec_index_count(const struct srec_index *ix, const struct srec_index_entry *e, uint64_t t)
{
	struct srec_index_count c;
	size_t pos = 0;

	if (!ix)
		return 0;
	if (!e) {
		for (size_t i = 0; i < ix->ntotals; i++)
			if (ix->totals[i].type == t)
				return ix->totals[i].count;
		return 0;
	}
	while (srec_index_next_count(ix, e, &pos, &c))
		if (c.type == t)
			return c.count;
	return 0;
}

const struct srec_index_count *srec_index_totals(const struct srec_index *ix, size_t *n)
{
	*n = ix ? ix->ntotals : 0;
	return ix ? ix->totals : NULL;
}

uint64_t srec_index_offset(const struct srec_index *ix) { return ix ? ix->offset : 0; }

/* Check a counts field [p, end): pairs with strictly ascending types and
 * non-zero counts; *sum gets the counts' sum.  With out, the pairs are
 * stored there too (at most MAX_INDEX_TYPES). */
static int parse_counts(const uint8_t *p, const uint8_t *end, uint64_t *sum,
			struct srec_index_count *out, size_t *nout)
{
	uint64_t prev = 0;
	size_t n = 0;

	*sum = 0;
	while (p < end) {
		uint64_t t, c;
		if (!(p = srec_uv_get(p, end, &t)) || !(p = srec_uv_get(p, end, &c)))
			return SREC_E_INDEX;
		if ((n && t <= prev) || c == 0 || n >= MAX_INDEX_TYPES || *sum + c < *sum)
			return SREC_E_INDEX;
		*sum += c;
		prev = t;
		if (out)
			out[n] = (struct srec_index_count){ t, c };
		n++;
	}
	if (nout)
		*nout = n;
	return SREC_OK;
}

/* Read the fields of an index record body in order; absent ones read as 0
 * (a shorter body), extra bytes after the known fields are ignored. */
static const uint8_t *get_fields(const uint8_t *p, const uint8_t *end, uint64_t *v, int n,
				 const uint8_t **bytes, uint64_t *blen)
{
	for (int i = 0; i < n; i++) {
		v[i] = 0;
		if (p < end && !(p = srec_uv_get(p, end, &v[i])))
			return NULL;
	}
	*bytes = p;
	*blen = 0;
	if (p < end) {
		if (!(p = srec_uv_get(p, end, blen)) || *blen > (uint64_t)(end - p))
			return NULL;
		*bytes = p;
		p += *blen;
	}
	return p;
}

/* Decode the INDEX payload into entries and totals (spec 3.1, check 2). */
static int parse_payload(struct srec_index *ix, const uint8_t *p, const uint8_t *end,
			 uint64_t file_size)
{
	int have_end = 0;
	uint64_t end_nblocks = 0, end_records = 0;

	while (p < end) {
		uint64_t type, len, v[8], blen, sum;
		const uint8_t *bytes;
		if (have_end)
			return SREC_E_INDEX; /* IEND must be the last record */
		if (!(p = srec_uv_get(p, end, &type)) || !(p = srec_uv_get(p, end, &len)) ||
		    len > (uint64_t)(end - p) || len > SREC_MAX_RECORD)
			return SREC_E_INDEX;
		const uint8_t *bend = p + len;
		if (type == SREC_IR_BLOCK) {
			if (!get_fields(p, bend, v, 8, &bytes, &blen))
				return SREC_E_INDEX;
			if (v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX ||
			    v[6] > UINT32_MAX || v[7] > UINT32_MAX)
				return SREC_E_INDEX;
			/* every entry names a block of >= 56 bytes in the file */
			if (ix->n >= file_size / 56)
				return SREC_E_INDEX;
			if (ix->n == ix->cap) {
				size_t nc = ix->cap ? ix->cap * 2 : 64;
				struct srec_index_entry *ne = realloc(ix->e, nc * sizeof(*ne));
				if (!ne)
					return SREC_E_NOMEM;
				ix->e = ne;
				ix->cap = nc;
			}
			struct srec_index_entry *e = &ix->e[ix->n];
			*e = (struct srec_index_entry){ .offset = v[0], .type = (uint32_t)v[1],
							.seq = (uint32_t)v[2],
							.nrecords = (uint32_t)v[3],
							.t_first = v[4], .t_last = v[5],
							.stored_len = (uint32_t)v[6],
							.payload_crc = (uint32_t)v[7] };
			e->counts_at = (size_t)(bytes - ix->raw);
			e->counts_len = (size_t)blen;
			int err = parse_counts(bytes, bytes + blen, &sum, NULL, NULL);
			if (err)
				return err;
			if (sum != e->nrecords)
				return SREC_E_INDEX;
			ix->n++;
		} else if (type == SREC_IR_END) {
			if (!get_fields(p, bend, v, 2, &bytes, &blen))
				return SREC_E_INDEX;
			end_nblocks = v[0];
			end_records = v[1];
			if (ix->totals)
				return SREC_E_INDEX;
			ix->totals = malloc(MAX_INDEX_TYPES * sizeof(*ix->totals));
			if (!ix->totals)
				return SREC_E_NOMEM;
			int err = parse_counts(bytes, bytes + blen, &sum, ix->totals, &ix->ntotals);
			if (err)
				return err;
			if (sum != end_records)
				return SREC_E_INDEX;
			have_end = 1;
		}
		/* other types: a newer minor version's, skipped */
		p = bend;
	}
	if (!have_end || end_nblocks != ix->n)
		return SREC_E_INDEX;
	/* The totals are the sums of the entries' counts. */
	uint64_t *sums = calloc(ix->ntotals ? ix->ntotals : 1, sizeof(*sums)), records = 0;
	if (!sums)
		return SREC_E_NOMEM;
	int err = SREC_OK;
	for (size_t i = 0; i < ix->n && !err; i++) {
		const struct srec_index_entry *e = &ix->e[i];
		struct srec_index_count c;
		size_t pos = 0;
		records += e->nrecords;
		while (!err && srec_index_next_count(ix, e, &pos, &c)) {
			size_t lo = 0, hi = ix->ntotals;
			while (lo < hi) { /* the totals are ascending by type */
				size_t mid = lo + (hi - lo) / 2;
				if (ix->totals[mid].type < c.type)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == ix->ntotals || ix->totals[lo].type != c.type)
				err = SREC_E_INDEX;
			else
				sums[lo] += c.count;
		}
	}
	for (size_t k = 0; k < ix->ntotals && !err; k++)
		if (sums[k] != ix->totals[k].count)
			err = SREC_E_INDEX;
	if (!err && records != end_records)
		err = SREC_E_INDEX;
	free(sums);
	return err;
}

/* Check 3: the entries tile [header_len, ix->offset) and every block's
 * header and trailer agree with its entry. */
static int check_blocks(const struct srec_index *ix, int fd, uint32_t header_len, uint32_t ix_seq,
			uint64_t *bad_offset)
{
	uint64_t expect = header_len;

	for (size_t i = 0; i < ix->n; i++) {
		const struct srec_index_entry *e = &ix->e[i];
		uint8_t h[SREC_BLOCK_HDR_LEN], t[SREC_BLOCK_TRAILER_LEN];
		struct srec_block_hdr b;
		*bad_offset = e->offset;
		if (e->offset != expect || e->seq != i || e->stored_len > SREC_MAX_PAYLOAD)
			return SREC_E_INDEX;
		uint64_t total = srec_block_total(e->stored_len);
		if (total > ix->offset - expect)
			return SREC_E_INDEX;
		int err = pread_exact(fd, h, sizeof(h), e->offset);
		if (!err)
			err = pread_exact(fd, t, sizeof(t), e->offset + total - SREC_BLOCK_TRAILER_LEN);
		if (err == SREC_E_IO)
			return err;
		if (err || srec_block_parse(h, &b) != SREC_OK || b.type != e->type ||
		    b.seq != e->seq || b.nrecords != e->nrecords || b.t_first != e->t_first ||
		    b.t_last != e->t_last || b.stored_len != e->stored_len ||
		    b.payload_crc != e->payload_crc || srec_get32(t) != total ||
		    srec_get32(t + 4) != SREC_BLOCK_TAIL)
			return SREC_E_INDEX;
		expect += total;
	}
	*bad_offset = ix->offset;
	if (expect != ix->offset || ix_seq != ix->n)
		return SREC_E_INDEX;
	return SREC_OK;
}

int srec_index_read(struct srec_index **out, int fd, uint64_t file_size, uint32_t header_len,
		    uint64_t *bad_offset)
{
	uint8_t tr[SREC_BLOCK_TRAILER_LEN], h[SREC_BLOCK_HDR_LEN];
	struct srec_block_hdr b;
	struct srec_index *ix;
	uint8_t *z = NULL;
	int err;

	if (!out || !bad_offset)
		return SREC_E_ARG;
	*out = NULL;
	*bad_offset = 0;
	/* The locator: the last 8 bytes are the trailer of the last block. */
	if (file_size < (uint64_t)header_len + SREC_BLOCK_HDR_LEN + SREC_BLOCK_TRAILER_LEN)
		return SREC_E_NOINDEX;
	err = pread_exact(fd, tr, sizeof(tr), file_size - sizeof(tr));
	if (err)
		return err == SREC_E_IO ? err : SREC_E_NOINDEX;
	uint32_t total = srec_get32(tr);
	if (srec_get32(tr + 4) != SREC_BLOCK_TAIL || total % 8 || total < 56 ||
	    total > file_size - header_len)
		return SREC_E_NOINDEX;
	uint64_t off = file_size - total;
	err = pread_exact(fd, h, sizeof(h), off);
	if (err)
		return err == SREC_E_IO ? err : SREC_E_NOINDEX;
	if (srec_block_parse(h, &b) != SREC_OK || srec_block_total(b.stored_len) != total)
		return SREC_E_NOINDEX; /* the file does not end with a whole block */
	if (b.type != SREC_B_INDEX)
		return SREC_E_NOINDEX;
	/* From here on there is an index, and every failure makes it invalid. */
	*bad_offset = off;
	if ((b.codec != SREC_CODEC_ZSTD && b.codec != SREC_CODEC_NONE) ||
	    (b.codec == SREC_CODEC_NONE && b.stored_len != b.raw_len))
		return SREC_E_INDEX;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return SREC_E_NOMEM;
	ix->offset = off;
	z = malloc(b.stored_len ? b.stored_len : 1);
	ix->raw = malloc(b.raw_len ? b.raw_len : 1);
	ix->rawlen = b.raw_len;
	if (!z || !ix->raw) {
		err = SREC_E_NOMEM;
		goto out;
	}
	err = pread_exact(fd, z, b.stored_len, off + SREC_BLOCK_HDR_LEN);
	if (err) {
		err = err == SREC_E_IO ? err : SREC_E_INDEX;
		goto out;
	}
	if (crc32c(0, z, b.stored_len) != b.payload_crc) {
		err = SREC_E_INDEX;
		goto out;
	}
	if (b.codec == SREC_CODEC_ZSTD) {
		unsigned long long fcs = ZSTD_getFrameContentSize(z, b.stored_len);
		size_t got = ZSTD_decompress(ix->raw, b.raw_len, z, b.stored_len);
		if (fcs != b.raw_len || ZSTD_isError(got) || got != b.raw_len) {
			err = SREC_E_INDEX;
			goto out;
		}
	} else {
		memcpy(ix->raw, z, b.raw_len);
	}
	err = parse_payload(ix, ix->raw, ix->raw + b.raw_len, file_size);
	if (!err)
		err = check_blocks(ix, fd, header_len, b.seq, bad_offset);
out:
	free(z);
	if (err) {
		srec_index_free(ix);
		return err;
	}
	*out = ix;
	return SREC_OK;
}
