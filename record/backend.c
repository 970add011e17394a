/* backend.c - probing and loading sockrec.bpf.c with one backend. */
#include "backend.h"
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sockrec.skel.h"
#include "sockrec_direct.skel.h"

/* One source, two objects (Makefile): the direct-load one is opened through
 * the probe-read one's skeleton, so their globals must be laid out alike
 * (libbpf checks the maps' and programs' names when it opens). */
_Static_assert(sizeof(struct sockrec_bpf__rodata) == sizeof(struct sockrec_direct_bpf__rodata),
	       "the two BPF objects' .rodata differ");
_Static_assert(sizeof(struct sockrec_bpf__bss) == sizeof(struct sockrec_direct_bpf__bss),
	       "the two BPF objects' .bss differ");
_Static_assert(sizeof(struct sockrec_bpf__data_serial) ==
		       sizeof(struct sockrec_direct_bpf__data_serial),
	       "the two BPF objects' .data.serial differ");
_Static_assert(sizeof(((struct sockrec_bpf *)0)->progs) ==
		       sizeof(((struct sockrec_direct_bpf *)0)->progs) &&
		       sizeof(((struct sockrec_bpf *)0)->maps) ==
		       sizeof(((struct sockrec_direct_bpf *)0)->maps),
	       "the two BPF objects' programs or maps differ");

const char *backend_name(enum backend b)
{
	switch (b) {
	case BACKEND_FENTRY: return "fentry";
	case BACKEND_KPROBE: return "kprobe";
	case BACKEND_TRACEPOINT: return "tracepoint";
	default: return "auto";
	}
}

int backend_parse(const char *s, enum backend *out)
{
	static const enum backend all[] = { BACKEND_AUTO, BACKEND_FENTRY, BACKEND_KPROBE,
					    BACKEND_TRACEPOINT };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, backend_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

const char *backend_hook(enum backend b, const char *what)
{
	if (!strcmp(what, "alloc")) {
		switch (b) {
		case BACKEND_FENTRY: return "fentry:fexit/sock_alloc";
		case BACKEND_KPROBE: return "kprobe:kretprobe/sock_alloc";
		default: return "tracepoint:tp_btf/kmem_cache_alloc(sock_inode_cache)";
		}
	}
	if (!strcmp(what, "release")) {
		switch (b) {
		case BACKEND_FENTRY: return "fentry:fentry/__sock_release";
		case BACKEND_KPROBE: return "kprobe:kprobe/__sock_release";
		default: return "tracepoint:syscalls/sys_enter_{close,dup2,dup3}+tp_btf/kmem_cache_free";
		}
	}
	if (!strcmp(what, "state"))
		return "tracepoint:tp_btf/inet_sock_set_state";
	if (!strcmp(what, "connect"))
		return "tracepoint:syscalls/sys_{enter,exit}_connect";
	if (!strcmp(what, "accept"))
		return "tracepoint:syscalls/sys_{enter,exit}_accept{,4}";
	if (!strcmp(what, "sockinfo"))
		return "tracepoint:syscalls/sys_exit_{socket,socketpair,accept,accept4}";
	if (!strcmp(what, "proc"))
		return "tracepoint:tp_btf/sched_process_{fork,exec,exit}";
	return "?";
}

/* Load and attach a do-nothing fexit program on sock_alloc: the only
 * reliable test (some kernels load tracing programs but refuse the
 * trampoline at attach time; this one refuses at load). */
static int probe_fentry(FILE *v)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = 0x95 },                          /* exit */
	};
	int id = libbpf_find_vmlinux_btf_id("sock_alloc", BPF_TRACE_FEXIT);
	if (id < 0) {
		if (v)
			fprintf(v, "backend: fentry rejected: sock_alloc not in vmlinux BTF (%s)\n",
				strerror(-id));
		return id;
	}
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FEXIT,
		    .attach_btf_id = (__u32)id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "probe_fexit", "GPL", insns, 2, &o);
	if (fd < 0) {
		if (v)
			fprintf(v, "backend: fentry rejected: test program refused at load (%s)\n",
				strerror(errno));
		return -errno;
	}
	int lfd = bpf_raw_tracepoint_open(NULL, fd);
	int err = lfd < 0 ? -errno : 0;
	if (v)
		fprintf(v, "backend: fentry %s%s%s\n", err ? "rejected: attach refused (" : "usable",
			err ? strerror(-err) : "", err ? ")" : "");
	if (lfd >= 0)
		close(lfd);
	close(fd);
	return err;
}

