/* srec_records.h - the records of a .srec file, in decoded form.
 *
 * This header is the C mirror of spec/srec-format.md, sections "Blocks" and
 * "Records".  Numbers here are part of the on-disk contract: never renumber,
 * only add.  A minor version may add block types, record types and new
 * trailing fields of a record; readers skip what they do not know.
 *
 * Contract for struct srec_record: the writer encodes exactly the fields of
 * the union member named by `type`; the reader fills them, and fields that
 * the file did not carry (an older minor version) read as 0.  Byte fields
 * (srec_bytes) point into the reader's block buffer and stay valid until
 * the next srec_reader_next() call.
 */
#ifndef SREC_RECORDS_H
#define SREC_RECORDS_H
#include <stddef.h>
#include <stdint.h>

#define SREC_MAJOR 1
#define SREC_MINOR 3
#define SREC_HEADER_LEN 32
#define SREC_BLOCK_HDR_LEN 48
#define SREC_BLOCK_TRAILER_LEN 8
/* Hard limits a reader enforces (decompression-bomb and garbage guards). */
#define SREC_MAX_PAYLOAD (64u << 20)
#define SREC_MAX_RECORD (1u << 20)
#define SREC_MAX_FRAMES 1024

enum srec_block_type {
	SREC_B_META = 1, /* META records only: host and recording metadata */
	SREC_B_DATA = 2, /* every other record */
	SREC_B_INDEX = 3, /* the optional index, the file's last block (srec_index.h) */
};

enum srec_record_type {
	SREC_R_META = 1,
	SREC_R_STRING = 2,
	SREC_R_MODULE = 3,
	SREC_R_STACK = 4,
	SREC_R_PROCESS = 5,
	SREC_R_MAPPING = 6,
	SREC_R_KSYM = 7,
	SREC_R_LOSS = 8,
	SREC_R_SYMBOL = 9,
	SREC_R_ALLOC = 16,
	SREC_R_RELEASE = 17,
	SREC_R_SOCKINFO = 18,
	SREC_R_STATE = 19,
	SREC_R_CONNECT = 20,
	SREC_R_ACCEPT = 21,
	SREC_R_FORK = 22,
	SREC_R_EXEC = 23,
	SREC_R_EXIT = 24,
	SREC_R_PREEXIST = 25,
	SREC_R__MAX = 26, /* one past the largest type this library knows */
};

/* Stack references in events.  0: no stack was asked for.  1..15: the
 * capture failed, and why.  >= SREC_STACK_FIRST_ID: a STACK record's id. */
enum srec_stack_ref {
	SREC_STACK_NONE = 0,
	SREC_STACK_EFAULT = 1,     /* unwinder could not read the stack */
	SREC_STACK_COLLISION = 2,  /* -EEXIST: stack map bucket held another stack */
	SREC_STACK_MAPFULL = 3,    /* -ENOMEM: stack map full */
	SREC_STACK_DRAINLOST = 4,  /* id was gone from the map when drained */
	SREC_STACK_OTHERERR = 5,
	SREC_STACK_FIRST_ID = 16,
};

enum srec_stack_kind { SREC_STACK_KERNEL = 1, SREC_STACK_USER = 2 };
/* STACK flags */
#define SREC_STACKF_LEAF_RET 0x1 /* frame[1] was read from the top of the user
				  * stack (caller of a frameless leaf) */

/* How a user stack was unwound (STACK.method, 1.2; 0 in older files and
 * for kernel stacks). */
enum srec_unwind_method {
	SREC_UNWIND_UNKNOWN = 0,
	SREC_UNWIND_FP = 1,      /* the kernel's frame-pointer walk (bpf_get_stackid) */
	SREC_UNWIND_CFI = 2,     /* every step from the modules' call-frame information */
	SREC_UNWIND_MIXED = 3,   /* CFI, with frame-pointer steps where a pc had none */
	SREC_UNWIND__MAX = 4,
};

/* Why unwinding ended (STACK.stop, 1.2).  stop_module/stop_value say where
 * for the stops that name a place (see spec/srec-format.md). */
