// SPDX-License-Identifier: GPL-2.0
/* sockrec.bpf.c - kernel side of sockrec.
 *
 * One object, one program per hook.  Three ways to see a socket's birth and
 * death; user space turns on one of them with bpf_program__set_autoload():
 *   fentry:     fexit/sock_alloc,       fentry/__sock_release
 *   kprobe:     kretprobe/sock_alloc,   kprobe/__sock_release
 *   tracepoint: tp_btf/kmem_cache_alloc + kmem_cache_free on the
 *               sock_inode_cache slab, and close()/dup2()/dup3() syscall
 *               tracepoints for the release in process context.
 * Everything else (TCP state, connect, accept, socket info, process
 * lifecycle) is tracepoints on every backend.
 *
 * Policy lives in user space: filters and the stack policy are const
 * volatile rodata set before load.  Kernel pointers stay here; events
 * carry serials.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "core_fixes.bpf.h"
#include "ringbuf_events.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define O_NONBLOCK 04000
#define PF_KTHREAD 0x00200000
#define PF_EXITING 0x00000004
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define EINPROGRESS 115
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* ---- configuration (rodata, set by user space before load) ---- */
const volatile __u32 stack_policy = SR_STK_ALLOC_K | SR_STK_ALLOC_U;
const volatile bool filter_pids = false;    /* only tgids in `tracked` */
const volatile bool filter_comm_on = false;
const volatile char filter_comm[SR_COMM_LEN] = {};
const volatile __u64 filter_cgroup = 0;     /* cgroup v2 id, 0 = any */
const volatile __u32 filter_netns = 0;      /* netns inode, 0 = any */
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile __u32 self_tgid = 0;         /* never trace the recorder itself */
/* Tracepoint backend only: at process exit, report the releases of the
 * sockets whose last reference the exit drops (the other backends see
 * __sock_release itself, in the exiting task). */
const volatile bool release_at_exit = false;
/* This architecture's socket() and socketpair() numbers (-1: unknown):
 * allocations inside them are emitted once, at the syscall's return. */
const volatile __s32 nr_socket = -1;
const volatile __s32 nr_socketpair = -1;
/* accept() and accept4(): the socket they allocate is remembered in
 * `inflight`, so that a failed call (EAGAIN...) reports its release at the
 * syscall's exit, in the caller's name, instead of at the RCU free. */
const volatile __s32 nr_accept = -1;
const volatile __s32 nr_accept4 = -1;
/* User stacks: 0 = the kernel's frame-pointer walk (bpf_get_stackid);
 * otherwise copy this many bytes of user stack (at most SR_USTACK_MAX) with
 * the registers, for the recorder's CFI unwinder (`--user-stacks=dwarf`). */
const volatile __u32 ustack_copy = 0;
/* Fault injection for the tests (SOCKREC_TEST_SKIP_FREES): the free hook
 * ignores the free of every socket whose serial is a multiple of this, as
 * when the kernel skips the hook's run.  0 (always, outside the tests):
 * the verifier prunes the check, it costs nothing. */
const volatile __u32 test_skip_free_mod = 0;
/* The kernel-stack cache (--no-kstack-cache turns it off): the kernel stack
 * of an allocation inside socket/socketpair/accept/accept4 is walked once
 * per call site and its id reused; 1 in kstack_check_every (a power of two)
 * is walked again and compared. */
const volatile bool kstack_cache_on = true;
const volatile __u32 kstack_check_every = 64;

/* ---- state shared with user space ---- */
/* Serials for struct socket and struct sock: written (atomically) for every
 * socket, from every CPU.  In a section, and so a page, of its own: next to
 * sock_cache, stack_epoch and fast_tgid, which every slab-hook run reads,
 * each increment would steal their cache line from the other CPUs. */
__u64 next_serial SEC(".data.serial") = 0;
__u32 stack_epoch = 0;          /* which stack map is current (user space flips it) */
__u64 sock_cache = 0;           /* learned struct kmem_cache * of sock_inode_cache */
/* A tgid known to be in `tracked` (the command sockrec started, or the one
 * -p pid): the filter's hot path is one comparison instead of a hash
 * lookup.  Cleared when that process exits (its pid may be reused). */
__u32 fast_tgid = 0;

struct sock_val {
	__u32 slot;              /* its index in `socks` (and in its key bucket) */
	__u32 _pad1;
	__u64 serial;
	__u64 sk;                /* struct sock *, once known */
	/* The TCP sock's serial while it has no `sks` entry: a TCP sock gets
	 * one only once it changes state (most never do: socket() + close()
	 * of an unconnected socket), which saves a hash insert and delete. */
	__u64 sk_serial;
	__u32 owner;             /* tgid that allocated (or accepted) it */
	__u8 released;           /* release already reported */
	__u8 sk_mapped;          /* sk has an `sks` entry (forget_sk must look) */
	__u8 _pad0[2];
	/* An allocation not emitted yet (pending): what its event needs. */
	__u32 pending;
	__u32 alloc_tid;
	__u64 alloc_ts;
	struct sr_stacks st;
	__u8 alloc_flags;
	__u8 _pad[3];
	__s32 sysnr;
};

struct sk_val {
	__u64 serial;            /* struct sock serial */
	__u64 sock_serial;       /* owning struct socket's serial, 0 if none */
	__u32 owner;
	__u32 _pad;
};

struct sys_args {
	__u64 ts;
	__u64 arg1;              /* sockaddr * (connect/accept) or int sv[2] * (socketpair) */
	__s32 fd;
	__u32 nallocs;           /* socketpair: sockets allocated so far in the call */
	__u64 sock;              /* accept: the struct socket * the call allocated */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* The live sockets: a table in two ARRAY maps, not a HASH map, whose
 * insert plus delete costs ~274 ns here (preallocated).  struct socket *
 * sock may live in the SOCK_WAYS slots of bucket sock_bucket(sock): their
 * keys share one cache line in `sock_keys` (a lookup is one array lookup and
 * eight compares), their values are `socks`[bucket * SOCK_WAYS + way].  A
 * slot is claimed with a compare-and-swap of its key (0: free) and freed by
 * clearing it.  A full bucket is a loss (SR_LOSS_SOCKMAP), as a full hash
 * map was. */
#define SOCK_WAYS 8
#define SOCK_BUCKETS (1 << 13)
_Static_assert((SOCK_BUCKETS & (SOCK_BUCKETS - 1)) == 0, "a power of two");

struct sock_keys_bucket {
	__u64 k[SOCK_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SOCK_BUCKETS);
	__type(key, __u32);
	__type(value, struct sock_keys_bucket);
} sock_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SOCK_BUCKETS * SOCK_WAYS);
	__type(key, __u32);
	__type(value, struct sock_val);
} socks SEC(".maps");

/* Not an LRU map: LRU maps evict before they are full (per-CPU free
 * lists), which gave one struct sock two serials.  Entries are removed
 * explicitly: when a TCP sock reaches CLOSE without a socket, or when its
 * socket goes away while it is already closed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);      /* struct sock * */
	__type(value, struct sk_val);
} sks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);      /* tgid */
	__type(value, __u8);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);      /* family << 16 | local port */
	__type(value, __u32);    /* owner tgid of the listener */
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);      /* struct sock * of a not-yet-accepted child */
	__type(value, __u64);    /* when it became ESTABLISHED */
} estab SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);      /* tid */
	__type(value, struct sys_args);
} inflight SEC(".maps");

