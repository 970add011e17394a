/* srec_error.h - error values of the .srec library.
 *
 * Contract: every fallible function of format/ returns an srec_err (0 is
 * success, negative values are errors).  srec_strerror() turns one into a
 * short, stable, human-readable reason.  No function sets errno as its way
 * of reporting; where a system call failed the library keeps errno in the
 * object (see srec_reader_last_errno / srec_writer_last_errno).
 */
#ifndef SREC_ERROR_H
#define SREC_ERROR_H

typedef enum {
	SREC_OK = 0,
	SREC_E_IO = -1,          /* read/write/open failed; errno kept by the object */
	SREC_E_NOMEM = -2,       /* allocation failed */
	SREC_E_MAGIC = -3,       /* not a .srec file (wrong magic) */
	SREC_E_TEXTMODE = -4,    /* magic damaged the way a text-mode transfer damages it */
	SREC_E_ENDIAN = -5,      /* byte-order mark is byte-swapped */
	SREC_E_VERSION = -6,     /* major version newer than this reader */
	SREC_E_HEADER = -7,      /* file header malformed (length, CRC) */
	SREC_E_TRUNCATED = -8,   /* file ends inside a block */
	SREC_E_BLOCK = -9,       /* block header malformed (sync, CRC, lengths) */
	SREC_E_CHECKSUM = -10,   /* block payload CRC32C mismatch */
	SREC_E_DECOMPRESS = -11, /* zstd refused the payload */
	SREC_E_TOOBIG = -12,     /* a length exceeds the format's limits */
	SREC_E_RECORD = -13,     /* a record inside a block is malformed */
	SREC_E_ARG = -14,        /* caller passed an invalid argument */
	SREC_E_COMPRESS = -15,   /* zstd failed while compressing */
	SREC_E_STATE = -16,      /* call not valid in the object's current state */
	SREC_E_EMPTY = -17,      /* the file is empty (0 bytes) */
	SREC_E_INDEX = -18,      /* the file's index does not describe the file (ignored) */
	SREC_E_NOINDEX = -19,    /* the file has no index (not damage: it is optional) */
} srec_err;

/* Returns a static string; never NULL, also for unknown values. */
const char *srec_strerror(int err);

#endif
