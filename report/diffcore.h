/* diffcore.h - the comparison of `sockreport diff BASE NEW`, shared with
 * `html BASE NEW`: each side loaded into allocation sites and duration
 * metrics, then rows (sites matched by portable key, and metrics) ranked
 * by significance. */
#ifndef SOCKREPORT_DIFFCORE_H
#define SOCKREPORT_DIFFCORE_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "stacks.h"
#include "sites.h"

struct side {
	struct cli *c;
	const char *path;
	struct model m;
	int loaded;
	struct sites ss;
	struct vals conn, acc, life;
	uint64_t conn_failed, leaks, closewait, exit_leaks, allocs, releases;
	uint64_t end;
	double mins;
	struct sym_ctx *sym;
	struct stacks *st;
	int err;
};

struct row {
	char name[64];
	const char *unit;
	double base, new;
	double score;
	const char *status; /* "changed", "same", "new", "vanished", "not comparable" */
	int no_base, no_new; /* a percentile of a side without any value */
	const struct site *bs, *ns;
	int is_site;
};

struct rows {
	struct row *r;
	size_t n, cap;
};

/* Loads path into S (clock: per-site time series, NULL for none); prints
 * the file's warnings.  Non-zero (message printed) on failure; S must be
 * freed with diff_free_side() either way. */
int diff_load_side(struct cli *c, const char *path, struct side *S, struct series_clock *clock);
void diff_free_side(struct side *S);
/* The rows of BASE B against NEW N, most significant first; -1 on ENOMEM
 * (R->r freed by the caller). */
int diff_rows(struct side *B, struct side *N, struct rows *R, uint64_t *new_sites);
/* The first three frames of a user stack, "mod!f < mod!g < mod!h" (or
 * "ORIGIN (no user stack)"): how diff and html name a site. */
void diff_site_label(char *buf, size_t cap, struct stacks *st, uint64_t ustack, uint32_t origin);

#endif