static int probe_kprobe(FILE *v)
{
	/* kprobes exist iff the kprobe PMU does (CONFIG_KPROBES); the symbol
	 * must also be probe-able (not inlined, not blacklisted). */
	if (access("/sys/bus/event_source/devices/kprobe/type", F_OK) != 0) {
		if (v)
			fprintf(v, "backend: kprobe rejected: no kprobe PMU (CONFIG_KPROBES off?)\n");
		return -EOPNOTSUPP;
	}
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[256];
	int have_alloc = 0, have_release = 0;
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *sp = strrchr(line, ' ');
			if (!sp)
				continue;
			if (!strcmp(sp + 1, "sock_alloc\n"))
				have_alloc = 1;
			else if (!strcmp(sp + 1, "__sock_release\n"))
				have_release = 1;
		}
		fclose(f);
	}
	if (!have_alloc || !have_release) {
		if (v)
			fprintf(v, "backend: kprobe rejected: sock_alloc/__sock_release not in kallsyms\n");
		return -ENOENT;
	}
	if (v)
		fprintf(v, "backend: kprobe usable\n");
	return 0;
}

static void set_autoload(struct sockrec_bpf *s, enum backend b)
{
	bool f = b == BACKEND_FENTRY, k = b == BACKEND_KPROBE, t = b == BACKEND_TRACEPOINT;

	bpf_program__set_autoload(s->progs.fexit_sock_alloc, f);
	bpf_program__set_autoload(s->progs.fentry_sock_release, f);
	bpf_program__set_autoload(s->progs.kretprobe_sock_alloc, k);
	bpf_program__set_autoload(s->progs.kprobe_sock_release, k);
	bpf_program__set_autoload(s->progs.tp_kmem_cache_alloc, t);
	bpf_program__set_autoload(s->progs.tp_kmem_cache_free, t);
	bpf_program__set_autoload(s->progs.tp_enter_close, t);
	bpf_program__set_autoload(s->progs.tp_enter_dup2, t);
	bpf_program__set_autoload(s->progs.tp_enter_dup3, t);
}

/* 1 in this many allocations that could reuse a cached kernel stack walks
 * it anyway and compares (the BPF side masks with it). */
#define KSTACK_CHECK_EVERY 64
_Static_assert((KSTACK_CHECK_EVERY & (KSTACK_CHECK_EVERY - 1)) == 0, "a power of two");

/* SOCKREC_TEST_SKIP_FREES=N (the tests' fault injection): the free hook
 * ignores the free of every Nth socket, as when the kernel skips a run of
 * it.  0 when unset; -1 (with a reason) when not a number.  Said on stderr
 * when on: it makes a recording wrong on purpose. */

static long test_skip_frees(FILE *errf)
{
	const char *e = getenv("SOCKREC_TEST_SKIP_FREES");
	char *end;
	unsigned long n;

	if (!e || !*e)
		return 0;
	errno = 0;
	n = strtoul(e, &end, 10);
	if (errno || *end || n > UINT32_MAX) {
		fprintf(errf, "sockrec: SOCKREC_TEST_SKIP_FREES: not a number: %s\n", e);
		return -1;
	}
	if (n)
		fprintf(errf, "sockrec: warning: SOCKREC_TEST_SKIP_FREES=%lu: the free of every "
			      "%lu. socket is ignored (fault injection for the tests)\n", n, n);
	return (long)n;
}

/* Does the running kernel have the kfunc the direct-load object calls?
 * Its BTF says; a kernel without BTF has no tp_btf either, and fails later
 * with a clearer reason. */
static bool kernel_has_rdonly_cast(FILE *v)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf) {
		if (v)
			fprintf(v, "backend: no kernel BTF: probe reads\n");
		return false;
	}
	has = btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	if (v)
		fprintf(v, "backend: kernel %s bpf_rdonly_cast: %s\n", has ? "has" : "lacks",
			has ? "direct loads" : "probe reads");
	return has;
}

