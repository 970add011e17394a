/* floor.c - loader of floor.bpf.c: run a command under the capture floor.
 *
 * usage: floor [--hook H] [--no-stacks] [--emit] [--free] [--all] -- COMMAND [ARGS...]
 *        floor [--hook H] [--no-stacks] [--emit] [--free] --pid PID
 * Starts COMMAND stopped on a pipe, attaches the programs filtered to its
 * pid, lets it run, waits for it (with --pid: attaches to a running
 * process and runs until it is gone), and prints one JSON line on stderr:
 *   {"floor": {"hook": H, "alloc": N, "close": N, "stack_fail": N,
 *              "rb_fail": N, "free": N, "release": N, "drained": N}}
 * --hook picks the hooks, as sockrec's --backend does (floor.bpf.c):
 *   tracepoint (default) the slab alloc and close() tracepoints
 *   fentry               fexit/sock_alloc + fentry/__sock_release
 *   kprobe               kretprobe/sock_alloc + kprobe/__sock_release
 * --free adds the slab-free hook (every socket free, whoever runs it);
 * tracepoint only: the other hooks see every release already.
 * --emit also sends every event through a ring buffer that this loader
 * drains every 50 ms (as sockrec does: no wakeups).
 * --all records every process, not COMMAND's pid alone: the floor of a
 * workload that is a process tree (bench/servers.py starts a server and
 * its client; the floor follows no forks, sockrec does).  Its filter is
 * then no filter, so it is still a floor.
 * Exit status: COMMAND's.
 */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "floor.skel.h"

static uint64_t g_drained;

/* The hook sets: which programs each --hook loads (the rest are not
 * loaded, so a kernel without fentry or kprobes runs the tracepoint one). */
enum { P_TP_ALLOC, P_TP_CLOSE, P_FEXIT_ALLOC, P_FENTRY_RELEASE, P_KRET_ALLOC, P_KPROBE_RELEASE, P__MAX };
static const struct hookset {
	const char *name;
	int progs[2];
} hooksets[] = {
	{ "tracepoint", { P_TP_ALLOC, P_TP_CLOSE } },
	{ "fentry", { P_FEXIT_ALLOC, P_FENTRY_RELEASE } },
	{ "kprobe", { P_KRET_ALLOC, P_KPROBE_RELEASE } },
};

/* The counters in floor.bpf.c's order (its enum C_*). */
static const char *const counter_names[] = { "alloc", "close", "stack_fail", "rb_fail", "free", "release" };

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	g_drained++;
	return 0;
}

/* A process we did not start: gone once it no longer exists or is a
 * zombie waiting for its parent. */