enum srec_unwind_stop {
	SREC_STOP_UNKNOWN = 0,      /* not recorded (frame-pointer walk, older files) */
	SREC_STOP_END = 1,          /* reached the thread's start (CFI: return address undefined) */
	SREC_STOP_NO_CFI = 2,       /* no CFI for module+offset, and no valid frame chain */
	SREC_STOP_COPY_LIMIT = 3,   /* the next frame is beyond the copied stack (copy cap) */
	SREC_STOP_UNREADABLE = 4,   /* the next frame is beyond the readable stack */
	SREC_STOP_STEP_LIMIT = 5,   /* the recorder's frame limit */
	SREC_STOP_NO_MAPPING = 6,   /* a return address in no mapping (value: the address) */
	SREC_STOP_BAD_FRAME = 7,    /* the CFA did not move up the stack: corrupt frame */
	SREC_STOP_CFI_UNSUPPORTED = 8, /* a CFI rule sockrec does not evaluate (module+offset) */
	SREC_STOP_NO_MODULE = 9,    /* the module's file could not be read or is another build */
	SREC_STOP__MAX = 10,
};

struct srec_unwind {
	uint32_t method;         /* enum srec_unwind_method */
	uint32_t stop;           /* enum srec_unwind_stop */
	uint64_t stop_module;    /* MODULE id, 0 if none */
	uint64_t stop_value;     /* file offset in stop_module, or an address */
};

/* How a socket was released (RELEASE.how). */
enum srec_release_how {
	SREC_HOW_UNKNOWN = 0,
	SREC_HOW_CLOSE = 1,      /* close() dropped the last reference */
	SREC_HOW_DUP2 = 2,       /* dup2()/dup3() replaced the last fd */
	SREC_HOW_EXIT = 3,       /* the owning process exited */
	SREC_HOW_OTHER = 4,      /* last reference dropped elsewhere (kernel, other task) */
	SREC_HOW_CLOSE_RANGE = 5,
	SREC_HOW_FREED = 6,      /* only the object's free was seen (tracepoint backend) */
	SREC_HOW_ACCEPT_FAILED = 7, /* made by accept() that then failed; fd = -errno (1.2) */
	SREC_HOW_REUSED = 8,     /* inferred: a new socket took its address; its free was missed (1.3) */
};

/* Loss kinds (LOSS.kind). */
enum srec_loss_kind {
	SREC_LOSS_RINGBUF = 1,   /* ring buffer reservation failed: event dropped */
	SREC_LOSS_SOCKMAP = 2,   /* live-socket map full: socket not tracked */
	SREC_LOSS_STACK = 3,     /* stack capture failed (event kept, stack ref says why) */
	SREC_LOSS_PROCMAP = 4,   /* process maps could not be read */
	SREC_LOSS_OTHER = 5,
	/* The kernel skipped runs of a hook program because the same program
	 * was already running on that CPU (its recursion guard): a hook that
	 * fired in an interrupt during a run.  An upper bound on missed
	 * events: most such runs are for objects that are not sockets. */
	SREC_LOSS_HOOK_SKIPPED = 6,
	/* Releases written late (1.3): the kernel skipped the free hook's run
	 * for a socket, and the release was inferred when a new socket took
	 * its address (RELEASE how SREC_HOW_REUSED).  The release is there,
	 * its time is an upper bound. */
	SREC_LOSS_RELEASE_LATE = 7,
	/* Kernel-stack cache checks that failed (1.3): a sampled full walk of
	 * an allocation's kernel stack differed from the cached one; the cache
	 * was turned off for that syscall.  Stacks before it may be wrong. */
	SREC_LOSS_KSTACK_MISMATCH = 8,
};

/* ALLOC/SOCKINFO origin: which syscall created the socket. */
enum srec_origin {
	SREC_ORIGIN_UNKNOWN = 0,
	SREC_ORIGIN_SOCKET = 1,
	SREC_ORIGIN_SOCKETPAIR = 2,
	SREC_ORIGIN_ACCEPT = 3,
	SREC_ORIGIN_ACCEPT4 = 4,
	SREC_ORIGIN_KERNEL = 5,  /* no syscall: created inside the kernel */
	SREC_ORIGIN_OTHER = 6,   /* some other syscall */
};

/* CONNECT/ACCEPT flags */
#define SREC_CF_NONBLOCK 0x1
/* SOCKINFO/PREEXIST sentinel for "no fd" is fd = -1. */

typedef struct {
	const uint8_t *p;
	uint32_t len;
} srec_bytes;

/* Fields every event record starts with. */
struct srec_ev {
	uint64_t ts;     /* CLOCK_MONOTONIC ns (absolute, decoded) */
	uint32_t pid;    /* tgid of the task current when the event fired */
	uint32_t tid;
	uint64_t comm;   /* STRING id, 0 = unknown */
	uint32_t cpu;
};

