/* cmd_ss.c - `sockreport ss --at TIME`: the sockets open at one moment.
 *
 * What ss(8) would have listed had it run then: every socket allocated at
 * or before TIME (or open before the recording) and not yet released, and
 * TCP sockets closed by their owner but whose connection had not reached
 * CLOSE yet (FIN_WAIT*, LAST_ACK, ...: no owner, as ss shows them).  The
 * TCP state is the one entered last before TIME.  Addresses are the last
 * the recording knows for the socket (a socket that connected after TIME
 * shows its later peer; ss would show none): a recording holds no bind()
 * or connect() address history, only what STATE/CONNECT/ACCEPT records
 * carry.  The model streams the file once; a socket is kept only if it was
 * open at TIME.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "wallclock.h"
#include "commands.h"
#include "names.h"

struct ssrow {
	struct msock s;
	uint32_t state;     /* TCP state at TIME (0: none seen) */
	int owned;          /* still held by its owner at TIME */
};

struct ss {
	struct cli *c;
	uint64_t at;        /* absolute monotonic ns; 0 until parsed */
	int at_err;         /* cli_parse_time's error */
	int parsed;
	struct ssrow *rows;
	size_t n, cap;
	int err;
};

/* The state s was in at time t: the last transition at or before t. */
static uint32_t state_at(const struct msock *s, uint64_t t)
{
	uint32_t st = s->first_old;
	for (int i = 0; i < s->nstates; i++) {
		if (s->state_ts[i] > t)
			break;
		st = s->states[i];
	}
	return st;
}

static int is_tcp(const struct msock *s)
{
	return names_is_ip(s->family) && s->type == SOCK_STREAM;
}

static int is_udp(const struct msock *s)
{
	return names_is_ip(s->family) && s->type == SOCK_DGRAM;
}

/* The peer of a UDP socket comes from its connect() (no STATE records):
 * a connected one before TIME has a peer, as ss shows it. */
static int udp_connected(const struct msock *s, uint64_t t)
{
	return s->rport || (s->nconnects && s->connect_ret == 0 && s->connect_ts <= t &&
			    s->connect_dport);
}

/* ss's notion of "listening": TCP LISTEN, and UDP sockets without a peer
 * (UNCONN), which `ss -l` lists too. */
static int listening(const struct ssrow *r, uint64_t t)
{
	if (is_tcp(&r->s))
		return r->state == TCP_ST_LISTEN;
	if (is_udp(&r->s))
		return !udp_connected(&r->s, t);
	return 0;
}

static const char *state_text(const struct ssrow *r, uint64_t t)
{
	if (is_tcp(&r->s))
		return r->state ? tcp_state_ss(r->state) : "UNCONN";
	if (is_udp(&r->s))
		return udp_connected(&r->s, t) ? "ESTAB" : "UNCONN";
	return "-"; /* no state is recorded for other kinds */
}

static int wanted(const struct cli *c, const struct ssrow *r, uint64_t t)
{
	const struct msock *s = &r->s;
	if ((c->ss_tcp || c->ss_udp || c->ss_unix) &&
	    !((c->ss_tcp && is_tcp(s)) || (c->ss_udp && is_udp(s)) || (c->ss_unix && s->family == AF_UNIX)))
		return 0;
	if (c->ss_all)
		return 1;
	/* TCP sockets neither connected nor listening: ss never lists them */
	if (is_tcp(s) && (!r->state || r->state == TCP_ST_CLOSE) && !c->ss_listening)
		return 0;
	return c->ss_listening ? listening(r, t) : !listening(r, t);
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct ss *S = arg;
	if (!S->parsed) {
		/* The first META block (start, clocks) is read before any
		 * socket ends: TIME can be resolved now. */
		S->at_err = cli_parse_time(S->c->at, m, &S->at);
		S->parsed = 1;
	}
	if (S->at_err || S->err)
		return;
	uint64_t t = S->at;
	if (!s->preexisting && (!s->alloc_ts || s->alloc_ts > t))
		return;
	struct ssrow r;
	memset(&r, 0, sizeof(r));
	r.s = *s;
	r.state = state_at(s, t);
	r.owned = !s->released || s->release_ts > t;
	/* closed by its owner: still listed while TCP had not reached CLOSE */
	if (!r.owned && !(is_tcp(s) && r.state && r.state != TCP_ST_CLOSE && s->nstates &&
			  s->state_ts[s->nstates - 1] > t))
		return;
	if (!wanted(S->c, &r, t))
		return;
	if (S->n == S->cap) {
		size_t nc = S->cap ? S->cap * 2 : 256;
		struct ssrow *nr = realloc(S->rows, nc * sizeof(*nr));
		if (!nr) {
			S->err = 1;
			return;
		}
		S->rows = nr;
		S->cap = nc;
	}
	S->rows[S->n++] = r;
}

