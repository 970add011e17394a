/* cmd_fleet.c - `sockreport leaks|allocs|latency A.srec B.srec ...`: a few
 * recordings (hosts, or builds) in one report, for the case that does not
 * need an engine (for many, `sockreport export`).
 *
 * leaks, allocs: rows are allocation sites by their portable key (module!
 * function per frame, the key of diff and export), so the same code path
 * on two hosts or builds is one row; each row lists its hosts.
 * latency: TCP connect latency per destination (address:port) and host.
 * Every file's completeness and losses are listed first: a report across
 * files must not hide that one of them is damaged or lossy.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "stacks.h"
#include "sites.h"
#include "commands.h"
#include "names.h"

#define FLEET_STACK_LINES 6

struct fhost {
	int file;
	uint64_t allocs, open, leaks, closewait, possible;
};

struct fsite {
	struct fhost *h;
	size_t nh;
	uint64_t allocs, open, leaks, closewait, possible;
	char kind[48];
	char *ustack[FLEET_STACK_LINES];
	size_t nustack;
};

/* Connect latency of one (destination, host) */
struct flat {
	int file;
	char dest[80];
	struct vals ok;
	uint64_t failed;
};

struct ffile {
	const char *path;
	char host[128];
	int complete, salvaged;
	uint64_t lost, events;
};

struct fleet {
	struct cli *c;
	struct ffile *files;
	struct agg sites;   /* site key -> struct fsite */
	struct agg lat;     /* "dest\nfile" -> struct flat */
	struct sites ss;    /* the current file's sites */
	int cur, err, latency;
	uint64_t end;
	int finishing;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct fleet *F = arg;
	if (!F->latency) {
		if (sites_add(&F->ss, m, s, F->finishing ? F->end : m->ts_last, F->c->older_ns))
			F->err = 1;
		return;
	}
	uint64_t ns;
	int ok, err;
	if (s->protocol != IPPROTO_TCP || !msock_connect_latency(s, &ns, &ok, &err))
		return;
	char dest[80], key[100];
	cli_addr(dest, sizeof(dest), s->connect_family ? s->connect_family : s->family,
		 s->connect_daddr, (uint16_t)s->connect_dport);
	snprintf(key, sizeof(key), "%s\n%d", dest, F->cur);
	struct flat *x = agg_get(&F->lat, key);
	if (!x) {
		F->err = 1;
		return;
	}
	x->file = F->cur;
	snprintf(x->dest, sizeof(x->dest), "%s", dest);
	if (!ok)
		x->failed++;
	else if (vals_add(&x->ok, ns))
		F->err = 1;
}

/* Merges the current file's collapsed sites into the fleet table. */
static int merge_sites(struct fleet *F, struct stacks *st)
{
	for (size_t i = 0; i < F->ss.by_key.n; i++) {
		const struct site *x = F->ss.by_key.vals[i];
		struct fsite *y = agg_get(&F->sites, x->key);
		if (!y)
			return -1;
		struct fhost *nh = realloc(y->h, (y->nh + 1) * sizeof(*nh));
		if (!nh)
			return -1;
		y->h = nh;
		y->h[y->nh++] = (struct fhost){ F->cur, x->allocs, x->open, x->leaks, x->closewait,
						x->possible };
		y->allocs += x->allocs;
		y->open += x->open;
		y->leaks += x->leaks;
		y->closewait += x->closewait;
		y->possible += x->possible;
		char kind[48];
		site_kind(kind, sizeof(kind), x);
		if (!y->kind[0])
			snprintf(y->kind, sizeof(y->kind), "%s", kind);
		else if (strcmp(y->kind, kind))
			snprintf(y->kind, sizeof(y->kind), "several kinds");
		if (!y->nustack) {
			size_t n = 0;
			const char *const *l = stacks_lines(st, x->ustack, &n);
			for (size_t q = 0; l && q < n && q < FLEET_STACK_LINES; q++) {
				if (!(y->ustack[q] = strdup(l[q])))
					return -1;
				y->nustack++;
			}
		}
	}
	return 0;
}

