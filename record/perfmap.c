/* perfmap.c - /tmp/perf-PID.map reader (see perfmap.h). */
#include "perfmap.h"
#include "elfsyms.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BACK_SCAN 64  /* earlier entries checked for one that still covers addr */
#define MAX_LINE 4096 /* longer names are cut */

struct perfmap {
	uint32_t pid;
	struct esym *e;    /* sorted by (off, index) */
	size_t n, cap;
	uint64_t consumed; /* bytes of the file parsed (whole lines) */
	uint64_t last_read;
	int gone;          /* the file cannot be used (refused or too big) */
	uint64_t *budget;  /* bytes all maps may still read (perfmap.h) */
	int64_t uid;       /* the owner allowed: the process's uid once seen */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct perfmap *perfmap_new(uint32_t pid, uint64_t *budget)
{
	struct perfmap *pm = calloc(1, sizeof(*pm));
	if (pm) {
		pm->pid = pid;
		pm->budget = budget;
		pm->uid = 0; /* root only, until the process's uid is seen */
	}
	return pm;
}

void perfmap_free(struct perfmap *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->n; i++)
		free((char *)pm->e[i].name);
	free(pm->e);
	free(pm);
}

/* The pid as the process itself sees it (last NSpid field), and its uid. */
static int proc_ids(uint32_t pid, uint32_t *nspid, uint32_t *uid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int got = 0;
	*nspid = pid;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');
			if (last)
				*nspid = (uint32_t)strtoul(last + 1, NULL, 10);
		} else if (!strncmp(line, "Uid:", 4)) {
			*uid = (uint32_t)strtoul(line + 4, NULL, 10); /* the real uid */
			got = 1;
		}
	}
	fclose(f);
	return got ? 0 : -1;
}

/* fd of a regular file at path (never through a symlink) owned by root or
 * by uid (any owner when uid is -1), or -1. */
static int open_owned(const char *path, int64_t uid)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	if (fd < 0)
		return -1;
	/* another user's file would put names on this process's frames */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uid >= 0 && sb.st_uid != 0 && sb.st_uid != (uid_t)uid)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_map(struct perfmap *pm)
{
	char path[96];
	uint32_t nspid, uid = 0;
	int alive = proc_ids(pm->pid, &nspid, &uid) == 0;
	int fd = -1;
	if (alive) {
		pm->uid = uid; /* kept for when it is gone */
		/* as the process sees it: its mount namespace, its pid there */
		snprintf(path, sizeof(path), "/proc/%u/root/tmp/perf-%u.map", pm->pid, nspid);
		fd = open_owned(path, uid);
	}
	if (fd < 0) {
		/* gone, or a zombie (its root is no longer readable): the
		 * host's /tmp, which is where a process of this namespace wrote;
		 * owned by the uid it had, or by root if it was never seen
		 * alive (a pid that is gone is anyone's to write a map for) */
		snprintf(path, sizeof(path), "/tmp/perf-%u.map", pm->pid);
		fd = open_owned(path, pm->uid);
	}
	return fd;
}

static int cmp(const void *a, const void *b)
{
	const struct esym *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* One line "START SIZE NAME" (hex, 0x optional). */
static int add_line(struct perfmap *pm, char *line)
{
	char *end;
	errno = 0;
	uint64_t start = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || errno)
		return 0;
	char *p = end + 1;
	uint64_t size = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || !size || errno || start + size < start)
		return 0;
	char *name = end + 1;
	name[strcspn(name, "\n")] = '\0';
	if (!name[0])
		return 0;
	if (pm->n == pm->cap) {
		size_t nc = pm->cap ? pm->cap * 2 : 256;
		struct esym *ne = realloc(pm->e, nc * sizeof(*ne));
		if (!ne)
			return -1;
		pm->e = ne;
		pm->cap = nc;
	}
	struct esym *e = &pm->e[pm->n];
	e->name = strdup(name);
	if (!e->name)
		return -1;
	e->off = start;
	e->size = size;
	e->index = (uint32_t)pm->n++;
	return 0;
}

/* Parses the lines appended since the last read. */
static void read_more(struct perfmap *pm)
{
	int fd = open_map(pm);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	size_t before = pm->n;
	char line[MAX_LINE];
	if (fseeko(f, (off_t)pm->consumed, SEEK_SET) == 0) {
		/* The process writes this file: a NUL byte may stand anywhere, so
		 * strlen() is not what was read.  The buffer is zeroed before each
		 * fgets(), so a '\n' in it was read now; the position comes from
		 * the stream. */
		while (pm->consumed < PERFMAP_MAX_BYTES && *pm->budget &&
		       (memset(line, 0, sizeof(line)), fgets(line, sizeof(line), f))) {
			size_t len = strlen(line);
			int whole = len && line[len - 1] == '\n';
			if (!whole && !memchr(line, '\n', sizeof(line) - 1)) {
				if (feof(f))
					break; /* being written: read it whole next time */
				int ch;
				while ((ch = fgetc(f)) != EOF && ch != '\n')
					; /* a cut name: skip the rest */
			}
			off_t pos = ftello(f);
			if (pos < 0 || (uint64_t)pos < pm->consumed)
				break;
			uint64_t got = (uint64_t)pos - pm->consumed;
			*pm->budget -= got < *pm->budget ? got : *pm->budget;
			pm->consumed = (uint64_t)pos;
			if (!whole)
				continue; /* a cut or NUL-bearing line names nothing */
			if (add_line(pm, line))
				break; /* ENOMEM: what was read is kept */
		}
	}
	if (pm->consumed >= PERFMAP_MAX_BYTES || !*pm->budget)
		pm->gone = 1;
	fclose(f);
	if (pm->n != before)
		qsort(pm->e, pm->n, sizeof(*pm->e), cmp);
}

static const struct esym *lookup(const struct perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pm->e[mid].off <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct esym *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++) {
		const struct esym *s = &pm->e[i - 1];
		if (addr - s->off < s->size && (!best || s->index > best->index))
			best = s;
	}
	return best;
}

const struct esym *perfmap_find(struct perfmap *pm, uint64_t addr)
{
	/* Read what was appended since, hit or miss: a hit may be a stale
	 * entry whose memory now holds newer code, named further down. */
	uint64_t t = now_ns();
	if (!pm->gone && (!pm->last_read || t - pm->last_read >= PERFMAP_REREAD_NS)) {
		pm->last_read = t;
		read_more(pm);
	}
	return lookup(pm, addr);
}
