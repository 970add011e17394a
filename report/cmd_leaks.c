/* cmd_leaks.c - `sockreport leaks`: what was never closed, and by whom.
 *
 *  outstanding  allocated during the recording, still open at its end, and
 *               older than --older;
 *  exit         released only because the owning process exited;
 *  close_wait   TCP sockets whose last state is CLOSE_WAIT at the end: the
 *               peer closed, the owner never did (the seed's bpftrace
 *               detector, with the PID it could not find).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "groups.h"
#include "out.h"
#include "stacks.h"

struct leaks {
	struct cli *c;
	uint64_t end;
	int finishing;
	struct groups outstanding, exited, closewait;
	uint64_t young, preexisting_open;
	int err;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct leaks *L = arg;
	int possible;

	if (!L->finishing) {
		if (s->how == SREC_HOW_EXIT && s->alloc_ts) {
			possible = s->in_loss_window;
			if (groups_add(&L->exited, s, s->release_ts - s->alloc_ts, possible))
				L->err = 1;
		}
		return;
	}
	/* Still open at the end of the recording. */
	if (s->nstates && s->states[s->nstates - 1] == 8 /* CLOSE_WAIT */) {
		uint64_t since = s->state_ts[s->nstates - 1];
		if (groups_add(&L->closewait, s, L->end > since ? L->end - since : 0, 0))
			L->err = 1;
	}
	if (!s->alloc_ts) {
		L->preexisting_open++;
		return;
	}
	uint64_t age = L->end > s->alloc_ts ? L->end - s->alloc_ts : 0;
	if (age < L->c->older_ns) {
		L->young++;
		return;
	}
	possible = model_loss_between(m, s->alloc_ts, L->end);
	if (groups_add(&L->outstanding, s, age, possible))
		L->err = 1;
}

static void kinds_text(char *buf, size_t cap, const struct group *g)
{
	buf[0] = 0;
	for (int i = 0; i < g->nkinds; i++) {
		char t[64];
		const struct gkind *k = &g->kinds[i];
		const char *p = proto_name(k->family, k->protocol);
		snprintf(t, sizeof(t), "%s%s/%s%s%s x%" PRIu64, i ? ", " : "", family_name(k->family),
			 socktype_name(k->type), p[0] ? "/" : "", p, k->count);
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
		if (!c->wide && strlen(l[i]) > 74)
			printf("      %.71s...\n", l[i]);
		else
			printf("      %s\n", l[i]);
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

	memset(&L, 0, sizeof(L));
	L.c = c;
	int rc = cli_load(c, path, &m, on_done, &L);
	if (rc)
		return rc;
	const char *e = model_meta(&m, "recording.end_ns");
	L.end = e ? strtoull(e, NULL, 10) : m.ts_last;
	L.finishing = 1;
	model_finish(&m);

	struct sym_ctx *sym = cli_symbolizer(c);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	if (!st || L.err || groups_collapse(&L.outstanding, st) || groups_collapse(&L.exited, st) ||
	    groups_collapse(&L.closewait, st)) {
		fprintf(stderr, "sockreport: out of memory\n");
		stacks_free(st);
		sym_ctx_free(sym);
		model_free(&m);
		return 1;
	}
	cli_warnings(c, &m, path);
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"older_ns\": %" PRIu64 ", \"younger_skipped\": %" PRIu64
		       ", \"preexisting_open\": %" PRIu64,
		       c->older_ns, L.young, L.preexisting_open);
		json_groups(c, &m, st, "outstanding", &L.outstanding);
		json_groups(c, &m, st, "exit_released", &L.exited);
		json_groups(c, &m, st, "close_wait", &L.closewait);
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
		print_text_groups(c, &m, st, &L.exited, "Released only by process exit", "lifetime");
		print_text_groups(c, &m, st, &L.closewait, "Stranded in CLOSE_WAIT", "in CLOSE_WAIT");
	}
	groups_free(&L.outstanding);
	groups_free(&L.exited);
	groups_free(&L.closewait);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
	return 0;
}
