/* cmd_leaks.c - `sockreport leaks`: what was never closed, and by whom.
 *
 *  outstanding  allocated during the recording, still open at its end, and
 *               older than --older;
 *  exit         released only because the owning process exited;
 *  close_wait   TCP sockets whose last state is CLOSE_WAIT at the end, for
 *               at least --older: the peer closed, the owner never did (the
 *               seed's bpftrace detector, with the PID it could not find);
 *               a recording that ends mid-traffic catches healthy servers
 *               a few ms into CLOSE_WAIT, hence the same age threshold;
 *  close_wait_ended  CLOSE_WAIT periods that did end (the owner closed at
 *               last, e.g. from a finalizer) but lasted at least --older.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "groups.h"
#include "leakset.h"
#include "out.h"
#include "pprof.h"
#include "stacks.h"
#include "sites.h"
#include "commands.h"

static void kinds_text(char *buf, size_t cap, const struct group *g)
{
	buf[0] = 0;
	for (int i = 0; i < g->nkinds; i++) {
		char t[96], kind[64];
		const struct gkind *k = &g->kinds[i];
		names_kind(kind, sizeof(kind), k->family, k->type, k->protocol);
		snprintf(t, sizeof(t), "%s%s x%" PRIu64, i ? ", " : "", kind, k->count);
		strncat(buf, t, cap - strlen(buf) - 1);
	}
}

static void print_lines(const struct cli *c, struct stacks *st, uint64_t ref, const char *label)
{
	size_t n = 0;
	const char *const *l = stacks_lines(st, ref, &n);
	if (!n)
		return;
	printf("    %s:\n", label);
	for (size_t i = 0; l && i < n; i++) {
		char line[1100];
		snprintf(line, sizeof(line), "      %s", l[i]);
		cli_puts_cut(c, line, 80);
	}
}

static void print_text_groups(const struct cli *c, const struct model *m, struct stacks *st,
			      const struct groups *gs, const char *title, const char *agelabel)
{
	uint64_t total = 0;
	for (size_t i = 0; i < gs->n; i++)
		total += gs->g[i].count;
	printf("\n%s: %" PRIu64 " socket%s in %zu allocation site%s\n", title, total,
	       total == 1 ? "" : "s", gs->n, gs->n == 1 ? "" : "s");
	for (size_t i = 0; i < gs->n && (!c->top || (int)i < c->top); i++) {
		const struct group *g = &gs->g[i];
		char kinds[256], a0[32], a50[32], a100[32];
		kinds_text(kinds, sizeof(kinds), g);
		cli_dur(a0, sizeof(a0), group_age_pct(g, 0));
		cli_dur(a50, sizeof(a50), group_age_pct(g, 50));
		cli_dur(a100, sizeof(a100), group_age_pct(g, 100));
		printf("\n[%zu] %" PRIu64 " socket%s%s: %s\n", i + 1, g->count, g->count == 1 ? "" : "s",
		       g->possible ? " (possible: events were lost meanwhile)" : "", kinds);
		printf("    pids:");
		for (int p = 0; p < g->npids; p++) {
			printf(" %u (", g->pids[p]);
			out_text_z(stdout, model_str(m, g->comms[p]));
			printf(")");
		}
		printf("%s\n", g->more_pids ? " ..." : "");
		printf("    %s: min %s, median %s, max %s; created by %s()\n", agelabel, a0, a50, a100,
		       origin_name(g->origin));
		printf("    example: socket #%" PRIu64 " inode %" PRIu64 " fd %d, allocated at +%.3fs\n",
		       g->example.serial, g->example.ino, g->example.fd, cli_rel(m, g->example.alloc_ts));
		print_lines(c, st, g->kstack, "kernel stack");
		print_lines(c, st, g->ustack, "user stack");
	}
	if (c->top && gs->n > (size_t)c->top)
		printf("\n(%zu more sites; --top shows more)\n", gs->n - (size_t)c->top);
}

static void cw_text(const struct cli *c, const struct model *m, struct stacks *st,
		    const struct leaks *L)
{
	if (!L->ncw)
		return;
	printf("\nCLOSE_WAIT sockets (peer closed, owner did not), longest first:\n");
	for (size_t i = 0; i < L->ncw && (!c->top || (int)i < c->top); i++) {
		const struct cwsock *w = &L->cw[i];
		char d[32], la[64], ra[64], comm[64], line[400];
		const char *cs = model_str(m, w->s.comm);
		out_text_buf(comm, sizeof(comm), cs, strlen(cs));
		cli_dur(d, sizeof(d), w->dwell);
		uint32_t af = w->s.addr_family ? w->s.addr_family : w->s.family;
		cli_addr(la, sizeof(la), af, w->s.laddr, w->s.lport);
		cli_addr(ra, sizeof(ra), af, w->s.raddr, w->s.rport);
		snprintf(line, sizeof(line), "  pid %u (%s) fd %d: %s in CLOSE_WAIT%s", w->s.pid, comm,
			 w->s.fd, d, w->possible ? " (possible)" : "");
		cli_puts_cut(c, line, 80);
		snprintf(line, sizeof(line), "    local %s, peer %s", la, ra);
		cli_puts_cut(c, line, 80);
		size_t n = 0;
		const char *const *l = stacks_lines(st, w->stack, &n);
		const char *what = w->stack == w->s.connect_stack ? "connect" :
				   w->s.accept_ts ? "accept" : "allocation";
		if (n && l)
			printf("    %s stack:\n", what);
		for (size_t q = 0; l && q < n && q < 8; q++) {
			snprintf(line, sizeof(line), "      %s", l[q]);
			cli_puts_cut(c, line, 80);
		}
	}
}

static void cw_json(const struct cli *c, const struct model *m, struct stacks *st,
		    const struct leaks *L)
{
	printf(",\n  \"close_wait_sockets\": [");
	for (size_t i = 0; i < L->ncw && (!c->top || (int)i < c->top); i++) {
		const struct cwsock *w = &L->cw[i];
		char la[64], ra[64];
		uint32_t af = w->s.addr_family ? w->s.addr_family : w->s.family;
		cli_addr(la, sizeof(la), af, w->s.laddr, w->s.lport);
		cli_addr(ra, sizeof(ra), af, w->s.raddr, w->s.rport);
		printf("%s\n    {\"serial\": %" PRIu64 ", \"pid\": %u, \"comm\": ", i ? "," : "",
		       w->s.serial, w->s.pid);
		out_json_z(stdout, model_str(m, w->s.comm));
		printf(", \"fd\": %d, \"inode\": %" PRIu64 ", \"dwell_ns\": %" PRIu64
		       ", \"possible\": %s, \"local\": ",
		       w->s.fd, w->s.ino, w->dwell, w->possible ? "true" : "false");
		out_json_z(stdout, la);
		printf(", \"remote\": ");
		out_json_z(stdout, ra);
		printf(", \"stack_kind\": \"%s\", \"stack\": ",
		       w->stack == w->s.connect_stack ? "connect" : w->s.accept_ts ? "accept" : "alloc");
		cli_json_stack(stdout, st, w->stack);
		putchar('}');
	}
	printf("%s]", L->ncw ? "\n  " : "");
}

static void growth_out(const struct cli *c, const struct model *m, struct stacks *st,
		       struct leaks *L, size_t *ix, size_t n)
{
	uint64_t dur = L->end > m->start_ns ? L->end - m->start_ns : 0;
	double mins = (double)dur / 6e10;
	if (mins <= 0)
		mins = 1.0 / 60;
	if (c->json)
		printf(",\n  \"growth\": [");
	else
		printf("\nGrowth per allocation site (allocated - released, per minute of %.2f min):\n",
		       mins);
	for (size_t i = 0; i < n && (!c->top || (int)i < c->top); i++) {
		const struct site *x = L->sites.by_key.vals[ix[i]];
		int64_t net = (int64_t)x->allocs - (int64_t)x->releases;
		char kind[48];
		site_kind(kind, sizeof(kind), x);
		if (c->json) {
			printf("%s\n    {\"site\": ", i ? "," : "");
			out_json_z(stdout, x->key);
			printf(", \"allocated\": %" PRIu64 ", \"released\": %" PRIu64
			       ", \"net\": %" PRId64 ", \"per_min\": %.3f, \"possible\": %s"
			       ", \"net_by_minute\": [",
			       x->allocs, x->releases, net, (double)net / mins,
			       x->possible ? "true" : "false");
			for (size_t q = 0; q < x->nmin; q++)
				printf("%s%" PRId64, q ? ", " : "", x->net_min[q]);
			printf("], \"user_stack\": ");
			cli_json_stack(stdout, st, x->ustack);
			putchar('}');
			continue;
		}
		printf("  %+9.1f/min  allocated %" PRIu64 ", released %" PRIu64 "  %s%s\n",
		       (double)net / mins, x->allocs, x->releases, kind,
		       x->possible ? " (possible)" : "");
		size_t nl = 0;
		const char *const *l = stacks_lines(st, x->ustack, &nl);
		for (size_t q = 0; l && q < nl && q < 3; q++) {
			char line[1100];
			snprintf(line, sizeof(line), "      %s", l[q]);
			cli_puts_cut(c, line, 80);
		}
	}
	if (c->json)
		printf("%s]", n ? "\n  " : "");
	else if (!n)
		printf("  (none: every site released what it allocated)\n");
}

static void json_lines(struct stacks *st, uint64_t ref)
{
	size_t n = 0;
	const char *const *l = stacks_lines(st, ref, &n);
	putchar('[');
	for (size_t i = 0; l && i < n; i++) {
		if (i)
			fputs(", ", stdout);
		out_json_z(stdout, l[i]);
	}
	putchar(']');
}

static void json_groups(const struct cli *c, const struct model *m, struct stacks *st,
			const char *name, const struct groups *gs)
{
	printf(",\n  \"%s\": [", name);
	for (size_t i = 0; i < gs->n && (!c->top || (int)i < c->top); i++) {
		const struct group *g = &gs->g[i];
		printf("%s\n    {\"count\": %" PRIu64 ", \"possible\": %" PRIu64 ", \"origin\": \"%s\"",
		       i ? "," : "", g->count, g->possible, origin_name(g->origin));
		/* the portable key of export's sites and of diff: joins across files */
		char *key = portable_key(st, g->kstack, g->ustack, g->origin, 0);
		printf(", \"site_key\": ");
		out_json_z(stdout, key);
		free(key);
		printf(", \"processes\": [");
		for (int p = 0; p < g->npids; p++) {
			printf("%s{\"pid\": %u, \"comm\": ", p ? ", " : "", g->pids[p]);
			out_json_z(stdout, model_str(m, g->comms[p]));
			putchar('}');
		}
		printf("], \"kinds\": [");
		for (int k = 0; k < g->nkinds; k++) {
			const struct gkind *gk = &g->kinds[k];
			printf("%s{\"family\": \"%s\", \"type\": \"%s\", \"protocol\": \"%s\", "
			       "\"count\": %" PRIu64 "}",
			       k ? ", " : "", family_name(gk->family), socktype_name(gk->type),
			       proto_name(gk->family, gk->protocol), gk->count);
		}
		printf("], \"age_ns\": {\"min\": %" PRIu64 ", \"p50\": %" PRIu64 ", \"p90\": %" PRIu64
		       ", \"max\": %" PRIu64 "}",
		       group_age_pct(g, 0), group_age_pct(g, 50), group_age_pct(g, 90),
		       group_age_pct(g, 100));
		const struct msock *e = &g->example;
		printf(", \"example\": {\"serial\": %" PRIu64 ", \"pid\": %u, \"fd\": %d, \"inode\": %" PRIu64
		       ", \"alloc_s\": %.6f}",
		       e->serial, e->pid, e->fd, e->ino, cli_rel(m, e->alloc_ts));
		printf(", \"kernel_stack\": ");
		json_lines(st, g->kstack);
		printf(", \"user_stack\": ");
		json_lines(st, g->ustack);
		putchar('}');
	}
	printf("%s]", gs->n ? "\n  " : "");
}

