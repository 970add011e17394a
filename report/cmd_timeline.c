/* cmd_timeline.c - `sockreport timeline`: Chrome/Perfetto trace-event JSON.
 *
 * One process (pid) per owner, one thread track per socket (tid = serial,
 * so that slices nest), the socket's lifetime a complete event ("ph": "X"),
 * its TCP states nested complete events, connect and accept instant events
 * ("ph": "i") with their latency in args.  Written while the file streams.
 * Times are microseconds from the recording start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "outfile.h"
#include <unistd.h>
#include "agg.h"
#include "commands.h"
#include "names.h"

struct timeline {
	struct cli *c;
	FILE *f;
	uint64_t end;
	uint64_t start;
	int first;
	uint64_t nsockets;
	struct agg pids; /* pid -> comm id */
	int err;
};

struct pidrec {
	uint32_t pid;
	uint64_t comm;
};

static double us(const struct timeline *T, uint64_t ts)
{
	return ts > T->start ? (double)(ts - T->start) / 1e3 : 0.0;
}

static void sep(struct timeline *T)
{
	fputs(T->first ? "\n" : ",\n", T->f);
	T->first = 0;
}

static void slice(struct timeline *T, const char *name, const char *cat, uint32_t pid,
		  uint64_t tid, uint64_t a, uint64_t b)
{
	sep(T);
	fprintf(T->f, "{\"ph\": \"X\", \"cat\": \"%s\", \"name\": ", cat);
	out_json_z(T->f, name);
	fprintf(T->f, ", \"pid\": %u, \"tid\": %" PRIu64 ", \"ts\": %.3f, \"dur\": %.3f", pid, tid,
		us(T, a), b > a ? (double)(b - a) / 1e3 : 0.0);
}

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct timeline *T = arg;
	if (!T->start)
		T->start = m->start_ns ? m->start_ns : m->ts_first;
	uint64_t end = T->end ? T->end : m->ts_last;
	uint64_t a = s->alloc_ts ? s->alloc_ts : T->start;
	uint64_t b = s->released ? s->release_ts : end;
	if (s->nstates && s->state_ts[0] < a)
		a = s->state_ts[0];
	if (s->nstates && s->state_ts[s->nstates - 1] > b)
		b = s->state_ts[s->nstates - 1];
	char key[32], name[200], kind[48], la[64], ra[64];
	snprintf(key, sizeof(key), "%u", s->pid);
	struct pidrec *p = agg_get(&T->pids, key);
	if (!p) {
		T->err = 1;
		return;
	}
	p->pid = s->pid;
	if (!p->comm)
		p->comm = s->comm;
	T->nsockets++;
	cli_kind(kind, sizeof(kind), s->family, s->type, s->protocol);
	uint32_t af = s->addr_family ? s->addr_family : s->family;
	cli_addr(la, sizeof(la), af, s->laddr, s->lport);
	cli_addr(ra, sizeof(ra), af, s->raddr, s->rport);
	if (s->lport || s->rport)
		snprintf(name, sizeof(name), "#%" PRIu64 " %s %s->%s", s->serial, kind, la, ra);
	else
		snprintf(name, sizeof(name), "#%" PRIu64 " %s", s->serial, kind);
	/* thread name for the socket's track */
	sep(T);
	fprintf(T->f, "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %u, \"tid\": %" PRIu64
		      ", \"args\": {\"name\": ",
		s->pid, s->serial);
	out_json_z(T->f, name);
	fputs("}}", T->f);
	slice(T, name, "socket", s->pid, s->serial, a, b);
	fprintf(T->f, ", \"args\": {\"serial\": %" PRIu64 ", \"inode\": %" PRIu64 ", \"fd\": %d"
		      ", \"open\": %s, \"how\": ",
		s->serial, s->ino, s->fd, s->released ? "false" : "true");
	out_json_z(T->f, s->released ? how_name(s->how) : NULL);
	fprintf(T->f, ", \"released_by_pid\": %u, \"preexisting\": %s}}", s->released ? s->rel_pid : 0,
		s->preexisting ? "true" : "false");
	for (int i = 0; i < s->nstates; i++) {
		uint64_t sa = s->state_ts[i], sb = i + 1 < s->nstates ? s->state_ts[i + 1] : b;
		if (s->states[i] == TCP_ST_CLOSE && i + 1 == s->nstates)
			continue; /* CLOSE at the end: nothing to show */
		if (sa < a)
			sa = a;
		if (sb > b)
			sb = b;
		slice(T, tcp_state_name(s->states[i]), "tcp_state", s->pid, s->serial, sa, sb);
		fputs("}", T->f);
	}
	if (s->nconnects) {
		uint64_t ns = 0;
		int ok = 0, err = 0, have = msock_connect_latency(s, &ns, &ok, &err);
		sep(T);
		fprintf(T->f, "{\"ph\": \"i\", \"s\": \"t\", \"cat\": \"connect\", \"name\": \"connect\", "
			      "\"pid\": %u, \"tid\": %" PRIu64 ", \"ts\": %.3f, \"args\": {\"ret\": %d, "
			      "\"errno\": ",
			s->pid, s->serial, us(T, s->connect_ts < a ? a : s->connect_ts), s->connect_ret);
		char eb[32];
		out_json_z(T->f, s->connect_ret < 0 ? names_errno_of(s->connect_ret, eb, sizeof(eb)) :
						      NULL);
		fprintf(T->f, ", \"dur_ns\": %" PRIu64 ", \"nonblocking\": %s, \"latency_ns\": ",
			s->connect_dur, s->connect_flags & SREC_CF_NONBLOCK ? "true" : "false");
		if (have)
			fprintf(T->f, "%" PRIu64 ", \"established\": %s}}", ns, ok ? "true" : "false");
		else
			fputs("null, \"established\": null}}", T->f);
	}
	if (s->accept_ts) {
		sep(T);
		fprintf(T->f, "{\"ph\": \"i\", \"s\": \"t\", \"cat\": \"accept\", \"name\": \"accept\", "
			      "\"pid\": %u, \"tid\": %" PRIu64 ", \"ts\": %.3f, \"args\": {\"listener\": %"
			      PRIu64 ", \"queue_wait_ns\": ",
			s->pid, s->serial, us(T, s->accept_ts), s->lserial);
		if (s->accept_estab_ts && s->accept_ts >= s->accept_estab_ts)
			fprintf(T->f, "%" PRIu64, s->accept_ts - s->accept_estab_ts);
		else
			fputs("null", T->f);
		fprintf(T->f, ", \"dur_ns\": %" PRIu64 "}}", s->accept_dur);
	}
}

