/* sockrec.c - record socket lifecycles to a .srec file.
 *
 * Data path: BPF programs (bpf/sockrec.bpf.c) -> ring buffer -> rec_handle()
 * (record/events.c) -> srec_writer (format/) -> blocks on disk.
 * This file holds the command line, the main loop (drain, stack-map epochs,
 * loss counters, flushing, status) and the orderly shutdown.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "archive.h"
#include "backend.h"
#include "events.h"
#include "hostmeta.h"
#include "kallsyms.h"
#include "mmapwatch.h"
#include "outfile.h"
#include "pidtree.h"
#include "privs.h"
#include "pseudonym.h"
#include "procmaps.h"
#include "ringbuf_events.h"
#include "sockrec.skel.h"
#include "srec_error.h"
#include "srec_intern.h"
#include "srec_writer.h"

#define MAX_PIDS 64
#define FLUSH_NS 1000000000ull  /* at most ~1 s of data unwritten */
#define EPOCH_NS 1000000000ull  /* stack map epoch length, at most */
#define EPOCH_MIN_NS 250000000ull /* at least: events of the last epoch are drained by then */
#define STACK_ENTRIES 16384
/* Stack ids are hash buckets: a new stack whose bucket is taken fails
 * (-EEXIST, counted and recorded).  Flipping to the clean map once 1/32 of
 * the buckets are used keeps that rare even for thousands of new stacks/s. */
#define EPOCH_FILL (STACK_ENTRIES / 32)
#define MAX_PROGS 64            /* programs in sockrec.bpf.c, with room */
#define GRACE_NS 200000000ull   /* keep recording after the command exits (RCU frees) */

