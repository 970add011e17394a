/* events.c - one function per event kind, each building one record. */
#include "events.h"
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/types.h>
#include <string.h>
#include <sys/socket.h>
#include "elfsyms.h"
#include "ringbuf_events.h"
#include "srec_error.h"

/* Where the ring-buffer ABI (bpf/ringbuf_events.h) and the format
 * (srec_records.h) must agree, so that values pass through unmapped. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(SR_HOW_UNKNOWN, SREC_HOW_UNKNOWN) && SAME(SR_HOW_CLOSE, SREC_HOW_CLOSE) &&
		       SAME(SR_HOW_DUP2, SREC_HOW_DUP2) && SAME(SR_HOW_EXIT, SREC_HOW_EXIT) &&
		       SAME(SR_HOW_OTHER, SREC_HOW_OTHER) &&
		       SAME(SR_HOW_CLOSE_RANGE, SREC_HOW_CLOSE_RANGE) &&
		       SAME(SR_HOW_FREED, SREC_HOW_FREED),
	       "how_of() passes the BPF side's how through");
_Static_assert(SAME(SR_ORIGIN_SOCKET, SREC_ORIGIN_SOCKET) &&
		       SAME(SR_ORIGIN_SOCKETPAIR, SREC_ORIGIN_SOCKETPAIR) &&
		       SAME(SR_ORIGIN_ACCEPT, SREC_ORIGIN_ACCEPT) &&
		       SAME(SR_ORIGIN_ACCEPT4, SREC_ORIGIN_ACCEPT4),
	       "SOCKINFO.origin is the BPF side's origin");
_Static_assert(SR_STACK_DEPTH + 1 <= SREC_MAX_FRAMES, "a BPF stack (+ its leaf) fits a STACK record");
_Static_assert(sizeof(((struct recorder *)0)->last_comm) == SR_COMM_LEN, "the comm cache holds a comm");

int syscall_nrs_for_arch(const char *machine, struct syscall_nrs *nr)
{
	if (!strcmp(machine, "x86_64")) {
		*nr = (struct syscall_nrs){ .socket = 41, .socketpair = 53, .accept = 43,
					    .accept4 = 288, .close = 3, .dup2 = 33, .dup3 = 292,
					    .close_range = 436, .exit = 60, .exit_group = 231 };
		return 0;
	}
	if (!strcmp(machine, "aarch64")) {
		*nr = (struct syscall_nrs){ .socket = 198, .socketpair = 199, .accept = 202,
					    .accept4 = 242, .close = 57, .dup2 = -100, .dup3 = 24,
					    .close_range = 436, .exit = 93, .exit_group = 94 };
		return 0;
	}
	memset(nr, 0xff, sizeof(*nr)); /* every number -1: nothing matches */
	return -1;
}

int rec_init(struct recorder *r, struct srec_writer *w, struct srec_intern *in,
	     struct procs *procs, struct ksyms *ks, int stack_fd0, int stack_fd1,
	     const struct rec_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->nr = o->nr;
	r->mw = o->mw;
	r->redact = o->redact;
	r->embed_symbols = o->embed_symbols;
	r->w = w;
	r->in = in;
	r->procs = procs;
	r->ks = ks;
	r->stack_fd[0] = stack_fd0;
	r->stack_fd[1] = stack_fd1;
	r->text_base = ksyms_text_base(ks);
	r->stackcache = hmap_new();
	r->embedded = hmap_new();
	r->ucopies = hmap_new();
	r->uw = unwinder_new(procs);
	return r->stackcache && r->embedded && r->ucopies && r->uw ? 0 : SREC_E_NOMEM;
}

void rec_fini(struct recorder *r)
{
	hmap_free(r->stackcache);
	hmap_free(r->embedded);
	hmap_free(r->ucopies);
	unwinder_free(r->uw);
	r->stackcache = NULL;
	r->embedded = NULL;
	r->ucopies = NULL;
	r->uw = NULL;
}

