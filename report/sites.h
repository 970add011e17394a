/* sites.h - allocation sites: every (kernel stack, user stack, origin) with
 * its sockets allocated, released, open and leaked, merged across builds
 * by a portable key (symbolized frames, no addresses).  Used by allocs,
 * leaks, diff, html, export and the several-files reports. */
#ifndef SOCKREPORT_SITES_H
#define SOCKREPORT_SITES_H
#include <stdint.h>
#include <stdio.h>
#include "agg.h"
#include "hist.h"
#include "model.h"
#include "series.h"

struct stacks;
struct site {
	uint64_t kstack, ustack;
	uint32_t origin;
	uint64_t allocs, releases, open, leaks, exit_released, closewait, possible;
	int64_t *net_min;      /* allocated - released, per minute from the start */
	size_t nmin;
	struct vals life;      /* lifetimes of the released sockets */
	uint32_t pid;          /* an example */
	uint64_t comm;
	uint32_t family, type, protocol;
	int mixed;             /* sockets of several family/type/protocol */
	char *key;             /* portable key: frame keys, root first, ';'-joined */
	struct series *ts;     /* open sockets over time (only with sites.clock) */
};
struct sites {
	struct agg by_id;      /* "kstack/ustack/origin" -> struct site */
	struct agg by_key;     /* after sites_collapse: key -> struct site */
	struct site **idx;     /* by_id by (kstack, ustack, origin), open addressing */
	size_t idx_cap;
	int no_life;           /* set by callers that print no lifetimes: site.life stays empty */
	struct series_clock *clock; /* set by callers that draw site.ts (html) */
};
void sites_init(struct sites *s);
/* Account socket s (done callback): end = recording end, older_ns as leaks. */
int sites_add(struct sites *ss, const struct model *m, const struct msock *s, uint64_t end,
	      uint64_t older_ns);
/* Symbolize and merge by portable key (lines: add file:line to frames). */
int sites_collapse(struct sites *ss, struct stacks *st, int lines);
/* Folded stacks of the collapsed sites; which: 0 allocs, 1 leaks. */
void sites_folded(FILE *f, struct sites *ss, int which);
void sites_free(struct sites *ss);
/* The portable key of an allocation site ("origin;mod!func;..." root first,
 * address-free; lines: with file:line): malloc'd, NULL on ENOMEM. */
char *portable_key(struct stacks *st, uint64_t kref, uint64_t uref, uint32_t origin, int lines);
/* "INET/STREAM/TCP", or "several kinds" for a mixed site */
void site_kind(char *buf, size_t cap, const struct site *x);

#endif
