/* outfile.c - exclusive, no-follow, 0600 creation of output files (the
 * recorder's trace, sockreport's html page): in format/ because both
 * programs link it. */
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_create(const char *path, int force, char *why, size_t whylen)
{
	struct stat sb;
	int fd;

	if (force && lstat(path, &sb) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			snprintf(why, whylen, "%s is a symbolic link; refusing to write through it", path);
			return -ELOOP;
		}
		if (!S_ISREG(sb.st_mode)) {
			snprintf(why, whylen, "%s exists and is not a regular file", path);
			return -EEXIST;
		}
		if (unlink(path) != 0) {
			int e = errno;
			snprintf(why, whylen, "cannot remove %s: %s", path, strerror(e));
			return -e;
		}
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
