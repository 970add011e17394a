/* cli.c - loading with filters, common warnings, time formatting. */
#include "cli.h"
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "out.h"
#include "stacks.h"
#include "srec_error.h"
#include "wallclock.h"

const char *cli_index_state(int state)
{
	return state > 0 ? "valid" : state < 0 ? "invalid" : "absent";
}

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

static uint64_t meta_u64(const struct model *m, const char *k)
{
	const char *v = model_meta(m, k);
	return v ? strtoull(v, NULL, 10) : 0;
}

/* "2.5" (seconds from the start) or "HH:MM:SS[.frac]" (wall clock, local
 * time of this machine; TZ selects another zone) -> absolute monotonic ns.
 * The wall clock needs META clock.monotonic_ns/clock.realtime_ns.  Of the
 * days around the recording, the occurrence of HH:MM:SS closest to its
 * start is taken (a recording that crosses midnight works). */
static int parse_time(const char *s, const struct model *m, uint64_t start, uint64_t *out);

int cli_parse_time(const char *s, const struct model *m, uint64_t *out)
{
	return parse_time(s, m, m->start_ns, out);
}

void cli_wall(const struct model *m, struct wall *w)
{
	wall_init(w, model_meta(m, "clock.monotonic_ns"), model_meta(m, "clock.realtime_ns"));
}

static int parse_time(const char *s, const struct model *m, uint64_t start, uint64_t *out)
{
	char *end;
	if (!strchr(s, ':')) {
		double v = strtod(s, &end);
		if (end == s || *end || v < 0 || v > 1e9)
			return -1;
		*out = start + (uint64_t)(v * 1e9);
		return 0;
	}
	unsigned hh, mm;
	double ss;
	int used = 0;
	if (sscanf(s, "%u:%u:%lf%n", &hh, &mm, &ss, &used) != 3 || s[used] || hh > 23 || mm > 59 ||
	    ss < 0 || ss >= 61)
		return -1;
	uint64_t mono = meta_u64(m, "clock.monotonic_ns"), real = meta_u64(m, "clock.realtime_ns");
	if (!mono || !real)
		return -2;
	int64_t start_real = (int64_t)real + ((int64_t)start - (int64_t)mono);
	time_t st = (time_t)(start_real / 1000000000);
	struct tm tm;
	if (!localtime_r(&st, &tm))
		return -1;
	double best = 0;
	int have = 0;
	for (int dd = -1; dd <= 1; dd++) {
		struct tm t = tm;
		t.tm_mday += dd;
		t.tm_hour = (int)hh;
		t.tm_min = (int)mm;
		t.tm_sec = 0;
		t.tm_isdst = -1;
		time_t w = mktime(&t);
		if (w == (time_t)-1)
			continue;
		double cand = ((double)w + ss) * 1e9; /* wall ns */
		if (!have || __builtin_fabs(cand - (double)start_real) < __builtin_fabs(best - (double)start_real)) {
			best = cand;
			have = 1;
		}
	}
	if (!have)
		return -1;
	double off = best - (double)start_real;
	*out = off <= -(double)start ? 1 : (uint64_t)((double)start + off);
	return 0;
}

int cli_load(const struct cli *c, const char *path, struct model *m, model_done_fn done,
	     void *arg)
{
	return cli_load_ev(c, path, m, done, NULL, arg);
}

uint64_t cli_end(const struct model *m)
{
	uint64_t e = meta_u64(m, "recording.end_ns");
	return e ? e : m->ts_last;
}

