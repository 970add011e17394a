/* cmd_pairs.c - `sockreport pairs`: one row per socket lifetime.
 *
 * Rows are streamed: the model hands each socket over when its lifetime
 * (and, for TCP, its connection) ended, and its row is printed then and
 * forgotten, so memory is bounded by the live sockets, not by the rows.
 * Order: sockets whose lifetime ended, in the order it ended (RELEASE, or
 * the final CLOSE of a lingering TCP socket); then the sockets still open
 * at the end (and lingering ones whose CLOSE never came), by allocation
 * time.  The totals come last (after the rows in text; as members after
 * "sockets" in JSON).
 *
 * A row is assembled in a buffer with printf-free formatting (fbuf.h) and
 * written at once: with snprintf, formatting cost more than reading.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "fbuf.h"
#include "out.h"
#include "wallclock.h"
#include "stacks.h"
#include "commands.h"

/* Escaped forms of interned strings (comms), made once per string id. */
struct strcache {
	char **json, **text;
	size_t cap;
};

/* A short name with its length, stored 16 bytes wide so that it is
 * copied with one fixed-size memcpy (names are cut to 15 bytes). */
struct name16 {
	char s[16];
	uint8_t n;
};

/* The KIND column ("INET/STREAM/TCP") of recently seen (family, type,
 * protocol), direct-mapped; the longest is 24 bytes ("NETLINK/SEQPACKET/proto?"). */
#define KIND_SLOTS 16
struct kindc {
	uint32_t family, type, protocol, valid;
	char txt[32];
	uint8_t n;
};

struct pairs {
	struct cli *c;
	const char *path;
	struct fbuf b;
	struct strcache sc;
	struct name16 state_names[16]; /* tcp_state_name() of 0..15 */
	struct name16 how_names[8];    /* how_name() of 0..7 */
	struct kindc kinds[KIND_SLOTS];
	struct sym_ctx *sym;
	struct stacks *st;
	int started, err;
	uint64_t count, nopen, npre, nposs;
	uint64_t end; /* the recording's end, once loaded (0 before) */
	struct wall wall; /* -T and the JSON's absolute times */
};

static void sc_free(struct strcache *sc)
{
	for (size_t i = 0; i < sc->cap; i++) {
		free(sc->json[i]);
		free(sc->text[i]);
	}
	free(sc->json);
	free(sc->text);
	memset(sc, 0, sizeof(*sc));
}

/* The JSON literal (json != 0) or the terminal-safe text of string id;
 * NULL on ENOMEM. */
static const char *sc_get(struct pairs *P, const struct model *m, uint64_t id, int json)
{
	struct strcache *sc = &P->sc;
	if (!id || id >= m->nstrings || !m->strings[id])
		return json ? (id ? "\"?\"" : "\"\"") : (id ? "?" : "");
	if (id >= sc->cap) {
		size_t nc = sc->cap ? sc->cap : 64;
		while (nc <= id)
			nc *= 2;
		char **nj = realloc(sc->json, nc * sizeof(*nj));
		if (!nj)
			return NULL;
		sc->json = nj;
		char **nt = realloc(sc->text, nc * sizeof(*nt));
		if (!nt)
			return NULL;
		sc->text = nt;
		memset(sc->json + sc->cap, 0, (nc - sc->cap) * sizeof(*nj));
		memset(sc->text + sc->cap, 0, (nc - sc->cap) * sizeof(*nt));
		sc->cap = nc;
	}
	char **slot = json ? &sc->json[id] : &sc->text[id];
	if (!*slot) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			return NULL;
		/* strlen, not string_len: the model's copy stops at a NUL inside */
		const char *str = m->strings[id];
		if (json)
			out_json_str(f, str, strlen(str));
		else
			out_text(f, str, strlen(str));
		if (fclose(f)) {
			free(buf);
			return NULL;
		}
		*slot = buf;
	}
	return *slot;
}

static uint64_t start_of(const struct model *m)
{
	/* recording.start_ns; while loading without it, the first event */
	return m->start_ns ? m->start_ns : m->ts_first;
}