void rec_forget_stacks(struct recorder *r, unsigned parity)
{
	hmap_remove_w0(r->stackcache, parity & 1);
	hmap_remove_w0(r->stackcache, 2 | (parity & 1));
}

static uint64_t intern_comm(struct recorder *r, const char *comm)
{
	int err;

	/* Most events come from the same task as the one before. */
	if (r->last_comm_id && !memcmp(r->last_comm, comm, SR_COMM_LEN))
		return r->last_comm_id;
	uint64_t id = srec_intern_string(r->in, r->w, comm, strnlen(comm, SR_COMM_LEN), &err);
	if (err && !r->err)
		r->err = err;
	memcpy(r->last_comm, comm, SR_COMM_LEN);
	r->last_comm_id = err ? 0 : id;
	return id;
}

static void fill_ev(struct recorder *r, struct srec_ev *ev, const struct sr_hdr *h)
{
	ev->ts = h->ts;
	ev->pid = h->pid;
	ev->tid = h->tid;
	ev->comm = intern_comm(r, h->comm);
	ev->cpu = h->cpu;
}

/* Write the SYMBOL record of the function a user frame is in, once. */
static int embed_symbol(struct recorder *r, uint64_t module, uint64_t off)
{
	const struct esym *s;
	struct srec_record rec;
	int err = 0;

	if (!r->embed_symbols || !module || !(s = procs_module_symbol(r->procs, module, off)))
		return 0;
	struct hkey k = hkey4(module, s->index, 0, 0);
	if (hmap_get(r->embedded, &k))
		return 0;
	if (hmap_put(r->embedded, &k, 1))
		return SREC_E_NOMEM;
	memset(&rec, 0, offsetof(struct srec_record, u) + sizeof(rec.u.symbol));
	rec.type = SREC_R_SYMBOL;
	rec.u.symbol.module = module;
	rec.u.symbol.off = s->off;
	rec.u.symbol.size = s->size;
	rec.u.symbol.name = srec_intern_string(r->in, r->w, s->name, strlen(s->name), &err);
	if (err)
		return err;
	return srec_writer_add(r->w, &rec);
}

static uint64_t stack_error_ref(int id)
{
	switch (id) {
	case -EFAULT: return SREC_STACK_EFAULT;
	case -EEXIST: return SREC_STACK_COLLISION;
	case -ENOMEM: return SREC_STACK_MAPFULL;
	default: return SREC_STACK_OTHERERR;
	}
}

/* Write a user stack (its frames' symbols first, once each); returns its
 * file stack id, or 0 with r->err set. */
static uint64_t intern_user(struct recorder *r, uint32_t flags, const struct srec_unwind *how,
			    const int64_t *offs, const uint64_t *mods, uint32_t n)
{
	int err = 0;

	/* Return addresses (every frame but the first) point after the call:
	 * embed the symbol of the call itself. */
	for (uint32_t i = 0; !err && i < n; i++)
		err = embed_symbol(r, mods[i], (uint64_t)offs[i] - (i ? 1 : 0));
	uint64_t fid = err ? 0 : srec_intern_stack(r->in, r->w, SREC_STACK_USER, flags, how, offs,
						   mods, n, &err);
	if (err && !r->err)
		r->err = err;
	return err ? 0 : fid;
}

static void see(struct recorder *r, const struct sr_hdr *h);

/* A copied user stack: unwind it now (the maps are the ones of its
 * moment) and keep its stack id for the event that follows. */
