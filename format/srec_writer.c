/* srec_writer.c - buffers records into blocks, compresses, writes. */
#include "srec_writer.h"
#include "srec_block.h"
#include "srec_codec.h"
#include "srec_error.h"
#include "srec_index.h"
#include "crc32c.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

struct pending {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nrecords;
	uint64_t t_first, t_last;
	struct srec_codec_state cs;
	uint32_t counts[SREC_R__MAX]; /* records per type, for the index */
};

struct srec_writer {
	int fd;
	int level;
	int failed;       /* sticky error state after a failed write */
	int last_errno;
	size_t block_bytes;
	uint32_t seq;
	uint64_t offset;  /* bytes of complete blocks on disk */
	uint64_t raw_total;
	struct pending meta, data;
	uint8_t *zbuf;
	size_t zcap;
	ZSTD_CCtx *cctx;
	struct srec_index_builder *index; /* NULL: no index is written */
};

static int write_all(struct srec_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->last_errno = errno;
			return SREC_E_IO;
		}
		if (k == 0) {
			w->last_errno = ENOSPC;
			return SREC_E_IO;
		}
		p += k;
		n -= (size_t)k;
	}
	return SREC_OK;
}

static int pending_reserve(struct pending *pb, size_t need)
{
	if (pb->len + need <= pb->cap)
		return SREC_OK;
	size_t cap = pb->cap ? pb->cap : 64 * 1024;
	while (cap < pb->len + need)
		cap *= 2;
	uint8_t *nb = realloc(pb->buf, cap);
	if (!nb)
		return SREC_E_NOMEM;
	pb->buf = nb;
	pb->cap = cap;
	return SREC_OK;
}

int srec_writer_open(struct srec_writer **out, int fd, const struct srec_writer_opts *opts)
{
	struct srec_writer *w;
	uint8_t hdr[SREC_HEADER_LEN] = { 0 };
	int err;

	if (!out || fd < 0)
		return SREC_E_ARG;
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return SREC_E_NOMEM;
	w->fd = fd;
	w->level = opts && opts->zstd_level ? opts->zstd_level : 3;
	w->block_bytes = opts && opts->block_bytes ? opts->block_bytes : (1u << 20);
	if (w->block_bytes > SREC_MAX_PAYLOAD / 2)
		w->block_bytes = SREC_MAX_PAYLOAD / 2;
	w->cctx = ZSTD_createCCtx();
	if (!opts || !opts->no_index)
		w->index = srec_index_builder_new(SREC_INDEX_MAX_RAW);
	if (!w->cctx || ((!opts || !opts->no_index) && !w->index)) {
		ZSTD_freeCCtx(w->cctx);
		srec_index_builder_free(w->index);
		free(w);
		return SREC_E_NOMEM;
	}
	memcpy(hdr, SREC_MAGIC, 8);
	srec_put32(hdr + 8, SREC_BOM);
	srec_put16(hdr + 12, SREC_MAJOR);
	srec_put16(hdr + 14, SREC_MINOR);
	srec_put32(hdr + 16, SREC_HEADER_LEN);
	srec_put32(hdr + 28, crc32c(0, hdr, 28));
	err = write_all(w, hdr, sizeof(hdr));
	if (err) {
		ZSTD_freeCCtx(w->cctx);
		srec_index_builder_free(w->index);
		free(w);
		return err;
	}
	w->offset = SREC_HEADER_LEN;
	*out = w;
	return SREC_OK;
}

/* Roll the file back to the last complete block so that it stays a valid
 * prefix, and make the error sticky. */
static int fail(struct srec_writer *w, int err)
{
	w->failed = err;
	if (ftruncate(w->fd, (off_t)w->offset) == 0)
		(void)lseek(w->fd, (off_t)w->offset, SEEK_SET);
	return err;
}

/* Compress raw[0..len) and write it as one block.  On success the block
 * is on disk and noted in the index. */
static int write_block(struct srec_writer *w, uint16_t type, const uint8_t *raw, size_t len,
		       uint32_t nrecords, uint64_t t_first, uint64_t t_last, const uint32_t *counts)
{
	size_t bound = ZSTD_compressBound(len);
	size_t need = SREC_BLOCK_HDR_LEN + bound + 8 + SREC_BLOCK_TRAILER_LEN;
	if (need > w->zcap) {
		uint8_t *nb = realloc(w->zbuf, need);
		if (!nb)
			return fail(w, SREC_E_NOMEM);
		w->zbuf = nb;
		w->zcap = need;
	}
	uint8_t *payload = w->zbuf + SREC_BLOCK_HDR_LEN;
	size_t zlen = ZSTD_compressCCtx(w->cctx, payload, bound, raw, len, w->level);
	if (ZSTD_isError(zlen))
		return fail(w, SREC_E_COMPRESS);
	uint32_t padded = srec_pad8((uint32_t)zlen);
	memset(payload + zlen, 0, padded - zlen);
	uint8_t *h = w->zbuf;
	uint32_t pcrc = crc32c(0, payload, zlen);
	srec_block_put(h, &(struct srec_block_hdr){ .type = type, .codec = SREC_CODEC_ZSTD,
						   .stored_len = (uint32_t)zlen,
						   .raw_len = (uint32_t)len,
						   .nrecords = nrecords, .payload_crc = pcrc,
						   .seq = w->seq, .t_first = t_first,
						   .t_last = t_last });
	uint32_t total = SREC_BLOCK_HDR_LEN + padded + SREC_BLOCK_TRAILER_LEN;
	srec_put32(payload + padded, total);
	srec_put32(payload + padded + 4, SREC_BLOCK_TAIL);
	int err = write_all(w, w->zbuf, total);
	if (err)
		return fail(w, err);
	if (w->index && counts &&
	    srec_index_builder_add(w->index, w->offset, type, w->seq, nrecords, t_first, t_last,
				   (uint32_t)zlen, pcrc, counts, SREC_R__MAX) != SREC_OK) {
		/* the index is optional: without memory for it, write none */
		srec_index_builder_free(w->index);
		w->index = NULL;
	}
	w->offset += total;
	w->raw_total += len;
	w->seq++;
	return SREC_OK;
}