/* Seconds since the start, as cli_rel() with "%.<dec>f". */
static void fb_rel(struct fbuf *b, const struct model *m, uint64_t ts, int dec)
{
	uint64_t start = m->has_start_meta ? m->start_meta_ns : m->ts_first;
	if (ts >= start)
		fb_sec(b, 0, ts - start, dec);
	else
		fb_sec(b, 1, start - ts, dec);
}

/* , "key": "2026-12-03T08:45:43.123456Z" (UTC), or null. */
static void json_wall(struct pairs *P, const char *key, uint64_t ts)
{
	char t[48];
	FB_LIT(&P->b, ", \"");
	fb_s(&P->b, key);
	FB_LIT(&P->b, "\": ");
	if (ts && wall_fmt(&P->wall, ts, WALL_ISO_UTC, t, sizeof(t)) == 0) {
		fb_c(&P->b, '"');
		fb_s(&P->b, t);
		fb_c(&P->b, '"');
	} else {
		FB_LIT(&P->b, "null");
	}
}

static char *w_addr(char *o, uint32_t family, const uint8_t a[16], uint16_t port);

/* As cli_addr(); returns 0 for "-" (nothing written). */
static int fb_addr(struct fbuf *b, uint32_t family, const uint8_t a[16], uint16_t port)
{
	char t[INET6_ADDRSTRLEN + 2 + 1 + 20];
	char *e = w_addr(t, family, a, port);

	if (e == t)
		return 0;
	fb_mem(b, t, (size_t)(e - t));
	return 1;
}

static int is_possible(const struct model *m, const struct msock *s, uint64_t end)
{
	if (s->released)
		return s->in_loss_window;
	return model_loss_between(m, s->alloc_ts ? s->alloc_ts : start_of(m), end);
}

static void print_stack(struct pairs *P, uint64_t ref, const char *label)
{
	size_t n = 0;
	const char *const *l = stacks_lines(P->st, ref, &n);
	if (!l || !n) /* no stack (an ENOMEM reads as one too) */
		return;
	struct fbuf *b = &P->b;
	FB_LIT(b, "      ");
	fb_s(b, label);
	FB_LIT(b, ":\n");
	for (size_t i = 0; i < n; i++) {
		/* frames are shortened in their paths' middle, never cut */
		char line[1100], shown[1100];
		snprintf(line, sizeof(line), "        %s", l[i]);
		if (P->c->cut)
			cli_shorten(shown, sizeof(shown), line, P->c->cols);
		fb_s(b, P->c->cut ? shown : line);
		fb_c(b, '\n');
	}
}

static void name16_set(struct name16 *d, const char *s)
{
	size_t n = strlen(s);
	if (n > 15)
		n = 15;
	memset(d->s, 0, sizeof(d->s));
	memcpy(d->s, s, n);
	d->n = (uint8_t)n;
}

static void names_init(struct pairs *P)
{
	for (uint32_t i = 0; i < 16; i++)
		name16_set(&P->state_names[i], tcp_state_name(i));
	for (uint32_t i = 0; i < 8; i++)
		name16_set(&P->how_names[i], how_name(i));
}

/* "FAMILY/TYPE[/PROTO]" of s, as the KIND column prints it. */
static const struct kindc *kind_name(struct pairs *P, const struct msock *s)
{
	struct kindc *k = &P->kinds[(s->family * 7 + s->type * 3 + s->protocol) % KIND_SLOTS];
	if (!k->valid || k->family != s->family || k->type != s->type ||
	    k->protocol != s->protocol) {
		const char *proto = proto_name(s->family, s->protocol);
		memset(k->txt, 0, sizeof(k->txt));
		int n = snprintf(k->txt, sizeof(k->txt), "%s/%s%s%s", family_name(s->family),
				 socktype_name(s->type), proto[0] ? "/" : "", proto);
		k->n = (uint8_t)(n < 0 ? 0 : n < (int)sizeof(k->txt) ? n : (int)sizeof(k->txt) - 1);
		k->family = s->family;
		k->type = s->type;
		k->protocol = s->protocol;
		k->valid = 1;
	}
	return k;
}

/* ---- the text row, written straight into the reserved buffer ----
 *
 * A row without its stacks has a bounded length (ROW_MAX, worked out
 * below), so it is written with unchecked stores after one fb_reserve():
 * the per-piece capacity checks, strlen and memcpy calls of the fbuf.h
 * helpers were a third of a `pairs` run's formatting (callgrind). */

