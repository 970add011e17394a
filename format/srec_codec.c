/* srec_codec.c - the record field tables and the one generic codec.
 *
 * Each record type is described by a list of fields; encoding and decoding
 * walk the same list, so the two cannot disagree.  The tables below are the
 * executable form of the spec's "Record bodies" section.
 */
#include "srec_codec.h"
#include "srec_error.h"
#include "srec_varint.h"
#include <string.h>

enum fkind {
	F_U,   /* unsigned varint */
	F_I,   /* signed varint (zigzag) */
	F_T,   /* timestamp: zigzag delta from the previous T in the block */
	F_D,   /* serial: zigzag delta from the previous D in the block */
	F_B,   /* bytes: uvarint length, then the bytes */
};

struct field {
	uint8_t kind;
	uint8_t size; /* of the C member: 4 or 8 (ignored for F_B) */
	uint16_t off; /* offset inside struct srec_record */
	const char *name; /* the spec's name of the field */
};

#define R(m) offsetof(struct srec_record, u.m)
#define F_(k, m, n) { k, (uint8_t)sizeof(((struct srec_record *)0)->u.m), (uint16_t)R(m), n }
#define FB(m, n) { F_B, 0, (uint16_t)R(m), n }
#define EVF(x) F_(F_T, x.ev.ts, "ts"), F_(F_U, x.ev.pid, "pid"), F_(F_U, x.ev.tid, "tid"), \
	F_(F_U, x.ev.comm, "comm"), F_(F_U, x.ev.cpu, "cpu")

static const struct field f_meta[] = {
	FB(meta.key, "key"),
	FB(meta.value, "value"),
};
static const struct field f_string[] = {
	F_(F_U, string.id, "id"),
	FB(string.str, "bytes"),
};
static const struct field f_module[] = {
	F_(F_U, module.id, "id"),
	F_(F_U, module.path, "path"),
	FB(module.build_id, "build_id"),
	F_(F_U, module.flags, "flags"),
};
static const struct field f_process[] = {
	F_(F_T, process.ts, "ts"),
	F_(F_U, process.pid, "pid"),
	F_(F_U, process.ppid, "ppid"),
	F_(F_U, process.comm, "comm"),
	F_(F_U, process.exe, "exe"),
	F_(F_U, process.start_ns, "start_ns"),
};
static const struct field f_mapping[] = {
	F_(F_T, mapping.ts, "ts"),
	F_(F_U, mapping.pid, "pid"),
	F_(F_U, mapping.gen, "gen"),
	F_(F_U, mapping.start, "start"),
	F_(F_U, mapping.end, "end"),
	F_(F_U, mapping.pgoff, "pgoff"),
	F_(F_U, mapping.module, "module"),
	F_(F_U, mapping.prot, "prot"),
};
static const struct field f_ksym[] = {
	F_(F_I, ksym.off, "off"),
	F_(F_U, ksym.size, "size"),
	F_(F_U, ksym.name, "name"),
	F_(F_U, ksym.kmod, "kmod"),
};
static const struct field f_symbol[] = {
	F_(F_U, symbol.module, "module"),
	F_(F_U, symbol.off, "off"),
	F_(F_U, symbol.size, "size"),
	F_(F_U, symbol.name, "name"),
};
static const struct field f_loss[] = {
	F_(F_T, loss.ts, "ts"),
	F_(F_U, loss.window_ns, "window_ns"),
	F_(F_U, loss.cpu, "cpu"),
	F_(F_U, loss.kind, "kind"),
	F_(F_U, loss.count, "count"),
};
static const struct field f_alloc[] = {
	EVF(alloc),
	F_(F_D, alloc.serial, "serial"),
	F_(F_U, alloc.kstack, "kstack"),
	F_(F_U, alloc.ustack, "ustack"),
	F_(F_U, alloc.origin, "origin"),
};
static const struct field f_release[] = {
	EVF(release),
	F_(F_D, release.serial, "serial"),
	F_(F_U, release.kstack, "kstack"),
	F_(F_U, release.ustack, "ustack"),
	F_(F_U, release.how, "how"),
	F_(F_I, release.fd, "fd"),
};
static const struct field f_sockinfo[] = {
	EVF(sockinfo),
	F_(F_D, sockinfo.serial, "serial"),
	F_(F_U, sockinfo.sk, "sk"),
	F_(F_I, sockinfo.fd, "fd"),
	F_(F_U, sockinfo.ino, "ino"),
	F_(F_U, sockinfo.family, "family"),
	F_(F_U, sockinfo.stype, "type"),
	F_(F_U, sockinfo.protocol, "protocol"),
	F_(F_U, sockinfo.origin, "origin"),
};
static const struct field f_state[] = {
	EVF(state),
	F_(F_D, state.serial, "serial"),
	F_(F_U, state.sk, "sk"),
	F_(F_U, state.owner, "owner"),
	F_(F_U, state.oldstate, "oldstate"),
	F_(F_U, state.newstate, "newstate"),
	F_(F_U, state.family, "family"),
	F_(F_U, state.sport, "sport"),
	F_(F_U, state.dport, "dport"),
	FB(state.saddr, "saddr"),
	FB(state.daddr, "daddr"),
};
static const struct field f_connect[] = {
	EVF(connect),
	F_(F_D, connect.serial, "serial"),
	F_(F_U, connect.sk, "sk"),
	F_(F_I, connect.fd, "fd"),
	F_(F_U, connect.family, "family"),
	F_(F_U, connect.dport, "dport"),
	FB(connect.daddr, "daddr"),
	F_(F_U, connect.dur_ns, "dur_ns"),
	F_(F_I, connect.ret, "ret"),
	F_(F_U, connect.flags, "flags"),
	F_(F_U, connect.kstack, "kstack"),
	F_(F_U, connect.ustack, "ustack"),
};
static const struct field f_accept[] = {
	EVF(accept),
	F_(F_D, accept.lserial, "lserial"),
	F_(F_D, accept.serial, "serial"),
	F_(F_U, accept.sk, "sk"),
	F_(F_I, accept.fd, "fd"),
	F_(F_U, accept.family, "family"),
	F_(F_U, accept.pport, "pport"),
	FB(accept.paddr, "paddr"),
	F_(F_U, accept.dur_ns, "dur_ns"),
	F_(F_U, accept.flags, "flags"),
	F_(F_U, accept.estab_ts, "estab_ts"),
	F_(F_U, accept.kstack, "kstack"),
	F_(F_U, accept.ustack, "ustack"),
};
static const struct field f_fork[] = {
	EVF(fork),
	F_(F_U, fork.child, "child"),
};
static const struct field f_exec[] = {
	EVF(exec),
	F_(F_U, exec.filename, "filename"),
};
static const struct field f_exit[] = {
	EVF(exit),
	F_(F_I, exit.code, "code"),
	F_(F_U, exit.group_dead, "group_dead"),
};
static const struct field f_preexist[] = {
	EVF(preexist),
	F_(F_D, preexist.serial, "serial"),
	F_(F_I, preexist.fd, "fd"),
	F_(F_U, preexist.ino, "ino"),
	F_(F_U, preexist.family, "family"),
	F_(F_U, preexist.stype, "type"),
	F_(F_U, preexist.protocol, "protocol"),
	F_(F_U, preexist.tcpstate, "tcpstate"),
	F_(F_U, preexist.lport, "lport"),
	F_(F_U, preexist.rport, "rport"),
	FB(preexist.laddr, "laddr"),
	FB(preexist.raddr, "raddr"),
};