static int flush_one(struct srec_writer *w, struct pending *pb, uint16_t type)
{
	if (!pb->len)
		return SREC_OK;
	int err = write_block(w, type, pb->buf, pb->len, pb->nrecords, pb->t_first, pb->t_last,
			      pb->counts);
	if (err)
		return err;
	pb->len = 0;
	pb->nrecords = 0;
	pb->t_first = pb->t_last = 0;
	memset(&pb->cs, 0, sizeof(pb->cs));
	memset(pb->counts, 0, sizeof(pb->counts));
	return SREC_OK;
}

int srec_writer_flush(struct srec_writer *w)
{
	int err;

	if (!w)
		return SREC_E_ARG;
	if (w->failed)
		return w->failed;
	if ((err = flush_one(w, &w->meta, SREC_B_META)))
		return err;
	return flush_one(w, &w->data, SREC_B_DATA);
}

int srec_writer_add(struct srec_writer *w, const struct srec_record *r)
{
	struct pending *pb;
	int err;

	if (!w || !r)
		return SREC_E_ARG;
	if (w->failed)
		return w->failed;
	pb = r->type == SREC_R_META ? &w->meta : &w->data;
	size_t max = srec_encoded_max(r);
	if (!max)
		return SREC_E_ARG;
	if (max > SREC_MAX_RECORD + 20)
		return SREC_E_TOOBIG;
	if (pb->len && pb->len + max > w->block_bytes) {
		if ((err = srec_writer_flush(w)))
			return err;
	}
	if ((err = pending_reserve(pb, max)))
		return err;
	long n = srec_encode(r, pb->buf + pb->len, &pb->cs);
	if (n < 0)
		return (int)n;
	pb->len += (size_t)n;
	pb->nrecords++;
	pb->counts[r->type]++; /* r->type < SREC_R__MAX: srec_encode() checked it */
	const struct srec_ev *ev = srec_record_ev(r);
	uint64_t ts = ev ? ev->ts : 0;
	if (r->type == SREC_R_PROCESS)
		ts = r->u.process.ts;
	else if (r->type == SREC_R_MAPPING)
		ts = r->u.mapping.ts;
	else if (r->type == SREC_R_LOSS)
		ts = r->u.loss.ts;
	if (ts) {
		if (!pb->t_first || ts < pb->t_first)
			pb->t_first = ts;
		if (ts > pb->t_last)
			pb->t_last = ts;
	}
	return SREC_OK;
}

int srec_writer_meta(struct srec_writer *w, const char *key, const void *val, size_t len)
{
	struct srec_record r;

	if (!key || (len && !val) || len > SREC_MAX_RECORD / 2)
		return SREC_E_ARG;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.meta));
	r.type = SREC_R_META;
	r.u.meta.key.p = (const uint8_t *)key;
	r.u.meta.key.len = (uint32_t)strlen(key);
	r.u.meta.value.p = val;
	r.u.meta.value.len = (uint32_t)len;
	return srec_writer_add(w, &r);
}

int srec_writer_meta_str(struct srec_writer *w, const char *key, const char *val)
{
	return srec_writer_meta(w, key, val ? val : "", val ? strlen(val) : 0);
}

int srec_writer_meta_u64(struct srec_writer *w, const char *key, uint64_t val)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val);
	return srec_writer_meta(w, key, buf, (size_t)n);
}

size_t srec_writer_pending(const struct srec_writer *w)
{
	return w ? w->meta.len + w->data.len : 0;
}

uint64_t srec_writer_offset(const struct srec_writer *w)
{
	return w ? w->offset : 0;
}

uint64_t srec_writer_raw_total(const struct srec_writer *w)
{
	return w ? w->raw_total : 0;
}

int srec_writer_last_errno(const struct srec_writer *w)
{
	return w ? w->last_errno : 0;
}

int srec_writer_close(struct srec_writer *w)
{
	int err;

	if (!w)
		return SREC_OK;
	err = srec_writer_flush(w);
	if (!err && w->index) {
		/* The index, the file's last block (spec 3.1).  If it cannot
		 * be built or written the file stays valid without it (a
		 * failed write is truncated away like any other). */
		size_t len;
		uint32_t n;
		const uint8_t *ix = srec_index_builder_payload(w->index, &len, &n);
		if (ix)
			err = write_block(w, SREC_B_INDEX, ix, len, n, 0, 0, NULL);
	}
	if (!err && fdatasync(w->fd) != 0 && errno != EINVAL && errno != EROFS) {
		w->last_errno = errno;
		err = SREC_E_IO;
	}
	ZSTD_freeCCtx(w->cctx);
	srec_index_builder_free(w->index);
	free(w->meta.buf);
	free(w->data.buf);
	free(w->zbuf);
	free(w);
	return err;
}
