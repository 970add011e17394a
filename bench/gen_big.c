/* gen_big.c - write a large, realistic .srec file for the report benchmarks.
 *
 * usage: gen_big OUT.srec EVENTS [SEED] [--mix random|real] [--level N] [--block-kib N]
 *
 * Writes, through the format library's writer and interner (the same path
 * sockrec uses), a recording of about EVENTS events (ALLOC, SOCKINFO,
 * CONNECT, STATE, RELEASE) over ~120 s of a host with 40 processes:
 * ~70 modules with build-ids, their mappings, 400 kernel symbols, and a
 * few hundred distinct kernel and user stacks.  Each socket gets ALLOC +
 * SOCKINFO; TCP clients also CONNECT and go through SYN_SENT, ESTABLISHED,
 * FIN_WAIT1, FIN_WAIT2, CLOSE; about 1 in 100 sockets is never released
 * (a leak, grouped by the allocation stack), the rest are released by
 * close() (a few by exit).  Deterministic for a given SEED.
 * The output must not exist (O_EXCL).  Prints one JSON line of counts.
 *
 * --mix random (the default) interleaves up to 4096 live sockets of random
 * processes, threads, CPUs and fds: ~11.7 B/record, denser in entropy than
 * what sockrec records.  --mix real is closer to real recordings (3-7
 * B/event): a process opens and closes sockets in bursts, from one thread on
 * one CPU, few sockets are open at once and fds are the lowest free ones.
 * --level and --block-kib set the writer's zstd level (default 1) and block
 * size (default 1024 KiB): sockrec's own settings (record/sockrec.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "srec_error.h"
#include "srec_intern.h"
#include "srec_records.h"
#include "srec_writer.h"

#define NPROC 40
#define NMOD 70
#define NKSYM 400
#define NKSTACK 200
#define NUSTACK 300
#define LIVE_MAX 4096 /* sockets open at once */

static struct srec_writer *g_w;
static struct srec_intern *g_in;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t g_now = 1000000000000ull;
static uint64_t g_events, g_by[SREC_R__MAX];
static int g_real; /* --mix real */

static uint64_t rnd(void)
{
	/* xorshift64* */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 2685821657736338717ull;
}

static int rndn(uint32_t n) { return (int)((rnd() >> 32) % n); }

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "gen_big: %s: %s\n", what, srec_strerror(err));
		exit(1);
	}
}

static void add(struct srec_record *r)
{
	check(srec_writer_add(g_w, r), "add");
	if (srec_record_is_event(r->type))
		g_events++;
	g_by[r->type]++;
}

static uint64_t str(const char *s)
{
	int err = 0;
	uint64_t id = srec_intern_string(g_in, g_w, s, strlen(s), &err);
	check(err, "intern string");
	return id;
}

struct proc {
	uint32_t pid;
	uint64_t comm;
	int mods[6];       /* module indexes mapped by this process */
	int ustacks[12];   /* allocation stacks this process uses */
	uint32_t tids[4];
};

static struct proc g_procs[NPROC];
static uint64_t g_mod[NMOD];
static uint64_t g_kstack[NKSTACK], g_ustack[NUSTACK];
static int g_ustack_mod0[NUSTACK];
static struct srec_record g_rec; /* large (stack frames): not on the stack */

struct live {
	uint64_t serial, sk;
	uint32_t pid_ix, tid, tcp, state;
	uint64_t kst, ust;
};

static struct srec_ev ev(const struct proc *p, uint32_t tid)
{
	struct srec_ev e = { .ts = g_now, .pid = p->pid, .tid = tid, .comm = p->comm,
			     .cpu = g_real ? (p->pid / 37) % 8 : (uint32_t)rndn(8) };
	return e;
}

static void meta(const char *k, const char *v) { check(srec_writer_meta_str(g_w, k, v), k); }

