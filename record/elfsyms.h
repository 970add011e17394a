/* elfsyms.h - a module's function symbols by FILE OFFSET, for embedding.
 *
 * sockrec --embed-symbols (the default) stores in the file the function
 * symbols its user frames hit, so that a .srec attached to a ticket names
 * functions on a machine without the host's binaries.  This reads them on
 * the host: .symtab and .dynsym FUNC/IFUNC symbols (without a .symtab,
 * also the MiniDebugInfo of .gnu_debugdata: report/minidebuginfo.h),
 * converted from ELF virtual addresses to file offsets through the PT_LOAD
 * headers (frames are stored as file offsets, spec 5.2).  (Anonymous code
 * is named from the process's perf map instead: perfmap.h.)  The file is used only if its
 * build-id equals the one recorded for the mapping.
 */
#ifndef SOCKREC_ELFSYMS_H
#define SOCKREC_ELFSYMS_H
#include <stddef.h>
#include <stdint.h>

struct esym {
	uint64_t off, size;
	const char *name;
	uint32_t index; /* position in the table, for "already written" sets */
};

struct elfsyms;

/* NULL when the file cannot be read, is not ELF, has no function symbols,
 * or its build-id differs from bid (when bid_len > 0). */
struct elfsyms *elfsyms_load(const char *path, const uint8_t *bid, size_t bid_len);
const struct esym *elfsyms_find(const struct elfsyms *t, uint64_t off);
void elfsyms_free(struct elfsyms *t);

#endif