/* Two stack maps, used alternately (stack_epoch), so that user space can
 * drain and clear one while the other fills: ids never change meaning
 * under the reader's feet, and BPF_F_REUSE_STACKID is never needed. */
struct stackmap {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, SR_STACK_DEPTH * sizeof(__u64));
};
struct stackmap stacks0 SEC(".maps");
struct stackmap stacks1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SR_LOSS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");

struct kst_val {
	__u32 epoch;             /* stack_epoch + 1 when id was taken; 0: empty */
	__s32 id;                /* take_stack()'s value: stack id + 1 */
	__u32 off;               /* a check failed: always walk */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SR_KST__MAX);
	__type(key, __u32);
	__type(value, struct kst_val);
} kstack_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SR_KSTS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} kst_stats SEC(".maps");

/* One user-stack copy in flight per CPU.  A tracepoint or kprobe program
 * runs with preemption off; an fentry program only with migration off, so
 * on a fully preemptible kernel another task's run on this CPU can start
 * while one is copying: ustack_busy turns that second copy away (a lost
 * stack, counted) instead of letting both write the one buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sr_ustack);
} ustack_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ustack_busy SEC(".maps");

static __always_inline void count_loss(__u32 kind)
{
	__u64 *v = bpf_map_lookup_elem(&losses, &kind);
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Slab objects of one cache are some hundred bytes apart: drop the low
 * bits, then a multiplicative hash to spread the rest over the buckets. */
static __always_inline __u32 sock_bucket(__u64 sock)
{
	return (__u32)(((sock >> 6) * 0x9E3779B97F4A7C15ull) >> 40) & (SOCK_BUCKETS - 1);
}

/* The live entry of struct socket * sock, or NULL. */
static __always_inline struct sock_val *socks_get(__u64 sock)
{
	__u32 b = sock_bucket(sock);
	struct sock_keys_bucket *kb = bpf_map_lookup_elem(&sock_keys, &b);

	if (!sock || !kb)
		return NULL;
	for (__u32 i = 0; i < SOCK_WAYS; i++) {
		if (kb->k[i] == sock) {
			__u32 idx = b * SOCK_WAYS + i;
			return bpf_map_lookup_elem(&socks, &idx);
		}
	}
	return NULL;
}

/* A free slot for sock (not in the table), its key set and v->slot filled
 * in; NULL if sock's bucket is full.  The caller fills in the rest. */
static __always_inline struct sock_val *socks_claim(__u64 sock)
{
	__u32 b = sock_bucket(sock);
	struct sock_keys_bucket *kb = bpf_map_lookup_elem(&sock_keys, &b);

	if (!kb)
		return NULL;
	for (__u32 i = 0; i < SOCK_WAYS; i++) {
		if (kb->k[i] == 0 && __sync_val_compare_and_swap(&kb->k[i], 0, sock) == 0) {
			__u32 idx = b * SOCK_WAYS + i;
			struct sock_val *v = bpf_map_lookup_elem(&socks, &idx);

			if (v) {
				v->slot = idx;
				v->serial = 0; /* not filled in yet (socks_other) */
			} else
				kb->k[i] = 0;
			return v;
		}
	}
	return NULL;
}

/* Another way of sock's bucket that holds sock and stands before ours:
 * a lower way, or one already filled in (serial set).  Two CPUs that
 * claim one sock at once (adopt_socket) then keep one entry, unless one
 * checks in the instant between the other's check and its filling in. */
static __always_inline struct sock_val *socks_other(__u64 sock, struct sock_val *self)
{
	__u32 b = sock_bucket(sock);
	struct sock_keys_bucket *kb = bpf_map_lookup_elem(&sock_keys, &b);

	if (!kb)
		return NULL;
	for (__u32 i = 0; i < SOCK_WAYS; i++) {
		__u32 idx = b * SOCK_WAYS + i;
		struct sock_val *v;

		if (kb->k[i] != sock || idx == self->slot)
			continue;
		v = bpf_map_lookup_elem(&socks, &idx);
		if (v && (idx < self->slot || v->serial))
			return v;
	}
	return NULL;
}

static __always_inline void socks_del(struct sock_val *v)
{
	__u32 b = v->slot / SOCK_WAYS;
	struct sock_keys_bucket *kb = bpf_map_lookup_elem(&sock_keys, &b);

	if (kb)
		kb->k[v->slot & (SOCK_WAYS - 1)] = 0;
}

static __always_inline __u64 new_serial(void)
{
	return __sync_fetch_and_add(&next_serial, 1) + 1;
}

/* ---- filters ---- */

