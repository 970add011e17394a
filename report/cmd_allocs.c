/* cmd_allocs.c - `sockreport allocs`: every allocation site (sites.h) with
 * its sockets allocated, released and open, as a table, JSON, folded
 * stacks or a pprof profile. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "commands.h"
#include "sites.h"
#include "out.h"
#include "pprof.h"
#include "stacks.h"

/* ---- sockreport allocs ---- */

struct allocs {
	struct cli *c;
	struct sites ss;
	uint64_t end;
	int err;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct allocs *A = arg;
	if (sites_add(&A->ss, m, s, A->end, A->c->older_ns))
		A->err = 1;
}

/* qsort_r over indices into the agg `arg` */
static int by_allocs(const void *a, const void *b, void *arg)
{
	const struct agg *sort_by = arg;
	const struct site *x = sort_by->vals[*(const size_t *)a], *y = sort_by->vals[*(const size_t *)b];
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	return strcmp(x->key, y->key);
}

int cmd_allocs(struct cli *c)
{
	struct allocs A;
	struct model m;
	const char *path = c->files[0];

	memset(&A, 0, sizeof(A));
	A.c = c;
	sites_init(&A.ss);
	/* The end is needed while streaming: open sockets come at the end,
	 * when the META recording.end_ns has been read, via model_finish. */
	int rc = cli_load(c, path, &m, on_done, &A);
	if (rc) {
		sites_free(&A.ss);
		return rc;
	}
	A.end = cli_end(&m);
	model_finish(&m);
	struct sym_ctx *sym = cli_symbolizer(c);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	size_t *ix = NULL;
	if (!st || A.err || sites_collapse(&A.ss, st, c->lines) ||
	    !(ix = malloc((A.ss.by_key.n + 1) * sizeof(*ix)))) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < A.ss.by_key.n; i++)
		ix[i] = i;
	qsort_r(ix, A.ss.by_key.n, sizeof(*ix), by_allocs, &A.ss.by_key);
	cli_warnings(c, &m, path);
	if (c->folded) {
		sites_folded(stdout, &A.ss, 0);
		goto out;
	}
	if (c->pprof) {
		rc = pprof_write(c, &m, sym, &A.ss, A.end, PPROF_ALLOCS);
		goto out;
	}
	size_t n = c->top && (size_t)c->top < A.ss.by_key.n ? (size_t)c->top : A.ss.by_key.n;
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"sites\": [");
	} else {
		cli_text_head(c, &m, path);
		printf("%zu allocation sites\n", A.ss.by_key.n);
	}
	for (size_t i = 0; i < n; i++) {
		struct site *x = A.ss.by_key.vals[ix[i]];
		char kind[48], p50[32];
		site_kind(kind, sizeof(kind), x);
		cli_dur(p50, sizeof(p50), vals_pct(&x->life, 50));
		if (c->json) {
			printf("%s\n    {\"key\": ", i ? "," : "");
			out_json_z(stdout, x->key);
			printf(", \"allocated\": %" PRIu64 ", \"released\": %" PRIu64 ", \"open\": %" PRIu64
			       ", \"kind\": \"%s\", \"pid\": %u, \"comm\": ",
			       x->allocs, x->releases, x->open, kind, x->pid);
			out_json_z(stdout, model_str(&m, x->comm));
			printf(", \"lifetime_p50_ns\": %" PRIu64 ", \"user_stack\": ",
			       vals_pct(&x->life, 50));
			cli_json_stack(stdout, st, x->ustack);
			printf(", \"kernel_stack\": ");
			cli_json_stack(stdout, st, x->kstack);
			printf("}");
			continue;
		}
		printf("\n[%zu] allocated %" PRIu64 ", released %" PRIu64 ", open %" PRIu64
		       "; %s; lifetime p50 %s\n",
		       i + 1, x->allocs, x->releases, x->open, kind, p50);
		size_t nl = 0;
		const char *const *l = stacks_lines(st, x->ustack, &nl);
		for (size_t q = 0; l && q < nl && q < 6; q++) {
			char line[1100];
			snprintf(line, sizeof(line), "    %s", l[q]);
			cli_puts_cut(c, line, 80);
		}
	}
	if (c->json)
		printf("%s]\n}\n", n ? "\n  " : "");
out:
	free(ix);
	stacks_free(st);
	sym_ctx_free(sym);
	sites_free(&A.ss);
	model_free(&m);
	return rc;
}
