/* cmd_latency.c - `sockreport latency`: connect latency, accept-queue wait,
 * socket lifetime and time in each TCP state, as log2 histograms and
 * percentiles, optionally split --by comm|pid|stack|dport|raddr. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "latency.h"
#include "out.h"
#include "stacks.h"
#include "agg.h"
#include "commands.h"

struct lgroup {
	struct vals v[LAT__N];
	uint64_t ustack; /* --by stack */
};

struct latency {
	struct cli *c;
	struct agg groups;
	struct lgroup *all; /* the one group without --by */
	int err;
};

/* The group of s: its --by key (the one group "all" without --by). */
static struct lgroup *group_of(struct latency *L, struct model *m, const struct msock *s)
{
	char key[128];
	const char *by = L->c->by;
	if (!by && L->all)
		return L->all;
	if (!by)
		snprintf(key, sizeof(key), "all");
	else if (!strcmp(by, "comm"))
		out_text_buf(key, sizeof(key), model_str(m, s->comm), strlen(model_str(m, s->comm)));
	else if (!strcmp(by, "pid"))
		snprintf(key, sizeof(key), "%u", s->pid);
	else if (!strcmp(by, "stack"))
		snprintf(key, sizeof(key), "%" PRIu64 "/%" PRIu64, s->alloc_kstack, s->alloc_ustack);
	else if (!strcmp(by, "dport"))
		snprintf(key, sizeof(key), "%u", s->accept_ts ? s->lport : s->nconnects ?
			 s->connect_dport : s->rport);
	else {
		uint16_t p = 0;
		cli_addr(key, sizeof(key), s->addr_family ? s->addr_family : s->family,
			 s->nconnects && !s->rport ? s->connect_daddr : s->raddr, p);
		char *colon = strrchr(key, ':');
		if (colon && strcmp(key, "-"))
			*colon = 0;
	}
	struct lgroup *g = agg_get(&L->groups, key);
	if (g && !by)
		L->all = g;
	return g;
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct latency *L = arg;
	struct lgroup *g = group_of(L, m, s);
	if (!g) {
		L->err = 1;
		return;
	}
	g->ustack = s->alloc_ustack;
	if (latency_account(g->v, s))
		L->err = 1;
}

static void text_metric(struct vals *v, const char *title)
{
	char a[32], b[32], c[32], d[32];
	if (!v->n)
		return;
	cli_dur(a, sizeof(a), vals_pct(v, 50));
	cli_dur(b, sizeof(b), vals_pct(v, 90));
	cli_dur(c, sizeof(c), vals_pct(v, 99));
	cli_dur(d, sizeof(d), vals_pct(v, 100));
	printf("\n  %s\n  count %zu  p50 %s  p90 %s  p99 %s  max %s\n", title, v->n, a, b, c, d);
	vals_hist_text(stdout, v, 1000, "usecs");
}

static void group_label(char *buf, size_t cap, struct stacks *st, const char *key,
			const struct lgroup *g, const char *by)
{
	if (!by || strcmp(by, "stack") || !st) {
		snprintf(buf, cap, "%s", key);
		return;
	}
	/* the first three user frames, innermost first, as module!function */
	size_t n = 0, len = 0;
	const char *const *l = stacks_lines(st, g->ustack, &n);
	buf[0] = 0;
	for (size_t i = 0; l && i < n && i < 3; i++) {
		char k[300];
		stacks_frame_key(l[i], k, sizeof(k));
		int w = snprintf(buf + len, cap - len, "%s%s", i ? " < " : "", k);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, cap, "(no user stack)");
}

int cmd_latency(struct cli *c)
{
	struct latency L;
	struct model m;
	const char *path = c->files[0];

	memset(&L, 0, sizeof(L));
	L.c = c;
	agg_init(&L.groups, sizeof(struct lgroup));
	int rc = cli_load(c, path, &m, on_done, &L);
	if (rc) {
		agg_free(&L.groups);
		return rc;
	}
	model_finish(&m);
	struct sym_ctx *sym = NULL;
	struct stacks *st = NULL;
	if (c->by && !strcmp(c->by, "stack")) {
		sym = cli_symbolizer(c);
		st = sym ? stacks_new(&m, sym) : NULL;
		if (!st)
			L.err = 1;
	}
	if (L.err) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	cli_warnings(c, &m, path);
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"by\": ");
		out_json_z(stdout, c->by);
		printf(", \"groups\": [");
	} else {
		cli_text_head(c, &m, path);
	}
	for (size_t i = 0; i < L.groups.n; i++) {
		struct lgroup *g = L.groups.vals[i];
		char label[1000];
		group_label(label, sizeof(label), st, L.groups.keys[i], g, c->by);
		if (c->json) {
			printf("%s\n    {\"key\": ", i ? "," : "");
			out_json_z(stdout, label);
			for (int k = 0; k < LAT_STATE0; k++) {
				printf(", \"%s\": ", lat_metric_json[k]);
				vals_json(stdout, &g->v[k]);
			}
			printf(", \"tcp_state_time\": {");
			int first = 1;
			for (int k = LAT_STATE0; k < LAT__N; k++) {
				if (!g->v[k].n)
					continue;
				printf("%s\"%s\": ", first ? "" : ", ", tcp_state_name((uint32_t)(k - LAT_STATE0)));
				vals_json(stdout, &g->v[k]);
				first = 0;
			}
			printf("}}");
			continue;
		}
		if (c->by) {
			char line[1100];
			snprintf(line, sizeof(line), "\n== %s %s", c->by, label);
			cli_puts_cut(c, line, 80);
		}
		for (int k = 0; k < LAT_STATE0; k++)
			text_metric(&g->v[k], lat_metric_text[k]);
		for (int k = LAT_STATE0; k < LAT__N; k++) {
			char t[64];
			snprintf(t, sizeof(t), "time in %s", tcp_state_name((uint32_t)(k - LAT_STATE0)));
			text_metric(&g->v[k], t);
		}
	}
	if (c->json)
		printf("%s]\n}\n", L.groups.n ? "\n  " : "");
	else if (!L.groups.n)
		printf("\n(no sockets)\n");
out:
	for (size_t i = 0; i < L.groups.n; i++) {
		struct lgroup *g = L.groups.vals[i];
		for (int k = 0; k < LAT__N; k++)
			vals_free(&g->v[k]);
	}
	agg_free(&L.groups);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
	return rc;
}
