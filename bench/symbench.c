/* bench/symbench.c - throughput of the user-space symbolizer (report/symbolize.h).
 *
 * usage: symbench [-n FRAMES] [-s SEED] [-k SAMPLE] -o DIR MODULE...
 *        symbench --run DIR [-k SAMPLE]
 *
 * The first form ("gen") reads each MODULE (an ELF file: executable or
 * shared library): its GNU build-id, its PT_LOAD headers and its function
 * symbols (.symtab; else the .symtab of /usr/lib/debug/.build-id/xx/rest.debug
 * if that exists; else .dynsym).  It then draws FRAMES lookups (default
 * 1,000,000) with a deterministic PRNG: a module uniformly, a function of it
 * uniformly, a byte inside the function uniformly; the ELF virtual address is
 * turned into a FILE OFFSET with the PT_LOAD headers, like a recorded frame.
 * It writes, into DIR:
 *   modules.txt     IDX PATH BUILD-ID-HEX  (one line per module)
 *   lookups.txt     MOD FILE-OFF-HEX VADDR-HEX  (one line per lookup, in order)
 *   addr-IDX.txt    the VADDRs of module IDX, in lookup order (addr2line's stdin)
 *   syms.tsv        for the first SAMPLE lookups: I, MOD, the position of the
 *                   lookup in addr-MOD.txt, and the names of every function
 *                   symbol at the start address of the drawn function
 *                   (aliases), comma-separated
 * and then execs itself as `symbench --run DIR`, so that the measured
 * process holds only the lookups (peak RSS is per address space).
 *
 * The second form ("run") loads the lookups and times, with sym_lookup()
 * and is_return_addr 0:
 *   cold: a fresh sym_ctx, one pass over all lookups (includes finding,
 *         opening and parsing every module and the DWARF it needs);
 *   warm: a second pass over the same lookups with the same context.
 * It writes DIR/sample.tsv (the results of the first SAMPLE lookups:
 * I, status, innermost function, outermost function, innermost file:line,
 * number of frames) and prints one JSON line {"symbench": {...}} with
 * frames/s for each pass and the memory: rss_base_kb (VmRSS before
 * sym_ctx_new: the lookups themselves), peak_rss_kb (VmHWM at the end) and
 * maxrss_kb (getrusage ru_maxrss, which on Linux survives exec: it includes
 * the gen step).
 */
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MODS 64
#define MAX_BID 64

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "symbench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("%s", "out of memory");
	return p;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic, good enough to spread the draws. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* ------------------------------------------------------------------ gen */

struct func {
	uint64_t start, size;
	size_t name0, nnames; /* indexes into the module's names[] */
};

struct module {
	char *path;
	uint8_t bid[MAX_BID];
	size_t bid_len;
	GElf_Phdr load[32];
	size_t nload;
	struct func *funcs;
	size_t nfuncs;
	char **names;
	size_t nnames;
	const char *symsrc; /* "symtab", "debug-symtab", "dynsym" */
};

static Elf *open_elf(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY);
	if (*fd < 0)
		return NULL;
	Elf *e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		return NULL;
	}
	return e;
}

static void read_build_id(Elf *e, struct module *m)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;
		while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)d->d_buf + noff, "GNU", 4) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= MAX_BID) {
				memcpy(m->bid, (char *)d->d_buf + doff, nh.n_descsz);
				m->bid_len = nh.n_descsz;
				return;
			}
		}
	}
}

static Elf_Scn *find_symtab(Elf *e, unsigned type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type && sh.sh_entsize)
			return scn;
	}
	return NULL;
}

struct rawsym {
	uint64_t start, size;
	char *name;
};

static int cmp_rawsym(const void *a, const void *b)
{
	const struct rawsym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->size != y->size) /* the largest first: it is the one drawn */
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A vaddr's file offset, or -1 if no PT_LOAD maps it from the file. */
static int64_t vaddr_to_off(const struct module *m, uint64_t v)
{
	for (size_t i = 0; i < m->nload; i++) {
		const GElf_Phdr *p = &m->load[i];
		if (v >= p->p_vaddr && v - p->p_vaddr < p->p_filesz)
			return (int64_t)(v - p->p_vaddr + p->p_offset);
	}
	return -1;
}

