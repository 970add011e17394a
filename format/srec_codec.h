/* srec_codec.h - encode and decode single records (the inside of a block).
 *
 * A record on disk is: uvarint type, uvarint body_len, body[body_len].  The
 * body is a fixed sequence of fields per type (spec: "Record bodies").
 * Two pieces of per-block state make fields relative: the previous
 * timestamp (T fields) and the previous serial (D fields).  Both start at
 * the block header's t_first and 0 and are carried in struct srec_codec_state.
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
 * SREC_E_RECORD for a malformed body.  The caller handles unknown types
 * (srec_record_name(type) == NULL) by skipping body_len bytes. */
int srec_decode(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		struct srec_record *out);

#endif
