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
};

#define R(m) offsetof(struct srec_record, u.m)
#define FLD(k, m) { k, (uint8_t)sizeof(((struct srec_record *)0)->u.m), (uint16_t)R(m) }
#define FB(m) { F_B, 0, (uint16_t)R(m) }
#define EVF(x) FLD(F_T, x.ev.ts), FLD(F_U, x.ev.pid), FLD(F_U, x.ev.tid), \
	FLD(F_U, x.ev.comm), FLD(F_U, x.ev.cpu)

static const struct field f_meta[] = { FB(meta.key), FB(meta.value) };
static const struct field f_string[] = { FLD(F_U, string.id), FB(string.str) };
static const struct field f_module[] = { FLD(F_U, module.id), FLD(F_U, module.path),
	FB(module.build_id), FLD(F_U, module.flags) };
static const struct field f_process[] = { FLD(F_T, process.ts), FLD(F_U, process.pid),
	FLD(F_U, process.ppid), FLD(F_U, process.comm), FLD(F_U, process.exe),
	FLD(F_U, process.start_ns) };
static const struct field f_mapping[] = { FLD(F_T, mapping.ts), FLD(F_U, mapping.pid),
	FLD(F_U, mapping.gen), FLD(F_U, mapping.start), FLD(F_U, mapping.end),
	FLD(F_U, mapping.pgoff), FLD(F_U, mapping.module), FLD(F_U, mapping.prot) };
static const struct field f_ksym[] = { FLD(F_I, ksym.off), FLD(F_U, ksym.size),
	FLD(F_U, ksym.name), FLD(F_U, ksym.kmod) };
static const struct field f_loss[] = { FLD(F_T, loss.ts), FLD(F_U, loss.window_ns),
	FLD(F_U, loss.cpu), FLD(F_U, loss.kind), FLD(F_U, loss.count) };
static const struct field f_alloc[] = { EVF(alloc), FLD(F_D, alloc.serial),
	FLD(F_U, alloc.kstack), FLD(F_U, alloc.ustack), FLD(F_U, alloc.origin) };
static const struct field f_release[] = { EVF(release), FLD(F_D, release.serial),
	FLD(F_U, release.kstack), FLD(F_U, release.ustack), FLD(F_U, release.how),
	FLD(F_I, release.fd) };
static const struct field f_sockinfo[] = { EVF(sockinfo), FLD(F_D, sockinfo.serial),
	FLD(F_U, sockinfo.sk), FLD(F_I, sockinfo.fd), FLD(F_U, sockinfo.ino),
	FLD(F_U, sockinfo.family), FLD(F_U, sockinfo.stype), FLD(F_U, sockinfo.protocol),
	FLD(F_U, sockinfo.origin) };
static const struct field f_state[] = { EVF(state), FLD(F_D, state.serial),
	FLD(F_U, state.sk), FLD(F_U, state.owner), FLD(F_U, state.oldstate),
	FLD(F_U, state.newstate), FLD(F_U, state.family), FLD(F_U, state.sport),
	FLD(F_U, state.dport), FB(state.saddr), FB(state.daddr) };
static const struct field f_connect[] = { EVF(connect), FLD(F_D, connect.serial),
	FLD(F_U, connect.sk), FLD(F_I, connect.fd), FLD(F_U, connect.family),
	FLD(F_U, connect.dport), FB(connect.daddr), FLD(F_U, connect.dur_ns),
	FLD(F_I, connect.ret), FLD(F_U, connect.flags), FLD(F_U, connect.kstack),
	FLD(F_U, connect.ustack) };
static const struct field f_accept[] = { EVF(accept), FLD(F_D, accept.lserial),
	FLD(F_D, accept.serial), FLD(F_U, accept.sk), FLD(F_I, accept.fd),
	FLD(F_U, accept.family), FLD(F_U, accept.pport), FB(accept.paddr),
	FLD(F_U, accept.dur_ns), FLD(F_U, accept.flags), FLD(F_U, accept.estab_ts),
	FLD(F_U, accept.kstack), FLD(F_U, accept.ustack) };
static const struct field f_fork[] = { EVF(fork), FLD(F_U, fork.child) };
static const struct field f_exec[] = { EVF(exec), FLD(F_U, exec.filename) };
static const struct field f_exit[] = { EVF(exit), FLD(F_I, exit.code), FLD(F_U, exit.group_dead) };
static const struct field f_preexist[] = { EVF(preexist), FLD(F_D, preexist.serial),
	FLD(F_I, preexist.fd), FLD(F_U, preexist.ino), FLD(F_U, preexist.family),
	FLD(F_U, preexist.stype), FLD(F_U, preexist.protocol), FLD(F_U, preexist.tcpstate),
	FLD(F_U, preexist.lport), FLD(F_U, preexist.rport), FB(preexist.laddr),
	FB(preexist.raddr) };

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
				b->p = NULL;
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
