/* ringbuf_events.h - events and constants shared by sockrec.bpf.c and record/.
 *
 * These structs are the ring-buffer ABI between the kernel side and the
 * recorder, compiled by both clang -target bpf and gcc: fixed-width types,
 * explicit padding, no pointers.  Kernel pointers never leave BPF: sockets
 * are identified by serials assigned here.
 */
#ifndef RINGBUF_EVENTS_H
#define RINGBUF_EVENTS_H

#define SR_COMM_LEN 16
#define SR_PATH_LEN 128
#define SR_STACK_DEPTH 64

enum sr_kind {
	SR_EV_ALLOC = 1,
	SR_EV_RELEASE = 2,
	SR_EV_SOCKINFO = 3,
	SR_EV_STATE = 4,
	SR_EV_CONNECT = 5,
	SR_EV_ACCEPT = 6,
	SR_EV_FORK = 7,
	SR_EV_EXEC = 8,
	SR_EV_EXIT = 9,
	SR_EV_PREEXIST = 10,
	SR_EV_USTACK = 11,   /* a copy of the user stack, before the event using it */
};

/* Per-CPU loss counters (index into the `losses` array). */
enum sr_loss {
	SR_LOSS_RINGBUF = 0,
	SR_LOSS_SOCKMAP = 1,
	SR_LOSS_STACK = 2,
	SR_LOSS_SKMAP = 3,
	/* A release written late: the kernel skipped the free hook's run for
	 * the socket (recursion guard), and on_alloc found its entry still
	 * live when the slab reused the address (RELEASE how SR_HOW_REUSED). */
	SR_LOSS_REUSED = 4,
	/* A sampled full walk of an allocation's kernel stack differed from
	 * the cached one (kstack_cache): the cache is off for that path now. */
	SR_LOSS_KSTACK_MISMATCH = 5,
	SR_LOSS__MAX = 6,
};

/* The kernel-stack cache (kstack_cache): allocations inside these syscalls
 * have one kernel stack per call site on a given kernel.  socketpair()
 * allocates twice, from two call sites. */
enum sr_kst_slot {
	SR_KST_SOCKET = 0,
	SR_KST_SOCKETPAIR1 = 1,
	SR_KST_SOCKETPAIR2 = 2,
	SR_KST_ACCEPT = 3,
	SR_KST_ACCEPT4 = 4,
	SR_KST__MAX = 5,
};

/* Its counters (per-CPU array `kst_stats`), written to the file's META. */
enum sr_kst_stat {
	SR_KSTS_LOOKUPS = 0,    /* allocations that found a valid cached id */
	SR_KSTS_CHECKS = 1,     /* of those, walked again and compared (1 in N) */
	SR_KSTS_MISMATCHES = 2, /* of those, how many differed */
	SR_KSTS__MAX = 3,
};

/* Stack policy bits (rodata `stack_policy`). */
enum sr_stack_bits {
	SR_STK_ALLOC_K = 1 << 0,
	SR_STK_ALLOC_U = 1 << 1,
	SR_STK_RELEASE_K = 1 << 2,
	SR_STK_RELEASE_U = 1 << 3,
	SR_STK_CONNECT_K = 1 << 4,
	SR_STK_CONNECT_U = 1 << 5,
	SR_STK_ACCEPT_K = 1 << 6,
	SR_STK_ACCEPT_U = 1 << 7,
};

/* Release "how" as decided in BPF: the format's numbering (SREC_HOW_*,
 * checked in record/events.c) except SR_HOW_SYSCALL, which user space maps
 * because syscall numbers are per-architecture. */
enum sr_how {
	SR_HOW_UNKNOWN = 0,
	SR_HOW_CLOSE = 1,
	SR_HOW_DUP2 = 2,
	SR_HOW_EXIT = 3,
	SR_HOW_OTHER = 4,
	SR_HOW_CLOSE_RANGE = 5,
	SR_HOW_FREED = 6,
	SR_HOW_SYSCALL = 7, /* in-syscall release: see sysnr */
	/* Inferred, not seen: a new socket took the address of one whose
	 * free the kernel skipped (see SR_LOSS_REUSED). */
	SR_HOW_REUSED = 8,
};

/* Which syscall made a socket (sr_sockinfo.origin, sr_alloc.origin): the
 * format's numbering (SREC_ORIGIN_*, spec ALLOC.origin), which user space
 * checks with _Static_assert (record/events.c), so events pass it through. */
enum sr_origin {
	SR_ORIGIN_SOCKET = 1,
	SR_ORIGIN_SOCKETPAIR = 2,
	SR_ORIGIN_ACCEPT = 3,
	SR_ORIGIN_ACCEPT4 = 4,
};

/* hdr.flags */
#define SR_F_STACK_EPOCH1 0x01 /* stacks were taken in stack map 1 */
#define SR_F_NONBLOCK 0x02
#define SR_F_KTHREAD 0x04      /* current is a kernel thread / not in a syscall */

