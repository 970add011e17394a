/* cmd_summary.c - `sockreport summary`: sockstat, sofamily, soprotocol and
 * soconnect (Gregg) from one recording.  Aggregates while streaming. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "agg.h"
#include "commands.h"
#include "names.h"

struct cnt {
	uint32_t pid, family, type, protocol;
	uint64_t comm;
	uint64_t n, open, ok, failed;
	uint64_t npids;      /* distinct pids in the row (rows by comm) */
};

struct summary {
	struct cli *c;
	struct agg socks;    /* pid/comm/family/type/proto */
	struct agg accepts;  /* pid/comm/family */
	struct agg connects; /* pid/comm/family */
	struct agg results;  /* result name */
	struct agg aresults; /* accept result name */
	struct agg pidseen;  /* row key + pid: counts distinct pids per row */
	struct agg remotes;  /* addr:port */
	uint64_t nsocks, nconnects, naccepts;
	uint64_t npreexisting; /* open before the recording: not "allocated" */
	int err;
};

static struct cnt *get(struct summary *S, struct agg *a, const char *key)
{
	struct cnt *c = agg_get(a, key);
	if (!c)
		S->err = 1;
	return c;
}

/* A row's key: per comm (default: a monitoring loop's 35 short-lived
 * `ls` processes make one row), or per pid with --by pid. */
static void row_key(const struct summary *S, char *key, size_t cap, uint32_t pid, uint64_t comm,
		    uint32_t family, uint32_t type, uint32_t protocol)
{
	uint32_t p = S->c->by && !strcmp(S->c->by, "pid") ? pid : 0;
	snprintf(key, cap, "%u/%" PRIu64 "/%u/%u/%u", p, comm, family, type, protocol);
}

/* Counts pid once per row. */
static void count_pid(struct summary *S, struct cnt *c, char table, const char *key, uint32_t pid)
{
	char k[200];
	snprintf(k, sizeof(k), "%c%s@%u", table, key, pid);
	size_t before = S->pidseen.n;
	if (!agg_get(&S->pidseen, k)) {
		S->err = 1;
		return;
	}
	if (S->pidseen.n != before) {
		c->npids++;
		if (c->npids == 1)
			c->pid = pid;
	}
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct summary *S = arg;
	char key[128];
	(void)m;
	if (s->preexisting) {
		S->npreexisting++;
		return;
	}
	row_key(S, key, sizeof(key), s->pid, s->comm, s->family, s->type, s->protocol);
	struct cnt *c = get(S, &S->socks, key);
	if (!c)
		return;
	count_pid(S, c, 's', key, s->pid);
	c->comm = s->comm;
	c->family = s->family;
	c->type = s->type;
	c->protocol = s->protocol;
	c->n++;
	c->open += !s->released;
	S->nsocks++;
	/* the outcome of a non-blocking connect is known only now */
	if (s->nconnects && s->first_connect_ret == -115) {
		uint64_t ns;
		int ok, err;
		const char *res = "EINPROGRESS, outcome not seen";
		if (msock_connect_latency(s, &ns, &ok, &err))
			res = ok ? "EINPROGRESS, then established" : "EINPROGRESS, then failed";
		if ((c = get(S, &S->results, res)))
			c->n++;
	}
}

