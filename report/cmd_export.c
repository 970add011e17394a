/* cmd_export.c - `sockreport export FILE... -o DIR`: every recording as
 * tables for analytical engines (DuckDB, ClickHouse, Spark), schema in
 * spec/export.md.
 *
 * Tables: sockets (one row per socket), events (one row per event
 * record), sites (one row per allocation site), recordings (one row per
 * file: host, kernel, clocks, losses, completeness).  Every row carries
 * host and recording_id, and files land in a hive layout
 * DIR/TABLE/host=H/date=YYYY-MM-DD/RECORDING.ndjson.zst, so that one glob
 * over many hosts' exports loads in one statement.
 *
 * The file is streamed once: events and sockets are written as the model
 * hands them over (memory bounded by the live sockets, as for `pairs`);
 * sites and the recording row at the end.  Site keys are the portable
 * keys of `diff` (module!function per frame, no addresses), so that a code
 * path joins across hosts and builds.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "out.h"
#include "stacks.h"
#include "srec_codec.h"
#include "srec_error.h"
#include "table_out.h"
#include "wallclock.h"
#include "sites.h"
#include "commands.h"
#include "names.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* spec/export.md: bumped (minor) when columns are added, (major) when a
 * column changes meaning or goes. */
#define EXPORT_SCHEMA "1.0"

static const char *const sockets_cols[] = {
	"host", "recording_id", "serial", "sk", "inode", "pid", "tid", "comm", "fd", "family",
	"sock_type", "protocol", "kind", "origin", "local", "remote", "alloc_s", "alloc_unix_ns",
	"release_s", "release_unix_ns", "lifetime_ns", "age_at_end_ns", "how", "released_by_pid",
	"released_by_comm", "open", "preexisting", "possible", "leak_class", "close_wait",
	"last_state", "states", "connects", "connect_ret", "connect_errno", "connect_nonblocking",
	"connect_latency_ns", "connect_established", "connect_remote", "accepted",
	"accept_listener_serial", "accept_queue_wait_ns", "site_key", "site_id", "alloc_user_stack",
	"alloc_kernel_stack",
};

/* Event columns, and how each record field becomes one.  A field not in
 * the table (stack ids, estab_ts) is not exported: stacks are per socket
 * (sockets.site_key) and the connection's times are in sockets. */
static const char *const events_cols[] = {
	"host", "recording_id", "t_s", "time_unix_ns", "record", "cpu", "pid", "tid", "comm",
	"serial", "sk", "listener_serial", "fd", "inode", "family", "sock_type", "protocol",
	"origin", "how", "owner_pid", "old_state", "new_state", "state", "local", "remote",
	"dur_ns", "ret", "errno", "nonblocking", "child_pid", "filename", "exit_code", "group_dead",
};
enum { EV_T_S = 2, EV_TIME, EV_RECORD, EV_FIRST_FIELD, EV_NCOLS = 33 };
_Static_assert(sizeof(events_cols) / sizeof(events_cols[0]) == EV_NCOLS, "events_cols");

enum conv { C_U, C_I, C_STR, C_FAMILY, C_STYPE, C_PROTO, C_ORIGIN, C_HOW, C_STATE, C_RET,
	    C_NONBLOCK, C_PORT, C_ADDR };
