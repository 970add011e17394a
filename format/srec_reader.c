/* srec_reader.c - block framing, checks, salvage, record iteration. */
#include "srec_reader.h"
#include "srec_block.h"
#include "srec_codec.h"
#include "srec_error.h"
#include "srec_varint.h"
#include "crc32c.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

struct srec_reader {
	int fd;
	int own_fd;
	int last_errno;
	int done;
	uint64_t off;          /* offset of the next block */
	uint64_t cur_off;      /* offset of the current block */
	uint32_t cur_type;
	struct srec_read_status st;
	uint8_t *zbuf, *raw;
	size_t zcap, rawcap;
	const uint8_t *p, *end; /* records left in the current block */
	struct srec_codec_state cs;
	ZSTD_DCtx *dctx;
	struct srec_index *ix;
	srec_block_filter_fn filter;
	void *filter_arg;
	int blk_whole;         /* the current block's records are being counted */
	uint64_t blk_unknown;
	uint32_t blk_counts[SREC_R__MAX];
	struct srec_record rec;
};

static void note_error(struct srec_reader *r, int err, uint64_t off)
{
	r->st.salvaged = 1;
	if (!r->st.first_error) {
		r->st.first_error = err;
		r->st.first_error_offset = off;
	}
}

/* pread exactly n bytes; returns bytes read (< n only at EOF), -1 on error. */
static ssize_t pread_full(struct srec_reader *r, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(r->fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r->last_errno = errno;
			return -1;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return SREC_OK;
	uint8_t *nb = realloc(*buf, need);
	if (!nb)
		return SREC_E_NOMEM;
	*buf = nb;
	*cap = need;
	return SREC_OK;
}

static int check_magic(const uint8_t *h, size_t n)
{
	if (n == 0)
		return SREC_E_EMPTY;
	if (n < 4 || memcmp(h, SREC_MAGIC, 4) != 0)
		return SREC_E_MAGIC;
	if (n >= 8 && memcmp(h, SREC_MAGIC, 8) == 0)
		return SREC_OK;
	/* "\r\n" became "\n" (CR stripped) or "\n" became "\r\n". */
	static const uint8_t lf_only[4] = { 0x0A, 0x1A, 0x0A, 0 };
	static const uint8_t crcrlf[5] = { 0x0D, 0x0D, 0x0A, 0x1A, 0x0D };
	if (n >= 7 && memcmp(h + 4, lf_only, 3) == 0)
		return SREC_E_TEXTMODE;
	if (n >= 9 && memcmp(h + 4, crcrlf, 5) == 0)
		return SREC_E_TEXTMODE;
	return n < 8 ? SREC_E_HEADER : SREC_E_MAGIC;
}

int srec_reader_open_fd(struct srec_reader **out, int fd)
{
	uint8_t h[SREC_HEADER_LEN];
	struct srec_reader *r;
	struct stat sb;
	int err;

	if (!out || fd < 0)
		return SREC_E_ARG;
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return SREC_E_NOMEM;
	r->fd = fd;
	if (fstat(fd, &sb) == 0)
		r->st.file_size = (uint64_t)sb.st_size;
	ssize_t n = pread_full(r, h, sizeof(h), 0);
	if (n < 0) {
		free(r);
		return SREC_E_IO;
	}
	err = check_magic(h, (size_t)n);
	if (!err && (size_t)n < SREC_HEADER_LEN)
		err = SREC_E_HEADER;
	if (!err) {
		uint32_t bom = srec_get32(h + 8);
		if (bom == __builtin_bswap32(SREC_BOM))
			err = SREC_E_ENDIAN;
		else if (bom != SREC_BOM)
			err = SREC_E_HEADER;
	}
	if (!err) {
		/* Version first: a newer major may lay its header out anew. */
		r->st.major = srec_get16(h + 12);
		r->st.minor = srec_get16(h + 14);
		if (r->st.major > SREC_MAJOR || r->st.major == 0)
			err = SREC_E_VERSION;
	}
	if (!err && crc32c(0, h, 28) != srec_get32(h + 28))
		err = SREC_E_HEADER;
	if (!err) {
		uint32_t hl = srec_get32(h + 16);
		if (hl < SREC_HEADER_LEN || hl > 4096)
			err = SREC_E_HEADER;
		r->off = hl;
		if (!err && r->st.file_size && hl > r->st.file_size) {
			note_error(r, SREC_E_TRUNCATED, SREC_HEADER_LEN);
			r->done = 1;
		}
	}
	if (!err && !(r->dctx = ZSTD_createDCtx()))
		err = SREC_E_NOMEM;
	if (err) {
		free(r);
		return err;
	}
	if (!r->done && r->st.file_size) {
		uint64_t bad;
		int e = srec_index_read(&r->ix, fd, r->st.file_size, (uint32_t)r->off, &bad);
		if (e == SREC_OK) {
			r->st.index = 1;
		} else if (e != SREC_E_NOINDEX) {
			r->st.index = -1;
			r->st.index_error = e;
			r->st.index_error_offset = bad;
		}
	}
	*out = r;
	return SREC_OK;
}

int srec_file_version(const char *path, uint32_t *major, uint32_t *minor)
{
	uint8_t h[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SREC_E_IO;
	ssize_t n = read(fd, h, sizeof(h));
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, SREC_MAGIC, 8) != 0)
		return SREC_E_MAGIC;
	*major = srec_get16(h + 12);
	*minor = srec_get16(h + 14);
	return SREC_OK;
}

