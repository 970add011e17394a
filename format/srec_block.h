/* srec_block.h - on-disk layout of the file header and block framing.
 * Internal to format/ (writer, reader, index; srec_block.c); the spec is
 * the public contract.
 * All integers are little-endian.
 */
#ifndef SREC_BLOCK_H
#define SREC_BLOCK_H
#include <stdint.h>
#include <string.h>

/* File magic: like PNG's, the high-bit first byte catches 7-bit channels,
 * CR LF catches CRLF<->LF translation, 0x1A stops DOS `type`. */
static const uint8_t SREC_MAGIC[8] = { 0x8A, 'S', 'R', 'C', 0x0D, 0x0A, 0x1A, 0x0A };
#define SREC_BOM 0x1A2B3C4Du
#define SREC_BLOCK_SYNC 0xB54B4C42u   /* bytes 'B' 'L' 'K' 0xB5 */
#define SREC_BLOCK_TAIL 0xB5424C4Bu   /* bytes 'K' 'L' 'B' 0xB5 */

enum { SREC_CODEC_NONE = 0, SREC_CODEC_ZSTD = 1 };

static inline void srec_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void srec_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void srec_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t srec_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t srec_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t srec_get64(const uint8_t *p)
{
	return (uint64_t)srec_get32(p) | (uint64_t)srec_get32(p + 4) << 32;
}

/* File header, 32 bytes:
 *   0  magic[8]   4  -
 *   8  u32 bom    12 u16 major  14 u16 minor
 *   16 u32 header_len (>= 32)   20 u32 flags (0)
 *   24 u32 reserved (0)         28 u32 crc32c of bytes 0..27
 * Block header, 48 bytes:
 *   0  u32 sync   4 u16 type    6 u16 codec
 *   8  u32 stored_len           12 u32 raw_len
 *   16 u32 nrecords             20 u32 payload crc32c (stored bytes)
 *   24 u64 t_first              32 u64 t_last
 *   40 u32 seq                  44 u32 crc32c of bytes 0..43
 * then the payload, zero-padded to a multiple of 8, then the trailer:
 *   u32 total_len (header + padded payload + trailer), u32 tail magic.
 */
struct srec_block_hdr {
	uint16_t type, codec;
	uint32_t stored_len, raw_len, nrecords, payload_crc, seq;
	uint64_t t_first, t_last;
};

static inline uint32_t srec_pad8(uint32_t n) { return (n + 7u) & ~7u; }

/* Writes the 48 header bytes of b (sync and header CRC included). */
void srec_block_put(uint8_t *h, const struct srec_block_hdr *b);
/* The checks of spec 3 step 2 on 48 header bytes (sync, header CRC, the
 * length limits), then the fields into *b.  SREC_OK, SREC_E_BLOCK or
 * SREC_E_TOOBIG.  The codec is not checked (step 7). */
int srec_block_parse(const uint8_t *h, struct srec_block_hdr *b);
/* Bytes of a whole block (header, padded payload, trailer). */
static inline uint64_t srec_block_total(uint32_t stored_len)
{
	return 48u + (uint64_t)srec_pad8(stored_len) + 8u;
}

#endif
