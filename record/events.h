/* events.h - turn ring-buffer events into .srec records.
 *
 * This is the middle of the recorder's data path:
 *   BPF event (bpf/ringbuf_events.h) -> rec_handle() -> records -> srec_writer.
 * It resolves stack ids against the two stack maps, normalizes user frames
 * with procmaps, writes kernel symbols for kernel frames, interns comms and
 * paths, and maps per-architecture syscall numbers to the format's enums.
 */
#ifndef SOCKREC_EVENTS_H
#define SOCKREC_EVENTS_H
#include <stddef.h>
#include <stdint.h>
#include "hmap.h"
#include "kallsyms.h"
#include "mmapwatch.h"
#include "pseudonym.h"
#include "procmaps.h"
#include "srec_intern.h"
#include "srec_writer.h"
#include "unwind.h"

struct syscall_nrs {
	long socket, socketpair, accept, accept4, close, dup2, dup3, close_range, exit, exit_group;
};

struct recorder {
	struct srec_writer *w;
	struct srec_intern *in;
	struct procs *procs;
	struct ksyms *ks;        /* NULL: kernel frames stored without symbols */
	struct mmapw *mw;        /* side-band mmap stream; NULL: /proc only */
	const struct pseudonym *redact; /* --redact addresses; NULL: keep them */
	int embed_symbols;       /* write SYMBOL records for the frames hit */
	struct hmap *embedded;   /* (module, symbol index) already written */
	int stack_fd[2];         /* the two stack maps (epoch parity) */
	struct hmap *stackcache; /* (parity|kind, bpf id, pid, leaf_ret) -> file stack id */
	struct unwinder *uw;     /* CFI unwinder of copied user stacks */
	struct hmap *ucopies;    /* (tid, cookie) of a copy -> its file stack id, until its event */
	uint64_t text_base;
	struct syscall_nrs nr;
	int err;                 /* first writer error (sticky) */
	char last_comm[16];      /* one-entry cache of the comm's string id */
	uint64_t last_comm_id;
	uint64_t events;
	uint64_t by_kind[16];
	uint64_t stack_fail;
	uint64_t epoch_stacks;   /* distinct stack ids read since the last epoch flip */
};

/* Fill nr for the running architecture; returns 0, or -1 if unknown. */
int syscall_nrs_for_arch(const char *machine, struct syscall_nrs *nr);

/* What the recorder is asked to do beyond writing records. */
struct rec_opts {
	struct syscall_nrs nr;          /* this architecture's (syscall_nrs_for_arch) */
	struct mmapw *mw;               /* side-band mmap stream; NULL: /proc only */
	const struct pseudonym *redact; /* --redact addresses; NULL: keep them */
	int embed_symbols;              /* write SYMBOL records for the frames hit */
};
/* Fills r, all of it; 0 or SREC_E_NOMEM.  rec_fini() frees (also after a
 * failed rec_init, and on a zeroed r). */
int rec_init(struct recorder *r, struct srec_writer *w, struct srec_intern *in,
	     struct procs *procs, struct ksyms *ks, int stack_fd0, int stack_fd1,
	     const struct rec_opts *o);
void rec_fini(struct recorder *r);

/* Ring-buffer callback (libbpf ring_buffer_sample_fn signature). */
int rec_handle(void *ctx, void *data, size_t size);

/* The stacks of epoch parity `parity` are about to be cleared. */
void rec_forget_stacks(struct recorder *r, unsigned parity);

#endif
