/* model_tables.c - the tables a recording's records build (model_int.h):
 * META, strings, modules, stacks, symbols, kernel symbols, processes (with
 * their exec and exit) and loss windows, and their lookups. */
#include <stdlib.h>
#include <string.h>
#include "model_int.h"
#include "srec_error.h"

static int grow_arr(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return -1;
	memset((char *)np + *cap * elem, 0, (nc - *cap) * elem);
	*p = np;
	*cap = nc;
	return 0;
}

/* Ids are dense and small; a hostile file may name a huge id: cap it. */
#define MAX_TABLE_ID (1u << 26)
/* The tables are indexed by id, so one record naming id 2^26 - 1 would cost
 * gigabytes.  The writer numbers definitions 1, 2, ... in file order: an id
 * exceeds the count of definitions read so far (`defs`, this one included)
 * only by the definitions in lost blocks.  Ids further ahead than
 * MAX_ID_GAP are ignored (their references show as unknown), so a table
 * grows with the definitions the file holds, not with one number in it. */
#define MAX_ID_GAP (1u << 18)

static int id_plausible(uint64_t idx, uint64_t defs)
{
	return idx < MAX_TABLE_ID && idx < defs + MAX_ID_GAP;
}

const char *model_str(const struct model *m, uint64_t id)
{
	if (!id || id >= m->nstrings || !m->strings[id])
		return id ? "?" : "";
	return m->strings[id];
}

const char *model_meta(const struct model *m, const char *key)
{
	for (size_t i = m->nmeta; i-- > 0;)
		if (!strcmp(m->meta_keys[i], key))
			return m->meta_vals[i];
	return NULL;
}

const struct mstack *model_stack(const struct model *m, uint64_t id)
{
	if (id < SREC_STACK_FIRST_ID || id - SREC_STACK_FIRST_ID >= m->nstacks)
		return NULL;
	const struct mstack *s = &m->stacks[id - SREC_STACK_FIRST_ID];
	return s->kind ? s : NULL;
}

