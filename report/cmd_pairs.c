/* cmd_pairs.c - `sockreport pairs`: one row per socket lifetime.
 *
 * The model hands each socket over when its lifetime (and, for TCP, its
 * connection) ended; the rows are kept (the output is one row per socket
 * anyway) and printed by allocation time at the end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "stacks.h"

struct pairs {
	struct msock *rows;
	size_t n, cap;
	int err;
	int finishing;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct pairs *P = arg;
	(void)m;
	if (P->n == P->cap) {
		size_t nc = P->cap ? P->cap * 2 : 256;
		struct msock *nr = realloc(P->rows, nc * sizeof(*nr));
		if (!nr) {
			P->err = 1;
			return;
		}
		P->rows = nr;
		P->cap = nc;
	}
	P->rows[P->n++] = *s;
}

static int by_alloc(const void *a, const void *b)
{
	const struct msock *x = a, *y = b;
	uint64_t tx = x->alloc_ts, ty = y->alloc_ts;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static int is_possible(const struct model *m, const struct msock *s, uint64_t end)
{
	if (s->released)
		return s->in_loss_window;
	return model_loss_between(m, s->alloc_ts ? s->alloc_ts : m->start_ns, end);
}

static void print_stack(const struct cli *c, struct stacks *st, uint64_t ref, const char *label)
{
	size_t n = 0;
	const char *const *l = stacks_lines(st, ref, &n);
	if (!n || !l)
		return;
	printf("      %s:\n", label);
	for (size_t i = 0; i < n; i++) {
		char line[1200];
		snprintf(line, sizeof(line), "        %s", l[i]);
		cli_puts_cut(c, line, 80);
	}
}

static void text_row(const struct cli *c, const struct model *m, struct stacks *st,
		     const struct msock *s, uint64_t end)
{
	char kind[48], comm[64], alloc[32], life[40], how[160], la[64], ra[64], path[400], line[1200];
	out_text_buf(comm, sizeof(comm), model_str(m, s->comm), strlen(model_str(m, s->comm)));
	cli_kind(kind, sizeof(kind), s->family, s->type, s->protocol);
	if (s->preexisting && !s->alloc_ts)
		snprintf(alloc, sizeof(alloc), "pre");
	else
		snprintf(alloc, sizeof(alloc), "+%.3fs", cli_rel(m, s->alloc_ts));
	uint64_t from = s->alloc_ts ? s->alloc_ts : m->start_ns;
	char by[128] = "";
	if (s->released) {
		cli_dur(life, sizeof(life), s->release_ts > from ? s->release_ts - from : 0);
		snprintf(how, sizeof(how), "%s", how_name(s->how));
		if (s->rel_pid && s->rel_pid != s->pid) {
			char rc[64];
			out_text_buf(rc, sizeof(rc), model_str(m, s->rel_comm),
				     strlen(model_str(m, s->rel_comm)));
			snprintf(how, sizeof(how), "%s by %u", how_name(s->how), s->rel_pid);
			snprintf(by, sizeof(by), " released by %u (%s)", s->rel_pid, rc);
		}
	} else {
		char d[24];
		cli_dur(d, sizeof(d), end > from ? end - from : 0);
		snprintf(life, sizeof(life), ">%s", d);
		snprintf(how, sizeof(how), "OPEN");
	}
	const char *flags = is_possible(m, s, end) ? " ?" : "";
	snprintf(line, sizeof(line), "#%-5" PRIu64 " %7u %-15.15s %-16s %8s %8s %s%s", s->serial,
		 s->pid, comm, kind, alloc, life, how, flags);
	cli_puts_cut(c, line, 80);
	cli_addr(la, sizeof(la), s->addr_family ? s->addr_family : s->family, s->laddr, s->lport);
	cli_addr(ra, sizeof(ra), s->addr_family ? s->addr_family : s->family, s->raddr, s->rport);
	cli_state_path(path, sizeof(path), s, ">");
	snprintf(line, sizeof(line), "       fd %d ino %" PRIu64 "%s", s->fd, s->ino, by);
	cli_puts_cut(c, line, 80);
	if (s->lport || s->rport || s->nstates) {
		snprintf(line, sizeof(line), "       %s -> %s  %s", la, ra, path);
		if (!c->wide && strlen(line) > 80) {
			snprintf(line, sizeof(line), "       %s -> %s", la, ra);
			cli_puts_cut(c, line, 80);
			snprintf(line, sizeof(line), "       %s", path);
		}
		cli_puts_cut(c, line, 80);
	}
	if (c->stacks && st) {
		print_stack(c, st, s->alloc_kstack, "alloc kernel stack");
		print_stack(c, st, s->alloc_ustack, "alloc user stack");
		print_stack(c, st, s->rel_kstack, "release kernel stack");
		print_stack(c, st, s->rel_ustack, "release user stack");
	}
}

static void json_addr(const char *name, uint32_t family, const uint8_t a[16], uint16_t port)
{
	char buf[64];
	cli_addr(buf, sizeof(buf), family, a, port);
	printf(", \"%s\": ", name);
	if (!strcmp(buf, "-"))
		fputs("null", stdout);
	else
		out_json_z(stdout, buf);
}

static void json_row(const struct cli *c, const struct model *m, struct stacks *st,
		     const struct msock *s, uint64_t end, int first)
{
	uint64_t from = s->alloc_ts ? s->alloc_ts : m->start_ns;
	printf("%s\n    {\"serial\": %" PRIu64 ", \"sk\": %" PRIu64 ", \"inode\": %" PRIu64
	       ", \"pid\": %u, \"tid\": %u, \"comm\": ",
	       first ? "" : ",", s->serial, s->sk, s->ino, s->pid, s->tid);
	out_json_z(stdout, model_str(m, s->comm));
	printf(", \"fd\": %d, \"family\": \"%s\", \"type\": \"%s\", \"protocol\": \"%s\", "
	       "\"origin\": \"%s\"",
	       s->fd, family_name(s->family), socktype_name(s->type),
	       proto_name(s->family, s->protocol), origin_name(s->origin));
	uint32_t af = s->addr_family ? s->addr_family : s->family;
	json_addr("local", af, s->laddr, s->lport);
	json_addr("remote", af, s->raddr, s->rport);
	if (s->alloc_ts)
		printf(", \"alloc_s\": %.6f", cli_rel(m, s->alloc_ts));
	else
		printf(", \"alloc_s\": null");
	if (s->released) {
		printf(", \"release_s\": %.6f, \"lifetime_ns\": %" PRIu64 ", \"how\": \"%s\"",
		       cli_rel(m, s->release_ts), s->release_ts > from ? s->release_ts - from : 0,
		       how_name(s->how));
		printf(", \"released_by\": {\"pid\": %u, \"comm\": ", s->rel_pid);
		out_json_z(stdout, model_str(m, s->rel_comm));
		printf(", \"fd\": %d}", s->rel_fd);
	} else {
		printf(", \"release_s\": null, \"lifetime_ns\": null, \"age_at_end_ns\": %" PRIu64
		       ", \"how\": null, \"released_by\": null",
		       end > from ? end - from : 0);
	}
	printf(", \"open\": %s, \"preexisting\": %s, \"possible\": %s",
	       s->released ? "false" : "true", s->preexisting ? "true" : "false",
	       is_possible(m, s, end) ? "true" : "false");
	printf(", \"states\": [");
	for (int i = 0; i < s->nstates; i++)
		printf("%s{\"state\": \"%s\", \"t_s\": %.6f}", i ? ", " : "",
		       tcp_state_name(s->states[i]), cli_rel(m, s->state_ts[i]));
	printf("]");
	if (s->nconnects) {
		uint64_t ns = 0;
		int ok = 0, err = 0, have = msock_connect_latency(s, &ns, &ok, &err);
		const char *en = s->connect_ret < 0 ? errno_name(-s->connect_ret) : "OK";
		printf(", \"connect\": {\"t_s\": %.6f, \"dur_ns\": %" PRIu64 ", \"ret\": %d, "
		       "\"errno\": ",
		       cli_rel(m, s->connect_ts), s->connect_dur, s->connect_ret);
		out_json_z(stdout, s->connect_ret < 0 ? (en ? en : "?") : NULL);
		printf(", \"nonblocking\": %s, \"latency_ns\": ",
		       s->connect_flags & SREC_CF_NONBLOCK ? "true" : "false");
		if (have)
			printf("%" PRIu64 ", \"established\": %s}", ns, ok ? "true" : "false");
		else
			printf("null, \"established\": null}");
	} else {
		printf(", \"connect\": null");
	}
	if (s->accept_ts)
		printf(", \"accept\": {\"t_s\": %.6f, \"listener_serial\": %" PRIu64
		       ", \"queue_wait_ns\": %s%" PRIu64 "}",
		       cli_rel(m, s->accept_ts), s->lserial, "",
		       s->accept_estab_ts && s->accept_ts > s->accept_estab_ts ?
			       s->accept_ts - s->accept_estab_ts : 0);
	else
		printf(", \"accept\": null");
	if (c->stacks && st) {
		printf(", \"alloc_kernel_stack\": ");
		cli_json_stack(stdout, st, s->alloc_kstack);
		printf(", \"alloc_user_stack\": ");
		cli_json_stack(stdout, st, s->alloc_ustack);
		printf(", \"release_kernel_stack\": ");
		cli_json_stack(stdout, st, s->rel_kstack);
		printf(", \"release_user_stack\": ");
		cli_json_stack(stdout, st, s->rel_ustack);
	}
	putchar('}');
}

int cmd_pairs(struct cli *c)
{
	struct pairs P;
	struct model m;
	const char *path = c->files[0];

	memset(&P, 0, sizeof(P));
	int rc = cli_load(c, path, &m, on_done, &P);
	if (rc)
		return rc;
	model_finish(&m);
	struct sym_ctx *sym = NULL;
	struct stacks *st = NULL;
	if (c->stacks) {
		sym = cli_symbolizer(c);
		st = sym ? stacks_new(&m, sym) : NULL;
		if (!st)
			P.err = 1;
	}
	if (P.err) {
		fprintf(stderr, "sockreport: out of memory\n");
		free(P.rows);
		stacks_free(st);
		sym_ctx_free(sym);
		model_free(&m);
		return 1;
	}
	if (P.n)
		qsort(P.rows, P.n, sizeof(*P.rows), by_alloc);
	uint64_t end = cli_end(&m), nopen = 0, npre = 0, nposs = 0;
	for (size_t i = 0; i < P.n; i++) {
		nopen += !P.rows[i].released;
		npre += P.rows[i].preexisting;
		nposs += is_possible(&m, &P.rows[i], end);
	}
	cli_warnings(c, &m, path);
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"duration_ns\": %" PRIu64 ", \"count\": %zu, \"open\": %" PRIu64
		       ", \"preexisting\": %" PRIu64 ", \"releases_unknown\": %" PRIu64
		       ", \"sockets\": [",
		       end > m.start_ns ? end - m.start_ns : 0, P.n, nopen, npre, m.releases_unknown);
		for (size_t i = 0; i < P.n; i++)
			json_row(c, &m, st, &P.rows[i], end, i == 0);
		printf("%s]\n}\n", P.n ? "\n  " : "");
	} else {
		cli_text_head(c, &m, path);
		printf("%zu sockets, %" PRIu64 " still open at the end, %" PRIu64
		       " opened before the recording\n\n",
		       P.n, nopen, npre);
		printf("SERIAL     PID COMM            KIND                ALLOC LIFETIME HOW\n");
		printf("       fd, inode, releaser; local -> remote address; TCP states\n");
		for (size_t i = 0; i < P.n; i++)
			text_row(c, &m, st, &P.rows[i], end);
		if (nposs)
			printf("\n? = %" PRIu64 " pairings a loss window could affect (possible)\n", nposs);
		if (m.releases_unknown)
			printf("%" PRIu64 " releases of sockets allocated before the recording "
			       "(not shown)\n", m.releases_unknown);
	}
	free(P.rows);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
	return 0;
}
