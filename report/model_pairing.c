/* model_pairing.c - socket lifetimes (model_int.h): ALLOC, PREEXIST,
 * SOCKINFO, CONNECT, ACCEPT and RELEASE paired by the socket's serial,
 * STATE records joined by the sk serial (held as pending until a socket
 * links it), and the sockets still open at the end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model_int.h"
#include "names.h"

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
			if (s->states[i] != TCP_ST_SYN_SENT ||
			    s->state_ts[i] + 1000000 < s->first_connect_ts)
				continue;
			uint64_t end = s->state_ts[i + 1];
			*ns = end > s->first_connect_ts ? end - s->first_connect_ts : 0;
			*ok = s->states[i + 1] == TCP_ST_ESTABLISHED;
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

void model_sock_done(struct model *m, struct msock *s)
{
	if (um_get(m->live, s->serial) != s)
		return;
	int want = model_wanted(m, s->pid, s->comm, s->alloc_ts ? s->alloc_ts : s->release_ts);
	if (s->released && s->how == SREC_HOW_ACCEPT_FAILED && !m->filter.failed_accepts) {
		m->failed_accepts += want;
		m->failed_accepts_eagain += want && s->rel_fd == -EAGAIN;
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

int mp_alloc(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	     struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_new(m, r->u.alloc.serial);
	if (!s)
		return 0;
	s->pid = ev->pid;
	s->tid = ev->tid;
	s->comm = ev->comm;
	s->alloc_ts = ev->ts;
	s->alloc_kstack = r->u.alloc.kstack;
	s->alloc_ustack = r->u.alloc.ustack;
	s->origin = r->u.alloc.origin;
	return 0;
}

int mp_preexist(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
		struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_new(m, r->u.preexist.serial);
	if (!s)
		return 0;
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
	return 0;
}

int mp_sockinfo(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
		struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_get(m, r->u.sockinfo.serial);
	if (!s)
		return 0;
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
	return 0;
}

int mp_state(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	     struct mrec *o)
{
	uint64_t sk = r->u.state.sk;
	struct msock *s;

	s = o->s = r->u.state.serial ? sock_get(m, r->u.state.serial) : NULL;
	if (!s && sk)
		s = o->s = um_get(m->bysk, sk);
	if (s) {
		if (!s->sk && sk && link_sk(m, s, sk))
			return -1;
		if (s->sk && sk && sk != s->sk && add_alias(m, s, sk))
			return -1;
		if (!s->nstates)
			s->first_old = r->u.state.oldstate;
		o->prev_ts = s->nstates ? s->state_ts[s->nstates - 1] : 0;
		add_state(s, r->u.state.newstate, ev->ts);
		state_addrs(s->laddr, s->raddr, &s->lport, &s->rport, r);
		if (r->u.state.family)
			s->addr_family = r->u.state.family;
		if (s->released && r->u.state.newstate == TCP_ST_CLOSE)
			o->finish = s;
	} else if (sk) {
		struct psk *p = um_get(m->pending, sk);
		if (!p) {
			if (r->u.state.newstate == TCP_ST_CLOSE)
				return 0; /* nothing to keep */
			p = calloc(1, sizeof(*p));
			if (!p || um_put(m->pending, sk, p)) {
				free(p);
				return -1;
			}
			p->first_old = r->u.state.oldstate;
		}
		o->prev_ts = p->n ? p->ts[p->n - 1] : 0;
		if (p->n < MAX_STATES) {
			p->st[p->n] = (uint8_t)r->u.state.newstate;
			p->ts[p->n++] = ev->ts;
		}
		p->owner = r->u.state.owner;
		if (r->u.state.family)
			p->family = r->u.state.family;
		state_addrs(p->laddr, p->raddr, &p->lport, &p->rport, r);
		if (r->u.state.newstate == TCP_ST_CLOSE) {
			model_emit_event(m, r, ev, NULL, o->prev_ts);
			free(um_del(m->pending, sk));
			return 1; /* its event is out; no socket to finish */
		}
	}
	return 0;
}

int mp_connect(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	       struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_get(m, r->u.connect.serial);
	if (!s && r->u.connect.sk)
		s = o->s = um_get(m->bysk, r->u.connect.sk);
	if (!s)
		return 0;
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
	return 0;
}

int mp_accept(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	      struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_get(m, r->u.accept.serial);
	if (!s)
		return 0;
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
	return 0;
}

int mp_release(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
	       struct mrec *o)
{
	struct msock *s;

	s = o->s = sock_get(m, r->u.release.serial);
	if (!s || s->released) {
		m->releases_unknown += !s; /* allocated before the recording */
		return 0;
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
	if (s->sk && s->nstates && s->states[s->nstates - 1] != TCP_ST_CLOSE)
		s->lingering = 1; /* FIN_WAIT/LAST_ACK/LISTEN->CLOSE still to come */
	else
		o->finish = s;
	return 0;
}

int model_pairing_init(struct model *m)
{
	m->live = calloc(1, sizeof(*m->live));
	m->bysk = calloc(1, sizeof(*m->bysk));
	m->pending = calloc(1, sizeof(*m->pending));
	return m->live && m->bysk && m->pending ? 0 : -1;
}

void model_pairing_free(struct model *m)
{
	um_free(m->live, 1);
	um_free(m->bysk, 0);
	um_free(m->pending, 1);
	m->live = m->bysk = m->pending = NULL;
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
			if (m->done && model_wanted(m, s->pid, s->comm, s->alloc_ts))
				m->done(m, s, m->done_arg);
		}
		free(order);
	}
	for (size_t i = 0; i < m->live->cap; i++) {
		struct msock *s = m->live->s[i].val;
		if (!m->live->s[i].key)
			continue;
		if (!order && m->done && model_wanted(m, s->pid, s->comm, s->alloc_ts))
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
