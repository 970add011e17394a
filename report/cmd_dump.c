/* cmd_dump.c - `sockreport dump`: every record, as the file holds it.
 *
 * Reads with srec_reader directly (no model), so it shows exactly what is
 * on disk, damaged files included, with the names of numbers (names.h),
 * strings for string ids and dotted addresses.  --json prints one object
 * per record (spec field names) and a final {"status": ...} line; with
 * --raw (numbers only, bytes as hex) this is the shape tests/srec_reader.py
 * produces from the spec alone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "srec_codec.h"
#include "srec_error.h"
#include "srec_reader.h"
#include "wallclock.h"
#include "commands.h"

#define MAXF 32

/* How dump shows a field, by its spec name: one table for every record
 * type (a field name means the same thing wherever it appears). */
enum show { SH_NUM, SH_STR, SH_STATE, SH_FAMILY, SH_TYPE, SH_PROTO, SH_HOW, SH_ORIGIN, SH_RET,
	    SH_ADDR, SH_LOSS };
static const struct {
	const char *field;
	enum show how;
} shows[] = {
	{ "comm", SH_STR }, { "exe", SH_STR }, { "filename", SH_STR }, { "path", SH_STR },
	{ "name", SH_STR }, { "kmod", SH_STR },
	{ "oldstate", SH_STATE }, { "newstate", SH_STATE }, { "tcpstate", SH_STATE },
	{ "family", SH_FAMILY }, { "type", SH_TYPE }, { "protocol", SH_PROTO },
	{ "how", SH_HOW }, { "origin", SH_ORIGIN }, { "ret", SH_RET },
	{ "saddr", SH_ADDR }, { "daddr", SH_ADDR }, { "laddr", SH_ADDR }, { "raddr", SH_ADDR },
	{ "paddr", SH_ADDR },
};

static enum show show_of(uint32_t type, const char *field)
{
	if (type == SREC_R_LOSS && !strcmp(field, "kind"))
		return SH_LOSS;
	for (size_t i = 0; i < sizeof(shows) / sizeof(shows[0]); i++)
		if (!strcmp(shows[i].field, field))
			return shows[i].how;
	return SH_NUM;
}

/* STRING records seen so far, by id (a definition precedes its uses). */
#define MAX_STR_ID (1u << 22)
/* Hostile-input bounds, as the model's (model.c id_plausible): an id far
 * past the strings defined so far, or strings past STRTAB_MAX_BYTES in all,
 * are not kept (a tiny, highly compressible file must not make dump take
 * gigabytes); such strings are shown as their numbers. */
#define STRTAB_MAX_GAP (1u << 18)
#define STRTAB_MAX_BYTES ((size_t)256 << 20)
struct strtab {
	char **s;
	size_t cap;
	size_t ndefs, bytes;
};

static void strtab_add(struct strtab *t, uint64_t id, const srec_bytes *b)
{
	if (id >= MAX_STR_ID || id >= t->ndefs + STRTAB_MAX_GAP ||
	    t->bytes + b->len > STRTAB_MAX_BYTES)
		return; /* a hostile id or size: shown as its number */
	t->ndefs++;
	t->bytes += (size_t)b->len + 1;
	if (id >= t->cap) {
		size_t nc = t->cap ? t->cap : 1024;
		while (nc <= id)
			nc *= 2;
		char **ns = realloc(t->s, nc * sizeof(*ns));
		if (!ns)
			return;
		memset(ns + t->cap, 0, (nc - t->cap) * sizeof(*ns));
		t->s = ns;
		t->cap = nc;
	}
	char *v = malloc((size_t)b->len + 1);
	if (!v)
		return;
	memcpy(v, b->p, b->len);
	v[b->len] = 0;
	free(t->s[id]);
	t->s[id] = v;
}

static const char *strtab_get(const struct strtab *t, uint64_t id)
{
	return id < t->cap ? t->s[id] : NULL;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->s[i]);
	free(t->s);
}