struct rdesc {
	const char *name;
	const struct field *f;
	unsigned nf;
	int is_event;
};

#define D(n, a, e) { n, a, sizeof(a) / sizeof(a[0]), e }
static const struct rdesc rdescs[SREC_R__MAX] = {
	[SREC_R_META] = D("meta", f_meta, 0),
	[SREC_R_STRING] = D("string", f_string, 0),
	[SREC_R_MODULE] = D("module", f_module, 0),
	[SREC_R_STACK] = { "stack", NULL, 0, 0 },
	[SREC_R_PROCESS] = D("process", f_process, 0),
	[SREC_R_MAPPING] = D("mapping", f_mapping, 0),
	[SREC_R_KSYM] = D("ksym", f_ksym, 0),
	[SREC_R_LOSS] = D("loss", f_loss, 0),
	[SREC_R_SYMBOL] = D("symbol", f_symbol, 0),
	[SREC_R_ALLOC] = D("alloc", f_alloc, 1),
	[SREC_R_RELEASE] = D("release", f_release, 1),
	[SREC_R_SOCKINFO] = D("sockinfo", f_sockinfo, 1),
	[SREC_R_STATE] = D("state", f_state, 1),
	[SREC_R_CONNECT] = D("connect", f_connect, 1),
	[SREC_R_ACCEPT] = D("accept", f_accept, 1),
	[SREC_R_FORK] = D("fork", f_fork, 1),
	[SREC_R_EXEC] = D("exec", f_exec, 1),
	[SREC_R_EXIT] = D("exit", f_exit, 1),
	[SREC_R_PREEXIST] = D("preexist", f_preexist, 1),
};

