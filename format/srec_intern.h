/* srec_intern.h - write-once tables for strings, modules and stacks.
 *
 * The format requires that repeated values (comms, paths, stacks) are
 * written once and referred to by a file-local id.  An interner maps a
 * byte string to its id; on first sight it emits the defining record
 * through the writer, so a definition always precedes its first use in
 * the file.
 *
 * Ids: strings and modules start at 1 (0 means "none"); stacks start at
 * SREC_STACK_FIRST_ID (lower values are the stack error codes).
 * Memory grows with the number of distinct values, never with the number
 * of events.
 */
#ifndef SREC_INTERN_H
#define SREC_INTERN_H
#include <stddef.h>
#include <stdint.h>
#include "srec_writer.h"

struct srec_intern;

struct srec_intern *srec_intern_new(void);
void srec_intern_free(struct srec_intern *in);

/* Returns the id (> 0), or 0 with *err set.  NULL/empty string -> 0. */
uint64_t srec_intern_string(struct srec_intern *in, struct srec_writer *w, const char *s,
			    size_t len, int *err);

/* Module: keyed by path + build-id. */
uint64_t srec_intern_module(struct srec_intern *in, struct srec_writer *w, const char *path,
			    const uint8_t *build_id, size_t build_id_len, int *err);

/* Stack: keyed by kind, flags, frames (and modules for user stacks) and
 * how it was unwound (uw, NULL: not recorded). */
uint64_t srec_intern_stack(struct srec_intern *in, struct srec_writer *w, uint32_t kind,
			   uint32_t flags, const struct srec_unwind *uw, const int64_t *frames,
			   const uint64_t *modules, uint32_t nframes, int *err);

/* Number of distinct values held, for memory accounting. */
size_t srec_intern_count(const struct srec_intern *in);

#endif
