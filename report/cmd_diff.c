/* cmd_diff.c - `sockreport diff BASE NEW`: two recordings of one service,
 * possibly of different builds.  Allocation sites are matched by their
 * portable keys (module!function per frame, see sites_collapse), never by
 * addresses; rates are per minute of recording; rows are ranked by a
 * significance score; --fail-on turns rows into an exit status (3). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "diffcore.h"
#include "out.h"
#include "stacks.h"
#include "sites.h"
#include "commands.h"
#include "names.h"

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct side *S = arg;
	uint64_t ns;
	int ok, err;
	if (sites_add(&S->ss, m, s, S->end ? S->end : m->ts_last, S->c->older_ns))
		S->err = 1;
	if (names_is_conn(s->family, s->type, s->protocol) && msock_connect_latency(s, &ns, &ok, &err)) {
		if (ok) {
			if (vals_add(&S->conn, ns))
				S->err = 1;
		} else {
			S->conn_failed++;
		}
	}
	if (s->accept_ts && s->accept_estab_ts && s->accept_ts >= s->accept_estab_ts &&
	    vals_add(&S->acc, s->accept_ts - s->accept_estab_ts))
		S->err = 1;
	if (s->released && s->alloc_ts && s->release_ts >= s->alloc_ts &&
	    vals_add(&S->life, s->release_ts - s->alloc_ts))
		S->err = 1;
}

int diff_load_side(struct cli *c, const char *path, struct side *S, struct series_clock *clock)
{
	memset(S, 0, sizeof(*S));
	S->c = c;
	S->path = path;
	sites_init(&S->ss);
	S->ss.clock = clock;
	int rc = cli_load(c, path, &S->m, on_done, S);
	if (rc)
		return rc;
	S->loaded = 1;
	S->end = cli_end(&S->m);
	model_finish(&S->m);
	uint64_t dur = S->end > S->m.start_ns ? S->end - S->m.start_ns : 0;
	S->mins = dur ? (double)dur / 6e10 : 1.0 / 60;
	S->sym = cli_symbolizer(c);
	S->st = S->sym ? stacks_new(&S->m, S->sym) : NULL;
	if (!S->st || S->err || sites_collapse(&S->ss, S->st, c->lines)) {
		fprintf(stderr, "sockreport: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < S->ss.by_key.n; i++) {
		const struct site *x = S->ss.by_key.vals[i];
		S->leaks += x->leaks;
		S->closewait += x->closewait;
		S->exit_leaks += x->exit_released;
		S->allocs += x->allocs;
		S->releases += x->releases;
	}
	cli_warnings(c, &S->m, path);
	return 0;
}

void diff_free_side(struct side *S)
{
	sites_free(&S->ss);
	vals_free(&S->conn);
	vals_free(&S->acc);
	vals_free(&S->life);
	stacks_free(S->st);
	sym_ctx_free(S->sym);
	if (S->loaded)
		model_free(&S->m);
}

static struct row *add_row(struct rows *R)
{
	if (R->n == R->cap) {
		size_t nc = R->cap ? R->cap * 2 : 64;
		struct row *n = realloc(R->r, nc * sizeof(*n));
		if (!n)
			return NULL;
		R->r = n;
		R->cap = nc;
	}
	struct row *r = &R->r[R->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

static double score(double w, double base, double new, double floor)
{
	double d = fabs(new - base), den = fabs(base) > floor ? fabs(base) : floor;
	return w * d / den;
}

struct metric {
	const char *name, *unit;
	double w, floor;
};

static const struct metric metrics[] = {
	{ "leaks", "sockets", 3, 1 },         { "leak_rate", "/min", 3, 1 },
	{ "closewait", "sockets", 3, 1 },     { "exit_leaks", "sockets", 2, 1 },
	{ "new_sites", "sites", 2, 1 },       { "allocs", "sockets", 0.5, 10 },
	{ "alloc_rate", "/min", 1, 10 },      { "connect.p50", "ms", 1, 1 },
	{ "connect.p90", "ms", 1.5, 1 },      { "connect.p99", "ms", 2, 1 },
	{ "connect.max", "ms", 1, 1 },        { "connect.failed", "connects", 2, 1 },
	{ "accept.p50", "ms", 1, 1 },         { "accept.p99", "ms", 1.5, 1 },
	{ "lifetime.p50", "ms", 0.5, 10 },    { "lifetime.p99", "ms", 0.5, 10 },
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

static double metric_value(struct side *S, const char *name, uint64_t new_sites)
{
	if (!strcmp(name, "leaks"))
		return (double)S->leaks;
	if (!strcmp(name, "leak_rate"))
		return ((double)S->allocs - (double)S->releases) / S->mins;
	if (!strcmp(name, "closewait"))
		return (double)S->closewait;
	if (!strcmp(name, "exit_leaks"))
		return (double)S->exit_leaks;
	if (!strcmp(name, "new_sites"))
		return (double)new_sites;
	if (!strcmp(name, "allocs"))
		return (double)S->allocs;
	if (!strcmp(name, "alloc_rate"))
		return (double)S->allocs / S->mins;
	if (!strcmp(name, "connect.failed"))
		return (double)S->conn_failed;
	struct vals *v = !strncmp(name, "connect.", 8) ? &S->conn :
			 !strncmp(name, "accept.", 7) ? &S->acc : &S->life;
	const char *p = strchr(name, '.') + 1;
	double pct = !strcmp(p, "max") ? 100 : atof(p + 1);
	return (double)vals_pct(v, pct) / 1e6;
}

/* Percentiles of a side with no value at all (no connect, no released
 * socket) are not 0 ms: there is nothing to compare. */