int srec_reader_open(struct srec_reader **out, const char *path)
{
	int fd, err;

	if (!out || !path)
		return SREC_E_ARG;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SREC_E_IO;
	err = srec_reader_open_fd(out, fd);
	if (err) {
		int e = errno;
		close(fd);
		errno = e;
		return err;
	}
	(*out)->own_fd = 1;
	return SREC_OK;
}

/* Find the next offset > from whose 48 bytes form a valid block header.
 * Returns 1 and sets *found, or 0 when the file has none. */
static int resync(struct srec_reader *r, uint64_t from, uint64_t *found)
{
	uint8_t win[65536 + SREC_BLOCK_HDR_LEN];
	uint64_t pos = from;

	for (;;) {
		ssize_t n = pread_full(r, win, sizeof(win), pos);
		if (n < SREC_BLOCK_HDR_LEN)
			return 0;
		for (ssize_t i = 0; i + SREC_BLOCK_HDR_LEN <= n; i++) {
			struct srec_block_hdr b;
			if (win[i] != 'B' || srec_get32(win + i) != SREC_BLOCK_SYNC)
				continue;
			if (srec_block_parse(win + i, &b) == SREC_OK) {
				*found = pos + (uint64_t)i;
				return 1;
			}
		}
		pos += (uint64_t)(n - SREC_BLOCK_HDR_LEN + 1);
	}
}

/* Load the next valid block into r->raw.  Returns 1 when a block with
 * records is ready, 0 at the end of the file. */
