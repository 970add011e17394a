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

/* The field lists, as X-macros: X(kind, member of u, spec name).  Each
 * list expands twice, into the table below (which the encoder, the
 * generic decoder and srec_record_fields() walk) and into one straight-line
 * decoder per type (the hot path of the reader), so the two decoders
 * cannot disagree on the layout. */
#define EVF(X, x) X(T, x.ev.ts, "ts") X(U, x.ev.pid, "pid") X(U, x.ev.tid, "tid") \
	X(U, x.ev.comm, "comm") X(U, x.ev.cpu, "cpu")
#define FIELDS_META(X) \
	X(B, meta.key, "key") \
	X(B, meta.value, "value")
#define FIELDS_STRING(X) \
	X(U, string.id, "id") \
	X(B, string.str, "bytes")
#define FIELDS_MODULE(X) \
	X(U, module.id, "id") \
	X(U, module.path, "path") \
	X(B, module.build_id, "build_id") \
	X(U, module.flags, "flags")
#define FIELDS_PROCESS(X) \
	X(T, process.ts, "ts") \
	X(U, process.pid, "pid") \
	X(U, process.ppid, "ppid") \
	X(U, process.comm, "comm") \
	X(U, process.exe, "exe") \
	X(U, process.start_ns, "start_ns")
#define FIELDS_MAPPING(X) \
	X(T, mapping.ts, "ts") \
	X(U, mapping.pid, "pid") \
	X(U, mapping.gen, "gen") \
	X(U, mapping.start, "start") \
	X(U, mapping.end, "end") \
	X(U, mapping.pgoff, "pgoff") \
	X(U, mapping.module, "module") \
	X(U, mapping.prot, "prot")
#define FIELDS_KSYM(X) \
	X(I, ksym.off, "off") \
	X(U, ksym.size, "size") \
	X(U, ksym.name, "name") \
	X(U, ksym.kmod, "kmod")
#define FIELDS_SYMBOL(X) \
	X(U, symbol.module, "module") \
	X(U, symbol.off, "off") \
	X(U, symbol.size, "size") \
	X(U, symbol.name, "name")
#define FIELDS_LOSS(X) \
	X(T, loss.ts, "ts") \
	X(U, loss.window_ns, "window_ns") \
	X(U, loss.cpu, "cpu") \
	X(U, loss.kind, "kind") \
	X(U, loss.count, "count")
#define FIELDS_ALLOC(X) \
	EVF(X, alloc) \
	X(D, alloc.serial, "serial") \
	X(U, alloc.kstack, "kstack") \
	X(U, alloc.ustack, "ustack") \
	X(U, alloc.origin, "origin")
#define FIELDS_RELEASE(X) \
	EVF(X, release) \
	X(D, release.serial, "serial") \
	X(U, release.kstack, "kstack") \
	X(U, release.ustack, "ustack") \
	X(U, release.how, "how") \
	X(I, release.fd, "fd")
#define FIELDS_SOCKINFO(X) \
	EVF(X, sockinfo) \
	X(D, sockinfo.serial, "serial") \
	X(U, sockinfo.sk, "sk") \
	X(I, sockinfo.fd, "fd") \
	X(U, sockinfo.ino, "ino") \
	X(U, sockinfo.family, "family") \
	X(U, sockinfo.stype, "type") \
	X(U, sockinfo.protocol, "protocol") \
	X(U, sockinfo.origin, "origin")
#define FIELDS_STATE(X) \
	EVF(X, state) \
	X(D, state.serial, "serial") \
	X(U, state.sk, "sk") \
	X(U, state.owner, "owner") \
	X(U, state.oldstate, "oldstate") \
	X(U, state.newstate, "newstate") \
	X(U, state.family, "family") \
	X(U, state.sport, "sport") \
	X(U, state.dport, "dport") \
	X(B, state.saddr, "saddr") \
	X(B, state.daddr, "daddr")