struct opts {
	const char *out;
	double duration;       /* seconds, 0 = until signal/command exit */
	int force;
	int verbose;
	enum backend backend;
	uint32_t pids[MAX_PIDS];
	int npids;
	const char *comm;
	const char *cgroup;
	uint32_t netns;
	uint32_t stack_policy;
	uint32_t ustack_copy;  /* --user-stacks=dwarf: bytes copied; 0 = fp */
	int no_kstack_cache;   /* --no-kstack-cache */
	int no_direct_loads;   /* --no-direct-loads */
	uint32_t ringbuf_bytes;
	int raw_kaddr;
	int redact_addresses;
	int keep_privs;
	int no_embed;
	char **cmd;            /* after "--" */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	if (stop_requested) {
		/* Second signal: leave at once.  Every block already written
		 * stays readable; only the unflushed tail is lost. */
		_exit(128 + sig);
	}
	stop_requested = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sockrec [OPTIONS] -o FILE [-- COMMAND [ARGS...]]\n"
"       sockrec archive [-f] [-o DIR] FILE   (bundle binaries and debug files)\n"
"Record socket lifecycles (alloc, release, TCP state, connect, accept) with\n"
"stacks and module snapshots into a compressed .srec file for sockreport.\n"
"\n"
"  -o, --output FILE        trace file to create (mode 0600, never over an\n"
"                           existing file or through a symlink)\n"
"  -d, --duration SECONDS   stop after SECONDS (default: until Ctrl-C, or until\n"
"                           COMMAND exits)\n"
"  -f, --force              overwrite an existing regular FILE\n"
"  -p, --pid PID[,PID...]   only these processes and their children (those\n"
"                           already running and those started later); a pid\n"
"                           that does not exist is an error\n"
"  -c, --comm COMM          only tasks whose comm is COMM\n"
"      --cgroup PATH        only tasks in this cgroup v2 directory\n"
"      --netns INODE        only tasks and TCP sockets in this network namespace\n"
"                           (ls -lL /proc/PID/ns/net)\n"
"      --backend B          auto|fentry|kprobe|tracepoint (default auto: the\n"
"                           best the kernel allows, in that order)\n"
"      --no-direct-loads    read kernel memory with a probe read per field even\n"
"                           where the kernel has bpf_rdonly_cast (>= 6.2; the\n"
"                           default there is direct loads, ~30 ns less each)\n"
"      --no-stacks          no stacks at all (cheapest)\n"
"      --user-stacks-only   no kernel stacks\n"
"      --kernel-stacks-only no user stacks\n"
"      --release-stacks     also take stacks at release (default: alloc only)\n"
"      --no-kstack-cache    walk every allocation's kernel stack (default: walk\n"
"                           it once per call site of socket, socketpair, accept\n"
"                           and accept4, reuse it, and re-walk 1 in 64 to check)\n"
"      --connect-stacks     also take user stacks at connect and accept\n"
"      --user-stacks MODE   dwarf (default): copy the user stack at the event and\n"
"                           unwind it with the modules' CFI (.eh_frame), so that\n"
"                           code built without frame pointers unwinds; fp: the\n"
"                           kernel's frame-pointer walk (cheaper, shallower)\n"
"      --stack-copy BYTES   user stack bytes copied per event with dwarf (512 to\n"
"                           16384, default 16384); a deeper stack stops there\n"
"      --ringbuf-size N     ring buffer size in MiB, or KiB with a K suffix (power\n"
"                           of two, default 16)\n"
"      --raw-kernel-addresses  store the kernel text base (reveals KASLR)\n"
"      --redact addresses   replace IP addresses by stable pseudonyms (ports kept)\n"
"      --keep-privileges    do not drop capabilities once recording\n"
"      --no-embed-symbols   do not store the function symbols the user stacks hit\n"
"                           (stored by default: the file then names functions\n"
"                           on machines without the host's binaries)\n"
"  -v, --verbose            show libbpf's messages and backend decisions, and at\n"
"                           the end each program's run time (while sysctl\n"
"                           kernel.bpf_stats_enabled=1)\n"
"  -h, --help               this help\n"
"\n"
"With -- COMMAND, sockrec starts COMMAND, records it and its descendants, and\n"
"stops when COMMAND exits; sockrec then exits with COMMAND's status (127 if it\n"
"could not be run).  If -d ends the recording first, COMMAND is left\n"
"running (it is not killed or waited for); sockrec prints its pid.\n"
"SIGINT/SIGTERM stop cleanly; a second SIGINT exits at once, and the file\n"
"stays readable up to its last written block (about 1 s is lost).\n"
"\n"
"Default stacks: kernel and user stacks at alloc.  Each stack costs about\n"
"1-2 us per event on a VM; see README.md for measured overheads.\n"
"\n"
"Examples:\n"
"  sockrec -d 300 -o trace.srec            # whole host, 5 minutes\n"
"  sockrec -o t.srec -- ./server --port 80 # one program and its children\n"
"  sockrec -p 1234,1240 -d 60 -o t.srec    # running processes\n"
"  sockreport leaks t.srec                 # then analyse, anywhere\n");
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sockrec: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void parse_pids(struct opts *o, const char *s)
{
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		die("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		if (*end || v <= 0 || v > INT_MAX)
			die("invalid pid '%s'", t);
		if (o->npids == MAX_PIDS)
			die("at most %d pids", MAX_PIDS);
		/* As perf record -p: a pid that names nothing is a mistake, not
		 * an empty recording. */
		if (!pidtree_exists((uint32_t)v))
			die("-p %ld: no such process", v);
		o->pids[o->npids++] = (uint32_t)v;
	}
	free(copy);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_CGROUP = 256, O_NETNS, O_BACKEND, O_NOSTACKS, O_USTACKS, O_KSTACKS, O_RSTACKS,
	       O_CSTACKS, O_USTACKMODE, O_STACKCOPY, O_RINGBUF, O_RAWK, O_REDACT, O_KEEPPRIVS, O_EMBED, O_NOEMBED,
	       O_NOKCACHE, O_NODIRECT };
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "no-stacks", no_argument, NULL, O_NOSTACKS },
		{ "user-stacks-only", no_argument, NULL, O_USTACKS },
		{ "kernel-stacks-only", no_argument, NULL, O_KSTACKS },
		{ "release-stacks", no_argument, NULL, O_RSTACKS },
		{ "no-kstack-cache", no_argument, NULL, O_NOKCACHE },
		{ "no-direct-loads", no_argument, NULL, O_NODIRECT },
		{ "connect-stacks", no_argument, NULL, O_CSTACKS },
		{ "user-stacks", required_argument, NULL, O_USTACKMODE },
		{ "stack-copy", required_argument, NULL, O_STACKCOPY },
		{ "ringbuf-size", required_argument, NULL, O_RINGBUF },
		{ "raw-kernel-addresses", no_argument, NULL, O_RAWK },
		{ "redact", required_argument, NULL, O_REDACT },
		{ "keep-privileges", no_argument, NULL, O_KEEPPRIVS },
		{ "embed-symbols", no_argument, NULL, O_EMBED },
		{ "no-embed-symbols", no_argument, NULL, O_NOEMBED },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, only_user = 0, only_kernel = 0, no_stacks = 0, rel = 0, con = 0, fp = 0;
	char *end;

	memset(o, 0, sizeof(*o));
	o->ringbuf_bytes = 16u << 20;
	o->ustack_copy = SR_USTACK_MAX;
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, "+o:d:fp:c:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || o->duration <= 0)
				die("invalid duration '%s'", optarg);
			break;
		case 'f': o->force = 1; break;
		case 'p': parse_pids(o, optarg); break;
		case 'c':
			if (strlen(optarg) >= 16)
				die("comm '%s' is longer than 15 characters (the kernel's limit)", optarg);
			o->comm = optarg;
			break;
		case O_CGROUP: o->cgroup = optarg; break;
		case O_NETNS: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || !v || v > UINT32_MAX)
				die("invalid netns inode '%s'", optarg);
			o->netns = (uint32_t)v;
			break;
		}
		case O_BACKEND:
			if (backend_parse(optarg, &o->backend))
				die("unknown backend '%s' (auto, fentry, kprobe, tracepoint)", optarg);
			break;
		case O_NOSTACKS: no_stacks = 1; break;
		case O_USTACKS: only_user = 1; break;
		case O_KSTACKS: only_kernel = 1; break;
		case O_RSTACKS: rel = 1; break;
		case O_NOKCACHE: o->no_kstack_cache = 1; break;
		case O_NODIRECT: o->no_direct_loads = 1; break;
		case O_CSTACKS: con = 1; break;
		case O_USTACKMODE:
			if (!strcmp(optarg, "fp"))
				fp = 1;
			else if (strcmp(optarg, "dwarf"))
				die("--user-stacks takes 'dwarf' or 'fp', not '%s'", optarg);
			else
				fp = 0;
			break;
		case O_STACKCOPY: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 512 || v > SR_USTACK_MAX)
				die("--stack-copy takes a byte count from 512 to %d", SR_USTACK_MAX);
			o->ustack_copy = (uint32_t)v;
			break;
		}
		case O_RINGBUF: {
			/* MiB by default; a K suffix for KiB (small buffers are for
			 * testing loss accounting). */
			unsigned long v = strtoul(optarg, &end, 10);
			unsigned long bytes = (*end == 'K' || *end == 'k') ? v << 10 : v << 20;
			if (*end == 'K' || *end == 'k' || *end == 'M' || *end == 'm')
				end++;
			if (*end || bytes < 4096 || bytes > (1ul << 30) || (bytes & (bytes - 1)))
				die("--ringbuf-size takes a power of two from 4K to 1024 (MiB, or K for KiB)");
			o->ringbuf_bytes = (uint32_t)bytes;
			break;
		}
		case O_RAWK: o->raw_kaddr = 1; break;
		case O_REDACT:
			if (strcmp(optarg, "addresses"))
				die("--redact takes 'addresses'");
			o->redact_addresses = 1;
			break;
		case O_KEEPPRIVS: o->keep_privs = 1; break;
		case O_EMBED: o->no_embed = 0; break;
		case O_NOEMBED: o->no_embed = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default:
			if (optopt)
				die("invalid option '-%c' or missing argument (try 'sockrec --help')", optopt);
			die("invalid option '%s' or missing argument (try 'sockrec --help')",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->cmd = argv + optind;
	if (!o->out)
		die("no output file: give -o FILE");
	if (only_user && only_kernel)
		die("--user-stacks-only and --kernel-stacks-only exclude each other");
	uint32_t k = SR_STK_ALLOC_K | (rel ? SR_STK_RELEASE_K : 0);
	uint32_t u = SR_STK_ALLOC_U | (rel ? SR_STK_RELEASE_U : 0) |
		     (con ? SR_STK_CONNECT_U | SR_STK_ACCEPT_U : 0);
	o->stack_policy = no_stacks ? 0 : only_user ? u : only_kernel ? k : (k | u);
	if (fp)
		o->ustack_copy = 0;
}