int cli_load_ev(const struct cli *c, const char *path, struct model *m, model_done_fn done,
		model_event_fn event, void *arg)
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
	f.failed_accepts = c->failed_accepts;
	f.index_types = c->no_index ? 0 : c->index_types;
	if (c->since || c->until) {
		/* Times are relative to the recording start, which is in the
		 * file's first META block: peek at it with an unfiltered read. */
		struct model peek;
		err = model_load(&peek, path, NULL, NULL, NULL, why, sizeof(why));
		if (err) {
			fprintf(stderr, "sockreport: ");
			out_text_z(stderr, why);
			fputc('\n', stderr);
			model_free(&peek);
			return 1;
		}
		uint64_t start = peek.start_ns;
		int e1 = c->since ? parse_time(c->since, &peek, start, &f.since_ns) : 0;
		int e2 = c->until ? parse_time(c->until, &peek, start, &f.until_ns) : 0;
		uint64_t end = cli_end(&peek);
		model_free(&peek);
		/* A window that holds nothing is a mistake to say, not an empty
		 * report to print. */
		if (!e1 && !e2 && c->since && f.since_ns > end) {
			fprintf(stderr, "sockreport: --since %s is after the end of the recording "
					"(%.3fs long): nothing to report\n", c->since,
				end > start ? (double)(end - start) / 1e9 : 0.0);
			return 2;
		}
		if (!e1 && !e2 && c->since && c->until && f.until_ns <= f.since_ns) {
			fprintf(stderr, "sockreport: --until %s is not after --since %s: nothing to "
					"report\n", c->until, c->since);
			return 2;
		}
		if (e1 == -2 || e2 == -2) {
			fprintf(stderr, "sockreport: this file has no clock metadata: give --since/--until "
					"in seconds from the start\n");
			return 2;
		}
		if (e1 || e2) {
			fprintf(stderr, "sockreport: --since/--until take seconds from the start (2.5) "
					"or a wall-clock time (HH:MM:SS)\n");
			return 2;
		}
	}
	err = model_load_ev(m, path, &f, done, event, arg, why, sizeof(why));
	if (err) {
		fprintf(stderr, "sockreport: ");
		out_text_z(stderr, why);
		fputc('\n', stderr);
		model_free(m);
		return 1;
	}
	return 0;
}

/* FILE.archive/ (made by `sockrec archive FILE`) beside a recording is a
 * debug directory keyed by build-id: it is used with no flag, after the
 * --debug-dir ones.  1 and the path in buf if it is there. */
static int archive_beside(const char *file, char *buf, size_t cap)
{
	struct stat sb;
	return snprintf(buf, cap, "%s.archive", file) < (int)cap && stat(buf, &sb) == 0 &&
	       S_ISDIR(sb.st_mode);
}

struct sym_ctx *cli_symbolizer(const struct cli *c)
{
	struct sym_opts o;
	sym_opts_init(&o);
	/* the --debug-dir ones, then an archive beside each FILE (a fleet
	 * report may name many); sym_ctx_new copies them */
	size_t cap = (size_t)c->ndebug_dirs + (size_t)(c->nfiles > 0 ? c->nfiles : 0);
	const char **dirs = calloc(cap ? cap : 1, sizeof(*dirs));
	char (*arch)[PATH_MAX] = calloc(c->nfiles > 0 ? (size_t)c->nfiles : 1, sizeof(*arch));
	size_t nd = 0;
	if (!dirs || !arch) {
		free(dirs);
		free(arch);
		return NULL;
	}
	for (int i = 0; i < c->ndebug_dirs; i++)
		dirs[nd++] = c->debug_dirs[i];
	for (int i = 0; i < c->nfiles; i++) {
		if (!archive_beside(c->files[i], arch[i], sizeof(arch[i])))
			continue;
		dirs[nd++] = arch[i];
		if (c->verbose)
			fprintf(stderr, "sym: using the archive %s beside the recording\n", arch[i]);
	}
	o.debug_dirs = dirs;
	o.ndebug_dirs = nd;
	o.sysroot = c->sysroot;
	o.vmlinux = c->vmlinux;
	o.demangle = c->demangle;
	o.use_debuginfod = !c->no_debuginfod;
	/* The -v trace quotes paths from the file: escape it on the way out.
	 * One stream for the process (stdio flushes it at exit). */
	static FILE *vlog;
	if (c->verbose && !vlog)
		vlog = out_escaping_stream(stderr);
	o.verbose = c->verbose ? (vlog ? vlog : stderr) : NULL;
	struct sym_ctx *sc = sym_ctx_new(&o);
	free(dirs);
	free(arch);
	return sc;
}

