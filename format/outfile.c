/* outfile.c - exclusive, no-follow, 0600 creation of output files (the
 * recorder's trace, sockreport's html page): in format/ because both
 * programs link it. */
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is there a file at path that -f may replace?  1: a regular file, 0:
 * nothing there; -errno (reason in why): a symlink or not a regular file,
 * which nothing replaces. */
static int existing_regular(const char *path, char *why, size_t whylen)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return 0;
	if (S_ISLNK(sb.st_mode)) {
		snprintf(why, whylen, "%s is a symbolic link; refusing to write through it", path);
		return -ELOOP;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a regular file", path);
		return -EEXIST;
	}
	return 1;
}

int outfile_create(const char *path, int force, char *why, size_t whylen)
{
	int fd, there = force ? existing_regular(path, why, whylen) : 0;

	if (there < 0)
		return there;
	if (there && unlink(path) != 0) {
		int e = errno;
		snprintf(why, whylen, "cannot remove %s: %s", path, strerror(e));
		return -e;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST)
			snprintf(why, whylen, "%s already exists (use --force to overwrite)", path);
		else
			snprintf(why, whylen, "cannot create %s: %s", path, strerror(e));
		return -e;
	}
	/* The umask can only remove bits from 0600; make it exact anyway. */
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		snprintf(why, whylen, "cannot set mode of %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

int outfile_stage(struct outfile_stage *o, const char *path, int force, char *why,
		  size_t whylen)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	int fd, there = existing_regular(path, why, whylen);

	o->tmp[0] = 0;
	o->path = path;
	o->force = force;
	if (there < 0)
		return there;
	if (there && !force) {
		snprintf(why, whylen, "%s already exists (use --force to overwrite)", path);
		return -EEXIST;
	}
	if (snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.XXXXXX", dirlen, path,
		     slash ? slash + 1 : path) >= (int)sizeof(o->tmp)) {
		o->tmp[0] = 0;
		snprintf(why, whylen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC); /* O_CREAT|O_EXCL, mode 0600 */
	if (fd < 0) {
		int e = errno;
		o->tmp[0] = 0;
		snprintf(why, whylen, "cannot create a file beside %s: %s", path, strerror(e));
		return -e;
	}
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		outfile_abort(o);
		snprintf(why, whylen, "cannot set mode of %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

int outfile_commit(struct outfile_stage *o, char *why, size_t whylen)
{
	if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, o->force ? 0 : RENAME_NOREPLACE)) {
		int e = errno;
		if (e == EEXIST)
			snprintf(why, whylen, "%s already exists (use --force to overwrite)", o->path);
		else
			snprintf(why, whylen, "cannot create %s: %s", o->path, strerror(e));
		outfile_abort(o);
		return -e;
	}
	o->tmp[0] = 0;
	return 0;
}

void outfile_abort(struct outfile_stage *o)
{
	if (o->tmp[0])
		(void)unlink(o->tmp);
	o->tmp[0] = 0;
}

int outfile_subdir(int at, const char *name)
{
	if (mkdirat(at, name, 0700) != 0 && errno != EEXIST)
		return -1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}