static void stack_policy_str(uint32_t p, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ SR_STK_ALLOC_K, "alloc.kernel" },     { SR_STK_ALLOC_U, "alloc.user" },
		{ SR_STK_RELEASE_K, "release.kernel" }, { SR_STK_RELEASE_U, "release.user" },
		{ SR_STK_CONNECT_K, "connect.kernel" }, { SR_STK_CONNECT_U, "connect.user" },
		{ SR_STK_ACCEPT_K, "accept.kernel" },   { SR_STK_ACCEPT_U, "accept.user" },
	};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(p & names[i].bit))
			continue;
		if (buf[0])
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, names[i].name, len - strlen(buf) - 1);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Refuse early, naming what is missing, rather than fail deep in libbpf. */
static void preflight(void)
{
	struct stat sb;

	if (geteuid() != 0)
		die("must run as root (BPF programs and /proc of other processes need it)");
	if (stat("/sys/kernel/btf/vmlinux", &sb) != 0)
		die("this kernel has no BTF (/sys/kernel/btf/vmlinux missing); "
		    "sockrec needs CONFIG_DEBUG_INFO_BTF=y");
	if (stat("/sys/kernel/tracing/events", &sb) != 0 &&
	    stat("/sys/kernel/debug/tracing/events", &sb) != 0) {
		/* Mounting tracefs is all that is missing: do it ourselves. */
		if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
			die("tracefs is not mounted and mounting it failed: %s", strerror(errno));
	}
}

/* ---- the recording session ---- */

struct session {
	struct opts o;
	struct sockrec_bpf *skel;
	struct srec_writer *w;
	struct srec_intern *in;
	struct procs *procs;
	struct ksyms *ks;
	struct mmapw *mw;
	struct pseudonym pseud;
	struct recorder rec;
	struct ring_buffer *rb;
	int ncpus;
	uint64_t *loss_prev;   /* [kind][cpu] */
	uint64_t *loss_cur;
	uint64_t lost_total[SR_LOSS__MAX];
	uint64_t procs_unreadable_prev;
	/* Hook runs the kernel skipped (bpf_prog_info.recursion_misses) and
	 * written as LOSS so far, per program in object order. */
	uint64_t skip_prev[MAX_PROGS];
	uint64_t last_loss_ts;
	uint32_t epoch;
	pid_t child;
	int child_status;
	int child_done;
	int fd;                /* the .srec file */
	int go_fd;             /* the command waits on it until the hooks are live */
	struct backend_used used;
	uint64_t start;        /* recording.start_ns */
};

/* The file's LOSS kind of each BPF loss counter: one table, and a new
 * counter without a row fails to build. */
static const uint32_t loss_kind_of[] = {
	[SR_LOSS_RINGBUF] = SREC_LOSS_RINGBUF,
	[SR_LOSS_SOCKMAP] = SREC_LOSS_SOCKMAP,
	[SR_LOSS_STACK] = SREC_LOSS_STACK,
	[SR_LOSS_SKMAP] = SREC_LOSS_SOCKMAP,
	[SR_LOSS_REUSED] = SREC_LOSS_RELEASE_LATE,
	[SR_LOSS_KSTACK_MISMATCH] = SREC_LOSS_KSTACK_MISMATCH,
};
_Static_assert(sizeof(loss_kind_of) / sizeof(loss_kind_of[0]) == SR_LOSS__MAX,
	       "every BPF loss counter has its LOSS kind");

static uint32_t srec_loss_kind(int k)
{
	return k >= 0 && k < SR_LOSS__MAX ? loss_kind_of[k] : SREC_LOSS_OTHER;
}

static srec_err write_loss(struct session *s, uint64_t now, uint32_t cpu, uint32_t kind, uint64_t n)
{
	struct srec_record r;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.loss));
	r.type = SREC_R_LOSS;
	r.u.loss.ts = now;
	r.u.loss.window_ns = now - s->last_loss_ts;
	r.u.loss.cpu = cpu;
	r.u.loss.kind = kind;
	r.u.loss.count = n;
	return srec_writer_add(s->w, &r);
}

/* The kernel's counters of a loaded program (bpf_prog_info); 0 or -1. */
static int prog_info(const struct bpf_program *p, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);
	int fd = bpf_program__fd(p);

	memset(info, 0, sizeof(*info));
	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, info, &len) ? 0 : -1;
}

/* The kernel runs a tracing program at most once per CPU at a time: a hook
 * that fires in an interrupt while the same program runs on that CPU is
 * skipped and only counted (bpf_prog_info.recursion_misses, 5.12+).  Here
 * that happens to the slab hooks of the tracepoint backend (an skb freed in
 * softirq during a run).  Nearly all such runs are for other objects than
 * sockets, but a socket event among them would be missing: write the count
 * as loss, kind HOOK_SKIPPED, so that it is never silent. */
static srec_err poll_hook_skips(struct session *s, uint64_t now)
{
	struct bpf_program *p;
	uint64_t grew = 0;
	int i = 0;

	bpf_object__for_each_program(p, s->skel->obj) {
		struct bpf_prog_info info;

		if (i >= MAX_PROGS)
			break;
		if (!prog_info(p, &info) && info.recursion_misses > s->skip_prev[i]) {
			grew += info.recursion_misses - s->skip_prev[i];
			s->skip_prev[i] = info.recursion_misses;
		}
		i++;
	}
	if (!grew)
		return 0;
	return write_loss(s, now, 0xFFFFFFFFu, SREC_LOSS_HOOK_SKIPPED, grew);
}

/* Can a skipped run of this hook have been a socket event that no other
 * hook reports?  The skipped run is the nested one, in an interrupt.
 * kmem_cache_alloc: no, a struct socket is never allocated there.
 * kmem_cache_free: a socket's (RCU) free can be, but the tracepoint
 * backend reports releases at close()/dup2()/exit/failed accept, so only
 * a socket released some other way could lose its release: it would show
 * as still open, and `sockreport leaks` says so there.  Every other hook:
 * yes.  sockreport applies the same rule (stats.hook_skips.<hook>). */
static int skip_can_matter(const char *hook)
{
	return strcmp(hook, "kmem_cache_alloc") && strcmp(hook, "kmem_cache_free");
}

