/* leakset.c - the leak analysis shared by `leaks` and `html`, see leakset.h. */
#include "leakset.h"
#include <stdlib.h>
#include <string.h>
#include "sites.h"

void leaks_init(struct leaks *L, struct cli *c)
{
	memset(L, 0, sizeof(*L));
	L->c = c;
	sites_init(&L->sites);
}

static void add_closewait(struct leaks *L, const struct model *m, const struct msock *s,
			  uint64_t dwell)
{
	if (L->ncw == L->cwcap) {
		size_t nc = L->cwcap ? L->cwcap * 2 : 16;
		struct cwsock *n = realloc(L->cw, nc * sizeof(*n));
		if (!n) {
			L->err = 1;
			return;
		}
		L->cw = n;
		L->cwcap = nc;
	}
	struct cwsock *w = &L->cw[L->ncw++];
	w->s = *s;
	w->dwell = dwell;
	w->stack = s->connect_stack >= SREC_STACK_FIRST_ID ? s->connect_stack :
		   s->accept_stack >= SREC_STACK_FIRST_ID ? s->accept_stack : s->alloc_ustack;
	w->possible = model_loss_between(m, s->alloc_ts ? s->alloc_ts : m->start_ns, L->end);
}

void leaks_on_done(struct model *m, const struct msock *s, void *arg)
{
	struct leaks *L = arg;
	int possible;

	if (L->finishing && sites_add(&L->sites, m, s, L->end, L->c->older_ns))
		L->err = 1;
	if (!L->finishing && sites_add(&L->sites, m, s, m->ts_last, L->c->older_ns))
		L->err = 1;
	/* CLOSE_WAIT periods that ended (a later state follows), long ones */
	for (int i = 0; i + 1 < s->nstates; i++) {
		uint64_t dwell = s->state_ts[i + 1] - s->state_ts[i];
		if (s->states[i] != TCP_ST_CLOSE_WAIT || s->state_ts[i + 1] < s->state_ts[i] ||
		    dwell < L->c->older_ns)
			continue;
		possible = model_loss_between(m, s->state_ts[i], s->state_ts[i + 1]);
		if (groups_add(&L->cwended, s, dwell, possible))
			L->err = 1;
	}
	if (!L->finishing || s->released) {
		/* released (at the end: a TCP socket whose CLOSE was not seen) */
		if (s->how == SREC_HOW_EXIT && s->alloc_ts) {
			possible = s->in_loss_window;
			if (groups_add(&L->exited, s, s->release_ts - s->alloc_ts, possible))
				L->err = 1;
		}
		return;
	}
	/* Still open at the end of the recording. */
	if (s->nstates && s->states[s->nstates - 1] == TCP_ST_CLOSE_WAIT) {
		uint64_t since = s->state_ts[s->nstates - 1];
		uint64_t dwell = L->end > since ? L->end - since : 0;
		possible = model_loss_between(m, s->alloc_ts ? s->alloc_ts : m->start_ns, L->end);
		if (dwell < L->c->older_ns) {
			L->cw_young++; /* a healthy server closing late, or a recording cut mid-traffic */
		} else {
			if (groups_add(&L->closewait, s, dwell, possible))
				L->err = 1;
			add_closewait(L, m, s, dwell);
		}
	}
	if (!s->alloc_ts) {
		L->preexisting_open++;
		return;
	}
	uint64_t age = L->end > s->alloc_ts ? L->end - s->alloc_ts : 0;
	if (age < L->c->older_ns) {
		L->young++;
		return;
	}
	possible = model_loss_between(m, s->alloc_ts, L->end);
	if (groups_add(&L->outstanding, s, age, possible))
		L->err = 1;
}

static int by_dwell(const void *a, const void *b)
{
	const struct cwsock *x = a, *y = b;
	return x->dwell > y->dwell ? -1 : x->dwell < y->dwell;
}

/* qsort_r over indices into the agg `arg` */
static int by_growth(const void *a, const void *b, void *arg)
{
	const struct agg *growth_agg = arg;
	const struct site *x = growth_agg->vals[*(const size_t *)a];
	const struct site *y = growth_agg->vals[*(const size_t *)b];
	int64_t nx = (int64_t)x->allocs - (int64_t)x->releases;
	int64_t ny = (int64_t)y->allocs - (int64_t)y->releases;
	return nx > ny ? -1 : nx < ny;
}

/* Sites whose sockets accumulate: allocated - released > 0. */
static size_t growth_order(struct leaks *L, size_t **out)
{
	struct agg *a = &L->sites.by_key;
	size_t *ix = malloc((a->n + 1) * sizeof(*ix)), n = 0;
	*out = ix;
	if (!ix)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct site *x = a->vals[i];
		if (x->allocs > x->releases)
			ix[n++] = i;
	}
	qsort_r(ix, n, sizeof(*ix), by_growth, a);
	return n;
}

void leaks_finish(struct leaks *L, struct model *m)
{
	L->end = cli_end(m); /* a missing or 0 end (hostile) falls back to the last event */
	L->finishing = 1;
	model_finish(m);
}

int leaks_collapse(struct leaks *L, struct stacks *st)
{
	if (L->err || groups_collapse(&L->outstanding, st) || groups_collapse(&L->exited, st) ||
	    groups_collapse(&L->closewait, st) || groups_collapse(&L->cwended, st) ||
	    sites_collapse(&L->sites, st, 0))
		return -1;
	L->ngrowth = growth_order(L, &L->growth);
	if (!L->growth)
		return -1;
	if (L->ncw)
		qsort(L->cw, L->ncw, sizeof(*L->cw), by_dwell);
	return 0;
}

void leaks_free(struct leaks *L)
{
	free(L->growth);
	free(L->cw);
	sites_free(&L->sites);
	groups_free(&L->outstanding);
	groups_free(&L->exited);
	groups_free(&L->closewait);
	groups_free(&L->cwended);
}