static const struct {
	const char *field, *column;
	enum conv conv;
} ev_fields[] = {
	{ "cpu", "cpu", C_U },           { "pid", "pid", C_U },
	{ "tid", "tid", C_U },           { "comm", "comm", C_STR },
	{ "serial", "serial", C_U },     { "sk", "sk", C_U },
	{ "lserial", "listener_serial", C_U }, { "fd", "fd", C_I },
	{ "ino", "inode", C_U },         { "family", "family", C_FAMILY },
	{ "type", "sock_type", C_STYPE }, { "protocol", "protocol", C_PROTO },
	{ "origin", "origin", C_ORIGIN }, { "how", "how", C_HOW },
	{ "owner", "owner_pid", C_U },   { "oldstate", "old_state", C_STATE },
	{ "newstate", "new_state", C_STATE }, { "tcpstate", "state", C_STATE },
	{ "dur_ns", "dur_ns", C_U },     { "ret", "ret", C_RET },
	{ "flags", "nonblocking", C_NONBLOCK }, { "child", "child_pid", C_U },
	{ "filename", "filename", C_STR }, { "code", "exit_code", C_I },
	{ "group_dead", "group_dead", C_U },
	/* address + port pairs: local and remote */
	{ "sport", "local", C_PORT },    { "saddr", "local", C_ADDR },
	{ "lport", "local", C_PORT },    { "laddr", "local", C_ADDR },
	{ "dport", "remote", C_PORT },   { "daddr", "remote", C_ADDR },
	{ "pport", "remote", C_PORT },   { "paddr", "remote", C_ADDR },
	{ "rport", "remote", C_PORT },   { "raddr", "remote", C_ADDR },
};

_Static_assert(N(ev_fields) < 255 && EV_NCOLS < 255, "evmap stores them in a byte");

static const char *const sites_cols[] = {
	"host", "recording_id", "site_key", "site_id", "origin", "kind", "allocated", "released",
	"open", "leaked", "exit_released", "close_wait", "possible", "lifetime_p50_ns",
	"example_pid", "example_comm", "user_stack", "kernel_stack",
};

static const char *const recordings_cols[] = {
	"host", "recording_id", "schema_version", "file", "kernel", "arch", "boot_id",
	"kernel_build_id", "recorder_version", "backend", "backend_alloc", "backend_release",
	"backend_state", "backend_connect", "backend_accept", "start_time", "start_unix_ns",
	"end_unix_ns", "duration_ns", "complete", "stop_reason", "salvaged", "first_error",
	"first_error_offset", "blocks_ok", "blocks_bad", "index", "lost_events", "loss_windows",
	"stack_failures", "hook_skips", "records_capped", "releases_unknown", "records", "events",
	"sockets", "sockets_open", "leaked", "close_wait", "sites", "older_ns",
};

/* An allocation site's key, made once per (kstack, ustack, origin). */
struct skey {
	char *key;
	char id[17];
};

struct exp {
	struct cli *c;
	const char *path;
	struct tout *t_sockets, *t_events;
	struct sym_ctx *sym;
	struct stacks *st;
	struct sites ss;
	struct agg keys;        /* "k/u/o" -> struct skey */
	uint64_t end;
	int finishing, err;
	int have_clock;
	int64_t real_minus_mono; /* wall ns = ts + this */
	char host[256], recid[40];
	/* per record type and field: the ev_fields entry + 1 (0: not
	 * exported) and its column, worked out once per type */
	struct { uint8_t k, col; } evmap[SREC_R__MAX][32];
	uint8_t evmap_done[SREC_R__MAX];
	uint64_t nsockets, nopen, nleaked, ncw, nevents;
};

static void exp_clock(struct exp *E, const struct model *m)
{
	if (E->have_clock)
		return;
	const char *mo = model_meta(m, "clock.monotonic_ns"), *re = model_meta(m, "clock.realtime_ns");
	E->have_clock = !wall_offset(mo, re, &E->real_minus_mono);
}

/* Every row of every table starts with the recording's identity. */
static void start_row(const struct exp *E, struct tout *t)
{
	tout_row(t);
	tout_str(t, E->host);
	tout_str(t, E->recid);
}

static void t_unix(struct exp *E, struct tout *t, uint64_t ts)
{
	int64_t w;
	if (E->have_clock && ts && !wall_ns(E->real_minus_mono, ts, &w))
		tout_i64(t, w);
	else
		tout_null(t);
}

static uint64_t start_of(const struct model *m)
{
	return m->has_start_meta ? m->start_meta_ns : m->ts_first;
}

static void t_rel(struct tout *t, const struct model *m, uint64_t ts)
{
	if (ts)
		tout_sec(t, (int64_t)(ts - start_of(m)));
	else
		tout_null(t);
}

static int need_stacks(struct exp *E, struct model *m)
{
	if (!E->st && !(E->st = stacks_new(m, E->sym)))
		return -1;
	return stacks_sync(E->st);
}