static void on_ustack(struct recorder *r, const struct sr_ustack *e, size_t size)
{
	struct uw_stack us;
	int err;

	if (size < SR_USTACK_HDR_LEN || e->len > size - SR_USTACK_HDR_LEN)
		return;
	see(r, &e->h);
	if ((err = unwind_copy(r->uw, e->h.pid, e->h.ts, e->ip, e->sp, e->bp, e->data, e->len,
			       e->flags, &us))) {
		if (!r->err)
			r->err = err;
		return;
	}
	uint64_t fid = intern_user(r, 0, &us.how, us.offs, us.mods, us.n);
	if (!fid)
		return;
	/* A copy whose event was lost (ring buffer full) is never asked for:
	 * bound what such orphans can hold. */
	if (hmap_count(r->ucopies) >= 4096) {
		hmap_free(r->ucopies);
		if (!(r->ucopies = hmap_new())) {
			r->err = SREC_E_NOMEM;
			return;
		}
	}
	struct hkey k = hkey4(e->h.tid, e->cookie, 0, 0);
	if (hmap_put(r->ucopies, &k, fid) && !r->err)
		r->err = SREC_E_NOMEM;
}

/* Resolve one stack reference of an event into a file stack id. */
static uint64_t resolve_stack(struct recorder *r, const struct sr_hdr *h, int ref, int user,
			      uint64_t leaf_ret)
{
	unsigned parity = (h->flags & SR_F_STACK_EPOCH1) ? 1 : 0;
	uint64_t frames[SR_STACK_DEPTH];
	int64_t out[SR_STACK_DEPTH + 1];
	uint64_t mods[SR_STACK_DEPTH + 1];
	uint32_t n = 0, flags = 0;
	int err = 0;

	if (ref == 0)
		return SREC_STACK_NONE;
	if (ref == SR_USTACK_COPIED || ref == SR_USTACK_DEFER) {
		r->stack_fail++;
		return SREC_STACK_OTHERERR; /* resolve_ustack's, never seen here */
	}
	if (ref < 0) {
		r->stack_fail++;
		return stack_error_ref(ref);
	}
	uint32_t id = (uint32_t)ref - 1;
	struct hkey key = hkey4((user ? 2u : 0u) | parity, id, user ? h->pid : 0,
				user ? leaf_ret : 0);
	uint64_t *cached = hmap_get(r->stackcache, &key);
	if (cached)
		return *cached;
	memset(frames, 0, sizeof(frames));
	r->epoch_stacks++;
	if (bpf_map_lookup_elem(r->stack_fd[parity], &id, frames)) {
		r->stack_fail++;
		return SREC_STACK_DRAINLOST;
	}
	uint32_t first = 0;
	if (!user && r->ks) {
		/* Drop the frames of the tracing machinery on top. */
		while (first < SR_STACK_DEPTH && frames[first] &&
		       ksyms_is_tracing_frame(r->ks, frames[first]))
			first++;
		if (first == SR_STACK_DEPTH || !frames[first])
			first = 0; /* all "tracing"? keep everything rather than nothing */
	}
	for (uint32_t i = first; i < SR_STACK_DEPTH && frames[i]; i++) {
		if (user) {
			uint64_t off;
			mods[n] = procs_normalize(r->procs, h->pid, frames[i], h->ts, &off, &err);
			out[n++] = (int64_t)off;
			/* The FP walk skips the caller of a frameless leaf (libc
			 * syscall stubs): the return address is the word at sp. */
			if (i == 0 && leaf_ret && leaf_ret != frames[1] && !err) {
				uint64_t loff;
				uint64_t lmod = procs_normalize(r->procs, h->pid, leaf_ret, h->ts,
								&loff, &err);
				if (lmod) {
					mods[n] = lmod;
					out[n++] = (int64_t)loff;
					flags |= SREC_STACKF_LEAF_RET;
				}
			}
		} else {
			if (!err)
				err = ksyms_emit(r->ks, frames[i], r->w, r->in);
			out[n++] = (int64_t)(frames[i] - r->text_base);
		}
		if (err)
			break;
	}
	if (user && !err) {
		const struct srec_unwind fp = { SREC_UNWIND_FP, SREC_STOP_UNKNOWN, 0, 0 };
		uint64_t fid = intern_user(r, flags, &fp, out, mods, n);
		if (!fid)
			return SREC_STACK_OTHERERR;
		if (hmap_put(r->stackcache, &key, fid))
			err = SREC_E_NOMEM;
		else
			return fid;
	} else if (!err) {
		uint64_t fid = srec_intern_stack(r->in, r->w, SREC_STACK_KERNEL, flags, NULL, out,
						 mods, n, &err);
		if (!err) {
			if (hmap_put(r->stackcache, &key, fid))
				err = SREC_E_NOMEM;
			else
				return fid;
		}
	}
	if (!r->err)
		r->err = err;
	return SREC_STACK_OTHERERR;
}