struct dump {
	struct cli *c;
	struct strtab strs;
	struct wall wall;
	const char *mono, *real; /* clock META values, while being read */
	char mono_v[32], real_v[32];
};

/* The name of an integer field's value, or NULL to show the number only.
 * family: the record's family field (for protocol). */
static const char *int_name(const struct dump *D, enum show sh, int64_t v, uint32_t family,
			    char *tmp, size_t cap)
{
	switch (sh) {
	case SH_STR: return v ? strtab_get(&D->strs, (uint64_t)v) : NULL;
	case SH_STATE: return tcp_state_name((uint32_t)v);
	case SH_FAMILY: return family_name((uint32_t)v);
	case SH_TYPE: return socktype_name((uint32_t)v);
	case SH_PROTO: { /* "" (UNIX, IP default) and unknown ones: the number */
		const char *p = proto_name(family, (uint32_t)v);
		return strcmp(p, "proto?") ? p : NULL;
	}
	case SH_HOW: return how_name((uint32_t)v);
	case SH_ORIGIN: return origin_name((uint32_t)v);
	case SH_RET: names_result(tmp, cap, (int)v); return tmp;
	case SH_LOSS: return loss_kind_name((uint32_t)v);
	default: return NULL;
	}
}

static uint32_t family_of(const struct srec_record *r)
{
	switch (r->type) {
	case SREC_R_SOCKINFO: return r->u.sockinfo.family;
	case SREC_R_PREEXIST: return r->u.preexist.family;
	default: return 0;
	}
}

static void json_record(struct dump *D, const struct srec_record *r)
{
	struct srec_field_info fi[MAXF];
	unsigned n = srec_record_fields(r->type, fi, MAXF);
	int raw = D->c->raw;

	printf("{\"record\": \"%s\"", srec_record_name(r->type));
	if (r->type == SREC_R_STACK) {
		printf(", \"id\": %" PRIu64 ", \"kind\": %u, \"flags\": %u, \"frames\": [", r->u.stack.id,
		       r->u.stack.kind, r->u.stack.flags);
		for (uint32_t i = 0; i < r->u.stack.nframes; i++)
			printf("%s%" PRId64, i ? ", " : "", r->u.stack.frames[i]);
		putchar(']');
		if (r->u.stack.kind == SREC_STACK_USER) {
			printf(", \"modules\": [");
			for (uint32_t i = 0; i < r->u.stack.nframes; i++)
				printf("%s%" PRIu64, i ? ", " : "", r->u.stack.modules[i]);
			putchar(']');
		}
		const struct srec_unwind *u = &r->u.stack.unwind;
		printf(", \"method\": %u, \"stop\": %u, \"stop_module\": %" PRIu64
		       ", \"stop_value\": %" PRIu64, u->method, u->stop, u->stop_module, u->stop_value);
	}
	for (unsigned i = 0; i < n; i++) {
		printf(", \"%s\": ", fi[i].name);
		enum show sh = show_of(r->type, fi[i].name);
		if (fi[i].kind == 'B') {
			const srec_bytes *b = (const void *)((const char *)r + fi[i].offset);
			char a[64];
			if (!raw && sh == SH_ADDR && (b->len == 4 || b->len == 16)) {
				names_ip(a, sizeof(a), b->p, b->len);
				out_json_z(stdout, a);
			} else if (!raw && (r->type == SREC_R_META || r->type == SREC_R_STRING)) {
				out_json_str(stdout, (const char *)b->p, b->len);
			} else {
				putchar('"');
				out_hex(stdout, b->p, b->len);
				putchar('"');
			}
			continue;
		}
		int64_t v = srec_field_int(r, &fi[i]);
		if (fi[i].kind == 'I')
			printf("%" PRId64, v);
		else
			printf("%" PRIu64, (uint64_t)v);
		char tmp[64];
		const char *nm = raw ? NULL : int_name(D, sh, v, family_of(r), tmp, sizeof(tmp));
		if (nm) {
			printf(", \"%s_name\": ", fi[i].name);
			out_json_z(stdout, nm);
		}
	}
	const struct srec_ev *ev = srec_record_ev(r);
	if (!raw && ev) {
		char w[64];
		printf(", \"ts_wall\": ");
		if (wall_fmt(&D->wall, ev->ts, WALL_ISO_UTC, w, sizeof(w)) == 0)
			printf("\"%s\"", w);
		else
			fputs("null", stdout);
	}
	puts("}");
}