static int metric_has_data(const struct side *S, const char *name)
{
	if (!strncmp(name, "connect.p", 9) || !strcmp(name, "connect.max"))
		return S->conn.n > 0;
	if (!strncmp(name, "accept.", 7))
		return S->acc.n > 0;
	if (!strncmp(name, "lifetime.", 9))
		return S->life.n > 0;
	return 1;
}

/* "same" only for values within 10% (or 0.001 units) of each other: the
 * score ranks rows, but a small-weighted metric that fell from 0.89 to 0
 * has still changed. */
static const char *change_status(double score, double base, double new)
{
	double d = fabs(new - base);
	if (score > 0.1 || (d > 0.001 && d > 0.1 * fabs(base)))
		return "changed";
	return "same";
}

/* ---- --fail-on ---- */

struct cond {
	char metric[32];
	char op[3];
	double value;
	int mode; /* 0 absolute (NEW), 1 delta, 2 percent */
};

static int parse_cond(const char *t, struct cond *c)
{
	size_t ml = strcspn(t, "<>=");
	if (!ml || ml >= sizeof(c->metric))
		return -1;
	memcpy(c->metric, t, ml);
	c->metric[ml] = 0;
	t += ml;
	size_t ol = strspn(t, "<>=");
	if (ol < 1 || ol > 2)
		return -1;
	memcpy(c->op, t, ol);
	c->op[ol] = 0;
	if (strcmp(c->op, ">") && strcmp(c->op, ">=") && strcmp(c->op, "<") && strcmp(c->op, "<=") &&
	    strcmp(c->op, "=="))
		return -1;
	t += ol;
	c->mode = (*t == '+' || *t == '-') ? 1 : 0;
	char *end;
	c->value = strtod(t, &end);
	if (end == t)
		return -1;
	if (*end == '%') {
		if (!c->mode)
			return -1;
		c->mode = 2;
		end++;
	}
	if (*end)
		return -1;
	for (size_t i = 0; i < NMETRICS; i++)
		if (!strcmp(metrics[i].name, c->metric))
			return 0;
	return -1;
}

static int cmp_op(const char *op, double a, double b)
{
	if (!strcmp(op, ">"))
		return a > b;
	if (!strcmp(op, ">="))
		return a >= b;
	if (!strcmp(op, "<"))
		return a < b;
	if (!strcmp(op, "<="))
		return a <= b;
	return fabs(a - b) < 1e-9;
}