static void read_symbols(Elf *e, Elf_Scn *scn, struct module *m)
{
	GElf_Shdr sh;
	gelf_getshdr(scn, &sh);
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d)
		return;
	size_t n = sh.sh_size / sh.sh_entsize, nraw = 0;
	struct rawsym *raw = xrealloc(NULL, n * sizeof(*raw));
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int t = GELF_ST_TYPE(s.st_info);
		if ((t != STT_FUNC && t != STT_GNU_IFUNC) || s.st_size == 0 ||
		    s.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, sh.sh_link, s.st_name);
		if (!name || !*name)
			continue;
		/* only functions whose first and last byte come from the file */
		if (vaddr_to_off(m, s.st_value) < 0 ||
		    vaddr_to_off(m, s.st_value + s.st_size - 1) < 0)
			continue;
		raw[nraw].start = s.st_value;
		raw[nraw].size = s.st_size;
		raw[nraw].name = strdup(name);
		if (!raw[nraw].name)
			die("%s", "out of memory");
		nraw++;
	}
	qsort(raw, nraw, sizeof(*raw), cmp_rawsym);
	m->funcs = xrealloc(NULL, nraw * sizeof(*m->funcs));
	m->names = xrealloc(NULL, nraw * sizeof(*m->names));
	for (size_t i = 0; i < nraw; i++) {
		if (m->nfuncs && m->funcs[m->nfuncs - 1].start == raw[i].start) {
			struct func *f = &m->funcs[m->nfuncs - 1];
			if (strcmp(m->names[m->nnames - 1], raw[i].name) == 0) {
				free(raw[i].name); /* same name twice (local + global) */
				continue;
			}
			f->nnames++;
		} else {
			m->funcs[m->nfuncs++] = (struct func){ raw[i].start, raw[i].size, m->nnames, 1 };
		}
		m->names[m->nnames++] = raw[i].name;
	}
	free(raw);
}

static void load_module(struct module *m, const char *path)
{
	int fd;
	Elf *e = open_elf(path, &fd);
	if (!e)
		die("cannot read ELF file %s", path);
	m->path = realpath(path, NULL);
	if (!m->path)
		die("realpath %s failed", path);
	size_t nph;
	if (elf_getphdrnum(e, &nph) != 0)
		die("no program headers in %s", path);
	for (size_t i = 0; i < nph && m->nload < 32; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->load[m->nload++] = ph;
	}
	read_build_id(e, m);
	Elf_Scn *scn = find_symtab(e, SHT_SYMTAB);
	if (scn) {
		read_symbols(e, scn, m);
		m->symsrc = "symtab";
	} else if (m->bid_len >= 2) {
		char dbg[64 + 2 * MAX_BID + 16];
		int n = snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%02x/", m->bid[0]);
		for (size_t i = 1; i < m->bid_len; i++)
			n += snprintf(dbg + n, sizeof(dbg) - (size_t)n, "%02x", m->bid[i]);
		snprintf(dbg + n, sizeof(dbg) - (size_t)n, ".debug");
		int dfd;
		Elf *de = open_elf(dbg, &dfd);
		Elf_Scn *dscn = de ? find_symtab(de, SHT_SYMTAB) : NULL;
		if (dscn) {
			read_symbols(de, dscn, m);
			m->symsrc = "debug-symtab";
		}
		if (de) {
			elf_end(de);
			close(dfd);
		}
	}
	if (!m->nfuncs && (scn = find_symtab(e, SHT_DYNSYM))) {
		read_symbols(e, scn, m);
		m->symsrc = "dynsym";
	}
	if (!m->nfuncs)
		die("no function symbols in %s", path);
	elf_end(e);
	close(fd);
}

static FILE *open_out(const char *dir, const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		die("cannot write %s", p);
	return f;
}

static void close_out(FILE *f)
{
	if (ferror(f) || fclose(f) != 0)
		die("%s", "write error");
}

static int gen(const char *dir, char **paths, size_t nmods, size_t n, uint64_t seed, size_t sample)
{
	static struct module mods[MAX_MODS];
	if (elf_version(EV_CURRENT) == EV_NONE)
		die("%s", "libelf too old");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("cannot create %s", dir);
	FILE *mf = open_out(dir, "modules.txt");
	for (size_t i = 0; i < nmods; i++) {
		load_module(&mods[i], paths[i]);
		fprintf(mf, "%zu %s ", i, mods[i].path);
		for (size_t j = 0; j < mods[i].bid_len; j++)
			fprintf(mf, "%02x", mods[i].bid[j]);
		fprintf(mf, "%s\n", mods[i].bid_len ? "" : "-");
		fprintf(stderr, "symbench: %s: %zu functions (%s)\n", mods[i].path, mods[i].nfuncs,
			mods[i].symsrc);
	}
	close_out(mf);

	FILE *af[MAX_MODS];
	size_t pos[MAX_MODS] = { 0 };
	for (size_t i = 0; i < nmods; i++) {
		char name[32];
		snprintf(name, sizeof(name), "addr-%zu.txt", i);
		af[i] = open_out(dir, name);
	}
	FILE *lf = open_out(dir, "lookups.txt");
	FILE *sf = open_out(dir, "syms.tsv");
	rng_state = seed ? seed : 1;
	for (size_t i = 0; i < n; i++) {
		size_t mi = (size_t)rnd_below(nmods);
		struct module *m = &mods[mi];
		struct func *f = &m->funcs[rnd_below(m->nfuncs)];
		uint64_t v = f->start + rnd_below(f->size);
		int64_t off = vaddr_to_off(m, v); /* >= 0: checked in read_symbols */
		fprintf(lf, "%zu %llx %llx\n", mi, (unsigned long long)off, (unsigned long long)v);
		fprintf(af[mi], "0x%llx\n", (unsigned long long)v);
		if (i < sample) {
			fprintf(sf, "%zu\t%zu\t%zu\t", i, mi, pos[mi]);
			for (size_t j = 0; j < f->nnames; j++)
				fprintf(sf, "%s%s", j ? "," : "", m->names[f->name0 + j]);
			fprintf(sf, "\n");
		}
		pos[mi]++;
	}
	close_out(lf);
	close_out(sf);
	for (size_t i = 0; i < nmods; i++)
		close_out(af[i]);
	return 0;
}