#define FIELDS_CONNECT(X) \
	EVF(X, connect) \
	X(D, connect.serial, "serial") \
	X(U, connect.sk, "sk") \
	X(I, connect.fd, "fd") \
	X(U, connect.family, "family") \
	X(U, connect.dport, "dport") \
	X(B, connect.daddr, "daddr") \
	X(U, connect.dur_ns, "dur_ns") \
	X(I, connect.ret, "ret") \
	X(U, connect.flags, "flags") \
	X(U, connect.kstack, "kstack") \
	X(U, connect.ustack, "ustack")
#define FIELDS_ACCEPT(X) \
	EVF(X, accept) \
	X(D, accept.lserial, "lserial") \
	X(D, accept.serial, "serial") \
	X(U, accept.sk, "sk") \
	X(I, accept.fd, "fd") \
	X(U, accept.family, "family") \
	X(U, accept.pport, "pport") \
	X(B, accept.paddr, "paddr") \
	X(U, accept.dur_ns, "dur_ns") \
	X(U, accept.flags, "flags") \
	X(U, accept.estab_ts, "estab_ts") \
	X(U, accept.kstack, "kstack") \
	X(U, accept.ustack, "ustack")
#define FIELDS_FORK(X) \
	EVF(X, fork) \
	X(U, fork.child, "child")
#define FIELDS_EXEC(X) \
	EVF(X, exec) \
	X(U, exec.filename, "filename")
#define FIELDS_EXIT(X) \
	EVF(X, exit) \
	X(I, exit.code, "code") \
	X(U, exit.group_dead, "group_dead")
#define FIELDS_PREEXIST(X) \
	EVF(X, preexist) \
	X(D, preexist.serial, "serial") \
	X(I, preexist.fd, "fd") \
	X(U, preexist.ino, "ino") \
	X(U, preexist.family, "family") \
	X(U, preexist.stype, "type") \
	X(U, preexist.protocol, "protocol") \
	X(U, preexist.tcpstate, "tcpstate") \
	X(U, preexist.lport, "lport") \
	X(U, preexist.rport, "rport") \
	X(B, preexist.laddr, "laddr") \
	X(B, preexist.raddr, "raddr")

/* The record types with a field list: the one place a type is listed.
 * X(name, type number, field list).  It generates the field tables, the
 * descriptors (rdescs), and the straight-line decoders below.  STACK has
 * its own codec (variable frame count) and is not in it. */
#define ALL_TYPES(X)                                                                        \
	X(meta, SREC_R_META, FIELDS_META) X(string, SREC_R_STRING, FIELDS_STRING)           \
	X(module, SREC_R_MODULE, FIELDS_MODULE) X(process, SREC_R_PROCESS, FIELDS_PROCESS)  \
	X(mapping, SREC_R_MAPPING, FIELDS_MAPPING) X(ksym, SREC_R_KSYM, FIELDS_KSYM)        \
	X(symbol, SREC_R_SYMBOL, FIELDS_SYMBOL) X(loss, SREC_R_LOSS, FIELDS_LOSS)           \
	X(alloc, SREC_R_ALLOC, FIELDS_ALLOC) X(release, SREC_R_RELEASE, FIELDS_RELEASE)     \
	X(sockinfo, SREC_R_SOCKINFO, FIELDS_SOCKINFO) X(state, SREC_R_STATE, FIELDS_STATE)  \
	X(connect, SREC_R_CONNECT, FIELDS_CONNECT) X(accept, SREC_R_ACCEPT, FIELDS_ACCEPT)  \
	X(fork, SREC_R_FORK, FIELDS_FORK) X(exec, SREC_R_EXEC, FIELDS_EXEC)                 \
	X(exit, SREC_R_EXIT, FIELDS_EXIT) X(preexist, SREC_R_PREEXIST, FIELDS_PREEXIST)

#define TBL_U(m, n) F_(F_U, m, n),
#define TBL_I(m, n) F_(F_I, m, n),
#define TBL_T(m, n) F_(F_T, m, n),
#define TBL_D(m, n) F_(F_D, m, n),
#define TBL_B(m, n) FB(m, n),
#define TBL(k, m, n) TBL_##k(m, n)
#define DEFINE_TABLE(name, TYPE, FIELDS) static const struct field f_##name[] = { FIELDS(TBL) };
ALL_TYPES(DEFINE_TABLE)