static __always_inline bool comm_matches(void)
{
	char comm[SR_COMM_LEN];

	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < SR_COMM_LEN; i++) {
		if (comm[i] != filter_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* Does the current task pass the filters?  Used by events in process
 * context; softirq-context events are filtered by socket membership. */
static __always_inline bool task_wanted_id(__u64 id)
{
	__u32 tgid = id >> 32;

	if (tgid == self_tgid)
		return false;
	if (filter_pids && tgid != fast_tgid && !bpf_map_lookup_elem(&tracked, &tgid))
		return false;
	if (filter_comm_on && !comm_matches())
		return false;
	if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup)
		return false;
	if (filter_netns) {
		struct task_struct *t = bpf_get_current_task_btf();
		if (BPF_CORE_READ(t, nsproxy, net_ns, ns.inum) != filter_netns)
			return false;
	}
	return true;
}

static __always_inline bool task_wanted(void)
{
	return task_wanted_id(bpf_get_current_pid_tgid());
}

/* ---- event helpers ---- */

static __always_inline void fill_hdr(struct sr_hdr *h, __u8 kind)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->kind = kind;
	h->flags = (stack_epoch & 1) ? SR_F_STACK_EPOCH1 : 0;
	h->cpu = (__u16)bpf_get_smp_processor_id();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->_pad = 0;
	h->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline void submit(void *e)
{
	/* Wake the consumer only past a fill threshold (wakeup_bytes): a
	 * wakeup per event is an irq_work and a context switch per socket,
	 * which halved throughput when this was written; the recorder drains
	 * on a timer in between. */
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(e, avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void *reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count_loss(SR_LOSS_RINGBUF);
	return e;
}

static __always_inline __s32 take_stack(void *ctx, __u64 flags)
{
	long id;

	if (stack_epoch & 1)
		id = bpf_get_stackid(ctx, &stacks1, flags);
	else
		id = bpf_get_stackid(ctx, &stacks0, flags);
	if (id < 0) {
		count_loss(SR_LOSS_STACK);
		return (__s32)id;
	}
	return (__s32)id + 1; /* 0 is kept for "not asked" */
}

/* Copy [sp, sp + ustack_copy) of the current task's user stack and its
 * registers into the ring buffer, ahead of the event that refers to it.
 * Page by page: a read that faults (the top of a thread's stack mapping)
 * ends the copy but keeps what was read.  The main thread's copy ends at
 * mm->start_stack, above which no frame lives; another thread's at the end
 * of its stack's mapping (bpf_find_vma), so that a shallow thread stack
 * does not cost the whole cap in copying and ring-buffer bandwidth. */
/* bpf_find_vma() callback: the end of the mapping holding the stack pointer. */
static long stack_vma_end(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = vma->vm_end;
	return 0;
}

static __always_inline void copy_ustack_locked(struct sr_stacks *st, struct task_struct *t);

static __always_inline void copy_ustack(struct sr_stacks *st)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 zero = 0, *busy;

	st->ustack = -14; /* -EFAULT: no user context */
	if (t->flags & PF_KTHREAD || !t->mm)
		return;
	busy = bpf_map_lookup_elem(&ustack_busy, &zero);
	if (!busy)
		return;
	/* A try-lock from an atomic add whose result is not used (BPF_XADD:
	 * no -mcpu=v3 needed) and a read after it: whoever reads 1 was alone
	 * at that moment, and a run that started later reads 2 and backs off. */
	__sync_fetch_and_add(busy, 1);
	if (*(volatile __u32 *)busy != 1) { /* preempted mid-copy: see ustack_busy */
		__sync_fetch_and_add(busy, -1);
		count_loss(SR_LOSS_STACK);
		st->ustack = -16; /* -EBUSY */
		return;
	}
	copy_ustack_locked(st, t);
	__sync_fetch_and_add(busy, -1);
}

static __always_inline void copy_ustack_locked(struct sr_stacks *st, struct task_struct *t)
{
	__u64 off = 0, cap = ustack_copy;
	__u32 zero = 0, flags = SR_UC_CAP;
	struct sr_ustack *u;
	__u64 top;

	u = bpf_map_lookup_elem(&ustack_buf, &zero);
	if (!u || task_user_regs(t, &u->ip, &u->sp, &u->bp))
		return;
	if (cap > SR_USTACK_MAX)
		cap = SR_USTACK_MAX;
	top = t->mm->start_stack;
	if (u->sp > top || top - u->sp >= cap) {
		top = 0; /* not the main thread's stack, or deeper than the cap */
		if (bpf_find_vma(t, u->sp, stack_vma_end, &top, 0))
			top = 0;
	}
	if (top > u->sp && top - u->sp < cap) {
		cap = top - u->sp;
		flags = SR_UC_TOP;
	}
	for (int i = 0; i < SR_USTACK_MAX / SR_USTACK_PAGE + 1; i++) {
		__u64 a = u->sp + off;
		__u64 n = SR_USTACK_PAGE - (a & (SR_USTACK_PAGE - 1));

		if (off >= cap)
			break;
		if (n > cap - off)
			n = cap - off;
		/* Redundant for the compiler, not for the verifier: keep it. */
		asm volatile("" : "+r"(n));
		if (n > SR_USTACK_PAGE)
			break;
		/* A no-op here (n <= a page), for 6.1's verifier, which loses the
		 * check above when the compiler spills n (the buffer has two
		 * pages of slack for it). */
		asm volatile("" : "+r"(n));
		n &= 2 * SR_USTACK_PAGE - 1;
		if (bpf_probe_read_user(&u->data[off & (SR_USTACK_MAX - 1)], n, (void *)a)) {
			flags = SR_UC_FAULT;
			break;
		}
		off += n;
	}
	asm volatile("" : "+r"(off)); /* keep the bound for the verifier */
	if (off > SR_USTACK_MAX)
		off = SR_USTACK_MAX;
	fill_hdr(&u->h, SR_EV_USTACK);
	u->cookie = u->h.ts;
	u->len = (__u32)off;
	u->flags = flags;
	if (bpf_ringbuf_output(&events, u, SR_USTACK_HDR_LEN + off, BPF_RB_NO_WAKEUP)) {
		/* the event itself is still sent: a lost stack, not a lost event */
		count_loss(SR_LOSS_STACK);
		st->ustack = -28; /* -ENOSPC */
		return;
	}
	st->ustack = SR_USTACK_COPIED;
	st->ucookie = u->cookie;
}

static __always_inline void take_stacks(void *ctx, struct sr_stacks *st, __u32 kbit, __u32 ubit)
{
	st->kstack = 0;
	st->ustack = 0;
	st->leaf_ret = 0;
	st->ucookie = 0;
	if (stack_policy & kbit)
		st->kstack = take_stack(ctx, 0);
	if ((stack_policy & ubit) && ustack_copy) {
		copy_ustack(st);
	} else if (stack_policy & ubit) {
		struct task_struct *t = bpf_get_current_task_btf();
		unsigned long sp;

		st->ustack = take_stack(ctx, BPF_F_USER_STACK);
		/* The frame-pointer walk cannot see the caller of a leaf that
		 * builds no frame (libc's syscall stubs): keep the word at the
		 * user stack pointer so that user space can recover it. */
		sp = task_user_sp(t);
		if (sp)
			bpf_probe_read_user(&st->leaf_ret, sizeof(st->leaf_ret), (void *)sp);
	}
}

/* ---- the kernel-stack cache ---- */

static __always_inline void kst_count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&kst_stats, &k);
	if (v)
		*v += 1; /* per-CPU */
}

/* Which cache slot an allocation made in syscall nr by task id uses, or -1:
 * walk its stack in full (kernel sockets, io_uring, other syscalls). */
static __always_inline int kst_slot(__s32 nr, __u64 id)
{
	if (!kstack_cache_on || !(stack_policy & SR_STK_ALLOC_K) || nr < 0)
		return -1;
	if (nr == nr_socket)
		return SR_KST_SOCKET;
	if (nr == nr_accept)
		return SR_KST_ACCEPT;
	if (nr == nr_accept4)
		return SR_KST_ACCEPT4;
	if (nr == nr_socketpair) {
		/* two call sites, in this order: the call's first or second */
		__u32 tid = (__u32)id;
		struct sys_args *a = bpf_map_lookup_elem(&inflight, &tid);

		if (!a || a->nallocs > 1)
			return -1;
		return SR_KST_SOCKETPAIR1 + a->nallocs++;
	}
	return -1;
}

/* The kernel stack id of an allocation on cache path `slot`: the cached one
 * when this stack map epoch has one, else a full walk that fills it.  One
 * in kstack_check_every is walked anyway and compared: a mismatch is
 * counted (a loss, in the file) and turns the cache off for the path, so
 * that a wrong stack is never shown for long.
 * One walk site only: a tracing program's walk starts at its own call site
 * (its first frame is in the BPF program), so walks from two sites of the
 * same kernel path get two ids, and the check would always fail. */
static __always_inline __s32 kstack_cached(void *ctx, __u32 slot)
{
	struct kst_val *c = bpf_map_lookup_elem(&kstack_cache, &slot);
	__u32 ep = stack_epoch + 1, k = SR_KSTS_LOOKUPS;
	bool fill = false, check = false;
	__u64 *n;
	__s32 id;

	if (c && !c->off) {
		if (c->epoch != ep) {
			fill = true;
		} else if ((n = bpf_map_lookup_elem(&kst_stats, &k))) {
			*n += 1;
			if (*n & (kstack_check_every - 1))
				return c->id;
			check = true;
		}
	}
	id = take_stack(ctx, 0);
	if (!c || id <= 0)
		return id;
	if (fill && stack_epoch + 1 == ep) { /* not across a flip */
		c->id = id;
		c->epoch = ep;
	} else if (check) {
		kst_count(SR_KSTS_CHECKS);
		if (id != c->id) {
			kst_count(SR_KSTS_MISMATCHES);
			count_loss(SR_LOSS_KSTACK_MISMATCH);
			c->off = 1;
		}
	}
	return id;
}