/* Line 1: '#' serial (20) pad, pid (10), comm (15), kind (7+1+9+1+6),
 * alloc ("+" 20 digits ".ddd" "s"), lifetime (">" and cli_dur's < 40),
 * how (11), " by " pid, " ?": < 220.  Line 2: fd (11), inode (20),
 * " released by " pid " (" 63 ")": < 140.  Line 3: two addresses
 * ("[" 45 "]:" 5), 16 state names of <= 12 and '>', and when rewrapped a
 * second line of those: < 600.  Newlines included. */
#define ROW_MAX 1024

static inline char *w_mem(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

/* All 16 bytes are stored (the row has the room); o moves by the length. */
static inline char *w_name(char *o, const struct name16 *n)
{
	memcpy(o, n->s, 16);
	return o + n->n;
}

/* s without its NUL, at most max bytes */
static inline char *w_str(char *o, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++)
		*o++ = s[i];
	return o;
}

/* Spaces after what was written since start, up to width ("%-*s"). */
static inline char *w_pad(char *o, const char *start, size_t width)
{
	while ((size_t)(o - start) < width)
		*o++ = ' ';
	return o;
}

/* Moves what was written since start right, to end at start + width ("%*s"). */
static inline char *w_right(char *o, char *start, size_t width)
{
	size_t have = (size_t)(o - start);
	if (have >= width)
		return o;
	memmove(start + (width - have), start, have);
	memset(start, ' ', width - have);
	return start + width;
}

/* As fb_sec(b, neg, ns, 3): seconds with 3 decimals, rounded half up. */
static inline char *w_sec3(char *o, int neg, uint64_t ns)
{
	uint64_t q = ns / 1000000, r = ns % 1000000;
	if (r >= 500000)
		q++;
	if (neg)
		*o++ = '-';
	o = fb_put_u64(o, q / 1000);
	unsigned f = (unsigned)(q % 1000);
	o[0] = '.';
	o[1] = (char)('0' + f / 100);
	o[2] = (char)('0' + f / 10 % 10);
	o[3] = (char)('0' + f % 10);
	return o + 4;
}

/* As fb_addr(); returns o unchanged for "-" (nothing written). */
static char *w_addr(char *o, uint32_t family, const uint8_t a[16], uint16_t port)
{
	uint64_t w[2];
	memcpy(w, a, 16);
	if (!(w[0] | w[1]) && !port)
		return o;
	if (family == AF_INET6) {
		*o++ = '[';
		if (!inet_ntop(AF_INET6, a, o, INET6_ADDRSTRLEN))
			strcpy(o, "?");
		o += strlen(o);
		*o++ = ']';
	} else {
		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];
			if (i)
				*o++ = '.';
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
		}
	}
	*o++ = ':';
	return fb_put_u64(o, port);
}

/* Ends a table row begun at `line`: cut to 80 columns with "..." on a
 * terminal unless --wide (never when stdout is not one: c->wide is set). */
static inline char *w_eol(const struct cli *c, char *o, char *line)
{
	if (!c->wide && o - line > 80) {
		o = line + 77;
		o = w_mem(o, "...", 3);
	}
	*o++ = '\n';
	return o;
}

