/* srec_reader.h - streaming, salvaging reader of .srec files.
 *
 * Contract:
 *  - srec_reader_open() checks the file header.  A wrong magic, a text-mode
 *    damaged magic, a byte-swapped file, a newer major version or an empty
 *    file are fatal and come back as the error value (nothing to salvage).
 *  - srec_reader_next() yields records one at a time, block by block.  Memory
 *    is bounded by one block (at most SREC_MAX_PAYLOAD compressed plus
 *    SREC_MAX_PAYLOAD raw), whatever the file's size, plus a valid index
 *    (its block's raw payload and 64 bytes per block it names).
 *  - Damage after the header is never fatal.  A block whose header, payload
 *    checksum, decompression or records are bad is skipped; the reader then
 *    resynchronizes on the next valid block header.  A truncated file ends
 *    the iteration.  In every case status.first_error/first_error_offset name
 *    the first problem and status.salvaged is set; all intact blocks are
 *    still returned.  Records already yielded from a block that later proves
 *    malformed are not taken back (the block's CRC matched, so they are the
 *    writer's bytes).
 *  - Unknown block types and unknown record types are skipped and counted.
 *  - The optional index (spec 3.1, srec_index.h) is looked for and checked
 *    at open (a few bytes per block, no payload).  status.index says what
 *    was found.  An index that fails a check is never used; the reader then
 *    reads exactly as without one.  INDEX blocks met while reading are
 *    skipped (status.blocks_index); they never make a file salvaged.  Each
 *    block the reader decodes whole is checked against its index entry
 *    (per-type record counts): a mismatch makes the index invalid from
 *    then on (status.index = -1), which callers that used it must check.
 *  - A block filter (srec_reader_set_filter) lets a caller skip blocks
 *    without decompressing them; their payload checksums are still
 *    checked, so damage is found as without a filter.
 *  - The reader never reads outside its buffers and never trusts a length
 *    before checking it against the limits.
 */
#ifndef SREC_READER_H
#define SREC_READER_H
#include <stdint.h>
#include "srec_index.h"
#include "srec_records.h"

struct srec_reader;

struct srec_read_status {
	uint32_t major, minor;        /* from the file header */
	int salvaged;                 /* some bytes could not be read */
	int first_error;              /* srec_err of the first problem, 0 if none */
	uint64_t first_error_offset;  /* byte offset of the block it was found in */
	uint64_t blocks_ok;
	uint64_t blocks_bad;
	uint64_t blocks_unknown;      /* valid blocks of a type this reader does not know */
	uint64_t records;             /* records returned */
	uint64_t records_unknown;     /* records of unknown type, skipped */
	uint64_t bytes_skipped;       /* bytes not read as part of a valid block */
	uint64_t file_size;
	uint64_t raw_bytes;           /* decompressed bytes of valid blocks */
	/* the index (spec 3.1) */
	int index;                    /* 0 none, 1 valid (so far), -1 present but invalid */
	int index_error;              /* why it is invalid (SREC_E_INDEX, SREC_E_IO, ...) */
	uint64_t index_error_offset;  /* block where it disagreed with the file */
	uint64_t blocks_index;        /* INDEX blocks skipped while reading */
	uint64_t blocks_skipped;      /* intact blocks the filter skipped (in blocks_ok) */
};

/* What a block filter sees of a block: its header, before decompression. */
struct srec_block_info {
	uint64_t offset;
	uint32_t type, seq, nrecords, raw_len;
	uint64_t t_first, t_last;
};
/* Return 1 to decode the block's records, 0 to skip them. */
typedef int (*srec_block_filter_fn)(const struct srec_block_info *b, void *arg);

int srec_reader_open(struct srec_reader **out, const char *path);
/* As above on an open, seekable fd, which the reader does not close. */
int srec_reader_open_fd(struct srec_reader **out, int fd);

/* 1: *rec points at the next record (valid until the next call);
 * 0: end of file (check the status for damage).  Never negative after a
 * successful open. */
int srec_reader_next(struct srec_reader *r, const struct srec_record **rec);

const struct srec_read_status *srec_reader_status(const struct srec_reader *r);

/* The file's index while status.index == 1, else NULL (srec_index.h). */
const struct srec_index *srec_reader_index(const struct srec_reader *r);

/* Decode only the blocks fn returns 1 for (fn NULL: every block). */
void srec_reader_set_filter(struct srec_reader *r, srec_block_filter_fn fn, void *arg);

/* Type and offset of the block the last record came from. */
uint32_t srec_reader_block_type(const struct srec_reader *r);
uint64_t srec_reader_block_offset(const struct srec_reader *r);

/* errno of the last failed system call, 0 if none. */
int srec_reader_last_errno(const struct srec_reader *r);

void srec_reader_close(struct srec_reader *r);

/* The version in a file's header without opening it as a reader (for the
 * message that names both versions when a file is too new). */
int srec_file_version(const char *path, uint32_t *major, uint32_t *minor);

#endif