static __always_inline __s32 current_sysnr(__u8 *flags)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (t->flags & PF_KTHREAD) {
		*flags |= SR_F_KTHREAD;
		return -1;
	}
	return (__s32)task_syscall_nr(t);
}

/* ---- fd table ---- */

static __always_inline struct file *fd_file(int fd)
{
	/* Direct loads through the BTF task pointer (the verifier turns them
	 * into inline fault-safe loads): no helper call per field. */
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd; /* a pointer to pointers: a scalar to the verifier */
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Is f a socket's file?  Every process's close() runs the close hook, so
 * the closes of everything else (a bystander's files) should end here.
 * Only with direct loads: two probe reads cost more than the socket-table
 * lookup they would save. */
static __always_inline bool maybe_socket_file(struct file *f)
{
	if (!SR_DIRECT_LOADS)
		return true;
	return (KREAD(struct file, f, f_inode, i_mode) & S_IFMT) == S_IFSOCK;
}

/* The socket behind fd, if it is one we track. */
static __always_inline struct sock_val *fd_sock(int fd, __u64 *sockp, struct file **fp)
{
	struct file *f = fd_file(fd);
	__u64 sock;

	if (!f || !maybe_socket_file(f))
		return NULL;
	sock = (__u64)BPF_CORE_READ(f, private_data); /* a number: core_fixes.bpf.h */
	if (!sock)
		return NULL;
	*sockp = sock;
	if (fp)
		*fp = f;
	return socks_get(sock);
}

/* ---- alloc ---- */

/* Emit a held-back allocation (optionally with its socket info). */
static __always_inline void flush_alloc(struct sock_val *v, struct sr_sockinfo *info,
				       bool process_ctx)
{
	struct sr_alloc *e;

	v->pending = 0;
	if (v->st.ustack == SR_USTACK_DEFER) {
		/* Still in the allocating syscall: its user stack is unchanged.
		 * Elsewhere (an RCU free, or the allocator's next close() after
		 * a socketpair() whose exit was not completed) the user stack is
		 * another call's: never record it as the allocation's. */
		if (process_ctx && (__u32)bpf_get_current_pid_tgid() == v->alloc_tid &&
		    (__s32)task_syscall_nr(bpf_get_current_task_btf()) == v->sysnr)
			copy_ustack(&v->st);
		else
			v->st.ustack = -14;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return;
	if (info) {
		/* Same task, same moment: reuse its header (pid, comm, cpu)
		 * rather than calling the helpers again. */
		e->h = info->h;
		e->h.kind = SR_EV_ALLOC;
	} else {
		fill_hdr(&e->h, SR_EV_ALLOC);
	}
	e->h.ts = v->alloc_ts;
	e->h.tid = v->alloc_tid;
	e->h.flags = v->alloc_flags;
	e->serial = v->serial;
	e->st = v->st;
	e->sysnr = v->sysnr;
	e->has_info = info ? 1 : 0;
	e->info_ts = info ? info->h.ts : 0;
	e->sk_serial = info ? info->sk_serial : 0;
	e->fd = info ? info->fd : -1;
	e->ino = info ? info->ino : 0;
	e->family = info ? info->family : 0;
	e->type = info ? info->type : 0;
	e->protocol = info ? info->protocol : 0;
	e->origin = info ? info->origin : 0;
	submit(e);
}

static __always_inline int emit_release(void *ctx, __u64 sock, struct sock_val *v, __u32 how,
					int fd, bool process_ctx);
static __always_inline void forget_sk(struct sock_val *v);

/* Enter a new socket.  An entry still there for the address is a socket
 * whose free the kernel skipped (a free nested in another run of the free
 * hook is not run: its recursion guard): the slab has reused the address.
 * Write the release it missed, marked as inferred, and count it, rather
 * than overwrite it silently. */
static __always_inline int insert_sock(void *ctx, __u64 sock, struct sock_val *v)
{
	struct sock_val *slot = socks_get(sock);

	if (slot) {
		if (!slot->released) {
			count_loss(SR_LOSS_REUSED);
			emit_release(ctx, sock, slot, SR_HOW_REUSED, -1, false);
		}
		forget_sk(slot);
	} else {
		slot = socks_claim(sock);
	}
	if (!slot) {
		count_loss(SR_LOSS_SOCKMAP);
		return -1;
	}
	v->slot = slot->slot;
	*slot = *v;
	return 0;
}

static __always_inline int on_alloc(void *ctx, __u64 sock)
{
	struct sock_val v = {};
	struct sr_alloc *e;
	__u8 flags = (stack_epoch & 1) ? SR_F_STACK_EPOCH1 : 0;
	__u64 id = bpf_get_current_pid_tgid();
	__s32 nr;
	int slot;

	if (!sock || !task_wanted_id(id))
		return 0;
	v.serial = new_serial();
	v.owner = id >> 32;
	nr = current_sysnr(&flags);
	slot = kst_slot(nr, id);
	if (nr >= 0 && (nr == nr_socket || nr == nr_socketpair)) {
		/* Completed at the syscall's return (tp_exit_socket*). */
		v.pending = 1;
		v.alloc_tid = (__u32)id;
		v.alloc_ts = bpf_ktime_get_ns();
		v.alloc_flags = flags;
		v.sysnr = nr;
		take_stacks(ctx, &v.st, slot >= 0 ? 0 : SR_STK_ALLOC_K, ustack_copy ? 0 : SR_STK_ALLOC_U);
		if (slot >= 0)
			v.st.kstack = kstack_cached(ctx, (__u32)slot);
		if (ustack_copy && (stack_policy & SR_STK_ALLOC_U))
			v.st.ustack = SR_USTACK_DEFER;
		insert_sock(ctx, sock, &v);
		return 0;
	}
	if (insert_sock(ctx, sock, &v))
		return 0;
	if (nr >= 0 && (nr == nr_accept || nr == nr_accept4)) {
		__u32 tid = (__u32)id;
		struct sys_args *a = bpf_map_lookup_elem(&inflight, &tid);

		if (a)
			a->sock = sock;
	}
	/* Stacks before the reservation: a user-stack copy must reach the
	 * ring buffer ahead of the event that names it. */
	take_stacks(ctx, &v.st, slot >= 0 ? 0 : SR_STK_ALLOC_K, SR_STK_ALLOC_U);
	if (slot >= 0)
		v.st.kstack = kstack_cached(ctx, (__u32)slot);
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, SR_EV_ALLOC);
	e->h.flags |= flags & SR_F_KTHREAD;
	e->serial = v.serial;
	e->st = v.st;
	e->sysnr = nr;
	e->fd = -1;
	submit(e);
	return 0;
}

/* The socket table hashes the pointer: the verifier allows no arithmetic on
 * a BTF pointer argument, so copy it out of the context as a number. */
SEC("fexit/sock_alloc")
int BPF_PROG(fexit_sock_alloc, struct socket *ret)
{
	return on_alloc(ctx, tp_btf_void_ptr_arg(ctx, 0)); /* ret: no arguments before it */
}

SEC("kretprobe/sock_alloc")
int BPF_KRETPROBE(kretprobe_sock_alloc, struct socket *ret)
{
	return on_alloc(ctx, (__u64)ret);
}

static __always_inline bool is_sock_cache(struct kmem_cache *s)
{
	static const char want[] = "sock_inode_cache";
	char name[sizeof(want)];

	if (sock_cache)
		return (__u64)s == sock_cache;
	/* Until the first socket is seen, compare the cache's name; then
	 * remember its address so that the hot path is one comparison. */
	if (bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(s, name)) != sizeof(want))
		return false;
	for (int i = 0; i < (int)sizeof(want); i++)
		if (name[i] != want[i])
			return false;
	sock_cache = (__u64)s;
	return true;
}

/* kmem_cache_alloc(call_site, ptr, s, ...): the argument list changed over
 * the years but ptr and s kept positions 1 and 2 (6.1 and 6.18 checked). */
SEC("tp_btf/kmem_cache_alloc")
int tp_kmem_cache_alloc(__u64 *ctx)
{
	struct kmem_cache *s = (struct kmem_cache *)ctx[2];

	if (!s || !is_sock_cache(s))
		return 0;
	/* struct socket is the first member of struct socket_alloc.  ptr is
	 * a void *: not a plain context load on 6.1 (core_fixes.bpf.h). */
	return on_alloc(ctx, tp_btf_void_ptr_arg(ctx, 1));
}

/* ---- release ---- */

/* The socket of sk is gone.  A TCP sock lives on after close()
 * (FIN_WAIT, LAST_ACK, ...) and its later states must keep their serial:
 * keep it until it reaches CLOSE (inet_sock_set_state removes it then). */
static __always_inline void forget_sk(struct sock_val *v)
{
	__u64 sk = v->sk;

	if (!sk || !v->sk_mapped)
		return; /* no `sks` entry was made through this socket */
	if (KREAD(struct sock, sk, __sk_common.skc_state) != TCP_CLOSE &&
	    KREAD(struct sock, sk, __sk_common.skc_family) != AF_UNIX &&
	    sk_protocol_of((struct sock *)sk) == IPPROTO_TCP)
		return;
	bpf_map_delete_elem(&sks, &sk);
}

static __always_inline int emit_release(void *ctx, __u64 sock, struct sock_val *v, __u32 how,
					int fd, bool process_ctx)
{
	struct sr_release *e;
	struct sr_stacks st = {};

	if (v->pending)
		flush_alloc(v, NULL, process_ctx); /* made and gone within its syscall */
	v->released = 1;
	if (process_ctx)
		take_stacks(ctx, &st, SR_STK_RELEASE_K, SR_STK_RELEASE_U);
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->h, SR_EV_RELEASE);
	e->serial = v->serial;
	e->st = st;
	if (process_ctx)
		e->sysnr = current_sysnr(&e->h.flags);
	else
		e->sysnr = -1;
	e->how = how;
	e->fd = fd;
	e->_pad = 0;
	submit(e);
	return 0;
}

