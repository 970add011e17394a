/* srec_block.c - the 48-byte block header (srec_block.h): its field
 * offsets written down once, for the writer (srec_block_put) and for the
 * reader and the index (srec_block_parse). */
#include "srec_block.h"
#include "crc32c.h"
#include "srec_error.h"
#include "srec_records.h"

/* Offsets inside the block header (srec_block.h, spec 3). */
enum {
	BH_SYNC = 0, BH_TYPE = 4, BH_CODEC = 6, BH_STORED = 8, BH_RAW = 12, BH_NRECORDS = 16,
	BH_PAYLOAD_CRC = 20, BH_T_FIRST = 24, BH_T_LAST = 32, BH_SEQ = 40, BH_CRC = 44,
};
_Static_assert(BH_CRC + 4 == SREC_BLOCK_HDR_LEN, "the header CRC ends the block header");

void srec_block_put(uint8_t *h, const struct srec_block_hdr *b)
{
	srec_put32(h + BH_SYNC, SREC_BLOCK_SYNC);
	srec_put16(h + BH_TYPE, b->type);
	srec_put16(h + BH_CODEC, b->codec);
	srec_put32(h + BH_STORED, b->stored_len);
	srec_put32(h + BH_RAW, b->raw_len);
	srec_put32(h + BH_NRECORDS, b->nrecords);
	srec_put32(h + BH_PAYLOAD_CRC, b->payload_crc);
	srec_put64(h + BH_T_FIRST, b->t_first);
	srec_put64(h + BH_T_LAST, b->t_last);
	srec_put32(h + BH_SEQ, b->seq);
	srec_put32(h + BH_CRC, crc32c(0, h, BH_CRC));
}

int srec_block_parse(const uint8_t *h, struct srec_block_hdr *b)
{
	if (srec_get32(h + BH_SYNC) != SREC_BLOCK_SYNC || crc32c(0, h, BH_CRC) != srec_get32(h + BH_CRC))
		return SREC_E_BLOCK;
	b->type = srec_get16(h + BH_TYPE);
	b->codec = srec_get16(h + BH_CODEC);
	b->stored_len = srec_get32(h + BH_STORED);
	b->raw_len = srec_get32(h + BH_RAW);
	b->nrecords = srec_get32(h + BH_NRECORDS);
	b->payload_crc = srec_get32(h + BH_PAYLOAD_CRC);
	b->t_first = srec_get64(h + BH_T_FIRST);
	b->t_last = srec_get64(h + BH_T_LAST);
	b->seq = srec_get32(h + BH_SEQ);
	if (b->stored_len > SREC_MAX_PAYLOAD || b->raw_len > SREC_MAX_PAYLOAD)
		return SREC_E_TOOBIG;
	/* The codec is checked after the framing (spec 3, step 7), so that a
	 * block of unknown type with a codec from the future is skipped. */
	return SREC_OK;
}