uint64_t cli_hook_skips_that_matter(const struct model *m, uint64_t *free_skips)
{
	static const char pre[] = "stats.hook_skips.";
	uint64_t matter = 0;
	int per_hook = 0;

	*free_skips = 0;
	for (size_t i = 0; i < m->nmeta; i++) {
		const char *k = m->meta_keys[i];
		if (strncmp(k, pre, sizeof(pre) - 1))
			continue;
		k += sizeof(pre) - 1;
		uint64_t n = strtoull(m->meta_vals[i], NULL, 10);
		per_hook = 1;
		/* The recorder's rule (record/sockrec.c skip_can_matter): a
		 * skipped run is nested in an interrupt, where no struct socket
		 * is allocated; a skipped slab free can only hide the release of
		 * a socket that then reads as still open. */
		if (!strcmp(k, "kmem_cache_free"))
			*free_skips += n;
		else if (strcmp(k, "kmem_cache_alloc"))
			matter += n;
	}
	return per_hook ? matter : m->hook_skips; /* older files: no breakdown */
}

void cli_warnings_to(FILE *f, const struct model *m, const char *path)
{
	uint64_t free_skips, skips = cli_hook_skips_that_matter(m, &free_skips);
	if (m->records_capped)
		fprintf(f, "sockreport: WARNING: %" PRIu64 " metadata/symbol/process/loss records "
				"beyond sane limits were ignored (a damaged or hostile file?)\n",
			m->records_capped);
	if (m->lost_events) {
		fprintf(f, "sockreport: WARNING: %" PRIu64 " events were lost while recording "
				"(ring buffer or tables full); results that a loss could affect are "
				"marked 'possible'\n", m->lost_events);
	}
	/* Not a WARNING and no 'possible' marks, and only for the runs that
	 * could have been socket events; `info` shows them all. */
	if (skips)
		fprintf(f, "sockreport: note: the kernel skipped %" PRIu64 " runs of the "
				"recorder's socket hooks (recursion guard); a socket event among them "
				"would be missing\n", skips);
	if (m->releases_late)
		fprintf(f, "sockreport: note: %" PRIu64 " releases were written late (the kernel "
				"skipped the free hook; inferred when a new socket took the address, "
				"how 'reused'): those lifetimes are upper bounds\n", m->releases_late);
	/* Not a loss of events: the events are there, only some of their
	 * user frames cannot be placed in a module. */
	if (m->lost_maps)
		fprintf(f, "sockreport: note: the maps of %" PRIu64 " processes could not be read "
				"or their mmap records were dropped; their user frames may read "
				"'[unknown: no mapping]'\n", m->lost_maps);
	if (m->kstack_mismatch)
		fprintf(f, "sockreport: WARNING: %" PRIu64 " checks of the recorder's kernel-stack "
				"cache failed (the cache was then turned off); allocation kernel stacks "
				"before them may be wrong\n", m->kstack_mismatch);
	if (m->status.salvaged) {
		fprintf(f, "sockreport: WARNING: ");
		out_text_z(f, path);
		fprintf(f, " is damaged: %s at byte %" PRIu64 "; %" PRIu64 " intact blocks "
				"were read, %" PRIu64 " bad\n",
			srec_strerror(m->status.first_error), m->status.first_error_offset,
			m->status.blocks_ok, m->status.blocks_bad);
	}
	if (m->status.index < 0)
		fprintf(f, "sockreport: WARNING: the file's index does not match the file (%s, "
				"block at byte %" PRIu64 "): it was ignored, every block was read\n",
			srec_strerror(m->status.index_error), m->status.index_error_offset);
	if (!m->complete) {
		fprintf(f, "sockreport: WARNING: the recording is incomplete (sockrec did not "
				"finish: killed, crashed or still running); it holds what was "
				"written until then\n");
	}
	if (m->status.blocks_unknown || m->status.records_unknown)
		fprintf(f, "sockreport: note: skipped %" PRIu64 " unknown blocks and %" PRIu64
				" unknown records (is this an older sockreport reading a newer file?)\n",
			m->status.blocks_unknown, m->status.records_unknown);
}