static __attribute__((noinline)) int load_block(struct srec_reader *r)
{
	for (;;) {
		uint8_t h[SREC_BLOCK_HDR_LEN];
		struct srec_block_hdr b;
		uint64_t off = r->off;
		int err;

		ssize_t n = pread_full(r, h, sizeof(h), off);
		if (n == 0)
			return 0;
		if (n < 0) {
			note_error(r, SREC_E_IO, off);
			return 0;
		}
		if ((size_t)n < sizeof(h)) {
			note_error(r, SREC_E_TRUNCATED, off);
			r->st.bytes_skipped += (uint64_t)n;
			return 0;
		}
		err = srec_block_parse(h, &b);
		if (err) {
			uint64_t next;
			note_error(r, err, off);
			r->st.blocks_bad++;
			if (!resync(r, off + 1, &next)) {
				r->st.bytes_skipped += r->st.file_size > off ? r->st.file_size - off : 0;
				return 0;
			}
			r->st.bytes_skipped += next - off;
			r->off = next;
			continue;
		}
		uint32_t padded = srec_pad8(b.stored_len);
		uint64_t total = (uint64_t)SREC_BLOCK_HDR_LEN + padded + SREC_BLOCK_TRAILER_LEN;
		if ((err = grow(&r->zbuf, &r->zcap, padded + SREC_BLOCK_TRAILER_LEN))) {
			note_error(r, err, off);
			return 0;
		}
		n = pread_full(r, r->zbuf, padded + SREC_BLOCK_TRAILER_LEN, off + SREC_BLOCK_HDR_LEN);
		if (n < 0 || (size_t)n < padded + SREC_BLOCK_TRAILER_LEN) {
			note_error(r, n < 0 ? SREC_E_IO : SREC_E_TRUNCATED, off);
			r->st.bytes_skipped += SREC_BLOCK_HDR_LEN + (uint64_t)(n > 0 ? n : 0);
			return 0;
		}
		const uint8_t *tail = r->zbuf + padded;
		if (srec_get32(tail) != total || srec_get32(tail + 4) != SREC_BLOCK_TAIL) {
			/* Header looked fine but the framing does not close: treat
			 * as garbage and resynchronize after this header. */
			uint64_t next;
			note_error(r, SREC_E_BLOCK, off);
			r->st.blocks_bad++;
			if (!resync(r, off + 1, &next))
				return 0;
			r->st.bytes_skipped += next - off;
			r->off = next;
			continue;
		}
		r->off = off + total;
		if (b.type == SREC_B_INDEX) {
			/* read at open (srec_index.h); never records, never damage */
			r->st.blocks_index++;
			continue;
		}
		if (b.type != SREC_B_META && b.type != SREC_B_DATA) {
			r->st.blocks_unknown++;
			continue;
		}
		if (crc32c(0, r->zbuf, b.stored_len) != b.payload_crc) {
			note_error(r, SREC_E_CHECKSUM, off);
			r->st.blocks_bad++;
			r->st.bytes_skipped += total;
			continue;
		}
		if ((b.codec != SREC_CODEC_ZSTD && b.codec != SREC_CODEC_NONE) ||
		    (b.codec == SREC_CODEC_NONE && b.stored_len != b.raw_len)) {
			note_error(r, SREC_E_BLOCK, off);
			r->st.blocks_bad++;
			r->st.bytes_skipped += total;
			continue;
		}
		if (r->filter) {
			struct srec_block_info bi = { off, b.type, b.seq, b.nrecords, b.raw_len,
						      b.t_first, b.t_last };
			if (!r->filter(&bi, r->filter_arg)) {
				r->st.blocks_ok++;
				r->st.blocks_skipped++;
				continue;
			}
		}
		/* raw_len bytes for the decompressor (its output is capped at
		 * raw_len), plus SREC_DECODE_PAD zero bytes that
		 * srec_decode_padded() may load but never decodes. */
		if ((err = grow(&r->raw, &r->rawcap, (size_t)b.raw_len + SREC_DECODE_PAD))) {
			note_error(r, err, off);
			return 0;
		}
		if (b.codec == SREC_CODEC_ZSTD) {
			unsigned long long fcs = ZSTD_getFrameContentSize(r->zbuf, b.stored_len);
			size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, b.raw_len, r->zbuf, b.stored_len);
			if (ZSTD_isError(got) || got != b.raw_len ||
			    (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != b.raw_len)) {
				note_error(r, SREC_E_DECOMPRESS, off);
				r->st.blocks_bad++;
				r->st.bytes_skipped += total;
				continue;
			}
		} else {
			memcpy(r->raw, r->zbuf, b.raw_len);
		}
		memset(r->raw + b.raw_len, 0, SREC_DECODE_PAD);
		r->st.blocks_ok++;
		r->st.raw_bytes += b.raw_len;
		r->cur_off = off;
		r->cur_type = b.type;
		r->p = r->raw;
		r->end = r->raw + b.raw_len;
		memset(&r->cs, 0, sizeof(r->cs));
		if (r->st.index == 1) {
			r->blk_whole = 1;
			r->blk_unknown = 0;
			memset(r->blk_counts, 0, sizeof(r->blk_counts));
		}
		return 1;
	}
}

/* A malformed record: the rest of its block cannot be trusted, and the
 * block counts as bad (the records before it stand). */
static void bad_record(struct srec_reader *r)
{
	note_error(r, SREC_E_RECORD, r->cur_off);
	r->p = r->end;
	r->blk_whole = 0;
	r->st.blocks_ok--;
	r->st.blocks_bad++;
}

static void index_mismatch(struct srec_reader *r)
{
	r->st.index = -1;
	r->st.index_error = SREC_E_INDEX;
	r->st.index_error_offset = r->cur_off;
}

/* A block was decoded whole: its records must be what its index entry
 * says, type by type (types this reader does not know, in sum). */