/* ------------------------------------------------------------------ run */

struct lookup {
	uint32_t mod;
	uint64_t off;
};

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct pass {
	double secs, cpu;
	size_t status[SYM_BAD_FILE + 1];
	size_t with_line, inlined, frames, errors;
	uint64_t check;
};

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void do_pass(struct sym_ctx *c, char **paths, uint8_t (*bids)[MAX_BID], size_t *bid_lens,
		    const struct lookup *lk, size_t n, struct pass *p)
{
	struct sym_result r;
	memset(p, 0, sizeof(*p));
	double c0 = cpu_now(), t0 = now();
	for (size_t i = 0; i < n; i++) {
		uint32_t m = lk[i].mod;
		if (sym_lookup(c, paths[m], bids[m], bid_lens[m], lk[i].off, 0, &r) != 0) {
			p->errors++;
			continue;
		}
		p->status[r.status]++;
		p->frames += r.nframes;
		if (r.status == SYM_OK) {
			if (r.frames[0].file && r.frames[0].line)
				p->with_line++;
			if (r.nframes > 1)
				p->inlined++;
			/* cheap fingerprint of the answers: cold and warm must agree */
			p->check = p->check * 31 + r.frames[0].line + r.nframes +
				   (unsigned char)r.frames[r.nframes - 1].func[0] +
				   r.frames[r.nframes - 1].func_off;
		}
	}
	p->secs = now() - t0;
	p->cpu = cpu_now() - c0;
}

static void print_pass(const char *name, const struct pass *p, size_t n)
{
	printf("\"%s\":{\"secs\":%.4f,\"cpu_secs\":%.4f,\"frames_per_s\":%.0f,"
	       "\"ok\":%zu,\"no_symbol\":%zu,\"not_found\":%zu,\"buildid_mismatch\":%zu,"
	       "\"bad_file\":%zu,\"errors\":%zu,\"with_file_line\":%zu,\"with_inlined\":%zu,"
	       "\"frames_out\":%zu,\"check\":\"%016llx\"}",
	       name, p->secs, p->cpu, p->secs > 0 ? (double)n / p->secs : 0.0, p->status[SYM_OK],
	       p->status[SYM_NO_SYMBOL], p->status[SYM_NOT_FOUND], p->status[SYM_BUILDID_MISMATCH],
	       p->status[SYM_BAD_FILE], p->errors, p->with_line, p->inlined, p->frames,
	       (unsigned long long)p->check);
}

static void tsv_str(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' ? ' ' : *s, f);
}