/* FNV-1a 64: a short, stable id for joins on a long key. */
static void hex_id(char out[17], const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	snprintf(out, 17, "%016" PRIx64, h);
}

static const struct skey *site_key_of(struct exp *E, uint64_t k, uint64_t u, uint32_t o)
{
	char id[80];
	snprintf(id, sizeof(id), "%" PRIu64 "/%" PRIu64 "/%u", k, u, o);
	struct skey *x = agg_get(&E->keys, id);
	if (!x)
		return NULL;
	if (!x->key) {
		if (!(x->key = portable_key(E->st, k, u, o, 0)))
			return NULL;
		hex_id(x->id, x->key);
	}
	return x;
}

static void t_stack(struct exp *E, struct tout *t, uint64_t ref)
{
	size_t n = 0;
	const char *const *l = stacks_lines(E->st, ref, &n);
	if (!l && n)
		E->err = 1;
	tout_strs(t, l, l ? n : 0);
}

static void t_addr(struct tout *t, uint32_t family, const uint8_t a[16], uint16_t port)
{
	char buf[80];
	cli_addr(buf, sizeof(buf), family, a, port);
	tout_str(t, strcmp(buf, "-") ? buf : NULL);
}

/* The leak class, as `sockreport leaks` counts (spec/export.md). */
static const char *leak_class(const struct msock *s, uint64_t end, uint64_t older_ns)
{
	if (s->released)
		return s->how == SREC_HOW_EXIT && s->alloc_ts ? "exit" : NULL;
	if (!s->alloc_ts)
		return "preexisting";
	return end > s->alloc_ts && end - s->alloc_ts >= older_ns ? "outstanding" : "young";
}

static void socket_row(struct exp *E, struct model *m, const struct msock *s)
{
	struct tout *t = E->t_sockets;
	uint64_t end = E->finishing ? E->end : m->ts_last;
	if (need_stacks(E, m)) {
		E->err = 1;
		return;
	}
	const struct skey *key = site_key_of(E, s->alloc_kstack, s->alloc_ustack, s->origin);
	if (!key || sites_add(&E->ss, m, s, end, E->c->older_ns)) {
		E->err = 1;
		return;
	}
	exp_clock(E, m);
	uint64_t from = s->alloc_ts ? s->alloc_ts : start_of(m);
	const char *lc = leak_class(s, end, E->c->older_ns);
	uint64_t since = 0;
	uint32_t last = msock_last_state(s, &since);
	int cw = !s->released && s->nstates && s->states[s->nstates - 1] == TCP_ST_CLOSE_WAIT;
	E->nsockets++;
	E->nopen += !s->released;
	E->nleaked += lc && !strcmp(lc, "outstanding");
	E->ncw += (uint64_t)cw;

	start_row(E, t);
	tout_u64(t, s->serial);
	tout_u64(t, s->sk);
	tout_u64(t, s->ino);
	tout_u64(t, s->pid);
	tout_u64(t, s->tid);
	tout_str(t, model_str(m, s->comm));
	tout_i64(t, s->fd);
	tout_str(t, family_name(s->family));
	tout_str(t, socktype_name(s->type));
	tout_str(t, proto_name(s->family, s->protocol));
	char kind[64];
	cli_kind(kind, sizeof(kind), s->family, s->type, s->protocol);
	tout_str(t, kind);
	tout_str(t, origin_name(s->origin));
	uint32_t af = s->addr_family ? s->addr_family : s->family;
	t_addr(t, af, s->laddr, s->lport);
	t_addr(t, af, s->raddr, s->rport);
	t_rel(t, m, s->alloc_ts);
	t_unix(E, t, s->alloc_ts);
	if (s->released) {
		t_rel(t, m, s->release_ts);
		t_unix(E, t, s->release_ts);
		tout_u64(t, s->release_ts > from ? s->release_ts - from : 0);
		tout_null(t);
		tout_str(t, how_name(s->how));
		tout_u64(t, s->rel_pid);
		tout_str(t, model_str(m, s->rel_comm));
	} else {
		tout_null(t);
		tout_null(t);
		tout_null(t);
		tout_u64(t, end > from ? end - from : 0);
		tout_null(t);
		tout_null(t);
		tout_null(t);
	}
	tout_bool(t, !s->released);
	tout_bool(t, s->preexisting);
	tout_bool(t, s->released ? s->in_loss_window :
				   model_loss_between(m, from, end));
	tout_str(t, lc);
	tout_bool(t, cw);
	tout_str(t, s->nstates ? tcp_state_name(last) : NULL);
	const char *states[MAX_STATES];
	for (int i = 0; i < s->nstates && i < MAX_STATES; i++)
		states[i] = tcp_state_name(s->states[i]);
	tout_strs(t, states, s->nstates < MAX_STATES ? s->nstates : MAX_STATES);
	tout_u64(t, s->nconnects);
	if (s->nconnects) {
		uint64_t ns = 0;
		int ok = 0, err = 0, have = msock_connect_latency(s, &ns, &ok, &err);
		tout_i64(t, s->connect_ret);
		if (s->connect_ret < 0) {
			char eb[32];
			tout_str(t, names_errno_of(s->connect_ret, eb, sizeof(eb)));
		} else {
			tout_null(t);
		}
		tout_bool(t, !!(s->connect_flags & SREC_CF_NONBLOCK));
		if (have) {
			tout_u64(t, ns);
			tout_bool(t, ok);
		} else {
			tout_null(t);
			tout_null(t);
		}
		t_addr(t, s->connect_family, s->connect_daddr, (uint16_t)s->connect_dport);
	} else {
		for (int i = 0; i < 6; i++)
			tout_null(t);
	}
	tout_bool(t, s->accept_ts != 0);
	if (s->accept_ts) {
		tout_u64(t, s->lserial);
		tout_u64(t, s->accept_estab_ts && s->accept_ts > s->accept_estab_ts ?
				    s->accept_ts - s->accept_estab_ts : 0);
	} else {
		tout_null(t);
		tout_null(t);
	}
	tout_str(t, key->key);
	tout_str(t, key->id);
	t_stack(E, t, s->alloc_ustack);
	t_stack(E, t, s->alloc_kstack);
	tout_end(t);
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct exp *E = arg;
	if (!E->err)
		socket_row(E, m, s);
}

