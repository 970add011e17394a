/* model.c - one streaming pass over a recording: each record goes to the
 * handler of its type (model_tables.c builds the tables, model_pairing.c
 * the socket lifetimes); events go to the command's callback. */
#include "model_int.h"
#include <stdlib.h>
#include <string.h>
#include "srec_error.h"

int model_wanted(const struct model *m, uint32_t pid, uint64_t comm, uint64_t ts)
{
	const struct mfilter *f = &m->filter;
	if (f->npids) {
		int ok = 0;
		for (int i = 0; i < f->npids; i++)
			ok |= f->pids[i] == pid;
		if (!ok)
			return 0;
	}
	if (f->comm && strcmp(model_str(m, comm), f->comm))
		return 0;
	if (f->since_ns && ts < f->since_ns)
		return 0;
	if (f->until_ns && ts > f->until_ns)
		return 0;
	return 1;
}

void model_emit_event(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
		      const struct msock *s, uint64_t prev_ts)
{
	if (!m->event)
		return;
	uint32_t pid = s ? s->pid : r->type == SREC_R_STATE && r->u.state.owner ? r->u.state.owner :
		       ev->pid;
	uint64_t comm = s ? s->comm : ev->comm;
	if (!s && r->type == SREC_R_STATE) {
		const struct mproc *p = model_proc(m, pid);
		comm = p ? p->comm : 0;
	}
	if (model_wanted(m, pid, comm, ev->ts))
		m->event(m, r, s, prev_ts, m->done_arg);
}

/* The handler of each record type: the tables' or the lifetimes'. */
static const mrec_fn handlers[SREC_R__MAX] = {
	[SREC_R_META] = mt_meta, [SREC_R_STRING] = mt_string, [SREC_R_MODULE] = mt_module,
	[SREC_R_STACK] = mt_stack, [SREC_R_SYMBOL] = mt_symbol, [SREC_R_KSYM] = mt_ksym,
	[SREC_R_PROCESS] = mt_process, [SREC_R_LOSS] = mt_loss, [SREC_R_EXEC] = mt_exec,
	[SREC_R_EXIT] = mt_exit,
	[SREC_R_ALLOC] = mp_alloc, [SREC_R_PREEXIST] = mp_preexist, [SREC_R_SOCKINFO] = mp_sockinfo,
	[SREC_R_STATE] = mp_state, [SREC_R_CONNECT] = mp_connect, [SREC_R_ACCEPT] = mp_accept,
	[SREC_R_RELEASE] = mp_release,
};

static int on_record(struct model *m, const struct srec_record *r)
{
	static const struct srec_ev no_ev;
	/* Non-event records have no srec_ev; the event handlers use ev
	 * without checking (never the placeholder for them). */
	const struct srec_ev *rev = srec_record_ev(r);
	const struct srec_ev *ev = rev ? rev : &no_ev;
	struct mrec o = { NULL, NULL, 0 };

	m->by_type[r->type]++;
	if (rev) {
		m->events++;
		if (!m->ts_first || ev->ts < m->ts_first)
			m->ts_first = ev->ts;
		if (ev->ts > m->ts_last)
			m->ts_last = ev->ts;
	}
	mrec_fn fn = r->type < SREC_R__MAX ? handlers[r->type] : NULL;
	int rc = fn ? fn(m, r, ev, &o) : 0;
	if (rc)
		return rc < 0 ? -1 : 0;
	if (rev && m->event) /* events only */
		model_emit_event(m, r, ev, o.s, o.prev_ts);
	if (o.finish)
		model_sock_done(m, o.finish);
	return 0;
}

int model_load(struct model *m, const char *path, const struct mfilter *f, model_done_fn done,
	       void *arg, char *why, size_t whylen)
{
	return model_load_ev(m, path, f, done, NULL, arg, why, whylen);
}

/* mfilter.index_types: decode a DATA block only if its index entry names a
 * record of a wanted type (META and other blocks are always decoded). */
struct index_sel {
	const struct srec_index *ix;
	uint64_t types;
};

static int index_filter(const struct srec_block_info *b, void *arg)
{
	const struct index_sel *sel = arg;
	const struct srec_index_entry *e;
	struct srec_index_count c;
	size_t pos = 0;

	if (b->type != SREC_B_DATA || !(e = srec_index_find(sel->ix, b->offset)))
		return 1;
	while (srec_index_next_count(sel->ix, e, &pos, &c))
		if (c.type < 64 && (sel->types >> c.type & 1))
			return 1;
	return 0;
}

