/* agg.c - a string-keyed table of fixed-size records (agg.h). */
#include "agg.h"
#include <stdlib.h>
#include <string.h>

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void agg_init(struct agg *a, size_t elem)
{
	memset(a, 0, sizeof(*a));
	a->elem = elem;
}

static int agg_rehash(struct agg *a, size_t ncap)
{
	size_t *nh = calloc(ncap, sizeof(*nh));
	if (!nh)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		size_t j = str_hash(a->keys[i]) & (ncap - 1);
		while (nh[j])
			j = (j + 1) & (ncap - 1);
		nh[j] = i + 1;
	}
	free(a->hash);
	a->hash = nh;
	a->hcap = ncap;
	return 0;
}

void *agg_get(struct agg *a, const char *key)
{
	if (a->hcap) {
		size_t j = str_hash(key) & (a->hcap - 1);
		while (a->hash[j]) {
			if (!strcmp(a->keys[a->hash[j] - 1], key))
				return a->vals[a->hash[j] - 1];
			j = (j + 1) & (a->hcap - 1);
		}
	}
	if ((a->n + 1) * 2 > a->hcap && agg_rehash(a, a->hcap ? a->hcap * 2 : 64))
		return NULL;
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 32;
		char **nk = realloc(a->keys, nc * sizeof(*nk));
		if (!nk)
			return NULL;
		a->keys = nk;
		void **nv = realloc(a->vals, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		a->vals = nv;
		a->cap = nc;
	}
	char *k = strdup(key);
	void *v = calloc(1, a->elem);
	if (!k || !v) {
		free(k);
		free(v);
		return NULL;
	}
	a->keys[a->n] = k;
	a->vals[a->n] = v;
	size_t j = str_hash(key) & (a->hcap - 1);
	while (a->hash[j])
		j = (j + 1) & (a->hcap - 1);
	a->hash[j] = ++a->n;
	return v;
}

void agg_free(struct agg *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->keys[i]);
		free(a->vals[i]);
	}
	free(a->keys);
	free(a->vals);
	free(a->hash);
	memset(a, 0, sizeof(*a));
}
