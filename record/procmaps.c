/* procmaps.c - /proc/PID/maps snapshots, build-ids, normalization. */
#include "procmaps.h"
#include "buildid.h"
#include "elfsyms.h"
#include "hmap.h"
#include "perfmap.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A miss re-reads the maps at most this often per process, so that a
 * process jumping into JIT code cannot make us read /proc for every frame. */
#define REREAD_MIN_NS 50000000ull

struct pmap {
	uint64_t start, end, pgoff, module;
};

struct proc {
	uint32_t gen;
	int stale;            /* re-read maps before the next lookup */
	int has_base;         /* maps complete: read from /proc (at first sight or in
			       * the start-up snapshot), or built from an exec/fork
			       * seen in the side-band stream */
	int process_written;  /* PROCESS record written */
	uint64_t last_reread; /* ts of the last miss-triggered re-read */
	struct pinfo_kept *kept; /* the start-up snapshot's PROCESS fields, or NULL */
	struct pmap *maps;
	size_t n;
};

struct modinfo {
	char *path;
	uint8_t bid[BUILDID_MAX];
	uint8_t bid_len;
	uint8_t tried;          /* symbols looked for (found or not) */
	struct elfsyms *syms;
	uint32_t jit_pid;       /* anonymous code of this process (anon_code()) */
	struct perfmap *perfmap; /* its /tmp/perf-PID.map, read on first use */
};

/* A module seen by the side-band stream in a process that no event has
 * named yet.  It is interned (a MODULE record) only once that process turns
 * out to matter, so a filtered recording does not list every process's
 * libraries.  pmap.module holds PENDING | index until then. */
#define PENDING (1ull << 63)
struct pendmod {
	char *path;
	uint8_t bid[BUILDID_MAX];
	uint8_t bid_len;
	uint64_t id; /* interned id once resolved, 0 before */
};

struct procs {
	struct pendmod *pend;
	size_t npend, pend_cap;
	struct hmap *pendidx;   /* (hash(path), bid words, len) -> index + 1 */
	struct modinfo *mods;   /* by module id */
	size_t nmods;
	struct srec_writer *w;
	struct srec_intern *in;
	struct hmap *bypid;    /* (pid) -> struct proc * */
	struct hmap *modcache; /* (dev, ino, mtime) -> module id */
	uint64_t perfmap_budget; /* bytes of perf maps still to read (perfmap.h) */
	uint64_t unreadable;
	uint64_t nprocs;
	uint64_t boot_to_mono; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns */
	long clk_tck;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct procs *procs_new(struct srec_writer *w, struct srec_intern *in)
{
	struct procs *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->w = w;
	p->in = in;
	p->bypid = hmap_new();
	p->modcache = hmap_new();
	p->pendidx = hmap_new();
	p->perfmap_budget = PERFMAP_TOTAL_BYTES;
	p->clk_tck = sysconf(_SC_CLK_TCK);
	if (p->clk_tck <= 0)
		p->clk_tck = 100;
	uint64_t b = clock_ns(CLOCK_BOOTTIME), m = clock_ns(CLOCK_MONOTONIC);
	p->boot_to_mono = b > m ? b - m : 0;
	if (!p->bypid || !p->modcache || !p->pendidx) {
		procs_free(p);
		return NULL;
	}
	return p;
}

static struct proc *get_proc(struct procs *p, uint32_t pid)
{
	struct hkey k = hkey4(pid, 0, 0, 0);
	uint64_t *v = hmap_get(p->bypid, &k);
	return v ? (struct proc *)(uintptr_t)*v : NULL;
}

static void free_proc_cb(const struct hkey *k, uint64_t v, void *arg)
{
	(void)k;
	(void)arg;
	struct proc *pr = (struct proc *)(uintptr_t)v;
	if (pr) {
		free(pr->maps);
		free(pr->kept);
		free(pr);
	}
}

void procs_free(struct procs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npend; i++)
		free(p->pend[i].path);
	free(p->pend);
	hmap_free(p->pendidx);
	for (size_t i = 0; i < p->nmods; i++) {
		free(p->mods[i].path);
		elfsyms_free(p->mods[i].syms);
		perfmap_free(p->mods[i].perfmap);
	}
	free(p->mods);
	hmap_foreach(p->bypid, free_proc_cb, NULL);
	hmap_free(p->bypid);
	hmap_free(p->modcache);
	free(p);
}