static void text_row(struct pairs *P, const struct model *m, const struct msock *s, uint64_t end)
{
	const struct cli *c = P->c;
	struct fbuf *b = &P->b;
	const char *comm = sc_get(P, m, s->comm, 0);
	const char *rc = s->released && s->rel_pid && s->rel_pid != s->pid ?
			 sc_get(P, m, s->rel_comm, 0) : "";
	if (!comm || !rc || fb_reserve(b, ROW_MAX)) {
		P->err = 1;
		return;
	}
	uint64_t from = s->alloc_ts ? s->alloc_ts : start_of(m);
	char *const o0 = b->p + b->n, *o = o0, *line = o, *f;
	*o++ = '#';
	f = o;
	o = w_pad(fb_put_u64(o, s->serial), f, 5);
	*o++ = ' ';
	f = o;
	o = w_right(fb_put_u64(o, s->pid), f, 7);
	*o++ = ' ';
	f = o;
	o = w_pad(w_str(o, comm, 15), f, 15);
	*o++ = ' ';
	f = o;
	const struct kindc *kind = kind_name(P, s);
	memcpy(o, kind->txt, sizeof(kind->txt));
	o = w_pad(o + kind->n, f, 16);
	*o++ = ' ';
	f = o;
	if (s->preexisting && !s->alloc_ts) {
		o = w_mem(o, "pre", 3);
	} else if (c->wall) {
		char t[48];
		wall_fmt(&P->wall, s->alloc_ts, WALL_TIME, t, sizeof(t));
		o = w_mem(o, t, strnlen(t, 12)); /* HH:MM:SS.mmm */
	} else {
		uint64_t start = m->has_start_meta ? m->start_meta_ns : m->ts_first;
		*o++ = '+';
		o = s->alloc_ts >= start ? w_sec3(o, 0, s->alloc_ts - start)
					 : w_sec3(o, 1, start - s->alloc_ts);
		*o++ = 's';
	}
	o = w_right(o, f, 8);
	*o++ = ' ';
	int by = 0;
	char d[40];
	f = o;
	if (s->released) {
		cli_dur(d, sizeof(d), s->release_ts > from ? s->release_ts - from : 0);
		o = w_right(w_str(o, d, sizeof(d)), f, 8);
		*o++ = ' ';
		if (s->how < 8)
			o = w_name(o, &P->how_names[s->how]);
		else
			o = w_str(o, how_name(s->how), 16);
		if (s->rel_pid && s->rel_pid != s->pid) {
			o = w_mem(o, " by ", 4);
			o = fb_put_u64(o, s->rel_pid);
			by = 1;
		}
	} else {
		*o++ = '>';
		cli_dur(d, sizeof(d), end > from ? end - from : 0);
		o = w_right(w_str(o, d, sizeof(d)), f, 8);
		o = w_mem(o, " OPEN", 5);
	}
	if (is_possible(m, s, end))
		o = w_mem(o, " ?", 2);
	o = w_eol(c, o, line);

	line = o;
	o = w_mem(o, "       fd ", 10);
	if (s->fd < 0) {
		*o++ = '-';
		o = fb_put_u64(o, (uint64_t)0 - (uint64_t)(int64_t)s->fd);
	} else {
		o = fb_put_u64(o, (uint64_t)s->fd);
	}
	o = w_mem(o, " ino ", 5);
	o = fb_put_u64(o, s->ino);
	if (s->released && s->how == SREC_HOW_FREED) {
		/* the task current at the RCU free released nothing */
		static const char fr[] = " freed (after exit / fd passing / kernel release)";
		o = w_mem(o, fr, sizeof(fr) - 1);
	} else if (by) {
		o = w_mem(o, " released by ", 13);
		o = fb_put_u64(o, s->rel_pid);
		o = w_mem(o, " (", 2);
		o = w_str(o, rc, 63);
		*o++ = ')';
	}
	o = w_eol(c, o, line);

	if (s->lport || s->rport || s->nstates) {
		uint32_t af = s->addr_family ? s->addr_family : s->family;
		line = o;
		o = w_mem(o, "       ", 7);
		f = o;
		if ((o = w_addr(o, af, s->laddr, s->lport)) == f)
			*o++ = '-';
		o = w_mem(o, " -> ", 4);
		f = o;
		if ((o = w_addr(o, af, s->raddr, s->rport)) == f)
			*o++ = '-';
		char *addr_end = o;
		o = w_mem(o, "  ", 2);
		for (int i = 0; i < s->nstates && i < MAX_STATES; i++) {
			if (i)
				*o++ = '>';
			o = w_name(o, &P->state_names[s->states[i] < 16 ? s->states[i] : 0]);
		}
		if (!c->wide && o - line > 80) {
			/* addresses and the state path on lines of their own */
			char path[16 * 14];
			size_t plen = (size_t)(o - addr_end - 2);
			if (plen > sizeof(path))
				plen = sizeof(path);
			memcpy(path, addr_end + 2, plen);
			o = w_eol(c, addr_end, line);
			line = o;
			o = w_mem(o, "       ", 7);
			o = w_mem(o, path, plen);
		}
		o = w_eol(c, o, line);
	}
	b->n += (size_t)(o - o0);
	if (c->stacks && P->st) {
		print_stack(P, s->alloc_kstack, "alloc kernel stack");
		print_stack(P, s->alloc_ustack, "alloc user stack");
		print_stack(P, s->rel_kstack, "release kernel stack");
		print_stack(P, s->rel_ustack, "release user stack");
	}
}