/* SOCKREC_TEST_REFUSE_DIRECT_LOADS=1 (the tests' fault injection): load
 * the direct-load object as if the kernel's verifier refused it, to test the
 * fallback to probe reads on the one kernel the tests run on.  Said on
 * stderr when on. */
static bool test_refuse_direct(FILE *errf)
{
	const char *e = getenv("SOCKREC_TEST_REFUSE_DIRECT_LOADS");

	if (!e || !*e || !strcmp(e, "0"))
		return false;
	fprintf(errf, "sockrec: warning: SOCKREC_TEST_REFUSE_DIRECT_LOADS: the direct-load BPF "
		      "object fails to load (fault injection for the tests)\n");
	return true;
}

/* sockrec_bpf__open(), with the direct-load object's bytes when direct. */
static struct sockrec_bpf *open_object(bool direct)
{
	struct sockrec_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	err = sockrec_bpf__create_skeleton(obj);
	if (!err && direct)
		obj->skeleton->data = (void *)sockrec_direct_bpf__elf_bytes(&obj->skeleton->data_sz);
	if (!err)
		err = bpf_object__open_skeleton(obj->skeleton, NULL);
	if (err) {
		sockrec_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

static int try_backend(const struct bpf_config *cfg, enum backend b, bool direct, bool with_iter,
		       FILE *v, FILE *errf, struct sockrec_bpf **out)
{
	long skip_frees = test_skip_frees(errf);
	struct sockrec_bpf *s;
	int err;

	if (skip_frees < 0)
		return -EINVAL;
	s = open_object(direct);
	if (!s) {
		err = -errno;
		fprintf(errf, "sockrec: cannot open BPF object: %s\n", strerror(-err));
		return err;
	}
	s->rodata->stack_policy = cfg->stack_policy;
	s->rodata->filter_pids = cfg->filter_pids;
	if (cfg->comm) {
		s->rodata->filter_comm_on = true;
		strncpy((char *)s->rodata->filter_comm, cfg->comm, sizeof(s->rodata->filter_comm) - 1);
	}
	s->rodata->filter_cgroup = cfg->cgroup_id;
	s->rodata->filter_netns = cfg->netns;
	s->rodata->self_tgid = cfg->self_tgid;
	s->rodata->wakeup_bytes = cfg->ringbuf_bytes / 4;
	if ((err = bpf_map__set_max_entries(s->maps.events, cfg->ringbuf_bytes)) ||
	    (err = bpf_map__set_max_entries(s->maps.stacks0, cfg->stack_entries)) ||
	    (err = bpf_map__set_max_entries(s->maps.stacks1, cfg->stack_entries))) {
		fprintf(errf, "sockrec: cannot size maps: %s\n", strerror(-err));
		sockrec_bpf__destroy(s);
		return err;
	}
	s->rodata->release_at_exit = b == BACKEND_TRACEPOINT;
	s->rodata->nr_socket = cfg->nr_socket;
	s->rodata->nr_socketpair = cfg->nr_socketpair;
	s->rodata->nr_accept = cfg->nr_accept;
	s->rodata->nr_accept4 = cfg->nr_accept4;
	s->rodata->ustack_copy = cfg->ustack_copy;
	s->rodata->test_skip_free_mod = (uint32_t)skip_frees;
	s->rodata->kstack_cache_on = cfg->kstack_cache;
	s->rodata->kstack_check_every = KSTACK_CHECK_EVERY;
	set_autoload(s, b);
	bpf_program__set_autoload(s->progs.iter_preexisting, with_iter);
	err = direct && test_refuse_direct(errf) ? -EACCES : sockrec_bpf__load(s);
	if (err) {
		if (v)
			fprintf(v, "backend: %s: load failed: %s\n", backend_name(b), strerror(-err));
		sockrec_bpf__destroy(s);
		return err;
	}
	for (int i = 0; i < cfg->npids; i++) {
		__u8 one = 1;
		__u32 pid = cfg->pids[i];
		if (bpf_map__update_elem(s->maps.tracked, &pid, sizeof(pid), &one, sizeof(one), 0)) {
			err = -errno;
			fprintf(errf, "sockrec: cannot set pid filter: %s\n", strerror(-err));
			sockrec_bpf__destroy(s);
			return err;
		}
	}
	/* The first pid needs no hash lookup on the hot path (fast_tgid). */
	if (cfg->npids > 0)
		s->bss->fast_tgid = cfg->pids[0];
	err = sockrec_bpf__attach(s);
	if (err) {
		if (v)
			fprintf(v, "backend: %s: attach failed: %s\n", backend_name(b), strerror(-err));
		sockrec_bpf__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

/* try_backend() with direct loads when *direct, and then with probe reads:
 * a kernel that has bpf_rdonly_cast may still refuse a load that 6.18's
 * verifier takes (6.2-6.17 and distribution backports were not all tried).
 * Said on stderr, never silent: it costs speed, not records.  *direct ends
 * false once probe reads were needed. */
static int try_loads(const struct bpf_config *cfg, enum backend b, bool *direct, bool with_iter,
		     FILE *v, FILE *errf, struct sockrec_bpf **out)
{
	int err = try_backend(cfg, b, *direct, with_iter, v, errf, out);

	if (err && *direct) {
		err = try_backend(cfg, b, false, with_iter, v, errf, out);
		if (!err) {
			*direct = false;
			fprintf(errf, "sockrec: warning: the kernel refused the direct-load BPF object "
				      "(%s backend): reading kernel fields with probe reads instead "
				      "(run with -v for the verifier's log)\n", backend_name(b));
		}
	}
	return err;
}

int backend_start(const struct bpf_config *cfg, enum backend want, FILE *v, FILE *errf,
		  struct sockrec_bpf **skel, struct backend_used *used)
{
	static const enum backend order[] = { BACKEND_FENTRY, BACKEND_KPROBE, BACKEND_TRACEPOINT };
	bool direct = cfg->direct_loads && kernel_has_rdonly_cast(v);
	int err = -ENOENT;

	*skel = NULL;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum backend b = order[i];
		if (want != BACKEND_AUTO && want != b)
			continue;
		if (want == BACKEND_AUTO) {
			int perr = b == BACKEND_FENTRY ? probe_fentry(v) :
				   b == BACKEND_KPROBE ? probe_kprobe(v) : 0;
			if (perr)
				continue;
		}
		err = try_loads(cfg, b, &direct, true, v, errf, skel);
		if (err) {
			/* The pre-existing socket snapshot (a BPF iterator) is the
			 * newest feature used: retry without it before giving up. */
			if (v)
				fprintf(v, "backend: %s: retrying without the socket snapshot iterator\n",
					backend_name(b));
			err = try_loads(cfg, b, &direct, false, v, errf, skel);
			if (!err)
				fprintf(errf, "sockrec: warning: this kernel cannot iterate open files "
					      "(iter/task_file): sockets open before the recording are "
					      "not snapshotted\n");
		}
		if (!err) {
			used->backend = b;
			used->direct_loads = direct;
			if (v)
				fprintf(v, "backend: using %s\n", backend_name(b));
			return 0;
		}
	}
	if (want != BACKEND_AUTO)
		fprintf(errf, "sockrec: backend %s cannot be used on this kernel: %s (run with -v)\n",
			backend_name(want), strerror(-err));
	else
		fprintf(errf, "sockrec: no backend could be loaded: %s (run with -v)\n", strerror(-err));
	return err;
}

int backend_snapshot(struct sockrec_bpf *skel)
{
	struct bpf_link *l = skel->links.iter_preexisting;
	char buf[256];
	int fd, n;

	if (!l)
		return 0; /* loaded without the iterator */
	fd = bpf_iter_create(bpf_link__fd(l));
	if (fd < 0)
		return -errno;
	/* The program writes to the ring buffer; the iterator's own output
	 * is empty, reading it just drives the walk to the end. */
	while ((n = (int)read(fd, buf, sizeof(buf))) > 0)
		;
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

void backend_stop(struct sockrec_bpf *skel)
{
	sockrec_bpf__destroy(skel);
}