uint64_t procs_unreadable(const struct procs *p)
{
	return p->unreadable;
}

uint64_t procs_count(const struct procs *p)
{
	return p->nprocs;
}

/* Keep path and build-id of a module id, for embedding its symbols. */
static uint64_t remember(struct procs *p, uint64_t id, const char *path, const uint8_t *bid,
			 size_t bid_len, int *err)
{
	if (!id || *err)
		return id;
	if (id >= p->nmods) {
		size_t nc = p->nmods ? p->nmods : 64;
		while (nc <= id)
			nc *= 2;
		struct modinfo *nm = realloc(p->mods, nc * sizeof(*nm));
		if (!nm) {
			*err = -2;
			return 0;
		}
		memset(nm + p->nmods, 0, (nc - p->nmods) * sizeof(*nm));
		p->mods = nm;
		p->nmods = nc;
	}
	struct modinfo *m = &p->mods[id];
	if (!m->path) {
		m->path = strdup(path);
		if (!m->path) {
			*err = -2;
			return 0;
		}
		m->bid_len = (uint8_t)(bid_len > BUILDID_MAX ? BUILDID_MAX : bid_len);
		if (m->bid_len)
			memcpy(m->bid, bid, m->bid_len);
	}
	return id;
}

const struct esym *procs_module_symbol(struct procs *p, uint64_t module, uint64_t off)
{
	if (!module || module >= p->nmods || !p->mods[module].path)
		return NULL;
	struct modinfo *m = &p->mods[module];
	if (m->jit_pid) {
		/* off is the virtual address (see anon_code()) */
		if (!m->perfmap && !(m->perfmap = perfmap_new(m->jit_pid, &p->perfmap_budget)))
			return NULL;
		return perfmap_find(m->perfmap, off);
	}
	if (!m->tried) {
		m->tried = 1;
		m->syms = elfsyms_load(m->path, m->bid, m->bid_len);
	}
	return elfsyms_find(m->syms, off);
}

const char *procs_module_file(const struct procs *p, uint64_t module, const uint8_t **bid,
			      size_t *bid_len)
{
	if (!module || module >= p->nmods || !p->mods[module].path)
		return NULL;
	*bid = p->mods[module].bid;
	*bid_len = p->mods[module].bid_len;
	return p->mods[module].path;
}

/* Executable memory that is no file (JIT code): "" and "[anon:NAME]" in
 * /proc/PID/maps, "//anon" in perf's MMAP2 records, [heap], [stack].  Such
 * a mapping gets a module of its own per process, "[anon pid PID]", and a
 * pgoff equal to its start, so that its frames are stored as virtual
 * addresses: the addresses /tmp/perf-PID.map names (perfmap.h). */
static int anon_code(const char *name)
{
	static const char *const files[] = { "[vdso]", "[vsyscall]", "[uprobes]" };
	if (name[0] == '/' && strncmp(name, "//anon", 6) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(name, files[i]))
			return 0;
	return 1;
}

static uint64_t anon_module(struct procs *p, uint32_t pid, int *err)
{
	char name[48];
	snprintf(name, sizeof(name), "[anon pid %u]", pid);
	uint64_t id = remember(p, srec_intern_module(p->in, p->w, name, NULL, 0, err), name, NULL, 0,
			       err);
	if (id && !*err)
		p->mods[id].jit_pid = pid;
	return id;
}

/* Module id for one mapping; reads the build-id through map_files so that
 * a binary deleted or replaced since it was mapped still gives the id of
 * what is actually mapped. */