static void json_addr(struct fbuf *b, const char *name, uint32_t family, const uint8_t a[16],
		      uint16_t port)
{
	FB_LIT(b, ", \"");
	fb_s(b, name);
	FB_LIT(b, "\": ");
	size_t at = b->n;
	fb_c(b, '"');
	if (fb_addr(b, family, a, port)) {
		fb_c(b, '"');
	} else {
		b->n = at;
		FB_LIT(b, "null");
	}
}

static void json_stack(struct pairs *P, const char *name, uint64_t ref)
{
	struct fbuf *b = &P->b;
	size_t n = 0;
	const char *const *l = stacks_lines(P->st, ref, &n);
	FB_LIT(b, ", \"");
	fb_s(b, name);
	FB_LIT(b, "\": [");
	for (size_t i = 0; l && i < n; i++) {
		char *lit = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&lit, &len);
		if (!f) {
			P->err = 1;
			break;
		}
		out_json_z(f, l[i]);
		if (fclose(f)) {
			free(lit);
			P->err = 1;
			break;
		}
		if (i)
			FB_LIT(b, ", ");
		fb_mem(b, lit, len);
		free(lit);
	}
	fb_c(b, ']');
}

static void json_row(struct pairs *P, const struct model *m, const struct msock *s, uint64_t end)
{
	struct fbuf *b = &P->b;
	const char *comm = sc_get(P, m, s->comm, 1);
	const char *rc = s->released ? sc_get(P, m, s->rel_comm, 1) : "";
	if (!comm || !rc) {
		P->err = 1;
		return;
	}
	uint64_t from = s->alloc_ts ? s->alloc_ts : start_of(m);
	fb_s(b, P->count > 1 ? ",\n    {\"serial\": " : "\n    {\"serial\": ");
	fb_u64(b, s->serial);
	FB_LIT(b, ", \"sk\": ");
	fb_u64(b, s->sk);
	FB_LIT(b, ", \"inode\": ");
	fb_u64(b, s->ino);
	FB_LIT(b, ", \"pid\": ");
	fb_u64(b, s->pid);
	FB_LIT(b, ", \"tid\": ");
	fb_u64(b, s->tid);
	FB_LIT(b, ", \"comm\": ");
	fb_s(b, comm);
	FB_LIT(b, ", \"fd\": ");
	fb_i64(b, s->fd);
	FB_LIT(b, ", \"family\": \"");
	fb_s(b, family_name(s->family));
	FB_LIT(b, "\", \"type\": \"");
	fb_s(b, socktype_name(s->type));
	FB_LIT(b, "\", \"protocol\": \"");
	fb_s(b, proto_name(s->family, s->protocol));
	FB_LIT(b, "\", \"origin\": \"");
	fb_s(b, origin_name(s->origin));
	fb_c(b, '"');
	uint32_t af = s->addr_family ? s->addr_family : s->family;
	json_addr(b, "local", af, s->laddr, s->lport);
	json_addr(b, "remote", af, s->raddr, s->rport);
	FB_LIT(b, ", \"alloc_s\": ");
	if (s->alloc_ts)
		fb_rel(b, m, s->alloc_ts, 6);
	else
		FB_LIT(b, "null");
	json_wall(P, "alloc_wall", s->alloc_ts);
	if (s->released) {
		FB_LIT(b, ", \"release_s\": ");
		fb_rel(b, m, s->release_ts, 6);
		json_wall(P, "release_wall", s->release_ts);
		FB_LIT(b, ", \"lifetime_ns\": ");
		fb_u64(b, s->release_ts > from ? s->release_ts - from : 0);
		FB_LIT(b, ", \"how\": \"");
		fb_s(b, how_name(s->how));
		FB_LIT(b, "\", \"released_by\": {\"pid\": ");
		fb_u64(b, s->rel_pid);
		FB_LIT(b, ", \"comm\": ");
		fb_s(b, rc);
		FB_LIT(b, ", \"fd\": ");
		fb_i64(b, s->rel_fd);
		fb_c(b, '}');
	} else {
		FB_LIT(b, ", \"release_s\": null, \"release_wall\": null, \"lifetime_ns\": null, "
			  "\"age_at_end_ns\": ");
		fb_u64(b, end > from ? end - from : 0);
		FB_LIT(b, ", \"how\": null, \"released_by\": null");
	}
	fb_s(b, s->released ? ", \"open\": false" : ", \"open\": true");
	fb_s(b, s->preexisting ? ", \"preexisting\": true" : ", \"preexisting\": false");
	fb_s(b, is_possible(m, s, end) ? ", \"possible\": true" : ", \"possible\": false");
	FB_LIT(b, ", \"states\": [");
	for (int i = 0; i < s->nstates; i++) {
		fb_s(b, i ? ", {\"state\": \"" : "{\"state\": \"");
		fb_s(b, tcp_state_name(s->states[i]));
		FB_LIT(b, "\", \"t_s\": ");
		fb_rel(b, m, s->state_ts[i], 6);
		fb_c(b, '}');
	}
	fb_c(b, ']');
	if (s->nconnects) {
		uint64_t ns = 0;
		int ok = 0, err = 0, have = msock_connect_latency(s, &ns, &ok, &err);
		char eb[32];
		const char *en = s->connect_ret < 0 ? names_errno_of(s->connect_ret, eb, sizeof(eb)) :
						      "OK";
		FB_LIT(b, ", \"connect\": {\"t_s\": ");
		fb_rel(b, m, s->connect_ts, 6);
		FB_LIT(b, ", \"dur_ns\": ");
		fb_u64(b, s->connect_dur);
		FB_LIT(b, ", \"ret\": ");
		fb_i64(b, s->connect_ret);
		FB_LIT(b, ", \"errno\": ");
		if (s->connect_ret < 0) {
			fb_c(b, '"');
			fb_s(b, en); /* errno names are plain ASCII */
			fb_c(b, '"');
		} else {
			FB_LIT(b, "null");
		}
		fb_s(b, (s->connect_flags & SREC_CF_NONBLOCK) ? ", \"nonblocking\": true" :
							       ", \"nonblocking\": false");
		FB_LIT(b, ", \"latency_ns\": ");
		if (have) {
			fb_u64(b, ns);
			fb_s(b, ok ? ", \"established\": true}" : ", \"established\": false}");
		} else {
			FB_LIT(b, "null, \"established\": null}");
		}
	} else {
		FB_LIT(b, ", \"connect\": null");
	}
	if (s->accept_ts) {
		FB_LIT(b, ", \"accept\": {\"t_s\": ");
		fb_rel(b, m, s->accept_ts, 6);
		FB_LIT(b, ", \"listener_serial\": ");
		fb_u64(b, s->lserial);
		FB_LIT(b, ", \"queue_wait_ns\": ");
		fb_u64(b, s->accept_estab_ts && s->accept_ts > s->accept_estab_ts ?
				  s->accept_ts - s->accept_estab_ts : 0);
		fb_c(b, '}');
	} else {
		FB_LIT(b, ", \"accept\": null");
	}
	if (P->c->stacks && P->st) {
		json_stack(P, "alloc_kernel_stack", s->alloc_kstack);
		json_stack(P, "alloc_user_stack", s->alloc_ustack);
		json_stack(P, "release_kernel_stack", s->rel_kstack);
		json_stack(P, "release_user_stack", s->rel_ustack);
	}
	fb_c(b, '}');
}