/* One event column's value from a record field. */
struct evval {
	int set;
	enum conv conv;
	int64_t v;
	const srec_bytes *b;
};

static void on_event(struct model *m, const struct srec_record *r, const struct msock *s,
		     uint64_t prev_ts, void *arg)
{
	struct exp *E = arg;
	struct srec_field_info fi[32];
	struct evval col[EV_NCOLS];
	unsigned nf = srec_record_fields(r->type, fi, 32);
	const struct srec_ev *ev = srec_record_ev(r);
	uint32_t family = 0;
	int port[2] = { -1, -1 }; /* local, remote */
	(void)s;
	(void)prev_ts;
	if (E->err || !ev)
		return;
	exp_clock(E, m);
	memset(col, 0, sizeof(col));
	if (r->type < SREC_R__MAX && !E->evmap_done[r->type]) {
		for (unsigned i = 0; i < nf; i++) {
			E->evmap[r->type][i].k = 0;
			for (size_t k = 0; k < N(ev_fields); k++) {
				if (strcmp(fi[i].name, ev_fields[k].field))
					continue;
				int c = EV_FIRST_FIELD;
				while (c < EV_NCOLS && strcmp(events_cols[c], ev_fields[k].column))
					c++;
				E->evmap[r->type][i].k = (uint8_t)(k + 1);
				E->evmap[r->type][i].col = (uint8_t)c;
				break;
			}
		}
		E->evmap_done[r->type] = 1;
	}
	for (unsigned i = 0; i < nf && r->type < SREC_R__MAX; i++) {
		if (!E->evmap[r->type][i].k)
			continue;
		size_t k = E->evmap[r->type][i].k - 1u;
		int c = E->evmap[r->type][i].col;
		int64_t v = fi[i].kind == 'B' ? 0 : srec_field_int(r, &fi[i]);
		if (ev_fields[k].conv == C_PORT) {
			port[c == EV_NCOLS || strcmp(events_cols[c], "local") ? 1 : 0] = (int)v;
			continue;
		}
		if (ev_fields[k].conv == C_FAMILY)
			family = (uint32_t)v;
		if (c < EV_NCOLS) {
			col[c].set = 1;
			col[c].conv = ev_fields[k].conv;
			col[c].v = v;
			if (fi[i].kind == 'B')
				col[c].b = (const void *)((const char *)r + fi[i].offset);
		}
	}
	struct tout *t = E->t_events;
	E->nevents++;
	start_row(E, t);
	tout_sec(t, (int64_t)(ev->ts - start_of(m)));
	t_unix(E, t, ev->ts);
	tout_str(t, srec_record_name(r->type));
	for (int c = EV_FIRST_FIELD; c < EV_NCOLS; c++) {
		const struct evval *x = &col[c];
		if (!x->set) {
			tout_null(t);
			/* ret's companion: the errno column after it */
			continue;
		}
		switch (x->conv) {
		case C_U: tout_u64(t, (uint64_t)x->v); break;
		case C_I: tout_i64(t, x->v); break;
		case C_STR: tout_str(t, x->v ? model_str(m, (uint64_t)x->v) : NULL); break;
		case C_FAMILY: tout_str(t, family_name((uint32_t)x->v)); break;
		case C_STYPE: tout_str(t, socktype_name((uint32_t)x->v)); break;
		case C_PROTO: tout_str(t, proto_name(family, (uint32_t)x->v)); break;
		case C_ORIGIN: tout_str(t, origin_name((uint32_t)x->v)); break;
		case C_HOW: tout_str(t, how_name((uint32_t)x->v)); break;
		case C_STATE: tout_str(t, tcp_state_name((uint32_t)x->v)); break;
		case C_RET: {
			tout_i64(t, x->v);
			char eb[32];
			c++; /* the errno column */
			if (x->v < 0)
				tout_str(t, names_errno_of(x->v, eb, sizeof(eb)));
			else
				tout_null(t);
			break;
		}
		case C_NONBLOCK: tout_bool(t, (x->v & SREC_CF_NONBLOCK) != 0); break;
		case C_ADDR: {
			if (!x->b) { /* only bytes fields convert so */
				tout_null(t);
				break;
			}
			uint8_t a[16] = { 0 };
			uint32_t len = x->b->len > 16 ? 16 : x->b->len;
			memcpy(a, x->b->p, len);
			int p = port[strcmp(events_cols[c], "local") ? 1 : 0];
			t_addr(t, len == 16 ? 10 : 2, a, (uint16_t)(p < 0 ? 0 : p));
			break;
		}
		case C_PORT: tout_null(t); break; /* not a column of its own */
		}
	}
	tout_end(t);
}