static int load_one(struct fleet *F, int i)
{
	struct model m;
	struct ffile *f = &F->files[i];
	F->cur = i;
	F->finishing = 0;
	sites_init(&F->ss);
	F->ss.no_life = 1;
	int rc = cli_load(F->c, f->path, &m, on_done, F);
	if (rc) {
		sites_free(&F->ss);
		return rc;
	}
	F->end = cli_end(&m);
	F->finishing = 1;
	model_finish(&m);
	const char *h = model_meta(&m, "host.name");
	snprintf(f->host, sizeof(f->host), "%s", h && *h ? h : "?");
	f->complete = m.complete;
	f->salvaged = m.status.salvaged;
	f->lost = m.lost_events;
	f->events = m.events;
	cli_warnings(F->c, &m, f->path);
	struct sym_ctx *sym = F->latency ? NULL : cli_symbolizer(F->c);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	if (!F->latency && (!st || F->err || sites_collapse(&F->ss, st, 0) || merge_sites(F, st))) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
	}
	if (F->latency && F->err) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
	}
	stacks_free(st);
	sym_ctx_free(sym);
	sites_free(&F->ss);
	model_free(&m);
	return rc;
}

static void files_out(const struct fleet *F)
{
	const struct cli *c = F->c;
	if (c->json) {
		printf("{\"files\": [");
		for (int i = 0; i < c->nfiles; i++) {
			const struct ffile *f = &F->files[i];
			printf("%s\n    {\"file\": ", i ? "," : "");
			out_json_z(stdout, f->path);
			printf(", \"host\": ");
			out_json_z(stdout, f->host);
			printf(", \"complete\": %s, \"salvaged\": %s, \"lost_events\": %" PRIu64 "}",
			       f->complete ? "true" : "false", f->salvaged ? "true" : "false", f->lost);
		}
		printf("\n  ]");
		return;
	}
	printf("sockreport %s: %d files\n", c->cmd, c->nfiles);
	for (int i = 0; i < c->nfiles; i++) {
		const struct ffile *f = &F->files[i];
		char line[600];
		char host[128], path[300];
		out_text_buf(host, sizeof(host), f->host, strlen(f->host));
		const char *fp = f->path ? f->path : "?";
		out_text_buf(path, sizeof(path), fp, strlen(fp));
		snprintf(line, sizeof(line), "  %-16s %s%s%s", host, path,
			 f->complete ? "" : " (INCOMPLETE)", f->salvaged ? " (DAMAGED)" : "");
		cli_puts_cut(c, line, 80);
		if (f->lost)
			printf("  %-16s %" PRIu64 " events lost: rows marked 'possible'\n", "", f->lost);
	}
}

/* qsort_r context: indices into agg, ranked by leaks or by allocations */
struct rank {
	const struct agg *agg;
	int leaks;
};

static int by_count(const void *a, const void *b, void *arg)
{
	const struct rank *rk = arg;
	const struct agg *sort_agg = rk->agg;
	const int sort_leaks = rk->leaks;
	const struct fsite *x = sort_agg->vals[*(const size_t *)a];
	const struct fsite *y = sort_agg->vals[*(const size_t *)b];
	uint64_t nx = sort_leaks ? x->leaks + x->closewait : x->allocs;
	uint64_t ny = sort_leaks ? y->leaks + y->closewait : y->allocs;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(sort_agg->keys[*(const size_t *)a], sort_agg->keys[*(const size_t *)b]);
}