/* The head of the output, before the first row. */
static void start(struct pairs *P, struct model *m)
{
	const struct cli *c = P->c;
	P->started = 1;
	names_init(P);
	cli_wall(m, &P->wall);
	if (c->stacks) {
		P->sym = cli_symbolizer(c);
		P->st = P->sym ? stacks_new(m, P->sym) : NULL;
		if (!P->st)
			P->err = 1;
	}
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, P->path);
		printf(", \"sockets\": [");
		return;
	}
	/* the duration and completeness are known at the end: printed there */
	const char *host = model_meta(m, "host.name"), *kern = model_meta(m, "host.kernel");
	printf("sockreport %s: ", c->cmd);
	out_text_z(stdout, P->path);
	printf("\nhost ");
	out_text_z(stdout, host ? host : "?");
	printf(", kernel ");
	out_text_z(stdout, kern ? kern : "?");
	if (c->wall)
		printf("\n\nSERIAL     PID COMM            KIND             ALLOC (local) LIFETIME HOW\n");
	else
		printf("\n\nSERIAL     PID COMM            KIND                ALLOC LIFETIME HOW\n");
	printf("       fd, inode, releaser; local -> remote address; TCP states\n");
}

static void row(struct pairs *P, struct model *m, const struct msock *s, uint64_t end)
{
	if (!P->started)
		start(P, m);
	if (P->err)
		return;
	if (P->st && stacks_sync(P->st)) {
		P->err = 1;
		return;
	}
	P->count++;
	P->nopen += !s->released;
	P->npre += s->preexisting;
	P->nposs += (uint64_t)is_possible(m, s, end);
	size_t at = P->b.n;
	if (P->c->json)
		json_row(P, m, s, end);
	else
		text_row(P, m, s, end);
	if (P->err || P->b.err) { /* no half rows: the output stays well-formed */
		P->b.n = at;
		P->err = 1;
		return;
	}
	/* written in 64 KiB pieces: one fwrite per row was 5% of a run */
	if (P->b.n >= 65536 && fb_flush(&P->b, stdout))
		P->err = 1;
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct pairs *P = arg;
	/* While loading: a lifetime ended, the end of the recording is not
	 * needed.  model_finish() hands over the rest by allocation time. */
	row(P, m, s, P->end);
}

