/* unwind.h - user stacks unwound in the recorder from the modules' CFI.
 *
 * `--user-stacks=dwarf` (the default): at an event the BPF program copies
 * the user registers and a bounded slice of the user stack (bpf/ringbuf_events.h,
 * struct sr_ustack); this unwinds that copy with the call-frame information
 * of each module (.eh_frame, else .debug_frame) as elfutils' libdw decodes
 * it, the way `perf record --call-graph dwarf` does, but at record time so
 * that the file keeps holding addresses only.
 *
 * libdw's per-pc answer (dwarf_cfi_addrframe) is compiled into a packed rule
 * (CFA = sp|bp + off, return address and rbp at CFA + off) and cached per
 * (module, file offset): after warm-up a frame costs one hash lookup and two
 * reads from the copied slice.  A pc without CFI (JIT code) takes a
 * frame-pointer step only when the chain is valid (rbp inside the copy,
 * above sp, increasing); otherwise unwinding stops and says why.  No frame
 * is ever guessed.
 */
#ifndef SOCKREC_UNWIND_H
#define SOCKREC_UNWIND_H
#include <stdint.h>
#include "procmaps.h"
#include "srec_records.h"

#define UW_MAX_FRAMES 128  /* step limit per stack */
/* Rule-cache budget: past it the cache is emptied (counted) so memory stays
 * bounded whatever the recorded programs map. */
#define UW_MAX_RULES (1u << 20)

struct unwinder;

struct uw_stack {
	uint32_t n;
	struct srec_unwind how;
	int64_t offs[UW_MAX_FRAMES];   /* file offset (or address when mods[i] == 0) */
	uint64_t mods[UW_MAX_FRAMES];
};

struct uw_stats {
	uint64_t stacks, frames, fp_steps;
	uint64_t by_stop[SREC_STOP__MAX];
	uint64_t rules;          /* rules cached now */
	uint64_t rule_misses;    /* libdw lookups (cache misses) */
	uint64_t cache_resets;   /* times the rule budget emptied the cache */
	uint64_t modules, modules_failed;
	uint64_t module_bytes;   /* size of the CFI sections read (.eh_frame[_hdr], .debug_frame) */
};

struct unwinder *unwinder_new(struct procs *procs);
void unwinder_free(struct unwinder *u);

/* Unwind one copy.  data holds [sp, sp + len) of process pid's stack;
 * copy_flags are the sr_ustack flags (why the copy ends there).  Returns 0,
 * or a negative srec_err when the recorder's output failed. */
int unwind_copy(struct unwinder *u, uint32_t pid, uint64_t ts, uint64_t ip, uint64_t sp,
		uint64_t bp, const uint8_t *data, uint32_t len, uint32_t copy_flags,
		struct uw_stack *out);

void unwinder_stats(const struct unwinder *u, struct uw_stats *st);

#endif
