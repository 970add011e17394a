/* groups.h - sockets grouped by allocation site.
 *
 * A group collects sockets with the same (kernel stack, user stack, origin)
 * while the file streams by; groups_collapse() then merges groups whose
 * symbolized stacks read the same (different stack ids can symbolize
 * identically, e.g. after a stack-map epoch change) and sorts by count.
 */
#ifndef SOCKREPORT_GROUPS_H
#define SOCKREPORT_GROUPS_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "stacks.h"

#define GROUP_MAX_PIDS 16
#define GROUP_MAX_KINDS 8

struct gkind {
	uint32_t family, type, protocol;
	uint64_t count;
};

struct group {
	uint64_t kstack, ustack;
	uint32_t origin;
	uint64_t count;
	uint32_t pids[GROUP_MAX_PIDS];
	uint64_t comms[GROUP_MAX_PIDS];
	int npids, more_pids;
	struct gkind kinds[GROUP_MAX_KINDS];
	int nkinds;
	uint64_t *ages;       /* ns, one per socket (for the distribution) */
	size_t nages, ages_cap;
	uint64_t possible;    /* sockets whose pairing a loss window could affect */
	struct msock example;
	char *key;            /* symbolized text, set by groups_collapse */
};

struct groups {
	struct group *g;
	size_t n, cap;
};

int groups_add(struct groups *gs, const struct msock *s, uint64_t age_ns, int possible);
/* Symbolize, merge identical stacks, sort by count (descending). */
int groups_collapse(struct groups *gs, struct stacks *st);
void groups_free(struct groups *gs);
/* Age percentile (p in 0..100) of a group; ages are sorted by collapse. */
uint64_t group_age_pct(const struct group *g, int p);

#endif