const struct mmodule *model_module(const struct model *m, uint64_t id)
{
	if (!id || id >= m->nmodules || !m->modules[id].path)
		return NULL;
	return &m->modules[id];
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct mksym *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

const struct mksym *model_ksym(struct model *m, int64_t off)
{
	if (!m->nksyms)
		return NULL;
	if (!m->ksyms_sorted) {
		qsort(m->ksyms, m->nksyms, sizeof(*m->ksyms), ksym_cmp);
		m->ksyms_sorted = 1;
	}
	size_t lo = 0, hi = m->nksyms;
	if (off < m->ksyms[0].off)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (m->ksyms[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	const struct mksym *k = &m->ksyms[lo];
	/* k->off <= off; the distance can exceed INT64_MAX (hostile offsets) */
	return (uint64_t)off - (uint64_t)k->off < k->size ? k : NULL;
}

const struct mproc *model_proc(const struct model *m, uint32_t pid)
{
	/* Latest record for pid wins (pid reuse). */
	for (size_t i = m->nprocs; i-- > 0;)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

int model_loss_between(const struct model *m, uint64_t t0, uint64_t t1)
{
	if (m->loss_windows_capped)
		return 1;
	for (size_t i = 0; i < m->nlosses; i++) {
		const struct mloss *l = &m->losses[i];
		if (l->kind != SREC_LOSS_RINGBUF && l->kind != SREC_LOSS_SOCKMAP)
			continue;
		uint64_t a = l->ts > l->window_ns ? l->ts - l->window_ns : 0;
		if (a <= t1 && l->ts >= t0)
			return 1;
	}
	return 0;
}

const char *stack_error_name(uint64_t ref)
{
	switch (ref) {
	case SREC_STACK_NONE: return "not captured";
	case SREC_STACK_EFAULT: return "stack lost: unwinder fault";
	case SREC_STACK_COLLISION: return "stack lost: stack map collision";
	case SREC_STACK_MAPFULL: return "stack lost: stack map full";
	case SREC_STACK_DRAINLOST: return "stack lost: gone before drained";
	default: return "stack lost";
	}
}

int mt_meta(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	    struct mrec *o)
{
	(void)ev, (void)o;
	if (m->nmeta >= MAX_META) {
		m->records_capped++;
		return 0;
	}
	char *k = strndup((const char *)r->u.meta.key.p, r->u.meta.key.len);
	char *v = strndup((const char *)r->u.meta.value.p, r->u.meta.value.len);
	char **nk = realloc(m->meta_keys, (m->nmeta + 1) * sizeof(char *));
	if (nk)
		m->meta_keys = nk;
	char **nv = realloc(m->meta_vals, (m->nmeta + 1) * sizeof(char *));
	if (nv)
		m->meta_vals = nv;
	if (!k || !v || !nk || !nv) {
		free(k);
		free(v);
		return -1;
	}
	m->meta_keys[m->nmeta] = k;
	m->meta_vals[m->nmeta] = v;
	m->nmeta++;
	if (!strcmp(k, "recording.complete") && !strcmp(v, "1"))
		m->complete = 1;
	if (!strcmp(k, "recording.start_ns")) {
		m->start_ns = m->start_meta_ns = strtoull(v, NULL, 10);
		m->has_start_meta = 1;
	}
	return 0;
}

int mt_string(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	      struct mrec *o)
{
	(void)ev, (void)o;
	uint64_t id = r->u.string.id;
	if (!id || !id_plausible(id, m->by_type[r->type]))
		return 0;
	size_t cap = m->nstrings;
	if (id >= cap) {
		size_t nc = cap ? cap : 256;
		while (nc <= id)
			nc *= 2;
		char **ns = realloc(m->strings, nc * sizeof(*ns));
		if (!ns)
			return -1;
		memset(ns + cap, 0, (nc - cap) * sizeof(*ns));
		m->strings = ns;
		uint32_t *nl = realloc(m->string_len, nc * sizeof(*nl));
		if (!nl)
			return -1;
		memset(nl + cap, 0, (nc - cap) * sizeof(*nl));
		m->string_len = nl;
		m->nstrings = nc;
	}
	free(m->strings[id]);
	m->strings[id] = strndup((const char *)r->u.string.str.p, r->u.string.str.len);
	if (!m->strings[id])
		return -1;
	m->string_len[id] = (uint32_t)strlen(m->strings[id]); /* the copy ends at a NUL */
	return 0;
}

int mt_module(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	      struct mrec *o)
{
	(void)ev, (void)o;
	uint64_t id = r->u.module.id;
	if (!id || !id_plausible(id, m->by_type[r->type]))
		return 0;
	if (grow_arr((void **)&m->modules, &m->nmodules, id + 1, sizeof(*m->modules)))
		return -1;
	struct mmodule *md = &m->modules[id];
	md->path = r->u.module.path ? r->u.module.path : (uint64_t)-1;
	md->build_id_len = r->u.module.build_id.len > 64 ? 64 : r->u.module.build_id.len;
	memcpy(md->build_id, r->u.module.build_id.p, md->build_id_len);
	return 0;
}

int mt_stack(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	     struct mrec *o)
{
	(void)ev, (void)o;
	uint64_t id = r->u.stack.id;
	if (!id_plausible(id - SREC_STACK_FIRST_ID, m->by_type[r->type]))
		return 0;
	size_t idx = id - SREC_STACK_FIRST_ID;
	if (grow_arr((void **)&m->stacks, &m->nstacks, idx + 1, sizeof(*m->stacks)))
		return -1;
	struct mstack *st = &m->stacks[idx];
	free(st->frames);
	free(st->modules);
	st->n = r->u.stack.nframes;
	st->kind = r->u.stack.kind;
	st->flags = r->u.stack.flags;
	st->unwind = r->u.stack.unwind;
	st->frames = malloc((st->n ? st->n : 1) * sizeof(int64_t));
	st->modules = malloc((st->n ? st->n : 1) * sizeof(uint64_t));
	if (!st->frames || !st->modules)
		return -1;
	memcpy(st->frames, r->u.stack.frames, st->n * sizeof(int64_t));
	memcpy(st->modules, r->u.stack.modules, st->n * sizeof(uint64_t));
	return 0;
}

int mt_symbol(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	      struct mrec *o)
{
	(void)ev, (void)o;
	if (m->nsyms >= MAX_SYMS) {
		m->records_capped++;
		return 0;
	}
	if (grow_arr((void **)&m->syms, &m->syms_cap, m->nsyms + 1, sizeof(*m->syms)))
		return -1;
	m->syms[m->nsyms++] = (struct msym){ r->u.symbol.module, r->u.symbol.off,
					     r->u.symbol.size, r->u.symbol.name };
	return 0;
}

int mt_ksym(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	    struct mrec *o)
{
	(void)ev, (void)o;
	if (m->nksyms >= MAX_KSYMS) {
		m->records_capped++;
		return 0;
	}
	if (grow_arr((void **)&m->ksyms, &m->ksyms_cap, m->nksyms + 1, sizeof(*m->ksyms)))
		return -1;
	m->ksyms[m->nksyms++] = (struct mksym){ r->u.ksym.off, r->u.ksym.size, r->u.ksym.name,
					       r->u.ksym.kmod };
	m->ksyms_sorted = 0;
	return 0;
}

int mt_process(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	       struct mrec *o)
{
	(void)ev, (void)o;
	if (m->nprocs >= MAX_PROCS) {
		m->records_capped++;
		return 0;
	}
	if (grow_arr((void **)&m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*m->procs)))
		return -1;
	m->procs[m->nprocs++] = (struct mproc){ r->u.process.pid, r->u.process.ppid,
					       r->u.process.comm, r->u.process.exe,
					       r->u.process.start_ns, 0, 0 };
	return 0;
}

int mt_loss(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	    struct mrec *o)
{
	(void)ev, (void)o;
	if (m->nlosses >= MAX_LOSSES) {
		/* keep counting; every result then counts as "possible" */
		m->records_capped++;
		m->loss_windows_capped = 1;
	} else {
		if (grow_arr((void **)&m->losses, &m->losses_cap, m->nlosses + 1,
			     sizeof(*m->losses)))
			return -1;
		m->losses[m->nlosses++] = (struct mloss){ r->u.loss.ts, r->u.loss.window_ns,
							 r->u.loss.count, r->u.loss.cpu,
							 r->u.loss.kind };
	}
	if (r->u.loss.kind == SREC_LOSS_RINGBUF || r->u.loss.kind == SREC_LOSS_SOCKMAP)
		m->lost_events += r->u.loss.count;
	else if (r->u.loss.kind == SREC_LOSS_STACK)
		m->lost_stacks += r->u.loss.count;
	else if (r->u.loss.kind == SREC_LOSS_HOOK_SKIPPED)
		m->hook_skips += r->u.loss.count;
	else if (r->u.loss.kind == SREC_LOSS_RELEASE_LATE)
		m->releases_late += r->u.loss.count;
	else if (r->u.loss.kind == SREC_LOSS_KSTACK_MISMATCH)
		m->kstack_mismatch += r->u.loss.count;
	else if (r->u.loss.kind == SREC_LOSS_PROCMAP)
		m->lost_maps += r->u.loss.count;
	return 0;
}

int mt_exec(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	    struct mrec *o)
{
	(void)o;
	for (size_t i = m->nprocs; i-- > 0;) {
		if (m->procs[i].pid == ev->pid) {
			m->procs[i].comm = ev->comm; /* the event's comm is the new one */
			m->procs[i].exe = r->u.exec.filename;
			break;
		}
	}
	return 0;
}

int mt_exit(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	    struct mrec *o)
{
	(void)r, (void)o;
	for (size_t i = m->nprocs; i-- > 0;) {
		if (m->procs[i].pid == ev->pid) {
			m->procs[i].exited = 1;
			m->procs[i].exit_ts = ev->ts;
			break;
		}
	}
	return 0;
}
