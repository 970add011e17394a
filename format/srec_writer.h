/* srec_writer.h - streaming writer of .srec files.
 *
 * Contract:
 *  - srec_writer_open() writes the file header at once, so even a writer
 *    killed right after open leaves a file that reads (as empty/incomplete).
 *  - Records go into an in-memory block (DATA, or META for META records).
 *    A block is compressed and written when it reaches block_bytes, when
 *    srec_writer_flush() is called, or at close.  Memory is bounded by
 *    two raw blocks plus one compressed block, plus the index (below).
 *  - Every block is written with one write sequence; if it fails (disk
 *    full, EIO) the file is truncated back to the end of the last complete
 *    block, the writer enters an error state and every later call returns
 *    SREC_E_IO.  The file on disk is always a valid prefix.
 *  - srec_writer_close() appends an INDEX block (spec 3.1, srec_index.h)
 *    naming every block, unless opts->no_index.  The index is built as
 *    blocks are written, at most SREC_INDEX_MAX_RAW bytes (~45 bytes per
 *    block); a recording with more blocks gets no index, which is valid.
 *  - The writer never closes the fd it was given.
 * No global state: everything lives in struct srec_writer.
 */
#ifndef SREC_WRITER_H
#define SREC_WRITER_H
#include <stddef.h>
#include <stdint.h>
#include "srec_records.h"

struct srec_writer;

struct srec_writer_opts {
	int zstd_level;       /* 0 = default (3) */
	size_t block_bytes;   /* raw bytes per block before an automatic flush; 0 = 1 MiB */
	int no_index;         /* 1: write no INDEX block at close */
};

/* Most raw bytes of index the writer keeps (16 MiB: ~370k blocks). */
#define SREC_INDEX_MAX_RAW (16u << 20)

int srec_writer_open(struct srec_writer **out, int fd, const struct srec_writer_opts *opts);

/* Append one record.  Strings, modules and stacks are the caller's to
 * intern (see srec_intern.h); the writer stores what it is given. */
int srec_writer_add(struct srec_writer *w, const struct srec_record *r);

/* Convenience for META records. */
int srec_writer_meta(struct srec_writer *w, const char *key, const void *val, size_t len);
int srec_writer_meta_str(struct srec_writer *w, const char *key, const char *val);
int srec_writer_meta_u64(struct srec_writer *w, const char *key, uint64_t val);

/* Compress and write the pending blocks (META first, then DATA). */
int srec_writer_flush(struct srec_writer *w);

/* Raw bytes pending in the open blocks, and the bytes on disk so far. */
size_t srec_writer_pending(const struct srec_writer *w);
uint64_t srec_writer_offset(const struct srec_writer *w);
uint64_t srec_writer_raw_total(const struct srec_writer *w);

/* errno of the last failed system call, 0 if none. */
int srec_writer_last_errno(const struct srec_writer *w);

/* Flush, then free.  Returns the flush result; the writer is freed in any
 * case.  NULL is accepted. */
int srec_writer_close(struct srec_writer *w);

#endif
