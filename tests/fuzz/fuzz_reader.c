/* fuzz_reader.c - libFuzzer target: every byte of a .srec file is hostile.
 *
 * Each input is written to a memfd and read twice:
 *
 *  1. as it is, with srec_reader only (file header checks, framing,
 *     checksums, resynchronization);
 *  2. "repaired": the file header CRC and, for every block whose framing
 *     fits in the input, the payload CRC, header CRC and trailer are
 *     recomputed (and a stored block's raw_len set to its stored_len unless
 *     bit 31 of nrecords is set).  Without this a mutation inside a payload
 *     almost never gets past the CRC-32C, and the record decoder, the model
 *     and the reports would only ever see the seeds.  The repaired image
 *     goes through everything sockreport does with a file:
 *       - srec_reader_open_fd / srec_reader_next over every record, with
 *         the field reflection that `dump` uses;
 *       - model_load with a `done` callback that groups sockets like
 *         `leaks` does, model_finish, then stacks_new with a symbolizer that
 *         reads no file at all (use_recorded_path = 0, use_system_debug = 0,
 *         no debug dirs, no sysroot), groups_collapse, stacks_lines of every
 *         stack the model holds, stacks_frame_key of every line;
 *       - cmd_dump, cmd_info and cmd_leaks, and one of cmd_pairs,
 *         cmd_states, cmd_summary, cmd_latency, cmd_allocs, cmd_diff (the
 *         file against itself), cmd_timeline and cmd_html (one file, or
 *         the file against itself; the page written to a private temporary
 *         file, removed after each input), each as text or --json and
 *         with other options (--since/--until/--comm, --older 0, --top,
 *         --wide, --folded, --stacks, --by, --fail-on) chosen by bits of the
 *         input's size.  The commands build their symbolizer with
 *         cli_symbolizer(), which is linked with -Wl,--wrap=cli_symbolizer
 *         (fuzz.mk) to __wrap_cli_symbolizer() below: the same context with
 *         use_recorded_path = 0 and use_system_debug = 0, so no command
 *         opens a host file named by the input (nor /usr/lib/debug).
 *
 * stdout goes to /dev/null (freopen at initialization); so does the stdio
 * `stderr` stream of the commands' warnings, unless FUZZ_READER_STDERR=1 is
 * set.  Sanitizer and libFuzzer reports write to file descriptor 2, which
 * is left alone.
 *
 * FUZZ_FIXUP_OUT=FILE makes the target write the repaired image of its
 * (last) input to FILE: that is the .srec file to keep as a regression
 * (tests/fuzz/regressions/), since it reproduces with sockreport itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32c.h"
#include "srec_codec.h"
#include "srec_reader.h"
#include "srec_records.h"

#include "cli.h"
#include "commands.h"
#include "groups.h"
#include "model.h"
#include "stacks.h"
#include "symbolize.h"

#define BLOCK_SYNC 0xB54B4C42u
#define BLOCK_TAIL 0xB5424C4Bu

static int g_fd = -1;
static char g_path[64];

/* See the top comment: the commands' symbolizer, minus every host file. */
struct sym_ctx *__wrap_cli_symbolizer(const struct cli *c);
struct sym_ctx *__wrap_cli_symbolizer(const struct cli *c)
{
	struct sym_opts o;

	sym_opts_init(&o);
	o.demangle = c->demangle;
	o.use_recorded_path = 0;
	o.use_system_debug = 0;
	return sym_ctx_new(&o);
}

static void fatal(const char *what)
{
	/* Setup failures are not findings: stop the run loudly. */
	dprintf(2, "fuzz_reader: %s: %s\n", what, strerror(errno));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!freopen("/dev/null", "w", stdout))
		fatal("freopen stdout");
	if (!getenv("FUZZ_READER_STDERR") || strcmp(getenv("FUZZ_READER_STDERR"), "1")) {
		FILE *null = fopen("/dev/null", "w");
		if (!null)
			fatal("fopen /dev/null");
		stderr = null; /* the stream only; fd 2 keeps the sanitizer reports */
	}
	g_fd = memfd_create("fuzz_reader.srec", MFD_CLOEXEC);
	if (g_fd < 0)
		fatal("memfd_create");
	snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);
	return 0;
}

