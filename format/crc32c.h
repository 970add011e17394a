/* crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * crc32c(0, data, len) gives the standard CRC-32C of data: initial value
 * 0xFFFFFFFF, final XOR 0xFFFFFFFF ("123456789" -> 0xE3069283).  Passing a
 * previous result as `crc` continues a running checksum.  Pure function,
 * no global state (the table is const and built at compile time).
 */
#ifndef SREC_CRC32C_H
#define SREC_CRC32C_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
