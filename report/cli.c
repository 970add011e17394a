/* cli.c - loading with filters, common warnings, time formatting. */
#include "cli.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "out.h"
#include "srec_error.h"

const char *first_error_name(int err)
{
	switch (err) {
	case 0: return "";
	case SREC_E_TRUNCATED: return "truncated";
	case SREC_E_BLOCK: return "block";
	case SREC_E_TOOBIG: return "toobig";
	case SREC_E_CHECKSUM: return "checksum";
	case SREC_E_DECOMPRESS: return "decompress";
	case SREC_E_RECORD: return "record";
	case SREC_E_IO: return "io";
	case SREC_E_NOMEM: return "nomem";
	default: return "other";
	}
}

/* "2.5" (seconds from the start) -> absolute monotonic ns, given start. */
static int parse_time(const char *s, uint64_t start, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || v < 0)
		return -1;
	*out = start + (uint64_t)(v * 1e9);
	return 0;
}

static uint64_t meta_u64(const struct model *m, const char *k)
{
	const char *v = model_meta(m, k);
	return v ? strtoull(v, NULL, 10) : 0;
}

int cli_load(const struct cli *c, const char *path, struct model *m, model_done_fn done,
	     void *arg)
{
	struct mfilter f;
	char why[600];
	int err;

	if (access(path, F_OK) != 0) {
		fprintf(stderr, "sockreport: ");
		out_text_z(stderr, path);
		fprintf(stderr, ": no such file\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	f.pids = c->pids;
	f.npids = c->npids;
	f.comm = c->comm;
	if (c->since || c->until) {
		/* Times are relative to the recording start, which is in the
		 * file's first META block: peek at it with an unfiltered read. */
		struct model peek;
		err = model_load(&peek, path, NULL, NULL, NULL, why, sizeof(why));
		uint64_t start = err ? 0 : meta_u64(&peek, "recording.start_ns");
		if (!start && !err)
			start = peek.ts_first;
		model_free(&peek);
		if (err) {
			fprintf(stderr, "sockreport: %s\n", why);
			return 1;
		}
		if ((c->since && parse_time(c->since, start, &f.since_ns)) ||
		    (c->until && parse_time(c->until, start, &f.until_ns))) {
			fprintf(stderr, "sockreport: --since/--until take seconds from the start\n");
			return 2;
		}
	}
	err = model_load(m, path, &f, done, arg, why, sizeof(why));
	if (err) {
		fprintf(stderr, "sockreport: ");
		out_text_z(stderr, why);
		fputc('\n', stderr);
		model_free(m);
		return 1;
	}
	return 0;
}

struct sym_ctx *cli_symbolizer(const struct cli *c)
{
	struct sym_opts o;
	sym_opts_init(&o);
	o.debug_dirs = c->debug_dirs;
	o.ndebug_dirs = (size_t)c->ndebug_dirs;
	o.sysroot = c->sysroot;
	o.demangle = c->demangle;
	o.verbose = c->verbose ? stderr : NULL;
	return sym_ctx_new(&o);
}

void cli_warnings(const struct cli *c, const struct model *m, const char *path)
{
	(void)c;
	if (m->lost_events) {
		fprintf(stderr, "sockreport: WARNING: %" PRIu64 " events were lost while recording "
				"(ring buffer or tables full); results that a loss could affect are "
				"marked 'possible'\n", m->lost_events);
	}
	if (m->status.salvaged) {
		fprintf(stderr, "sockreport: WARNING: ");
		out_text_z(stderr, path);
		fprintf(stderr, " is damaged: %s at byte %" PRIu64 "; %" PRIu64 " intact blocks "
				"were read, %" PRIu64 " bad\n",
			srec_strerror(m->status.first_error), m->status.first_error_offset,
			m->status.blocks_ok, m->status.blocks_bad);
	}
	if (!m->complete) {
		fprintf(stderr, "sockreport: WARNING: the recording is incomplete (sockrec did not "
				"finish: killed, crashed or still running); it holds what was "
				"written until then\n");
	}
	if (m->status.blocks_unknown || m->status.records_unknown)
		fprintf(stderr, "sockreport: note: skipped %" PRIu64 " unknown blocks and %" PRIu64
				" unknown records (is this an older sockreport reading a newer file?)\n",
			m->status.blocks_unknown, m->status.records_unknown);
}

void cli_json_status(FILE *f, const struct model *m)
{
	fprintf(f, "\"complete\": %s, \"salvaged\": %s, \"first_error\": ",
		m->complete ? "true" : "false", m->status.salvaged ? "true" : "false");
	out_json_z(f, m->status.first_error ? srec_strerror(m->status.first_error) : NULL);
	fprintf(f, ", \"first_error_offset\": ");
	if (m->status.salvaged)
		fprintf(f, "%" PRIu64, m->status.first_error_offset);
	else
		fputs("null", f);
	fprintf(f, ", \"lost_events\": %" PRIu64 ", \"stack_failures\": %" PRIu64,
		m->lost_events, m->lost_stacks);
}

double cli_rel(const struct model *m, uint64_t ts)
{
	const char *v = model_meta(m, "recording.start_ns");
	uint64_t start = v ? strtoull(v, NULL, 10) : m->ts_first;
	return ts >= start ? (double)(ts - start) / 1e9 : -(double)(start - ts) / 1e9;
}

void cli_dur(char *buf, size_t cap, uint64_t ns)
{
	if (ns >= 60000000000ull)
		snprintf(buf, cap, "%.1fmin", (double)ns / 6e10);
	else if (ns >= 1000000000ull)
		snprintf(buf, cap, "%.2fs", (double)ns / 1e9);
	else if (ns >= 1000000ull)
		snprintf(buf, cap, "%.1fms", (double)ns / 1e6);
	else if (ns >= 1000ull)
		snprintf(buf, cap, "%.1fus", (double)ns / 1e3);
	else
		snprintf(buf, cap, "%" PRIu64 "ns", ns);
}