static uint64_t module_for(struct procs *p, uint32_t pid, uint64_t start, uint64_t end,
			   const char *path, int *err)
{
	char mf[96];
	struct stat sb;
	uint8_t bid[BUILDID_MAX];
	int blen = 0;
	int fd;

	*err = 0;
	if (anon_code(path))
		return anon_module(p, pid, err);
	if (path[0] != '/') /* [vdso], [vsyscall]: no file */
		return remember(p, srec_intern_module(p->in, p->w, path, NULL, 0, err), path, NULL, 0,
				err);
	snprintf(mf, sizeof(mf), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0) {
		struct hkey k = hkey4((uint64_t)sb.st_dev, (uint64_t)sb.st_ino,
				      (uint64_t)sb.st_mtim.tv_sec * 1000000000ull +
					      (uint64_t)sb.st_mtim.tv_nsec,
				      0);
		uint64_t *v = hmap_get(p->modcache, &k);
		if (v) {
			close(fd);
			return *v;
		}
		blen = buildid_read_fd(fd, bid);
		close(fd);
		if (blen < 0)
			blen = 0;
		uint64_t id = srec_intern_module(p->in, p->w, path, bid, (size_t)blen, err);
		remember(p, id, path, bid, (size_t)blen, err);
		if (id && !*err && hmap_put(p->modcache, &k, id))
			*err = -2; /* SREC_E_NOMEM */
		return id;
	}
	if (fd >= 0)
		close(fd);
	return remember(p, srec_intern_module(p->in, p->w, path, NULL, 0, err), path, NULL, 0, err);
}

/* One line of /proc/PID/maps, if it maps code: its range, file offset
 * (the start, for JIT code: see anon_code()), permissions and name (in
 * line, its newline cut).  0 for any other line. */
static int parse_code_line(char *line, struct pmap *m, char perms[8], char **name)
{
	uint64_t ino;
	char dev[16];
	int pos = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %15s %" SCNu64 " %n", &m->start,
		   &m->end, perms, &m->pgoff, dev, &ino, &pos) < 6 || perms[2] != 'x')
		return 0;
	*name = line + pos;
	(*name)[strcspn(*name, "\n")] = 0;
	if (anon_code(*name))
		m->pgoff = m->start; /* frames become virtual addresses */
	m->module = 0;
	return 1;
}

static int push_map(struct pmap **maps, size_t *n, size_t *cap, const struct pmap *m)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct pmap *nm = realloc(*maps, ncap * sizeof(*nm));
		if (!nm)
			return -2; /* SREC_E_NOMEM */
		*maps = nm;
		*cap = ncap;
	}
	(*maps)[(*n)++] = *m;
	return 0;
}

/* Read /proc/PID/maps into pr (a new generation) and write MAPPING records. */
static int read_maps(struct procs *p, uint32_t pid, struct proc *pr, uint64_t ts)
{
	char path[64], line[4096];
	struct pmap *maps = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		if (!pr->n)
			p->unreadable++;
		pr->has_base = 1; /* nothing more to learn from /proc */
		pr->stale = 0;
		return 0;
	}
	pr->gen++;
	while (fgets(line, sizeof(line), f)) {
		struct pmap pm;
		char perms[8], *name;

		if (!parse_code_line(line, &pm, perms, &name))
			continue;
		uint64_t start = pm.start, end = pm.end, pgoff = pm.pgoff;
		uint64_t mod = module_for(p, pid, start, end, name, &err);
		if (err)
			break;
		pm.module = mod;
		if ((err = push_map(&maps, &n, &cap, &pm)))
			break;

		struct srec_record r;
		memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.mapping));
		r.type = SREC_R_MAPPING;
		r.u.mapping.ts = ts;
		r.u.mapping.pid = pid;
		r.u.mapping.gen = pr->gen;
		r.u.mapping.start = start;
		r.u.mapping.end = end;
		r.u.mapping.pgoff = pgoff;
		r.u.mapping.module = mod;
		r.u.mapping.prot = (perms[0] == 'r' ? 1u : 0) | (perms[1] == 'w' ? 2u : 0) | 4u;
		if ((err = srec_writer_add(p->w, &r)))
			break;
	}
	fclose(f);
	if (err) {
		free(maps);
		return err;
	}
	/* /proc/PID/maps is sorted by address, so lookups can bisect. */
	free(pr->maps);
	pr->maps = maps;
	pr->n = n;
	pr->stale = 0;
	pr->has_base = 1;
	return 0;
}