static __always_inline int on_sock_release(void *ctx, __u64 sock)
{
	struct sock_val *v = socks_get(sock);
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 how = SR_HOW_SYSCALL;

	if (!v)
		return 0;
	if (t->flags & PF_EXITING)
		how = SR_HOW_EXIT;
	else if (t->flags & PF_KTHREAD)
		how = SR_HOW_OTHER;
	if (!v->released)
		emit_release(ctx, sock, v, how, -1, true);
	forget_sk(v);
	socks_del(v);
	return 0;
}

SEC("fentry/__sock_release")
int BPF_PROG(fentry_sock_release, struct socket *sock)
{
	return on_sock_release(ctx, tp_btf_void_ptr_arg(ctx, 0)); /* a number: see fexit_sock_alloc */
}

SEC("kprobe/__sock_release")
int BPF_KPROBE(kprobe_sock_release, struct socket *sock)
{
	return on_sock_release(ctx, (__u64)sock);
}

/* Tracepoint backend: a close()/dup2() that drops the file's last
 * reference is where the socket is released, in the caller's context. */
static __always_inline int release_fd(void *ctx, int fd, __u32 how)
{
	struct file *f = NULL;
	__u64 sock = 0;
	struct sock_val *v = fd_sock(fd, &sock, &f);

	if (!v || v->released || !file_has_one_ref(f))
		return 0;
	return emit_release(ctx, sock, v, how, fd, true);
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	return release_fd(ctx, (int)ctx->args[0], SR_HOW_CLOSE);
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int tp_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return release_fd(ctx, (int)ctx->args[1], SR_HOW_DUP2);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int tp_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return release_fd(ctx, (int)ctx->args[1], SR_HOW_DUP2);
}

/* The slab free of the socket is the ground truth that it is gone (it
 * runs from RCU, in no useful context).  If no release was reported
 * (exit, fd passed away, kernel socket) report it here. */
SEC("tp_btf/kmem_cache_free")
int tp_kmem_cache_free(__u64 *ctx)
{
	__u64 sock;
	struct sock_val *v;

	if (!sock_cache || ctx[2] != sock_cache)
		return 0;
	sock = tp_btf_void_ptr_arg(ctx, 1); /* a void *: see core_fixes.bpf.h */
	v = socks_get(sock);
	if (!v)
		return 0;
	if (test_skip_free_mod && v->serial % test_skip_free_mod == 0)
		return 0;
	if (!v->released)
		emit_release(ctx, sock, v, SR_HOW_FREED, -1, false);
	forget_sk(v);
	socks_del(v);
	return 0;
}

/* ---- socket info at syscall exit ---- */

static __always_inline struct sk_val *sk_track(__u64 sk, __u64 sock_serial, __u32 owner,
					       __u64 serial)
{
	struct sk_val *kv = bpf_map_lookup_elem(&sks, &sk);
	struct sk_val nv = {};

	if (kv) {
		if (sock_serial)
			kv->sock_serial = sock_serial;
		if (owner)
			kv->owner = owner;
		return kv;
	}
	nv.serial = serial ? serial : new_serial();
	nv.sock_serial = sock_serial;
	nv.owner = owner;
	if (bpf_map_update_elem(&sks, &sk, &nv, BPF_ANY)) {
		count_loss(SR_LOSS_SKMAP);
		return NULL;
	}
	return bpf_map_lookup_elem(&sks, &sk);
}

/* The serial of v's TCP sock sk: its `sks` entry's when it has one (it has
 * changed state, or was made by a listener), else the one kept in v until
 * the sock first changes state (tp_inet_sock_set_state then moves it). */
static __always_inline __u64 sock_sk_serial(struct sock_val *v, __u64 sk, bool fresh)
{
	struct sk_val *kv;

	/* A sock made by socket()/socketpair() is new: no entry can be its
	 * own yet (one at its address belongs to a freed sock, see
	 * tp_inet_sock_set_state), so there is nothing to look up. */
	if (fresh && !v->sk_mapped)
		goto unmapped;
	kv = bpf_map_lookup_elem(&sks, &sk);
	if (kv) {
		if (!v->sk_mapped && v->sk_serial)
			kv->serial = v->sk_serial; /* a freed sock's stale entry */
		kv->sock_serial = v->serial;
		if (v->owner)
			kv->owner = v->owner;
		v->sk_mapped = 1;
		return kv->serial;
	}
unmapped:
	if (!v->sk_serial)
		v->sk_serial = new_serial();
	return v->sk_serial;
}