static void on_event(struct model *m, const struct srec_record *r, const struct msock *s,
		     uint64_t prev_ts, void *arg)
{
	struct summary *S = arg;
	char key[160];
	struct cnt *c;
	(void)prev_ts;
	const struct srec_ev *ev = srec_record_ev(r);
	uint32_t pid = s ? s->pid : ev->pid;
	uint64_t comm = s ? s->comm : ev->comm;
	if (r->type == SREC_R_CONNECT) {
		row_key(S, key, sizeof(key), pid, comm, r->u.connect.family, 0, 0);
		if (!(c = get(S, &S->connects, key)))
			return;
		count_pid(S, c, 'c', key, pid);
		c->comm = comm;
		c->family = r->u.connect.family;
		c->n++;
		int ret = r->u.connect.ret;
		if (ret == 0 || ret == -115)
			c->ok++;
		else
			c->failed++;
		S->nconnects++;
		if (ret != -115) {
			char en[32];
			names_result(en, sizeof(en), ret);
			if ((c = get(S, &S->results, en)))
				c->n++;
		}
		if (names_is_ip(r->u.connect.family)) {
			uint8_t a[16] = { 0 };
			if (r->u.connect.daddr.len == 4 || r->u.connect.daddr.len == 16)
				memcpy(a, r->u.connect.daddr.p, r->u.connect.daddr.len);
			cli_addr(key, sizeof(key), r->u.connect.family, a, (uint16_t)r->u.connect.dport);
			if ((c = get(S, &S->remotes, key)))
				c->n++;
		}
	} else if (r->type == SREC_R_ACCEPT) {
		row_key(S, key, sizeof(key), pid, comm, r->u.accept.family, 0, 0);
		if (!(c = get(S, &S->accepts, key)))
			return;
		count_pid(S, c, 'a', key, pid);
		c->comm = comm;
		c->family = r->u.accept.family;
		c->n++;
		if (r->u.accept.fd >= 0)
			c->ok++;
		else
			c->failed++;
		S->naccepts++;
		char en[32];
		names_result(en, sizeof(en), r->u.accept.fd < 0 ? r->u.accept.fd : 0);
		if ((c = get(S, &S->aresults, en)))
			c->n++;
	}
	(void)m;
}

/* qsort_r over indices into the agg `arg` */
static int by_count(const void *a, const void *b, void *arg)
{
	const struct agg *sort_agg = arg;
	const struct cnt *x = sort_agg->vals[*(const size_t *)a], *y = sort_agg->vals[*(const size_t *)b];
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(sort_agg->keys[*(const size_t *)a], sort_agg->keys[*(const size_t *)b]);
}

/* Indices of a's entries by descending count; NULL on ENOMEM (or empty). */
static size_t *order(struct agg *a)
{
	size_t *ix = malloc((a->n ? a->n : 1) * sizeof(*ix));
	if (!ix)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		ix[i] = i;
	qsort_r(ix, a->n, sizeof(*ix), by_count, a);
	return ix;
}

static size_t limit(const struct cli *c, size_t n)
{
	return c->top && (size_t)c->top < n ? (size_t)c->top : n;
}

static void comm_buf(char *buf, size_t cap, const struct model *m, uint64_t comm)
{
	const char *s = model_str(m, comm);
	out_text_buf(buf, cap, s, strlen(s));
}

/* The PID(S) column: the pid (--by pid), else the number of processes. */
static void who_text(char *buf, size_t cap, const struct cnt *x, int bypid)
{
	if (bypid)
		snprintf(buf, cap, "%u", x->pid);
	else
		snprintf(buf, cap, "%" PRIu64, x->npids);
}

static void json_procs(const struct model *m, const char *name, struct agg *a, size_t *ix,
		       size_t n, int kinds)
{
	printf(",\n  \"%s\": [", name);
	for (size_t i = 0; i < n; i++) {
		const struct cnt *c = a->vals[ix[i]];
		printf("%s\n    {\"pid\": ", i ? "," : "");
		if (c->npids == 1)
			printf("%u", c->pid);
		else
			fputs("null", stdout);
		printf(", \"pids\": %" PRIu64 ", \"comm\": ", c->npids);
		out_json_z(stdout, model_str(m, c->comm));
		printf(", \"family\": \"%s\"", family_name(c->family));
		if (kinds)
			printf(", \"type\": \"%s\", \"protocol\": \"%s\", \"count\": %" PRIu64
			       ", \"open_at_end\": %" PRIu64 "}",
			       socktype_name(c->type), proto_name(c->family, c->protocol), c->n, c->open);
		else
			printf(", \"count\": %" PRIu64 ", \"ok\": %" PRIu64 ", \"failed\": %" PRIu64 "}",
			       c->n, c->ok, c->failed);
	}
	printf("%s]", n ? "\n  " : "");
}