/* What /proc/PID/stat and /proc/PID/exe say of a process: its PROCESS
 * record's fields.  Empty strings and zeros for what could not be read. */
struct pinfo {
	uint64_t ppid, start_ns;
	char comm[64];
	char exe[4096];
};

static void read_pinfo(const struct procs *p, uint32_t pid, struct pinfo *pi)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	memset(pi, 0, offsetof(struct pinfo, exe) + 1);
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = 0;
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (lp && rp && rp > lp) {
			size_t len = (size_t)(rp - lp - 1);
			if (len >= sizeof(pi->comm))
				len = sizeof(pi->comm) - 1;
			memcpy(pi->comm, lp + 1, len);
			pi->comm[len] = 0;
			/* fields after ")": state ppid ... starttime is field 22 */
			char *q = rp + 2;
			unsigned long long v;
			int field = 3;
			while (*q && field <= 22) {
				if (field == 4 || field == 22) {
					v = strtoull(q, NULL, 10);
					if (field == 4)
						pi->ppid = v;
					else {
						uint64_t since_boot = v * (1000000000ull / (uint64_t)p->clk_tck);
						pi->start_ns = since_boot > p->boot_to_mono ?
								       since_boot - p->boot_to_mono : 0;
					}
				}
				q = strchr(q, ' ');
				if (!q)
					break;
				q++;
				field++;
			}
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, pi->exe, sizeof(pi->exe) - 1);
	pi->exe[n > 0 ? n : 0] = 0;
}

/* A pinfo kept by the start-up snapshot, exe sized to fit. */
struct pinfo_kept {
	uint64_t ppid, start_ns;
	char comm[64];
	char exe[];
};
_Static_assert(sizeof(((struct pinfo *)0)->comm) == sizeof(((struct pinfo_kept *)0)->comm),
	       "a kept pinfo holds any comm read_pinfo() reads");

static struct pinfo_kept *keep_pinfo(const struct pinfo *pi)
{
	size_t len = strlen(pi->exe);
	struct pinfo_kept *k = malloc(sizeof(*k) + len + 1);
	if (k) {
		k->ppid = pi->ppid;
		k->start_ns = pi->start_ns;
		memcpy(k->comm, pi->comm, sizeof(k->comm));
		memcpy(k->exe, pi->exe, len + 1);
	}
	return k;
}

/* The PROCESS record: from /proc now, or, for a process already gone, what
 * the start-up snapshot read of it (pr->kept). */
static int write_process(struct procs *p, uint32_t pid, const struct proc *pr, uint64_t ts)
{
	struct pinfo now;
	int err = 0;

	read_pinfo(p, pid, &now);
	const struct pinfo_kept *k = !now.comm[0] && !now.exe[0] ? pr->kept : NULL;
	const char *comm = k ? k->comm : now.comm, *exe = k ? k->exe : now.exe;

	struct srec_record r;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.process));
	r.type = SREC_R_PROCESS;
	r.u.process.ts = ts;
	r.u.process.pid = pid;
	r.u.process.ppid = (uint32_t)(k ? k->ppid : now.ppid);
	r.u.process.comm = srec_intern_string(p->in, p->w, comm, strlen(comm), &err);
	if (err)
		return err;
	r.u.process.exe = srec_intern_string(p->in, p->w, exe, strlen(exe), &err);
	if (err)
		return err;
	r.u.process.start_ns = k ? k->start_ns : now.start_ns;
	return srec_writer_add(p->w, &r);
}