int cmd_timeline(struct cli *c)
{
	struct timeline T;
	struct model m;
	const char *path = c->files[0];
	FILE *f = stdout;
	struct outfile_stage o = { .tmp = "" };
	char why[600];

	if (c->json) {
		fprintf(stderr, "sockreport: timeline always writes JSON (use -o FILE)\n");
		return 2;
	}
	if (c->output && strcmp(c->output, "-")) {
		/* as sockrec -o: 0600, never through a symlink, never over an
		 * existing file without -f */
		int fd = outfile_stage(&o, c->output, c->force, why, sizeof(why));
		if (fd < 0) {
			fprintf(stderr, "sockreport: ");
			out_text_z(stderr, why);
			fputc('\n', stderr);
			return 2;
		}
		f = fdopen(fd, "w");
		if (!f) {
			fprintf(stderr, "sockreport: ");
			out_text_z(stderr, c->output);
			fprintf(stderr, ": %s\n", strerror(errno));
			close(fd);
			outfile_abort(&o);
			return 2;
		}
	}
	memset(&T, 0, sizeof(T));
	T.c = c;
	T.f = f;
	T.first = 1;
	agg_init(&T.pids, sizeof(struct pidrec));
	fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [", f);
	/* The start (recording.start_ns) is in the first META block, read
	 * before any socket ends. */
	int rc = cli_load(c, path, &m, on_done, &T);
	if (rc) {
		agg_free(&T.pids);
		if (f != stdout) {
			fclose(f);
			outfile_abort(&o); /* no half trace left behind */
		}
		return rc;
	}
	T.end = cli_end(&m);
	model_finish(&m);
	for (size_t i = 0; i < T.pids.n; i++) {
		const struct pidrec *p = T.pids.vals[i];
		const struct mproc *pr = model_proc(&m, p->pid);
		sep(&T);
		fprintf(f, "{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %u, \"args\": {\"name\": ",
			p->pid);
		char nm[128];
		snprintf(nm, sizeof(nm), "%s %u", model_str(&m, pr ? pr->comm : p->comm), p->pid);
		out_json_z(f, nm);
		fputs("}}", f);
	}
	fprintf(f, "\n], \"otherData\": {\"file\": ");
	out_json_z(f, path);
	fprintf(f, ", \"sockets\": %" PRIu64 ", ", T.nsockets);
	cli_json_status(f, &m);
	fputs("}}\n", f);
	cli_warnings(c, &m, path);
	if (T.err)
		fprintf(stderr, "sockreport: out of memory: some process names are missing\n");
	if (f != stdout) {
		int bad = ferror(f);
		if (fclose(f) || bad) {
			fprintf(stderr, "sockreport: writing ");
			out_text_z(stderr, c->output);
			fprintf(stderr, " failed\n");
			outfile_abort(&o);
			rc = 1;
		} else if (outfile_commit(&o, why, sizeof(why))) {
			fprintf(stderr, "sockreport: ");
			out_text_z(stderr, why);
			fputc('\n', stderr);
			rc = 1;
		} else {
			fprintf(stderr, "sockreport: wrote %" PRIu64 " sockets to ", T.nsockets);
			out_text_z(stderr, c->output);
			fputc('\n', stderr);
		}
	}
	agg_free(&T.pids);
	model_free(&m);
	return rc ? rc : T.err;
}
