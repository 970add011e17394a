// SPDX-License-Identifier: GPL-2.0
/* cfi_search.bpf.c - the core cost of the design sockrec did NOT choose:
 * unwinding in BPF from compact CFI tables (the OpenTelemetry eBPF
 * profiler's and Parca's way), measured with BPF_PROG_TEST_RUN.
 *
 * Per frame: a bpf_loop binary search of the frame's pc in a sorted array
 * map of rows (pc -> CFA rule, return-address offset), as such unwinders do
 * per module table, then two bpf_probe_read_user() of the caller's stack (the
 * return address and the saved frame pointer).  Everything else those
 * unwinders do (finding the module's table by pc, per-process mapping
 * lookups, emitting the stack) is left out: this is a lower bound.
 * It runs on the getppid() syscall tracepoint of the loader only, and
 * reads a buffer in the loader as the stack; the kernel's run-time
 * statistics (BPF_ENABLE_STATS) time it.  (BPF_PROG_TEST_RUN has no repeat
 * for the program types that may read user memory.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct row {
	__u64 pc;
	__u32 cfa_off;
	__u32 ra_off;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set by the loader */
	__type(key, __u32);
	__type(value, struct row);
} rows SEC(".maps");

const volatile __u32 nrows = 1;
const volatile __u32 depth = 1;
const volatile __u32 target_tgid = 0;

struct args {
	__u64 stack;       /* user address of a fake stack */
	__u64 pcs[32];     /* the pc of each frame, looked up in turn */
};

struct search {
	__u64 pc;
	__u32 lo, hi;
	__u32 found;
};

static long search_step(__u32 i, void *arg)
{
	struct search *s = arg;
	__u32 mid;
	struct row *r;

	if (s->lo + 1 >= s->hi)
		return 1;
	mid = s->lo + (s->hi - s->lo) / 2;
	r = bpf_map_lookup_elem(&rows, &mid);
	if (!r)
		return 1;
	if (r->pc <= s->pc)
		s->lo = mid;
	else
		s->hi = mid;
	return 0;
}

struct args a = {}; /* filled by the loader */

struct walk {
	__u64 sum;
};

static long frame_step(__u32 i, void *arg)
{
	struct walk *w = arg;
	struct search s = { .lo = 0, .hi = nrows };
	__u64 v[2];
	struct row *r;

	if (i >= 32)
		return 1;
	s.pc = a.pcs[i];
	bpf_loop(32, search_step, &s, 0);
	r = bpf_map_lookup_elem(&rows, &s.lo);
	if (!r)
		return 1;
	if (bpf_probe_read_user(v, sizeof(v), (void *)(a.stack + i * 16 + r->ra_off)))
		return 1;
	w->sum += v[0] + v[1] + r->cfa_off;
	return 0;
}

__u64 result = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int cfi_walk(void *ctx)
{
	struct walk w = { 0 };

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	bpf_loop(depth, frame_step, &w, 0);
	result = w.sum;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