struct rdesc {
	const char *name;
	const struct field *f;
	unsigned nf;
};

#define DESC(name, TYPE, FIELDS) [TYPE] = { #name, f_##name, sizeof(f_##name) / sizeof(f_##name[0]) },
static const struct rdesc rdescs[SREC_R__MAX] = {
	ALL_TYPES(DESC)
	[SREC_R_STACK] = { "stack", NULL, 0 },
};


const char *srec_record_name(uint32_t type)
{
	return type < SREC_R__MAX ? rdescs[type].name : NULL;
}

/* srec_record_is_event() (inline in srec_records.h) takes the event types
 * to be SREC_R_ALLOC..SREC_R_PREEXIST: a new type must revisit it. */
_Static_assert(SREC_R__MAX - 1 == SREC_R_PREEXIST, "revisit srec_record_is_event()");

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
		return n + 80 + (size_t)r->u.stack.nframes * 20;
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
	/* 1.2 trailing fields, only when there is something to say. */
	const struct srec_unwind *u = &r->u.stack.unwind;
	if (u->method || u->stop || u->stop_module || u->stop_value) {
		q = srec_uv_put(q, u->method);
		q = srec_uv_put(q, u->stop);
		q = srec_uv_put(q, u->stop_module);
		q = srec_uv_put(q, u->stop_value);
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
	/* 1.2 trailing fields: absent reads as 0, and fields after them (a
	 * later minor version) are skipped. */
	uint64_t tf[4] = { 0, 0, 0, 0 };
	for (int i = 0; i < 4 && p < end; i++)
		if (!(p = srec_uv_get(p, end, &tf[i])))
			return SREC_E_RECORD;
	if (tf[0] > UINT32_MAX || tf[1] > UINT32_MAX)
		return SREC_E_RECORD;
	out->u.stack.unwind = (struct srec_unwind){ (uint32_t)tf[0], (uint32_t)tf[1], tf[2], tf[3] };
	return SREC_OK;
}

/* The generic decoder: walks d's fields from field i on.  Used for the
 * fields a short body (older minor version) lacks, and as the reference the
 * per-type decoders below must agree with. */