/* The skipped runs written so far; in buf "kmem_cache_free 158,
 * kmem_cache_alloc 3": the programs they were of; *matter: those that
 * could have been a socket event (skip_can_matter). */
static uint64_t hook_skips_by_program(struct session *s, char *buf, size_t len, uint64_t *matter)
{
	struct bpf_program *p;
	uint64_t total = 0;
	size_t off = 0;
	int i = 0;

	buf[0] = 0;
	*matter = 0;
	bpf_object__for_each_program(p, s->skel->obj) {
		if (i >= MAX_PROGS)
			break;
		total += s->skip_prev[i];
		if (s->skip_prev[i]) {
			const char *name = bpf_program__name(p);
			char key[80];
			int n;
			if (!strncmp(name, "tp_", 3))
				name += 3;
			if (skip_can_matter(name))
				*matter += s->skip_prev[i];
			snprintf(key, sizeof(key), "stats.hook_skips.%s", name);
			srec_writer_meta_u64(s->w, key, s->skip_prev[i]);
			/* the text is for people and may be cut; the counts above
			 * are not */
			if (off < len) {
				n = snprintf(buf + off, len - off, "%s%s %llu", off ? ", " : "", name,
					     (unsigned long long)s->skip_prev[i]);
				if (n > 0)
					off += (size_t)n < len - off ? (size_t)n : len - off;
			}
		}
		i++;
	}
	return total;
}

/* -v: what each program cost the traced tasks, as `bpftool prog show`
 * gives it.  The kernel counts run time only while the sysctl
 * kernel.bpf_stats_enabled is 1 (counting adds ~90 ns per run here). */
static void print_prog_costs(struct session *s, FILE *f)
{
	struct bpf_program *p;
	int counted = 0;

	bpf_object__for_each_program(p, s->skel->obj) {
		struct bpf_prog_info info;

		if (prog_info(p, &info) || !info.run_cnt)
			continue;
		counted++;
		fprintf(f, "sockrec: program %s: %llu runs, %llu ns per run\n", bpf_program__name(p),
			(unsigned long long)info.run_cnt,
			(unsigned long long)(info.run_time_ns / info.run_cnt));
	}
	if (!counted)
		fprintf(f, "sockrec: no program run times (they are counted while sysctl "
			   "kernel.bpf_stats_enabled=1)\n");
}

/* Unwinder statistics: budgets (stack copy, steps, rule cache) show here
 * and, per stack, as its stop reason. */
static const char *const stop_keys[SREC_STOP__MAX] = {
	[SREC_STOP_UNKNOWN] = "unknown",       [SREC_STOP_END] = "end",
	[SREC_STOP_NO_CFI] = "no_cfi",         [SREC_STOP_COPY_LIMIT] = "copy_limit",
	[SREC_STOP_UNREADABLE] = "unreadable", [SREC_STOP_STEP_LIMIT] = "step_limit",
	[SREC_STOP_NO_MAPPING] = "no_mapping", [SREC_STOP_BAD_FRAME] = "bad_frame",
	[SREC_STOP_CFI_UNSUPPORTED] = "cfi_unsupported", [SREC_STOP_NO_MODULE] = "no_module",
};

static void write_unwind_stats(struct session *s)
{
	struct uw_stats st;
	char key[64];

	if (!s->o.ustack_copy)
		return;
	unwinder_stats(s->rec.uw, &st);
	srec_writer_meta_u64(s->w, "unwind.stacks", st.stacks);
	srec_writer_meta_u64(s->w, "unwind.frames", st.frames);
	srec_writer_meta_u64(s->w, "unwind.fp_steps", st.fp_steps);
	srec_writer_meta_u64(s->w, "unwind.rules", st.rules);
	srec_writer_meta_u64(s->w, "unwind.rule_cache_resets", st.cache_resets);
	srec_writer_meta_u64(s->w, "unwind.modules", st.modules);
	srec_writer_meta_u64(s->w, "unwind.modules_failed", st.modules_failed);
	srec_writer_meta_u64(s->w, "unwind.cfi_bytes", st.module_bytes);
	for (int i = 0; i < SREC_STOP__MAX; i++) {
		if (!st.by_stop[i])
			continue;
		snprintf(key, sizeof(key), "unwind.stop.%s", stop_keys[i]);
		srec_writer_meta_u64(s->w, key, st.by_stop[i]);
	}
}

static void print_unwind_stats(struct session *s, FILE *f)
{
	struct uw_stats st;

	if (!s->o.ustack_copy)
		return;
	unwinder_stats(s->rec.uw, &st);
	fprintf(f, "sockrec: unwind: %llu stacks, %llu frames (%llu frame-pointer steps), %llu "
		   "rules cached (%llu KiB), %llu libdw lookups, %llu cache resets, %llu modules "
		   "(%llu unreadable), %llu KiB of CFI sections\n",
		(unsigned long long)st.stacks, (unsigned long long)st.frames,
		(unsigned long long)st.fp_steps, (unsigned long long)st.rules,
		(unsigned long long)(st.rules * 40 / 1024), (unsigned long long)st.rule_misses,
		(unsigned long long)st.cache_resets, (unsigned long long)st.modules,
		(unsigned long long)st.modules_failed, (unsigned long long)(st.module_bytes / 1024));
	for (int i = 0; i < SREC_STOP__MAX; i++)
		if (st.by_stop[i])
			fprintf(f, "sockrec: unwind: stopped %s: %llu\n", stop_keys[i],
				(unsigned long long)st.by_stop[i]);
}

/* The kernel-stack cache's counters, summed over CPUs, as META (the
 * mismatches are LOSS records as well). */
static void write_kstack_cache_stats(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.kst_stats);
	uint64_t tot[SR_KSTS__MAX] = { 0 };

	for (uint32_t k = 0; k < SR_KSTS__MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, s->loss_cur))
			return; /* no stats rather than wrong ones */
		for (int c = 0; c < s->ncpus; c++)
			tot[k] += s->loss_cur[c];
	}
	srec_writer_meta_u64(s->w, "stats.kstack_cache.hits",
			     tot[SR_KSTS_LOOKUPS] - tot[SR_KSTS_CHECKS]);
	srec_writer_meta_u64(s->w, "stats.kstack_cache.checks", tot[SR_KSTS_CHECKS]);
	srec_writer_meta_u64(s->w, "stats.kstack_cache.mismatches", tot[SR_KSTS_MISMATCHES]);
}