static void sites_out(struct fleet *F, size_t *ix, size_t n)
{
	const struct cli *c = F->c;
	int leaks = !strcmp(c->cmd, "leaks");
	if (c->json)
		printf(",\n  \"sites\": [");
	else
		printf("\n%s, by allocation site across files:\n",
		       leaks ? "Leaked (open at the end, older than --older)" : "Allocation sites");
	for (size_t i = 0; i < n && (!c->top || (int)i < c->top); i++) {
		const char *key = F->sites.keys[ix[i]];
		const struct fsite *x = F->sites.vals[ix[i]];
		if (c->json) {
			printf("%s\n    {\"site_key\": ", i ? "," : "");
			out_json_z(stdout, key);
			printf(", \"kind\": \"%s\", \"allocated\": %" PRIu64 ", \"open\": %" PRIu64
			       ", \"leaked\": %" PRIu64 ", \"close_wait\": %" PRIu64
			       ", \"possible\": %" PRIu64 ", \"hosts\": [",
			       x->kind, x->allocs, x->open, x->leaks, x->closewait, x->possible);
			for (size_t h = 0; h < x->nh; h++) {
				const struct fhost *y = &x->h[h];
				printf("%s{\"host\": ", h ? ", " : "");
				out_json_z(stdout, F->files[y->file].host);
				printf(", \"file\": ");
				out_json_z(stdout, F->files[y->file].path);
				printf(", \"allocated\": %" PRIu64 ", \"open\": %" PRIu64 ", \"leaked\": %" PRIu64
				       ", \"close_wait\": %" PRIu64 ", \"possible\": %" PRIu64 "}",
				       y->allocs, y->open, y->leaks, y->closewait, y->possible);
			}
			printf("], \"user_stack\": [");
			for (size_t q = 0; q < x->nustack; q++) {
				if (q)
					printf(", ");
				out_json_z(stdout, x->ustack[q]);
			}
			printf("]}");
			continue;
		}
		size_t nhosts = 0;
		for (size_t h = 0; h < x->nh; h++)
			nhosts += leaks ? x->h[h].leaks > 0 : x->h[h].allocs > 0;
		printf("\n[%zu] %s %" PRIu64 " on %zu of %d files: %s%s\n", i + 1,
		       leaks ? "leaked" : "allocated", leaks ? x->leaks : x->allocs, nhosts, c->nfiles,
		       x->kind, x->possible ? " (possible: events were lost)" : "");
		printf("    %-16s %9s %9s %9s %10s\n", "HOST", "ALLOCATED", "OPEN", "LEAKED",
		       "CLOSE_WAIT");
		for (size_t h = 0; h < x->nh; h++) {
			const struct fhost *y = &x->h[h];
			char host[64];
			const char *hs = F->files[y->file].host;
			out_text_buf(host, sizeof(host), hs, strlen(hs));
			printf("    %-16s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %10" PRIu64 "%s\n", host,
			       y->allocs, y->open, y->leaks, y->closewait, y->possible ? " ?" : "");
		}
		for (size_t q = 0; q < x->nustack; q++) {
			char line[1100];
			snprintf(line, sizeof(line), "      %s", x->ustack[q]);
			cli_puts_cut(c, line, 80);
		}
	}
	if (c->json)
		printf("%s]\n}\n", n ? "\n  " : "");
	else if (!n)
		printf("  (none)\n");
}

static int by_dest(const void *a, const void *b, void *arg)
{
	const struct agg *sort_agg = ((const struct rank *)arg)->agg;
	const struct flat *x = sort_agg->vals[*(const size_t *)a];
	const struct flat *y = sort_agg->vals[*(const size_t *)b];
	int d = strcmp(x->dest, y->dest);
	return d ? d : x->file - y->file;
}