struct sr_hdr {
	__u8 kind;
	__u8 flags;
	__u16 cpu;
	__u32 pid;
	__u32 tid;
	__u32 _pad;
	__u64 ts;
	char comm[SR_COMM_LEN];
};

/* ustack: the user stack was copied (SR_EV_USTACK with cookie ucookie was
 * sent just before this event, by the same task); the recorder unwinds it. */
#define SR_USTACK_COPIED 0x7fffffff
/* ustack of a held-back allocation: copy it when the syscall returns (the
 * user registers and stack do not change during a syscall). */
#define SR_USTACK_DEFER 0x7ffffffe

struct sr_stacks {
	/* Stack map id + 1 (stack id 0 is valid), -errno when the capture
	 * failed, 0 when the stack policy did not ask for it, or one of the
	 * SR_USTACK_* markers above. */
	__s32 kstack;
	__s32 ustack;
	__u64 leaf_ret;   /* word at the user stack pointer (see spec LEAF_RET) */
	__u64 ucookie;    /* with SR_USTACK_COPIED: the copy's cookie */
};

/* A copy of the user stack [sp, sp + len) and the registers an unwinder
 * starts from (`--user-stacks=dwarf`).  Sent with bpf_ringbuf_output() from
 * a per-CPU buffer: only the header and len bytes travel.  The buffer has
 * two pages more than the cap so that the verifier can bound each page-sized
 * read at a masked offset with a masked length. */
#define SR_USTACK_MAX 16384
#define SR_USTACK_PAGE 4096
_Static_assert((SR_USTACK_MAX & (SR_USTACK_MAX - 1)) == 0, "the copy cap must be a power of two");

/* sr_ustack.flags: why the copy ends where it does */
#define SR_UC_TOP 0x1     /* at the stack's top (mm->start_stack, or the end of its mapping) */
#define SR_UC_FAULT 0x2   /* a read faulted: the stack's mapping ended there */
#define SR_UC_CAP 0x4     /* the copy cap was reached */

struct sr_ustack {
	struct sr_hdr h;  /* h.kind = SR_EV_USTACK */
	__u64 cookie;
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u32 len;
	__u32 flags;
	__u8 data[SR_USTACK_MAX + 2 * SR_USTACK_PAGE];
};
#define SR_USTACK_HDR_LEN (sizeof(struct sr_ustack) - SR_USTACK_MAX - 2 * SR_USTACK_PAGE)

/* An allocation.  For sockets made by socket() and socketpair() the event
 * is held back in the socket table until the syscall returns and then
 * carries what SOCKINFO would (has_info = 1): one ring-buffer event per
 * socket instead of two on the hottest path. */
struct sr_alloc {
	struct sr_hdr h;  /* h.ts: the allocation */
	__u64 serial;
	struct sr_stacks st;
	__s32 sysnr;      /* syscall in progress, -1 if none */
	__u32 has_info;
	/* valid when has_info: */
	__u64 info_ts;
	__u64 sk_serial;
	__s32 fd;
	__u32 ino;
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 origin;
};

struct sr_release {
	struct sr_hdr h;
	__u64 serial;
	struct sr_stacks st;
	__u32 how;
	__s32 fd;
	__s32 sysnr;
	__u32 _pad;
};

struct sr_sockinfo {
	struct sr_hdr h;
	__u64 serial;
	__u64 sk_serial;
	__s32 fd;
	__u32 ino;
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 origin;     /* enum sr_origin */
};

struct sr_state {
	struct sr_hdr h;
	__u64 serial;
	__u64 sk_serial;
	__u32 owner;
	__u8 oldstate;
	__u8 newstate;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u32 _pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct sr_connect {
	struct sr_hdr h;
	__u64 serial;
	__u64 sk_serial;
	__u64 dur_ns;
	struct sr_stacks st;
	__s32 fd;
	__s32 ret;
	__u16 family;
	__u16 dport;
	__u32 _pad;
	__u8 daddr[16];
};

struct sr_accept {
	struct sr_hdr h;
	__u64 lserial;
	__u64 serial;
	__u64 sk_serial;
	__u64 dur_ns;
	__u64 estab_ts;
	struct sr_stacks st;
	__s32 fd;
	__u16 family;
	__u16 pport;
	__u8 paddr[16];
};

struct sr_preexist {
	struct sr_hdr h;
	__u64 serial;
	__u64 sk_serial;
	__s32 fd;
	__u32 ino;
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u8 tcpstate;
	__u8 _pad;
	__u16 lport;
	__u16 rport;
	__u32 _pad2;
	__u8 laddr[16];
	__u8 raddr[16];
};

struct sr_proc {
	struct sr_hdr h;
	__u32 child;      /* FORK: child tgid */
	__s32 code;       /* EXIT: exit code */
	__u32 group_dead; /* EXIT */
	__u32 ppid;
	char filename[SR_PATH_LEN]; /* EXEC */
};

#endif
