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

/* A report's output, written whole or not at all: outfile_stage() checks the
 * target as outfile_create() would (no symlink, not over an existing file
 * without force) and creates a hidden temporary file beside it (mkostemp:
 * 0600, exclusive); outfile_commit() renames it into place (without force:
 * RENAME_NOREPLACE, so a file created meanwhile is never replaced);
 * outfile_abort() removes it.  A failed run leaves the old file, if any,
 * untouched and nothing half-written.  Functions return 0 or -errno with a
 * reason in why; outfile_stage returns the temporary file's fd. */
struct outfile_stage {
	char tmp[4096];
	const char *path;
	int force;
};
int outfile_stage(struct outfile_stage *o, const char *path, int force, char *why,
		  size_t whylen);
int outfile_commit(struct outfile_stage *o, char *why, size_t whylen);
void outfile_abort(struct outfile_stage *o);

/* The directory name inside the directory fd at, made 0700 if missing and
 * opened O_NOFOLLOW: a symlink planted there is refused, never followed.
 * The fd, or -1 with errno.  For outputs that are trees (sockrec archive's
 * .build-id/, sockreport export's partitions). */
int outfile_subdir(int at, const char *name);

#endif
