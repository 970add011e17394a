/* model.c - one streaming pass: tables, live sockets, lifetimes. */
#include "model.h"
#include <stdlib.h>
#include <string.h>
#include "srec_error.h"

/* ---- live sockets: serial -> struct msock *, open addressing ---- */

struct hsock {
	struct msock **slot;
	size_t cap, n;
};

static size_t hs_idx(const struct hsock *h, uint64_t serial)
{
	return (size_t)((serial * 0x9E3779B97F4A7C15ull) >> 20) & (h->cap - 1);
}

static struct msock **hs_find(struct hsock *h, uint64_t serial)
{
	size_t i = hs_idx(h, serial);
	while (h->slot[i]) {
		if (h->slot[i]->serial == serial)
			return &h->slot[i];
		i = (i + 1) & (h->cap - 1);
	}
	return &h->slot[i];
}

static int hs_grow(struct hsock *h)
{
	size_t ncap = h->cap ? h->cap * 2 : 1024;
	struct msock **ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	struct hsock nh = { ns, ncap, 0 };
	for (size_t i = 0; i < h->cap; i++)
		if (h->slot[i]) {
			*hs_find(&nh, h->slot[i]->serial) = h->slot[i];
			nh.n++;
		}
	free(h->slot);
	*h = nh;
	return 0;
}

static void hs_remove(struct hsock *h, struct msock **pos)
{
	size_t i = (size_t)(pos - h->slot), j = i;
	h->slot[i] = NULL;
	h->n--;
	for (;;) {
		j = (j + 1) & (h->cap - 1);
		if (!h->slot[j])
			return;
		size_t home = hs_idx(h, h->slot[j]->serial);
		int movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			h->slot[i] = h->slot[j];
			h->slot[j] = NULL;
			i = j;
		}
	}
}

/* ---- names ---- */

const char *family_name(uint32_t f)
{
	switch (f) {
	case 0: return "?";
	case 1: return "UNIX";
	case 2: return "INET";
	case 10: return "INET6";
	case 16: return "NETLINK";
	case 17: return "PACKET";
	case 40: return "VSOCK";
	default: return "other";
	}
}

const char *socktype_name(uint32_t t)
{
	switch (t) {
	case 1: return "STREAM";
	case 2: return "DGRAM";
	case 3: return "RAW";
	case 5: return "SEQPACKET";
	default: return "?";
	}
}

const char *proto_name(uint32_t family, uint32_t p)
{
	if (family == 1)
		return "";
	switch (p) {
	case 0: return "";
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 58: return "ICMPV6";
	case 132: return "SCTP";
	case 262: return "MPTCP";
	default: return "proto?";
	}
}