static void json_named(const char *name, const char *keyname, struct agg *a, size_t *ix, size_t n)
{
	printf(",\n  \"%s\": [", name);
	for (size_t i = 0; i < n; i++) {
		const struct cnt *c = a->vals[ix[i]];
		printf("%s{\"%s\": ", i ? ", " : "", keyname);
		out_json_z(stdout, a->keys[ix[i]]);
		printf(", \"count\": %" PRIu64 "}", c->n);
	}
	printf("]");
}

int cmd_summary(struct cli *c)
{
	struct summary S;
	struct model m;
	const char *path = c->files[0];

	if (c->by && strcmp(c->by, "comm") && strcmp(c->by, "pid")) {
		fprintf(stderr, "sockreport: summary groups --by comm or pid, not '%s'\n", c->by);
		return 2;
	}
	memset(&S, 0, sizeof(S));
	S.c = c;
	agg_init(&S.socks, sizeof(struct cnt));
	agg_init(&S.accepts, sizeof(struct cnt));
	agg_init(&S.connects, sizeof(struct cnt));
	agg_init(&S.results, sizeof(struct cnt));
	agg_init(&S.aresults, sizeof(struct cnt));
	agg_init(&S.pidseen, 1);
	agg_init(&S.remotes, sizeof(struct cnt));
	int rc = cli_load_ev(c, path, &m, on_done, on_event, &S);
	if (rc)
		goto out_aggs;
	model_finish(&m);
	size_t *o1 = order(&S.socks), *o2 = order(&S.accepts), *o3 = order(&S.connects);
	size_t *o4 = order(&S.results), *o5 = order(&S.remotes), *o6 = order(&S.aresults);
	if (S.err || !o1 || !o2 || !o3 || !o4 || !o5 || !o6) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	cli_warnings(c, &m, path);
	uint64_t end = cli_end(&m);
	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", ");
		cli_json_status(stdout, &m);
		printf(", \"duration_ns\": %" PRIu64 ", \"sockets\": %" PRIu64 ", \"accepts\": %" PRIu64
		       ", \"connects\": %" PRIu64,
		       end > m.start_ns ? end - m.start_ns : 0, S.nsocks, S.naccepts, S.nconnects);
		printf(", \"preexisting\": %" PRIu64 ", \"failed_accept_attempts\": %" PRIu64,
		       S.npreexisting, m.failed_accepts);
		json_procs(&m, "by_process", &S.socks, o1, limit(c, S.socks.n), 1);
		json_procs(&m, "accepts_by_process", &S.accepts, o2, limit(c, S.accepts.n), 0);
		json_procs(&m, "connects_by_process", &S.connects, o3, limit(c, S.connects.n), 0);
		printf(",\n  \"by\": \"%s\"", c->by && !strcmp(c->by, "pid") ? "pid" : "comm");
		json_named("connect_results", "result", &S.results, o4, S.results.n);
		json_named("accept_results", "result", &S.aresults, o6, S.aresults.n);
		json_named("top_remote_endpoints", "endpoint", &S.remotes, o5, limit(c, S.remotes.n));
		printf("\n}\n");
		goto out;
	}
	cli_text_head(c, &m, path);
	int bypid = c->by && !strcmp(c->by, "pid");
	char cm[64], kind[48], line[400], who[32];
	printf("\nSockets allocated: %" PRIu64 " (by %s x family x type/protocol)\n", S.nsocks,
	       bypid ? "process" : "command");
	printf("  %7s %-15s %-24s %8s %8s\n", bypid ? "PID" : "PIDS", "COMM", "KIND", "SOCKETS",
	       "OPEN@END");
	for (size_t i = 0; i < limit(c, S.socks.n); i++) {
		const struct cnt *x = S.socks.vals[o1[i]];
		comm_buf(cm, sizeof(cm), &m, x->comm);
		cli_kind(kind, sizeof(kind), x->family, x->type, x->protocol);
		who_text(who, sizeof(who), x, bypid);
		snprintf(line, sizeof(line), "  %7s %-15.15s %-24s %8" PRIu64 " %8" PRIu64, who, cm,
			 kind, x->n, x->open);
		cli_puts_cut(c, line, 80);
	}
	if (S.npreexisting)
		printf("  and %" PRIu64 " sockets open before the recording started (not counted)\n",
		       S.npreexisting);
	if (m.failed_accepts)
		printf("  and %" PRIu64 " failed accept() attempts (%" PRIu64 " EAGAIN): their sockets "
		       "are not counted (--failed-accepts)\n", m.failed_accepts, m.failed_accepts_eagain);
	printf("\nAccepts: %" PRIu64 "\n", S.naccepts);
	if (S.accepts.n)
		printf("  %7s %-15s %-8s %8s %8s %8s\n", bypid ? "PID" : "PIDS", "COMM", "FAMILY",
		       "ACCEPTS", "OK", "FAILED");
	for (size_t i = 0; i < limit(c, S.accepts.n); i++) {
		const struct cnt *x = S.accepts.vals[o2[i]];
		comm_buf(cm, sizeof(cm), &m, x->comm);
		who_text(who, sizeof(who), x, bypid);
		printf("  %7s %-15.15s %-8s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", who, cm,
		       family_name(x->family), x->n, x->ok, x->failed);
	}
	if (S.aresults.n > 1 || (S.aresults.n == 1 && strcmp(S.aresults.keys[0], "OK"))) {
		printf("\nAccept results:\n");
		for (size_t i = 0; i < S.aresults.n; i++) {
			const struct cnt *x = S.aresults.vals[o6[i]];
			printf("  %8" PRIu64 "  %s\n", x->n, S.aresults.keys[o6[i]]);
		}
	}
	printf("\nConnects: %" PRIu64 "\n", S.nconnects);
	if (S.connects.n)
		printf("  %7s %-15s %-8s %8s %8s %8s\n", bypid ? "PID" : "PIDS", "COMM", "FAMILY",
		       "CONNECTS", "OK/INPR", "FAILED");
	for (size_t i = 0; i < limit(c, S.connects.n); i++) {
		const struct cnt *x = S.connects.vals[o3[i]];
		comm_buf(cm, sizeof(cm), &m, x->comm);
		who_text(who, sizeof(who), x, bypid);
		printf("  %7s %-15.15s %-8s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", who, cm,
		       family_name(x->family), x->n, x->ok, x->failed);
	}
	if (S.connects.n)
		printf("  (OK/INPR: returned 0, or EINPROGRESS: a non-blocking connect under way;\n"
		       "   its outcome is counted under Connect results)\n");
	if (S.results.n) {
		printf("\nConnect results:\n");
		for (size_t i = 0; i < S.results.n; i++) {
			const struct cnt *x = S.results.vals[o4[i]];
			printf("  %8" PRIu64 "  %s\n", x->n, S.results.keys[o4[i]]);
		}
	}
	if (S.remotes.n) {
		printf("\nTop remote endpoints (connects):\n");
		for (size_t i = 0; i < limit(c, S.remotes.n); i++) {
			const struct cnt *x = S.remotes.vals[o5[i]];
			printf("  %8" PRIu64 "  %s\n", x->n, S.remotes.keys[o5[i]]);
		}
	}
	if (!bypid)
		printf("\nRows are per command name; PIDS is how many processes (--by pid: one row\n"
		       "per process).\n");
out:
	free(o1);
	free(o2);
	free(o3);
	free(o4);
	free(o5);
	free(o6);
	model_free(&m);
out_aggs:
	agg_free(&S.socks);
	agg_free(&S.accepts);
	agg_free(&S.connects);
	agg_free(&S.results);
	agg_free(&S.aresults);
	agg_free(&S.pidseen);
	agg_free(&S.remotes);
	return rc;
}
