/* sites.c - allocation sites (sites.h): accounting per (kernel stack, user
 * stack, origin), the portable keys that diff matches across builds, and
 * the folded-stack output of leaks and allocs. */
#include "sites.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "stacks.h"

void sites_init(struct sites *s)
{
	agg_init(&s->by_id, sizeof(struct site));
	agg_init(&s->by_key, sizeof(struct site));
	s->idx = NULL;
	s->idx_cap = 0;
	s->no_life = 0;
	s->clock = NULL;
}

static struct site *site_new(struct sites *ss, const struct msock *s);
static int site_account(struct site *x, const struct model *m, const struct msock *s,
			uint64_t end, uint64_t older_ns, int no_life, struct series_clock *clock);

static int add_min(struct site *x, const struct model *m, uint64_t ts, int64_t d)
{
	uint64_t off = ts > m->start_ns ? ts - m->start_ns : 0;
	size_t i = (size_t)(off / 60000000000ull);
	if (i > 100000)
		i = 100000;
	if (i >= x->nmin) {
		int64_t *n = realloc(x->net_min, (i + 1) * sizeof(*n));
		if (!n)
			return -1;
		memset(n + x->nmin, 0, (i + 1 - x->nmin) * sizeof(*n));
		x->net_min = n;
		x->nmin = i + 1;
	}
	x->net_min[i] += d;
	return 0;
}

static size_t site_hash(uint64_t k, uint64_t u, uint32_t o, size_t cap)
{
	uint64_t h = (k * 0x9E3779B97F4A7C15ull) ^ (u * 0xC2B2AE3D27D4EB4Full) ^ o;
	return (size_t)((h ^ (h >> 29)) & (cap - 1));
}

/* The by_id site of (k, u, o) through the index; NULL if not there yet. */
static struct site *site_find(const struct sites *ss, uint64_t k, uint64_t u, uint32_t o)
{
	if (!ss->idx_cap)
		return NULL;
	for (size_t i = site_hash(k, u, o, ss->idx_cap);; i = (i + 1) & (ss->idx_cap - 1)) {
		struct site *x = ss->idx[i];
		if (!x || (x->kstack == k && x->ustack == u && x->origin == o))
			return x;
	}
}

static int site_index(struct sites *ss, struct site *x)
{
	if ((ss->by_id.n + 1) * 2 > ss->idx_cap) {
		size_t nc = ss->idx_cap ? ss->idx_cap * 2 : 256;
		struct site **ni = calloc(nc, sizeof(*ni));
		if (!ni)
			return -1;
		for (size_t j = 0; j < ss->idx_cap; j++) {
			struct site *y = ss->idx[j];
			if (!y)
				continue;
			size_t i = site_hash(y->kstack, y->ustack, y->origin, nc);
			while (ni[i])
				i = (i + 1) & (nc - 1);
			ni[i] = y;
		}
		free(ss->idx);
		ss->idx = ni;
		ss->idx_cap = nc;
	}
	size_t i = site_hash(x->kstack, x->ustack, x->origin, ss->idx_cap);
	while (ss->idx[i])
		i = (i + 1) & (ss->idx_cap - 1);
	ss->idx[i] = x;
	return 0;
}

int sites_add(struct sites *ss, const struct model *m, const struct msock *s, uint64_t end,
	      uint64_t older_ns)
{
	struct site *x = site_find(ss, s->alloc_kstack, s->alloc_ustack, s->origin);
	if (!x) {
		x = site_new(ss, s);
		if (!x)
			return -1;
	}
	return site_account(x, m, s, end, older_ns, ss->no_life, ss->clock);
}

