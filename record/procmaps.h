/* procmaps.h - processes and their executable mappings, as the recorder
 * sees them, and the normalization of user addresses.
 *
 * On first sight of a pid the recorder writes a PROCESS record and one
 * MAPPING record per executable mapping (generation 1); modules (path +
 * build-id) are interned as MODULE records.  procs_normalize() turns a user
 * address into (module id, file offset) - blazesym's "normalize on the
 * host" - and re-reads the maps once (a new generation) when an address
 * falls outside every known mapping, which is what a dlopen() looks like.
 *
 * Memory is bounded by the processes alive at once: procs_exit() forgets
 * a process.
 */
#ifndef SOCKREC_PROCMAPS_H
#define SOCKREC_PROCMAPS_H
#include <stdint.h>
#include "srec_intern.h"
#include "srec_writer.h"

struct procs;

struct procs *procs_new(struct srec_writer *w, struct srec_intern *in);
void procs_free(struct procs *p);

/* Record pid (and its maps) if not seen yet.  Returns 0, or a negative
 * srec_err from the writer.  A process that is already gone is recorded
 * without maps, and counted (procs_unreadable). */
int procs_see(struct procs *p, uint32_t pid, uint64_t ts);

/* At start, before any event: the code mappings of running processes pids,
 * as `perf record` synthesizes them.  They are kept pending, written only
 * for a process an event names, so that a process that makes a socket and
 * exits before the recorder reads its event still has its maps.  Processes
 * the side-band stream already knows, and those gone, are skipped.  Adds
 * the processes taken in to *nprocs.  Returns 0 or -2 (out of memory). */
int procs_snapshot(struct procs *p, const uint32_t *pids, size_t npids, size_t *nprocs);

/* Module id (0: no mapping known) and file offset (or the raw address). */
uint64_t procs_normalize(struct procs *p, uint32_t pid, uint64_t addr, uint64_t ts,
			 uint64_t *off, int *err);

/* Side-band stream (mmapwatch.c): an executable mapping was made, a
 * process forked (the child gets the parent's maps), exec'd (empty
 * address space, mappings follow).  Each writes MAPPING records. */
int procs_mmap(struct procs *p, uint32_t pid, uint64_t ts, uint64_t start, uint64_t end,
	       uint64_t pgoff, uint32_t prot, const char *path, const uint8_t *bid, size_t bid_len);
void procs_fork(struct procs *p, uint32_t parent, uint32_t child, uint64_t ts);
void procs_exec(struct procs *p, uint32_t pid, uint64_t ts);
/* Without the side-band stream: the process exec'd, re-read /proc next time. */
void procs_exec_stale(struct procs *p, uint32_t pid);
/* The process is gone (or its pid was reused by a fork): forget it. */
void procs_exit(struct procs *p, uint32_t pid);

/* The function symbol covering file offset off of a module, read from the
 * module's ELF on first use (build-id checked); NULL if none. */
struct esym;
const struct esym *procs_module_symbol(struct procs *p, uint64_t module, uint64_t off);

/* Path and build-id of a module id as the recorder interned it; NULL if
 * unknown.  The unwinder reads the module's CFI from this file. */
const char *procs_module_file(const struct procs *p, uint64_t module, const uint8_t **bid,
			      size_t *bid_len);

uint64_t procs_unreadable(const struct procs *p);
uint64_t procs_count(const struct procs *p);

#endif
