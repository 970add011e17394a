/* pidtree.c - the processes that -p names, and those they already started.
 *
 * The BPF side follows forks from the moment it is attached; a child that
 * was running before (nginx's workers under its master) must be found
 * here, in /proc, or `-p MASTER` records nothing the workers do. */
#include "pidtree.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pidtree_exists(uint32_t pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The parent of tgid from /proc/PID/stat ("pid (comm) state ppid ..."),
 * or 0.  comm may hold spaces and parentheses: parse after the last ')'. */
static uint32_t parent_of(const char *pid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;
	char *p;
	unsigned long pp;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* gone since readdir: it has no children to take in */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %lu", &pp) != 1)
		return 0;
	return (uint32_t)pp;
}

static int in_set(const uint32_t *set, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

/* Every process in /proc now: pids, and with ppid their parents.  0 or
 * -errno; the caller frees *pid and *ppid either way. */
static int scan_proc(uint32_t **pid, uint32_t **ppid, size_t *n)
{
	size_t cap = 0;
	struct dirent *d;
	DIR *dir = opendir("/proc");
	int err = 0;

	*n = 0;
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			uint32_t *a = realloc(*pid, nc * sizeof(*a)), *b;
			if (!a) {
				err = -ENOMEM;
				break;
			}
			*pid = a;
			if (ppid) {
				if (!(b = realloc(*ppid, nc * sizeof(*b)))) {
					err = -ENOMEM;
					break;
				}
				*ppid = b;
			}
			cap = nc;
		}
		(*pid)[*n] = (uint32_t)strtoul(d->d_name, NULL, 10);
		if (ppid)
			(*ppid)[*n] = parent_of(d->d_name);
		(*n)++;
	}
	closedir(dir);
	return err;
}

int pidtree_all(uint32_t **out, size_t *nout)
{
	*out = NULL;
	int err = scan_proc(out, NULL, nout);
	if (err) {
		free(*out);
		*out = NULL;
		*nout = 0;
	}
	return err;
}

int pidtree_descendants(const uint32_t *roots, int nroots, uint32_t **out, size_t *nout)
{
	uint32_t *pid = NULL, *ppid = NULL, *set = NULL;
	size_t n = 0, nset = 0;
	int err;

	*out = NULL;
	*nout = 0;
	/* One snapshot of (pid, ppid), then the closure over it. */
	if ((err = scan_proc(&pid, &ppid, &n)))
		goto out;
	set = malloc((n + (size_t)nroots + 1) * sizeof(*set));
	if (!set) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < nroots; i++)
		set[nset++] = roots[i];
	for (size_t grew = 1; grew;) {
		grew = 0;
		for (size_t i = 0; i < n; i++) {
			if (ppid[i] && in_set(set, nset, ppid[i]) && !in_set(set, nset, pid[i])) {
				set[nset++] = pid[i];
				grew = 1;
			}
		}
	}
	/* Only the descendants: the roots are the caller's already. */
	memmove(set, set + nroots, (nset - (size_t)nroots) * sizeof(*set));
	*out = set;
	*nout = nset - (size_t)nroots;
	set = NULL;
out:
	free(pid);
	free(ppid);
	free(set);
	return err;
}