int cmd_leaks(struct cli *c)
{
	struct leaks L;
	struct model m;
	const char *path = c->files[0];

	leaks_init(&L, c);
	L.sites.no_life = 1; /* the growth section prints counts and rates only */
	int rc = cli_load(c, path, &m, leaks_on_done, &L);
	if (rc) {
		leaks_free(&L);
		return rc;
	}
	leaks_finish(&L, &m);

	struct sym_ctx *sym = cli_symbolizer(c);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	if (!st || leaks_collapse(&L, st)) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	cli_warnings(c, &m, path);
	if (c->folded) {
		sites_folded(stdout, &L.sites, 1);
		goto out;
	}
	if (c->pprof) {
		rc = pprof_write(c, &m, sym, &L.sites, L.end, PPROF_LEAKED);
		goto out;
	}
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"older_ns\": %" PRIu64 ", \"younger_skipped\": %" PRIu64
		       ", \"preexisting_open\": %" PRIu64 ", \"close_wait_younger_skipped\": %" PRIu64,
		       c->older_ns, L.young, L.preexisting_open, L.cw_young);
		json_groups(c, &m, st, "outstanding", &L.outstanding);
		json_groups(c, &m, st, "exit_released", &L.exited);
		json_groups(c, &m, st, "close_wait", &L.closewait);
		json_groups(c, &m, st, "close_wait_ended", &L.cwended);
		cw_json(c, &m, st, &L);
		growth_out(c, &m, st, &L, L.growth, L.ngrowth);
		printf("\n}\n");
	} else {
		const char *host = model_meta(&m, "host.name"), *kern = model_meta(&m, "host.kernel");
		const char *be = model_meta(&m, "backend");
		printf("sockreport leaks: ");
		out_text_z(stdout, path);
		printf("\nhost ");
		out_text_z(stdout, host ? host : "?");
		printf(", kernel ");
		out_text_z(stdout, kern ? kern : "?");
		printf(", backend ");
		out_text_z(stdout, be ? be : "?");
		printf("\n");
		char older[32];
		cli_dur(older, sizeof(older), c->older_ns);
		print_text_groups(c, &m, st, &L.outstanding, "Still open at the end", "age");
		if (L.young)
			printf("(%" PRIu64 " younger than %s not shown; see --older)\n", L.young, older);
		uint64_t free_skips;
		cli_hook_skips_that_matter(&m, &free_skips);
		if (free_skips && L.outstanding.n)
			/* two lines: the report's lines fit 80 columns */
			printf("(the kernel skipped %" PRIu64 " runs of the slab-free hook: a socket\n"
			       " released other than by close(), dup2() or exit may be listed here)\n",
			       free_skips);
		print_text_groups(c, &m, st, &L.exited, "Released only by process exit", "lifetime");
		print_text_groups(c, &m, st, &L.closewait, "Stranded in CLOSE_WAIT", "in CLOSE_WAIT");
		if (L.cw_young)
			printf("(%" PRIu64 " in CLOSE_WAIT for less than %s not shown; see --older)\n",
			       L.cw_young, older);
		cw_text(c, &m, st, &L);
		char ttl[96];
		snprintf(ttl, sizeof(ttl), "CLOSE_WAIT for %s or longer, then closed", older);
		print_text_groups(c, &m, st, &L.cwended, ttl, "in CLOSE_WAIT");
		growth_out(c, &m, st, &L, L.growth, L.ngrowth);
	}
out:
	leaks_free(&L);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
	return rc;
}