/* Read the per-CPU loss counters and write LOSS records for what grew. */
static srec_err poll_losses(struct session *s, uint64_t now)
{
	int fd = bpf_map__fd(s->skel->maps.losses);
	srec_err err = 0;

	for (uint32_t k = 0; k < SR_LOSS__MAX; k++) {
		uint64_t *cur = s->loss_cur + (size_t)k * s->ncpus;
		uint64_t *prev = s->loss_prev + (size_t)k * s->ncpus;
		if (bpf_map_lookup_elem(fd, &k, cur))
			continue;
		for (int c = 0; c < s->ncpus; c++) {
			if (cur[c] > prev[c]) {
				uint64_t d = cur[c] - prev[c];
				s->lost_total[k] += d;
				if (!err)
					err = write_loss(s, now, (uint32_t)c, srec_loss_kind((int)k), d);
				prev[c] = cur[c];
			}
		}
	}
	if (!err)
		err = poll_hook_skips(s, now);
	/* Side-band records the kernel dropped, and processes whose maps could
	 * not be read: stacks of those processes may stay unsymbolized. */
	uint64_t unread = procs_unreadable(s->procs) + mmapw_lost(s->mw);
	if (unread > s->procs_unreadable_prev && !err) {
		err = write_loss(s, now, 0xFFFFFFFFu, SREC_LOSS_PROCMAP,
				 unread - s->procs_unreadable_prev);
		s->procs_unreadable_prev = unread;
	}
	s->last_loss_ts = now;
	return err;
}

/* Switch BPF to the other stack map after clearing it.  Events that used
 * that map belong to the epoch before last, drained long ago. */
static void flip_stack_epoch(struct session *s)
{
	uint32_t next = s->epoch + 1;
	unsigned parity = next & 1;
	int fd = bpf_map__fd(parity ? s->skel->maps.stacks1 : s->skel->maps.stacks0);
	uint32_t key;

	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
	rec_forget_stacks(&s->rec, parity);
	s->skel->bss->stack_epoch = next;
	s->epoch = next;
	s->rec.epoch_stacks = 0;
}

static void status_line(struct session *s, uint64_t start, uint64_t now)
{
	double el = (double)(now - start) / 1e9;
	uint64_t lost = s->lost_total[SR_LOSS_RINGBUF] + s->lost_total[SR_LOSS_SOCKMAP] +
			s->lost_total[SR_LOSS_SKMAP];
	char rem[32] = "";
	if (s->o.duration > 0)
		snprintf(rem, sizeof(rem), "/%.0fs", s->o.duration);
	fprintf(stderr,
		"\r\033[K[sockrec] %.0fs%s  %llu ev (%.0f/s)  alloc %llu rel %llu state %llu "
		"conn %llu acc %llu  lost %llu  %.1f MB",
		el, rem, (unsigned long long)s->rec.events, el > 0 ? (double)s->rec.events / el : 0,
		(unsigned long long)s->rec.by_kind[SR_EV_ALLOC],
		(unsigned long long)s->rec.by_kind[SR_EV_RELEASE],
		(unsigned long long)s->rec.by_kind[SR_EV_STATE],
		(unsigned long long)s->rec.by_kind[SR_EV_CONNECT],
		(unsigned long long)s->rec.by_kind[SR_EV_ACCEPT], (unsigned long long)lost,
		(double)srec_writer_offset(s->w) / 1e6);
	fflush(stderr);
}

