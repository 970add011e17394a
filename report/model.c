/* model.c - one streaming pass: tables, live sockets, lifetimes. */
#include "model.h"
#include <stdlib.h>
#include <string.h>
#include "srec_error.h"

/* ---- u64 -> pointer maps: live sockets by serial, sockets and pending
 * states by sk serial ----
 *
 * Open addressing with linear probing and the key stored beside the value:
 * a probe touches only the table, never the socket it points to.  With the
 * key inside struct msock, each probe was a cache miss on a ~450-byte
 * socket: sock_get was 18% of a `leaks` run on a 10M-event file (perf).
 * Key 0 marks an empty slot: serials start at 1 (spec), and every caller
 * that stores a key from a record checks it is not 0 (a hostile file may
 * carry one); lookups and deletes of key 0 find nothing. */

struct u64slot {
	uint64_t key;
	void *val;
};

struct u64map {
	struct u64slot *s;
	size_t cap, n;   /* cap a power of two (or 0) */
};

/* Fibonacci hashing.  (Keeping runs of consecutive serials together for
 * cache locality was tried: linear probing then builds long clusters, and
 * `leaks` on a 10M-event file took 2.5x as long.) */
static size_t um_idx(const struct u64map *u, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (u->cap - 1);
}

/* The slot holding k, or the empty slot where k would go (cap > 0, k != 0). */
static struct u64slot *um_slot(const struct u64map *u, uint64_t k)
{
	size_t i = um_idx(u, k);
	while (u->s[i].key && u->s[i].key != k)
		i = (i + 1) & (u->cap - 1);
	return &u->s[i];
}

static void *um_get(const struct u64map *u, uint64_t k)
{
	if (!u || !k || !u->cap)
		return NULL;
	const struct u64slot *e = um_slot(u, k);
	return e->key ? e->val : NULL;
}

static int um_grow(struct u64map *u)
{
	size_t nc = u->cap ? u->cap * 2 : 256;
	struct u64slot *ns = calloc(nc, sizeof(*ns));
	if (!ns)
		return -1;
	struct u64map nu = { ns, nc, 0 };
	for (size_t i = 0; i < u->cap; i++)
		if (u->s[i].key) {
			*um_slot(&nu, u->s[i].key) = u->s[i];
			nu.n++;
		}
	free(u->s);
	*u = nu;
	return 0;
}

/* The slot of k (k != 0), made (key k, val NULL) when absent; NULL out of
 * memory.  One probe for a lookup followed by an insert. */
static struct u64slot *um_claim(struct u64map *u, uint64_t k)
{
	/* at most half full: a probe for an absent key (sock_new, pending
	 * lookups) then reads ~2.5 slots, against ~8.5 at 3/4 */
	if ((u->n + 1) * 2 > u->cap && um_grow(u))
		return NULL;
	struct u64slot *e = um_slot(u, k);
	if (!e->key) {
		e->key = k;
		e->val = NULL;
		u->n++;
	}
	return e;
}

/* Sets k -> v (k != 0; replacing).  0, or -1 out of memory (the map is
 * unchanged). */
static int um_put(struct u64map *u, uint64_t k, void *v)
{
	struct u64slot *e = um_claim(u, k);
	if (!e)
		return -1;
	e->val = v;
	return 0;
}

/* Empties slot e (key != 0).  Backward-shift deletion: every later key of
 * the run that could sit in the hole moves into it, so that no tombstones
 * are needed. */
static void um_erase(struct u64map *u, struct u64slot *e)
{
	size_t i = (size_t)(e - u->s), j = i;
	u->s[i].key = 0;
	u->s[i].val = NULL;
	u->n--;
	for (;;) {
		j = (j + 1) & (u->cap - 1);
		if (!u->s[j].key)
			return;
		size_t home = um_idx(u, u->s[j].key);
		int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			u->s[i] = u->s[j];
			u->s[j].key = 0;
			u->s[j].val = NULL;
			i = j;
		}
	}
}

/* Removes k; returns its value (NULL when absent). */
static void *um_del(struct u64map *u, uint64_t k)
{
	if (!u || !k || !u->cap)
		return NULL;
	struct u64slot *e = um_slot(u, k);
	if (!e->key)
		return NULL;
	void *v = e->val;
	um_erase(u, e);
	return v;
}