static int by_score(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void json_num(double v, int none)
{
	if (none)
		fputs("null", stdout);
	else
		printf("%.6g", v);
}

void diff_site_label(char *buf, size_t cap, struct stacks *st, uint64_t ustack, uint32_t origin)
{
	size_t n = 0, len = 0;
	const char *const *l = stacks_lines(st, ustack, &n);
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
		snprintf(buf, cap, "%s (no user stack)", origin_name(origin));
}

int diff_rows(struct side *B, struct side *N, struct rows *R, uint64_t *new_sites)
{
	/* site rows */
	*new_sites = 0;
	for (size_t i = 0; i < N->ss.by_key.n; i++) {
		const struct site *ns = N->ss.by_key.vals[i];
		const struct site *bs = NULL;
		for (size_t j = 0; j < B->ss.by_key.n; j++)
			if (!strcmp(B->ss.by_key.keys[j], N->ss.by_key.keys[i]))
				bs = B->ss.by_key.vals[j];
		if (!bs && ns->allocs)
			(*new_sites)++;
		struct row *r = add_row(R);
		if (!r)
			return -1;
		r->is_site = 1;
		r->bs = bs;
		r->ns = ns;
		snprintf(r->name, sizeof(r->name), "site");
		r->unit = "leaks/min";
	}
	for (size_t j = 0; j < B->ss.by_key.n; j++) {
		int found = 0;
		for (size_t i = 0; i < N->ss.by_key.n && !found; i++)
			found = !strcmp(B->ss.by_key.keys[j], N->ss.by_key.keys[i]);
		if (found)
			continue;
		struct row *r = add_row(R);
		if (!r)
			return -1;
		r->is_site = 1;
		r->bs = B->ss.by_key.vals[j];
		snprintf(r->name, sizeof(r->name), "site");
		r->unit = "leaks/min";
	}
	for (size_t i = 0; i < R->n; i++) {
		struct row *r = &R->r[i];
		double bl = r->bs ? (double)r->bs->leaks / B->mins : 0, nl = r->ns ? (double)r->ns->leaks / N->mins : 0;
		double ba = r->bs ? (double)r->bs->allocs / B->mins : 0, na = r->ns ? (double)r->ns->allocs / N->mins : 0;
		r->base = bl;
		r->new = nl;
		r->score = score(3, bl, nl, 1) + score(1, ba, na, 10);
		r->status = !r->bs ? "new" : !r->ns ? "vanished" : change_status(r->score, bl, nl);
	}
	/* A site without leaks on either side says nothing about leaks unless
	 * it is new or vanished code: "unknown (no user stack) 0 -> 0" rows of
	 * kernel sockets and unchanged sites are noise. */
	size_t kept = 0;
	for (size_t i = 0; i < R->n; i++) {
		const struct row *r = &R->r[i];
		const struct site *x = r->ns ? r->ns : r->bs;
		int zero = (!r->bs || !r->bs->leaks) && (!r->ns || !r->ns->leaks);
		if (zero && (!strcmp(r->status, "same") || !x || x->ustack < SREC_STACK_FIRST_ID))
			continue;
		R->r[kept++] = *r;
	}
	R->n = kept;
	for (size_t k = 0; k < NMETRICS; k++) {
		struct row *r = add_row(R);
		if (!r)
			return -1;
		snprintf(r->name, sizeof(r->name), "%s", metrics[k].name);
		r->unit = metrics[k].unit;
		r->base = metric_value(B, metrics[k].name, 0);
		r->new = metric_value(N, metrics[k].name, *new_sites);
		r->score = score(metrics[k].w, r->base, r->new, metrics[k].floor);
		r->status = change_status(r->score, r->base, r->new);
		r->no_base = !metric_has_data(B, metrics[k].name);
		r->no_new = !metric_has_data(N, metrics[k].name);
		if (r->no_base || r->no_new) {
			r->status = "not comparable";
			r->score = 0;
		}
	}
	qsort(R->r, R->n, sizeof(*R->r), by_score);
	return 0;
}

int cmd_diff(struct cli *c)
{
	struct side B, N;
	struct rows R = { 0 };
	struct cond conds[32];
	int nconds = 0, rc = 0;

	if (c->fail_on) {
		char *copy = strdup(c->fail_on), *save = NULL;
		if (!copy) {
			fprintf(stderr, "sockreport: out of memory\n");
			return 1;
		}
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			if (nconds == 32 || parse_cond(t, &conds[nconds])) {
				fprintf(stderr, "sockreport: invalid --fail-on condition '");
				out_text_z(stderr, t);
				fprintf(stderr, "' (see sockreport diff --help)\n");
				free(copy);
				return 2;
			}
			nconds++;
		}
		free(copy);
	}
	memset(&N, 0, sizeof(N));
	rc = diff_load_side(c, c->files[0], &B, NULL);
	if (!rc)
		rc = diff_load_side(c, c->files[1], &N, NULL);
	if (rc)
		goto out;

	uint64_t new_sites = 0;
	if (diff_rows(&B, &N, &R, &new_sites))
		goto oom;

	/* --fail-on */
	int tripped_any = 0, tripped[32] = { 0 };
	double seen[32] = { 0 };
	for (int i = 0; i < nconds; i++) {
		const struct cond *cd = &conds[i];
		double b = metric_value(&B, cd->metric, 0), n = metric_value(&N, cd->metric, new_sites);
		double v = cd->mode == 0 ? n : cd->mode == 1 ? n - b :
			   b != 0 ? 100.0 * (n - b) / fabs(b) : (n > 0 ? INFINITY : n < 0 ? -INFINITY : 0);
		seen[i] = v;
		tripped[i] = cmp_op(cd->op, v, cd->value);
		tripped_any |= tripped[i];
	}

	size_t shown = c->top && (size_t)c->top < R.n ? (size_t)c->top : R.n;
	if (c->json) {
		printf("{\"base\": {\"file\": ");
		out_json_z(stdout, B.path);
		printf(", \"duration_min\": %.6f, ", B.mins);
		cli_json_status(stdout, &B.m);
		printf("}, \"new\": {\"file\": ");
		out_json_z(stdout, N.path);
		printf(", \"duration_min\": %.6f, ", N.mins);
		cli_json_status(stdout, &N.m);
		printf("}, \"rows\": [");
		for (size_t i = 0; i < shown; i++) {
			const struct row *r = &R.r[i];
			printf("%s\n    {\"kind\": \"%s\", \"name\": \"%s\", \"unit\": \"%s\", \"base\": ",
			       i ? "," : "", r->is_site ? "site" : "metric", r->name, r->unit);
			json_num(r->base, r->no_base);
			printf(", \"new\": ");
			json_num(r->new, r->no_new);
			printf(", \"delta\": ");
			json_num(r->new - r->base, r->no_base || r->no_new);
			printf(", \"score\": %.4f, \"status\": \"%s\"", r->score, r->status);
			if (r->is_site) {
				const struct site *x = r->ns ? r->ns : r->bs;
				char label[1000];
				diff_site_label(label, sizeof(label), (r->ns ? &N : &B)->st, x->ustack, x->origin);
				printf(", \"site\": ");
				out_json_z(stdout, x->key);
				printf(", \"label\": ");
				out_json_z(stdout, label);
				printf(", \"base_leaks\": %" PRIu64 ", \"new_leaks\": %" PRIu64
				       ", \"base_allocs\": %" PRIu64 ", \"new_allocs\": %" PRIu64,
				       r->bs ? r->bs->leaks : 0, r->ns ? r->ns->leaks : 0,
				       r->bs ? r->bs->allocs : 0, r->ns ? r->ns->allocs : 0);
			}
			putchar('}');
		}
		printf("%s], \"fail_on\": [", shown ? "\n  " : "");
		for (int i = 0; i < nconds; i++) {
			printf("%s{\"metric\": \"%s\", \"op\": \"%s\", \"value\": %g, \"mode\": \"%s\", "
			       "\"observed\": ",
			       i ? ", " : "", conds[i].metric, conds[i].op, conds[i].value,
			       conds[i].mode == 0 ? "absolute" : conds[i].mode == 1 ? "delta" : "percent");
			if (isfinite(seen[i]))
				printf("%.6g", seen[i]);
			else
				printf("null");
			printf(", \"tripped\": %s}", tripped[i] ? "true" : "false");
		}
		printf("], \"tripped\": %s}\n", tripped_any ? "true" : "false");
	} else {
		printf("sockreport diff: BASE ");
		out_text_z(stdout, B.path);
		printf(" (%.2f min)\n                 NEW  ", B.mins);
		out_text_z(stdout, N.path);
		printf(" (%.2f min)\n\n", N.mins);
		printf("%7s  %-8s %-22s %10s %10s %s\n", "SCORE", "STATUS", "WHAT", "BASE", "NEW", "UNIT");
		for (size_t i = 0; i < shown; i++) {
			const struct row *r = &R.r[i];
			char line[1200];
			char bv[32], nv[32];
			snprintf(bv, sizeof(bv), r->no_base ? "-" : "%.4g", r->base);
			snprintf(nv, sizeof(nv), r->no_new ? "-" : "%.4g", r->new);
			snprintf(line, sizeof(line), "%7.2f  %-8s %-22s %10s %10s %s%s", r->score,
				 r->status, r->is_site ? "allocation site" : r->name, bv, nv, r->unit,
				 r->no_base || r->no_new ? " (no data on one side)" : "");
			cli_puts_cut(c, line, 80);
			if (r->is_site) {
				const struct site *x = r->ns ? r->ns : r->bs;
				char label[1000];
				diff_site_label(label, sizeof(label), (r->ns ? &N : &B)->st, x->ustack, x->origin);
				snprintf(line, sizeof(line), "         %s  (leaks %" PRIu64 " -> %" PRIu64
					 ", allocs %" PRIu64 " -> %" PRIu64 ")",
					 label, r->bs ? r->bs->leaks : 0, r->ns ? r->ns->leaks : 0,
					 r->bs ? r->bs->allocs : 0, r->ns ? r->ns->allocs : 0);
				cli_puts_cut(c, line, 80);
			}
		}
		if (shown < R.n)
			printf("(%zu more rows; --top shows more)\n", R.n - shown);
		for (int i = 0; i < nconds; i++)
			printf("%s %s%s%s%g%s (observed %.4g)\n", tripped[i] ? "TRIPPED:" : "ok:     ",
			       conds[i].metric, conds[i].op, conds[i].mode && conds[i].value >= 0 ? "+" : "",
			       conds[i].value, conds[i].mode == 2 ? "%" : "", seen[i]);
	}
	rc = tripped_any ? 3 : 0;
	goto out;
oom:
	fprintf(stderr, "sockreport: out of memory\n");
	rc = 1;
out:
	free(R.r);
	diff_free_side(&B);
	diff_free_side(&N);
	return rc;
}