/* The record counts of the whole file, from a checked index. */
static void counts_from_index(struct model *m, const struct srec_index *ix)
{
	size_t n;
	const struct srec_index_count *tot = srec_index_totals(ix, &n);

	memset(m->by_type, 0, sizeof(m->by_type));
	m->events = 0;
	m->status.records = 0;
	m->status.records_unknown = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t t = tot[i].type;
		if (t < SREC_R__MAX && srec_record_name((uint32_t)t)) {
			m->by_type[t] = tot[i].count;
			m->status.records += tot[i].count;
			if (srec_record_is_event((uint32_t)t))
				m->events += tot[i].count;
		} else {
			m->status.records_unknown += tot[i].count;
		}
	}
	m->from_index = 1;
}

int model_load_ev(struct model *m, const char *path, const struct mfilter *f, model_done_fn done,
		  model_event_fn event, void *arg, char *why, size_t whylen)
{
	struct index_sel sel = { NULL, 0 };
	struct srec_reader *rd = NULL;
	const struct srec_record *r;
	int err;

	memset(m, 0, sizeof(*m));
	if (f)
		m->filter = *f;
	m->done = done;
	m->event = event;
	m->done_arg = arg;
	if (model_pairing_init(m)) {
		snprintf(why, whylen, "out of memory");
		return SREC_E_NOMEM;
	}
	err = srec_reader_open(&rd, path);
	if (err) {
		uint32_t maj, min;
		if (err == SREC_E_IO)
			snprintf(why, whylen, "%s: %m", path);
		else if (err == SREC_E_VERSION && srec_file_version(path, &maj, &min) == SREC_OK)
			snprintf(why, whylen, "%s: written as .srec version %u.%u; this sockreport reads "
				 "version %d.x (is it older than the recorder?)", path, maj, min, SREC_MAJOR);
		else
			snprintf(why, whylen, "%s: %s", path, srec_strerror(err));
		return err;
	}
	sel.ix = srec_reader_index(rd);
	sel.types = f ? f->index_types : 0;
	/* The model's caps on KSYM/SYMBOL records could only be applied to
	 * records it decodes: beyond them, read everything. */
	if (sel.ix && sel.types && srec_index_count(sel.ix, NULL, SREC_R_KSYM) <= MAX_KSYMS &&
	    srec_index_count(sel.ix, NULL, SREC_R_SYMBOL) <= MAX_SYMS)
		srec_reader_set_filter(rd, index_filter, &sel);
	else
		sel.types = 0;
	while (srec_reader_next(rd, &r) == 1) {
		if (on_record(m, r)) {
			snprintf(why, whylen, "%s: out of memory", path);
			srec_reader_close(rd);
			return SREC_E_NOMEM;
		}
	}
	m->status = *srec_reader_status(rd);
	if (sel.types) {
		if (m->status.index != 1 || m->status.salvaged ||
		    !model_meta(m, "recording.start_ns") || !model_meta(m, "recording.end_ns")) {
			/* not usable after all: read every block */
			struct mfilter full = *f;
			srec_reader_close(rd);
			model_free(m);
			full.index_types = 0;
			return model_load_ev(m, path, &full, done, event, arg, why, whylen);
		}
		counts_from_index(m, srec_reader_index(rd));
	}
	srec_reader_close(rd);
	if (!m->start_ns)
		m->start_ns = m->ts_first;
	return 0;
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->nspare; i++)
		free(m->spare[i]);
	free(m->spare);
	model_pairing_free(m);
	for (size_t i = 0; i < m->nmeta; i++) {
		free(m->meta_keys[i]);
		free(m->meta_vals[i]);
	}
	free(m->meta_keys);
	free(m->meta_vals);
	for (size_t i = 0; i < m->nstrings; i++)
		free(m->strings[i]);
	free(m->strings);
	free(m->string_len);
	free(m->modules);
	for (size_t i = 0; i < m->nstacks; i++) {
		free(m->stacks[i].frames);
		free(m->stacks[i].modules);
	}
	free(m->stacks);
	free(m->syms);
	free(m->ksyms);
	free(m->procs);
	free(m->losses);
	memset(m, 0, sizeof(*m));
}
