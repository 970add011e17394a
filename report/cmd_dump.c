/* cmd_dump.c - `sockreport dump`: every record, as the file holds it.
 *
 * Reads with srec_reader directly (no model), so it shows exactly what is
 * on disk, damaged files included.  --json prints one object per record
 * (spec field names, bytes as hex) and a final {"status": ...} line; this
 * is the shape tests/srec_reader.py produces from the spec alone.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "srec_codec.h"
#include "srec_error.h"
#include "srec_reader.h"

#define MAXF 32

static void json_record(const struct srec_record *r)
{
	struct srec_field_info fi[MAXF];
	unsigned n = srec_record_fields(r->type, fi, MAXF);

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
		if (fi[i].kind == 'B') {
			const srec_bytes *b = (const void *)((const char *)r + fi[i].offset);
			putchar('"');
			out_hex(stdout, b->p, b->len);
			putchar('"');
		} else if (fi[i].kind == 'I') {
			printf("%" PRId64, srec_field_int(r, &fi[i]));
		} else {
			printf("%" PRIu64, (uint64_t)srec_field_int(r, &fi[i]));
		}
	}
	puts("}");
}

static void text_record(const struct srec_record *r, uint64_t start)
{
	struct srec_field_info fi[MAXF];
	unsigned n = srec_record_fields(r->type, fi, MAXF);
	const struct srec_ev *ev = srec_record_ev(r);

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
		if (fi[i].kind == 'B') {
			const srec_bytes *b = (const void *)((const char *)r + fi[i].offset);
			if (r->type == SREC_R_META || r->type == SREC_R_STRING)
				out_text(stdout, (const char *)b->p, b->len);
			else
				out_hex(stdout, b->p, b->len);
		} else if (fi[i].kind == 'I') {
			printf("%" PRId64, srec_field_int(r, &fi[i]));
		} else {
			printf("%" PRIu64, (uint64_t)srec_field_int(r, &fi[i]));
		}
	}
	putchar('\n');
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
	while (srec_reader_next(rd, &r) == 1) {
		if (c->json) {
			json_record(r);
			continue;
		}
		if (r->type == SREC_R_META && r->u.meta.key.len == 18 &&
		    !memcmp(r->u.meta.key.p, "recording.start_ns", 18)) {
			char v[32] = "";
			memcpy(v, r->u.meta.value.p, r->u.meta.value.len < 31 ? r->u.meta.value.len : 31);
			start = strtoull(v, NULL, 10);
		}
		text_record(r, start);
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
	return 0;
}