static __always_inline int emit_sockinfo(int fd, __u16 origin, __u64 *sk_serial_out,
					 __u64 *serial_out, __u64 *sk_out)
{
	struct file *f = NULL;
	__u64 sockp = 0;
	struct sock_val *v = fd_sock(fd, &sockp, &f);
	struct socket *sock = (struct socket *)sockp;
	struct sr_sockinfo *e;
	struct sock *sk;
	__u64 sk_serial = 0;
	__u16 protocol;

	if (!v)
		return -1;
	sk = BPF_CORE_READ(sock, sk); /* a number (map key): core_fixes.bpf.h */
	v->sk = (__u64)sk;
	if (origin == SR_ORIGIN_ACCEPT || origin == SR_ORIGIN_ACCEPT4)
		v->owner = bpf_get_current_pid_tgid() >> 32;
	protocol = sk ? sk_protocol_of(sk) : 0;
	/* Only TCP socks have states to join: no sk serial for the others. */
	if (protocol == IPPROTO_TCP)
		sk_serial = sock_sk_serial(v, (__u64)sk, origin == SR_ORIGIN_SOCKET ||
							   origin == SR_ORIGIN_SOCKETPAIR);
	if (serial_out)
		*serial_out = v->serial;
	if (sk_out)
		*sk_out = (__u64)sk;
	if (sk_serial_out)
		*sk_serial_out = sk_serial;
	struct sr_sockinfo info;
	fill_hdr(&info.h, SR_EV_SOCKINFO);
	info.serial = v->serial;
	info.sk_serial = sk_serial;
	info.fd = fd;
	info.ino = (__u32)KREAD(struct socket_alloc, sock, vfs_inode.i_ino);
	info.family = sk ? KREAD(struct sock, sk, __sk_common.skc_family) : 0;
	info.type = (__u16)KREAD(struct socket, sock, type);
	info.protocol = protocol;
	info.origin = origin;
	if (v->pending) {
		flush_alloc(v, &info, true); /* one event for both */
		return 0;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	*e = info;
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_socket")
int tp_exit_socket(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0 || !task_wanted())
		return 0;
	emit_sockinfo((int)ctx->ret, SR_ORIGIN_SOCKET, NULL, NULL, NULL);
	return 0;
}

static __always_inline int save_args(__s32 fd, __u64 arg1)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_args a = { .ts = bpf_ktime_get_ns(), .arg1 = arg1, .fd = fd };

	if (!task_wanted())
		return 0;
	/* a full table loses the call's CONNECT/ACCEPT/SOCKINFO: count it */
	if (bpf_map_update_elem(&inflight, &tid, &a, BPF_ANY))
		count_loss(SR_LOSS_SOCKMAP);
	return 0;
}

