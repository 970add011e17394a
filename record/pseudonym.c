/* pseudonym.c - SipHash-2-4 (Aumasson & Bernstein), keyed pseudonyms. */
#include "pseudonym.h"
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
	} while (0)

uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		w = 0;
		for (int j = 0; j < 8; j++)
			w |= (uint64_t)m[i + j] << (8 * j);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	for (int j = 0; i + (size_t)j < len; j++)
		b |= (uint64_t)m[i + (size_t)j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int pseudonym_init(struct pseudonym *p)
{
	uint8_t k[16];
	size_t got = 0;

	while (got < sizeof(k)) {
		ssize_t n = getrandom(k + got, sizeof(k) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	memcpy(&p->k0, k, 8);
	memcpy(&p->k1, k + 8, 8);
	return 0;
}

void pseudonym_addr(const struct pseudonym *p, uint8_t *addr, size_t len)
{
	static const uint8_t zero[16];
	uint64_t h1, h2;

	if ((len != 4 && len != 16) || !memcmp(addr, zero, len))
		return;
	h1 = siphash24(p->k0, p->k1, addr, len);
	if (len == 4) {
		addr[0] = (uint8_t)(0xF0 | (h1 & 0x0F));
		addr[1] = (uint8_t)(h1 >> 8);
		addr[2] = (uint8_t)(h1 >> 16);
		addr[3] = (uint8_t)(h1 >> 24);
		return;
	}
	h2 = siphash24(p->k1, p->k0, addr, len);
	addr[0] = 0xFD;
	for (int i = 1; i < 8; i++)
		addr[i] = (uint8_t)(h1 >> (8 * i));
	for (int i = 8; i < 16; i++)
		addr[i] = (uint8_t)(h2 >> (8 * (i - 8)));
}
