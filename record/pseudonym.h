/* pseudonym.h - stable pseudonyms for IP addresses (--redact addresses).
 *
 * An address is replaced by a keyed hash of itself (SipHash-2-4 with a
 * random key made at start and never written anywhere), so the same
 * address always gets the same pseudonym within one recording, and the
 * file does not allow recovering it.  IPv4 pseudonyms lie in 240.0.0.0/4
 * (reserved), IPv6 in fd00::/8 (unique local); the unspecified address
 * (all zero) is kept.  Ports are not touched.
 */
#ifndef SOCKREC_PSEUDONYM_H
#define SOCKREC_PSEUDONYM_H
#include <stddef.h>
#include <stdint.h>

struct pseudonym {
	uint64_t k0, k1;
};

/* Random key from getrandom(2).  0 or -errno. */
int pseudonym_init(struct pseudonym *p);
/* In place; len is 4 or 16 (other lengths are left alone). */
void pseudonym_addr(const struct pseudonym *p, uint8_t *addr, size_t len);
uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len);

#endif