static void setup(void)
{
	static const char *const comms[] = { "nginx", "curl", "python3", "java", "postgres",
					     "redis-server", "sshd", "node", "envoy", "haproxy" };
	char buf[256];
	struct srec_record *r = &g_rec;
	int err = 0;

	meta("host.name", "bench-host");
	meta("host.kernel", "6.18.44");
	meta("host.arch", "x86_64");
	meta("host.ncpus", "8");
	meta("recorder.version", "gen_big");
	meta("recorder.cmdline", "gen_big");
	meta("backend", "tracepoint");
	meta("backend.alloc", "tracepoint:tp_btf/kmem_cache_alloc(sock_inode_cache)");
	meta("backend.release", "tracepoint:syscalls/sys_enter_{close,dup2,dup3}+tp_btf/kmem_cache_free");
	meta("stacks", "alloc.kernel,alloc.user");
	snprintf(buf, sizeof(buf), "%" PRIu64, g_now);
	meta("recording.start_ns", buf);

	for (int i = 0; i < NMOD; i++) {
		uint8_t bid[20];
		for (int j = 0; j < 20; j++)
			bid[j] = (uint8_t)rnd();
		snprintf(buf, sizeof(buf), i < 10 ? "/usr/lib/x86_64-linux-gnu/lib%02d.so.%d"
						  : "/opt/app%02d/bin/service-%d", i, i % 7);
		str(buf);
		g_mod[i] = srec_intern_module(g_in, g_w, buf, bid, sizeof(bid), &err);
		check(err, "intern module");
	}
	for (int i = 0; i < NKSYM; i++) {
		memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.ksym));
		r->type = SREC_R_KSYM;
		r->u.ksym.off = 0x100000 + (int64_t)i * 0x400;
		r->u.ksym.size = 0x300;
		snprintf(buf, sizeof(buf), "kfunc_%03d", i);
		r->u.ksym.name = str(buf);
		r->u.ksym.kmod = 0;
		add(r);
	}
	for (int i = 0; i < NKSTACK; i++) {
		int64_t fr[16];
		uint32_t n = 6 + rndn(10);
		for (uint32_t j = 0; j < n; j++)
			fr[j] = 0x100000 + (int64_t)rndn(NKSYM) * 0x400 + rndn(0x300);
		g_kstack[i] = srec_intern_stack(g_in, g_w, SREC_STACK_KERNEL, 0, NULL, fr, NULL, n, &err);
		check(err, "intern kstack");
	}
	for (int i = 0; i < NUSTACK; i++) {
		int64_t fr[24];
		uint64_t mo[24];
		uint32_t n = 4 + rndn(20);
		int app = 10 + rndn(NMOD - 10);
		g_ustack_mod0[i] = app;
		for (uint32_t j = 0; j < n; j++) {
			int m = j < 2 ? rndn(10) : app; /* libc on top, the app below */
			fr[j] = 0x1000 + rndn(0x200000);
			mo[j] = g_mod[m];
		}
		/* as the recorder's default writes them: unwound with CFI to the end */
		const struct srec_unwind uw = { SREC_UNWIND_CFI, SREC_STOP_END, 0, 0 };
		g_ustack[i] = srec_intern_stack(g_in, g_w, SREC_STACK_USER, 0, &uw, fr, mo, n, &err);
		check(err, "intern ustack");
	}
	for (int i = 0; i < NPROC; i++) {
		struct proc *p = &g_procs[i];
		p->pid = 1000 + (uint32_t)i * 37;
		p->comm = str(comms[i % 10]);
		for (int t = 0; t < 4; t++)
			p->tids[t] = p->pid + (uint32_t)t;
		for (int j = 0; j < 12; j++)
			p->ustacks[j] = rndn(NUSTACK);
		memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.process));
		r->type = SREC_R_PROCESS;
		r->u.process.ts = g_now;
		r->u.process.pid = p->pid;
		r->u.process.ppid = 1;
		r->u.process.comm = p->comm;
		snprintf(buf, sizeof(buf), "/usr/bin/%s", comms[i % 10]);
		r->u.process.exe = str(buf);
		r->u.process.start_ns = g_now - 1000000000ull * (1 + i);
		add(r);
		for (int j = 0; j < 6; j++) {
			int m = j < 3 ? j : 10 + rndn(NMOD - 10);
			p->mods[j] = m;
			memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.mapping));
			r->type = SREC_R_MAPPING;
			r->u.mapping.ts = g_now;
			r->u.mapping.pid = p->pid;
			r->u.mapping.gen = 1;
			r->u.mapping.start = 0x7f0000000000ull + (uint64_t)j * 0x10000000ull;
			r->u.mapping.end = r->u.mapping.start + 0x400000;
			r->u.mapping.pgoff = 0x1000;
			r->u.mapping.module = g_mod[m];
			r->u.mapping.prot = 5;
			add(r);
		}
	}
}