static __attribute__((noinline)) void check_block_counts(struct srec_reader *r)
{
	const struct srec_index_entry *e = srec_index_find(r->ix, r->cur_off);
	struct srec_index_count c;
	uint64_t known = 0, known_e = 0, unknown_e = 0;
	size_t pos = 0;

	r->blk_whole = 0;
	if (!e || e->type != r->cur_type) {
		index_mismatch(r);
		return;
	}
	for (uint32_t t = 0; t < SREC_R__MAX; t++)
		known += r->blk_counts[t];
	while (srec_index_next_count(r->ix, e, &pos, &c)) {
		if (c.type < SREC_R__MAX && srec_record_name((uint32_t)c.type)) {
			if (c.count != r->blk_counts[c.type]) {
				index_mismatch(r);
				return;
			}
			known_e += c.count;
		} else {
			unknown_e += c.count;
		}
	}
	if (known_e != known || unknown_e != r->blk_unknown)
		index_mismatch(r);
}

/* The current block is used up: check it against the index, load the
 * next one.  0 at the end of the file.  Out of line: once per block. */
static __attribute__((noinline)) int next_block(struct srec_reader *r)
{
	if (r->blk_whole && r->st.index == 1)
		check_block_counts(r);
	if (r->done || !load_block(r)) {
		r->done = 1;
		return 0;
	}
	return 1;
}

/* A record header that is not two one-byte varints: *p_ advanced past it,
 * or 0 for a malformed one. */
static __attribute__((noinline)) int long_header(struct srec_reader *r, const uint8_t **p_,
						 uint64_t *type, uint64_t *len)
{
	const uint8_t *p = srec_uv_get_padded(*p_, r->end, type);
	if (p)
		p = srec_uv_get_padded(p, r->end, len);
	if (!p || *len > (uint64_t)(r->end - p) || *len > SREC_MAX_RECORD)
		return 0;
	*p_ = p;
	return 1;
}

int srec_reader_next(struct srec_reader *r, const struct srec_record **rec)
{
	if (!r || !rec)
		return SREC_E_ARG;
	for (;;) {
		/* r->raw is padded (see load_block), as srec_uv_get_padded()
		 * and srec_decode_padded() need. */
		const uint8_t *p = r->p;
		uint64_t type, len;
		if (SREC_UNLIKELY(p == r->end)) {
			if (!next_block(r))
				return 0;
			continue;
		}
		if (SREC_LIKELY(p[0] < 0x80 && p[1] < 0x80 && r->end - p >= 2 + p[1])) {
			/* nearly every record: type and body_len of one byte */
			type = p[0];
			len = p[1];
			p += 2;
		} else {
			/* through copies: the hot path's locals keep no address */
			const uint8_t *q = p;
			uint64_t t, l;
			if (!long_header(r, &q, &t, &l)) {
				bad_record(r);
				continue;
			}
			p = q;
			type = t;
			len = l;
		}
		r->p = p + len;
		/* srec_decode_padded() says SREC_E_ARG for exactly the types
		 * srec_record_name() does not know. */
		int err = type < SREC_R__MAX ? srec_decode_padded((uint32_t)type, p, (size_t)len,
								  &r->cs, &r->rec)
					     : SREC_E_ARG;
		if (SREC_UNLIKELY(err != SREC_OK)) {
			if (err == SREC_E_ARG) {
				r->st.records_unknown++;
				r->blk_unknown++;
			} else {
				bad_record(r);
			}
			continue;
		}
		r->st.records++;
		r->blk_counts[type]++;
		*rec = &r->rec;
		return 1;
	}
}

const struct srec_read_status *srec_reader_status(const struct srec_reader *r)
{
	return r ? &r->st : NULL;
}

const struct srec_index *srec_reader_index(const struct srec_reader *r)
{
	return r && r->st.index == 1 ? r->ix : NULL;
}

void srec_reader_set_filter(struct srec_reader *r, srec_block_filter_fn fn, void *arg)
{
	if (!r)
		return;
	r->filter = fn;
	r->filter_arg = arg;
}

uint32_t srec_reader_block_type(const struct srec_reader *r)
{
	return r ? r->cur_type : 0;
}

uint64_t srec_reader_block_offset(const struct srec_reader *r)
{
	return r ? r->cur_off : 0;
}

int srec_reader_last_errno(const struct srec_reader *r)
{
	return r ? r->last_errno : 0;
}

void srec_reader_close(struct srec_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	srec_index_free(r->ix);
	free(r->zbuf);
	free(r->raw);
	free(r);
}