/* The user stack of an event: a copy unwound just before it, or a
 * frame-pointer walk in a stack map. */
static uint64_t resolve_ustack(struct recorder *r, const struct sr_hdr *h,
			       const struct sr_stacks *st)
{
	if (st->ustack != SR_USTACK_COPIED)
		return resolve_stack(r, h, st->ustack, 1, st->leaf_ret);
	struct hkey k = hkey4(h->tid, st->ucookie, 0, 0);
	uint64_t *v = hmap_get(r->ucopies, &k);
	if (!v) {
		r->stack_fail++;
		return SREC_STACK_DRAINLOST;
	}
	uint64_t fid = *v;
	hmap_del(r->ucopies, &k);
	return fid;
}

static uint32_t origin_of(const struct recorder *r, const struct sr_hdr *h, long nr)
{
	if (h->flags & SR_F_KTHREAD || nr < 0)
		return SREC_ORIGIN_KERNEL;
	if (nr == r->nr.socket)
		return SREC_ORIGIN_SOCKET;
	if (nr == r->nr.socketpair)
		return SREC_ORIGIN_SOCKETPAIR;
	if (nr == r->nr.accept)
		return SREC_ORIGIN_ACCEPT;
	if (nr == r->nr.accept4)
		return SREC_ORIGIN_ACCEPT4;
	return SREC_ORIGIN_OTHER;
}

/* BPF's how values other than SR_HOW_SYSCALL are the format's. */
_Static_assert((int)SR_HOW_FREED == (int)SREC_HOW_FREED && (int)SR_HOW_REUSED == (int)SREC_HOW_REUSED,
	       "ringbuf_events.h and srec_records.h must agree on RELEASE how");

static uint32_t how_of(const struct recorder *r, const struct sr_release *e)
{
	long nr = e->sysnr;

	if (e->how != SR_HOW_SYSCALL)
		return e->how; /* same numbering as the format's */
	if (e->h.flags & SR_F_KTHREAD || nr < 0)
		return SREC_HOW_OTHER;
	if (nr == r->nr.close)
		return SREC_HOW_CLOSE;
	if (nr == r->nr.dup2 || nr == r->nr.dup3)
		return SREC_HOW_DUP2;
	if (nr == r->nr.close_range)
		return SREC_HOW_CLOSE_RANGE;
	/* A socket released inside accept() is the one the call made for a
	 * connection it then failed to take (EAGAIN...): fd is -errno. */
	if (nr == r->nr.accept || nr == r->nr.accept4)
		return SREC_HOW_ACCEPT_FAILED;
	if (nr == r->nr.exit || nr == r->nr.exit_group)
		return SREC_HOW_EXIT;
	return SREC_HOW_OTHER;
}

static void see(struct recorder *r, const struct sr_hdr *h)
{
	int err = procs_see(r->procs, h->pid, h->ts);
	if (err && !r->err)
		r->err = err;
}

static void add(struct recorder *r, const struct srec_record *rec)
{
	int err;
	if (r->err)
		return;
	if ((err = srec_writer_add(r->w, rec)))
		r->err = err;
}

/* Point b at the address (4 or 16 bytes by family); with --redact the
 * pseudonym is built in `scratch` (16 bytes, owned by the caller). */