struct srec_record {
	uint32_t type;
	union {
		struct { srec_bytes key; srec_bytes value; } meta;
		struct { uint64_t id; srec_bytes str; } string;
		struct { uint64_t id; uint64_t path; srec_bytes build_id; uint64_t flags; } module;
		struct {
			uint64_t id; uint32_t kind; uint32_t flags; uint32_t nframes;
			/* kernel: offset from the kernel text base (signed);
			 * user: frames[i] is a file offset inside modules[i], or an
			 * absolute address when modules[i] == 0 (no mapping). */
			int64_t frames[SREC_MAX_FRAMES];
			uint64_t modules[SREC_MAX_FRAMES];
			struct srec_unwind unwind; /* 1.2, trailing; zero if absent */
		} stack;
		struct {
			uint64_t ts; uint32_t pid; uint32_t ppid; uint64_t comm; uint64_t exe;
			uint64_t start_ns; /* process start, CLOCK_MONOTONIC ns, 0 if unknown */
		} process;
		struct {
			uint64_t ts; uint32_t pid; uint32_t gen; uint64_t start; uint64_t end;
			uint64_t pgoff; uint64_t module; uint64_t prot;
		} mapping;
		struct { int64_t off; uint64_t size; uint64_t name; uint64_t kmod; } ksym;
		/* an embedded user-space function symbol, by file offset */
		struct { uint64_t module; uint64_t off; uint64_t size; uint64_t name; } symbol;
		struct {
			uint64_t ts; uint64_t window_ns; uint32_t cpu; uint32_t kind; uint64_t count;
		} loss;
		struct {
			struct srec_ev ev; uint64_t serial; uint64_t kstack; uint64_t ustack;
			uint32_t origin;
		} alloc;
		struct {
			struct srec_ev ev; uint64_t serial; uint64_t kstack; uint64_t ustack;
			uint32_t how; int32_t fd;
		} release;
		struct {
			struct srec_ev ev; uint64_t serial; uint64_t sk; int32_t fd; uint64_t ino;
			uint32_t family; uint32_t stype; uint32_t protocol; uint32_t origin;
		} sockinfo;
		struct {
			struct srec_ev ev; uint64_t serial; uint64_t sk; uint32_t owner;
			uint32_t oldstate; uint32_t newstate; uint32_t family;
			uint32_t sport; uint32_t dport; srec_bytes saddr; srec_bytes daddr;
		} state;
		struct {
			struct srec_ev ev; uint64_t serial; uint64_t sk; int32_t fd;
			uint32_t family; uint32_t dport; srec_bytes daddr; uint64_t dur_ns;
			int32_t ret; uint32_t flags; uint64_t kstack; uint64_t ustack;
		} connect;
		struct {
			struct srec_ev ev; uint64_t lserial; uint64_t serial; uint64_t sk; int32_t fd;
			uint32_t family; uint32_t pport; srec_bytes paddr; uint64_t dur_ns;
			uint32_t flags; uint64_t estab_ts; uint64_t kstack; uint64_t ustack;
		} accept;
		struct { struct srec_ev ev; uint32_t child; } fork;
		struct { struct srec_ev ev; uint64_t filename; } exec;
		struct { struct srec_ev ev; int32_t code; uint32_t group_dead; } exit;
		struct {
			struct srec_ev ev; uint64_t serial; int32_t fd; uint64_t ino;
			uint32_t family; uint32_t stype; uint32_t protocol; uint32_t tcpstate;
			uint32_t lport; uint32_t rport; srec_bytes laddr; srec_bytes raddr;
		} preexist;
	} u;
};

/* Name of a record type ("alloc", "release", ...), or NULL if unknown. */
const char *srec_record_name(uint32_t type);
/* 1 if the type is an event (carries struct srec_ev first): the types
 * SREC_R_ALLOC..SREC_R_PREEXIST.  Inline, as readers ask it per record. */
static inline int srec_record_is_event(uint32_t type)
{
	return type - (uint32_t)SREC_R_ALLOC <= (uint32_t)(SREC_R_PREEXIST - SREC_R_ALLOC);
}
/* Pointer to the srec_ev of an event record, NULL otherwise.  Every event
 * member of the union starts with its struct srec_ev, and all members share
 * the union's address. */
static inline const struct srec_ev *srec_record_ev(const struct srec_record *r)
{
	return srec_record_is_event(r->type) ? (const struct srec_ev *)&r->u : NULL;
}

#endif