static void text_record(struct dump *D, const struct srec_record *r, uint64_t start)
{
	struct srec_field_info fi[MAXF];
	unsigned n = srec_record_fields(r->type, fi, MAXF);
	const struct srec_ev *ev = srec_record_ev(r);
	int raw = D->c->raw;

	if (D->c->wall) {
		char w[64] = "";
		if (ev)
			wall_fmt(&D->wall, ev->ts, WALL_TIME, w, sizeof(w));
		printf("%-15s ", w);
	}
	if (ev)
		printf("%12.6f ", ev->ts >= start ? (double)(ev->ts - start) / 1e9 :
						      -(double)(start - ev->ts) / 1e9);
	else
		printf("%12s ", "");
	printf("%-8s", srec_record_name(r->type));
	if (r->type == SREC_R_STACK) {
		printf(" id=%" PRIu64 " %s flags=%u frames=", r->u.stack.id,
		       r->u.stack.kind == SREC_STACK_USER ? "user" : "kernel", r->u.stack.flags);
		for (uint32_t i = 0; i < r->u.stack.nframes; i++) {
			if (r->u.stack.kind == SREC_STACK_USER)
				printf("%s%" PRIu64 ":0x%" PRIx64, i ? "," : "", r->u.stack.modules[i],
				       (uint64_t)r->u.stack.frames[i]);
			else
				printf("%s%+" PRId64, i ? "," : "", r->u.stack.frames[i]);
		}
		const struct srec_unwind *u = &r->u.stack.unwind;
		if (u->method || u->stop)
			printf(" method=%u stop=%u stop_at=%" PRIu64 ":0x%" PRIx64, u->method, u->stop,
			       u->stop_module, u->stop_value);
		putchar('\n');
		return;
	}
	for (unsigned i = ev ? 1 : 0; i < n; i++) {
		printf(" %s=", fi[i].name);
		enum show sh = show_of(r->type, fi[i].name);
		if (fi[i].kind == 'B') {
			const srec_bytes *b = (const void *)((const char *)r + fi[i].offset);
			char a[64];
			if (r->type == SREC_R_META || r->type == SREC_R_STRING) {
				out_text(stdout, (const char *)b->p, b->len);
			} else if (!raw && sh == SH_ADDR && (b->len == 4 || b->len == 16)) {
				names_ip(a, sizeof(a), b->p, b->len);
				fputs(a, stdout);
			} else {
				out_hex(stdout, b->p, b->len);
			}
			continue;
		}
		int64_t v = srec_field_int(r, &fi[i]);
		char tmp[64];
		const char *nm = raw ? NULL : int_name(D, sh, v, family_of(r), tmp, sizeof(tmp));
		if (nm && sh == SH_STR) {
			out_text_z(stdout, nm); /* text from the file: escaped */
			continue;
		}
		if (nm && *nm && sh != SH_RET) {
			fputs(nm, stdout);
			continue;
		}
		if (fi[i].kind == 'I')
			printf("%" PRId64, v);
		else
			printf("%" PRIu64, (uint64_t)v);
		if (nm && *nm) /* ret: the number and its name, "-111(ECONNREFUSED)" */
			printf("(%s)", nm);
	}
	putchar('\n');
}

/* Remembers what dump needs from records as they pass: strings and the
 * clock readings (both come before the events that use them). */