const char *srec_record_name(uint32_t type)
{
	return type < SREC_R__MAX ? rdescs[type].name : NULL;
}

int srec_record_is_event(uint32_t type)
{
	return type < SREC_R__MAX && rdescs[type].is_event;
}

const struct srec_ev *srec_record_ev(const struct srec_record *r)
{
	/* Every event member starts with its struct srec_ev, and all members
	 * of the union share its address. */
	return srec_record_is_event(r->type) ? (const struct srec_ev *)&r->u : NULL;
}

static uint64_t get_uint(const struct srec_record *r, const struct field *f)
{
	const char *p = (const char *)r + f->off;

	if (f->size == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		return f->kind == F_I ? (uint64_t)(int64_t)(int32_t)v : v;
	}
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int set_uint(struct srec_record *r, const struct field *f, uint64_t v)
{
	char *p = (char *)r + f->off;

	if (f->size == 4) {
		if (f->kind == F_I) {
			int64_t s = (int64_t)v;
			if (s < INT32_MIN || s > INT32_MAX)
				return SREC_E_RECORD;
			int32_t x = (int32_t)s;
			memcpy(p, &x, 4);
		} else {
			if (v > UINT32_MAX)
				return SREC_E_RECORD;
			uint32_t x = (uint32_t)v;
			memcpy(p, &x, 4);
		}
		return SREC_OK;
	}
	memcpy(p, &v, 8);
	return SREC_OK;
}

size_t srec_encoded_max(const struct srec_record *r)
{
	size_t n = 20; /* type + body length */

	if (r->type == SREC_R_STACK)
		return n + 40 + (size_t)r->u.stack.nframes * 20;
	if (r->type >= SREC_R__MAX || !rdescs[r->type].name)
		return 0;
	const struct rdesc *d = &rdescs[r->type];
	for (unsigned i = 0; i < d->nf; i++) {
		n += 10;
		if (d->f[i].kind == F_B) {
			const srec_bytes *b = (const void *)((const char *)r + d->f[i].off);
			n += b->len;
		}
	}
	return n;
}

static uint8_t *encode_stack(const struct srec_record *r, uint8_t *q)
{
	const uint32_t n = r->u.stack.nframes;
	int64_t prev = 0;

	q = srec_uv_put(q, r->u.stack.id);
	q = srec_uv_put(q, r->u.stack.kind);
	q = srec_uv_put(q, r->u.stack.flags);
	q = srec_uv_put(q, n);
	for (uint32_t i = 0; i < n; i++) {
		if (r->u.stack.kind == SREC_STACK_USER)
			q = srec_uv_put(q, r->u.stack.modules[i]);
		/* Frames are delta-coded: neighbours share most high bits. */
		q = srec_uv_put(q, srec_zz_enc(r->u.stack.frames[i] - prev));
		prev = r->u.stack.frames[i];
	}
	return q;
}

long srec_encode(const struct srec_record *r, uint8_t *buf, struct srec_codec_state *st)
{
	uint8_t body_tmp_hdr[20];
	uint8_t *body;
	uint8_t *q;
	size_t body_len;

	if (r->type == 0 || r->type >= SREC_R__MAX || !rdescs[r->type].name)
		return SREC_E_ARG;
	if (r->type == SREC_R_STACK && r->u.stack.nframes > SREC_MAX_FRAMES)
		return SREC_E_ARG;
	/* Encode the body after a gap large enough for the header, then move
	 * it down once its length is known. */
	body = buf + sizeof(body_tmp_hdr);
	q = body;
	if (r->type == SREC_R_STACK) {
		q = encode_stack(r, q);
	} else {
		const struct rdesc *d = &rdescs[r->type];
		for (unsigned i = 0; i < d->nf; i++) {
			const struct field *f = &d->f[i];
			uint64_t v;

			switch (f->kind) {
			case F_U:
				q = srec_uv_put(q, get_uint(r, f));
				break;
			case F_I:
				q = srec_uv_put(q, srec_zz_enc((int64_t)get_uint(r, f)));
				break;
			case F_T:
				v = get_uint(r, f);
				q = srec_uv_put(q, srec_zz_enc((int64_t)(v - st->prev_ts)));
				st->prev_ts = v;
				break;
			case F_D:
				v = get_uint(r, f);
				q = srec_uv_put(q, srec_zz_enc((int64_t)(v - st->prev_serial)));
				st->prev_serial = v;
				break;
			case F_B: {
				const srec_bytes *b = (const void *)((const char *)r + f->off);
				q = srec_uv_put(q, b->len);
				if (b->len)
					memcpy(q, b->p, b->len);
				q += b->len;
				break;
			}
			}
		}
	}
	body_len = (size_t)(q - body);
	if (body_len > SREC_MAX_RECORD)
		return SREC_E_TOOBIG;
	uint8_t *h = srec_uv_put(body_tmp_hdr, r->type);
	h = srec_uv_put(h, body_len);
	size_t hl = (size_t)(h - body_tmp_hdr);
	memcpy(buf, body_tmp_hdr, hl);
	memmove(buf + hl, body, body_len);
	return (long)(hl + body_len);
}

static int decode_stack(const uint8_t *p, const uint8_t *end, struct srec_record *out)
{
	uint64_t id, kind, flags, n, v;
	int64_t prev = 0;

	if (!(p = srec_uv_get(p, end, &id)) || !(p = srec_uv_get(p, end, &kind)) ||
	    !(p = srec_uv_get(p, end, &flags)) || !(p = srec_uv_get(p, end, &n)))
		return SREC_E_RECORD;
	if (n > SREC_MAX_FRAMES || (kind != SREC_STACK_KERNEL && kind != SREC_STACK_USER) ||
	    id < SREC_STACK_FIRST_ID || flags > UINT32_MAX)
		return SREC_E_RECORD;
	out->u.stack.id = id;
	out->u.stack.kind = (uint32_t)kind;
	out->u.stack.flags = (uint32_t)flags;
	out->u.stack.nframes = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t mod = 0;

		if (kind == SREC_STACK_USER && !(p = srec_uv_get(p, end, &mod)))
			return SREC_E_RECORD;
		if (!(p = srec_uv_get(p, end, &v)))
			return SREC_E_RECORD;
		prev = (int64_t)((uint64_t)prev + (uint64_t)srec_zz_dec(v));
		out->u.stack.frames[i] = prev;
		out->u.stack.modules[i] = mod;
	}
	return SREC_OK;
}