static const uint8_t LO4[4] = { 127, 0, 0, 1 };
static const uint8_t PEER4[4] = { 198, 51, 100, 7 };

static void state(struct live *s, uint32_t oldst, uint32_t newst)
{
	struct srec_record *r = &g_rec;
	const struct proc *p = &g_procs[s->pid_ix];

	memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.state));
	r->type = SREC_R_STATE;
	r->u.state.ev = ev(p, s->tid);
	r->u.state.serial = s->serial;
	r->u.state.sk = s->sk;
	r->u.state.owner = p->pid;
	r->u.state.oldstate = oldst;
	r->u.state.newstate = newst;
	r->u.state.family = 2;
	r->u.state.sport = 32768 + (uint32_t)(s->serial % 28000);
	r->u.state.dport = 443;
	r->u.state.saddr = (srec_bytes){ LO4, 4 };
	r->u.state.daddr = (srec_bytes){ PEER4, 4 };
	add(r);
	s->state = newst;
}

int main(int argc, char **argv)
{
	static struct live live[LIVE_MAX];
	struct srec_record *r = &g_rec;
	uint64_t target, serial = 1, leaked = 0, released = 0, sockets = 0;
	int nlive = 0, level = 1, cur_proc = 0;
	unsigned long block_kib = 1024;
	const char *pos[3] = { NULL, NULL, NULL };
	int npos = 0;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--mix") && a + 1 < argc) {
			const char *m = argv[++a];
			if (strcmp(m, "real") && strcmp(m, "random"))
				goto usage;
			g_real = !strcmp(m, "real");
		} else if (!strcmp(argv[a], "--level") && a + 1 < argc) {
			level = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--block-kib") && a + 1 < argc) {
			block_kib = strtoul(argv[++a], NULL, 10);
			if (!block_kib || block_kib > 32768)
				goto usage;
		} else if (argv[a][0] == '-' || npos == 3) {
			goto usage;
		} else {
			pos[npos++] = argv[a];
		}
	}
	if (npos < 2) {
	usage:
		fprintf(stderr, "usage: gen_big OUT.srec EVENTS [SEED] [--mix random|real] "
				"[--level N] [--block-kib N]\n");
		return 2;
	}
	target = strtoull(pos[1], NULL, 10);
	if (pos[2])
		g_rng ^= strtoull(pos[2], NULL, 10) * 0x2545f4914f6cdd1dull;
	int fd = open(pos[0], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "gen_big: %s: %s\n", pos[0], strerror(errno));
		return 1;
	}
	struct srec_writer_opts wo = { .zstd_level = level, .block_bytes = block_kib << 10 };
	check(srec_writer_open(&g_w, fd, &wo), "open");
	g_in = srec_intern_new();
	if (!g_in)
		return 1;
	setup();

	/* ~120 s of recording whatever EVENTS is: the step shrinks with size. */
	uint64_t step = 120000000000ull / (target ? target : 1);
	if (!step)
		step = 1;
	if (step > 1000000000ull)
		step = 1000000000ull;
	while (g_events < target) {
		g_now += step / 2 + (uint64_t)rndn((uint32_t)(step + 1));
		/* Open a new socket when few are live, else advance one. */
		int open_new = g_real ? nlive < 2 || (nlive < 24 && rndn(3) == 0)
				      : nlive < 64 || (nlive < LIVE_MAX && rndn(3) == 0);
		if (open_new) {
			struct live *s = &live[nlive++];
			/* real: bursts of one process's sockets, from its main thread */
			if (g_real && rndn(200) == 0)
				cur_proc = rndn(NPROC);
			uint32_t pix = g_real ? (uint32_t)cur_proc : (uint32_t)rndn(NPROC);
			const struct proc *p = &g_procs[pix];
			memset(s, 0, sizeof(*s));
			s->serial = serial++;
			s->sk = serial++;
			s->pid_ix = pix;
			s->tid = p->tids[g_real ? 0 : rndn(4)];
			s->tcp = rndn(10) < 6;
			int us = p->ustacks[rndn(12)];
			s->ust = g_ustack[us];
			s->kst = g_kstack[(us * 7 + (int)s->tcp) % NKSTACK];
			sockets++;
			memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.alloc));
			r->type = SREC_R_ALLOC;
			r->u.alloc.ev = ev(p, s->tid);
			r->u.alloc.serial = s->serial;
			r->u.alloc.kstack = s->kst;
			r->u.alloc.ustack = s->ust;
			r->u.alloc.origin = SREC_ORIGIN_SOCKET;
			add(r);
			memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.sockinfo));
			r->type = SREC_R_SOCKINFO;
			r->u.sockinfo.ev = ev(p, s->tid);
			r->u.sockinfo.serial = s->serial;
			r->u.sockinfo.sk = s->sk;
			r->u.sockinfo.fd = g_real ? 3 + nlive : 3 + (int32_t)rndn(1000);
			r->u.sockinfo.ino = 100000 + s->serial;
			r->u.sockinfo.family = s->tcp ? 2 : (rndn(2) ? 2 : 1);
			r->u.sockinfo.stype = s->tcp ? 1 : 2;
			r->u.sockinfo.protocol = s->tcp ? 6 : 17;
			r->u.sockinfo.origin = SREC_ORIGIN_SOCKET;
			add(r);
			continue;
		}
		/* real: mostly the oldest socket moves on (request/response) */
		int i = g_real && rndn(4) ? 0 : (int)rndn((uint32_t)nlive);
		struct live *s = &live[i];
		const struct proc *p = &g_procs[s->pid_ix];
		if (s->tcp && s->state == 0) {
			memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.connect));
			r->type = SREC_R_CONNECT;
			r->u.connect.ev = ev(p, s->tid);
			r->u.connect.serial = s->serial;
			r->u.connect.sk = s->sk;
			r->u.connect.fd = 5;
			r->u.connect.family = 2;
			r->u.connect.dport = 443;
			r->u.connect.daddr = (srec_bytes){ PEER4, 4 };
			r->u.connect.dur_ns = 20000 + rndn(100000);
			add(r);
			state(s, 7, 2);
			continue;
		}
		if (s->tcp && s->state == 2) {
			state(s, 2, 1);
			continue;
		}
		if (s->tcp && s->state == 1) {
			state(s, 1, 4);
			state(s, 4, 5);
			continue;
		}
		/* release, or leak (1 in 100): a leaked socket just leaves the
		 * live set and is never mentioned again. */
		if (rndn(100) == 0) {
			leaked++;
		} else {
			if (s->tcp)
				state(s, s->state ? s->state : 7, 7);
			memset(r, 0, offsetof(struct srec_record, u) + sizeof(r->u.release));
			r->type = SREC_R_RELEASE;
			r->u.release.ev = ev(p, s->tid);
			r->u.release.serial = s->serial;
			r->u.release.how = rndn(50) ? SREC_HOW_CLOSE : SREC_HOW_EXIT;
			r->u.release.fd = 5;
			add(r);
			released++;
		}
		if (g_real)
			memmove(&live[i], &live[i + 1], (size_t)(nlive - i - 1) * sizeof(live[0]));
		else
			live[i] = live[nlive - 1];
		nlive--;
	}
	leaked += (uint64_t)nlive; /* still open at the end (some are young) */

	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(g_now + 2000000000ull));
	meta("recording.end_ns", buf);
	meta("recording.stop_reason", "duration");
	snprintf(buf, sizeof(buf), "%" PRIu64, g_events);
	meta("stats.events", buf);
	meta("stats.lost", "0");
	check(srec_writer_flush(g_w), "flush");
	meta("recording.complete", "1");
	check(srec_writer_close(g_w), "close");
	srec_intern_free(g_in);
	if (close(fd)) {
		perror("gen_big: close");
		return 1;
	}
	printf("{\"events\": %" PRIu64 ", \"sockets\": %" PRIu64 ", \"released\": %" PRIu64
	       ", \"leaked\": %" PRIu64 ", \"alloc\": %" PRIu64 ", \"state\": %" PRIu64
	       ", \"connect\": %" PRIu64 ", \"stacks\": %d}\n",
	       g_events, sockets, released, leaked, g_by[SREC_R_ALLOC], g_by[SREC_R_STATE],
	       g_by[SREC_R_CONNECT], NKSTACK + NUSTACK);
	return 0;
}