static void load_input(const uint8_t *d, size_t n)
{
	if (ftruncate(g_fd, 0) != 0)
		fatal("ftruncate");
	size_t done = 0;
	while (done < n) {
		ssize_t k = pwrite(g_fd, d + done, n - done, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			fatal("pwrite");
		done += (size_t)k;
	}
}

/* ---- the repaired image ---- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fixup(uint8_t *d, size_t n)
{
	if (n < SREC_HEADER_LEN)
		return;
	put32(d + 28, crc32c(0, d, 28));
	uint32_t hl = get32(d + 16);
	size_t off = hl >= SREC_HEADER_LEN && hl <= 4096 ? hl : SREC_HEADER_LEN;
	while (off + SREC_BLOCK_HDR_LEN <= n) {
		uint8_t *h = d + off;
		if (get32(h) != BLOCK_SYNC) {
			off++;
			continue;
		}
		uint32_t stored = get32(h + 8);
		uint64_t padded = ((uint64_t)stored + 7) & ~(uint64_t)7;
		uint64_t total = SREC_BLOCK_HDR_LEN + padded + SREC_BLOCK_TRAILER_LEN;
		if (stored > SREC_MAX_PAYLOAD || total > n - off) {
			/* a header the reader will accept and then find truncated,
			 * or reject for its lengths */
			put32(h + 44, crc32c(0, h, 44));
			off++;
			continue;
		}
		uint16_t codec = (uint16_t)(h[6] | h[7] << 8);
		if (codec == 0 && get32(h + 12) != stored && !(get32(h + 16) & 0x80000000u))
			put32(h + 12, stored);
		put32(h + 20, crc32c(0, h + SREC_BLOCK_HDR_LEN, stored));
		put32(h + 44, crc32c(0, h, 44));
		put32(h + SREC_BLOCK_HDR_LEN + padded, (uint32_t)total);
		put32(h + SREC_BLOCK_HDR_LEN + padded + 4, BLOCK_TAIL);
		off += (size_t)total;
	}
}

/* ---- pass 1: the reader on its own ---- */

static volatile uint64_t g_sink;

static void read_all(int fields)
{
	struct srec_reader *r;
	const struct srec_record *rec;

	if (srec_reader_open_fd(&r, g_fd) != 0)
		return;
	while (srec_reader_next(r, &rec) == 1) {
		g_sink += srec_reader_block_type(r) + srec_reader_block_offset(r);
		if (!fields)
			continue;
		struct srec_field_info fi[32];
		unsigned nf = srec_record_fields(rec->type, fi, 32);
		for (unsigned i = 0; i < nf && i < 32; i++) {
			if (fi[i].kind == 'B') {
				const srec_bytes *b = (const void *)((const char *)rec + fi[i].offset);
				for (uint32_t k = 0; k < b->len; k++)
					g_sink += b->p[k];
			} else {
				g_sink += (uint64_t)srec_field_int(rec, &fi[i]);
			}
		}
		const struct srec_ev *ev = srec_record_ev(rec);
		if (ev)
			g_sink += ev->ts;
		if (rec->type == SREC_R_STACK)
			for (uint32_t i = 0; i < rec->u.stack.nframes; i++)
				g_sink += (uint64_t)rec->u.stack.frames[i] + rec->u.stack.modules[i];
	}
	const struct srec_read_status *st = srec_reader_status(r);
	g_sink += st->records + st->blocks_bad + (uint64_t)srec_reader_last_errno(r);
	srec_reader_close(r);
}

/* ---- pass 2: the model and the leaks grouping ---- */

struct lk {
	uint64_t end;
	int finishing;
	struct groups outstanding, exited, closewait;
	int err;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct lk *L = arg;

