/* mmapwatch.h - executable mmaps, forks, execs and exits of every process,
 * from the kernel's perf side-band records (what `perf record` uses).
 *
 * Why: a process that starts, allocates a socket and exits within a few
 * milliseconds is gone before the recorder could read /proc/PID/maps, and
 * its stacks could never be symbolized.  A dummy software perf event per
 * CPU with mmap2 + build_id + task + comm_exec delivers every executable
 * mapping as it is made, with the build-id read by the kernel at mmap time
 * (no race with a binary replaced on disk).  Timestamps use
 * CLOCK_MONOTONIC, the clock of the BPF events, so the two streams merge.
 *
 * Contract: mmapw_drain() moves everything the kernel has queued into an
 * internal time-ordered queue; mmapw_apply_until(ts) applies to procs every
 * queued record with time <= ts.  Records are dropped by the kernel only
 * if a per-CPU buffer overflows; that is counted (mmapw_lost).
 */
#ifndef SOCKREC_MMAPWATCH_H
#define SOCKREC_MMAPWATCH_H
#include <stdint.h>
#include <stdio.h>
#include "procmaps.h"

struct mmapw;

/* Opens one perf buffer per online CPU.  Returns 0 or -errno (then the
 * recorder falls back to reading /proc only). */
int mmapw_open(struct mmapw **out, struct procs *procs, FILE *verbose);
int mmapw_drain(struct mmapw *w);
/* CLOCK_MONOTONIC time of the last drain: side-band records of anything that
 * happened before it are in the queue. */
uint64_t mmapw_drained_ns(const struct mmapw *w);
void mmapw_apply_until(struct mmapw *w, uint64_t ts);
uint64_t mmapw_lost(const struct mmapw *w);
int mmapw_has_build_ids(const struct mmapw *w);
void mmapw_close(struct mmapw *w);

#endif