static int run(const char *dir, size_t sample)
{
	static char *paths[MAX_MODS];
	static uint8_t bids[MAX_MODS][MAX_BID];
	static size_t bid_lens[MAX_MODS];
	size_t nmods = 0;
	char p[4096], line[8192];

	snprintf(p, sizeof(p), "%s/modules.txt", dir);
	FILE *f = fopen(p, "r");
	if (!f)
		die("cannot read %s", p);
	while (fgets(line, sizeof(line), f) && nmods < MAX_MODS) {
		char path[4096], hex[2 * MAX_BID + 2];
		size_t idx;
		if (sscanf(line, "%zu %4095s %129s", &idx, path, hex) != 3 || idx != nmods)
			die("bad line in modules.txt: %s", line);
		paths[nmods] = strdup(path);
		if (strcmp(hex, "-") != 0)
			for (size_t j = 0; hex[2 * j] && hex[2 * j + 1] && j < MAX_BID; j++) {
				unsigned b;
				sscanf(hex + 2 * j, "%2x", &b);
				bids[nmods][j] = (uint8_t)b;
				bid_lens[nmods] = j + 1;
			}
		nmods++;
	}
	fclose(f);

	snprintf(p, sizeof(p), "%s/lookups.txt", dir);
	f = fopen(p, "r");
	if (!f)
		die("cannot read %s", p);
	size_t n = 0, cap = 0;
	struct lookup *lk = NULL;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long mod = strtoul(line, &end, 10);
		unsigned long long off = strtoull(end, &end, 16);
		if (mod >= nmods)
			die("bad line in lookups.txt: %s", line);
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			lk = xrealloc(lk, cap * sizeof(*lk));
		}
		lk[n].mod = (uint32_t)mod;
		lk[n].off = off;
		n++;
	}
	fclose(f);
	if (!n)
		die("%s", "no lookups");

	long rss_base = status_kb("VmRSS");
	struct sym_ctx *c = sym_ctx_new(NULL);
	if (!c)
		die("%s", "sym_ctx_new failed");
	struct pass cold, warm;
	do_pass(c, paths, bids, bid_lens, lk, n, &cold);
	long hwm_cold = status_kb("VmHWM");
	do_pass(c, paths, bids, bid_lens, lk, n, &warm);

	/* the sample, outside the timed passes */
	f = open_out(dir, "sample.tsv");
	for (size_t i = 0; i < sample && i < n; i++) {
		struct sym_result r;
		uint32_t m = lk[i].mod;
		if (sym_lookup(c, paths[m], bids[m], bid_lens[m], lk[i].off, 0, &r) != 0)
			r.status = SYM_NOT_FOUND, r.nframes = 0;
		fprintf(f, "%zu\t%s\t", i, sym_status_str(r.status));
		if (r.status == SYM_OK) {
			tsv_str(f, r.frames[0].func);
			fputc('\t', f);
			tsv_str(f, r.frames[r.nframes - 1].func);
			fputc('\t', f);
			if (r.frames[0].file)
				fprintf(f, "%s:%u", r.frames[0].file, r.frames[0].line);
			fprintf(f, "\t%u\n", r.nframes);
		} else {
			fprintf(f, "\t\t\t0\n");
		}
	}
	close_out(f);
	sym_ctx_free(c);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"symbench\":{\"frames\":%zu,\"modules\":%zu,", n, nmods);
	print_pass("cold", &cold, n);
	printf(",");
	print_pass("warm", &warm, n);
	printf(",\"consistent\":%s,\"rss_base_kb\":%ld,\"peak_rss_cold_kb\":%ld,"
	       "\"peak_rss_kb\":%ld,\"maxrss_kb\":%ld}}\n",
	       cold.check == warm.check && cold.status[SYM_OK] == warm.status[SYM_OK] ? "true" : "false",
	       rss_base, hwm_cold, status_kb("VmHWM"), (long)ru.ru_maxrss);
	for (size_t i = 0; i < nmods; i++)
		free(paths[i]);
	free(lk);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: symbench [-n FRAMES] [-s SEED] [-k SAMPLE] -o DIR MODULE...\n"
			"       symbench --run DIR [-k SAMPLE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t n = 1000000, sample = 1000;
	uint64_t seed = 0x5eedf00dULL;
	const char *dir = NULL, *run_dir = NULL;
	char **mods = NULL;
	size_t nmods = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && i + 1 >= argc)
			usage();
		if (strcmp(a, "-n") == 0)
			n = strtoull(argv[++i], NULL, 0);
		else if (strcmp(a, "-s") == 0)
			seed = strtoull(argv[++i], NULL, 0);
		else if (strcmp(a, "-k") == 0)
			sample = strtoull(argv[++i], NULL, 0);
		else if (strcmp(a, "-o") == 0)
			dir = argv[++i];
		else if (strcmp(a, "--run") == 0)
			run_dir = argv[++i];
		else if (a[0] == '-')
			usage();
		else {
			if (nmods == MAX_MODS)
				die("%s", "too many modules");
			mods = xrealloc(mods, (nmods + 1) * sizeof(*mods));
			mods[nmods++] = argv[i];
		}
	}
	if (run_dir)
		return run(run_dir, sample);
	if (!dir || !nmods || !n)
		usage();
	gen(dir, mods, nmods, n, seed, sample);
	free(mods);
	fflush(NULL);
	char ks[32];
	snprintf(ks, sizeof(ks), "%zu", sample);
	char *const av[] = { argv[0], "--run", (char *)dir, "-k", ks, NULL };
	execv("/proc/self/exe", av);
	die("exec /proc/self/exe failed: %s", strerror(errno));
	return 1;
}