void cli_warnings(const struct cli *c, const struct model *m, const char *path)
{
	(void)c;
	cli_warnings_to(stderr, m, path);
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
	fprintf(f, ", \"lost_events\": %" PRIu64 ", \"stack_failures\": %" PRIu64
		   ", \"hook_skips\": %" PRIu64 ", \"releases_late\": %" PRIu64
		   ", \"kstack_cache_mismatches\": %" PRIu64 ", \"map_losses\": %" PRIu64,
		m->lost_events, m->lost_stacks, m->hook_skips, m->releases_late, m->kstack_mismatch,
		m->lost_maps);
	/* absolute times of the recording, next to every relative one */
	struct wall w;
	char a[48], b[48];
	cli_wall(m, &w);
	int ok = wall_fmt(&w, m->start_ns, WALL_ISO_UTC, a, sizeof(a)) == 0 &&
		 wall_fmt(&w, cli_end(m), WALL_ISO_UTC, b, sizeof(b)) == 0;
	if (ok)
		fprintf(f, ", \"start_wall\": \"%s\", \"end_wall\": \"%s\"", a, b);
	else
		fputs(", \"start_wall\": null, \"end_wall\": null", f);
}

double cli_rel(const struct model *m, uint64_t ts)
{
	/* as model_meta(m, "recording.start_ns"), without the search */
	uint64_t start = m->has_start_meta ? m->start_meta_ns : m->ts_first;
	return ts >= start ? (double)(ts - start) / 1e9 : -(double)(start - ts) / 1e9;
}

/* q / 10^dec with dec decimals, then suffix, into buf (truncated to cap). */
static void fixed(char *buf, size_t cap, uint64_t q, int dec, const char *suffix)
{
	char t[32];
	int i = 32;
	for (int d = 0; d < dec; d++) {
		t[--i] = (char)('0' + q % 10);
		q /= 10;
	}
	if (dec)
		t[--i] = '.';
	do {
		t[--i] = (char)('0' + q % 10);
		q /= 10;
	} while (q);
	size_t n = 0;
	for (; i < 32 && n + 1 < cap; i++)
		buf[n++] = t[i];
	for (const char *p = suffix; *p && n + 1 < cap; p++)
		buf[n++] = *p;
	if (cap)
		buf[n] = 0;
}

/* n / d rounded half up, without overflow */
static uint64_t div_round(uint64_t n, uint64_t d)
{
	return n / d + (n % d >= d - d / 2);
}

void cli_dur(char *buf, size_t cap, uint64_t ns)
{
	/* as printf("%.1fmin"/"%.2fs"/"%.1fms"/"%.1fus"), in integers */
	if (ns >= 60000000000ull)
		fixed(buf, cap, div_round(ns, 6000000000ull), 1, "min");
	else if (ns >= 1000000000ull)
		fixed(buf, cap, div_round(ns, 10000000ull), 2, "s");
	else if (ns >= 1000000ull)
		fixed(buf, cap, div_round(ns, 100000ull), 1, "ms");
	else if (ns >= 1000ull)
		fixed(buf, cap, div_round(ns, 100ull), 1, "us");
	else
		fixed(buf, cap, ns, 0, "ns");
}

/* ---- shared helpers ---- */

void cli_addr(char *buf, size_t cap, uint32_t family, const uint8_t addr[16], uint16_t port)
{
	names_addr(buf, cap, addr, family == AF_INET6 ? 16 : 4, port);
}

