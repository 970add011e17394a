/* hmap.c - linear probing with backward-shift deletion. */
#include "hmap.h"
#include <stdlib.h>
#include <string.h>

struct slot {
	struct hkey k;
	uint64_t v;
	uint8_t used;
};

struct hmap {
	struct slot *s;
	size_t cap, n;
};

static uint64_t mix(const struct hkey *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 4; i++) {
		h ^= k->w[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

struct hmap *hmap_new(void)
{
	struct hmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cap = 256;
	m->s = calloc(m->cap, sizeof(*m->s));
	if (!m->s) {
		free(m);
		return NULL;
	}
	return m;
}

void hmap_free(struct hmap *m)
{
	if (!m)
		return;
	free(m->s);
	free(m);
}

size_t hmap_count(const struct hmap *m)
{
	return m ? m->n : 0;
}

static struct slot *find(const struct hmap *m, const struct hkey *k)
{
	size_t i = mix(k) & (m->cap - 1);
	while (m->s[i].used) {
		if (memcmp(&m->s[i].k, k, sizeof(*k)) == 0)
			return &m->s[i];
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

uint64_t *hmap_get(struct hmap *m, const struct hkey *k)
{
	struct slot *s = find(m, k);
	return s ? &s->v : NULL;
}

static int grow(struct hmap *m)
{
	size_t ncap = m->cap * 2;
	struct slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->s[i].used)
			continue;
		size_t j = mix(&m->s[i].k) & (ncap - 1);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
	m->cap = ncap;
	return 0;
}

int hmap_put(struct hmap *m, const struct hkey *k, uint64_t v)
{
	struct slot *s = find(m, k);
	if (s) {
		s->v = v;
		return 0;
	}
	if ((m->n + 1) * 4 > m->cap * 3 && grow(m))
		return -1;
	size_t i = mix(k) & (m->cap - 1);
	while (m->s[i].used)
		i = (i + 1) & (m->cap - 1);
	m->s[i].k = *k;
	m->s[i].v = v;
	m->s[i].used = 1;
	m->n++;
	return 0;
}

static void erase_at(struct hmap *m, size_t i)
{
	/* Backward-shift: move later members of the probe run into the hole. */
	size_t j = i;
	m->s[i].used = 0;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (!m->s[j].used)
			return;
		size_t home = mix(&m->s[j].k) & (m->cap - 1);
		int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->s[i] = m->s[j];
			m->s[j].used = 0;
			i = j;
		}
	}
}

int hmap_del(struct hmap *m, const struct hkey *k)
{
	struct slot *s = find(m, k);
	if (!s)
		return 0;
	erase_at(m, (size_t)(s - m->s));
	m->n--;
	return 1;
}

void hmap_remove_w0(struct hmap *m, uint64_t w0)
{
	size_t i = 0;
	while (i < m->cap) {
		if (m->s[i].used && m->s[i].k.w[0] == w0) {
			erase_at(m, i);
			m->n--;
			continue; /* slot i now holds a shifted entry: recheck it */
		}
		i++;
	}
}

void hmap_foreach(const struct hmap *m, void (*fn)(const struct hkey *k, uint64_t v, void *arg),
		  void *arg)
{
	for (size_t i = 0; m && i < m->cap; i++)
		if (m->s[i].used)
			fn(&m->s[i].k, m->s[i].v, arg);
}
