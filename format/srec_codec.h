/* srec_codec.h - encode and decode single records (the inside of a block).
 *
 * A record on disk is: uvarint type, uvarint body_len, body[body_len].  The
 * body is a fixed sequence of fields per type (spec: "Record bodies").
 * Two pieces of per-block state make fields relative: the previous
 * timestamp (T fields) and the previous serial (D fields).  Both start at
 * 0 and 0 and are carried in struct srec_codec_state.
 *
 * Contract: srec_encode writes at most srec_encoded_max(r) bytes.
 * srec_decode never reads outside [p, p+len) and accepts a body longer than
 * it knows (fields appended by a newer minor version are ignored) or shorter
 * (missing trailing fields read as 0).
 */
#ifndef SREC_CODEC_H
#define SREC_CODEC_H
#include <stddef.h>
#include <stdint.h>
#include "srec_records.h"

struct srec_codec_state {
	uint64_t prev_ts;
	uint64_t prev_serial;
};

/* Upper bound of the encoded size of r, header included. */
size_t srec_encoded_max(const struct srec_record *r);

/* Encode r at buf (which has room for srec_encoded_max(r)).  Returns the
 * number of bytes written, or a negative srec_err. */
long srec_encode(const struct srec_record *r, uint8_t *buf, struct srec_codec_state *st);

/* Decode one record body of the given type.  Returns SREC_OK, or
 * SREC_E_RECORD for a malformed body, or SREC_E_ARG for a type this library
 * does not know (srec_record_name(type) == NULL), which the caller handles
 * by skipping body_len bytes. */
int srec_decode(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		struct srec_record *out);

/* The same as srec_decode() (same results, same errors, same state), for a
 * body inside a buffer that stays readable for at least SREC_DECODE_PAD
 * bytes after p + len; the reader pads its block buffer so.  It decodes
 * each type with its own straight-line routine and reads short varints
 * without a bounds check per byte (it may load, never use, bytes at or
 * after p + len). */
#define SREC_DECODE_PAD 64
int srec_decode_padded(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		       struct srec_record *out);

/* Reflection over the field table, so that printers (sockreport dump) use
 * the spec's names and kinds from the same table the codec uses.
 * kind is one of 'U', 'I', 'T', 'D', 'B'.  STACK has no table (n = 0). */
struct srec_field_info {
	const char *name;
	char kind;
	uint8_t size;    /* of the C member, 4 or 8; 0 for 'B' (srec_bytes) */
	uint16_t offset; /* inside struct srec_record */
};
/* Fills out[0..n-1] (at most cap entries); returns n, 0 for unknown types. */
unsigned srec_record_fields(uint32_t type, struct srec_field_info *out, unsigned cap);
/* Value of an integer field of r (sign-extended for 'I'). */
int64_t srec_field_int(const struct srec_record *r, const struct srec_field_info *f);

#endif