static struct proc *new_proc(struct procs *p, uint32_t pid)
{
	struct proc *pr = calloc(1, sizeof(*pr));
	struct hkey k = hkey4(pid, 0, 0, 0);

	if (!pr)
		return NULL;
	if (hmap_put(p->bypid, &k, (uint64_t)(uintptr_t)pr)) {
		free(pr);
		return NULL;
	}
	p->nprocs++;
	return pr;
}

static uint64_t pending_module(struct procs *p, const char *path, const uint8_t *bid,
			       size_t bid_len)
{
	uint64_t h = 1469598103934665603ull, w1 = 0, w2 = 0;
	for (const char *c = path; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	if (bid_len > BUILDID_MAX)
		bid_len = BUILDID_MAX;
	if (bid_len) /* bid may be NULL then (the start-up snapshot has none) */
		memcpy(&w1, bid, bid_len < 8 ? bid_len : 8);
	if (bid_len > 8)
		memcpy(&w2, bid + 8, bid_len - 8 < 8 ? bid_len - 8 : 8);
	struct hkey k = hkey4(h, w1, w2, bid_len);
	uint64_t *v = hmap_get(p->pendidx, &k);
	if (v)
		return PENDING | (*v - 1);
	if (p->npend == p->pend_cap) {
		size_t nc = p->pend_cap ? p->pend_cap * 2 : 64;
		struct pendmod *np = realloc(p->pend, nc * sizeof(*np));
		if (!np)
			return 0;
		p->pend = np;
		p->pend_cap = nc;
	}
	struct pendmod *m = &p->pend[p->npend];
	memset(m, 0, sizeof(*m));
	if (!(m->path = strdup(path)))
		return 0;
	m->bid_len = (uint8_t)bid_len;
	if (bid_len)
		memcpy(m->bid, bid, bid_len);
	if (hmap_put(p->pendidx, &k, p->npend + 1)) {
		free(m->path);
		return 0;
	}
	return PENDING | p->npend++;
}

static int write_mapping(struct procs *p, uint32_t pid, struct proc *pr, uint64_t ts,
			 const struct pmap *m, uint32_t prot);

/* The process matters now: intern its pending modules, write its maps. */
static int resolve_pending(struct procs *p, uint32_t pid, struct proc *pr, uint64_t ts)
{
	int err = 0;
	for (size_t i = 0; i < pr->n && !err; i++) {
		struct pmap *m = &pr->maps[i];
		if (!(m->module & PENDING))
			continue;
		struct pendmod *pm = &p->pend[m->module & ~PENDING];
		if (anon_code(pm->path)) {
			/* shared by every process's "//anon": the module is this one's */
			m->module = anon_module(p, pid, &err);
			if (!err)
				err = write_mapping(p, pid, pr, ts, m, 5 /* r-x */);
			continue;
		}
		if (!pm->id)
			pm->id = pm->bid_len ?
					 remember(p, srec_intern_module(p->in, p->w, pm->path, pm->bid,
									pm->bid_len, &err),
						  pm->path, pm->bid, pm->bid_len, &err) :
					 module_for(p, pid, m->start, m->end, pm->path, &err);
		if (err)
			break;
		m->module = pm->id;
		err = write_mapping(p, pid, pr, ts, m, 5 /* r-x */);
	}
	return err;
}

/* The code mappings of a running process that nothing has named yet, kept
 * as pending mappings: no record is written unless it comes to matter. */
static int snapshot_proc(struct procs *p, uint32_t pid)
{
	char path[64], line[4096];
	struct pmap *maps = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	FILE *f;

	if (get_proc(p, pid))
		return 0; /* the side-band stream knows it already */
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	if (!(f = fopen(path, "re")))
		return 0; /* gone already */
	while (fgets(line, sizeof(line), f)) {
		struct pmap pm;
		char perms[8], *name;

		if (!parse_code_line(line, &pm, perms, &name))
			continue;
		if (!(pm.module = pending_module(p, name, NULL, 0)) ||
		    (err = push_map(&maps, &n, &cap, &pm))) {
			err = -2;
			break;
		}
	}
	fclose(f);
	struct proc *pr = NULL;
	if (err || !n || !(pr = new_proc(p, pid))) { /* n == 0: a kernel thread */
		free(maps);
		return err || !n ? err : -2;
	}
	pr->maps = maps; /* sorted by address, as /proc lists them */
	pr->n = n;
	pr->has_base = 1;
	struct pinfo pi;
	read_pinfo(p, pid, &pi);
	if (!(pr->kept = keep_pinfo(&pi)))
		return -2;
	return 0;
}

int procs_snapshot(struct procs *p, const uint32_t *pids, size_t npids, size_t *nprocs)
{
	size_t before = p->nprocs;
	int err = 0;

	for (size_t i = 0; i < npids && !err; i++)
		err = snapshot_proc(p, pids[i]);
	*nprocs += p->nprocs - before;
	return err;
}

int procs_see(struct procs *p, uint32_t pid, uint64_t ts)
{
	struct proc *pr = get_proc(p, pid);
	int err;

	if (!pr && !(pr = new_proc(p, pid)))
		return -2;
	if (!pr->process_written) {
		pr->process_written = 1;
		if ((err = write_process(p, pid, pr, ts)))
			return err;
		if (pr->has_base && !pr->stale && (err = resolve_pending(p, pid, pr, ts)))
			return err;
	}
	if (!pr->has_base || pr->stale) {
		/* A process that already exited keeps what the side-band
		 * stream told us about it. */
		if ((err = read_maps(p, pid, pr, ts)))
			return err;
	}
	return 0;
}

static const struct pmap *lookup(const struct proc *pr, uint64_t addr)
{
	size_t lo = 0, hi = pr->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < pr->maps[mid].start)
			hi = mid;
		else if (addr >= pr->maps[mid].end)
			lo = mid + 1;
		else
			return &pr->maps[mid];
	}
	return NULL;
}