int srec_decode(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		struct srec_record *out)
{
	const uint8_t *end = p + len;

	if (type == 0 || type >= SREC_R__MAX || !rdescs[type].name)
		return SREC_E_ARG;
	out->type = type;
	if (type == SREC_R_STACK)
		return decode_stack(p, end, out);

	const struct rdesc *d = &rdescs[type];
	for (unsigned i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];
		uint64_t v = 0;

		if (p == end) {
			/* Older minor version: absent trailing fields read as 0. */
			if (f->kind == F_B) {
				srec_bytes *b = (void *)((char *)out + f->off);
				/* Empty, but not NULL: callers hand b->p to memcpy()
				 * and strndup(), whose pointers must be valid even
				 * for a length of 0. */
				b->p = p;
				b->len = 0;
			} else {
				set_uint(out, f, 0);
			}
			continue;
		}
		if (!(p = srec_uv_get(p, end, &v)))
			return SREC_E_RECORD;
		switch (f->kind) {
		case F_U:
			break;
		case F_I:
			v = (uint64_t)srec_zz_dec(v);
			break;
		case F_T:
			st->prev_ts += (uint64_t)srec_zz_dec(v);
			v = st->prev_ts;
			break;
		case F_D:
			st->prev_serial += (uint64_t)srec_zz_dec(v);
			v = st->prev_serial;
			break;
		case F_B: {
			srec_bytes *b = (void *)((char *)out + f->off);
			if (v > (uint64_t)(end - p))
				return SREC_E_RECORD;
			b->p = p;
			b->len = (uint32_t)v;
			p += v;
			continue;
		}
		}
		if (set_uint(out, f, v) != SREC_OK)
			return SREC_E_RECORD;
	}
	/* Bytes left over are fields of a newer minor version: ignored. */
	return SREC_OK;
}

unsigned srec_record_fields(uint32_t type, struct srec_field_info *out, unsigned cap)
{
	static const char kinds[] = { [F_U] = 'U', [F_I] = 'I', [F_T] = 'T', [F_D] = 'D', [F_B] = 'B' };

	if (type == 0 || type >= SREC_R__MAX || !rdescs[type].name)
		return 0;
	const struct rdesc *d = &rdescs[type];
	for (unsigned i = 0; i < d->nf && i < cap; i++)
		out[i] = (struct srec_field_info){ d->f[i].name, kinds[d->f[i].kind], d->f[i].size,
						   d->f[i].off };
	return d->nf;
}

int64_t srec_field_int(const struct srec_record *r, const struct srec_field_info *f)
{
	const struct field tmp = { (uint8_t)(f->kind == 'I' ? F_I : F_U), f->size, f->offset, f->name };
	return (int64_t)get_uint(r, &tmp);
}