static __always_inline int take_args(struct sys_args *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_args *a = bpf_map_lookup_elem(&inflight, &tid);

	if (!a)
		return -1;
	*out = *a;
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_socketpair")
int tp_enter_socketpair(struct trace_event_raw_sys_enter *ctx)
{
	return save_args(-1, ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_exit_socketpair")
int tp_exit_socketpair(struct trace_event_raw_sys_exit *ctx)
{
	struct sys_args a;
	int sv[2];

	if (take_args(&a) || ctx->ret < 0)
		return 0;
	if (bpf_probe_read_user(sv, sizeof(sv), (void *)a.arg1))
		return 0;
	emit_sockinfo(sv[0], SR_ORIGIN_SOCKETPAIR, NULL, NULL, NULL);
	emit_sockinfo(sv[1], SR_ORIGIN_SOCKETPAIR, NULL, NULL, NULL);
	return 0;
}

/* Local and remote address of sk into 16-byte buffers (4 used for IPv4).
 * BPF_CORE_READ_INTO sizes the copy by its destination's type, so read
 * into properly typed locals and copy from there. */
static __always_inline void read_sk_addrs(struct sock *sk, __u16 family, __u8 *laddr, __u8 *raddr)
{
	if (family == AF_INET) {
		__u32 l = KREAD(struct sock, sk, __sk_common.skc_rcv_saddr);
		__u32 r = KREAD(struct sock, sk, __sk_common.skc_daddr);
		if (laddr)
			__builtin_memcpy(laddr, &l, 4);
		if (raddr)
			__builtin_memcpy(raddr, &r, 4);
	} else if (family == AF_INET6) {
		struct in6_addr l, r;
		BPF_CORE_READ_INTO(&l, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r, sk, __sk_common.skc_v6_daddr);
		if (laddr)
			__builtin_memcpy(laddr, &l, 16);
		if (raddr)
			__builtin_memcpy(raddr, &r, 16);
	}
}

/* ---- connect ---- */

static __always_inline void read_sockaddr(void *uaddr, __u16 *family, __u16 *port, __u8 addr[16])
{
	struct sockaddr_in6 sa = {};

	if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		if (!uaddr || bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), uaddr))
			return;
	*family = sa.sin6_family;
	/* Only the IP families have a port there: for AF_UNIX the same bytes are
	 * the start of sun_path ("/v" of /var/run/... read as port 12150). */
	if (sa.sin6_family == AF_INET) {
		*port = bpf_ntohs(sa.sin6_port);
		__builtin_memcpy(addr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	} else if (sa.sin6_family == AF_INET6) {
		*port = bpf_ntohs(sa.sin6_port);
		__builtin_memcpy(addr, &sa.sin6_addr, 16);
	}
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return save_args((__s32)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct sr_connect *e;
	struct sr_stacks st;
	struct file *f = NULL;
	struct sys_args a;
	__u64 sockp = 0;
	struct sock_val *v;

	if (take_args(&a))
		return 0;
	v = fd_sock(a.fd, &sockp, &f);
	take_stacks(ctx, &st, SR_STK_CONNECT_K, SR_STK_CONNECT_U); /* before reserve: copy_ustack */
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, SR_EV_CONNECT);
	e->st = st;
	e->h.ts = a.ts;
	e->dur_ns = bpf_ktime_get_ns() - a.ts;
	e->fd = a.fd;
	e->ret = (__s32)ctx->ret;
	if (v) {
		struct sock *sk = BPF_CORE_READ((struct socket *)sockp, sk);

		e->serial = v->serial;
		e->sk_serial = sk ? sock_sk_serial(v, (__u64)sk, false) : 0;
		v->sk = (__u64)sk;
	}
	if (f && (KREAD(struct file, f, f_flags) & O_NONBLOCK))
		e->h.flags |= SR_F_NONBLOCK;
	read_sockaddr((void *)a.arg1, &e->family, &e->dport, e->daddr);
	submit(e);
	return 0;
}

/* Take in a socket that exists already: made before the recording (the
 * snapshot), or by an accept() that was waiting when it started (its
 * socket is allocated before the wait, so its ALLOC was never seen).  It
 * gets a serial and a PREEXIST event; with_state: the TCP state as of now
 * (the snapshot), else none (the accept's ACCEPT record joins the states
 * its sock went through before).  The sock_val, or NULL. */
static __always_inline struct sock_val *adopt_socket(struct task_struct *t, struct file *f, int fd,
						     bool with_state, __u64 *sk_serial)
{
	struct sock_val v = {}, *slot, *other;
	struct sr_preexist *e;
	struct socket *sock;
	struct sock *sk;
	struct sk_val *kv;
	__u64 sockp;

	sock = BPF_CORE_READ(f, private_data);
	sockp = (__u64)sock;
	if (!sock || socks_get(sockp))
		return NULL; /* seen already through another fd or process */
	v.serial = new_serial();
	v.owner = BPF_CORE_READ(t, tgid);
	sk = BPF_CORE_READ(sock, sk);
	v.sk = (__u64)sk;
	v.sk_mapped = sk ? 1 : 0; /* sk_track below */
	slot = socks_claim(sockp);
	if (!slot) {
		count_loss(SR_LOSS_SOCKMAP);
		return NULL;
	}
	other = socks_other(sockp, slot);
	if (other) {
		/* another CPU adopted it between our lookup and claim (the
		 * snapshot and an accept() at the start): that entry stands,
		 * ours is given back, and nothing is lost */
		socks_del(slot);
		kv = sk ? bpf_map_lookup_elem(&sks, &v.sk) : NULL;
		*sk_serial = kv ? kv->serial : 0;
		return other;
	}
	v.slot = slot->slot;
	*slot = v;
	kv = sk ? sk_track((__u64)sk, v.serial, v.owner, 0) : NULL;
	*sk_serial = kv ? kv->serial : 0;
	if (sk && KREAD(struct sock, sk, __sk_common.skc_state) == TCP_LISTEN &&
	    sk_protocol_of(sk) == IPPROTO_TCP) {
		/* A listener that was there before us: its connections' first
		 * states (SYN_RECV, ESTABLISHED) run in softirq and are
		 * joined to the process through this table, as for one that
		 * calls listen() while we record. */
		__u32 lkey = (__u32)KREAD(struct sock, sk, __sk_common.skc_family) << 16 |
			     KREAD(struct sock, sk, __sk_common.skc_num);

		bpf_map_update_elem(&listeners, &lkey, &v.owner, BPF_ANY);
	}
	e = reserve(sizeof(*e));
	if (!e)
		return slot;
	__builtin_memset(e, 0, sizeof(*e));
	e->h.kind = SR_EV_PREEXIST;
	e->h.cpu = (__u16)bpf_get_smp_processor_id();
	e->h.pid = v.owner;
	e->h.tid = BPF_CORE_READ(t, pid);
	e->h.ts = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&e->h.comm, t, comm);
	e->serial = v.serial;
	e->sk_serial = *sk_serial;
	e->fd = fd;
	e->ino = (__u32)KREAD(struct socket_alloc, sock, vfs_inode.i_ino);
	e->type = (__u16)KREAD(struct socket, sock, type);
	if (sk) {
		e->family = KREAD(struct sock, sk, __sk_common.skc_family);
		e->protocol = sk_protocol_of(sk);
		if (e->family == AF_INET || e->family == AF_INET6) {
			e->tcpstate = with_state && e->protocol == 6 ?
					      KREAD(struct sock, sk, __sk_common.skc_state) : 0;
			e->lport = KREAD(struct sock, sk, __sk_common.skc_num);
			e->rport = bpf_ntohs(KREAD(struct sock, sk, __sk_common.skc_dport));
			read_sk_addrs(sk, e->family, e->laddr, e->raddr);
		}
	}
	submit(e);
	return slot;
}

/* ---- accept ---- */

SEC("tracepoint/syscalls/sys_enter_accept")
int tp_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return save_args((__s32)ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int tp_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return save_args((__s32)ctx->args[0], 1);
}

static __always_inline int on_accept_exit(void *ctx, long ret)
{
	struct sock_val *lv;
	struct sr_accept *e;
	struct sr_stacks st;
	struct sys_args a = {};
	__u64 lsock = 0, serial = 0, sk_serial = 0, skp = 0;

	if (take_args(&a)) {
		/* An accept() that was already waiting when the recording
		 * started (an idle server's): its new socket was allocated
		 * before the hooks.  Take it in, or its connection, owner and
		 * CLOSE_WAIT would be invisible. */
		struct file *nf;
		struct sock_val *nv;

		if (ret < 0 || !task_wanted())
			return 0;
		nf = fd_file((int)ret);
		if (!nf || (KREAD(struct file, nf, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
			return 0;
		nv = adopt_socket(bpf_get_current_task_btf(), nf, (int)ret, false, &sk_serial);
		if (!nv)
			return 0;
		serial = nv->serial;
		skp = nv->sk;
		a.fd = -1; /* the listener's fd is not known */
		a.ts = bpf_ktime_get_ns();
	} else if (ret >= 0) {
		/* skp stays 0 unless the new socket is one we track */
		emit_sockinfo((int)ret, a.arg1 ? SR_ORIGIN_ACCEPT4 : SR_ORIGIN_ACCEPT, &sk_serial,
			      &serial, &skp);
	}
	if (ret < 0 && a.sock) {
		/* The attempt failed and the kernel drops the socket it made for
		 * it (its free comes later, from RCU, in whatever task runs
		 * then): report the release here, in the caller's name, with
		 * the errno as fd.  User space reads the syscall (accept) as
		 * "accept-failed". */
		struct sock_val *fv = socks_get(a.sock);

		if (fv && !fv->released)
			emit_release(ctx, a.sock, fv, SR_HOW_SYSCALL, (int)ret, true);
	}
	lv = a.fd >= 0 ? fd_sock(a.fd, &lsock, NULL) : NULL;
	take_stacks(ctx, &st, SR_STK_ACCEPT_K, SR_STK_ACCEPT_U); /* before reserve: copy_ustack */
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, SR_EV_ACCEPT);
	e->st = st;
	e->dur_ns = e->h.ts - a.ts;
	e->lserial = lv ? lv->serial : 0;
	e->serial = serial;
	e->sk_serial = sk_serial;
	e->fd = (__s32)ret;
	if (skp) {
		struct sock *sk = (struct sock *)skp;
		__u64 *ts = bpf_map_lookup_elem(&estab, &skp);

		if (ts) {
			e->estab_ts = *ts;
			bpf_map_delete_elem(&estab, &skp);
		}
		e->family = KREAD(struct sock, sk, __sk_common.skc_family);
		e->pport = bpf_ntohs(KREAD(struct sock, sk, __sk_common.skc_dport));
		read_sk_addrs(sk, e->family, NULL, e->paddr);
	}
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return on_accept_exit(ctx, ctx->ret);
}

/* ---- TCP state ---- */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 skp = (__u64)sk;
	/* sk is a BTF pointer: plain loads, no helper call per field. */
	/* read as a number (a probe read): the socket table hashes it */
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	__u16 family = sk->__sk_common.skc_family;
	/* inet_sport, not skc_num: the latter is already 0 when a socket
	 * that released its port reaches TCP_CLOSE (tcpstates agrees).  It
	 * lies past struct sock, where the verifier allows no plain load. */
	__u16 sport = bpf_ntohs(KREAD(struct inet_sock, sk, inet_sport));
	__u32 lkey = (__u32)family << 16 | sport;
	struct sk_val *kv = bpf_map_lookup_elem(&sks, &skp);
	__u64 sock_serial = 0;
	__u32 owner = 0;
	struct sock_val *v = NULL;
	struct sr_state *e;

	if (sock) {
		__u64 sockp = (__u64)sock;

		v = socks_get(sockp);

		if (v) {
			sock_serial = v->serial;
			owner = v->owner;
			v->sk = skp;
			/* An entry this socket never made or met, while the
			 * socket holds the serial of its new sock: a freed
			 * sock's entry left at the same address.  Take it over. */
			if (kv && !v->sk_mapped && v->sk_serial)
				kv->serial = v->sk_serial;
			v->sk_mapped = 1; /* sk_track below, if not yet */
		}
	}
	if (!kv) {
		if (!owner) {
			/* A child of a listener, not accepted yet: it belongs to
			 * whoever owns the listening port.  These events run in
			 * softirq, where the current task says nothing: a
			 * filtered recording decides by the socket, never by
			 * the task (--netns: by the netns the sock lives in). */
			__u32 *lo = bpf_map_lookup_elem(&listeners, &lkey);
			if (lo)
				owner = *lo;
			else if (filter_pids || filter_comm_on || filter_cgroup)
				return 0; /* not ours */
		}
		if (filter_netns && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != filter_netns)
			return 0; /* a sock of another netns, whoever is current */
		/* The first state change of a sock made through a socket:
		 * it keeps the serial its socket's events already carry. */
		kv = sk_track(skp, sock_serial, owner, v ? v->sk_serial : 0);
		if (!kv)
			return 0;
	} else {
		if (sock_serial)
			kv->sock_serial = sock_serial;
		if (owner)
			kv->owner = owner;
	}
	if (newstate == TCP_LISTEN && kv->owner)
		bpf_map_update_elem(&listeners, &lkey, &kv->owner, BPF_ANY);
	else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)
		/* the listener itself closing; a child clone also starts from
		 * LISTEN (LISTEN -> SYN_RECV) and must not remove it */
		bpf_map_delete_elem(&listeners, &lkey);
	if (newstate == TCP_ESTABLISHED && !sock) {
		__u64 now = bpf_ktime_get_ns();
		bpf_map_update_elem(&estab, &skp, &now, BPF_ANY);
	}

	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->h, SR_EV_STATE);
	e->serial = kv->sock_serial;
	e->sk_serial = kv->serial;
	e->owner = kv->owner;
	e->oldstate = (__u8)oldstate;
	e->newstate = (__u8)newstate;
	e->family = family;
	e->sport = sport;
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->_pad = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET) {
		__u32 l = sk->__sk_common.skc_rcv_saddr, r = sk->__sk_common.skc_daddr;

		__builtin_memcpy(e->saddr, &l, 4);
		__builtin_memcpy(e->daddr, &r, 4);
	} else if (family == AF_INET6) {
		read_sk_addrs(sk, family, e->saddr, e->daddr);
	}
	submit(e);
	/* A closed sock without a socket is gone for good. */
	if (newstate == TCP_CLOSE && !sock)
		bpf_map_delete_elem(&sks, &skp);
	return 0;
}