uint64_t procs_normalize(struct procs *p, uint32_t pid, uint64_t addr, uint64_t ts,
			 uint64_t *off, int *err)
{
	struct proc *pr;
	const struct pmap *m;

	*err = 0;
	*off = addr;
	if ((*err = procs_see(p, pid, ts)))
		return 0;
	pr = get_proc(p, pid);
	if (!pr)
		return 0;
	m = lookup(pr, addr);
	if (!m && ts - pr->last_reread > REREAD_MIN_NS) {
		pr->last_reread = ts;
		if ((*err = read_maps(p, pid, pr, ts)))
			return 0;
		m = lookup(pr, addr);
	}
	if (!m || (m->module & PENDING))
		return 0;
	*off = addr - m->start + m->pgoff;
	return m->module;
}

static int write_mapping(struct procs *p, uint32_t pid, struct proc *pr, uint64_t ts,
			 const struct pmap *m, uint32_t prot)
{
	struct srec_record r;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.mapping));
	r.type = SREC_R_MAPPING;
	r.u.mapping.ts = ts;
	r.u.mapping.pid = pid;
	r.u.mapping.gen = ++pr->gen;
	r.u.mapping.start = m->start;
	r.u.mapping.end = m->end;
	r.u.mapping.pgoff = m->pgoff;
	r.u.mapping.module = m->module;
	r.u.mapping.prot = prot;
	return srec_writer_add(p->w, &r);
}