static void addr_bytes(const struct recorder *r, srec_bytes *b, uint32_t family, const uint8_t *a,
		       uint8_t *scratch)
{
	b->len = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	b->p = a;
	if (r->redact && b->len) {
		memcpy(scratch, a, b->len);
		pseudonym_addr(r->redact, scratch, b->len);
		b->p = scratch;
	}
}

/* The per-kind handlers.  Each gets an event whose size was checked
 * against its table row, fills `rec` (its union member zeroed, type set)
 * and returns 1 to have it written, 0 when it wrote what it had itself.
 * a1, a2: scratch for two address pseudonyms (--redact), alive until the
 * record is written. */
struct ev_out {
	struct srec_record rec;
	uint8_t a1[16], a2[16];
};
_Static_assert(sizeof(((struct sr_state *)0)->saddr) == sizeof(((struct ev_out *)0)->a1) &&
		       sizeof(((struct sr_preexist *)0)->raddr) == sizeof(((struct ev_out *)0)->a2),
	       "the pseudonym scratch holds an event's address");

/* Zero the common part and the one union member used (the record is large:
 * its STACK member holds 2 x SREC_MAX_FRAMES words), and set the type. */
#define REC_START(o, member, TYPE)                                                         \
	do {                                                                               \
		memset(&(o)->rec, 0, offsetof(struct srec_record, u) + sizeof((o)->rec.u.member)); \
		(o)->rec.type = (TYPE);                                                    \
	} while (0)

/* The SOCKINFO record of a socket, from an sr_sockinfo or from an sr_alloc
 * that carries its info (has_info): the two share these member names. */
#define SOCKINFO_FROM(r, o, e, when)                                   \
	do {                                                          \
		REC_START(o, sockinfo, SREC_R_SOCKINFO);              \
		fill_ev(r, &(o)->rec.u.sockinfo.ev, &(e)->h);         \
		(o)->rec.u.sockinfo.ev.ts = (when);                     \
		(o)->rec.u.sockinfo.serial = (e)->serial;             \
		(o)->rec.u.sockinfo.sk = (e)->sk_serial;              \
		(o)->rec.u.sockinfo.fd = (e)->fd;                     \
		(o)->rec.u.sockinfo.ino = (e)->ino;                   \
		(o)->rec.u.sockinfo.family = (e)->family;             \
		(o)->rec.u.sockinfo.stype = (e)->type;                \
		(o)->rec.u.sockinfo.protocol = (e)->protocol;         \
		(o)->rec.u.sockinfo.origin = (e)->origin;             \
	} while (0)

static int on_alloc(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_alloc *e = data;

	see(r, &e->h);
	REC_START(o, alloc, SREC_R_ALLOC);
	fill_ev(r, &o->rec.u.alloc.ev, &e->h);
	o->rec.u.alloc.serial = e->serial;
	o->rec.u.alloc.kstack = resolve_stack(r, &e->h, e->st.kstack, 0, 0);
	o->rec.u.alloc.ustack = resolve_ustack(r, &e->h, &e->st);
	o->rec.u.alloc.origin = origin_of(r, &e->h, e->sysnr);
	if (!e->has_info)
		return 1;
	/* The BPF side folded the socket's info into its allocation. */
	add(r, &o->rec);
	SOCKINFO_FROM(r, o, e, e->info_ts);
	return 1;
}

static int on_release(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_release *e = data;

	REC_START(o, release, SREC_R_RELEASE);
	fill_ev(r, &o->rec.u.release.ev, &e->h);
	o->rec.u.release.serial = e->serial;
	o->rec.u.release.kstack = resolve_stack(r, &e->h, e->st.kstack, 0, 0);
	o->rec.u.release.ustack = resolve_ustack(r, &e->h, &e->st);
	o->rec.u.release.how = how_of(r, e);
	o->rec.u.release.fd = e->fd;
	return 1;
}

static int on_sockinfo(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_sockinfo *e = data;

	see(r, &e->h);
	SOCKINFO_FROM(r, o, e, e->h.ts);
	return 1;
}