/* A new by_id site for s's (kstack, ustack, origin), indexed. */
static struct site *site_new(struct sites *ss, const struct msock *s)
{
	/* Once per site: format the key by hand (snprintf was 17% of a
	 * `leaks` run, callgrind on a 2M-event file). */
	char key[96], *k = key;
	const uint64_t parts[3] = { s->alloc_kstack, s->alloc_ustack, s->origin };
	for (int i = 0; i < 3; i++) {
		char digits[20];
		int n = 0;
		uint64_t v = parts[i];
		do {
			digits[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (n)
			*k++ = digits[--n];
		*k++ = i < 2 ? '/' : '\0';
	}
	struct site *x = agg_get(&ss->by_id, key);
	if (!x)
		return NULL;
	x->kstack = s->alloc_kstack;
	x->ustack = s->alloc_ustack;
	x->origin = s->origin;
	if (site_index(ss, x))
		return NULL;
	return x;
}

/* The site's time series, allocated on first use (one per site). */
static int series_of(struct site *x)
{
	if (!x->ts)
		x->ts = calloc(1, sizeof(*x->ts));
	return x->ts ? 0 : -1;
}

static int site_account(struct site *x, const struct model *m, const struct msock *s,
			uint64_t end, uint64_t older_ns, int no_life, struct series_clock *clock)
{
	if (!x->allocs && !x->open && !x->releases) {
		x->kstack = s->alloc_kstack;
		x->ustack = s->alloc_ustack;
		x->origin = s->origin;
		x->pid = s->pid;
		x->comm = s->comm;
		x->family = s->family;
		x->type = s->type;
		x->protocol = s->protocol;
	} else if (x->family != s->family || x->type != s->type || x->protocol != s->protocol) {
		x->mixed = 1;
	}
	if (!s->alloc_ts)
		return 0; /* opened before the recording: not a site's growth */
	x->allocs++;
	if (add_min(x, m, s->alloc_ts, 1))
		return -1;
	if (clock) {
		if (!clock->base_ns) {
			clock->start_ns = m->start_ns;
			clock->base_ns = 1000000; /* 1 ms, doubled as the recording goes on */
		}
		if (series_of(x))
			return -1;
		series_add(x->ts, clock, s->alloc_ts, 1);
		if (s->released)
			series_add(x->ts, clock, s->release_ts, -1);
	}
	if (s->released) {
		x->releases++;
		/* A site's histogram spans microseconds to minutes (up to 30
		 * KiB): for a report that never prints it, a cache miss per
		 * released socket for nothing (7% of `leaks`, perf). */
		if ((!no_life &&
		     vals_add(&x->life, s->release_ts > s->alloc_ts ? s->release_ts - s->alloc_ts : 0)) ||
		    add_min(x, m, s->release_ts, -1))
			return -1;
		if (s->how == SREC_HOW_EXIT)
			x->exit_released++;
		x->possible += s->in_loss_window;
	} else {
		x->open++;
		if (end > s->alloc_ts && end - s->alloc_ts >= older_ns) {
			x->leaks++;
			x->possible += (uint64_t)model_loss_between(m, s->alloc_ts, end);
		}
		uint64_t since;
		uint32_t st = msock_last_state(s, &since);
		/* as leaks: a few ms into CLOSE_WAIT at the end is a healthy
		 * server caught mid-close, not a stranding */
		if (st == 8 && end > since && end - since >= older_ns)
			x->closewait++;
	}
	return 0;
}

/* "mod!func" per frame (innermost first in lines[]), joined root first. */
char *portable_key(struct stacks *st, uint64_t kref, uint64_t uref, uint32_t origin,
			  int lines)
{
	size_t cap = 256, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	len = (size_t)snprintf(out, cap, "%s", origin_name(origin));
	uint64_t refs[2] = { uref, kref };
	for (int r = 0; r < 2; r++) {
		size_t n = 0;
		const char *const *l = stacks_lines(st, refs[r], &n);
		if (!l && n) {
			free(out);
			return NULL;
		}
		for (size_t i = n; i-- > 0;) {
			char k[600];
			if (stacks_line_is_note(l[i]))
				continue; /* how it was unwound: not part of the site */
			stacks_frame_key(l[i], k, sizeof(k));
			if (lines) {
				/* " /path/file.c:123" after the module part */
				const char *rp = strstr(l[i], ") ");
				if (rp && l[i][0] != '[') {
					const char *sl = strrchr(rp + 2, '/');
					size_t kl = strlen(k);
					snprintf(k + kl, sizeof(k) - kl, "@%s", sl ? sl + 1 : rp + 2);
				}
			}
			for (char *p = k; *p; p++)
				if (*p == ';' || *p == '\n')
					*p = ':';
			size_t need = len + strlen(k) + 2;
			if (need > cap) {
				while (cap < need)
					cap *= 2;
				char *no = realloc(out, cap);
				if (!no) {
					free(out);
					return NULL;
				}
				out = no;
			}
			out[len++] = ';';
			strcpy(out + len, k);
			len += strlen(k);
		}
	}
	return out;
}

int sites_collapse(struct sites *ss, struct stacks *st, int lines)
{
	for (size_t i = 0; i < ss->by_id.n; i++) {
		struct site *x = ss->by_id.vals[i];
		char *k = portable_key(st, x->kstack, x->ustack, x->origin, lines);
		if (!k)
			return -1;
		struct site *y = agg_get(&ss->by_key, k);
		if (!y) {
			free(k);
			return -1;
		}
		if (!y->key) {
			int64_t *nm = y->net_min;
			struct vals lv = y->life;
			*y = *x;
			y->ts = NULL;
			y->net_min = nm;
			y->nmin = 0;
			y->life = lv;
			y->allocs = y->releases = y->open = y->leaks = y->exit_released = 0;
			y->closewait = y->possible = 0;
			y->key = k;
		} else {
			free(k);
			if (x->mixed || x->family != y->family || x->type != y->type ||
			    x->protocol != y->protocol)
				y->mixed = 1;
		}
		y->allocs += x->allocs;
		y->releases += x->releases;
		y->open += x->open;
		y->leaks += x->leaks;
		y->exit_released += x->exit_released;
		y->closewait += x->closewait;
		y->possible += x->possible;
		if (vals_merge(&y->life, &x->life))
			return -1;
		if (x->nmin > y->nmin) {
			int64_t *n = realloc(y->net_min, x->nmin * sizeof(*n));
			if (!n)
				return -1;
			memset(n + y->nmin, 0, (x->nmin - y->nmin) * sizeof(*n));
			y->net_min = n;
			y->nmin = x->nmin;
		}
		for (size_t q = 0; q < x->nmin; q++)
			y->net_min[q] += x->net_min[q];
		if (x->ts) {
			if (series_of(y))
				return -1;
			series_merge(y->ts, x->ts, ss->clock);
		}
	}
	return 0;
}

void site_kind(char *buf, size_t cap, const struct site *x)
{
	if (x->mixed)
		snprintf(buf, cap, "several kinds");
	else
		cli_kind(buf, cap, x->family, x->type, x->protocol);
}

void sites_folded(FILE *f, struct sites *ss, int which)
{
	for (size_t i = 0; i < ss->by_key.n; i++) {
		const struct site *x = ss->by_key.vals[i];
		uint64_t n = which ? x->leaks : x->allocs;
		if (!n)
			continue;
		/* the key is "origin;frames...": the origin becomes the root */
		out_text_z(f, x->key);
		fprintf(f, " %" PRIu64 "\n", n);
	}
}

static void free_site(struct site *x)
{
	free(x->net_min);
	free(x->ts);
	vals_free(&x->life);
	free(x->key);
}

void sites_free(struct sites *ss)
{
	for (size_t i = 0; i < ss->by_id.n; i++)
		free_site(ss->by_id.vals[i]);
	for (size_t i = 0; i < ss->by_key.n; i++)
		free_site(ss->by_key.vals[i]);
	agg_free(&ss->by_id);
	agg_free(&ss->by_key);
	free(ss->idx);
	ss->idx = NULL;
	ss->idx_cap = 0;
}