int cmd_pairs(struct cli *c)
{
	struct pairs P;
	struct model m;
	const char *path = c->files[0];

	memset(&P, 0, sizeof(P));
	P.c = c;
	P.path = path;
	int rc = cli_load(c, path, &m, on_done, &P);
	if (rc && !P.started) {
		fb_free(&P.b);
		sc_free(&P.sc);
		return rc;
	}
	if (!rc) {
		P.end = cli_end(&m);
		model_finish(&m);
		if (!P.started)
			start(&P, &m);
	}
	if (fb_flush(&P.b, stdout))
		P.err = 1;
	if (rc || P.err) {
		fflush(stdout);
		if (!rc) /* cli_load said why itself */
			fprintf(stderr, "sockreport: out of memory\n");
		if (c->json && P.started) /* still one document, saying it is cut short */
			printf("%s], \"error\": \"out of memory\"}\n", P.count ? "\n  " : "");
		rc = 1;
		goto out;
	}
	cli_warnings(c, &m, path);
	uint64_t end = cli_end(&m);
	uint64_t dur = end > m.start_ns ? end - m.start_ns : 0;
	if (c->json) {
		printf("%s], ", P.count ? "\n  " : "");
		cli_json_status(stdout, &m);
		printf(", \"duration_ns\": %" PRIu64 ", \"count\": %" PRIu64 ", \"open\": %" PRIu64
		       ", \"preexisting\": %" PRIu64 ", \"releases_unknown\": %" PRIu64 "\n}\n",
		       dur, P.count, P.nopen, P.npre, m.releases_unknown);
	} else {
		char d[32];
		cli_dur(d, sizeof(d), dur);
		printf("\n%" PRIu64 " sockets, %" PRIu64 " still open at the end, %" PRIu64
		       " opened before the recording\n%s recorded%s\n",
		       P.count, P.nopen, P.npre, d, m.complete ? "" : " (INCOMPLETE)");
		if (P.nposs)
			printf("? = %" PRIu64 " pairings a loss window could affect (possible)\n", P.nposs);
		if (m.releases_unknown)
			printf("%" PRIu64 " releases of sockets allocated before the recording "
			       "(not shown)\n", m.releases_unknown);
	}
out:
	fb_free(&P.b);
	sc_free(&P.sc);
	stacks_free(P.st);
	sym_ctx_free(P.sym);
	model_free(&m);
	return rc;
}