/* YYYY-MM-DD (UTC) of a wall-clock ns; "unknown" without clocks. */
static void utc_date(char *buf, size_t cap, const struct exp *E, uint64_t ts, int with_time)
{
	int64_t w;
	if (!E->have_clock || wall_ns(E->real_minus_mono, ts, &w) || w < 0) {
		snprintf(buf, cap, "unknown");
		return;
	}
	time_t sec = (time_t)(w / 1000000000);
	struct tm tm;
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, cap, "unknown");
		return;
	}
	strftime(buf, cap, with_time ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d", &tm);
	if (with_time) {
		size_t n = strlen(buf);
		snprintf(buf + n, cap - n, ".%06uZ", (unsigned)(w % 1000000000 / 1000));
	}
}

static void meta_col(struct tout *t, const struct model *m, const char *k)
{
	tout_str(t, model_meta(m, k));
}

static void sites_rows(struct exp *E, struct model *m, struct tout *t)
{
	for (size_t i = 0; i < E->ss.by_key.n; i++) {
		const struct site *x = E->ss.by_key.vals[i];
		char kind[64], id[17];
		site_kind(kind, sizeof(kind), x);
		hex_id(id, x->key);
		start_row(E, t);
		tout_str(t, x->key);
		tout_str(t, id);
		tout_str(t, origin_name(x->origin));
		tout_str(t, kind);
		tout_u64(t, x->allocs);
		tout_u64(t, x->releases);
		tout_u64(t, x->open);
		tout_u64(t, x->leaks);
		tout_u64(t, x->exit_released);
		tout_u64(t, x->closewait);
		tout_u64(t, x->possible);
		if (x->life.n)
			tout_u64(t, vals_pct(&x->life, 50));
		else
			tout_null(t);
		tout_u64(t, x->pid);
		tout_str(t, model_str(m, x->comm));
		t_stack(E, t, x->ustack);
		t_stack(E, t, x->kstack);
		tout_end(t);
	}
}