	/* what the reports look at for every socket */
	g_sink += strlen(model_str(m, s->comm)) + strlen(model_str(m, s->rel_comm));
	const struct mproc *p = model_proc(m, s->pid);
	if (p)
		g_sink += strlen(model_str(m, p->exe));
	g_sink += (uint64_t)strlen(family_name(s->family)) + strlen(socktype_name(s->type)) +
		  strlen(proto_name(s->family, s->protocol)) + strlen(how_name(s->how)) +
		  strlen(origin_name(s->origin)) + strlen(stack_error_name(s->alloc_ustack));
	for (unsigned i = 0; i < s->nstates && i < MAX_STATES; i++)
		g_sink += strlen(tcp_state_name(s->states[i]));

	if (!L->finishing) {
		if (s->how == SREC_HOW_EXIT && s->alloc_ts &&
		    groups_add(&L->exited, s, s->release_ts - s->alloc_ts, s->in_loss_window))
			L->err = 1;
		return;
	}
	if (s->nstates && s->states[s->nstates - 1] == 8) {
		uint64_t since = s->state_ts[s->nstates - 1];
		if (groups_add(&L->closewait, s, L->end > since ? L->end - since : 0, 0))
			L->err = 1;
	}
	if (!s->alloc_ts)
		return;
	uint64_t age = L->end > s->alloc_ts ? L->end - s->alloc_ts : 0;
	if (groups_add(&L->outstanding, s, age, model_loss_between(m, s->alloc_ts, L->end)))
		L->err = 1;
}

static void lines_of(struct stacks *st, uint64_t ref)
{
	size_t n = 0;
	const char *const *l = stacks_lines(st, ref, &n);
	char key[600];

	for (size_t i = 0; l && i < n; i++) {
		stacks_frame_key(l[i], key, sizeof(key));
		g_sink += strlen(key);
	}
}

static void walk_groups(struct stacks *st, const struct groups *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		const struct group *g = &gs->g[i];
		g_sink += group_age_pct(g, 0) + group_age_pct(g, 50) + group_age_pct(g, 90) +
			  group_age_pct(g, 100) + strlen(g->key ? g->key : "");
		lines_of(st, g->kstack);
		lines_of(st, g->ustack);
		lines_of(st, g->example.rel_kstack);
		lines_of(st, g->example.rel_ustack);
		lines_of(st, g->example.connect_stack);
	}
}

static void model_pass(void)
{
	struct model m;
	struct lk L;
	char why[600];

	memset(&L, 0, sizeof(L));
	int err = model_load(&m, g_path, NULL, on_done, &L, why, sizeof(why));
	if (err) {
		g_sink += strlen(why);
		model_free(&m);
		groups_free(&L.exited);
		return;
	}
	const char *e = model_meta(&m, "recording.end_ns");
	L.end = e ? strtoull(e, NULL, 10) : m.ts_last;
	L.finishing = 1;
	model_finish(&m);

	struct sym_opts o;
	sym_opts_init(&o);
	o.use_recorded_path = 0;
	o.use_system_debug = 0;
	struct sym_ctx *sym = sym_ctx_new(&o);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	if (st && !L.err && !groups_collapse(&L.outstanding, st) && !groups_collapse(&L.exited, st) &&
	    !groups_collapse(&L.closewait, st)) {
		walk_groups(st, &L.outstanding);
		walk_groups(st, &L.exited);
		walk_groups(st, &L.closewait);
		for (uint64_t ref = 0; ref < SREC_STACK_FIRST_ID + m.nstacks + 1; ref++)
			lines_of(st, ref);
	}
	for (size_t i = 0; i < m.nksyms; i++)
		g_sink += (uintptr_t)model_ksym(&m, m.ksyms[i].off);
	g_sink += (uintptr_t)model_ksym(&m, INT64_MIN) + (uintptr_t)model_ksym(&m, INT64_MAX);
	groups_free(&L.outstanding);
	groups_free(&L.exited);
	groups_free(&L.closewait);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
}

