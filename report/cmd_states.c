/* cmd_states.c - `sockreport states`: TCP state transitions, tcpstates-like.
 *
 * Streams: each STATE record is printed when the model has joined it to
 * its socket (or to the pending struct sock of a not-yet-accepted
 * connection), with the time spent in the previous state.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "wallclock.h"
#include "commands.h"

struct states {
	struct cli *c;
	uint64_t n;
	int header_done;
	struct wall wall;
	int wall_set;
};

static void on_event(struct model *m, const struct srec_record *r, const struct msock *s,
		     uint64_t prev_ts, void *arg)
{
	struct states *S = arg;
	if (r->type != SREC_R_STATE)
		return;
	const struct srec_ev *ev = &r->u.state.ev;
	uint32_t owner = r->u.state.owner ? r->u.state.owner : s ? s->pid : 0;
	const char *comm = "";
	if (s && s->pid == owner)
		comm = model_str(m, s->comm);
	else {
		const struct mproc *p = model_proc(m, owner);
		comm = p ? model_str(m, p->comm) : (owner == ev->pid ? model_str(m, ev->comm) : "?");
	}
	uint32_t fam = r->u.state.family ? r->u.state.family : s ? s->addr_family : 2;
	uint8_t la[16] = { 0 }, ra[16] = { 0 };
	uint16_t lp = (uint16_t)r->u.state.sport, rp = (uint16_t)r->u.state.dport;
	if (r->u.state.saddr.len == 4 || r->u.state.saddr.len == 16)
		memcpy(la, r->u.state.saddr.p, r->u.state.saddr.len);
	if (r->u.state.daddr.len == 4 || r->u.state.daddr.len == 16)
		memcpy(ra, r->u.state.daddr.p, r->u.state.daddr.len);
	/* Closing transitions report port 0: show what the socket had. */
	if (s && !lp) {
		lp = s->lport;
		memcpy(la, s->laddr, 16);
	}
	if (s && !rp && s->rport) {
		rp = s->rport;
		memcpy(ra, s->raddr, 16);
	}
	char las[64], ras[64];
	cli_addr(las, sizeof(las), fam, la, lp);
	cli_addr(ras, sizeof(ras), fam, ra, rp);
	uint64_t in_prev = prev_ts && ev->ts > prev_ts ? ev->ts - prev_ts : 0;
	S->n++;
	if (!S->wall_set) { /* the clocks are in the first META block */
		cli_wall(m, &S->wall);
		S->wall_set = 1;
	}
	char wall[48];
	int have_wall = wall_fmt(&S->wall, ev->ts, S->c->json ? WALL_ISO_UTC : WALL_TIME, wall,
				 sizeof(wall)) == 0;
	if (S->c->json) {
		printf("%s\n    {\"t_s\": %.6f, \"t_wall\": %s%s%s, \"serial\": %" PRIu64
		       ", \"sk\": %" PRIu64 ", \"pid\": %u, \"comm\": ",
		       S->n > 1 ? "," : "", cli_rel(m, ev->ts), have_wall ? "\"" : "",
		       have_wall ? wall : "null", have_wall ? "\"" : "", s ? s->serial : r->u.state.serial,
		       r->u.state.sk, owner);
		out_json_z(stdout, comm);
		printf(", \"cpu_pid\": %u, \"local\": ", ev->pid);
		out_json_z(stdout, las);
		printf(", \"remote\": ");
		out_json_z(stdout, ras);
		printf(", \"old\": \"%s\", \"new\": \"%s\", \"prev_state_ns\": ",
		       tcp_state_name(r->u.state.oldstate), tcp_state_name(r->u.state.newstate));
		if (prev_ts)
			printf("%" PRIu64 "}", in_prev);
		else
			printf("null}");
		return;
	}
	/* tcpstates' columns: socket, owner, both ends, old -> new, ms in old */
	int T = S->c->wall;
	if (!S->header_done) {
		printf("%-*s %-7s %7s %-15s %-23s %-23s %-26s %s\n", T ? 15 : 10,
		       T ? "TIME" : "TIME(s)", "SOCKET", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT",
		       "OLDSTATE -> NEWSTATE", "MS");
		S->header_done = 1;
	}
	char cm[64], ms[32], tr[64], sock[24], tm[48], line[700];
	out_text_buf(cm, sizeof(cm), comm, strlen(comm));
	if (prev_ts)
		snprintf(ms, sizeof(ms), "%.3f", (double)in_prev / 1e6);
	else
		snprintf(ms, sizeof(ms), "-");
	snprintf(tr, sizeof(tr), "%s -> %s", tcp_state_name(r->u.state.oldstate),
		 tcp_state_name(r->u.state.newstate));
	uint64_t serial = s ? s->serial : r->u.state.serial;
	if (serial)
		snprintf(sock, sizeof(sock), "#%" PRIu64, serial);
	else
		snprintf(sock, sizeof(sock), "-");
	if (T)
		snprintf(tm, sizeof(tm), "%s", have_wall ? wall : "?");
	else
		snprintf(tm, sizeof(tm), "%.6f", cli_rel(m, ev->ts));
	snprintf(line, sizeof(line), "%-*s %-7s %7u %-15.15s %-23s %-23s %-26s %s", T ? 15 : 10, tm,
		 sock, owner, cm, las, ras, tr, ms);
	cli_puts_cut(S->c, line, 80);
}

int cmd_states(struct cli *c)
{
	struct states S;
	struct model m;
	const char *path = c->files[0];

	memset(&S, 0, sizeof(S));
	S.c = c;
	if (c->json)
		printf("{\"transitions\": [");
	else
		printf("sockreport states: TCP state transitions (%s)\n",
		       c->wall ? "wall-clock time, local" : "seconds from the start");
	int rc = cli_load_ev(c, path, &m, NULL, on_event, &S);
	if (rc) {
		if (c->json)
			printf("]}\n"); /* keep stdout one valid document */
		return rc;
	}
	model_finish(&m);
	cli_warnings(c, &m, path);
	if (c->json) {
		printf("%s], \"count\": %" PRIu64 ", \"file\": ", S.n ? "\n  " : "", S.n);
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf("}\n");
	} else {
		printf("%" PRIu64 " transitions\n", S.n);
	}
	model_free(&m);
	return 0;
}