static int by_kind(const void *a, const void *b)
{
	const struct ssrow *x = a, *y = b;
	int k = strcmp(names_netid(x->s.family, x->s.type, x->s.protocol),
		       names_netid(y->s.family, y->s.type, y->s.protocol));
	if (k)
		return k;
	return x->s.serial < y->s.serial ? -1 : x->s.serial > y->s.serial;
}

static void addrs(const struct msock *s, uint64_t t, char *la, char *ra, size_t cap)
{
	uint32_t af = s->addr_family ? s->addr_family : s->family;
	if (names_is_ip(s->family)) {
		/* as ss: "0.0.0.0:*" / "[::]:*" for no address and no port */
		/* The file has a local address only once TCP states or a
		 * connect carried one: "?" (not recorded), not a wildcard. */
		cli_addr(la, cap, af, s->laddr, s->lport);
		if (!strcmp(la, "-"))
			snprintf(la, cap, "?");
		if (is_udp(s) && !s->rport && udp_connected(s, t))
			cli_addr(ra, cap, s->connect_family ? s->connect_family : af, s->connect_daddr,
				 (uint16_t)s->connect_dport);
		else
			cli_addr(ra, cap, af, s->raddr, s->rport);
		if (!strcmp(ra, "-"))
			snprintf(ra, cap, s->lport ? (af == AF_INET6 ? "[::]:*" : "0.0.0.0:*") : "?");
	} else {
		snprintf(la, cap, "?");
		snprintf(ra, cap, "?");
	}
}

