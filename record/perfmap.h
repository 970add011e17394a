/* perfmap.h - names of JIT-compiled code from /tmp/perf-PID.map.
 *
 * Runtimes that generate code write one line per code object to
 * /tmp/perf-PID.map (node --perf-basic-prof, python3.12 -X perf, Java perf
 * agents, LuaJIT): "START SIZE NAME", START and SIZE in hex, appended as code
 * is made.  The recorder stores the entries its user frames hit as SYMBOL
 * records of the process's anonymous-code module (procmaps.h), as it does
 * for ELF symbols, so a JIT frame gets its name on any machine.
 *
 * Reading: the file is looked for as the process sees it,
 * /proc/PID/root/tmp/perf-NSPID.map (NSPID: its pid in its own namespace),
 * or /tmp/perf-PID.map once the process is gone (or a zombie, whose root
 * cannot be read).  It must be a regular
 * file (never followed through a symlink) owned by root or by the
 * process's user (the uid seen while it lived; only root's once it is gone
 * and its uid was never seen, since anyone can write /tmp/perf-PID.map for
 * a pid that no longer exists).  It is read on the first lookup, and then from where the
 * last read stopped (code made since) on a lookup at least PERFMAP_REREAD_NS
 * after the last read.  A later line for the same address wins: code memory
 * is reused after the runtime frees code (a recording whose frames hit both
 * the old and the new code at one address gets both SYMBOL records, and a
 * reader cannot tell them apart).
 */
#ifndef SOCKREC_PERFMAP_H
#define SOCKREC_PERFMAP_H
#include <stdint.h>

#define PERFMAP_REREAD_NS 20000000ull /* 20 ms */
#define PERFMAP_MAX_BYTES (256u << 20) /* read no more of one file */
/* ... nor more of all of them together: parsed entries cost about the
 * file's size in memory, and a host may run hundreds of JIT processes */
#define PERFMAP_TOTAL_BYTES (512ull << 20)

struct esym;
struct perfmap;

/* NULL on ENOMEM.  *budget: the bytes all perf maps of the recording may
 * still read (starts at PERFMAP_TOTAL_BYTES, shared, owned by the caller);
 * a map that meets an empty budget stops growing and names no more. */
struct perfmap *perfmap_new(uint32_t pid, uint64_t *budget);
void perfmap_free(struct perfmap *pm);

/* The entry covering virtual address addr, or NULL.  esym.off is the
 * entry's start address, esym.index its line number (unique, stable). */
const struct esym *perfmap_find(struct perfmap *pm, uint64_t addr);

#endif
