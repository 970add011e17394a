/* hostmeta.h - the host half of the file's metadata (spec section 6). */
#ifndef SOCKREC_HOSTMETA_H
#define SOCKREC_HOSTMETA_H
#include <stdint.h>
#include "srec_writer.h"

/* Writes host.*, recorder.*, kernel.build_id and the clock pair.  machine
 * receives uname's machine (for syscall tables). */
int hostmeta_write(struct srec_writer *w, int argc, char **argv, char *machine, size_t mlen);

uint64_t mono_ns(void);

#endif