static void learn(struct dump *D, const struct srec_record *r)
{
	if (r->type == SREC_R_STRING) {
		if (D->c->raw)
			return; /* numbers only: no string to look up */
		strtab_add(&D->strs, r->u.string.id, &r->u.string.str);
		return;
	}
	if (r->type != SREC_R_META)
		return;
	static const char *const keys[2] = { "clock.monotonic_ns", "clock.realtime_ns" };
	char *vals[2] = { D->mono_v, D->real_v };
	for (int k = 0; k < 2; k++) {
		if (r->u.meta.key.len != strlen(keys[k]) ||
		    memcmp(r->u.meta.key.p, keys[k], r->u.meta.key.len))
			continue;
		size_t l = r->u.meta.value.len < 31 ? r->u.meta.value.len : 31;
		memcpy(vals[k], r->u.meta.value.p, l);
		vals[k][l] = 0;
		wall_init(&D->wall, D->mono_v[0] ? D->mono_v : NULL, D->real_v[0] ? D->real_v : NULL);
	}
}

int cmd_dump(struct cli *c)
{
	struct srec_reader *rd;
	const struct srec_record *r;
	const char *path = c->files[0];
	uint64_t start = 0;
	int err = srec_reader_open(&rd, path);

	if (err) {
		struct model m;
		char why[600];
		/* model_load words every open error, version names included. */
		if (model_load(&m, path, NULL, NULL, NULL, why, sizeof(why))) {
			fprintf(stderr, "sockreport: ");
			out_text_z(stderr, why);
			fputc('\n', stderr);
		}
		model_free(&m);
		return 1;
	}
	struct dump D;
	memset(&D, 0, sizeof(D));
	D.c = c;
	while (srec_reader_next(rd, &r) == 1) {
		learn(&D, r);
		if (c->json) {
			json_record(&D, r);
			continue;
		}
		if (r->type == SREC_R_META && r->u.meta.key.len == 18 &&
		    !memcmp(r->u.meta.key.p, "recording.start_ns", 18)) {
			char v[32] = "";
			memcpy(v, r->u.meta.value.p, r->u.meta.value.len < 31 ? r->u.meta.value.len : 31);
			start = strtoull(v, NULL, 10);
		}
		text_record(&D, r, start);
	}
	const struct srec_read_status *s = srec_reader_status(rd);
	if (c->json) {
		printf("{\"status\": {\"major\": %u, \"minor\": %u, \"salvaged\": %s, \"first_error\": "
		       "\"%s\", \"first_error_offset\": ",
		       s->major, s->minor, s->salvaged ? "true" : "false",
		       first_error_name(s->first_error));
		if (s->salvaged)
			printf("%" PRIu64, s->first_error_offset);
		else
			fputs("null", stdout);
		printf(", \"blocks_ok\": %" PRIu64 ", \"blocks_bad\": %" PRIu64 ", \"blocks_unknown\": %"
		       PRIu64 ", \"records\": %" PRIu64 ", \"records_unknown\": %" PRIu64
		       ", \"blocks_index\": %" PRIu64 ", \"index\": \"%s\"}}\n",
		       s->blocks_ok, s->blocks_bad, s->blocks_unknown, s->records, s->records_unknown,
		       s->blocks_index, cli_index_state(s->index));
	} else {
		const struct srec_index *ix = srec_reader_index(rd);
		if (ix)
			printf("# index: valid, %zu blocks\n", srec_index_nblocks(ix));
		else
			printf("# index: %s\n", cli_index_state(s->index));
		if (s->salvaged)
			fprintf(stderr, "sockreport: WARNING: damaged file: %s at byte %" PRIu64 "\n",
				srec_strerror(s->first_error), s->first_error_offset);
	}
	if (s->index < 0)
		fprintf(stderr, "sockreport: WARNING: the file's index does not match the file (%s, "
				"block at byte %" PRIu64 "): it was ignored\n",
			srec_strerror(s->index_error), s->index_error_offset);
	srec_reader_close(rd);
	strtab_free(&D.strs);
	return 0;
}