static pid_t start_command(char **cmd, int *go_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char c;
		close(p[1]);
		/* Wait until the BPF programs are attached, so that the
		 * command's very first socket is recorded. */
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		close(p[0]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "sockrec: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

/* Add the running descendants of the -p processes to the BPF pid filter.
 * Found after the hooks are attached: a child forked from then on is
 * added by the fork hook, one forked before is in /proc now.  Returns them
 * (malloc'd, the caller frees) in *kids, or NULL. */
static void track_descendants(struct session *s, uint32_t **kids, size_t *nkids)
{
	size_t n = 0;
	int err = pidtree_descendants(s->o.pids, s->o.npids, kids, &n);

	*nkids = n;
	if (err) {
		fprintf(stderr, "sockrec: warning: cannot list the children of -p: %s; only the "
				"named processes and their new children are recorded\n",
			strerror(-err));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		__u8 one = 1;
		if (bpf_map__update_elem(s->skel->maps.tracked, &(*kids)[i], sizeof(**kids), &one,
					 sizeof(one), BPF_ANY))
			fprintf(stderr, "sockrec: warning: cannot follow child %u: %s\n", (*kids)[i],
				strerror(errno));
	}
	if (s->o.verbose)
		fprintf(stderr, "sockrec: -p: %zu running descendants taken in\n", n);
}

/* The maps of the processes already running (procs_snapshot), now that the
 * side-band stream covers every change from here on: with -p those
 * processes and their running descendants kids, otherwise every process. */
static void snapshot_running(struct session *s, const uint32_t *kids, size_t nkids)
{
	uint64_t t0 = mono_ns();
	uint32_t *all = NULL;
	size_t nall = 0, taken = 0;
	srec_err serr = 0;
	int err = 0;

	if (s->o.npids) {
		serr = procs_snapshot(s->procs, s->o.pids, (size_t)s->o.npids, &taken);
		if (!serr)
			serr = procs_snapshot(s->procs, kids, nkids, &taken);
	} else if (!(err = pidtree_all(&all, &nall))) {
		serr = procs_snapshot(s->procs, all, nall, &taken);
	}
	free(all);
	if (err || serr)
		fprintf(stderr, "sockrec: warning: cannot read the maps of running processes (%s): "
				"stacks of those that exit quickly may stay unsymbolized\n",
			err ? strerror(-err) : srec_strerror(serr));
	if (s->o.verbose)
		fprintf(stderr, "sockrec: maps of %zu running processes read in %.1f ms\n", taken,
			(double)(mono_ns() - t0) / 1e6);
}

static srec_err meta_filters(struct session *s)
{
	struct srec_writer *w = s->w;
	char buf[1024] = "";
	srec_err err = 0;

	if (s->o.npids && !s->o.cmd) {
		for (int i = 0; i < s->o.npids; i++) {
			char t[16];
			snprintf(t, sizeof(t), "%s%u", i ? "," : "", s->o.pids[i]);
			strncat(buf, t, sizeof(buf) - strlen(buf) - 1);
		}
		err = err ? err : srec_writer_meta_str(w, "filter.pids", buf);
	}
	if (s->o.cmd) {
		buf[0] = 0;
		for (char **a = s->o.cmd; *a; a++) {
			if (a != s->o.cmd)
				strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
			strncat(buf, *a, sizeof(buf) - strlen(buf) - 1);
		}
		err = err ? err : srec_writer_meta_str(w, "filter.command", buf);
		err = err ? err : srec_writer_meta_u64(w, "filter.command_pid", (uint64_t)s->child);
	}
	if (s->o.comm)
		err = err ? err : srec_writer_meta_str(w, "filter.comm", s->o.comm);
	if (s->o.cgroup)
		err = err ? err : srec_writer_meta_str(w, "filter.cgroup", s->o.cgroup);
	if (s->o.netns)
		err = err ? err : srec_writer_meta_u64(w, "filter.netns", s->o.netns);
	stack_policy_str(s->o.stack_policy, buf, sizeof(buf));
	err = err ? err : srec_writer_meta_str(w, "stacks", buf);
	err = err ? err : srec_writer_meta_str(w, "stacks.user", s->o.ustack_copy ? "dwarf" : "fp");
	if (s->o.ustack_copy)
		err = err ? err : srec_writer_meta_u64(w, "stacks.copy_bytes", s->o.ustack_copy);
	return err;
}

static srec_err meta_backend(struct session *s, const struct backend_used *u)
{
	enum backend b = u->backend;
	static const char *const what[] = { "alloc", "release", "state", "connect", "accept",
					    "sockinfo", "proc" };
	char key[32];
	srec_err err = srec_writer_meta_str(s->w, "backend", backend_name(b));
	for (size_t i = 0; !err && i < sizeof(what) / sizeof(what[0]); i++) {
		snprintf(key, sizeof(key), "backend.%s", what[i]);
		err = srec_writer_meta_str(s->w, key, backend_hook(b, what[i]));
	}
	return err ? err : srec_writer_meta_str(s->w, "backend.loads",
						u->direct_loads ? "direct" : "probe-read");
}

/* Everything a recording needs, up to the moment the command may run.
 * Fails with die() (nothing made yet worth keeping) or, once the file
 * exists, returns 1 with the file removed; session_free() then frees. */
static int session_open(struct session *s, int argc, char **argv)
{
	char why[512], machine[64] = "";
	struct bpf_config cfg;
	srec_err werr; /* the writer's errors */
	int syserr;    /* -errno of the system and libbpf calls */

	memset(&cfg, 0, sizeof(cfg));
	cfg.stack_policy = s->o.stack_policy;
	cfg.ustack_copy = s->o.ustack_copy;
	cfg.kstack_cache = !s->o.no_kstack_cache;
	cfg.direct_loads = !s->o.no_direct_loads;
	cfg.comm = s->o.comm;
	cfg.netns = s->o.netns;
	cfg.ringbuf_bytes = s->o.ringbuf_bytes;
	cfg.stack_entries = STACK_ENTRIES;
	cfg.self_tgid = (uint32_t)getpid();
	if (s->o.cgroup) {
		struct stat sb;
		if (stat(s->o.cgroup, &sb) != 0 || !S_ISDIR(sb.st_mode))
			die("--cgroup %s: not a cgroup v2 directory", s->o.cgroup);
		cfg.cgroup_id = (uint64_t)sb.st_ino; /* cgroup v2 id == its kernfs inode */
	}

	s->fd = outfile_create(s->o.out, s->o.force, why, sizeof(why));
	if (s->fd < 0)
		die("%s", why);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (ulimit -f) must be a write error we handle, not
	 * a signal that kills us with the last block half written. */
	signal(SIGXFSZ, SIG_IGN);

	if (s->o.cmd) {
		s->child = start_command(s->o.cmd, &s->go_fd);
		s->o.pids[0] = (uint32_t)s->child;
		s->o.npids = 1;
	}
	cfg.pids = s->o.pids;
	cfg.npids = s->o.npids;
	cfg.filter_pids = s->o.npids > 0;

	/* zstd level 2.  The default, 3, is both dearer and larger on these
	 * records: level 1 took ~20% less recorder CPU per event and wrote
	 * 10-15% fewer bytes (churn -j2, tcp, mixed).  Level 2 against 1, the
	 * same blocks recompressed: tcp -3.2%, churn -0.5%, mixed +0.7% bytes,
	 * i.e. smaller where the bytes per event are highest, at 450 against
	 * 480 MB/s of raw records (zstd -b), a small part of the recorder's
	 * time. */
	struct srec_writer_opts wo = { .zstd_level = 2, .block_bytes = 1u << 20 };
	if ((werr = srec_writer_open(&s->w, s->fd, &wo)))
		die("cannot write %s: %s", s->o.out, srec_strerror(werr));
	s->in = srec_intern_new();
	s->procs = s->in ? procs_new(s->w, s->in) : NULL;
	if (!s->in || !s->procs)
		die("out of memory");
	s->ks = ksyms_load();
	if (!s->ks)
		fprintf(stderr, "sockrec: warning: cannot read /proc/kallsyms (%s): kernel frames "
				"will not be symbolized\n", strerror(errno));
	if ((werr = hostmeta_write(s->w, argc, argv, machine, sizeof(machine))))
		die("cannot write metadata: %s", srec_strerror(werr));
	if (s->o.raw_kaddr && s->ks) {
		char hex[32];
		snprintf(hex, sizeof(hex), "%llx", (unsigned long long)ksyms_text_base(s->ks));
		srec_writer_meta_str(s->w, "kernel.text_base", hex);
	}

	struct syscall_nrs nrs;
	if (syscall_nrs_for_arch(machine, &nrs))
		fprintf(stderr, "sockrec: warning: unknown architecture %s: release causes and "
				"socket origins will read 'other'\n", machine);
	cfg.nr_socket = (int32_t)nrs.socket;
	cfg.nr_socketpair = (int32_t)nrs.socketpair;
	cfg.nr_accept = (int32_t)nrs.accept;
	cfg.nr_accept4 = (int32_t)nrs.accept4;
	if (backend_start(&cfg, s->o.backend, s->o.verbose ? stderr : NULL, stderr, &s->skel,
			  &s->used)) {
		/* Nothing was recorded: no file is left behind. */
		if (s->child > 0) {
			kill(s->child, SIGKILL);
			waitpid(s->child, NULL, 0);
			s->child = 0;
		}
		srec_writer_meta_str(s->w, "recording.stop_reason", "backend-failed");
		srec_writer_close(s->w);
		s->w = NULL;
		close(s->fd);
		s->fd = -1;
		unlink(s->o.out);
		return 1;
	}
	/* Start the side-band mmap stream before the command runs, so that
	 * its every mapping is seen even if it exits at once. */
	if ((syserr = mmapw_open(&s->mw, s->procs, s->o.verbose ? stderr : NULL)))
		fprintf(stderr, "sockrec: warning: cannot follow mmaps (%s): stacks of processes "
				"that exit quickly may stay unsymbolized\n", strerror(-syserr));
	if (s->o.redact_addresses && (syserr = pseudonym_init(&s->pseud)))
		die("cannot make a pseudonym key: %s", strerror(-syserr));
	const struct rec_opts ro = {
		.nr = nrs,
		.mw = s->mw,
		.redact = s->o.redact_addresses ? &s->pseud : NULL,
		.embed_symbols = !s->o.no_embed,
	};
	if (rec_init(&s->rec, s->w, s->in, s->procs, s->ks, bpf_map__fd(s->skel->maps.stacks0),
		     bpf_map__fd(s->skel->maps.stacks1), &ro))
		die("out of memory");
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0)
		die("cannot count CPUs");
	s->loss_prev = calloc((size_t)SR_LOSS__MAX * s->ncpus, sizeof(uint64_t));
	s->loss_cur = calloc((size_t)SR_LOSS__MAX * s->ncpus, sizeof(uint64_t));
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), rec_handle, &s->rec, NULL);
	if (!s->loss_prev || !s->loss_cur || !s->rb)
		die("cannot set up the ring buffer: %s", strerror(errno));

	s->start = mono_ns();
	werr = meta_backend(s, &s->used);
	werr = werr ? werr : meta_filters(s);
	if (s->o.redact_addresses)
		werr = werr ? werr : srec_writer_meta_str(s->w, "redact", "addresses");
	werr = werr ? werr : srec_writer_meta_str(s->w, "symbols.embedded", s->o.no_embed ? "0" : "1");
	werr = werr ? werr : srec_writer_meta_u64(s->w, "recording.start_ns", s->start);
	werr = werr ? werr : srec_writer_flush(s->w);
	if (werr)
		die("cannot write %s: %s", s->o.out, srec_strerror(werr));
	s->last_loss_ts = s->start;

	/* -p: the children the processes already have (nginx's workers) are
	 * theirs too; forks from now on are followed by the fork hook.  Before
	 * the snapshot, which takes the sockets of tracked processes. */
	uint32_t *kids = NULL;
	size_t nkids = 0;
	if (s->o.npids && !s->o.cmd)
		track_descendants(s, &kids, &nkids);
	/* A COMMAND starts later: the side-band stream sees all of it. */
	if (!s->o.cmd)
		snapshot_running(s, kids, nkids);
	free(kids);
	/* Sockets that exist already: snapshot them now that the hooks are
	 * live, so that a release racing with the walk is still seen. */
	if ((syserr = backend_snapshot(s->skel)))
		fprintf(stderr, "sockrec: warning: snapshot of open sockets failed: %s\n",
			strerror(-syserr));
	/* Everything that needs privileges is done: keep only what reading
	 * other processes' maps and binaries needs. */
	if (!s->o.keep_privs && (syserr = privs_drop()))
		fprintf(stderr, "sockrec: warning: cannot drop capabilities: %s\n", strerror(-syserr));
	if (s->go_fd >= 0) {
		if (write(s->go_fd, "g", 1) != 1)
			die("cannot start the command: %s", strerror(errno));
		close(s->go_fd);
		s->go_fd = -1;
	}
	if (s->o.verbose)
		fprintf(stderr, "sockrec: recording with backend %s to %s\n", backend_name(s->used.backend),
			s->o.out);
	return 0;
}