static void latency_out(struct fleet *F, size_t *ix, size_t n)
{
	const struct cli *c = F->c;
	if (c->json)
		printf(",\n  \"connect\": [");
	else
		printf("\nTCP connect latency by destination and host:\n"
		       "  %-22s %-16s %6s %6s %8s %8s %8s %8s\n", "DESTINATION", "HOST", "OK", "FAILED",
		       "P50", "P90", "P99", "MAX");
	for (size_t i = 0; i < n; i++) {
		const struct flat *x = F->lat.vals[ix[i]];
		const char *host = F->files[x->file].host;
		if (c->json) {
			printf("%s\n    {\"destination\": \"%s\", \"host\": ", i ? "," : "", x->dest);
			out_json_z(stdout, host);
			printf(", \"file\": ");
			out_json_z(stdout, F->files[x->file].path);
			printf(", \"ok\": %zu, \"failed\": %" PRIu64 ", \"p50_ns\": %" PRIu64
			       ", \"p90_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64 "}",
			       x->ok.n, x->failed, vals_pct(&x->ok, 50), vals_pct(&x->ok, 90),
			       vals_pct(&x->ok, 99), x->ok.max);
			continue;
		}
		char p50[32], p90[32], p99[32], mx[32], hs[64];
		cli_dur(p50, sizeof(p50), vals_pct(&x->ok, 50));
		cli_dur(p90, sizeof(p90), vals_pct(&x->ok, 90));
		cli_dur(p99, sizeof(p99), vals_pct(&x->ok, 99));
		cli_dur(mx, sizeof(mx), x->ok.max);
		out_text_buf(hs, sizeof(hs), host, strlen(host));
		printf("  %-22s %-16s %6zu %6" PRIu64 " %8s %8s %8s %8s\n", x->dest, hs, x->ok.n,
		       x->failed, x->ok.n ? p50 : "-", x->ok.n ? p90 : "-", x->ok.n ? p99 : "-",
		       x->ok.n ? mx : "-");
	}
	if (c->json)
		printf("%s]\n}\n", n ? "\n  " : "");
	else if (!n)
		printf("  (no TCP connect in any file)\n");
}

static int fleet_run(struct cli *c, int latency)
{
	struct fleet F;
	memset(&F, 0, sizeof(F));
	F.c = c;
	F.latency = latency;
	agg_init(&F.sites, sizeof(struct fsite));
	agg_init(&F.lat, sizeof(struct flat));
	int rc = 0;
	size_t *ix = NULL, n = 0;
	if (c->folded || c->pprof || c->by) {
		fprintf(stderr, "sockreport: --folded, --pprof and --by take one FILE\n");
		rc = 2;
		goto out;
	}
	if (!(F.files = calloc((size_t)c->nfiles, sizeof(*F.files)))) {
		rc = 1;
		goto out;
	}
	for (int i = 0; i < c->nfiles && !rc; i++) {
		F.files[i].path = c->files[i];
		rc = load_one(&F, i);
	}
	if (rc)
		goto out;
	struct agg *a = latency ? &F.lat : &F.sites;
	if (!(ix = malloc((a->n + 1) * sizeof(*ix)))) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	int leaks = !strcmp(c->cmd, "leaks");
	for (size_t i = 0; i < a->n; i++) {
		const struct fsite *x = a->vals[i];
		if (latency || !leaks || x->leaks || x->closewait)
			ix[n++] = i;
	}
	struct rank rk = { a, leaks };
	qsort_r(ix, n, sizeof(*ix), latency ? by_dest : by_count, &rk);
	files_out(&F);
	if (latency)
		latency_out(&F, ix, n);
	else
		sites_out(&F, ix, n);
out:
	free(ix);
	for (size_t i = 0; i < F.sites.n; i++) {
		struct fsite *x = F.sites.vals[i];
		free(x->h);
		for (size_t q = 0; q < x->nustack; q++)
			free(x->ustack[q]);
	}
	for (size_t i = 0; i < F.lat.n; i++)
		vals_free(&((struct flat *)F.lat.vals[i])->ok);
	agg_free(&F.sites);
	agg_free(&F.lat);
	free(F.files);
	return rc;
}

int cmd_leaks_many(struct cli *c)
{
	return fleet_run(c, 0);
}

int cmd_allocs_many(struct cli *c)
{
	return fleet_run(c, 0);
}

int cmd_latency_many(struct cli *c)
{
	return fleet_run(c, 1);
}
