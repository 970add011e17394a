// SPDX-License-Identifier: GPL-2.0
/* floor.bpf.c - the "capture floor" for sockrec's default configuration.
 *
 * The same hooks as sockrec's tracepoint backend with default stacks:
 *   tp_btf/kmem_cache_alloc, filtered to the sock_inode_cache slab (by name
 *   until the first hit, then by pointer, as sockrec does), with a kernel
 *   and a user stack (bpf_get_stackid) and the word at the user stack
 *   pointer taken at each socket allocation;
 *   tracepoint syscalls/sys_enter_close;
 *   with --free (the "complete" floor, that sees every release): also
 *   tp_btf/kmem_cache_free of the sock_inode_cache slab, which runs from RCU
 *   in any task, so it is not filtered by pid.
 * With hook = fentry or kprobe (loader's --hook; the kernels that allow them,
 * where sockrec's fentry and kprobe backends run): the socket's own
 * allocation and release instead, each firing once per socket, with no
 * slab, close or free hook:
 *   fentry: fexit/sock_alloc + fentry/__sock_release
 *   kprobe: kretprobe/sock_alloc + kprobe/__sock_release
 * with the same stack policy (stacks at the allocation).  The loader picks
 * the programs with bpf_program__set_autoload, as sockrec does.
 * and nothing else: the stacks are captured and discarded, no event is
 * built and (by default) nothing goes to user space.  So this is the least
 * any recorder that takes those stacks on those hooks can cost.
 * With `emit` set, each hook also sends a fixed-size event through a ring
 * buffer (no wakeup; the loader drains on a timer): capture + transport.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "core_fixes.bpf.h"

const volatile __u32 target_tgid = 0;  /* 0 = every process */
const volatile bool want_stacks = true;
const volatile bool emit = false;

__u64 sock_cache = 0;

/* floor.c reads these in this order (its counter names table) */
enum { C_ALLOC, C_CLOSE, C_STACKFAIL, C_RBFAIL, C_FREE, C_RELEASE, C__MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 64 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct ev {
	__u64 ts;
	__u64 ptr;
	__u32 pid, tid;
	__s32 kstack, ustack;
	__u64 leaf;
	char comm[16];
};

static __always_inline void bump(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		*v += 1; /* per-CPU: no atomic needed */
}

static __always_inline bool mine(void)
{
	return !target_tgid || (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void send(__u64 ptr, __s32 ks, __s32 us, __u64 leaf)
{
	struct ev *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e) {
		bump(C_RBFAIL);
		return;
	}
	e->ts = bpf_ktime_get_ns();
	e->ptr = ptr;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->kstack = ks;
	e->ustack = us;
	e->leaf = leaf;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline bool sock_cache_p(struct kmem_cache *s)
{
	static const char want[] = "sock_inode_cache";
	char name[sizeof(want)];

	if (sock_cache)
		return (__u64)s == sock_cache;
	if (bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(s, name)) != sizeof(want))
		return false;
	for (int i = 0; i < (int)sizeof(want); i++)
		if (name[i] != want[i])
			return false;
	sock_cache = (__u64)s;
	return true;
}

/* An allocation seen by any hook: the stacks (unless --no-stacks) and the
 * event.  ctx is the hook's own context, which bpf_get_stackid takes. */
static __always_inline int on_alloc(void *ctx, __u64 ptr)
{
	__s32 ks = 0, us = 0;
	__u64 leaf = 0;

	bump(C_ALLOC);
	if (want_stacks) {
		/* the user stack pointer read as sockrec reads it (a plain
		 * load through the BTF pt_regs pointer) */
		struct task_struct *t = bpf_get_current_task_btf();
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
		unsigned long sp = regs->sp;

		ks = bpf_get_stackid(ctx, &stacks, 0);
		us = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (ks < 0 || us < 0)
			bump(C_STACKFAIL);
		if (sp)
			bpf_probe_read_user(&leaf, sizeof(leaf), (void *)sp);
	}
	if (emit)
		send(ptr, ks, us, leaf);
	return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int floor_alloc(__u64 *ctx)
{
	struct kmem_cache *s = (struct kmem_cache *)ctx[2];

	if (!s || !sock_cache_p(s) || !mine())
		return 0;
	/* ptr (a void *) is read only when it is sent: 6.1 refuses the plain
	 * load (core_fixes.bpf.h), and the verifier skips the branch when
	 * emit is false */
	return on_alloc(ctx, emit ? ctx[1] : 0);
}

SEC("fexit/sock_alloc")
int BPF_PROG(floor_fexit_alloc, struct socket *ret)
{
	if (!mine())
		return 0;
	/* ret used as a number: copied out of ctx (core_fixes.bpf.h) */
	return on_alloc(ctx, tp_btf_void_ptr_arg(ctx, 0));
}

SEC("kretprobe/sock_alloc")
int BPF_KRETPROBE(floor_kret_alloc, struct socket *ret)
{
	if (!mine())
		return 0;
	return on_alloc(ctx, (__u64)ret);
}

static __always_inline int on_release(__u64 ptr)
{
	if (!mine())
		return 0;
	bump(C_RELEASE);
	if (emit)
		send(ptr, 0, 0, 0);
	return 0;
}

SEC("fentry/__sock_release")
int BPF_PROG(floor_fentry_release, struct socket *sock)
{
	return on_release(tp_btf_void_ptr_arg(ctx, 0));
}

SEC("kprobe/__sock_release")
int BPF_KPROBE(floor_kprobe_release, struct socket *sock)
{
	return on_release((__u64)sock);
}

SEC("tracepoint/syscalls/sys_enter_close")
int floor_close(struct trace_event_raw_sys_enter *ctx)
{
	if (!mine())
		return 0;
	bump(C_CLOSE);
	if (emit)
		send(ctx->args[0], 0, 0, 0);
	return 0;
}

SEC("tp_btf/kmem_cache_free")
int floor_free(__u64 *ctx)
{
	__u64 ptr = 0;

	if (!sock_cache || ctx[2] != sock_cache)
		return 0;
	bump(C_FREE);
	if (emit) {
		/* ptr is a void *: copied out as sockrec does (core_fixes.bpf.h) */
		bpf_probe_read_kernel(&ptr, sizeof(ptr), &ctx[1]);
		send(ptr, 0, 0, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