/* ---- releases at process exit (tracepoint backend) ---- */

struct exit_walk {
	void *ctx;
	struct file **fds;
	__u32 max;
};

static long exit_walk_fd(__u32 i, void *arg)
{
	struct exit_walk *w = arg;
	struct file *f = NULL;
	struct sock_val *v;
	__u64 sock;

	if (i >= w->max)
		return 1;
	if (bpf_probe_read_kernel(&f, sizeof(f), &w->fds[i]) || !f)
		return 0;
	sock = (__u64)BPF_CORE_READ(f, private_data);
	v = socks_get(sock);
	if (!v || v->released || !file_has_one_ref(f))
		return 0;
	emit_release(w->ctx, sock, v, SR_HOW_EXIT, (int)i, false);
	return 0;
}

/* The exiting process's fd table is closed right after this tracepoint
 * (exit_files): report, in its name, the sockets it held last. */
static __always_inline void release_fds_at_exit(void *ctx, struct task_struct *p)
{
	struct files_struct *files = BPF_CORE_READ(p, files);
	struct fdtable *fdt;
	struct exit_walk w = { .ctx = ctx };

	if (!files || BPF_CORE_READ(files, count.counter) != 1)
		return; /* fd table shared (CLONE_FILES): not released by this exit */
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return;
	w.fds = BPF_CORE_READ(fdt, fd);
	w.max = BPF_CORE_READ(fdt, max_fds);
	if (w.max > 1 << 20)
		w.max = 1 << 20;
	bpf_loop(w.max, exit_walk_fd, &w, 0);
}

/* ---- sockets open before the recording (iter/task_file) ---- */

static __always_inline bool task_passes(struct task_struct *t)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);

	if (tgid == self_tgid)
		return false;
	if (filter_pids && !bpf_map_lookup_elem(&tracked, &tgid))
		return false;
	if (filter_comm_on) {
		char comm[SR_COMM_LEN];
		BPF_CORE_READ_STR_INTO(&comm, t, comm);
		for (int i = 0; i < SR_COMM_LEN; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (filter_cgroup && BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id) != filter_cgroup)
		return false;
	if (filter_netns && BPF_CORE_READ(t, nsproxy, net_ns, ns.inum) != filter_netns)
		return false;
	return true;
}

SEC("iter/task_file")
int iter_preexisting(struct bpf_iter__task_file *ctx)
{
	struct task_struct *t = ctx->task;
	struct file *f = ctx->file;
	__u64 sk_serial;

	if (!t || !f)
		return 0;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK || !task_passes(t))
		return 0;
	adopt_socket(t, f, (int)ctx->fd, true, &sk_serial);
	return 0;
}

/* ---- process lifecycle ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct sr_proc *e;

	if (ptgid == ctgid)
		return 0; /* a new thread, not a new process */
	if (filter_pids) {
		__u8 one = 1;
		if (!bpf_map_lookup_elem(&tracked, &ptgid))
			return 0;
		bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	}
	if (!task_wanted())
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, SR_EV_FORK);
	e->child = ctgid;
	e->ppid = ptgid;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct sr_proc *e;

	if (!task_wanted())
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, SR_EV_EXEC);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_sched_process_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct sr_proc *e;
	bool group_dead;

	/* signal->live is decremented before this tracepoint in every kernel
	 * sockrec supports; 0 means the last thread is leaving. */
	group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	if (group_dead && tgid == fast_tgid)
		fast_tgid = 0; /* before any return: its pid may be reused */
	if (!group_dead || !task_wanted())
		return 0;
	if (release_at_exit)
		release_fds_at_exit(ctx, p);
	e = reserve(sizeof(*e));
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		fill_hdr(&e->h, SR_EV_EXIT);
		e->code = BPF_CORE_READ(p, exit_code);
		e->group_dead = 1;
		submit(e);
	}
	if (filter_pids)
		bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
