/* model.h - what sockreport knows after reading a .srec file.
 *
 * Data path: srec_reader (format/) -> model_load() -> the reports.
 * model_load() streams the file once.  It keeps the interned tables
 * (strings, modules, stacks, kernel symbols, processes) and the sockets
 * that are still open; each socket whose lifetime ends is handed to the
 * caller's `done` callback and then freed, so memory is bounded by the
 * live sockets and the distinct stacks, not by the number of events.
 * Sockets still open at the end are handed over by model_finish().
 *
 * TCP sockets linger: a socket released while its TCP connection is not
 * yet CLOSE (FIN_WAIT*, LAST_ACK, LISTEN...) stays in the live table,
 * marked released, until the STATE record that takes its struct sock to
 * CLOSE arrives (those come with serial 0 or the old serial; they are
 * joined by sk).  Its `done` then sees the whole state path.  STATE
 * records of a struct sock that has no socket yet (an accepted connection
 * before accept()) are kept per sk and prepended to the socket's path when
 * SOCKINFO/ACCEPT links the sk; a pending sk that reaches CLOSE first is
 * dropped.  Memory stays bounded by the kernel's live socks.
 *
 * Consumers of `done` must check s->released: model_finish() hands over
 * both the sockets still open (released == 0) and lingering ones whose
 * CLOSE was never seen (released == 1).
 *
 * An optional `event` callback (model_load_ev) sees every event record in
 * file order, after the model applied it, with the socket it joined (NULL
 * if none) and, for STATE, the time the previous state was entered.
 */
#ifndef SOCKREPORT_MODEL_H
#define SOCKREPORT_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "srec_reader.h"
#include "srec_records.h"
#include "names.h" /* family_name, tcp_state_name, errno_name, ... */

#define MAX_STATES 16

struct mstack {
	uint32_t kind, flags, n;
	struct srec_unwind unwind; /* how it was unwound (user stacks, 1.2) */
	int64_t *frames;
	uint64_t *modules;
};

struct mmodule {
	uint64_t path; /* string id */
	uint8_t build_id[64];
	uint32_t build_id_len;
};

struct mksym {
	int64_t off;
	uint64_t size, name, kmod;
};

/* An embedded user-space function symbol (SYMBOL record). */
struct msym {
	uint64_t module, off, size, name;
};

struct mproc {
	uint32_t pid, ppid;
	uint64_t comm, exe, start_ns;
	int exited;
	uint64_t exit_ts;
};

/* One socket lifetime (struct socket), joined from ALLOC, SOCKINFO,
 * STATE, CONNECT, ACCEPT and RELEASE records. */
struct msock {
	uint64_t serial, sk;
	uint32_t pid, tid;        /* owner: the allocating (or accepting) task */
	uint64_t comm;
	uint64_t alloc_ts, release_ts;
	uint64_t alloc_kstack, alloc_ustack, rel_kstack, rel_ustack;
	uint32_t origin, how;
	int32_t fd;
	uint64_t ino;
	uint32_t family, type, protocol;
	uint32_t rel_pid;
	uint64_t rel_comm;
	uint8_t released, preexisting, has_info, in_loss_window;
	/* TCP */
	uint8_t nstates;
	uint8_t states[MAX_STATES];
	uint64_t state_ts[MAX_STATES];
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint64_t connect_stack;   /* user stack of the last connect (0 none) */
	uint32_t first_old;       /* old state of the first transition seen */
	uint32_t addr_family;     /* family of laddr/raddr (AF_INET or AF_INET6; 0 none) */
	uint8_t lingering;        /* released, TCP states still arriving */
	int32_t rel_fd;           /* fd closed by the RELEASE (-1 none) */
	uint32_t nconnects;       /* connect() calls on this socket */
	uint64_t connect_ts, connect_dur;  /* last connect: start, syscall time */
	int32_t connect_ret;
	uint32_t connect_flags, connect_dport, connect_family;
	uint8_t connect_daddr[16];
	uint64_t accept_ts, accept_estab_ts, accept_dur, accept_stack, lserial;
	uint64_t sk_alias[3];     /* other sk serials seen for this socket */
	uint8_t nalias;
	/* The first connect(): a non-blocking connect is often completed by a
	 * second call (apr, ab, event loops), and its latency runs from the
	 * first. */
	uint64_t first_connect_ts;
	int32_t first_connect_ret;
};

/* Connect latency of s: 1 and *ns, *ok (1 established/0, 0 failed), *err
 * (the errno, 0 ok; ECONNREFUSED-like failures of a non-blocking connect
 * read as -1 "failed") when measurable: blocking connects by the syscall
 * time, non-blocking ones (the first connect() returned EINPROGRESS) from
 * that first call until the sk left SYN_SENT, whatever later calls did.
 * 0 when s made no connect or the completion was not seen. */
int msock_connect_latency(const struct msock *s, uint64_t *ns, int *ok, int *err);
/* Last TCP state (0 none) and the time it was entered. */
uint32_t msock_last_state(const struct msock *s, uint64_t *since);

struct mloss {
	uint64_t ts, window_ns, count;
	uint32_t cpu, kind;
};

