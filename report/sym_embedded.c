/* sym_embedded.c - the SYMBOL records a recording embeds, by module and offset (symbolize_int.h). */
#include "symbolize_int.h"

/* ------------------------------------------------------------------ */
/* embedded symbols                                                    */

static struct embed_tab *find_embed(struct sym_ctx *c, const uint8_t *bid, size_t len,
				    const char *path)
{
	for (struct embed_tab *t = c->embeds; t; t = t->next) {
		if (len) {
			if (t->bid_len == len && memcmp(t->bid, bid, len) == 0)
				return t;
		} else if (!t->bid_len && path && strcmp(t->path, path) == 0) {
			return t;
		}
	}
	return NULL;
}

static int embed_cmp(const void *pa, const void *pb)
{
	const struct embed_sym *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end > b->end ? -1 : a->end < b->end;
}

int sym_add_embedded(struct sym_ctx *c, const uint8_t *build_id, size_t len,
		     const char *path, uint64_t start_off, uint64_t size, const char *name)
{
	if (!c || !name || !size || len > MAX_BID || (len && !build_id) || (!len && !path) ||
	    start_off + size < start_off)
		return -EINVAL;
	struct embed_tab *t = find_embed(c, build_id, len, path);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->bid_len = len;
		if (len) {
			memcpy(t->bid, build_id, len);
		} else {
			t->path = arena_strdup(&c->str, path);
			if (!t->path) {
				free(t);
				return -ENOMEM;
			}
		}
		t->next = c->embeds;
		c->embeds = t;
		c->embed_gen++;
	}
	struct embed_sym *nv = grow(t->syms, &t->cap, t->n + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	t->syms = nv;
	const char *nm = arena_strdup(&c->str, name);
	if (!nm)
		return -ENOMEM;
	nv[t->n++] = (struct embed_sym){ start_off, start_off + size, nm, NULL };
	t->sorted = 0;
	return 0;
}

int embed_lookup(struct sym_ctx *c, struct module *m, uint64_t q, uint64_t rec,
			struct sym_result *out)
{
	if (m->embed_gen != c->embed_gen) {
		m->embed = find_embed(c, m->bid, m->bid_len, m->path);
		m->embed_gen = c->embed_gen;
	}
	struct embed_tab *t = m->embed;
	if (!t || !t->n)
		return 0;
	if (!t->sorted) {
		qsort(t->syms, t->n, sizeof(*t->syms), embed_cmp);
		t->sorted = 1;
	}
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].start <= q)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++) {
		struct embed_sym *s = &t->syms[i - 1];
		if (q < s->end) {
			if (!s->shown)
				s->shown = shown_name(c, s->name);
			if (!s->shown)
				return -ENOMEM;
			if (!m->said_embedded)
				vlog(c, "symbols for %s: embedded in the recording",
				     m->display);
			m->said_embedded = 1;
			vlog(c, "%s+0x%llx: from embedded symbols", m->path, (unsigned long long)q);
			out->status = SYM_OK;
			out->used_path = NULL;
			out->nframes = 1;
			out->frames[0].func = s->shown;
			out->frames[0].func_off = rec - s->start;
			return 0;
		}
	}
	return 0;
}
