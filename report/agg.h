/* agg.h - a string-keyed table of fixed-size records, for the reports'
 * group-by (by comm, by destination, by site key...). */
#ifndef SOCKREPORT_AGG_H
#define SOCKREPORT_AGG_H
#include <stddef.h>

/* String-keyed table of fixed-size records (zeroed on creation). */
struct agg {
	char **keys;
	void **vals;
	size_t n, cap, elem;
	size_t *hash; /* open addressing over indices+1 */
	size_t hcap;
};
void agg_init(struct agg *a, size_t elem);
/* Record for key (created zeroed); NULL on ENOMEM. */
void *agg_get(struct agg *a, const char *key);
void agg_free(struct agg *a);

#endif
