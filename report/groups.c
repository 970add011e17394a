/* groups.c - allocation-site grouping. */
#include "groups.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct group *find_or_add(struct groups *gs, const struct msock *s)
{
	/* Linear scan: allocation sites are few (tens to hundreds). */
	for (size_t i = 0; i < gs->n; i++) {
		struct group *g = &gs->g[i];
		if (g->kstack == s->alloc_kstack && g->ustack == s->alloc_ustack &&
		    g->origin == s->origin)
			return g;
	}
	if (gs->n == gs->cap) {
		size_t nc = gs->cap ? gs->cap * 2 : 16;
		struct group *ng = realloc(gs->g, nc * sizeof(*ng));
		if (!ng)
			return NULL;
		gs->g = ng;
		gs->cap = nc;
	}
	struct group *g = &gs->g[gs->n++];
	memset(g, 0, sizeof(*g));
	g->kstack = s->alloc_kstack;
	g->ustack = s->alloc_ustack;
	g->origin = s->origin;
	g->example = *s;
	return g;
}

static int add_age(struct group *g, uint64_t age)
{
	if (g->nages == g->ages_cap) {
		size_t nc = g->ages_cap ? g->ages_cap * 2 : 16;
		uint64_t *na = realloc(g->ages, nc * sizeof(*na));
		if (!na)
			return -1;
		g->ages = na;
		g->ages_cap = nc;
	}
	g->ages[g->nages++] = age;
	return 0;
}

static void add_pid(struct group *g, uint32_t pid, uint64_t comm)
{
	for (int i = 0; i < g->npids; i++)
		if (g->pids[i] == pid)
			return;
	if (g->npids == GROUP_MAX_PIDS) {
		g->more_pids = 1;
		return;
	}
	g->pids[g->npids] = pid;
	g->comms[g->npids] = comm;
	g->npids++;
}

static void add_kind(struct group *g, uint32_t f, uint32_t t, uint32_t p, uint64_t n)
{
	for (int i = 0; i < g->nkinds; i++) {
		struct gkind *k = &g->kinds[i];
		if (k->family == f && k->type == t && k->protocol == p) {
			k->count += n;
			return;
		}
	}
	if (g->nkinds < GROUP_MAX_KINDS)
		g->kinds[g->nkinds++] = (struct gkind){ f, t, p, n };
}

int groups_add(struct groups *gs, const struct msock *s, uint64_t age_ns, int possible)
{
	struct group *g = find_or_add(gs, s);
	if (!g || add_age(g, age_ns))
		return -1;
	g->count++;
	g->possible += possible ? 1 : 0;
	add_pid(g, s->pid, s->comm);
	add_kind(g, s->family, s->type, s->protocol, 1);
	return 0;
}

static char *join_lines(struct stacks *st, uint64_t ref)
{
	size_t n = 0, len = 1;
	const char *const *l = stacks_lines(st, ref, &n);
	if (!l && n)
		return NULL;
	/* The unwinding note is not part of the site: two stacks with the
	 * same frames are one site however their unwinding ended. */
	for (size_t i = 0; i < n; i++)
		len += stacks_line_is_note(l[i]) ? 0 : strlen(l[i]) + 1;
	char *s = malloc(len), *o = s;
	if (!s)
		return NULL;
	/* appended at the end, not strcat: that rescanned the growing string
	 * for every line (8% of a `leaks` run on a 1M-event file) */
	for (size_t i = 0; i < n; i++) {
		if (stacks_line_is_note(l[i]))
			continue;
		size_t k = strlen(l[i]);
		memcpy(o, l[i], k);
		o += k;
		*o++ = '\n';
	}
	*o = 0;
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

int groups_collapse(struct groups *gs, struct stacks *st)
{
	for (size_t i = 0; i < gs->n; i++) {
		struct group *g = &gs->g[i];
		char *k = join_lines(st, g->kstack), *u = join_lines(st, g->ustack);
		if (!k || !u) {
			free(k);
			free(u);
			return -1;
		}
		size_t len = strlen(k) + strlen(u) + 32;
		g->key = malloc(len);
		if (!g->key) {
			free(k);
			free(u);
			return -1;
		}
		snprintf(g->key, len, "%u|%s|%s", g->origin, k, u);
		free(k);
		free(u);
	}
	/* Merge groups with the same symbolized key into the first one. */
	for (size_t i = 0; i < gs->n; i++) {
		struct group *a = &gs->g[i];
		for (size_t j = i + 1; j < gs->n;) {
			struct group *b = &gs->g[j];
			if (strcmp(a->key, b->key)) {
				j++;
				continue;
			}
			a->count += b->count;
			a->possible += b->possible;
			for (int p = 0; p < b->npids; p++)
				add_pid(a, b->pids[p], b->comms[p]);
			a->more_pids |= b->more_pids;
			for (int q = 0; q < b->nkinds; q++)
				add_kind(a, b->kinds[q].family, b->kinds[q].type, b->kinds[q].protocol,
					 b->kinds[q].count);
			for (size_t q = 0; q < b->nages; q++)
				if (add_age(a, b->ages[q]))
					return -1;
			free(b->ages);
			free(b->key);
			gs->g[j] = gs->g[--gs->n];
		}
	}
	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].nages)
			qsort(gs->g[i].ages, gs->g[i].nages, sizeof(uint64_t), cmp_u64);
	if (gs->n)
		qsort(gs->g, gs->n, sizeof(*gs->g), cmp_group);
	return 0;
}

uint64_t group_age_pct(const struct group *g, int p)
{
	if (!g->nages)
		return 0;
	size_t i = (g->nages - 1) * (size_t)p / 100;
	return g->ages[i];
}

void groups_free(struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->g[i].ages);
		free(gs->g[i].key);
	}
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}
