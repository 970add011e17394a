/* srec_index.h - the optional index at the end of a .srec file (spec 3.1).
 *
 * A writer that closes cleanly appends one INDEX block, the file's last:
 * for every block before it, its offset, type, seq, record count, time
 * range, stored length, payload CRC and per-record-type counts.  The
 * INDEX block's trailer, the last 8 bytes of the file, locates it.  A file
 * without one (a recorder that was killed) reads fully without it.
 *
 * Contract:
 *  - srec_index_read() treats every byte as hostile.  It returns SREC_OK
 *    only for an index that passes every check of spec 3.1: the INDEX
 *    block is intact, its records are well formed, its entries tile the
 *    file from the end of the file header to the INDEX block without a
 *    gap, and the header and trailer of every block it names agree with
 *    its entry.  It reads 56 bytes per named block, never a payload.
 *  - What it cannot check without decompressing (the per-type counts) a
 *    reader checks as it decodes blocks (srec_reader.h does); an index
 *    that fails any check must not be used at all.
 *  - Memory is proportional to the index block (at most SREC_MAX_PAYLOAD
 *    raw bytes) and to the number of blocks the file can hold.
 * No global state.
 */
#ifndef SREC_INDEX_H
#define SREC_INDEX_H
#include <stddef.h>
#include <stdint.h>

/* Record types inside INDEX blocks only (spec 3.1). */
enum { SREC_IR_BLOCK = 64, SREC_IR_END = 65 };

/* One (record type, count) pair of an entry. */
struct srec_index_count {
	uint64_t type;
	uint64_t count;
};

struct srec_index_entry {
	uint64_t offset;        /* of the block header */
	uint32_t type, seq;     /* as in the block header */
	uint32_t nrecords, stored_len, payload_crc;
	uint64_t t_first, t_last;
	size_t counts_at, counts_len; /* its counts field, inside the index (opaque) */
};

struct srec_index;

/* Look for and check the index of the file open on fd (file_size bytes,
 * first block at header_len).  SREC_OK: *out is a checked index.
 * SREC_E_NOINDEX: the file does not end with an INDEX block (not an
 * error: a recorder that was killed writes none).  SREC_E_INDEX: there is
 * an INDEX block but it does not describe this file; *bad_offset is the
 * offset of the block where the first disagreement was found.  SREC_E_IO,
 * SREC_E_NOMEM as usual. */
int srec_index_read(struct srec_index **out, int fd, uint64_t file_size, uint32_t header_len,
		    uint64_t *bad_offset);

size_t srec_index_nblocks(const struct srec_index *ix);
const struct srec_index_entry *srec_index_entry(const struct srec_index *ix, size_t i);
/* The entry of the block at offset, NULL if the index names none there. */
const struct srec_index_entry *srec_index_find(const struct srec_index *ix, uint64_t offset);
/* Count of records of type t in entry e (e NULL: in the whole file). */
uint64_t srec_index_count(const struct srec_index *ix, const struct srec_index_entry *e,
			  uint64_t t);
/* Iterate e's (type, count) pairs in ascending type: *pos starts at 0;
 * returns 1 and fills *c, or 0 after the last. */
int srec_index_next_count(const struct srec_index *ix, const struct srec_index_entry *e,
			  size_t *pos, struct srec_index_count *c);
/* The whole file's (type, count) pairs, ascending type; n set to their number. */
const struct srec_index_count *srec_index_totals(const struct srec_index *ix, size_t *n);
/* Offset of the INDEX block itself (the end of the indexed blocks). */
uint64_t srec_index_offset(const struct srec_index *ix);
void srec_index_free(struct srec_index *ix);

/* Writer side: an index under construction (used by srec_writer.c). */
struct srec_index_builder;
struct srec_index_builder *srec_index_builder_new(size_t max_bytes);
/* Note one block written.  counts[t] for t < ntypes are its per-type
 * record counts (zeros skipped).  Returns SREC_OK, or SREC_E_NOMEM; when
 * the index would exceed max_bytes it is dropped (srec_index_builder_payload
 * then says so) and SREC_OK is returned: an index is optional. */
int srec_index_builder_add(struct srec_index_builder *b, uint64_t offset, uint32_t type,
			   uint32_t seq, uint32_t nrecords, uint64_t t_first, uint64_t t_last,
			   uint32_t stored_len, uint32_t payload_crc, const uint32_t *counts,
			   uint32_t ntypes);
/* Finish: the INDEX block's raw payload and record count; NULL when the
 * index was dropped or could not be built. */
const uint8_t *srec_index_builder_payload(struct srec_index_builder *b, size_t *len,
					  uint32_t *nrecords);
void srec_index_builder_free(struct srec_index_builder *b);

#endif