static void recording_row(struct exp *E, struct model *m, struct tout *t)
{
	uint64_t start = m->start_ns, end = E->end;
	char st[64];
	const char *base = strrchr(E->path, '/');
	utc_date(st, sizeof(st), E, start, 1);
	start_row(E, t);
	tout_str(t, EXPORT_SCHEMA);
	tout_str(t, base ? base + 1 : E->path);
	meta_col(t, m, "host.kernel");
	meta_col(t, m, "host.arch");
	meta_col(t, m, "host.boot_id");
	meta_col(t, m, "kernel.build_id");
	meta_col(t, m, "recorder.version");
	meta_col(t, m, "backend");
	meta_col(t, m, "backend.alloc");
	meta_col(t, m, "backend.release");
	meta_col(t, m, "backend.state");
	meta_col(t, m, "backend.connect");
	meta_col(t, m, "backend.accept");
	tout_str(t, E->have_clock ? st : NULL);
	t_unix(E, t, start);
	t_unix(E, t, end);
	tout_u64(t, end > start ? end - start : 0);
	tout_bool(t, m->complete);
	meta_col(t, m, "recording.stop_reason");
	tout_bool(t, m->status.salvaged);
	tout_str(t, m->status.first_error ? srec_strerror(m->status.first_error) : NULL);
	if (m->status.salvaged)
		tout_u64(t, m->status.first_error_offset);
	else
		tout_null(t);
	tout_u64(t, m->status.blocks_ok);
	tout_u64(t, m->status.blocks_bad);
	tout_str(t, cli_index_state(m->status.index));
	tout_u64(t, m->lost_events);
	tout_u64(t, m->nlosses);
	tout_u64(t, m->lost_stacks);
	tout_u64(t, m->hook_skips);
	tout_u64(t, m->records_capped);
	tout_u64(t, m->releases_unknown);
	tout_u64(t, m->status.records);
	tout_u64(t, m->events);
	tout_u64(t, E->nsockets);
	tout_u64(t, E->nopen);
	tout_u64(t, E->nleaked);
	tout_u64(t, E->ncw);
	tout_u64(t, E->ss.by_key.n);
	tout_u64(t, E->c->older_ns);
	tout_end(t);
}

/* Host and recording identity, from the metadata read so far. */
static void identity(struct exp *E, const struct model *m)
{
	const char *h = model_meta(m, "host.name"), *b = model_meta(m, "host.boot_id");
	char id[17], seed[400];
	snprintf(E->host, sizeof(E->host), "%s", h && *h ? h : "unknown");
	/* the same recording exported twice gets the same id; two recordings
	 * of one boot differ by their start */
	snprintf(seed, sizeof(seed), "%s/%s/%" PRIu64 "/%s", E->host, b ? b : "", m->start_ns,
		 b ? "" : E->path);
	hex_id(id, seed);
	snprintf(E->recid, sizeof(E->recid), "%s", id);
}

