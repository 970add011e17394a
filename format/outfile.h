/* outfile.h - create the trace file safely.
 *
 * The file is created with mode 0600 and O_EXCL|O_NOFOLLOW: never through a
 * symlink, never over an existing file.  With force, an existing regular
 * file (not a symlink, not a directory) is unlinked first and the create
 * is still exclusive, so a symlink planted in between is not followed.
 * Returns the fd, or -errno with a reason in why.
 */
#ifndef SOCKREC_OUTFILE_H
#define SOCKREC_OUTFILE_H
#include <stddef.h>

int outfile_create(const char *path, int force, char *why, size_t whylen);

#endif
