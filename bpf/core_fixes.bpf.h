/* core_fixes.bpf.h - every kernel-version quirk sockrec depends on, in one
 * place, as CO-RE "___flavor" structs tested with bpf_core_field_exists().
 * spec/backends.md lists them with the kernels they were checked on.
 */
#ifndef CORE_FIXES_BPF_H
#define CORE_FIXES_BPF_H
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* struct file's reference count.
 *  <= 6.12: atomic_long_t f_count, one reference == 1.
 *  >= 6.13: file_ref_t f_ref, whose counter stores (references - 1), so one
 *           reference == 0 (FILE_REF_ONEREF).
 */
struct file___fcount {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline int file_has_one_ref(struct file *f)
{
	if (bpf_core_field_exists(struct file, f_ref)) {
		long v = BPF_CORE_READ(f, f_ref.refcnt.counter);
		return v == 0;
	}
	struct file___fcount *o = (void *)f;
	return BPF_CORE_READ(o, f_count.counter) == 1;
}

/* A `void *` argument of a tp_btf program (kmem_cache_alloc/free's `ptr`).
 *  6.1:  the verifier refuses loading it from the context ("func
 *        'kmem_cache_alloc' arg1 type UNKNOWN is not a struct", then
 *        "invalid bpf_context access off=8 size=8"): btf_ctx_access() only
 *        accepts scalars and pointers to structs there.
 *  6.18: loads it as a scalar.
 * Copying it out of the argument array with a probe read works on both (the
 * array is the trampoline's u64 args[] on the kernel stack). */
static __always_inline __u64 tp_btf_void_ptr_arg(__u64 *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

/* sk_protocol was a bitfield before 5.6 and a u16 after; BPF_CORE_READ_BITFIELD
 * reads both. */
static __always_inline __u16 sk_protocol_of(struct sock *sk)
{
	if (bpf_core_field_size(sk->sk_protocol) == 2)
		return BPF_CORE_READ(sk, sk_protocol);
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

static __always_inline __u16 sk_type_of(struct sock *sk)
{
	if (bpf_core_field_size(sk->sk_type) == 2)
		return BPF_CORE_READ(sk, sk_type);
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
}

/* The syscall a task is in, from its user pt_regs.  Per-architecture.
 * bpf_task_pt_regs() returns a BTF pointer: plain loads, no helper call. */
static __always_inline long task_syscall_nr(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return -1;
#endif
}

static __always_inline unsigned long task_user_sp(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
#if defined(__TARGET_ARCH_x86)
	return regs->sp;
#elif defined(__TARGET_ARCH_arm64)
	return regs->sp;
#else
	return 0;
#endif
}

/* The user registers an unwinder starts from: pc, stack pointer, frame
 * pointer.  Returns 0, or -1 on an architecture not handled here (the
 * recorder's CFI unwinder knows x86-64 only). */
static __always_inline int task_user_regs(struct task_struct *task, __u64 *ip, __u64 *sp,
					  __u64 *bp)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
#if defined(__TARGET_ARCH_x86)
	*ip = regs->ip;
	*sp = regs->sp;
	*bp = regs->bp;
	return 0;
#else
	*ip = *sp = *bp = 0;
	return -1;
#endif
}

#endif
