/* events.c - one function per event kind, each building one record. */
#include "events.h"
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/types.h>
#include <string.h>
#include "elfsyms.h"
#include "ringbuf_events.h"
#include "srec_error.h"

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
	     struct procs *procs, struct ksyms *ks, int stack_fd0, int stack_fd1)
{
	memset(r, 0, sizeof(*r));
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
	b->len = family == 2 ? 4 : family == 10 ? 16 : 0;
	b->p = a;
	if (r->redact && b->len) {
		memcpy(scratch, a, b->len);
		pseudonym_addr(r->redact, scratch, b->len);
		b->p = scratch;
	}
}

int rec_handle(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;
	const struct sr_hdr *h = data;
	struct srec_record rec;
	uint8_t a1[16], a2[16]; /* pseudonyms, with --redact */

	if (size < sizeof(*h))
		return 0;
	/* Mappings made before this event must be known to normalize it: an
	 * event newer than the last side-band drain may belong to a process
	 * whose mmaps are still in the perf buffers (a short-lived one). */
	if (r->mw && h->kind != SR_EV_STATE && h->kind != SR_EV_FORK && h->kind != SR_EV_EXIT &&
	    h->ts >= mmapw_drained_ns(r->mw)) /* those three never look at maps */
		mmapw_drain(r->mw);
	mmapw_apply_until(r->mw, h->ts);
	if (h->kind == SR_EV_USTACK) {
		on_ustack(r, data, size);
		return r->err ? -1 : 0;
	}
	r->events++;
	r->by_kind[h->kind & 15]++;
	/* Only the union member used is initialised: the record is large. */
	memset(&rec, 0, offsetof(struct srec_record, u) + sizeof(rec.u.accept));

	switch (h->kind) {
	case SR_EV_ALLOC: {
		const struct sr_alloc *e = data;
		if (size < sizeof(*e))
			return 0;
		see(r, h);
		rec.type = SREC_R_ALLOC;
		fill_ev(r, &rec.u.alloc.ev, h);
		rec.u.alloc.serial = e->serial;
		rec.u.alloc.kstack = resolve_stack(r, h, e->st.kstack, 0, 0);
		rec.u.alloc.ustack = resolve_ustack(r, h, &e->st);
		rec.u.alloc.origin = origin_of(r, h, e->sysnr);
		if (!e->has_info)
			break;
		/* The BPF side folded the socket's info into its allocation. */
		add(r, &rec);
		memset(&rec, 0, offsetof(struct srec_record, u) + sizeof(rec.u.sockinfo));
		rec.type = SREC_R_SOCKINFO;
		fill_ev(r, &rec.u.sockinfo.ev, h);
		rec.u.sockinfo.ev.ts = e->info_ts;
		rec.u.sockinfo.serial = e->serial;
		rec.u.sockinfo.sk = e->sk_serial;
		rec.u.sockinfo.fd = e->fd;
		rec.u.sockinfo.ino = e->ino;
		rec.u.sockinfo.family = e->family;
		rec.u.sockinfo.stype = e->type;
		rec.u.sockinfo.protocol = e->protocol;
		rec.u.sockinfo.origin = e->origin;
		break;
	}
	case SR_EV_RELEASE: {
		const struct sr_release *e = data;
		if (size < sizeof(*e))
			return 0;
		rec.type = SREC_R_RELEASE;
		fill_ev(r, &rec.u.release.ev, h);
		rec.u.release.serial = e->serial;
		rec.u.release.kstack = resolve_stack(r, h, e->st.kstack, 0, 0);
		rec.u.release.ustack = resolve_ustack(r, h, &e->st);
		rec.u.release.how = how_of(r, e);
		rec.u.release.fd = e->fd;
		break;
	}
	case SR_EV_SOCKINFO: {
		const struct sr_sockinfo *e = data;
		if (size < sizeof(*e))
			return 0;
		see(r, h);
		rec.type = SREC_R_SOCKINFO;
		fill_ev(r, &rec.u.sockinfo.ev, h);
		rec.u.sockinfo.serial = e->serial;
		rec.u.sockinfo.sk = e->sk_serial;
		rec.u.sockinfo.fd = e->fd;
		rec.u.sockinfo.ino = e->ino;
		rec.u.sockinfo.family = e->family;
		rec.u.sockinfo.stype = e->type;
		rec.u.sockinfo.protocol = e->protocol;
		rec.u.sockinfo.origin = e->origin;
		break;
	}
	case SR_EV_STATE: {
		const struct sr_state *e = data;
		if (size < sizeof(*e))
			return 0;
		rec.type = SREC_R_STATE;
		fill_ev(r, &rec.u.state.ev, h);
		rec.u.state.serial = e->serial;
		rec.u.state.sk = e->sk_serial;
		rec.u.state.owner = e->owner;
		rec.u.state.oldstate = e->oldstate;
		rec.u.state.newstate = e->newstate;
		rec.u.state.family = e->family;
		rec.u.state.sport = e->sport;
		rec.u.state.dport = e->dport;
		addr_bytes(r, &rec.u.state.saddr, e->family, e->saddr, a1);
		addr_bytes(r, &rec.u.state.daddr, e->family, e->daddr, a2);
		break;
	}
	case SR_EV_CONNECT: {
		const struct sr_connect *e = data;
		if (size < sizeof(*e))
			return 0;
		see(r, h);
		rec.type = SREC_R_CONNECT;
		fill_ev(r, &rec.u.connect.ev, h);
		rec.u.connect.serial = e->serial;
		rec.u.connect.sk = e->sk_serial;
		rec.u.connect.fd = e->fd;
		rec.u.connect.family = e->family;
		rec.u.connect.dport = e->dport;
		addr_bytes(r, &rec.u.connect.daddr, e->family, e->daddr, a1);
		rec.u.connect.dur_ns = e->dur_ns;
		rec.u.connect.ret = e->ret;
		rec.u.connect.flags = (h->flags & SR_F_NONBLOCK) ? SREC_CF_NONBLOCK : 0;
		rec.u.connect.kstack = resolve_stack(r, h, e->st.kstack, 0, 0);
		rec.u.connect.ustack = resolve_ustack(r, h, &e->st);
		break;
	}
	case SR_EV_ACCEPT: {
		const struct sr_accept *e = data;
		if (size < sizeof(*e))
			return 0;
		see(r, h);
		rec.type = SREC_R_ACCEPT;
		fill_ev(r, &rec.u.accept.ev, h);
		rec.u.accept.lserial = e->lserial;
		rec.u.accept.serial = e->serial;
		rec.u.accept.sk = e->sk_serial;
		rec.u.accept.fd = e->fd;
		rec.u.accept.family = e->family;
		rec.u.accept.pport = e->pport;
		addr_bytes(r, &rec.u.accept.paddr, e->family, e->paddr, a1);
		rec.u.accept.dur_ns = e->dur_ns;
		rec.u.accept.estab_ts = e->estab_ts;
		rec.u.accept.kstack = resolve_stack(r, h, e->st.kstack, 0, 0);
		rec.u.accept.ustack = resolve_ustack(r, h, &e->st);
		break;
	}
	case SR_EV_PREEXIST: {
		const struct sr_preexist *e = data;
		if (size < sizeof(*e))
			return 0;
		see(r, h);
		rec.type = SREC_R_PREEXIST;
		fill_ev(r, &rec.u.preexist.ev, h);
		rec.u.preexist.serial = e->serial;
		rec.u.preexist.fd = e->fd;
		rec.u.preexist.ino = e->ino;
		rec.u.preexist.family = e->family;
		rec.u.preexist.stype = e->type;
		rec.u.preexist.protocol = e->protocol;
		rec.u.preexist.tcpstate = e->tcpstate;
		rec.u.preexist.lport = e->lport;
		rec.u.preexist.rport = e->rport;
		addr_bytes(r, &rec.u.preexist.laddr, e->family, e->laddr, a1);
		addr_bytes(r, &rec.u.preexist.raddr, e->family, e->raddr, a2);
		break;
	}
	case SR_EV_FORK: {
		const struct sr_proc *e = data;
		if (size < sizeof(*e))
			return 0;
		/* A new process may reuse the pid of one we knew (the side-band
		 * stream, when present, has handled it in time order). */
		if (!r->mw)
			procs_exit(r->procs, e->child);
		rec.type = SREC_R_FORK;
		fill_ev(r, &rec.u.fork.ev, h);
		rec.u.fork.child = e->child;
		break;
	}
	case SR_EV_EXEC: {
		const struct sr_proc *e = data;
		int err = 0;
		if (size < sizeof(*e))
			return 0;
		if (!r->mw)
			procs_exec_stale(r->procs, h->pid);
		see(r, h);
		rec.type = SREC_R_EXEC;
		fill_ev(r, &rec.u.exec.ev, h);
		rec.u.exec.filename = srec_intern_string(r->in, r->w, e->filename,
							 strnlen(e->filename, sizeof(e->filename)), &err);
		if (err && !r->err)
			r->err = err;
		break;
	}
	case SR_EV_EXIT: {
		const struct sr_proc *e = data;
		if (size < sizeof(*e))
			return 0;
		rec.type = SREC_R_EXIT;
		fill_ev(r, &rec.u.exit.ev, h);
		rec.u.exit.code = e->code;
		rec.u.exit.group_dead = e->group_dead;
		add(r, &rec);
		if (!r->mw)
			procs_exit(r->procs, h->pid);
		return r->err ? -1 : 0;
	}
	default:
		return 0; /* a kernel side newer than this user side: ignore */
	}
	add(r, &rec);
	/* A negative return stops ring_buffer__poll: the main loop then sees
	 * r->err and ends the recording cleanly. */
	return r->err ? -1 : 0;
}