/* The event loop, until a signal, the duration, the command's end or an
 * error; returns why it stopped (META recording.stop_reason). */
static const char *session_loop(struct session *s)
{
	const char *stop_reason = "signal";
	int tty = isatty(STDERR_FILENO);
	uint64_t start = s->start;
	uint64_t last_flush = start, last_epoch = start, last_status = start, child_exit_ts = 0;
	uint64_t deadline = s->o.duration > 0 ? start + (uint64_t)(s->o.duration * 1e9) : 0;
	srec_err werr;

	for (;;) {
		/* Events are submitted with BPF_RB_NO_WAKEUP below the fill
		 * threshold, so epoll rarely fires: poll is our timer, and
		 * consume() drains whatever is there each time round. */
		int n = ring_buffer__poll(s->rb, 50); /* -errno */
		mmapw_drain(s->mw);
		if (n >= 0)
			n = ring_buffer__consume(s->rb);
		uint64_t now = mono_ns();
		/* Side-band records with no event after them yet: apply once
		 * they are old enough that no earlier event can still come. */
		mmapw_apply_until(s->mw, now - 200000000ull);
		if (s->rec.err) {
			stop_reason = "write-error";
			break;
		}
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "sockrec: ring buffer poll failed: %s\n", strerror(-n));
			stop_reason = "poll-error";
			break;
		}
		if (now - last_epoch >= EPOCH_NS ||
		    (now - last_epoch >= EPOCH_MIN_NS && s->rec.epoch_stacks >= EPOCH_FILL)) {
			flip_stack_epoch(s);
			last_epoch = now;
		}
		if (now - last_flush >= FLUSH_NS) {
			if ((werr = poll_losses(s, now)) || (werr = srec_writer_flush(s->w))) {
				s->rec.err = werr;
				stop_reason = "write-error";
				break;
			}
			last_flush = now;
		}
		if (tty && now - last_status >= 1000000000ull) {
			status_line(s, start, now);
			last_status = now;
		}
		if (stop_requested)
			break;
		if (deadline && now >= deadline) {
			stop_reason = "duration";
			break;
		}
		if (s->child > 0 && !s->child_done) {
			pid_t r = waitpid(s->child, &s->child_status, WNOHANG);
			if (r == s->child) {
				s->child_done = 1;
				child_exit_ts = now;
			}
		}
		/* The command's sockets are freed (RCU) shortly after it exits:
		 * keep recording a moment to see those releases. */
		if (s->child_done && now - child_exit_ts >= GRACE_NS) {
			stop_reason = "command-exited";
			break;
		}
	}
	if (tty)
		fputs("\r\033[K", stderr);
	return stop_reason;
}