int procs_mmap(struct procs *p, uint32_t pid, uint64_t ts, uint64_t start, uint64_t end,
	       uint64_t pgoff, uint32_t prot, const char *path, const uint8_t *bid, size_t bid_len)
{
	struct proc *pr = get_proc(p, pid);
	int err = 0;

	if (!(prot & 4) || end <= start)
		return 0; /* only code is ever on a stack */
	if (anon_code(path))
		pgoff = start; /* as read_maps() does */
	if (!pr && !(pr = new_proc(p, pid)))
		return -2;
	uint64_t mod;
	if (!pr->process_written) {
		/* No event has named this process yet: remember, write nothing. */
		if (!(mod = pending_module(p, path, bid, bid_len)))
			return -2;
	} else {
		mod = bid_len ? remember(p, srec_intern_module(p->in, p->w, path, bid, bid_len, &err),
					 path, bid, bid_len, &err) :
				module_for(p, pid, start, end, path, &err);
		if (err)
			return err;
	}
	/* The new mapping replaces whatever it overlaps; the parts of older
	 * mappings outside it survive (pgoff adjusted). */
	struct pmap *nm = malloc((pr->n + 2) * sizeof(*nm));
	size_t n = 0;
	int placed = 0;
	if (!nm)
		return -2;
	for (size_t i = 0; i < pr->n; i++) {
		struct pmap o = pr->maps[i];
		if (!placed && o.start >= start) {
			nm[n++] = (struct pmap){ start, end, pgoff, mod };
			placed = 1;
		}
		if (o.end <= start || o.start >= end) {
			nm[n++] = o;
			continue;
		}
		if (o.start < start)
			nm[n++] = (struct pmap){ o.start, start, o.pgoff, o.module };
		if (o.end > end) {
			struct pmap right = { end, o.end, o.pgoff + (end - o.start), o.module };
			if (!placed) {
				nm[n++] = (struct pmap){ start, end, pgoff, mod };
				placed = 1;
			}
			nm[n++] = right;
		}
	}
	if (!placed)
		nm[n++] = (struct pmap){ start, end, pgoff, mod };
	free(pr->maps);
	pr->maps = nm;
	pr->n = n;
	if (mod & PENDING)
		return 0;
	struct pmap m = { start, end, pgoff, mod };
	return write_mapping(p, pid, pr, ts, &m, prot & 7);
}

void procs_fork(struct procs *p, uint32_t parent, uint32_t child, uint64_t ts)
{
	struct proc *pp = get_proc(p, parent), *pc;

	(void)ts;
	procs_exit(p, child); /* a reused pid: the old process is gone */
	if (!pp || !pp->has_base)
		return; /* the child's maps will be read from /proc when needed */
	if (!(pc = new_proc(p, child)))
		return;
	pc->maps = malloc((pp->n ? pp->n : 1) * sizeof(*pc->maps));
	if (!pc->maps)
		return;
	if (pp->n) /* none known (/proc unreadable or empty, no mmap yet): maps is NULL */
		memcpy(pc->maps, pp->maps, pp->n * sizeof(*pc->maps));
	pc->n = pp->n;
	pc->has_base = 1; /* fork copies the address space: complete */
}

void procs_exec(struct procs *p, uint32_t pid, uint64_t ts)
{
	struct proc *pr = get_proc(p, pid);

	(void)ts;
	if (!pr && !(pr = new_proc(p, pid)))
		return;
	/* A new address space: the mmaps of the new image follow. */
	free(pr->maps);
	pr->maps = NULL;
	free(pr->kept); /* another comm and exe now */
	pr->kept = NULL;
	pr->n = 0;
	pr->has_base = 1;
	pr->stale = 0;
	pr->process_written = 0; /* new comm and exe */
}

void procs_exec_stale(struct procs *p, uint32_t pid)
{
	struct proc *pr = get_proc(p, pid);
	if (pr) {
		pr->stale = 1;
		pr->process_written = 0;
		free(pr->kept);
		pr->kept = NULL;
	}
}

void procs_exit(struct procs *p, uint32_t pid)
{
	struct proc *pr = get_proc(p, pid);
	struct hkey k = hkey4(pid, 0, 0, 0);

	if (!pr)
		return;
	hmap_del(p->bypid, &k);
	free(pr->maps);
	free(pr->kept);
	free(pr);
}