static int gone(pid_t pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	const char *rp = strrchr(buf, ')'); /* comm may hold spaces and ')' */
	return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	int stacks = 1, emit = 0, with_free = 0, everyone = 0, i, p[2] = { -1, -1 }, status = 0;
	const struct hookset *hook = &hooksets[0];
	pid_t pid = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-stacks"))
			stacks = 0;
		else if (!strcmp(argv[i], "--emit"))
			emit = 1;
		else if (!strcmp(argv[i], "--free"))
			with_free = 1;
		else if (!strcmp(argv[i], "--all"))
			everyone = 1;
		else if (!strcmp(argv[i], "--hook") && i + 1 < argc) {
			size_t h;
			i++;
			for (h = 0; h < sizeof(hooksets) / sizeof(hooksets[0]); h++)
				if (!strcmp(argv[i], hooksets[h].name))
					break;
			if (h == sizeof(hooksets) / sizeof(hooksets[0])) {
				fprintf(stderr, "floor: --hook must be tracepoint, fentry or kprobe, not '%s'\n", argv[i]);
				return 2;
			}
			hook = &hooksets[h];
		}
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v <= 0 || v > INT_MAX) {
				fprintf(stderr, "floor: invalid pid '%s'\n", argv[i]);
				return 2;
			}
			pid = (pid_t)v;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else
			break;
	}
	if (pid ? i < argc : i >= argc) {
		fprintf(stderr, "usage: floor [--hook tracepoint|fentry|kprobe] [--no-stacks] [--emit] [--free] [--all] -- COMMAND [ARGS...]\n"
				"       floor [--hook tracepoint|fentry|kprobe] [--no-stacks] [--emit] [--free] --pid PID\n");
		return 2;
	}
	if (with_free && hook != &hooksets[0]) {
		fprintf(stderr, "floor: --free is the tracepoint hooks' slab-free hook; --hook %s sees every release\n",
			hook->name);
		return 2;
	}
	libbpf_set_print(quiet);
	int attach_only = pid != 0;
	if (!attach_only && pipe2(p, O_CLOEXEC))
		return perror("pipe"), 1;
	if (!attach_only)
		pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[i], argv + i);
		perror(argv[i]);
		_exit(127);
	}
	if (!attach_only)
		close(p[0]);

	struct floor_bpf *skel = floor_bpf__open();
	if (!skel)
		return perror("floor: open"), 1;
	skel->rodata->target_tgid = everyone ? 0 : (uint32_t)pid; /* 0: every process */
	skel->rodata->want_stacks = stacks;
	skel->rodata->emit = emit;
	if (!emit)
		bpf_map__set_max_entries(skel->maps.rb, 4096);
	struct bpf_program *progs[P__MAX] = {
		[P_TP_ALLOC] = skel->progs.floor_alloc,
		[P_TP_CLOSE] = skel->progs.floor_close,
		[P_FEXIT_ALLOC] = skel->progs.floor_fexit_alloc,
		[P_FENTRY_RELEASE] = skel->progs.floor_fentry_release,
		[P_KRET_ALLOC] = skel->progs.floor_kret_alloc,
		[P_KPROBE_RELEASE] = skel->progs.floor_kprobe_release,
	};
	for (int k = 0; k < P__MAX; k++)
		bpf_program__set_autoload(progs[k], false);
	for (size_t k = 0; k < sizeof(hook->progs) / sizeof(hook->progs[0]); k++)
		bpf_program__set_autoload(progs[hook->progs[k]], true);
	bpf_program__set_autoload(skel->progs.floor_free, with_free);
	int err = floor_bpf__load(skel);
	if (!err)
		err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: load/attach: %s\n", strerror(-err));
		if (!attach_only)
			kill(pid, SIGKILL);
		return 1;
	}
	struct ring_buffer *rb = NULL;
	if (emit) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_event, NULL, NULL);
		if (!rb)
			return perror("floor: ring buffer"), 1;
	}
	if (!attach_only) {
		if (write(p[1], "g", 1) != 1)
			return perror("floor: start"), 1;
		close(p[1]);
	}

	for (;;) {
		/* not our child with --pid: poll for it to be gone */
		pid_t r = attach_only ? (gone(pid) ? pid : 0) : waitpid(pid, &status, WNOHANG);
		if (rb) {
			ring_buffer__poll(rb, 50);
			ring_buffer__consume(rb);
		} else {
			usleep(50000);
		}
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
	}
	if (rb)
		ring_buffer__consume(rb);

	enum { NCOUNT = sizeof(counter_names) / sizeof(counter_names[0]) };
	int ncpu = libbpf_num_possible_cpus();
	uint64_t tot[NCOUNT] = { 0 };
	uint64_t *vals = ncpu > 0 ? calloc((size_t)ncpu, sizeof(uint64_t)) : NULL;
	for (uint32_t k = 0; vals && k < NCOUNT; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counts), &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			tot[k] += vals[c];
	}
	free(vals);
	fprintf(stderr, "{\"floor\": {\"hook\": \"%s\"", hook->name);
	for (int k = 0; k < NCOUNT; k++)
		fprintf(stderr, ", \"%s\": %llu", counter_names[k], (unsigned long long)tot[k]);
	fprintf(stderr, ", \"drained\": %llu}}\n", (unsigned long long)g_drained);
	ring_buffer__free(rb);
	floor_bpf__destroy(skel);
	if (attach_only)
		return 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
