/* buildid.h - read the GNU build-id note of an ELF file.
 *
 * Reads only the notes (program headers first, then note sections), never
 * the whole file.  Returns the id's length (1..BUILDID_MAX) and fills out,
 * or 0 when the file has no build-id or is not ELF, or -errno when it
 * cannot be read.  A failure here must never stop normalization: callers
 * record the module with an empty build-id.
 */
#ifndef SOCKREC_BUILDID_H
#define SOCKREC_BUILDID_H
#include <stddef.h>
#include <stdint.h>

#define BUILDID_MAX 64

int buildid_read_fd(int fd, uint8_t out[BUILDID_MAX]);
int buildid_read_path(const char *path, uint8_t out[BUILDID_MAX]);
/* The running kernel's build-id, from /sys/kernel/notes. */
int buildid_read_kernel(uint8_t out[BUILDID_MAX]);

#endif