/* ---- pass 3: the commands, output to /dev/null ---- */

/* The other commands of sockreport; one of them runs per input. */
static int (*const g_more[])(struct cli *) = {
	cmd_pairs, cmd_states, cmd_summary, cmd_latency, cmd_allocs, cmd_diff, cmd_timeline, cmd_html,
};
/* Where cmd_html writes its page: a fresh directory of this process,
 * removed at exit. */
static char g_html[64], g_html_dir[32];

static void rm_html_dir(void)
{
	rmdir(g_html_dir);
}
static const char *const g_by[] = { NULL, "comm", "pid", "stack", "dport", "raddr" };

/* dump, info and leaks run once per input, and one of g_more; each as text
 * or --json and with other options by bits of the input's size: the choice
 * is fixed for an input, and the corpus covers every variant at a fraction
 * of the cost of running them all on every input. */
static void commands(size_t size)
{
	struct cli c;
	/* the file twice: diff compares it against itself */
	const char *const files[2] = { g_path, g_path };

	memset(&c, 0, sizeof(c));
	c.files = files;
	c.nfiles = 1;
	c.demangle = 1;
	c.older_ns = 1000000000ull;

	c.cmd = "dump";
	c.json = (size & 1) != 0;
	cmd_dump(&c);

	c.cmd = "info";
	c.json = (size & 2) != 0;
	cmd_info(&c);

	c.cmd = "leaks";
	c.json = (size & 4) != 0;
	if (size & 8) {
		c.older_ns = 0;
		c.wide = 1;
		c.folded = (size & 16) != 0;
	} else {
		c.top = 1;
		c.since = "0.001";
		c.until = "1e6";
		c.comm = "leaker";
	}
	cmd_leaks(&c);

	memset(&c, 0, sizeof(c));
	c.files = files;
	c.nfiles = 1;
	c.demangle = 1;
	c.older_ns = (size & 32) ? 0 : 1000000000ull;
	c.json = (size & 64) != 0;
	c.stacks = (size & 128) != 0;
	c.folded = (size & 256) != 0;
	c.lines = (size & 512) != 0;
	c.by = g_by[(size >> 10) % (sizeof(g_by) / sizeof(g_by[0]))];
	c.fail_on = (size & 16) ? "leaks>0,connect.p90>=+10%,new_sites==0" : NULL;
	size_t k = (size >> 4) % (sizeof(g_more) / sizeof(g_more[0]));
	c.nfiles = g_more[k] == cmd_diff ? 2 : 1;
	if (g_more[k] == cmd_html) {
		if (!g_html[0]) {
			snprintf(g_html_dir, sizeof(g_html_dir), "/tmp/fuzz-html.XXXXXX");
			if (!mkdtemp(g_html_dir) || atexit(rm_html_dir))
				abort();
			snprintf(g_html, sizeof(g_html), "%s/page.html", g_html_dir);
		}
		c.output = g_html;
		c.nfiles = (size & 2048) ? 2 : 1;
	}
	g_more[k](&c);
	if (g_more[k] == cmd_html)
		unlink(g_html); /* -o never overwrites: the next input needs it gone */

	if (fflush(stdout) == EOF)
		clearerr(stdout);
	if (fflush(stderr) == EOF)
		clearerr(stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* pass 1: as it is */
	load_input(data, size);
	read_all(0);

	/* pass 2: repaired */
	uint8_t *fixed = malloc(size ? size : 1);
	if (!fixed)
		return 0;
	if (size)
		memcpy(fixed, data, size);
	fixup(fixed, size);
	const char *keep = getenv("FUZZ_FIXUP_OUT");
	if (keep) {
		FILE *f = fopen(keep, "wb");
		if (!f || fwrite(fixed, 1, size, f) != size || fclose(f) != 0)
			fatal(keep);
	}
	load_input(fixed, size);
	free(fixed);
	read_all(1);
	model_pass();
	commands(size);
	return 0;
}
