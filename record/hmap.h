/* hmap.h - a small open-addressing hash map: 32-byte keys -> u64 values.
 *
 * The recorder's caches (stack ids, processes, emitted symbols) all key on a
 * few integers; one map type with a fixed-size key keeps them simple.
 * Keys are compared by value; unused words must be zero.  Not thread-safe.
 */
#ifndef SOCKREC_HMAP_H
#define SOCKREC_HMAP_H
#include <stddef.h>
#include <stdint.h>

struct hkey {
	uint64_t w[4];
};

struct hmap;

struct hmap *hmap_new(void);
void hmap_free(struct hmap *m);
/* Returns a pointer to the value, or NULL when absent. */
uint64_t *hmap_get(struct hmap *m, const struct hkey *k);
/* Inserts or replaces; returns 0, or -1 on allocation failure. */
int hmap_put(struct hmap *m, const struct hkey *k, uint64_t v);
/* Removes k; returns 1 if it was present. */
int hmap_del(struct hmap *m, const struct hkey *k);
/* Removes every entry whose key's word 0 equals w0 (used per stack epoch). */
void hmap_remove_w0(struct hmap *m, uint64_t w0);
size_t hmap_count(const struct hmap *m);
/* Calls fn for every entry; fn must not modify the map. */
void hmap_foreach(const struct hmap *m, void (*fn)(const struct hkey *k, uint64_t v, void *arg),
		  void *arg);

static inline struct hkey hkey4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	struct hkey k = { { a, b, c, d } };
	return k;
}

#endif