const char *tcp_state_name(uint32_t s)
{
	static const char *const n[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
					 "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
					 "LISTEN", "CLOSING", "NEW_SYN_RECV" };
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *how_name(uint32_t how)
{
	static const char *const n[] = { "unknown", "close", "dup2", "exit", "other", "close_range",
					 "freed" };
	return how < sizeof(n) / sizeof(n[0]) ? n[how] : "unknown";
}

const char *origin_name(uint32_t o)
{
	static const char *const n[] = { "unknown", "socket", "socketpair", "accept", "accept4",
					 "kernel", "other-syscall" };
	return o < sizeof(n) / sizeof(n[0]) ? n[o] : "unknown";
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
#define MAX_TABLE_ID (1u << 26)

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
	return (uint64_t)(off - k->off) < k->size ? k : NULL;
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
	if (!serial || !m->live || !m->live->cap)
		return NULL;
	return *hs_find(m->live, serial);
}

static struct msock *sock_new(struct model *m, uint64_t serial)
{
	struct msock *s;
	if (!serial)
		return NULL;
	if ((m->live->n + 1) * 4 > m->live->cap * 3 && hs_grow(m->live))
		return NULL;
	struct msock **pos = hs_find(m->live, serial);
	if (*pos)
		return *pos; /* duplicate ALLOC for a serial: keep the first */
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->serial = serial;
	s->fd = -1;
	*pos = s;
	m->live->n++;
	m->sockets_seen++;
	return s;
}

static void sock_done(struct model *m, struct msock *s)
{
	struct msock **pos = hs_find(m->live, s->serial);
	if (!*pos)
		return;
	if (m->done && wanted(m, s->pid, s->comm, s->alloc_ts ? s->alloc_ts : s->release_ts))
		m->done(m, s, m->done_arg);
	hs_remove(m->live, pos);
	m->sockets_done++;
	free(s);
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
	memset(dst, 0, 16);
	if (b.len == 4 || b.len == 16)
		memcpy(dst, b.p, b.len);
}

static int on_record(struct model *m, const struct srec_record *r)
{
	const struct srec_ev *ev = srec_record_ev(r);
	struct msock *s;

	m->by_type[r->type]++;
	if (ev) {
		m->events++;
		if (!m->ts_first || ev->ts < m->ts_first)
			m->ts_first = ev->ts;
		if (ev->ts > m->ts_last)
			m->ts_last = ev->ts;
	}
	switch (r->type) {
	case SREC_R_META: {
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
		break;
	}
	case SREC_R_STRING: {
		uint64_t id = r->u.string.id;
		if (!id || id >= MAX_TABLE_ID)
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
		m->string_len[id] = r->u.string.str.len;
		break;
	}
	case SREC_R_MODULE: {
		uint64_t id = r->u.module.id;
		if (!id || id >= MAX_TABLE_ID)
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
		if (id - SREC_STACK_FIRST_ID >= MAX_TABLE_ID)
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
		st->frames = malloc((st->n ? st->n : 1) * sizeof(int64_t));
		st->modules = malloc((st->n ? st->n : 1) * sizeof(uint64_t));
		if (!st->frames || !st->modules)
			return -1;
		memcpy(st->frames, r->u.stack.frames, st->n * sizeof(int64_t));
		memcpy(st->modules, r->u.stack.modules, st->n * sizeof(uint64_t));
		break;
	}
	case SREC_R_KSYM:
		if (grow_arr((void **)&m->ksyms, &m->ksyms_cap, m->nksyms + 1, sizeof(*m->ksyms)))
			return -1;
		m->ksyms[m->nksyms++] = (struct mksym){ r->u.ksym.off, r->u.ksym.size, r->u.ksym.name,
						       r->u.ksym.kmod };
		m->ksyms_sorted = 0;
		break;
	case SREC_R_PROCESS:
		if (grow_arr((void **)&m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*m->procs)))
			return -1;
		m->procs[m->nprocs++] = (struct mproc){ r->u.process.pid, r->u.process.ppid,
						       r->u.process.comm, r->u.process.exe,
						       r->u.process.start_ns, 0, 0 };
		break;
	case SREC_R_LOSS:
		if (grow_arr((void **)&m->losses, &m->losses_cap, m->nlosses + 1, sizeof(*m->losses)))
			return -1;
		m->losses[m->nlosses++] = (struct mloss){ r->u.loss.ts, r->u.loss.window_ns,
							 r->u.loss.count, r->u.loss.cpu, r->u.loss.kind };
		if (r->u.loss.kind == SREC_LOSS_RINGBUF || r->u.loss.kind == SREC_LOSS_SOCKMAP)
			m->lost_events += r->u.loss.count;
		else if (r->u.loss.kind == SREC_LOSS_STACK)
			m->lost_stacks += r->u.loss.count;
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
		break;
	case SREC_R_SOCKINFO:
		s = sock_get(m, r->u.sockinfo.serial);
		if (!s)
			break;
		s->sk = r->u.sockinfo.sk;
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
	case SREC_R_STATE:
		s = sock_get(m, r->u.state.serial);
		if (!s)
			break;
		add_state(s, r->u.state.newstate, ev->ts);
		copy_addr(s->laddr, r->u.state.saddr);
		copy_addr(s->raddr, r->u.state.daddr);
		s->lport = (uint16_t)r->u.state.sport;
		s->rport = (uint16_t)r->u.state.dport;
		break;
	case SREC_R_CONNECT:
		s = sock_get(m, r->u.connect.serial);
		if (s)
			s->connect_stack = r->u.connect.ustack;
		break;
	case SREC_R_RELEASE:
		s = sock_get(m, r->u.release.serial);
		if (!s)
			break; /* allocated before the recording, not in the snapshot */
		s->released = 1;
		s->release_ts = ev->ts;
		s->rel_kstack = r->u.release.kstack;
		s->rel_ustack = r->u.release.ustack;
		s->how = r->u.release.how;
		s->rel_pid = ev->pid;
		s->rel_comm = ev->comm;
		if (s->how == SREC_HOW_FREED) {
			/* Only the free was seen: if the owner had exited by then,
			 * the exit is what released it. */
			const struct mproc *p = model_proc(m, s->pid);
			if (p && p->exited && p->exit_ts <= ev->ts)
				s->how = SREC_HOW_EXIT;
		}
		s->in_loss_window = (uint8_t)model_loss_between(m, s->alloc_ts, s->release_ts);
		sock_done(m, s);
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
	return 0;
}

int model_load(struct model *m, const char *path, const struct mfilter *f, model_done_fn done,
	       void *arg, char *why, size_t whylen)
{
	struct srec_reader *rd = NULL;
	const struct srec_record *r;
	int err;

	memset(m, 0, sizeof(*m));
	if (f)
		m->filter = *f;
	m->done = done;
	m->done_arg = arg;
	m->live = calloc(1, sizeof(*m->live));
	if (!m->live || hs_grow(m->live)) {
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
	while (srec_reader_next(rd, &r) == 1) {
		if (on_record(m, r)) {
			snprintf(why, whylen, "%s: out of memory", path);
			srec_reader_close(rd);
			return SREC_E_NOMEM;
		}
	}
	m->status = *srec_reader_status(rd);
	srec_reader_close(rd);
	return 0;
}

void model_finish(struct model *m)
{
	if (!m->live)
		return;
	for (size_t i = 0; i < m->live->cap; i++) {
		struct msock *s = m->live->slot[i];
		if (!s)
			continue;
		if (m->done && wanted(m, s->pid, s->comm, s->alloc_ts))
			m->done(m, s, m->done_arg);
		free(s);
		m->live->slot[i] = NULL;
	}
	m->live->n = 0;
}

void model_free(struct model *m)
{
	if (m->live) {
		for (size_t i = 0; i < m->live->cap; i++)
			free(m->live->slot[i]);
		free(m->live->slot);
		free(m->live);
	}
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
	free(m->ksyms);
	free(m->procs);
	free(m->losses);
	memset(m, 0, sizeof(*m));
}