/* Orderly end: drain what the ring buffer holds, detach, finish the file
 * and print the summary.  Returns the exit code. */
static int session_close(struct session *s, const char *stop_reason)
{
	int exit_code = 0;
	srec_err werr;

	mmapw_drain(s->mw);
	if (!s->rec.err)
		ring_buffer__consume(s->rb);
	uint64_t end = mono_ns();
	if (!s->rec.err)
		s->rec.err = poll_losses(s, end);
	uint64_t lost = s->lost_total[SR_LOSS_RINGBUF] + s->lost_total[SR_LOSS_SOCKMAP] +
			s->lost_total[SR_LOSS_SKMAP];
	char by[512];
	uint64_t skips_matter = 0;
	uint64_t skips = hook_skips_by_program(s, by, sizeof(by), &skips_matter);
	/* Data first, so that recording.complete is the last thing written. */
	if (!s->rec.err)
		s->rec.err = srec_writer_flush(s->w);
	if (!s->rec.err) {
		srec_writer_meta_u64(s->w, "recording.end_ns", end);
		srec_writer_meta_str(s->w, "recording.stop_reason", stop_reason);
		srec_writer_meta_u64(s->w, "stats.events", s->rec.events);
		srec_writer_meta_u64(s->w, "stats.lost", lost);
		srec_writer_meta_u64(s->w, "stats.stack_failures", s->rec.stack_fail);
		srec_writer_meta_u64(s->w, "stats.hook_skips", skips);
		srec_writer_meta_u64(s->w, "stats.releases_late", s->lost_total[SR_LOSS_REUSED]);
		write_kstack_cache_stats(s);
		write_unwind_stats(s);
		s->rec.err = srec_writer_meta_str(s->w, "recording.complete", "1");
	}
	ring_buffer__free(s->rb);
	s->rb = NULL;
	if (s->o.verbose) {
		print_prog_costs(s, stderr);
		print_unwind_stats(s, stderr);
	}
	backend_stop(s->skel);
	s->skel = NULL;
	werr = srec_writer_close(s->w);
	s->w = NULL;
	if (s->rec.err || werr) {
		int e = s->rec.err ? s->rec.err : werr;
		fprintf(stderr, "sockrec: stopped: cannot write %s: %s%s%s; the file holds everything "
				"written before\n", s->o.out, srec_strerror(e),
			e == SREC_E_IO ? ": " : "", e == SREC_E_IO ? strerror(ENOSPC) : "");
		exit_code = 1;
	}
	close(s->fd);
	s->fd = -1;

	struct stat sb;
	double secs = (double)(end - s->start) / 1e9;
	fprintf(stderr,
		"sockrec: %.1fs, %llu events (alloc %llu, release %llu, state %llu, connect %llu, "
		"accept %llu), %llu lost, %llu stack failures, %s %.1f KB (%.1f B/event)\n",
		secs, (unsigned long long)s->rec.events,
		(unsigned long long)s->rec.by_kind[SR_EV_ALLOC],
		(unsigned long long)s->rec.by_kind[SR_EV_RELEASE],
		(unsigned long long)s->rec.by_kind[SR_EV_STATE],
		(unsigned long long)s->rec.by_kind[SR_EV_CONNECT],
		(unsigned long long)s->rec.by_kind[SR_EV_ACCEPT], (unsigned long long)lost,
		(unsigned long long)s->rec.stack_fail, s->o.out,
		stat(s->o.out, &sb) == 0 ? (double)sb.st_size / 1024 : 0,
		stat(s->o.out, &sb) == 0 && s->rec.events ? (double)sb.st_size / (double)s->rec.events : 0);
	if (lost)
		fprintf(stderr, "sockrec: WARNING: %llu events were lost (ring buffer or maps full); "
				"try --ringbuf-size or fewer stacks. Reports will flag this.\n",
			(unsigned long long)lost);
	if (skips_matter) {
		fprintf(stderr, "sockrec: note: the kernel skipped %llu runs of hooks that see socket "
				"events (all skipped runs: %s): a hook fired in an interrupt while its "
				"program ran on that CPU; the file counts them as loss (kind 6)\n",
			(unsigned long long)skips_matter, by);
	}
	if (s->child > 0 && !s->child_done)
		fprintf(stderr, "sockrec: command (pid %d) is still running; it was not stopped\n",
			(int)s->child);
	/* As time(1) and strace: the command's status is ours (127: it could
	 * not be run), unless the recording itself failed. */
	if (!exit_code && s->child > 0 && s->child_done)
		exit_code = WIFEXITED(s->child_status) ? WEXITSTATUS(s->child_status)
			  : WIFSIGNALED(s->child_status) ? 128 + WTERMSIG(s->child_status) : 1;
	return exit_code;
}

/* The one cleanup path: whatever session_open made and session_close did
 * not already close. */
static void session_free(struct session *s)
{
	ring_buffer__free(s->rb);
	backend_stop(s->skel);
	if (s->w)
		srec_writer_close(s->w);
	if (s->fd >= 0)
		close(s->fd);
	if (s->go_fd >= 0)
		close(s->go_fd);
	rec_fini(&s->rec);
	mmapw_close(s->mw);
	procs_free(s->procs);
	ksyms_free(s->ks);
	srec_intern_free(s->in);
	free(s->loss_prev);
	free(s->loss_cur);
}

int main(int argc, char **argv)
{
	struct session s;
	int exit_code;

	/* `sockrec archive FILE`: no BPF, no privileges needed */
	if (argc > 1 && strcmp(argv[1], "archive") == 0)
		return archive_main(argc - 1, argv + 1);
	memset(&s, 0, sizeof(s));
	s.fd = s.go_fd = -1;
	parse_args(argc, argv, &s.o);
	libbpf_set_print(s.o.verbose ? libbpf_print : libbpf_quiet);
	preflight();
	exit_code = session_open(&s, argc, argv);
	if (!exit_code)
		exit_code = session_close(&s, session_loop(&s));
	session_free(&s);
	return exit_code;
}