static int decode_fields(const struct rdesc *d, unsigned i, const uint8_t *p, const uint8_t *end,
			 struct srec_codec_state *st, struct srec_record *out)
{
	for (; i < d->nf; i++) {
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

int srec_decode(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		struct srec_record *out)
{
	const uint8_t *end = p + len;

	if (type == 0 || type >= SREC_R__MAX || !rdescs[type].name)
		return SREC_E_ARG;
	out->type = type;
	if (type == SREC_R_STACK)
		return decode_stack(p, end, out);
	return decode_fields(&rdescs[type], 0, p, end, st, out);
}

/* Per-type decoders for srec_decode_padded(): the field list expanded into
 * straight-line code, so that no field metadata is looked up per record.
 *
 * The fast path assumes the common case, a body that holds every field this
 * library knows, and checks that once at the end instead of per field: a
 * one-byte varint (most fields) costs a load, a test and a store.  It may
 * read past the body's end (into the next record or the buffer's padding),
 * at most DEC_MAX_OVERRUN bytes, and never uses what it read there: when
 * the body turns out shorter than the fields (an older minor version), or a
 * varint is longer than 3 bytes and cannot be read inside the body, or a
 * value is out of its field's range, or a bytes field does not fit, the
 * record is decoded again from its start by the generic decoder, which
 * gives the spec's answer (zero-filled absent fields, or SREC_E_RECORD).
 * Range checks are needed only for varints of 4 bytes or more: shorter ones
 * hold values below 2^21.  The block state lives in locals (ts, ser) and is
 * written back only on success, so the redo starts from the same state. */
static inline __attribute__((always_inline)) const uint8_t *dec_uv_long(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	/* p[0] >= 0x80; the buffer is padded (SREC_DECODE_PAD) */
	uint64_t b0 = p[0] & 0x7f, b1 = p[1], b2;

	if (b1 < 0x80) {
		*out = b0 | b1 << 7;
		return p + 2;
	}
	b2 = p[2];
	if (b2 < 0x80) {
		*out = b0 | (b1 & 0x7f) << 7 | b2 << 14;
		return p + 3;
	}
	return p < end ? srec_uv_get(p, end, out) : NULL;
}
#define DEC_GET(SZ)                                                           \
	v = *p;                                                               \
	if (SREC_LIKELY(v < 0x80)) {                                          \
		p++;                                                          \
	} else {                                                              \
		p = dec_uv_long(p, end, &v);                                  \
		if (SREC_UNLIKELY(!p || ((SZ) == 4 && v > UINT32_MAX)))       \
			goto redo;                                            \
	}
#define DEC_U(m) DEC_GET(sizeof(out->u.m)) out->u.m = v;
/* zigzag of a value <= UINT32_MAX is inside the int32 range */
#define DEC_I(m) DEC_GET(sizeof(out->u.m)) out->u.m = srec_zz_dec(v);
#define DEC_T(m) DEC_GET(8) ts += (uint64_t)srec_zz_dec(v); out->u.m = ts;
#define DEC_D(m) DEC_GET(8) ser += (uint64_t)srec_zz_dec(v); out->u.m = ser;
#define DEC_B(m)                                                    \
	DEC_GET(8)                                                  \
	if (SREC_UNLIKELY(p > end || v > (uint64_t)(end - p)))      \
		goto redo;                                          \
	out->u.m.p = p;                                             \
	out->u.m.len = (uint32_t)v;                                 \
	p += v;
#define DEC(k, m, n) DEC_##k(m)
#define DEC_COUNT(k, m, n) +1

/* Each field reads at most 3 bytes before a check against end (a longer
 * varint and a bytes field check first), so the fast path loads at most
 * 3 bytes per field past the body's end, plus one for the failing check. */
#define DEC_MAX_FIELDS 17
#define DEC_MAX_OVERRUN (3 * DEC_MAX_FIELDS + 3)
_Static_assert(SREC_DECODE_PAD >= DEC_MAX_OVERRUN, "the fast decoders may read this far");

#define DEFINE_DEC(name, TYPE, FIELDS)                                                       \
	_Static_assert(0 FIELDS(DEC_COUNT) <= DEC_MAX_FIELDS, "raise DEC_MAX_FIELDS");        \
	static __attribute__((noinline)) int dec_##name(                                     \
		const uint8_t *p, const uint8_t *end, struct srec_codec_state *st,            \
		struct srec_record *out)                                                     \
	{                                                                                    \
		const uint8_t *const p0 = p;                                                 \
		uint64_t ts = st->prev_ts, ser = st->prev_serial, v;                         \
		(void)ts;                                                                    \
		(void)ser;                                                                   \
		FIELDS(DEC)                                                                  \
		if (SREC_UNLIKELY(p > end))                                                  \
			goto redo;                                                           \
		st->prev_ts = ts;                                                            \
		st->prev_serial = ser;                                                       \
		return SREC_OK;                                                              \
	redo:                                                                                \
		return decode_fields(&rdescs[TYPE], 0, p0, end, st, out);                    \
	}

ALL_TYPES(DEFINE_DEC)

int srec_decode_padded(uint32_t type, const uint8_t *p, size_t len, struct srec_codec_state *st,
		       struct srec_record *out)
{
	const uint8_t *end = p + len;

	switch (type) {
#define DEC_CASE(name, TYPE, FIELDS) \
	case TYPE:                   \
		out->type = type;    \
		return dec_##name(p, end, st, out);
		ALL_TYPES(DEC_CASE)
#undef DEC_CASE
	case SREC_R_STACK:
		out->type = type;
		return decode_stack(p, end, out);
	default:
		return SREC_E_ARG;
	}
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
