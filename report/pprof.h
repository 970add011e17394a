/* pprof.h - allocation sites as a pprof profile (profile.proto, gzipped),
 * for `go tool pprof`, Grafana Pyroscope and Parca.
 *
 * One sample per allocation site (kernel stack + user stack + origin) with
 * three values: allocations, still open at the end, leaked (open and older
 * than --older); labels comm, kind, origin and host.  Frames are
 * symbolized here, so the profile's mappings say has_functions (and
 * has_line_numbers where DWARF gave lines): the viewer needs no binaries.
 * Location addresses are file offsets in their module (mapping start 0,
 * offset 0), kernel ones offsets from the kernel text base; each mapping
 * carries the module's GNU build-id.  Encoded with protobuf-c from a
 * profile.proto compiled at build time.
 */
#ifndef SOCKREPORT_PPROF_H
#define SOCKREPORT_PPROF_H
#include "cli.h"
#include "sites.h"

enum pprof_value { PPROF_ALLOCS = 0, PPROF_OPEN = 1, PPROF_LEAKED = 2 };

/* Writes the by_id sites of ss (before or after sites_collapse) to
 * c->pprof (0600, never over an existing file without --force), gzipped;
 * `preferred` is the value viewers show first.  0, or 1 after a one-line
 * message on stderr. */
int pprof_write(const struct cli *c, struct model *m, struct sym_ctx *sym, struct sites *ss,
		uint64_t end, enum pprof_value preferred);

#endif