/* Display columns of s: UTF-8 continuation bytes take none. */
static size_t columns(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

void cli_shorten(char *buf, size_t cap, const char *line, int width)
{
	static const char ell[] = "\xe2\x80\xa6"; /* U+2026, one column */
	snprintf(buf, cap, "%s", line);
	/* Shorten the longest path first, one leading directory at a time,
	 * down to its last directory and file (".../fixtures/leaker.c:23"),
	 * then, if still needed, to the file alone (".../leaker.c:23").
	 * Functions, modules and file:line are never touched. */
	while (columns(buf, strlen(buf)) > (size_t)(width > 0 ? width : 80)) {
		char *best = NULL;
		size_t bestlen = 0;
		for (char *t = buf; *t;) {
			size_t len = strcspn(t, " ()[]");
			int slashes = 0;
			for (size_t i = 0; i < len; i++)
				slashes += t[i] == '/';
			/* ".../file": only tokens with more than that left */
			int shortened = !strncmp(t, ell, 3);
			if (slashes >= 1 + shortened && len > bestlen) {
				best = t;
				bestlen = len;
			}
			t += len;
			t += strspn(t, " ()[]");
		}
		if (!best)
			break;
		/* drop through the first directory after the (possible) ellipsis */
		char *from = !strncmp(best, ell, 3) ? best + 4 : best;
		char *slash = memchr(from, '/', bestlen - (size_t)(from - best));
		if (!slash)
			break;
		/* the ellipsis takes 3 bytes: replace at least that many */
		while (slash && slash - best < 3)
			slash = memchr(slash + 1, '/', bestlen - (size_t)(slash + 1 - best));
		if (!slash)
			break;
		size_t keep = strlen(slash); /* "/rest..." incl. the rest of the line */
		memmove(best + 3, slash, keep + 1);
		best[0] = ell[0]; /* the ellipsis, without its NUL */
		best[1] = ell[1];
		best[2] = ell[2];
	}
}

void cli_puts_cut(const struct cli *c, const char *line, int width)
{
	if (c->cut && (int)columns(line, strlen(line)) > (c->cols > width ? c->cols : width)) {
		size_t cap = strlen(line) + 1;
		char *b = malloc(cap);
		if (b) {
			cli_shorten(b, cap, line, c->cols > width ? c->cols : width);
			puts(b);
			free(b);
			return;
		}
	}
	puts(line);
}

void cli_kind(char *buf, size_t cap, uint32_t family, uint32_t type, uint32_t protocol)
{
	names_kind(buf, cap, family, type, protocol);
}

void cli_state_path(char *buf, size_t cap, const struct msock *s, const char *sep)
{
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < s->nstates && len + 1 < cap; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s", i ? sep : "", tcp_state_name(s->states[i]));
		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (len >= cap && cap)
		buf[cap - 1] = 0;
}

void cli_json_stack(FILE *f, struct stacks *st, uint64_t ref)
{
	size_t n = 0;
	const char *const *l = st ? stacks_lines(st, ref, &n) : NULL;
	fputc('[', f);
	for (size_t i = 0; l && i < n; i++) {
		if (i)
			fputs(", ", f);
		out_json_z(f, l[i]);
	}
	fputc(']', f);
}

void cli_text_head(const struct cli *c, const struct model *m, const char *path)
{
	const char *host = model_meta(m, "host.name"), *kern = model_meta(m, "host.kernel");
	uint64_t end = cli_end(m);
	char dur[32];
	cli_dur(dur, sizeof(dur), end > m->start_ns ? end - m->start_ns : 0);
	printf("sockreport %s: ", c->cmd);
	out_text_z(stdout, path);
	printf("\nhost ");
	out_text_z(stdout, host ? host : "?");
	printf(", kernel ");
	out_text_z(stdout, kern ? kern : "?");
	printf(", %s recorded%s\n", dur, m->complete ? "" : " (INCOMPLETE)");
}
