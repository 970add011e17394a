/* core_fixes.bpf.h - every kernel-version quirk sockrec depends on, in one
 * place, as CO-RE "___flavor" structs tested with bpf_core_field_exists().
 * spec/backends.md lists them with the kernels they were checked on.
 */
#ifndef CORE_FIXES_BPF_H
#define CORE_FIXES_BPF_H
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* Loads through a kernel pointer the program holds as a plain number (one
 * read out of an array of pointers, a `void *` member such as
 * file->private_data, a socket pointer kept in a map).
 *  >= 6.2: the kfunc bpf_rdonly_cast() turns the number into a BTF pointer;
 *          a field load through it is an inline fault-safe load (a fault
 *          reads 0, as a failed probe read does), about 1 ns.
 *  6.1:    no such kfunc: one bpf_probe_read_kernel() per field, ~32 ns
 *          (bench/RESULTS.md, lever 2).
 * The object is built twice, SR_DIRECT_LOADS 1 and 0 (Makefile), with the
 * same maps and globals; record/backend.c loads the direct one where the
 * kernel's BTF has bpf_rdonly_cast (and the other if that kernel refuses
 * it).  KREAD(type, ptr, a, b...) reads
 * ptr->a->b like BPF_CORE_READ((type *)ptr, a, b...), with members of
 * embedded structs written with dots as there.
 *
 * Only for scalar fields.  A pointer loaded this way is a pointer to the
 * verifier (6.18: `void *` gives rdonly_untrusted_mem, a struct pointer an
 * untrusted BTF pointer): it refuses it as a map key or in the socket
 * table's hash ("invalid size of register spill").  Pointers the program
 * keeps as numbers (file->private_data, socket->sk) are read with
 * BPF_CORE_READ, a probe read, on every kernel. */
#ifndef SR_DIRECT_LOADS
#define SR_DIRECT_LOADS 0
#endif
#if SR_DIRECT_LOADS
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KREAD(type, ptr, ...)                                                                  \
	({                                                                                     \
		type *___k = bpf_rdonly_cast((void *)(ptr), bpf_core_type_id_kernel(type));  \
		___arrow(___k, __VA_ARGS__);                                                   \
	})
#else
#define KREAD(type, ptr, ...) BPF_CORE_READ((type *)(ptr), __VA_ARGS__)
#endif

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
	if (bpf_core_field_exists(struct file, f_ref))
		return KREAD(struct file, f, f_ref.refcnt.counter) == 0;
	return KREAD(struct file___fcount, f, f_count.counter) == 1;
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
		return KREAD(struct sock, sk, sk_protocol);
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
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