/* Removes k only while it maps to v (one probe for um_get() == v, um_del()). */
static void um_del_if(struct u64map *u, uint64_t k, const void *v)
{
	if (!u || !k || !u->cap)
		return;
	struct u64slot *e = um_slot(u, k);
	if (e->key && e->val == v)
		um_erase(u, e);
}

static void um_free(struct u64map *u, int free_vals)
{
	if (!u)
		return;
	if (free_vals)
		for (size_t i = 0; i < u->cap; i++)
			if (u->s[i].key)
				free(u->s[i].val);
	free(u->s);
	free(u);
}

/* States of a struct sock not (yet) linked to a socket. */
struct psk {
	uint32_t owner, family, first_old;
	uint8_t n;
	uint8_t st[MAX_STATES];
	uint64_t ts[MAX_STATES];
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
};

uint32_t msock_last_state(const struct msock *s, uint64_t *since)
{
	if (!s->nstates) {
		if (since)
			*since = 0;
		return 0;
	}
	if (since)
		*since = s->state_ts[s->nstates - 1];
	return s->states[s->nstates - 1];
}

int msock_connect_latency(const struct msock *s, uint64_t *ns, int *ok, int *err)
{
	if (!s->nconnects)
		return 0;
	if (s->first_connect_ret == -115 /* EINPROGRESS */) {
		/* Completion: the first state after SYN_SENT entered at or after
		 * the first connect's start (a second connect() that returns 0
		 * or EISCONN only reports what already happened). */
		for (int i = 0; i + 1 < s->nstates; i++) {
			if (s->states[i] != 2 /* SYN_SENT */ ||
			    s->state_ts[i] + 1000000 < s->first_connect_ts)
				continue;
			uint64_t end = s->state_ts[i + 1];
			*ns = end > s->first_connect_ts ? end - s->first_connect_ts : 0;
			*ok = s->states[i + 1] == 1;
			*err = *ok ? 0 : -1;
			return 1;
		}
		return 0;
	}
	*ns = s->connect_dur;
	*ok = s->connect_ret == 0;
	*err = s->connect_ret < 0 ? -s->connect_ret : 0;
	return 1;
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

/* ---- tables ---- */

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
/* Per-kind limits of what the model keeps (far above any real recording:
 * ~40 META records, a few thousand KSYM/SYMBOL/PROCESS). */
#define MAX_META 4096
#define MAX_KSYMS (1u << 21)
#define MAX_SYMS (1u << 21)
#define MAX_PROCS (1u << 20)
#define MAX_LOSSES (1u << 20)
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

/* ---- record handlers ---- */

static int wanted(const struct model *m, uint32_t pid, uint64_t comm, uint64_t ts)
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

static struct msock *sock_get(struct model *m, uint64_t serial)
{
	if (!serial)
		return NULL;
	return um_get(m->live, serial);
}

static struct msock *sock_new(struct model *m, uint64_t serial)
{
	struct msock *s;
	if (!serial)
		return NULL;
	struct u64slot *e = um_claim(m->live, serial);
	if (!e)
		return NULL;
	if (e->val) /* duplicate ALLOC for a serial: keep the first */
		return e->val;
	/* freed sockets are reused: calloc/free were a tenth of the pass */
	s = m->nspare ? m->spare[--m->nspare] : malloc(sizeof(*s));
	if (!s) {
		um_erase(m->live, e);
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->serial = serial;
	s->fd = -1;
	s->rel_fd = -1;
	e->val = s;
	m->sockets_seen++;
	return s;
}

/* Keeps up to MAX_SPARE freed sockets for sock_new(). */
#define MAX_SPARE 4096

static void sock_release(struct model *m, struct msock *s)
{
	if (m->nspare < MAX_SPARE) {
		if (!m->spare)
			m->spare = malloc(MAX_SPARE * sizeof(*m->spare));
		if (m->spare) {
			m->spare[m->nspare++] = s;
			return;
		}
	}
	free(s);
}

static void sock_done(struct model *m, struct msock *s)
{
	if (um_get(m->live, s->serial) != s)
		return;
	int want = wanted(m, s->pid, s->comm, s->alloc_ts ? s->alloc_ts : s->release_ts);
	if (s->released && s->how == SREC_HOW_ACCEPT_FAILED && !m->filter.failed_accepts) {
		m->failed_accepts += want;
		m->failed_accepts_eagain += want && s->rel_fd == -11 /* EAGAIN */;
	} else if (m->done && want)
		m->done(m, s, m->done_arg);
	um_del(m->live, s->serial);
	if (s->sk)
		um_del_if(m->bysk, s->sk, s);
	for (int i = 0; i < s->nalias; i++)
		um_del_if(m->bysk, s->sk_alias[i], s);
	m->sockets_done++;
	sock_release(m, s);
}

static void add_state(struct msock *s, uint32_t st, uint64_t ts)
{
	if (s->nstates < MAX_STATES) {
		s->states[s->nstates] = (uint8_t)st;
		s->state_ts[s->nstates] = ts;
		s->nstates++;
	} else {
		/* keep the last state current */
		s->states[MAX_STATES - 1] = (uint8_t)st;
		s->state_ts[MAX_STATES - 1] = ts;
	}
}

static void copy_addr(uint8_t dst[16], srec_bytes b)
{
	if (b.len == 16) {
		memcpy(dst, b.p, 16);
	} else {
		memset(dst, 0, 16);
		if (b.len == 4)
			memcpy(dst, b.p, 4);
	}
}

/* Links sk to s, and moves the states seen on sk before the link in
 * front of s's own. */
static int link_sk(struct model *m, struct msock *s, uint64_t sk)
{
	if (s->sk)
		um_del_if(m->bysk, s->sk, s);
	s->sk = sk;
	if (um_put(m->bysk, sk, s))
		return -1;
	struct psk *p = um_del(m->pending, sk);
	if (!p)
		return 0;
	uint8_t st[2 * MAX_STATES];
	uint64_t ts[2 * MAX_STATES];
	int n = 0;
	for (int i = 0; i < p->n; i++, n++) {
		st[n] = p->st[i];
		ts[n] = p->ts[i];
	}
	for (int i = 0; i < s->nstates; i++, n++) {
		st[n] = s->states[i];
		ts[n] = s->state_ts[i];
	}
	int skip = n > MAX_STATES ? n - MAX_STATES : 0;
	s->nstates = (uint8_t)(n - skip);
	memcpy(s->states, st + skip, s->nstates);
	memcpy(s->state_ts, ts + skip, s->nstates * sizeof(uint64_t));
	if (p->n)
		s->first_old = p->first_old;
	if (!s->lport && p->lport) {
		memcpy(s->laddr, p->laddr, 16);
		s->lport = p->lport;
	}
	if (!s->rport && p->rport) {
		memcpy(s->raddr, p->raddr, 16);
		s->rport = p->rport;
	}
	if (!s->addr_family)
		s->addr_family = p->family;
	free(p);
	return 0;
}

/* Another sk serial for the same socket (seen on its STATE records):
 * later records with serial 0 on that sk join s too. */
static int add_alias(struct model *m, struct msock *s, uint64_t sk)
{
	for (int i = 0; i < s->nalias; i++)
		if (s->sk_alias[i] == sk)
			return 0;
	if (um_get(m->bysk, sk))
		return 0; /* taken by another socket: do not steal */
	if (s->nalias == 3) {
		um_del(m->bysk, s->sk_alias[0]);
		memmove(s->sk_alias, s->sk_alias + 1, 2 * sizeof(uint64_t));
		s->nalias--;
	}
	s->sk_alias[s->nalias++] = sk;
	return um_put(m->bysk, sk, s);
}

static int addr_zero(srec_bytes b);

/* An accepted socket whose sk has no pending states: the STATE records
 * before accept() may carry another sk serial for the same struct sock.
 * Find them by the connection's 4-tuple (listener's port, peer address
 * and port) among the pending socks. */
static int link_by_tuple(struct model *m, struct msock *s, const struct srec_record *r)
{
	const struct msock *ls = sock_get(m, r->u.accept.lserial);
	uint16_t pport = (uint16_t)r->u.accept.pport;
	srec_bytes pa = r->u.accept.paddr;
	if (!m->pending || !pport || (pa.len != 4 && pa.len != 16))
		return 0;
	for (size_t i = 0; i < m->pending->cap; i++) {
		const struct u64slot *e = &m->pending->s[i];
		if (!e->key)
			continue;
		struct psk *p = e->val;
		if (p->rport != pport || memcmp(p->raddr, pa.p, pa.len) ||
		    (ls && ls->lport && p->lport != ls->lport))
			continue;
		uint64_t psk = e->key;
		/* move it under s's sk, then link as usual */
		um_del(m->pending, psk);
		if (um_put(m->pending, s->sk ? s->sk : psk, p)) {
			free(p);
			return -1;
		}
		if (s->sk) {
			um_del(m->bysk, s->sk);
			uint64_t sk = s->sk;
			s->sk = 0;
			if (link_sk(m, s, sk))
				return -1;
			return add_alias(m, s, psk);
		}
		return link_sk(m, s, psk);
	}
	return 0;
}

static int addr_zero(srec_bytes b)
{
	if (b.len == 4) {
		uint32_t w;
		memcpy(&w, b.p, 4);
		return !w;
	}
	if (b.len == 16) {
		uint64_t w[2];
		memcpy(w, b.p, 16);
		return !(w[0] | w[1]);
	}
	for (uint32_t i = 0; i < b.len; i++)
		if (b.p[i])
			return 0;
	return 1;
}

/* Ports and addresses of a STATE, without letting the zeros of a
 * half-made or closing connection overwrite known ones. */
static void state_addrs(uint8_t la[16], uint8_t ra[16], uint16_t *lp, uint16_t *rp,
			const struct srec_record *r)
{
	if (r->u.state.sport)
		*lp = (uint16_t)r->u.state.sport;
	if (r->u.state.dport)
		*rp = (uint16_t)r->u.state.dport;
	if (!addr_zero(r->u.state.saddr))
		copy_addr(la, r->u.state.saddr);
	if (!addr_zero(r->u.state.daddr))
		copy_addr(ra, r->u.state.daddr);
}

static void emit_event(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
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
	const struct mfilter *f = &m->filter;
	if (f->npids) {
		int ok = 0;
		for (int i = 0; i < f->npids; i++)
			ok |= f->pids[i] == pid;
		if (!ok)
			return;
	}
	if (f->comm && strcmp(model_str(m, comm), f->comm))
		return;
	if ((f->since_ns && ev->ts < f->since_ns) || (f->until_ns && ev->ts > f->until_ns))
		return;
	m->event(m, r, s, prev_ts, m->done_arg);
}

static int on_record(struct model *m, const struct srec_record *r)
{
	static const struct srec_ev no_ev;
	/* Non-event records have no srec_ev; the event cases below use ev
	 * without checking (never the placeholder for them). */
	const struct srec_ev *rev = srec_record_ev(r);
	const struct srec_ev *ev = rev ? rev : &no_ev;
	struct msock *s = NULL, *finish = NULL;
	uint64_t prev_ts = 0;

	m->by_type[r->type]++;
	if (ev != &no_ev) {
		m->events++;
		if (!m->ts_first || ev->ts < m->ts_first)
			m->ts_first = ev->ts;
		if (ev->ts > m->ts_last)
			m->ts_last = ev->ts;
	}
	switch (r->type) {
	case SREC_R_META: {
		if (m->nmeta >= MAX_META) {
			m->records_capped++;
			break;
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
		break;
	}
	case SREC_R_STRING: {
		uint64_t id = r->u.string.id;
		if (!id || !id_plausible(id, m->by_type[r->type]))
			break;
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
		break;
	}
	case SREC_R_MODULE: {
		uint64_t id = r->u.module.id;
		if (!id || !id_plausible(id, m->by_type[r->type]))
			break;
		if (grow_arr((void **)&m->modules, &m->nmodules, id + 1, sizeof(*m->modules)))
			return -1;
		struct mmodule *md = &m->modules[id];
		md->path = r->u.module.path ? r->u.module.path : (uint64_t)-1;
		md->build_id_len = r->u.module.build_id.len > 64 ? 64 : r->u.module.build_id.len;
		memcpy(md->build_id, r->u.module.build_id.p, md->build_id_len);
		break;
	}
	case SREC_R_STACK: {
		uint64_t id = r->u.stack.id;
		if (!id_plausible(id - SREC_STACK_FIRST_ID, m->by_type[r->type]))
			break;
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
		break;
	}
	case SREC_R_SYMBOL:
		if (m->nsyms >= MAX_SYMS) {
			m->records_capped++;
			break;
		}
		if (grow_arr((void **)&m->syms, &m->syms_cap, m->nsyms + 1, sizeof(*m->syms)))
			return -1;
		m->syms[m->nsyms++] = (struct msym){ r->u.symbol.module, r->u.symbol.off,
						     r->u.symbol.size, r->u.symbol.name };
		break;
	case SREC_R_KSYM:
		if (m->nksyms >= MAX_KSYMS) {
			m->records_capped++;
			break;
		}
		if (grow_arr((void **)&m->ksyms, &m->ksyms_cap, m->nksyms + 1, sizeof(*m->ksyms)))
			return -1;
		m->ksyms[m->nksyms++] = (struct mksym){ r->u.ksym.off, r->u.ksym.size, r->u.ksym.name,
						       r->u.ksym.kmod };
		m->ksyms_sorted = 0;
		break;
	case SREC_R_PROCESS:
		if (m->nprocs >= MAX_PROCS) {
			m->records_capped++;
			break;
		}
		if (grow_arr((void **)&m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*m->procs)))
			return -1;
		m->procs[m->nprocs++] = (struct mproc){ r->u.process.pid, r->u.process.ppid,
						       r->u.process.comm, r->u.process.exe,
						       r->u.process.start_ns, 0, 0 };
		break;
	case SREC_R_LOSS:
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
		break;
	case SREC_R_ALLOC:
		s = sock_new(m, r->u.alloc.serial);
		if (!s)
			break;
		s->pid = ev->pid;
		s->tid = ev->tid;
		s->comm = ev->comm;
		s->alloc_ts = ev->ts;
		s->alloc_kstack = r->u.alloc.kstack;
		s->alloc_ustack = r->u.alloc.ustack;
		s->origin = r->u.alloc.origin;
		break;
	case SREC_R_PREEXIST:
		s = sock_new(m, r->u.preexist.serial);
		if (!s)
			break;
		s->preexisting = 1;
		s->pid = ev->pid;
		s->comm = ev->comm;
		s->fd = r->u.preexist.fd;
		s->ino = r->u.preexist.ino;
		s->family = r->u.preexist.family;
		s->type = r->u.preexist.stype;
		s->protocol = r->u.preexist.protocol;
		s->has_info = 1;
		if (r->u.preexist.tcpstate)
			add_state(s, r->u.preexist.tcpstate, ev->ts);
		copy_addr(s->laddr, r->u.preexist.laddr);
		copy_addr(s->raddr, r->u.preexist.raddr);
		s->lport = (uint16_t)r->u.preexist.lport;
		s->rport = (uint16_t)r->u.preexist.rport;
		s->addr_family = r->u.preexist.family;
		break;
	case SREC_R_SOCKINFO:
		s = sock_get(m, r->u.sockinfo.serial);
		if (!s)
			break;
		if (r->u.sockinfo.sk && s->sk != r->u.sockinfo.sk && link_sk(m, s, r->u.sockinfo.sk))
			return -1;
		if (s->fd < 0 || r->u.sockinfo.origin == SREC_ORIGIN_ACCEPT ||
		    r->u.sockinfo.origin == SREC_ORIGIN_ACCEPT4)
			s->fd = r->u.sockinfo.fd;
		s->ino = r->u.sockinfo.ino;
		s->family = r->u.sockinfo.family;
		s->type = r->u.sockinfo.stype;
		s->protocol = r->u.sockinfo.protocol;
		s->has_info = 1;
		if (!s->origin || s->origin == SREC_ORIGIN_OTHER)
			s->origin = r->u.sockinfo.origin;
		if (r->u.sockinfo.origin == SREC_ORIGIN_ACCEPT ||
		    r->u.sockinfo.origin == SREC_ORIGIN_ACCEPT4) {
			/* The accepting process owns the new socket. */
			s->pid = ev->pid;
			s->tid = ev->tid;
			s->comm = ev->comm;
		}
		break;
	case SREC_R_STATE: {
		uint64_t sk = r->u.state.sk;
		s = r->u.state.serial ? sock_get(m, r->u.state.serial) : NULL;
		if (!s && sk)
			s = um_get(m->bysk, sk);
		if (s) {
			if (!s->sk && sk && link_sk(m, s, sk))
				return -1;
			if (s->sk && sk && sk != s->sk && add_alias(m, s, sk))
				return -1;
			if (!s->nstates)
				s->first_old = r->u.state.oldstate;
			prev_ts = s->nstates ? s->state_ts[s->nstates - 1] : 0;
			add_state(s, r->u.state.newstate, ev->ts);
			state_addrs(s->laddr, s->raddr, &s->lport, &s->rport, r);
			if (r->u.state.family)
				s->addr_family = r->u.state.family;
			if (s->released && r->u.state.newstate == 7 /* CLOSE */)
				finish = s;
		} else if (sk) {
			struct psk *p = um_get(m->pending, sk);
			if (!p) {
				if (r->u.state.newstate == 7)
					break; /* nothing to keep */
				p = calloc(1, sizeof(*p));
				if (!p || um_put(m->pending, sk, p)) {
					free(p);
					return -1;
				}
				p->first_old = r->u.state.oldstate;
			}
			prev_ts = p->n ? p->ts[p->n - 1] : 0;
			if (p->n < MAX_STATES) {
				p->st[p->n] = (uint8_t)r->u.state.newstate;
				p->ts[p->n++] = ev->ts;
			}
			p->owner = r->u.state.owner;
			if (r->u.state.family)
				p->family = r->u.state.family;
			state_addrs(p->laddr, p->raddr, &p->lport, &p->rport, r);
			if (r->u.state.newstate == 7) {
				emit_event(m, r, ev, NULL, prev_ts);
				free(um_del(m->pending, sk));
				return 0;
			}
		}
		break;
	}
	case SREC_R_CONNECT:
		s = sock_get(m, r->u.connect.serial);
		if (!s && r->u.connect.sk)
			s = um_get(m->bysk, r->u.connect.sk);
		if (!s)
			break;
		if (!s->sk && r->u.connect.sk && link_sk(m, s, r->u.connect.sk))
			return -1;
		s->connect_stack = r->u.connect.ustack;
		if (!s->nconnects) {
			s->first_connect_ts = ev->ts;
			s->first_connect_ret = r->u.connect.ret;
		}
		s->nconnects++;
		s->connect_ts = ev->ts;
		s->connect_dur = r->u.connect.dur_ns;
		s->connect_ret = r->u.connect.ret;
		s->connect_flags = r->u.connect.flags;
		s->connect_dport = r->u.connect.dport;
		s->connect_family = r->u.connect.family;
		copy_addr(s->connect_daddr, r->u.connect.daddr);
		break;
	case SREC_R_ACCEPT:
		s = sock_get(m, r->u.accept.serial);
		if (!s)
			break;
		if (!s->sk && r->u.accept.sk && link_sk(m, s, r->u.accept.sk))
			return -1;
		if (!s->nstates && link_by_tuple(m, s, r))
			return -1;
		s->accept_ts = ev->ts;
		s->accept_estab_ts = r->u.accept.estab_ts;
		s->accept_dur = r->u.accept.dur_ns;
		s->accept_stack = r->u.accept.ustack;
		s->lserial = r->u.accept.lserial;
		if (!s->rport && r->u.accept.pport) {
			s->rport = (uint16_t)r->u.accept.pport;
			copy_addr(s->raddr, r->u.accept.paddr);
			if (!s->addr_family)
				s->addr_family = r->u.accept.family;
		}
		break;
	case SREC_R_RELEASE:
		s = sock_get(m, r->u.release.serial);
		if (!s || s->released) {
			m->releases_unknown += !s; /* allocated before the recording */
			break;
		}
		s->released = 1;
		s->release_ts = ev->ts;
		s->rel_kstack = r->u.release.kstack;
		s->rel_ustack = r->u.release.ustack;
		s->how = r->u.release.how;
		s->rel_pid = ev->pid;
		s->rel_comm = ev->comm;
		s->rel_fd = r->u.release.fd;
		if (s->how == SREC_HOW_FREED) {
			/* Only the free was seen: if the owner had exited by then,
			 * the exit is what released it. */
			const struct mproc *p = model_proc(m, s->pid);
			if (p && p->exited && p->exit_ts <= ev->ts)
				s->how = SREC_HOW_EXIT;
			/* The free runs from RCU in whatever task is current
			 * (ksoftirqd, tcpstates, a VM's vcpu thread): that task
			 * released nothing.  The releaser is unknown. */
			s->rel_pid = 0;
			s->rel_comm = 0;
		}
		s->in_loss_window = (uint8_t)model_loss_between(m, s->alloc_ts, s->release_ts);
		if (s->sk && s->nstates && s->states[s->nstates - 1] != 7 /* CLOSE */)
			s->lingering = 1; /* FIN_WAIT/LAST_ACK/LISTEN->CLOSE still to come */
		else
			finish = s;
		break;
	case SREC_R_EXEC:
		for (size_t i = m->nprocs; i-- > 0;) {
			if (m->procs[i].pid == ev->pid) {
				m->procs[i].comm = ev->comm; /* the event's comm is the new one */
				m->procs[i].exe = r->u.exec.filename;
				break;
			}
		}
		break;
	case SREC_R_EXIT:
		for (size_t i = m->nprocs; i-- > 0;) {
			if (m->procs[i].pid == ev->pid) {
				m->procs[i].exited = 1;
				m->procs[i].exit_ts = ev->ts;
				break;
			}
		}
		break;
	default:
		break;
	}
	if (ev != &no_ev && m->event) /* events only */
		emit_event(m, r, ev, s, prev_ts);
	if (finish)
		sock_done(m, finish);
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
	m->live = calloc(1, sizeof(*m->live));
	m->bysk = calloc(1, sizeof(*m->bysk));
	m->pending = calloc(1, sizeof(*m->pending));
	if (!m->live || !m->bysk || !m->pending) {
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

static int by_alloc(const void *a, const void *b)
{
	const struct msock *x = *(const struct msock *const *)a, *y = *(const struct msock *const *)b;
	if (x->alloc_ts != y->alloc_ts)
		return x->alloc_ts < y->alloc_ts ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

void model_finish(struct model *m)
{
	if (!m->live)
		return;
	/* by allocation time (then serial); in table order if that much
	 * memory is not to be had */
	struct msock **order = m->live->n ? malloc(m->live->n * sizeof(*order)) : NULL;
	size_t n = 0;
	if (order) {
		for (size_t i = 0; i < m->live->cap; i++)
			if (m->live->s[i].key)
				order[n++] = m->live->s[i].val;
		qsort(order, n, sizeof(*order), by_alloc);
		for (size_t i = 0; i < n; i++) {
			struct msock *s = order[i];
			if (m->done && wanted(m, s->pid, s->comm, s->alloc_ts))
				m->done(m, s, m->done_arg);
		}
		free(order);
	}
	for (size_t i = 0; i < m->live->cap; i++) {
		struct msock *s = m->live->s[i].val;
		if (!m->live->s[i].key)
			continue;
		if (!order && m->done && wanted(m, s->pid, s->comm, s->alloc_ts))
			m->done(m, s, m->done_arg);
		free(s);
		m->live->s[i].key = 0;
		m->live->s[i].val = NULL;
	}
	m->live->n = 0;
	um_free(m->bysk, 0);
	m->bysk = calloc(1, sizeof(*m->bysk)); /* NULL is fine: lookups allow it */
	um_free(m->pending, 1);
	m->pending = calloc(1, sizeof(*m->pending));
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->nspare; i++)
		free(m->spare[i]);
	free(m->spare);
	um_free(m->live, 1);
	um_free(m->bysk, 0);
	um_free(m->pending, 1);
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