struct mfilter {
	const uint32_t *pids;
	int npids;
	const char *comm;
	uint64_t since_ns, until_ns; /* absolute monotonic, 0 = open */
	/* With a valid index (spec 3.1): decode only the DATA blocks holding
	 * records of these types (bit t: type t < 64), and take the record
	 * counts (by_type, events, status.records/records_unknown) from the
	 * index.  The load falls back to reading every block when the file
	 * has no valid index, lacks recording.start_ns/end_ns, is damaged, or
	 * the index proves wrong on a block it decoded.  Sockets and events
	 * of skipped blocks are not seen: only for reports that use none. */
	uint64_t index_types;
	/* Hand the sockets of failed accept() attempts (RELEASE how 7) to
	 * `done` as well; by default they are only counted (failed_accepts):
	 * they never were connections, and would read as sockets of kind
	 * ?/? living as long as the call waited. */
	int failed_accepts;
};

struct model;
struct u64map;
typedef void (*model_done_fn)(struct model *m, const struct msock *s, void *arg);
/* prev_ts: for STATE, when the old state was entered (0 unknown). */
typedef void (*model_event_fn)(struct model *m, const struct srec_record *r,
			       const struct msock *s, uint64_t prev_ts, void *arg);

struct model {
	/* metadata */
	char **meta_keys, **meta_vals;
	size_t nmeta;
	/* interned tables, indexed by id */
	char **strings;
	uint32_t *string_len;
	size_t nstrings;
	struct mmodule *modules;
	size_t nmodules;
	struct mstack *stacks; /* index id - SREC_STACK_FIRST_ID */
	size_t nstacks;
	struct msym *syms;
	size_t nsyms, syms_cap;
	struct mksym *ksyms;
	size_t nksyms, ksyms_cap;
	int ksyms_sorted;
	struct mproc *procs;
	size_t nprocs, procs_cap;
	/* sockets */
	struct u64map *live;    /* serial -> struct msock * (open sockets) */
	struct u64map *bysk;    /* sk serial -> struct msock * (linked) */
	struct u64map *pending; /* sk serial -> states of a sock with no socket yet */
	uint64_t start_ns;      /* recording.start_ns, or the first timestamp */
	uint64_t start_meta_ns; /* the last recording.start_ns META value ... */
	int has_start_meta;     /* ... if there was one */
	uint64_t sockets_seen, sockets_done;
	struct msock **spare;   /* freed sockets kept for reuse (bounded) */
	size_t nspare;
	/* counts */
	uint64_t by_type[SREC_R__MAX];
	uint64_t events;
	uint64_t ts_first, ts_last;
	struct mloss *losses;
	size_t nlosses, losses_cap;
	uint64_t lost_events, lost_stacks;
	uint64_t hook_skips;       /* LOSS kind HOOK_SKIPPED: shown, not "possible" */
	uint64_t releases_late;    /* LOSS kind RELEASE_LATE: releases inferred at address reuse */
	uint64_t kstack_mismatch;  /* LOSS kind KSTACK_MISMATCH: cached kernel stacks found wrong */
	uint64_t lost_maps;        /* LOSS kind PROCMAP: maps unreadable or side-band records
				    * dropped: frames of those processes map to nothing */
	/* reading */
	struct srec_read_status status;
	int complete; /* recording.complete seen */
	struct mfilter filter;
	model_done_fn done;
	model_event_fn event;
	void *done_arg;
	uint64_t unresolved_refs;
	/* Records beyond the model's per-kind limits (a hostile file packing
	 * millions of tiny META/KSYM/PROCESS/SYMBOL/LOSS records): counted,
	 * not kept, so memory stays bounded. */
	uint64_t records_capped;
	int loss_windows_capped;
	uint64_t releases_unknown; /* RELEASE of a socket never seen allocated */
	uint64_t failed_accepts;   /* sockets of failed accept() attempts, not handed to `done` */
	uint64_t failed_accepts_eagain; /* ... of which EAGAIN */
	int from_index; /* the record counts came from the index (mfilter.index_types) */
};

/* Reads path into m.  Returns 0, or a negative srec_err for a file that
 * cannot be read at all (with a one-line reason in why).  Damage inside
 * the file is not an error: m->status says what was salvaged. */
int model_load(struct model *m, const char *path, const struct mfilter *f, model_done_fn done,
	       void *arg, char *why, size_t whylen);
/* model_load with an event callback as well (either may be NULL). */
int model_load_ev(struct model *m, const char *path, const struct mfilter *f, model_done_fn done,
		  model_event_fn event, void *arg, char *why, size_t whylen);
/* Hands every socket still open to `done` (released == 0, or 1 for a
 * lingering one), by allocation time then serial, then frees them. */
void model_finish(struct model *m);
void model_free(struct model *m);

/* Lookups; all return NULL/empty for unknown ids (damaged files). */
const char *model_str(const struct model *m, uint64_t id);
const char *model_meta(const struct model *m, const char *key);
const struct mstack *model_stack(const struct model *m, uint64_t id);
const struct mmodule *model_module(const struct model *m, uint64_t id);
const struct mksym *model_ksym(struct model *m, int64_t off);
const struct mproc *model_proc(const struct model *m, uint32_t pid);
/* Was there event loss (ring buffer or table full) in [t0, t1]? */
int model_loss_between(const struct model *m, uint64_t t0, uint64_t t1);

const char *stack_error_name(uint64_t ref);

#endif