static int on_state(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_state *e = data;

	REC_START(o, state, SREC_R_STATE);
	fill_ev(r, &o->rec.u.state.ev, &e->h);
	o->rec.u.state.serial = e->serial;
	o->rec.u.state.sk = e->sk_serial;
	o->rec.u.state.owner = e->owner;
	o->rec.u.state.oldstate = e->oldstate;
	o->rec.u.state.newstate = e->newstate;
	o->rec.u.state.family = e->family;
	o->rec.u.state.sport = e->sport;
	o->rec.u.state.dport = e->dport;
	addr_bytes(r, &o->rec.u.state.saddr, e->family, e->saddr, o->a1);
	addr_bytes(r, &o->rec.u.state.daddr, e->family, e->daddr, o->a2);
	return 1;
}

static int on_connect(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_connect *e = data;

	see(r, &e->h);
	REC_START(o, connect, SREC_R_CONNECT);
	fill_ev(r, &o->rec.u.connect.ev, &e->h);
	o->rec.u.connect.serial = e->serial;
	o->rec.u.connect.sk = e->sk_serial;
	o->rec.u.connect.fd = e->fd;
	o->rec.u.connect.family = e->family;
	o->rec.u.connect.dport = e->dport;
	addr_bytes(r, &o->rec.u.connect.daddr, e->family, e->daddr, o->a1);
	o->rec.u.connect.dur_ns = e->dur_ns;
	o->rec.u.connect.ret = e->ret;
	o->rec.u.connect.flags = (e->h.flags & SR_F_NONBLOCK) ? SREC_CF_NONBLOCK : 0;
	o->rec.u.connect.kstack = resolve_stack(r, &e->h, e->st.kstack, 0, 0);
	o->rec.u.connect.ustack = resolve_ustack(r, &e->h, &e->st);
	return 1;
}

static int on_accept(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_accept *e = data;

	see(r, &e->h);
	REC_START(o, accept, SREC_R_ACCEPT);
	fill_ev(r, &o->rec.u.accept.ev, &e->h);
	o->rec.u.accept.lserial = e->lserial;
	o->rec.u.accept.serial = e->serial;
	o->rec.u.accept.sk = e->sk_serial;
	o->rec.u.accept.fd = e->fd;
	o->rec.u.accept.family = e->family;
	o->rec.u.accept.pport = e->pport;
	addr_bytes(r, &o->rec.u.accept.paddr, e->family, e->paddr, o->a1);
	o->rec.u.accept.dur_ns = e->dur_ns;
	o->rec.u.accept.estab_ts = e->estab_ts;
	o->rec.u.accept.kstack = resolve_stack(r, &e->h, e->st.kstack, 0, 0);
	o->rec.u.accept.ustack = resolve_ustack(r, &e->h, &e->st);
	return 1;
}

static int on_preexist(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_preexist *e = data;

	see(r, &e->h);
	REC_START(o, preexist, SREC_R_PREEXIST);
	fill_ev(r, &o->rec.u.preexist.ev, &e->h);
	o->rec.u.preexist.serial = e->serial;
	o->rec.u.preexist.fd = e->fd;
	o->rec.u.preexist.ino = e->ino;
	o->rec.u.preexist.family = e->family;
	o->rec.u.preexist.stype = e->type;
	o->rec.u.preexist.protocol = e->protocol;
	o->rec.u.preexist.tcpstate = e->tcpstate;
	o->rec.u.preexist.lport = e->lport;
	o->rec.u.preexist.rport = e->rport;
	addr_bytes(r, &o->rec.u.preexist.laddr, e->family, e->laddr, o->a1);
	addr_bytes(r, &o->rec.u.preexist.raddr, e->family, e->raddr, o->a2);
	return 1;
}

