/* stacks.h - stack references -> printable, symbolized frame lines.
 *
 * User frames go through the symbolizer (symbolize.h) with the module and
 * file offset the recorder normalized; kernel frames through the KSYM
 * records in the file, and with --vmlinux through the symbolizer too
 * (sym_kernel_lookup) when the file's build-id is the recorded kernel's.  Every frame that cannot be named says why, and
 * keeps module+offset so that it can be resolved later.  Results are cached
 * per stack id: a stack shared by a million events is symbolized once.
 */
#ifndef SOCKREPORT_STACKS_H
#define SOCKREPORT_STACKS_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "symbolize.h"

struct stacks;

struct stacks *stacks_new(struct model *m, struct sym_ctx *sym);
void stacks_free(struct stacks *s);
/* Catches up with the model after stacks_new() while it is still loading
 * (the stacks and embedded symbols read since); 0 or -1 on ENOMEM.  A
 * definition comes before its first use in the file, so a stack named by
 * a socket handed over by the model is known after a sync. */
int stacks_sync(struct stacks *s);

/* Lines of the stack `ref` (innermost frame first).  For error refs a
 * single line "[stack lost: ...]"; for SREC_STACK_NONE zero lines.
 * The array and strings live until stacks_free().  NULL on ENOMEM. */
const char *const *stacks_lines(struct stacks *s, uint64_t ref, size_t *n);

/* Is this line of stacks_lines() the note on how the stack was unwound
 * ("[unwinding stopped: ...]") rather than a frame?  Grouping ignores it. */
int stacks_line_is_note(const char *line);

/* Function-level key of a frame line (module!function), for matching
 * stacks across builds: address-free. */
void stacks_frame_key(const char *line, char *out, size_t cap);

#endif