int cmd_ss(struct cli *c)
{
	struct ss S;
	struct model m;
	const char *path = c->files[0];

	if (!c->at) {
		fprintf(stderr, "sockreport: ss needs --at TIME (seconds from the start, or HH:MM:SS)\n");
		return 2;
	}
	memset(&S, 0, sizeof(S));
	S.c = c;
	int rc = cli_load(c, path, &m, on_done, &S);
	if (rc)
		return rc;
	model_finish(&m);
	if (!S.parsed) /* no socket at all: resolve TIME for the header */
		S.at_err = cli_parse_time(c->at, &m, &S.at);
	if (S.at_err) {
		fprintf(stderr, S.at_err == -2 ?
			"sockreport: this file has no clock metadata: give --at in seconds from the start\n" :
			"sockreport: --at takes seconds from the start (2.5) or a wall-clock time (HH:MM:SS)\n");
		free(S.rows);
		model_free(&m);
		return 2;
	}
	if (S.err) {
		fprintf(stderr, "sockreport: out of memory\n");
		free(S.rows);
		model_free(&m);
		return 1;
	}
	uint64_t end = cli_end(&m);
	if (S.at < m.start_ns || S.at > end) {
		char a[32], d[32];
		snprintf(a, sizeof(a), "%.3f", cli_rel(&m, S.at));
		cli_dur(d, sizeof(d), end > m.start_ns ? end - m.start_ns : 0);
		fprintf(stderr, "sockreport: --at %s is outside the recording (%ss from the start; it "
				"lasted %s)\n", c->at, a, d);
		free(S.rows);
		model_free(&m);
		return 2;
	}
	cli_warnings(c, &m, path);
	if (S.n)
		qsort(S.rows, S.n, sizeof(*S.rows), by_kind);
	struct wall w;
	cli_wall(&m, &w);
	char wall_iso[64], wall_loc[64];
	int have_wall = wall_fmt(&w, S.at, WALL_ISO_UTC, wall_iso, sizeof(wall_iso)) == 0;
	wall_fmt(&w, S.at, WALL_LOCAL, wall_loc, sizeof(wall_loc));
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", \"at_s\": %.6f, \"at_wall\": ", cli_rel(&m, S.at));
		if (have_wall)
			printf("\"%s\"", wall_iso);
		else
			fputs("null", stdout);
		printf(", \"sockets\": [");
	} else {
		printf("sockreport ss: ");
		out_text_z(stdout, path);
		printf(" at +%.3fs%s%s%s\n", cli_rel(&m, S.at), have_wall ? " (" : "",
		       have_wall ? wall_loc : "", have_wall ? ")" : "");
		printf("%-6s %-10s %-28s %-28s %8s  %s\n", "Netid", "State", "Local Address:Port",
		       "Peer Address:Port", "Age", "Process");
	}
	for (size_t i = 0; i < S.n; i++) {
		const struct ssrow *r = &S.rows[i];
		const struct msock *s = &r->s;
		char la[80], ra[80], age[32], kind[64];
		addrs(s, S.at, la, ra, sizeof(la));
		uint64_t born = s->preexisting || !s->alloc_ts ? m.start_ns : s->alloc_ts;
		uint64_t age_ns = S.at > born ? S.at - born : 0;
		cli_dur(age, sizeof(age), age_ns);
		names_kind(kind, sizeof(kind), s->family, s->type, s->protocol);
		const char *comm = model_str(&m, s->comm);
		if (c->json) {
			printf("%s\n  {\"serial\": %" PRIu64 ", \"inode\": %" PRIu64 ", \"netid\": \"%s\", "
			       "\"kind\": \"%s\", \"state\": \"%s\", \"local\": ",
			       i ? "," : "", s->serial, s->ino,
			       names_netid(s->family, s->type, s->protocol), kind, state_text(r, S.at));
			out_json_z(stdout, la);
			printf(", \"peer\": ");
			out_json_z(stdout, ra);
			if (r->owned) {
				printf(", \"pid\": %u, \"comm\": ", s->pid);
				out_json_z(stdout, comm);
				printf(", \"fd\": ");
				if (s->fd >= 0)
					printf("%d", s->fd);
				else
					fputs("null", stdout);
			} else {
				printf(", \"pid\": null, \"comm\": null, \"fd\": null");
			}
			printf(", \"age_ns\": %" PRIu64 ", \"age_at_least\": %s, \"alloc_s\": ", age_ns,
			       s->preexisting ? "true" : "false");
			if (s->preexisting || !s->alloc_ts)
				fputs("null", stdout);
			else
				printf("%.6f", cli_rel(&m, s->alloc_ts));
			printf(", \"preexisting\": %s}", s->preexisting ? "true" : "false");
			continue;
		}
		char proc[160], cm[64], line[600];
		out_text_buf(cm, sizeof(cm), comm, strlen(comm));
		if (!r->owned)
			snprintf(proc, sizeof(proc), "(closed by its owner)");
		else if (s->fd >= 0)
			snprintf(proc, sizeof(proc), "users:((\"%s\",pid=%u,fd=%d))", cm, s->pid, s->fd);
		else
			snprintf(proc, sizeof(proc), "users:((\"%s\",pid=%u))", cm, s->pid);
		snprintf(line, sizeof(line), "%-6s %-10s %-28s %-28s %s%7s  %s",
			 names_netid(s->family, s->type, s->protocol), state_text(r, S.at), la, ra,
			 s->preexisting ? ">" : " ", age, proc);
		puts(line);
	}
	if (c->json) {
		printf("%s], \"count\": %zu, ", S.n ? "\n" : "", S.n);
		cli_json_status(stdout, &m);
		printf("}\n");
	} else {
		printf("%zu socket%s open at +%.3fs%s\n", S.n, S.n == 1 ? "" : "s", cli_rel(&m, S.at),
		       S.n ? "" : " match the filters");
	}
	free(S.rows);
	model_free(&m);
	return 0;
}