static int export_one(struct cli *c, const char *path, enum tout_fmt fmt, int zstd,
		      uint64_t *events, uint64_t *bytes)
{
	struct exp E;
	struct model m;
	char why[700];
	struct tout *t_sites = NULL, *t_rec = NULL;
	int rc = 1;

	memset(&E, 0, sizeof(E));
	E.c = c;
	E.path = path;
	sites_init(&E.ss);
	agg_init(&E.keys, sizeof(struct skey));
	/* Every row carries host and recording_id, known from the metadata:
	 * a metadata-only read first (with a valid index only the META
	 * blocks are decompressed; without one, the whole file once more). */
	{
		struct cli pc = *c;
		pc.index_types = 1ull << SREC_R_META;
		struct model peek;
		if (cli_load(&pc, path, &peek, NULL, NULL)) {
			agg_free(&E.keys);
			sites_free(&E.ss);
			return 1;
		}
		identity(&E, &peek);
		model_free(&peek);
	}
	E.sym = cli_symbolizer(c);
	if (!E.sym) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out_nomodel;
	}
	E.t_sockets = tout_open(c->output, "sockets", sockets_cols, N(sockets_cols), fmt, zstd, why,
				sizeof(why));
	if (E.t_sockets)
		E.t_events = tout_open(c->output, "events", events_cols, N(events_cols), fmt, zstd,
				       why, sizeof(why));
	if (E.t_events)
		t_sites = tout_open(c->output, "sites", sites_cols, N(sites_cols), fmt, zstd, why,
				    sizeof(why));
	if (t_sites)
		t_rec = tout_open(c->output, "recordings", recordings_cols, N(recordings_cols), fmt,
				  zstd, why, sizeof(why));
	if (!t_rec) {
		fprintf(stderr, "sockreport: export: %s\n", why);
		goto out_nomodel;
	}
	if (cli_load_ev(c, path, &m, on_done, on_event, &E))
		goto out_nomodel;
	E.end = cli_end(&m);
	E.finishing = 1;
	model_finish(&m);
	if (E.err || need_stacks(&E, &m) || sites_collapse(&E.ss, E.st, 0)) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out;
	}
	cli_warnings(c, &m, path);
	exp_clock(&E, &m);
	sites_rows(&E, &m, t_sites);
	recording_row(&E, &m, t_rec);
	if (E.err) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out;
	}
	char date[32];
	utc_date(date, sizeof(date), &E, m.start_ns, 0);
	struct tout *all[4] = { E.t_sockets, E.t_events, t_sites, t_rec };
	E.t_sockets = E.t_events = t_sites = t_rec = NULL; /* tout_commit frees them */
	rc = 0;
	if (tout_commit(all, 4, E.host, date, E.recid, c->force, bytes, why, sizeof(why))) {
		fprintf(stderr, "sockreport: export: ");
		out_text_z(stderr, why);
		fputc('\n', stderr);
		rc = 1;
	}
	*events += m.events;
out:
	model_free(&m);
out_nomodel:
	tout_abort(E.t_sockets);
	tout_abort(E.t_events);
	tout_abort(t_sites);
	tout_abort(t_rec);
	stacks_free(E.st);
	sym_ctx_free(E.sym);
	sites_free(&E.ss);
	for (size_t i = 0; i < E.keys.n; i++)
		free(((struct skey *)E.keys.vals[i])->key);
	agg_free(&E.keys);
	return rc;
}

int cmd_export(struct cli *c)
{
	enum tout_fmt fmt = TOUT_NDJSON;
	if (!c->output) {
		fprintf(stderr, "sockreport: export needs -o DIR (try 'sockreport export --help')\n");
		return 2;
	}
	if (c->format && !strcmp(c->format, "csv"))
		fmt = TOUT_CSV;
	else if (c->format && strcmp(c->format, "ndjson")) {
		fprintf(stderr, "sockreport: invalid --format '%s' (ndjson or csv)\n", c->format);
		return 2;
	}
	int rc = 0;
	uint64_t events = 0, bytes = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < c->nfiles; i++)
		if (export_one(c, c->files[i], fmt, !c->uncompressed, &events, &bytes))
			rc = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "sockreport: exported %d file%s, %" PRIu64 " events, %" PRIu64
			" bytes, in %.2fs%s\n",
		c->nfiles, c->nfiles == 1 ? "" : "s", events, bytes, s,
		rc ? " (with errors, see above)" : "");
	return rc;
}