static int on_fork(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_proc *e = data;

	/* A new process may reuse the pid of one we knew (the side-band
	 * stream, when present, has handled it in time order). */
	if (!r->mw)
		procs_exit(r->procs, e->child);
	REC_START(o, fork, SREC_R_FORK);
	fill_ev(r, &o->rec.u.fork.ev, &e->h);
	o->rec.u.fork.child = e->child;
	return 1;
}

static int on_exec(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_proc *e = data;
	int err = 0;

	if (!r->mw)
		procs_exec_stale(r->procs, e->h.pid);
	see(r, &e->h);
	REC_START(o, exec, SREC_R_EXEC);
	fill_ev(r, &o->rec.u.exec.ev, &e->h);
	o->rec.u.exec.filename = srec_intern_string(r->in, r->w, e->filename,
						    strnlen(e->filename, sizeof(e->filename)), &err);
	if (err && !r->err)
		r->err = err;
	return 1;
}

static int on_proc_exit(struct recorder *r, const void *data, struct ev_out *o)
{
	const struct sr_proc *e = data;

	REC_START(o, exit, SREC_R_EXIT);
	fill_ev(r, &o->rec.u.exit.ev, &e->h);
	o->rec.u.exit.code = e->code;
	o->rec.u.exit.group_dead = e->group_dead;
	/* Written before the process is forgotten. */
	add(r, &o->rec);
	if (!r->mw)
		procs_exit(r->procs, e->h.pid);
	return 0;
}

/* One row per event kind: the size the event must have, whether it
 * normalizes user addresses (then the side-band mmaps up to its time must
 * be applied first), and its handler.  A kind without a row is from a
 * kernel side newer than this user side: counted, then ignored. */
static const struct {
	size_t size;
	bool no_maps;
	int (*fn)(struct recorder *r, const void *data, struct ev_out *o);
} kinds[] = {
	[SR_EV_ALLOC] = { sizeof(struct sr_alloc), false, on_alloc },
	[SR_EV_RELEASE] = { sizeof(struct sr_release), false, on_release },
	[SR_EV_SOCKINFO] = { sizeof(struct sr_sockinfo), false, on_sockinfo },
	[SR_EV_STATE] = { sizeof(struct sr_state), true, on_state },
	[SR_EV_CONNECT] = { sizeof(struct sr_connect), false, on_connect },
	[SR_EV_ACCEPT] = { sizeof(struct sr_accept), false, on_accept },
	[SR_EV_FORK] = { sizeof(struct sr_proc), true, on_fork },
	[SR_EV_EXEC] = { sizeof(struct sr_proc), false, on_exec },
	[SR_EV_EXIT] = { sizeof(struct sr_proc), true, on_proc_exit },
	[SR_EV_PREEXIST] = { sizeof(struct sr_preexist), false, on_preexist },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))
_Static_assert(N_KINDS <= sizeof(((struct recorder *)0)->by_kind) / sizeof(uint64_t),
	       "by_kind counts every kind");

int rec_handle(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;
	const struct sr_hdr *h = data;
	struct ev_out o;

	if (size < sizeof(*h))
		return 0;
	int known = h->kind < N_KINDS && kinds[h->kind].fn;
	/* Mappings made before this event must be known to normalize it: an
	 * event newer than the last side-band drain may belong to a process
	 * whose mmaps are still in the perf buffers (a short-lived one). */
	if (r->mw && !(known && kinds[h->kind].no_maps) && h->ts >= mmapw_drained_ns(r->mw))
		mmapw_drain(r->mw);
	mmapw_apply_until(r->mw, h->ts);
	if (h->kind == SR_EV_USTACK) {
		on_ustack(r, data, size);
		return r->err ? -1 : 0;
	}
	r->events++;
	r->by_kind[h->kind & 15]++;
	if (!known || size < kinds[h->kind].size)
		return 0;
	if (kinds[h->kind].fn(r, data, &o))
		add(r, &o.rec);
	/* A negative return stops ring_buffer__poll: the main loop then sees
	 * r->err and ends the recording cleanly. */
	return r->err ? -1 : 0;
}
