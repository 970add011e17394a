/* symbolize.c - user-space stack symbolizer (see symbolize.h). */
#include "symbolize.h"
#include "debuginfod.h"
#include "minidebuginfo.h"

#include <dwarf.h>
#include <gelf.h>
#include <libdwarf.h>
#include <libelf.h>
#include <zlib.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libstdc++'s demangler; declared extern "C" in <cxxabi.h>. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);

#define MAX_BID 64
#define SYSTEM_DEBUG_DIR "/usr/lib/debug"
#define MAX_ACCEPTED 8        /* accepted files kept per module */
#define MAX_DIE_DEPTH 64      /* DIE nesting followed when collecting scopes */
#define MAX_CHAIN 64          /* inline depth followed */
#define BACK_SCAN 16          /* earlier entries checked for enclosing ranges */
#define DEMANGLE_MAX 4096     /* longer mangled names are shown as they are */

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct arena {
	struct chunk *head;
};

static char *arena_alloc(struct arena *a, size_t n)
{
	const size_t dflt = 64 * 1024 - sizeof(struct chunk);
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > dflt ? n : dflt;
		struct chunk *ch = malloc(sizeof(*ch) + cap);
		if (!ch)
			return NULL;
		ch->used = 0;
		ch->cap = cap;
		if (a->head && n > dflt) {
			/* oversized: keep the current chunk's free room in use */
			ch->next = a->head->next;
			a->head->next = ch;
			ch->used = n;
			return ch->data;
		}
		ch->next = a->head;
		a->head = ch;
	}
	char *p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

static void arena_free(struct arena *a)
{
	struct chunk *ch = a->head;
	while (ch) {
		struct chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	a->head = NULL;
}

/* Makes room for need elements; returns the (possibly moved) array or NULL
 * on ENOMEM, leaving p and *cap untouched then.  need must be >= 1. */
static void *grow(void *p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return p;
	size_t nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return NULL;
		nc *= 2;
	}
	if (nc > SIZE_MAX / elsz)
		return NULL;
	void *np = realloc(p, nc * elsz);
	if (!np)
		return NULL;
	*cap = nc;
	return np;
}

static void hex_of(const uint8_t *b, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;
	for (size_t i = 0; i < n && j + 2 < outsz; i++) {
		out[j++] = digits[b[i] >> 4];
		out[j++] = digits[b[i] & 15];
	}
	if (outsz)
		out[j < outsz ? j : outsz - 1] = '\0';
}

static uint64_t hash_key(const uint8_t *bid, size_t len, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= bid[i];
		h *= 0x100000001b3ull;
	}
	h ^= 0xff;
	h *= 0x100000001b3ull;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 31);
}

/* ------------------------------------------------------------------ */
/* data structures                                                     */

struct load {
	uint64_t off, filesz, vaddr, memsz;
};

struct esym {
	uint64_t addr, end;
	const char *name;
	const char *shown; /* demangled name, resolved lazily */
};

struct dw_row {
	uint64_t lo, hi;
	uint32_t file, line;
};

struct dw_range {
	uint64_t lo, hi;
};

struct dw_node {
	uint32_t rfirst, rcount; /* into cu->ranges */
	uint32_t end;            /* index after this node's subtree */
	uint32_t call_file, call_line;
	Dwarf_Off off;           /* DIE offset, to find the name lazily */
	const char *name;
	unsigned char inlined, named;
};

struct dw_top {
	uint64_t lo, hi;
	uint32_t node;
};

struct dw_cu {
	Dwarf_Off off;  /* offset of the CU DIE in .debug_info ... */
	int off_is_header; /* ... or of the unit's header (from .debug_aranges) */
	uint64_t base;  /* DW_AT_low_pc of the CU DIE, 0 if none */
	int state;      /* 0 not read yet, 1 read, -1 unreadable */
	unsigned line_ver;
	const char **files;
	size_t nfiles;
	struct dw_row *rows;
	size_t nrows, caprows;
	struct dw_node *nodes;
	size_t nnodes, capnodes;
	struct dw_range *ranges;
	size_t nranges, capranges;
	struct dw_top *tops;
	size_t ntops, captops;
};

struct dw_cuidx {
	uint64_t lo, hi;
	uint32_t cu;
};

struct dwmod {
	Dwarf_Debug dbg;
	Elf *elf;
	struct dw_cu *cus;
	size_t ncus, capcus;
	struct dw_cuidx *idx;
	size_t nidx, capidx;
};

struct module {
	struct module *next;
	uint64_t hash;
	uint8_t bid[MAX_BID];
	size_t bid_len;
	const char *path;
	const char *display;
	const char *used_path;
	enum sym_status status; /* SYM_OK: a file is in use */
	struct load *loads;
	size_t nloads;
	struct esym *syms;
	size_t nsyms;
	struct dwmod *dw;
	uint64_t ktext;          /* kernel: link-time address of _text */
	const char *why;         /* kernel: why the vmlinux is not used ("" if it is) */
	int said_embedded;       /* the -v summary named the embedded symbols */
	struct embed_tab *embed; /* cached find_embed() result ... */
	uint64_t embed_gen;      /* ... valid while this equals ctx->embed_gen */
};

struct embed_sym {
	uint64_t start, end;
	const char *name;
	const char *shown;
};

struct embed_tab {
	struct embed_tab *next;
	uint8_t bid[MAX_BID];
	size_t bid_len;
	const char *path; /* only when bid_len == 0 */
	struct embed_sym *syms;
	size_t n, cap;
	int sorted;
};

struct sym_ctx {
	char **debug_dirs;
	size_t ndebug_dirs;
	char *sysroot;      /* as given */
	char *sysroot_real; /* realpath() of it, NULL if it does not resolve */
	int use_system_debug, use_recorded_path, demangle;
	FILE *verbose;
	struct dbgd *dbgd;  /* NULL: --no-debuginfod */
	struct arena str;
	struct module **buckets;
	size_t nbuckets, nmodules;
	struct module *last;
	struct embed_tab *embeds;
	uint64_t embed_gen; /* bumped when a table is added */
	char *vmlinux;            /* opts.vmlinux */
	struct module *kernels;   /* one per kernel build-id asked for */
};

/* ------------------------------------------------------------------ */
/* logging, names                                                      */

__attribute__((format(printf, 2, 3)))
static void vlog(const struct sym_ctx *c, const char *fmt, ...)
{
	if (!c->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("sym: ", c->verbose);
	vfprintf(c->verbose, fmt, ap);
	fputc('\n', c->verbose);
	va_end(ap);
}

/* Demangled copy of name in the arena, or name itself; NULL on ENOMEM. */
static const char *shown_name(struct sym_ctx *c, const char *name)
{
	if (!c->demangle || strncmp(name, "_Z", 2) != 0)
		return name;
	size_t len = strcspn(name, "@"); /* keep "@plt", "@@VERSION" */
	if (len >= DEMANGLE_MAX)
		return name;
	char buf[DEMANGLE_MAX];
	memcpy(buf, name, len);
	buf[len] = '\0';
	int st = -1;
	char *d = __cxa_demangle(buf, NULL, NULL, &st);
	if (!d || st != 0) {
		free(d);
		return name;
	}
	size_t dl = strlen(d), sl = strlen(name + len);
	char *out = arena_alloc(&c->str, dl + sl + 1);
	if (out) {
		memcpy(out, d, dl); // NOLINT(bugprone-not-null-terminated-result): the next copy brings the NUL
		memcpy(out + dl, name + len, sl + 1);
	}
	free(d);
	return out;
}

const char *sym_status_str(enum sym_status s)
{
	switch (s) {
	case SYM_OK: return "OK";
	case SYM_NO_SYMBOL: return "NO_SYMBOL";
	case SYM_NOT_FOUND: return "NOT_FOUND";
	case SYM_BUILDID_MISMATCH: return "BUILDID_MISMATCH";
	case SYM_BAD_FILE: return "BAD_FILE";
	}
	return "UNKNOWN";
}

void sym_opts_init(struct sym_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->use_system_debug = 1;
	o->use_recorded_path = 1;
	o->demangle = 1;
	o->use_debuginfod = 1;
}

/* ------------------------------------------------------------------ */
/* opening files                                                       */

enum open_res { OPEN_OK, OPEN_MISSING, OPEN_BAD, OPEN_REFUSED };

/* 1 if path has a "." or ".." component. */
static int has_dot_component(const char *path)
{
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		p += n;
	}
	return 0;
}

static int path_under(const char *p, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return p[0] == '/';
	return strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* Opens path as an ELF file (mmapped, no descriptor kept).  With root
 * (a resolved directory) the file must resolve to a path under it.
 * *why gets a short reason when the result is not OPEN_OK; *real, when not
 * NULL, gets a malloc'd resolved path (NULL if it could not be resolved).
 * Returns an enum open_res or -ENOMEM. */
static int open_elf(const char *path, const char *root, Elf **out,
		    char **real, char *why, size_t whysz)
{
	*out = NULL;
	if (real)
		*real = NULL;
	why[0] = '\0';
	const char *opath = path;
	char *rp = NULL;
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;

	if (root) {
		if (has_dot_component(path)) {
			snprintf(why, whysz, "refused: path has a '.' or '..' component");
			return OPEN_REFUSED;
		}
		rp = realpath(path, NULL);
		if (!rp) {
			if (errno == ENOMEM)
				return -ENOMEM;
			snprintf(why, whysz, "%s", strerror(errno));
			return OPEN_MISSING;
		}
		if (!path_under(rp, root)) {
			snprintf(why, whysz, "refused: resolves to %s, outside the sysroot", rp);
			free(rp);
			return OPEN_REFUSED;
		}
		opath = rp;
		flags |= O_NOFOLLOW;
	}
	int fd = open(opath, flags);
	if (fd < 0) {
		int e = errno;
		snprintf(why, whysz, "%s", strerror(e));
		free(rp);
		if (e == ENOMEM)
			return -ENOMEM;
		return (e == ENOENT || e == ENOTDIR) ? OPEN_MISSING : OPEN_BAD;
	}
	if (root) {
		/* the tree may have changed between realpath() and open() */
		char link[64], got[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof(got) - 1);
		if (n > 0) {
			got[n] = '\0';
			if (!path_under(got, root)) {
				snprintf(why, whysz, "refused: opened file is %s, outside the sysroot", got);
				close(fd);
				free(rp);
				return OPEN_REFUSED;
			}
		}
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		snprintf(why, whysz, "libelf: %s", elf_errmsg(-1));
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		snprintf(why, whysz, "not an ELF file");
		elf_end(e);
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	/* everything is read through the mapping from now on */
	if (elf_cntl(e, ELF_C_FDDONE) != 0) {
		snprintf(why, whysz, "libelf: %s", elf_errmsg(-1));
		elf_end(e);
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	close(fd);
	if (real) {
		if (!rp)
			rp = realpath(opath, NULL); /* NULL is tolerated */
		*real = rp;
		rp = NULL;
	}
	free(rp);
	*out = e;
	return OPEN_OK;
}

/* ------------------------------------------------------------------ */
/* ELF inspection                                                      */

struct efile {
	char path[PATH_MAX];
	char *real;    /* realpath, malloc'd, may be NULL */
	Elf *elf;
	uint8_t bid[MAX_BID];
	size_t bid_len;
	int has_symtab, has_dynsym, has_dwarf, debug_only;
	int has_debuglink;
	char debuglink[256];
	uint32_t debuglink_crc;
	int confined;  /* came from the sysroot */
	int has_debugdata; /* .gnu_debugdata: MiniDebugInfo */
	const char *src;   /* where it was found, for the -v summary */
};

static void efile_close(struct efile *f)
{
	if (f->elf)
		elf_end(f->elf);
	f->elf = NULL;
	free(f->real);
	f->real = NULL;
}

static size_t notes_build_id(Elf_Data *d, uint8_t *out)
{
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;
	while (off < d->d_size &&
	       (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + noff, "GNU", 4) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= MAX_BID) {
			memcpy(out, (const char *)d->d_buf + doff, nh.n_descsz);
			return nh.n_descsz;
		}
	}
	return 0;
}

static int bss_like(const char *name)
{
	static const char *const names[] = { ".bss", ".tbss", ".sbss", ".lbss" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(name, names[i], n) == 0 && (name[n] == '\0' || name[n] == '.'))
			return 1;
	}
	return 0;
}

/* Fills the build-id and the section facts of f->elf. */
static void inspect(struct efile *f)
{
	Elf *e = f->elf;
	size_t shstrndx = 0;
	int have_shstr = elf_getshdrstrndx(e, &shstrndx) == 0;
	int sections = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	int big = gelf_getehdr(e, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		sections = 1;
		const char *name = have_shstr ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
		if (!name)
			name = "";
		if (sh.sh_type == SHT_NOTE && f->bid_len == 0 && !(sh.sh_flags & SHF_COMPRESSED)) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (d && d->d_buf)
				f->bid_len = notes_build_id(d, f->bid);
		} else if (sh.sh_type == SHT_SYMTAB && sh.sh_entsize &&
			   sh.sh_size > sh.sh_entsize) {
			f->has_symtab = 1;
		} else if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize &&
			   sh.sh_size > sh.sh_entsize) {
			f->has_dynsym = 1;
		} else if (sh.sh_type != SHT_NOBITS && sh.sh_size > 0 &&
			   (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)) {
			f->has_dwarf = 1;
		} else if (sh.sh_type == SHT_NOBITS && strcmp(name, ".text") == 0) {
			f->debug_only = 1;
		} else if (sh.sh_type != SHT_NOBITS && sh.sh_size > 0 &&
			   strcmp(name, ".gnu_debugdata") == 0) {
			f->has_debugdata = 1;
		} else if (sh.sh_type != SHT_NOBITS && strcmp(name, ".gnu_debuglink") == 0 &&
			   !(sh.sh_flags & SHF_COMPRESSED)) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf)
				continue;
			const char *s = d->d_buf;
			size_t n = strnlen(s, d->d_size);
			size_t crcoff = (n + 4) & ~(size_t)3;
			if (n == 0 || n >= sizeof(f->debuglink) || crcoff + 4 > d->d_size)
				continue;
			const unsigned char *b = (const unsigned char *)s + crcoff;
			f->debuglink_crc = big ?
				((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) :
				((uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0]);
			memcpy(f->debuglink, s, n + 1);
			f->has_debuglink = 1;
		}
	}
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			continue;
		/* a read-only segment never has a bss: objcopy --only-keep-debug
		 * zeroed its p_filesz */
		if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_W) && ph.p_filesz < ph.p_memsz)
			f->debug_only = 1;
		if (!sections && ph.p_type == PT_NOTE && f->bid_len == 0) {
			Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset,
							   ph.p_filesz, ELF_T_NHDR);
			if (d && d->d_buf)
				f->bid_len = notes_build_id(d, f->bid);
		}
	}
}

/* Section data, decompressed when SHF_COMPRESSED; NULL if unusable. */
static Elf_Data *section_data(Elf_Scn *scn)
{
	GElf_Shdr sh;
	if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return NULL;
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return NULL;
	return elf_getdata(scn, NULL);
}

/* ------------------------------------------------------------------ */
/* program headers                                                     */

static int read_loads(struct sym_ctx *c, struct module *m, Elf *e, int rebuild)
{
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		return 0;
	struct load *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t prev_end = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		struct load *nv = grow(v, &cap, n + 1, sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		struct load l = { ph.p_offset, ph.p_filesz, ph.p_vaddr, ph.p_memsz };
		if (rebuild) {
			/* the ELF rule: p_offset == p_vaddr modulo p_align */
			uint64_t page = 4096;
			if (ph.p_align > 1 && !(ph.p_align & (ph.p_align - 1)))
				page = ph.p_align;
			uint64_t filesz = ph.p_memsz;
			if (ph.p_flags & PF_W) {
				/* the file part ends with the last section that is
				 * not a bss */
				uint64_t end = 0;
				size_t shstrndx = 0;
				int have = elf_getshdrstrndx(e, &shstrndx) == 0;
				Elf_Scn *scn = NULL;
				while ((scn = elf_nextscn(e, scn)) != NULL) {
					GElf_Shdr sh;
					if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
						continue;
					const char *nm = have ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
					if (!nm || bss_like(nm))
						continue;
					if (sh.sh_addr >= ph.p_vaddr && sh.sh_addr < ph.p_vaddr + ph.p_memsz &&
					    sh.sh_addr + sh.sh_size - ph.p_vaddr > end)
						end = sh.sh_addr + sh.sh_size - ph.p_vaddr;
				}
				if (end && end < filesz)
					filesz = end;
			}
			l.off = prev_end + ((ph.p_vaddr - prev_end) & (page - 1));
			l.filesz = filesz;
			prev_end = l.off + filesz;
			vlog(c, "  PT_LOAD vaddr 0x%llx rebuilt at file offset 0x%llx size 0x%llx",
			     (unsigned long long)l.vaddr, (unsigned long long)l.off,
			     (unsigned long long)l.filesz);
		}
		v[n++] = l;
	}
	m->loads = v;
	m->nloads = n;
	return 0;
}

static int off_to_vaddr(const struct module *m, uint64_t off, uint64_t *vaddr)
{
	/* exact file part first, then its page-rounded start (a mapping
	 * begins at p_offset rounded down to the page) */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->nloads; i++) {
			const struct load *l = &m->loads[i];
			uint64_t start = pass ? (l->off & ~(uint64_t)4095) : l->off;
			if (off >= start && off - l->off + (l->off - start) < l->filesz + (l->off - start)) {
				*vaddr = off - l->off + l->vaddr;
				return 0;
			}
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* ELF symbols                                                         */

struct rawsym {
	uint64_t addr, size, secend;
	const char *name;
	unsigned char type, bind, sized;
};

static int lead_us(const char *s)
{
	int n = 0;
	while (n < 4 && s[n] == '_')
		n++;
	return n;
}

/* Best name first for equal addresses. */
static int rawsym_cmp(const void *pa, const void *pb)
{
	const struct rawsym *a = pa, *b = pb;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->sized != b->sized)
		return b->sized - a->sized;
	int fa = a->type == STT_FUNC, fb = b->type == STT_FUNC;
	if (fa != fb)
		return fb - fa;
	static const int rank[] = { [STB_LOCAL] = 0, [STB_GLOBAL] = 2, [STB_WEAK] = 1 };
	int ra = a->bind <= STB_WEAK ? rank[a->bind] : 0;
	int rb = b->bind <= STB_WEAK ? rank[b->bind] : 0;
	if (ra != rb)
		return rb - ra;
	int ua = lead_us(a->name), ub = lead_us(b->name);
	if (ua != ub)
		return ua - ub;
	return strcmp(a->name, b->name);
}

static int collect_syms(Elf *e, Elf64_Word type, struct rawsym **v, size_t *n,
			size_t *cap)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(e, &eh))
		return 0;
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	if (!symsz)
		return 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		Elf_Data *d = section_data(scn);
		Elf_Scn *strscn = elf_getscn(e, sh.sh_link);
		if (!d || !d->d_buf || !strscn || !section_data(strscn))
			continue;
		size_t cnt = d->d_size / symsz;
		for (size_t i = 1; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				continue;
			unsigned t = GELF_ST_TYPE(s.st_info);
			if (!(t == STT_FUNC || ((t == STT_GNU_IFUNC || t == STT_NOTYPE) && s.st_size)))
				continue;
			if (s.st_shndx == SHN_UNDEF ||
			    (s.st_shndx >= SHN_LORESERVE && s.st_shndx != SHN_XINDEX))
				continue;
			uint64_t addr = s.st_value;
			if (eh.e_machine == EM_ARM)
				addr &= ~(uint64_t)1;
			if (addr == 0)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			uint64_t secend = 0;
			if (s.st_shndx != SHN_XINDEX) {
				GElf_Shdr ssh;
				Elf_Scn *ss = elf_getscn(e, s.st_shndx);
				if (ss && gelf_getshdr(ss, &ssh) && (ssh.sh_flags & SHF_ALLOC) &&
				    addr >= ssh.sh_addr && addr < ssh.sh_addr + ssh.sh_size)
					secend = ssh.sh_addr + ssh.sh_size;
			}
			struct rawsym *nv = grow(*v, cap, *n + 1, sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			nv[(*n)++] = (struct rawsym){ addr, s.st_size, secend, name, (unsigned char)t,
						      (unsigned char)GELF_ST_BIND(s.st_info),
						      s.st_size != 0 };
		}
	}
	return 0;
}

/* Sorts, deduplicates and copies the names into the arena. */
static int build_syms(struct sym_ctx *c, struct module *m, struct rawsym *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), rawsym_cmp);
	struct esym *out = calloc(n, sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && out[k - 1].addr == v[i].addr) {
			uint64_t e = v[i].addr + v[i].size;
			if (v[i].size && e > out[k - 1].end)
				out[k - 1].end = e;
			continue;
		}
		const char *nm = arena_strdup(&c->str, v[i].name);
		if (!nm) {
			free(out);
			return -ENOMEM;
		}
		out[k].addr = v[i].addr;
		out[k].end = v[i].size ? v[i].addr + v[i].size : 0;
		out[k].name = nm;
		/* zero-size: up to the next symbol, within its section */
		if (!v[i].size) {
			uint64_t end = v[i].secend;
			size_t j = i + 1;
			while (j < n && v[j].addr == v[i].addr)
				j++;
			if (j < n && (!end || v[j].addr < end))
				end = v[j].addr;
			out[k].end = end > v[i].addr ? end : v[i].addr + 1;
		}
		k++;
	}
	m->syms = out;
	m->nsyms = k;
	return 0;
}

static struct esym *find_sym(struct module *m, uint64_t a)
{
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++)
		if (a < m->syms[i - 1].end)
			return &m->syms[i - 1];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* DWARF                                                               */

static void dwerr(Dwarf_Debug dbg, Dwarf_Error *err)
{
	if (*err)
		dwarf_dealloc_error(dbg, *err);
	*err = NULL;
}

static int push_range(struct dw_cu *cu, uint64_t lo, uint64_t hi)
{
	/* 0 and ~0 are the tombstones of code the linker dropped */
	if (hi <= lo || lo == 0 || lo >= UINT64_MAX - 1)
		return 0;
	struct dw_range *nv = grow(cu->ranges, &cu->capranges, cu->nranges + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	cu->ranges = nv;
	nv[cu->nranges++] = (struct dw_range){ lo, hi };
	return 0;
}

static int attr_offset(Dwarf_Debug dbg, Dwarf_Attribute at, Dwarf_Unsigned *val)
{
	Dwarf_Error err = NULL;
	Dwarf_Off o = 0;
	if (dwarf_global_formref(at, &o, &err) == DW_DLV_OK) {
		*val = o;
		return 0;
	}
	dwerr(dbg, &err);
	if (dwarf_formudata(at, val, &err) == DW_DLV_OK)
		return 0;
	dwerr(dbg, &err);
	return -1;
}

/* Appends the pc ranges of die to cu->ranges; 0 or -ENOMEM. */
static int die_ranges(struct dwmod *dm, struct dw_cu *cu, Dwarf_Die die)
{
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Addr lo = 0, hi = 0;
	Dwarf_Half form = 0;
	enum Dwarf_Form_Class cls;
	int r = dwarf_lowpc(die, &lo, &err);
	if (r == DW_DLV_OK) {
		r = dwarf_highpc_b(die, &hi, &form, &cls, &err);
		if (r == DW_DLV_OK) {
			if (cls != DW_FORM_CLASS_ADDRESS)
				hi += lo;
			return push_range(cu, lo, hi);
		}
	}
	dwerr(dbg, &err);

	Dwarf_Attribute at = NULL;
	if (dwarf_attr(die, DW_AT_ranges, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	int rc = 0;
	Dwarf_Half ver = 0, offsz = 0;
	Dwarf_Unsigned val = 0;
	if (dwarf_get_version_of_die(die, &ver, &offsz) != DW_DLV_OK ||
	    dwarf_whatform(at, &form, &err) != DW_DLV_OK)
		goto out;
	if (ver >= 5) {
		if (form == DW_FORM_rnglistx) {
			if (dwarf_formudata(at, &val, &err) != DW_DLV_OK)
				goto out;
		} else if (attr_offset(dbg, at, &val) != 0) {
			goto out;
		}
		Dwarf_Rnglists_Head head = NULL;
		Dwarf_Unsigned count = 0, goff = 0;
		if (dwarf_rnglists_get_rle_head(at, form, val, &head, &count, &goff, &err) !=
		    DW_DLV_OK)
			goto out;
		for (Dwarf_Unsigned i = 0; i < count && rc == 0; i++) {
			unsigned elen = 0, code = 0;
			Dwarf_Unsigned raw1, raw2, c1 = 0, c2 = 0;
			Dwarf_Bool unavail = 0;
			if (dwarf_get_rnglists_entry_fields_a(head, i, &elen, &code, &raw1, &raw2,
							      &unavail, &c1, &c2, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				break;
			}
			if (unavail)
				continue;
			switch (code) {
			case DW_RLE_startx_endx:
			case DW_RLE_startx_length:
			case DW_RLE_offset_pair:
			case DW_RLE_start_end:
			case DW_RLE_start_length:
				rc = push_range(cu, c1, c2);
				break;
			default:
				break;
			}
		}
		dwarf_dealloc_rnglists_head(head);
	} else {
		if (attr_offset(dbg, at, &val) != 0)
			goto out;
		Dwarf_Ranges *rb = NULL;
		Dwarf_Signed cnt = 0;
		Dwarf_Unsigned bytes = 0;
		Dwarf_Off real = 0;
		if (dwarf_get_ranges_b(dbg, val, die, &real, &rb, &cnt, &bytes, &err) != DW_DLV_OK)
			goto out;
		uint64_t base = cu->base;
		for (Dwarf_Signed i = 0; i < cnt && rc == 0; i++) {
			if (rb[i].dwr_type == DW_RANGES_ENTRY)
				rc = push_range(cu, base + rb[i].dwr_addr1, base + rb[i].dwr_addr2);
			else if (rb[i].dwr_type == DW_RANGES_ADDRESS_SELECTION)
				base = rb[i].dwr_addr2;
			else
				break;
		}
		dwarf_ranges_dealloc(dbg, rb, cnt);
	}
out:
	dwerr(dbg, &err);
	dwarf_dealloc_attribute(at);
	return rc;
}

static int attr_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half name, Dwarf_Unsigned *v)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	*v = 0;
	if (dwarf_attr(die, name, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return -1;
	}
	int r = dwarf_formudata(at, v, &err);
	dwerr(dbg, &err);
	if (r != DW_DLV_OK) {
		/* DWARF 5 DW_FORM_implicit_const: only formsdata reads it here */
		Dwarf_Signed s = 0;
		r = dwarf_formsdata(at, &s, &err);
		dwerr(dbg, &err);
		if (r == DW_DLV_OK && s >= 0)
			*v = (Dwarf_Unsigned)s;
		else
			r = DW_DLV_ERROR;
	}
	dwarf_dealloc_attribute(at);
	return r == DW_DLV_OK ? 0 : -1;
}

static int is_container(Dwarf_Half tag)
{
	switch (tag) {
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_module:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return 1;
	default:
		return 0;
	}
}

/* Collects subprograms and inlined subroutines below parent. */
static int walk_dies(struct dwmod *dm, struct dw_cu *cu, Dwarf_Die parent, unsigned depth)
{
	if (depth > MAX_DIE_DEPTH)
		return 0;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Die ch = NULL;
	if (dwarf_child(parent, &ch, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	int rc = 0;
	while (ch && rc == 0) {
		Dwarf_Half tag = 0;
		if (dwarf_tag(ch, &tag, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			tag = 0;
		}
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			size_t rstart = cu->nranges;
			rc = die_ranges(dm, cu, ch);
			/* no pc: a declaration or an abstract instance */
			if (rc == 0 && cu->nranges > rstart && cu->nranges - rstart < UINT32_MAX &&
			    cu->nnodes < UINT32_MAX - 1) {
				struct dw_node *nv = grow(cu->nodes, &cu->capnodes, cu->nnodes + 1,
							  sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				cu->nodes = nv;
				size_t idx = cu->nnodes++;
				struct dw_node *nd = &nv[idx];
				memset(nd, 0, sizeof(*nd));
				nd->rfirst = (uint32_t)rstart;
				nd->rcount = (uint32_t)(cu->nranges - rstart);
				nd->inlined = tag == DW_TAG_inlined_subroutine;
				if (dwarf_dieoffset(ch, &nd->off, &err) != DW_DLV_OK)
					dwerr(dbg, &err);
				if (nd->inlined) {
					Dwarf_Unsigned f = 0, l = 0;
					if (attr_udata(dbg, ch, DW_AT_call_file, &f) != 0)
						f = 0; /* unknown file */
					if (attr_udata(dbg, ch, DW_AT_call_line, &l) != 0)
						l = 0;
					nd->call_file = f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
					nd->call_line = l > UINT32_MAX ? 0 : (uint32_t)l;
				} else {
					for (size_t r = rstart; r < cu->nranges; r++) {
						struct dw_top *tv = grow(cu->tops, &cu->captops,
									 cu->ntops + 1, sizeof(*tv));
						if (!tv) {
							rc = -ENOMEM;
							break;
						}
						cu->tops = tv;
						tv[cu->ntops++] = (struct dw_top){
							cu->ranges[r].lo, cu->ranges[r].hi, (uint32_t)idx };
					}
				}
				if (rc == 0)
					rc = walk_dies(dm, cu, ch, depth + 1);
				cu->nodes[idx].end = (uint32_t)cu->nnodes;
			}
		} else if (is_container(tag)) {
			rc = walk_dies(dm, cu, ch, depth + 1);
		}
		Dwarf_Die sib = NULL;
		int r = dwarf_siblingof_b(dbg, ch, 1, &sib, &err);
		dwarf_dealloc_die(ch);
		ch = NULL;
		if (r != DW_DLV_OK) {
			dwerr(dbg, &err);
			break;
		}
		ch = sib;
	}
	if (ch)
		dwarf_dealloc_die(ch);
	return rc;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct dw_row *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->hi < b->hi ? -1 : a->hi > b->hi;
}

static int top_cmp(const void *pa, const void *pb)
{
	const struct dw_top *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

static int read_lines(struct sym_ctx *c, struct dwmod *dm, struct dw_cu *cu, Dwarf_Die cudie)
{
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Unsigned ver = 0;
	Dwarf_Small tc = 0;
	Dwarf_Line_Context lctx = NULL;
	if (dwarf_srclines_b(cudie, &ver, &tc, &lctx, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return 0;
	}
	cu->line_ver = (unsigned)ver;
	int rc = 0;
	char **files = NULL;
	Dwarf_Signed nf = 0;
	if (dwarf_srcfiles(cudie, &files, &nf, &err) == DW_DLV_OK) {
		cu->files = nf > 0 ? calloc((size_t)nf, sizeof(*cu->files)) : NULL;
		if (nf > 0 && !cu->files)
			rc = -ENOMEM;
		for (Dwarf_Signed i = 0; i < nf; i++) {
			if (rc == 0 && files[i]) {
				cu->files[i] = arena_strdup(&c->str, files[i]);
				if (!cu->files[i])
					rc = -ENOMEM;
			}
			dwarf_dealloc(dbg, files[i], DW_DLA_STRING);
		}
		dwarf_dealloc(dbg, files, DW_DLA_LIST);
		if (rc == 0)
			cu->nfiles = (size_t)nf;
	} else {
		dwerr(dbg, &err);
	}

	Dwarf_Line *lines = NULL;
	Dwarf_Signed nl = 0;
	if (rc == 0 && dwarf_srclines_from_linecontext(lctx, &lines, &nl, &err) == DW_DLV_OK) {
		Dwarf_Addr prev_addr = 0, seq_start = 0;
		Dwarf_Unsigned prev_line = 0, prev_file = 0;
		int in_seq = 0;
		for (Dwarf_Signed i = 0; i < nl && rc == 0; i++) {
			Dwarf_Addr a = 0;
			Dwarf_Unsigned ln = 0, fno = 0;
			Dwarf_Bool endseq = 0;
			if (dwarf_lineaddr(lines[i], &a, &err) != DW_DLV_OK ||
			    dwarf_lineno(lines[i], &ln, &err) != DW_DLV_OK ||
			    dwarf_line_srcfileno(lines[i], &fno, &err) != DW_DLV_OK ||
			    dwarf_lineendsequence(lines[i], &endseq, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				in_seq = 0;
				continue;
			}
			if (in_seq && a > prev_addr && seq_start != 0 && seq_start < UINT64_MAX - 1) {
				struct dw_row *nv = grow(cu->rows, &cu->caprows, cu->nrows + 1,
							 sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				cu->rows = nv;
				nv[cu->nrows++] = (struct dw_row){
					prev_addr, a,
					prev_file > UINT32_MAX ? UINT32_MAX : (uint32_t)prev_file,
					prev_line > UINT32_MAX ? 0 : (uint32_t)prev_line };
			}
			if (endseq) {
				in_seq = 0;
				continue;
			}
			if (!in_seq)
				seq_start = a;
			in_seq = 1;
			prev_addr = a;
			prev_line = ln;
			prev_file = fno;
		}
	} else {
		dwerr(dbg, &err);
	}
	dwarf_srclines_dealloc_b(lctx);
	if (rc == 0 && cu->nrows)
		qsort(cu->rows, cu->nrows, sizeof(*cu->rows), row_cmp);
	return rc;
}

static int cu_load(struct sym_ctx *c, struct dwmod *dm, struct dw_cu *cu)
{
	if (cu->state)
		return 0;
	cu->state = -1;
	Dwarf_Error err = NULL;
	Dwarf_Die cudie = NULL;
	if (cu->off_is_header) {
		/* only now is this unit's header read */
		Dwarf_Off die = 0;
		if (dwarf_get_cu_die_offset_given_cu_header_offset_b(dm->dbg, cu->off, 1, &die,
								     &err) != DW_DLV_OK) {
			dwerr(dm->dbg, &err);
			return 0;
		}
		cu->off = die;
		cu->off_is_header = 0;
	}
	if (dwarf_offdie_b(dm->dbg, cu->off, 1, &cudie, &err) != DW_DLV_OK) {
		dwerr(dm->dbg, &err);
		return 0;
	}
	if (!cu->base) {
		/* units found through .debug_aranges: DWARF 4 range lists
		 * are relative to this */
		Dwarf_Addr base = 0;
		if (dwarf_lowpc(cudie, &base, &err) == DW_DLV_OK)
			cu->base = base;
		dwerr(dm->dbg, &err);
	}
	int rc = read_lines(c, dm, cu, cudie);
	if (rc == 0)
		rc = walk_dies(dm, cu, cudie, 0);
	dwarf_dealloc_die(cudie);
	if (rc == 0 && cu->ntops)
		qsort(cu->tops, cu->ntops, sizeof(*cu->tops), top_cmp);
	if (rc == 0)
		cu->state = 1;
	return rc;
}

static const char *cu_file(const struct dw_cu *cu, uint32_t idx)
{
	/* DWARF 5 file numbers start at 0, earlier ones at 1 */
	if (cu->line_ver < 5) {
		if (idx == 0)
			return NULL;
		idx--;
	}
	/* nfiles is set only once files[] is allocated (cu_load_lines) */
	return idx < cu->nfiles ? cu->files[idx] : NULL; // NOLINT(clang-analyzer-core.NullDereference)
}

static const struct dw_row *cu_row(const struct dw_cu *cu, uint64_t a)
{
	size_t lo = 0, hi = cu->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cu->rows[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++)
		if (a < cu->rows[i - 1].hi && a >= cu->rows[i - 1].lo)
			return &cu->rows[i - 1];
	return NULL;
}

static int node_has(const struct dw_cu *cu, uint32_t n, uint64_t a)
{
	const struct dw_node *nd = &cu->nodes[n];
	for (uint32_t i = 0; i < nd->rcount; i++) {
		const struct dw_range *r = &cu->ranges[nd->rfirst + i];
		if (a >= r->lo && a < r->hi)
			return 1;
	}
	return 0;
}

static uint64_t node_entry(const struct dw_cu *cu, uint32_t n)
{
	const struct dw_node *nd = &cu->nodes[n];
	uint64_t lo = UINT64_MAX;
	for (uint32_t i = 0; i < nd->rcount; i++)
		if (cu->ranges[nd->rfirst + i].lo < lo)
			lo = cu->ranges[nd->rfirst + i].lo;
	return lo;
}

/* Text of a string attribute of die, NULL if absent. */
static const char *die_str(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half name)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	Dwarf_Half form = 0;
	char *s = NULL;
	if (dwarf_attr(die, name, &at, &err) != DW_DLV_OK) {
		dwerr(dbg, &err);
		return NULL;
	}
	/* strings of a dwz/supplementary file, which is not read */
	if (dwarf_whatform(at, &form, &err) != DW_DLV_OK || form == DW_FORM_GNU_strp_alt ||
	    form == DW_FORM_strp_sup || dwarf_formstring(at, &s, &err) != DW_DLV_OK)
		s = NULL;
	dwerr(dbg, &err);
	dwarf_dealloc_attribute(at);
	return s;
}

/* Name of the function of node n: a linkage name anywhere on the
 * abstract_origin/specification chain (demangled), else DW_AT_name. */
static const char *node_name(struct sym_ctx *c, struct dwmod *dm, struct dw_node *nd)
{
	if (nd->named)
		return nd->name;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Off off = nd->off;
	const char *plain = NULL, *link = NULL;
	char plainbuf[512];
	for (int hop = 0; hop < 8 && !link; hop++) {
		Dwarf_Die die = NULL;
		if (dwarf_offdie_b(dbg, off, 1, &die, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			break;
		}
		const char *s = die_str(dbg, die, DW_AT_linkage_name);
		if (!s)
			s = die_str(dbg, die, DW_AT_MIPS_linkage_name);
		if (s) {
			link = arena_strdup(&c->str, s);
			dwarf_dealloc_die(die);
			if (!link)
				return NULL;
			break;
		}
		if (!plain && (s = die_str(dbg, die, DW_AT_name)) != NULL) {
			snprintf(plainbuf, sizeof(plainbuf), "%s", s);
			plain = plainbuf;
		}
		Dwarf_Attribute at = NULL;
		Dwarf_Unsigned next = 0;
		int found = 0;
		static const Dwarf_Half follow[] = { DW_AT_abstract_origin, DW_AT_specification };
		for (size_t i = 0; i < 2 && !found; i++) {
			if (dwarf_attr(die, follow[i], &at, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				continue;
			}
			Dwarf_Off o = 0;
			Dwarf_Half form = 0;
			if (dwarf_whatform(at, &form, &err) != DW_DLV_OK) {
				dwerr(dbg, &err);
				form = 0;
			}
			if (form == DW_FORM_GNU_ref_alt || form == DW_FORM_ref_sup4 ||
			    form == DW_FORM_ref_sup8) {
				/* an offset in the dwz/supplementary file, which is not
				 * read: better no name than another DIE's */
				dwarf_dealloc_attribute(at);
				break;
			}
			if (dwarf_global_formref(at, &o, &err) == DW_DLV_OK) {
				next = o;
				found = 1;
			} else {
				dwerr(dbg, &err);
			}
			dwarf_dealloc_attribute(at);
		}
		dwarf_dealloc_die(die);
		if (!found || next == off)
			break;
		off = next;
	}
	const char *res = NULL;
	if (link)
		res = shown_name(c, link);
	else if (plain)
		res = arena_strdup(&c->str, plain);
	if ((link || plain) && !res)
		return NULL; /* ENOMEM: try again next time */
	nd->name = res;
	nd->named = 1;
	return res;
}

static int cuidx_cmp(const void *pa, const void *pb)
{
	const struct dw_cuidx *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->cu < b->cu ? -1 : a->cu > b->cu;
}

static int add_cuidx(struct dwmod *dm, uint64_t lo, uint64_t hi, size_t cu)
{
	struct dw_cuidx *nv = grow(dm->idx, &dm->capidx, dm->nidx + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	dm->idx = nv;
	nv[dm->nidx++] = (struct dw_cuidx){ lo, hi, (uint32_t)cu };
	return 0;
}

static void dw_free(struct dwmod *dm)
{
	if (!dm)
		return;
	for (size_t i = 0; i < dm->ncus; i++) {
		struct dw_cu *cu = &dm->cus[i];
		free(cu->files);
		free(cu->rows);
		free(cu->nodes);
		free(cu->ranges);
		free(cu->tops);
	}
	free(dm->cus);
	free(dm->idx);
	if (dm->dbg) {
		Dwarf_Error err = NULL;
		if (dwarf_finish(dm->dbg, &err) != DW_DLV_OK && err)
			dwarf_dealloc_error(NULL, err);
	}
	if (dm->elf)
		elf_end(dm->elf);
	free(dm);
}

struct arent {
	uint64_t lo, hi;
	Dwarf_Off cu;
};

static int arent_cmp(const void *pa, const void *pb)
{
	const struct arent *a = pa, *b = pb;
	if (a->cu != b->cu)
		return a->cu < b->cu ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Indexes the units of dm by .debug_aranges alone: one unit per distinct
 * CU offset the table names, whose DIEs and lines cu_load() reads when an
 * address inside it is first asked for.  No unit is parsed here.  *found is
 * 1 when the table gave at least one range.  0 or -ENOMEM. */
static int dw_index_aranges(struct sym_ctx *c, struct dwmod *dm, int *found)
{
	*found = 0;
	Dwarf_Debug dbg = dm->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Arange *ar = NULL;
	Dwarf_Signed n = 0;
	int r = dwarf_get_aranges(dbg, &ar, &n, &err);
	if (r != DW_DLV_OK) {
		vlog(c, "  DWARF: no usable .debug_aranges (%s)",
		     r == DW_DLV_ERROR && err ? dwarf_errmsg(err) : "none");
		dwerr(dbg, &err);
		return 0;
	}
	struct arent *v = NULL;
	size_t nv = 0;
	int rc = 0;
	if (n > 0 && (uint64_t)n < SIZE_MAX / sizeof(*v)) {
		v = malloc((size_t)n * sizeof(*v));
		if (!v)
			rc = -ENOMEM;
	}
	for (Dwarf_Signed i = 0; i < n; i++) {
		Dwarf_Unsigned seg = 0, segsz = 0, len = 0;
		Dwarf_Addr start = 0;
		Dwarf_Off cuoff = 0;
		if (rc == 0 && v) {
			/* the unit's header offset, as stored: asking for the
			 * DIE offset would read every unit's header now */
			if (dwarf_get_arange_info_b(ar[i], &seg, &segsz, &start, &len, NULL, &err) ==
			    DW_DLV_OK &&
			    dwarf_get_arange_cu_header_offset(ar[i], &cuoff, &err) == DW_DLV_OK) {
				/* 0 and ~0: tombstones of code the linker dropped */
				if (len && start && start < UINT64_MAX - 1 && start + len > start)
					v[nv++] = (struct arent){ start, start + len, cuoff };
			} else {
				dwerr(dbg, &err);
			}
		}
		dwarf_dealloc(dbg, ar[i], DW_DLA_ARANGE);
	}
	dwarf_dealloc(dbg, ar, DW_DLA_LIST);
	if (rc == 0 && nv) {
		qsort(v, nv, sizeof(*v), arent_cmp);
		for (size_t i = 0; i < nv && rc == 0; i++) {
			if (!i || v[i].cu != v[i - 1].cu) {
				if (dm->ncus >= UINT32_MAX)
					break;
				struct dw_cu *nc = grow(dm->cus, &dm->capcus, dm->ncus + 1, sizeof(*nc));
				if (!nc) {
					rc = -ENOMEM;
					break;
				}
				dm->cus = nc;
				memset(&nc[dm->ncus], 0, sizeof(*nc));
				nc[dm->ncus].off_is_header = 1;
				nc[dm->ncus++].off = v[i].cu;
			}
			rc = add_cuidx(dm, v[i].lo, v[i].hi, dm->ncus - 1);
		}
		*found = rc == 0 && dm->nidx > 0;
		if (*found)
			vlog(c, "  DWARF: indexed by .debug_aranges: %zu ranges in %zu units "
			     "(units are read on first use)", dm->nidx, dm->ncus);
	}
	free(v);
	return rc;
}

static uint64_t le_get(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Checks the unit headers of a DWARF 5 .debug_rnglists/.debug_loclists
 * section (DWARF 5, 7.28 and 7.29): the units tile the section, each has
 * version 5, an address size of 4 or 8, no segment selector and an offset
 * table that fits.  Why: libdwarf 20210528 loads these headers as soon as
 * it reads any unit, and on some malformed headers its error path frees
 * the same context twice (seen with ASan in dwarf_load_rnglists, called
 * from dwarf_get_aranges and dwarf_next_cu_header_d), which aborts the
 * process.  A file that fails here is used without its DWARF.  Little
 * endian only, like everything this symbolizer reads.  NULL when sane,
 * else the reason. */
static const char *dw_lists_damaged(Elf_Data *d)
{
	const unsigned char *p = d && d->d_buf ? d->d_buf : NULL;
	size_t n = p ? d->d_size : 0, at = 0;
	while (at < n) {
		size_t left = n - at;
		unsigned osz = 4;
		if (left < 4)
			return "a unit header is cut";
		uint64_t len = le_get(p + at, 4);
		at += 4;
		if (len == 0xffffffffu) {
			if (n - at < 8)
				return "a unit header is cut";
			len = le_get(p + at, 8);
			at += 8;
			osz = 8;
		} else if (len >= 0xfffffff0u) {
			return "a reserved unit length";
		}
		if (len > n - at || len < 8)
			return "a unit length beyond the section";
		const unsigned char *u = p + at;
		if (le_get(u, 2) != 5 || (u[2] != 4 && u[2] != 8) || u[3] != 0)
			return "a unit header with a bad version or sizes";
		uint64_t count = le_get(u + 4, 4);
		if (count > (len - 8) / osz)
			return "an offset table beyond its unit";
		/* offsets count from the start of the offset table itself */
		for (uint64_t i = 0; i < count; i++)
			if (le_get(u + 8 + i * osz, osz) >= len - 8)
				return "an offset beyond its unit";
		at += (size_t)len;
	}
	return NULL;
}

/* The first damaged .debug_rnglists/.debug_loclists of e, as a message
 * ("SECTION: reason"), or NULL. */
static const char *dw_sections_damaged(Elf *e, char *buf, size_t cap)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || (strcmp(name, ".debug_rnglists") && strcmp(name, ".debug_loclists")))
			continue;
		const char *why = dw_lists_damaged(section_data(scn));
		if (why) {
			snprintf(buf, cap, "%s: %s", name, why);
			return buf;
		}
	}
	return NULL;
}

/* Takes ownership of e (also on failure).  *out NULL when there is no
 * usable DWARF.  With use_aranges the units are indexed by .debug_aranges
 * when it has entries (see dw_index_aranges), else by reading every unit's
 * header and top DIE.  0 or -ENOMEM. */
static int dw_open(struct sym_ctx *c, Elf *e, int use_aranges, struct dwmod **out)
{
	*out = NULL;
	struct dwmod *dm = calloc(1, sizeof(*dm));
	if (!dm) {
		elf_end(e);
		return -ENOMEM;
	}
	dm->elf = e;
	char why[128];
	if (dw_sections_damaged(e, why, sizeof(why))) {
		vlog(c, "  DWARF unusable: %s", why);
		dw_free(dm);
		return 0;
	}
	Dwarf_Error err = NULL;
	int r = dwarf_elf_init_b(e, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dm->dbg, &err);
	if (r != DW_DLV_OK) {
		vlog(c, "  DWARF unusable: %s", r == DW_DLV_ERROR && err ? dwarf_errmsg(err) : "no entry");
		if (err)
			dwarf_dealloc_error(NULL, err);
		dm->dbg = NULL;
		dw_free(dm);
		return 0;
	}
	Dwarf_Debug dbg = dm->dbg;
	int rc = 0, indexed = 0;
	if (use_aranges)
		rc = dw_index_aranges(c, dm, &indexed);
	while (rc == 0 && !indexed) {
		Dwarf_Unsigned hlen = 0, toff = 0, next = 0;
		Dwarf_Half ver = 0, asz = 0, lsz = 0, esz = 0, ut = 0;
		Dwarf_Off abbr = 0;
		Dwarf_Sig8 sig;
		r = dwarf_next_cu_header_d(dbg, 1, &hlen, &ver, &abbr, &asz, &lsz, &esz, &sig,
					   &toff, &next, &ut, &err);
		if (r == DW_DLV_NO_ENTRY)
			break;
		if (r != DW_DLV_OK) {
			vlog(c, "  DWARF: stopped reading compilation units: %s",
			     err ? dwarf_errmsg(err) : "error");
			dwerr(dbg, &err);
			break;
		}
		Dwarf_Die cudie = NULL;
		if (dwarf_siblingof_b(dbg, NULL, 1, &cudie, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			continue;
		}
		Dwarf_Half tag = 0;
		if (dwarf_tag(cudie, &tag, &err) != DW_DLV_OK)
			dwerr(dbg, &err);
		if ((tag != DW_TAG_compile_unit && tag != DW_TAG_skeleton_unit) ||
		    ut == DW_UT_type || ut == DW_UT_split_type || dm->ncus >= UINT32_MAX) {
			dwarf_dealloc_die(cudie);
			continue;
		}
		struct dw_cu *nv = grow(dm->cus, &dm->capcus, dm->ncus + 1, sizeof(*nv));
		if (!nv) {
			dwarf_dealloc_die(cudie);
			rc = -ENOMEM;
			break;
		}
		dm->cus = nv;
		struct dw_cu *cu = &nv[dm->ncus++];
		memset(cu, 0, sizeof(*cu));
		if (dwarf_dieoffset(cudie, &cu->off, &err) != DW_DLV_OK) {
			dwerr(dbg, &err);
			cu->state = -1;
		}
		Dwarf_Addr base = 0;
		if (dwarf_lowpc(cudie, &base, &err) == DW_DLV_OK)
			cu->base = base;
		dwerr(dbg, &err);
		/* the CU's own ranges go through cu->ranges, then are moved */
		rc = die_ranges(dm, cu, cudie);
		dwarf_dealloc_die(cudie);
		for (size_t i = 0; rc == 0 && i < cu->nranges; i++)
			rc = add_cuidx(dm, cu->ranges[i].lo, cu->ranges[i].hi, dm->ncus - 1);
		if (rc)
			break;
		if (!cu->nranges)
			cu->state = cu->state ? cu->state : 2; /* 2: needs its lines */
		cu->nranges = 0;
	}
	/* units without pc attributes: index them by their line table */
	for (size_t i = 0; rc == 0 && i < dm->ncus; i++) {
		struct dw_cu *cu = &dm->cus[i];
		if (cu->state != 2)
			continue;
		cu->state = 0;
		rc = cu_load(c, dm, cu);
		if (rc == 0 && cu->nrows)
			rc = add_cuidx(dm, cu->rows[0].lo, cu->rows[cu->nrows - 1].hi, i);
	}
	if (rc) {
		dw_free(dm);
		return rc;
	}
	if (dm->nidx)
		qsort(dm->idx, dm->nidx, sizeof(*dm->idx), cuidx_cmp);
	if (!indexed)
		vlog(c, "  DWARF: %zu compilation units, %zu address ranges", dm->ncus, dm->nidx);
	*out = dm;
	return 0;
}

struct dwhit {
	unsigned n;           /* frames filled, innermost first */
	int truncated;
	uint64_t entry;       /* lowest pc of the outermost function */
	struct sym_frame f[SYM_MAX_FRAMES];
};

/* Fills h for address a.  h->n == 0: nothing known.  A hit with only a line
 * (no function DIE) gives one frame with func NULL.  0 or -ENOMEM. */
static int dw_lookup(struct sym_ctx *c, struct dwmod *dm, uint64_t a, struct dwhit *h)
{
	memset(h, 0, sizeof(*h));
	size_t lo = 0, hi = dm->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dm->idx[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct dw_cu *cu = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++) {
		const struct dw_cuidx *x = &dm->idx[i - 1];
		if (a >= x->lo && a < x->hi) {
			cu = &dm->cus[x->cu];
			break;
		}
	}
	if (!cu)
		return 0;
	int rc = cu_load(c, dm, cu);
	if (rc)
		return rc;
	if (cu->state != 1)
		return 0;

	const struct dw_row *row = cu_row(cu, a);

	/* outermost function: the closest start at or below a */
	uint32_t chain[MAX_CHAIN];
	unsigned depth = 0;
	lo = 0;
	hi = cu->ntops;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cu->tops[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN * 4; i--, k++) {
		const struct dw_top *t = &cu->tops[i - 1];
		if (a >= t->lo && a < t->hi) {
			chain[depth++] = t->node;
			break;
		}
	}
	while (depth && depth < MAX_CHAIN) {
		uint32_t cur = chain[depth - 1], found = UINT32_MAX;
		/* cur indexes a node (it came from the chain); i > cur stops a
		 * malformed end that points backwards. */
		/* cppcheck-suppress arrayIndexThenCheck */
		for (uint32_t i = cur + 1; i < cu->nodes[cur].end && i > cur; i = cu->nodes[i].end) {
			if (cu->nodes[i].inlined && node_has(cu, i, a)) {
				found = i;
				break;
			}
			if (cu->nodes[i].end <= i)
				break;
		}
		if (found == UINT32_MAX)
			break;
		chain[depth++] = found;
	}
	if (!depth) {
		if (row) {
			h->n = 1;
			h->f[0].file = cu_file(cu, row->file);
			h->f[0].line = row->line;
		}
		return 0;
	}
	h->entry = node_entry(cu, chain[0]);
	/* innermost first; keep the innermost SYM_MAX_FRAMES-1 and the real one */
	unsigned n = 0;
	for (unsigned k = depth; k-- > 0;) {
		if (n == SYM_MAX_FRAMES - 1 && k > 0) {
			h->truncated = 1;
			k = 0;
		}
		struct dw_node *nd = &cu->nodes[chain[k]];
		struct sym_frame *f = &h->f[n++];
		f->func = node_name(c, dm, nd);
		f->inlined = nd->inlined;
		if (k == depth - 1) {
			f->file = row ? cu_file(cu, row->file) : NULL;
			f->line = row ? row->line : 0;
		} else {
			const struct dw_node *callee = &cu->nodes[chain[k + 1]];
			f->file = cu_file(cu, callee->call_file);
			f->line = callee->call_line;
		}
		if (k == 0)
			f->inlined = 0;
	}
	h->n = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* module resolution                                                   */

/* CRC-32 (zlib's, as gdb computes it for .gnu_debuglink) of the whole
 * file, from the mapping that is then used: no second open. */
static int image_crc(Elf *e, uint32_t *out)
{
	size_t size = 0;
	const char *img = elf_rawfile(e, &size);
	if (!img)
		return -1;
	uLong crc = crc32(0L, Z_NULL, 0);
	while (size) {
		uInt n = size > (1u << 30) ? (1u << 30) : (uInt)size;
		crc = crc32(crc, (const Bytef *)img, n);
		img += n;
		size -= n;
	}
	*out = (uint32_t)crc;
	return 0;
}

struct probe {
	struct efile acc[MAX_ACCEPTED];
	size_t nacc;
	int saw_mismatch, saw_bad;
};

static int have_enough(const struct probe *p)
{
	int syms = 0, ph = 0;
	for (size_t i = 0; i < p->nacc; i++) {
		if (p->acc[i].has_symtab || p->acc[i].has_dwarf)
			syms = 1;
		if (!p->acc[i].debug_only)
			ph = 1;
	}
	return syms && ph;
}

static void describe(const struct efile *f, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s%s%s", f->has_symtab ? " .symtab" : "",
		 f->has_dynsym ? " .dynsym" : "", f->has_dwarf ? " DWARF" : "",
		 f->debug_only ? " (separate debug file)" : "",
		 f->has_debuglink ? " .gnu_debuglink" : "");
}

/* Tries one candidate; accepted files go to p->acc.  kind: 0 needs the
 * build-id, 1 recorded path (unverified when the build-id is empty),
 * 2 debuglink target (CRC checked by the caller).  0 or -ENOMEM. */
static int try_candidate(struct sym_ctx *c, const struct module *m, struct probe *p,
			 const char *path, const char *root, int kind, uint32_t want_crc,
			 const char *src)
{
	if (p->nacc >= MAX_ACCEPTED)
		return 0;
	struct efile *f = &p->acc[p->nacc];
	memset(f, 0, sizeof(*f));
	if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path)) {
		vlog(c, "  %s: path too long", path);
		return 0;
	}
	char why[PATH_MAX + 64];
	int r = open_elf(path, root, &f->elf, &f->real, why, sizeof(why));
	if (r < 0)
		return r;
	if (r == OPEN_MISSING) {
		vlog(c, "  %s: not found (%s)", path, why);
		return 0;
	}
	if (r != OPEN_OK) {
		vlog(c, "  %s: rejected: %s", path, why);
		if (r == OPEN_BAD)
			p->saw_bad = 1;
		return 0;
	}
	f->confined = root != NULL;
	f->src = src;
	inspect(f);
	char have[2 * MAX_BID + 1], want[2 * MAX_BID + 1], what[128];
	hex_of(f->bid, f->bid_len, have, sizeof(have));
	hex_of(m->bid, m->bid_len, want, sizeof(want));
	describe(f, what, sizeof(what));
	if (kind == 2) {
		uint32_t crc = 0;
		if (image_crc(f->elf, &crc) != 0 || crc != want_crc) {
			vlog(c, "  %s: rejected: CRC 0x%08x, .gnu_debuglink wants 0x%08x", path,
			     (unsigned)crc, (unsigned)want_crc);
			p->saw_mismatch = 1;
			efile_close(f);
			return 0;
		}
		if (m->bid_len && f->bid_len &&
		    (f->bid_len != m->bid_len || memcmp(f->bid, m->bid, m->bid_len))) {
			vlog(c, "  %s: rejected: build-id %s, recorded %s", path, have, want);
			p->saw_mismatch = 1;
			efile_close(f);
			return 0;
		}
		vlog(c, "  %s: accepted: CRC matches .gnu_debuglink;%s", path, what);
	} else if (m->bid_len == 0) {
		vlog(c, "  %s: accepted WITHOUT verification: no build-id was recorded "
		     "(file's is %s);%s", path, f->bid_len ? have : "absent", what);
	} else if (f->bid_len == 0) {
		vlog(c, "  %s: rejected: file has no build-id note, recorded %s", path, want);
		p->saw_mismatch = 1;
		efile_close(f);
		return 0;
	} else if (f->bid_len != m->bid_len || memcmp(f->bid, m->bid, m->bid_len)) {
		vlog(c, "  %s: rejected: build-id mismatch: file %s, recorded %s", path, have, want);
		p->saw_mismatch = 1;
		efile_close(f);
		return 0;
	} else {
		vlog(c, "  %s: accepted: build-id matches;%s", path, what);
	}
	p->nacc++;
	return 0;
}

static int join(char *out, size_t sz, const char *a, const char *b, const char *c3)
{
	int n = snprintf(out, sz, "%s%s%s", a, b, c3 ? c3 : "");
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/* The .gnu_debuglink file of accepted file idx. */
static int follow_debuglink(struct sym_ctx *c, const struct module *m, struct probe *p,
			    size_t idx)
{
	const struct efile *f = &p->acc[idx];
	char name[256], dir[PATH_MAX], rdir[PATH_MAX], path[PATH_MAX];
	snprintf(name, sizeof(name), "%s", f->debuglink);
	uint32_t crc = f->debuglink_crc;
	const char *root = f->confined ? c->sysroot_real : NULL;
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		vlog(c, "  .gnu_debuglink \"%s\" refused: not a plain file name", name);
		return 0;
	}
	vlog(c, "  %s has no .symtab; following .gnu_debuglink \"%s\" (CRC 0x%08x)", f->path,
	     name, (unsigned)crc);
	snprintf(dir, sizeof(dir), "%s", f->real ? f->real : f->path);
	char *sl = strrchr(dir, '/');
	if (sl)
		sl[sl == dir ? 1 : 0] = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(rdir, sizeof(rdir), "%s", m->path);
	sl = strrchr(rdir, '/');
	if (sl)
		*sl = '\0';
	/* the recorded directory is joined to debug dirs: never let it climb */
	if (!sl || rdir[0] != '/' || has_dot_component(rdir))
		rdir[0] = '\0';
	const char *sep = strcmp(dir, "/") == 0 ? "" : "/";

	size_t before = p->nacc;
	int rc = 0;
	char mid[PATH_MAX];
	if (!rc && join(mid, sizeof(mid), dir, sep, "") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, root, 2, crc, ".gnu_debuglink");
	if (!rc && p->nacc == before && join(mid, sizeof(mid), dir, sep, ".debug/") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, root, 2, crc, ".gnu_debuglink");
	for (size_t i = 0; !rc && p->nacc == before && i < c->ndebug_dirs; i++) {
		if (join(path, sizeof(path), c->debug_dirs[i], "/", name) == 0)
			rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
		if (!rc && p->nacc == before && rdir[0] &&
		    join(mid, sizeof(mid), c->debug_dirs[i], rdir, "/") == 0 &&
		    join(path, sizeof(path), mid, name, NULL) == 0)
			rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
	}
	if (!rc && p->nacc == before && c->use_system_debug && rdir[0] &&
	    join(mid, sizeof(mid), SYSTEM_DEBUG_DIR, rdir, "/") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
	if (!rc && p->nacc == before)
		vlog(c, "  .gnu_debuglink \"%s\": no matching file", name);
	return rc;
}

/* What the files found so far lack, from debuginfod: the debug info when
 * there is no .symtab and no DWARF, the executable when there are no
 * original program headers (the binary is not on this machine).  0 or
 * -ENOMEM. */
static int ask_debuginfod(struct sym_ctx *c, const struct module *m, struct probe *p)
{
	if (!c->dbgd || m->bid_len < 2)
		return 0;
	for (enum dbgd_kind k = DBGD_DEBUGINFO; k <= DBGD_EXECUTABLE && !have_enough(p); k++) {
		int syms = 0, ph = 0;
		for (size_t i = 0; i < p->nacc; i++) {
			syms |= p->acc[i].has_symtab || p->acc[i].has_dwarf;
			ph |= !p->acc[i].debug_only;
		}
		if (k == DBGD_DEBUGINFO ? syms : ph)
			continue;
		char *path = NULL, why[256];
		int r = dbgd_find(c->dbgd, k, m->bid, m->bid_len, m->display, &path, why, sizeof(why));
		if (r < 0)
			return r;
		if (r > 0) {
			vlog(c, "  debuginfod %s: %s", k == DBGD_DEBUGINFO ? "debug info" : "executable",
			     why);
			if (r == DBGD_OFF)
				break; /* the executable would get the same answer */
			continue;
		}
		r = try_candidate(c, m, p, path, NULL, 0, 0, "debuginfod");
		free(path);
		if (r)
			return r;
	}
	return 0;
}

static int probe_all(struct sym_ctx *c, const struct module *m, struct probe *p)
{
	char path[PATH_MAX];
	char hex[2 * MAX_BID + 1];
	int rc = 0;
	size_t done_links = 0;

	hex_of(m->bid, m->bid_len, hex, sizeof(hex));
	/* steps 1 and 2: build-id trees */
	if (m->bid_len >= 2) {
		const char *rest = hex + 2;
		char sub[2 * MAX_BID + 32];
		snprintf(sub, sizeof(sub), "/.build-id/%.2s/%s", hex, rest);
		for (size_t i = 0; i < c->ndebug_dirs && !rc && !have_enough(p); i++) {
			if (join(path, sizeof(path), c->debug_dirs[i], sub, ".debug") == 0)
				rc = try_candidate(c, m, p, path, NULL, 0, 0, "a debug dir");
			if (!rc && !have_enough(p) &&
			    join(path, sizeof(path), c->debug_dirs[i], sub, NULL) == 0)
				rc = try_candidate(c, m, p, path, NULL, 0, 0, "a debug dir");
		}
		if (!rc && !have_enough(p) && c->use_system_debug &&
		    join(path, sizeof(path), SYSTEM_DEBUG_DIR, sub, ".debug") == 0)
			rc = try_candidate(c, m, p, path, NULL, 0, 0, SYSTEM_DEBUG_DIR);
	} else if (c->ndebug_dirs || c->use_system_debug) {
		vlog(c, "  build-id directories skipped: %s", m->bid_len ? "build-id too short" :
		     "no build-id recorded");
	}
	/* steps 3 and 4: the recorded path */
	if (!rc && !have_enough(p)) {
		if (m->path[0] != '/') {
			vlog(c, "  %s: not an absolute path, not opened", m->path);
		} else if (c->sysroot) {
			if (!c->sysroot_real)
				vlog(c, "  sysroot %s does not resolve; %s not tried", c->sysroot, m->path);
			else if (join(path, sizeof(path), c->sysroot_real,
				      strcmp(c->sysroot_real, "/") == 0 ? m->path + 1 : m->path, NULL) == 0)
				rc = try_candidate(c, m, p, path, c->sysroot_real, 1, 0, "the sysroot");
			if (c->use_recorded_path)
				vlog(c, "  %s: not tried on this machine (a sysroot is set)", m->path);
		} else if (c->use_recorded_path) {
			rc = try_candidate(c, m, p, m->path, NULL, 1, 0, "the recorded path");
		}
	}
	/* .gnu_debuglink of accepted files without a symbol table */
	for (size_t i = 0; !rc && i < p->nacc && done_links < 4; i++) {
		int syms = 0;
		for (size_t j = 0; j < p->nacc; j++)
			syms |= p->acc[j].has_symtab;
		if (syms)
			break;
		if (p->acc[i].has_debuglink && !p->acc[i].has_symtab) {
			done_links++;
			rc = follow_debuglink(c, m, p, i);
		}
	}
	if (!rc && !have_enough(p))
		rc = ask_debuginfod(c, m, p);
	return rc;
}

static int load_module(struct sym_ctx *c, struct module *m)
{
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	char hex[2 * MAX_BID + 1];
	hex_of(m->bid, m->bid_len, hex, sizeof(hex));
	vlog(c, "module %s build-id %s", m->path, m->bid_len ? hex : "(none)");
	int rc = probe_all(c, m, p);
	struct efile *symf = NULL, *dynf = NULL, *dwf = NULL, *phf = NULL, *mdf = NULL;
	for (size_t i = 0; i < p->nacc; i++) {
		struct efile *f = &p->acc[i];
		if (!symf && f->has_symtab)
			symf = f;
		if (!mdf && f->has_debugdata)
			mdf = f;
		if (!dynf && f->has_dynsym)
			dynf = f;
		if (!dwf && f->has_dwarf)
			dwf = f;
		if (!phf && !f->debug_only)
			phf = f;
	}
	int rebuild = 0;
	if (!phf && p->nacc) {
		phf = symf ? symf : dwf ? dwf : &p->acc[0];
		rebuild = 1;
	}
	if (rc == 0 && !p->nacc) {
		m->status = p->saw_mismatch ? SYM_BUILDID_MISMATCH :
			    p->saw_bad ? SYM_BAD_FILE : SYM_NOT_FOUND;
		vlog(c, "  no usable file: %s", sym_status_str(m->status));
		vlog(c, "symbols for %s: from no file (%s)", m->display, sym_status_str(m->status));
	}
	if (rc == 0 && p->nacc) {
		m->status = SYM_OK;
		struct efile *u = dwf ? dwf : symf ? symf : dynf ? dynf : phf;
		m->used_path = arena_strdup(&c->str, u->path);
		if (!m->used_path)
			rc = -ENOMEM;
		if (rc == 0 && rebuild)
			vlog(c, "  program headers: original binary not available, rebuilding "
			     "the file layout from %s (a guess, see symbolize.h)", phf->path);
		else if (rc == 0)
			vlog(c, "  program headers from %s", phf->path);
		if (rc == 0)
			rc = read_loads(c, m, phf->elf, rebuild);
		struct rawsym *rv = NULL;
		size_t rn = 0, rcap = 0;
		Elf *mini = NULL;
		void *minibuf = NULL;
		int used_mini = 0; /* its symbols are in (mini itself is freed below) */
		if (rc == 0 && symf)
			rc = collect_syms(symf->elf, SHT_SYMTAB, &rv, &rn, &rcap);
		if (rc == 0 && !symf && mdf) {
			/* MiniDebugInfo: the functions .dynsym lacks, for want of a
			 * real .symtab (its names are then read before it is freed) */
			char why[128];
			int r = mdi_open(mdf->elf, &mini, &minibuf, why, sizeof(why));
			if (r < 0)
				rc = r;
			else if (r > 0)
				vlog(c, "  %s: .gnu_debugdata unusable: %s", mdf->path, why);
			else
				rc = collect_syms(mini, SHT_SYMTAB, &rv, &rn, &rcap);
			used_mini = mini != NULL;
		}
		if (rc == 0 && dynf)
			rc = collect_syms(dynf->elf, SHT_DYNSYM, &rv, &rn, &rcap);
		if (rc == 0)
			rc = build_syms(c, m, rv, rn);
		free(rv);
		if (mini)
			elf_end(mini);
		free(minibuf);
		if (rc == 0)
			vlog(c, "  %zu function symbols (.symtab from %s%s, .dynsym from %s)", m->nsyms,
			     symf ? symf->path : used_mini ? mdf->path : "-",
			     used_mini ? " .gnu_debugdata" : "", dynf ? dynf->path : "-");
		if (rc == 0) {
			/* the -v summary: one line per module, where its names come from */
			const struct efile *best = dwf ? dwf : symf ? symf : used_mini ? mdf : u;
			vlog(c, "symbols for %s: %s from %s: %s%s", m->display,
			     dwf ? "DWARF" : symf ? ".symtab" : used_mini ? "MiniDebugInfo (.gnu_debugdata)" :
			     dynf ? ".dynsym only" : "no symbol table", best->src, best->path,
			     rebuild ? " (layout rebuilt)" : "");
		}
		if (rc == 0 && dwf) {
			vlog(c, "  DWARF from %s", dwf->path);
			Elf *e = dwf->elf;
			dwf->elf = NULL;
			rc = dw_open(c, e, 0, &m->dw);
		}
	}
	for (size_t i = 0; i < p->nacc; i++)
		efile_close(&p->acc[i]);
	free(p);
	return rc;
}

static void module_free(struct module *m)
{
	free(m->loads);
	free(m->syms);
	dw_free(m->dw);
	free(m);
}

static int rehash(struct sym_ctx *c)
{
	size_t nb = c->nbuckets ? c->nbuckets * 2 : 64;
	struct module **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct module *m = c->buckets[i];
		while (m) {
			struct module *next = m->next;
			m->next = b[m->hash & (nb - 1)];
			b[m->hash & (nb - 1)] = m;
			m = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
	return 0;
}

static int get_module(struct sym_ctx *c, const char *path, const uint8_t *bid, size_t len,
		      struct module **out)
{
	struct module *m = c->last;
	if (m && m->bid_len == len && (!len || memcmp(m->bid, bid, len) == 0) &&
	    strcmp(m->path, path) == 0) {
		*out = m;
		return 0;
	}
	uint64_t h = hash_key(bid, len, path);
	if (c->nbuckets) {
		for (m = c->buckets[h & (c->nbuckets - 1)]; m; m = m->next) {
			if (m->hash == h && m->bid_len == len &&
			    (!len || memcmp(m->bid, bid, len) == 0) && strcmp(m->path, path) == 0) {
				c->last = m;
				*out = m;
				return 0;
			}
		}
	}
	if (!c->nbuckets || (c->nmodules + 1) * 4 > c->nbuckets * 3) {
		int rc = rehash(c);
		if (rc)
			return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->hash = h;
	m->bid_len = len;
	if (len)
		memcpy(m->bid, bid, len);
	m->path = arena_strdup(&c->str, path);
	if (!m->path) {
		free(m);
		return -ENOMEM;
	}
	const char *base = strrchr(m->path, '/');
	m->display = base && base[1] ? base + 1 : m->path;
	int rc = load_module(c, m);
	if (rc) {
		module_free(m);
		return rc;
	}
	size_t b = h & (c->nbuckets - 1);
	m->next = c->buckets[b];
	c->buckets[b] = m;
	c->nmodules++;
	c->last = m;
	*out = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* embedded symbols                                                    */

static struct embed_tab *find_embed(struct sym_ctx *c, const uint8_t *bid, size_t len,
				    const char *path)
{
	for (struct embed_tab *t = c->embeds; t; t = t->next) {
		if (len) {
			if (t->bid_len == len && memcmp(t->bid, bid, len) == 0)
				return t;
		} else if (!t->bid_len && path && strcmp(t->path, path) == 0) {
			return t;
		}
	}
	return NULL;
}

static int embed_cmp(const void *pa, const void *pb)
{
	const struct embed_sym *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end > b->end ? -1 : a->end < b->end;
}

int sym_add_embedded(struct sym_ctx *c, const uint8_t *build_id, size_t len,
		     const char *path, uint64_t start_off, uint64_t size, const char *name)
{
	if (!c || !name || !size || len > MAX_BID || (len && !build_id) || (!len && !path) ||
	    start_off + size < start_off)
		return -EINVAL;
	struct embed_tab *t = find_embed(c, build_id, len, path);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->bid_len = len;
		if (len) {
			memcpy(t->bid, build_id, len);
		} else {
			t->path = arena_strdup(&c->str, path);
			if (!t->path) {
				free(t);
				return -ENOMEM;
			}
		}
		t->next = c->embeds;
		c->embeds = t;
		c->embed_gen++;
	}
	struct embed_sym *nv = grow(t->syms, &t->cap, t->n + 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	t->syms = nv;
	const char *nm = arena_strdup(&c->str, name);
	if (!nm)
		return -ENOMEM;
	nv[t->n++] = (struct embed_sym){ start_off, start_off + size, nm, NULL };
	t->sorted = 0;
	return 0;
}

static int embed_lookup(struct sym_ctx *c, struct module *m, uint64_t q, uint64_t rec,
			struct sym_result *out)
{
	if (m->embed_gen != c->embed_gen) {
		m->embed = find_embed(c, m->bid, m->bid_len, m->path);
		m->embed_gen = c->embed_gen;
	}
	struct embed_tab *t = m->embed;
	if (!t || !t->n)
		return 0;
	if (!t->sorted) {
		qsort(t->syms, t->n, sizeof(*t->syms), embed_cmp);
		t->sorted = 1;
	}
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].start <= q)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++) {
		struct embed_sym *s = &t->syms[i - 1];
		if (q < s->end) {
			if (!s->shown)
				s->shown = shown_name(c, s->name);
			if (!s->shown)
				return -ENOMEM;
			if (!m->said_embedded)
				vlog(c, "symbols for %s: embedded in the recording",
				     m->display);
			m->said_embedded = 1;
			vlog(c, "%s+0x%llx: from embedded symbols", m->path, (unsigned long long)q);
			out->status = SYM_OK;
			out->used_path = NULL;
			out->nframes = 1;
			out->frames[0].func = s->shown;
			out->frames[0].func_off = rec - s->start;
			return 0;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* public                                                              */

struct sym_ctx *sym_ctx_new(const struct sym_opts *o)
{
	struct sym_opts dflt;
	if (!o) {
		sym_opts_init(&dflt);
		o = &dflt;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	struct sym_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->use_system_debug = o->use_system_debug;
	c->use_recorded_path = o->use_recorded_path;
	c->demangle = o->demangle;
	c->verbose = o->verbose;
	if (o->use_debuginfod && !(c->dbgd = dbgd_new(o->verbose)))
		goto fail;
	/* Every file read here is a linked image whose DWARF is final; the
	 * .rela.debug_* sections a kernel keeps from --emit-relocs would only
	 * cost time and memory (libdwarf would copy and patch each section). */
	dwarf_set_reloc_application(0);
	if (o->vmlinux) {
		c->vmlinux = strdup(o->vmlinux);
		if (!c->vmlinux)
			goto fail;
	}
	if (o->ndebug_dirs && o->debug_dirs) {
		c->debug_dirs = calloc(o->ndebug_dirs, sizeof(*c->debug_dirs));
		if (!c->debug_dirs)
			goto fail;
		for (size_t i = 0; i < o->ndebug_dirs; i++) {
			if (!o->debug_dirs[i])
				continue;
			c->debug_dirs[c->ndebug_dirs] = strdup(o->debug_dirs[i]);
			if (!c->debug_dirs[c->ndebug_dirs])
				goto fail;
			c->ndebug_dirs++;
		}
	}
	if (o->sysroot) {
		c->sysroot = strdup(o->sysroot);
		if (!c->sysroot)
			goto fail;
		c->sysroot_real = realpath(o->sysroot, NULL);
		if (!c->sysroot_real && errno == ENOMEM)
			goto fail;
		if (!c->sysroot_real)
			vlog(c, "sysroot %s: %s", o->sysroot, strerror(errno));
	}
	return c;
fail:
	sym_ctx_free(c);
	return NULL;
}

void sym_ctx_free(struct sym_ctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct module *m = c->buckets[i];
		while (m) {
			struct module *next = m->next;
			module_free(m);
			m = next;
		}
	}
	free(c->buckets);
	while (c->kernels) {
		struct module *m = c->kernels;
		c->kernels = m->next;
		module_free(m);
	}
	free(c->vmlinux);
	dbgd_free(c->dbgd);
	while (c->embeds) {
		struct embed_tab *t = c->embeds;
		c->embeds = t->next;
		free(t->syms);
		free(t);
	}
	for (size_t i = 0; i < c->ndebug_dirs; i++)
		free(c->debug_dirs[i]);
	free(c->debug_dirs);
	free(c->sysroot);
	free(c->sysroot_real);
	arena_free(&c->str);
	free(c);
}

/* Names ELF virtual address va of usable module m (rva: the recorded
 * address, va + 1 for a return address): out->status becomes SYM_OK with
 * frames, or SYM_NO_SYMBOL.  0 or -ENOMEM. */
static int resolve(struct sym_ctx *c, struct module *m, uint64_t va, uint64_t rva,
		   struct sym_result *out)
{
	struct esym *s = find_sym(m, va);
	if (s && !s->shown) {
		s->shown = shown_name(c, s->name);
		if (!s->shown)
			return -ENOMEM;
	}
	struct dwhit h;
	h.n = 0;
	if (m->dw) {
		int rc = dw_lookup(c, m->dw, va, &h);
		if (rc)
			return rc;
	}
	out->status = SYM_NO_SYMBOL;
	if (h.n) {
		struct sym_frame *last = &h.f[h.n - 1];
		if (s) {
			last->func = s->shown;
			last->func_off = rva - s->addr;
		} else if (last->func && h.entry <= rva) {
			last->func_off = rva - h.entry;
		}
		for (unsigned i = 0; i < h.n; i++) {
			out->frames[i] = h.f[i];
			if (!out->frames[i].func)
				out->frames[i].func = "??";
		}
		out->nframes = h.n;
		out->truncated = h.truncated;
		out->status = last->func ? SYM_OK : SYM_NO_SYMBOL;
		if (!last->func)
			out->nframes = 0;
	} else if (s) {
		out->nframes = 1;
		out->frames[0].func = s->shown;
		out->frames[0].func_off = rva - s->addr;
		out->status = SYM_OK;
	}
	return 0;
}

static int lookup(struct sym_ctx *c, const char *path, const uint8_t *build_id,
		  size_t build_id_len, uint64_t file_off, int is_return_addr,
		  struct sym_result *out)
{
	struct module *m = NULL;
	int rc = get_module(c, path, build_id, build_id_len, &m);
	if (rc)
		return rc;
	out->module = m->display;
	out->status = m->status;
	uint64_t q = file_off;
	if (is_return_addr && q > 0)
		q--;

	if (m->status == SYM_OK) {
		out->used_path = m->used_path;
		out->status = SYM_NO_SYMBOL;
		uint64_t va;
		if (off_to_vaddr(m, q, &va) != 0) {
			vlog(c, "%s: file offset 0x%llx is outside every PT_LOAD", m->path,
			     (unsigned long long)q);
		} else {
			rc = resolve(c, m, va, va + (file_off - q), out);
			if (rc)
				return rc;
		}
	}
	if (out->status != SYM_OK) {
		rc = embed_lookup(c, m, q, file_off, out);
		if (rc)
			return rc;
	}
	return 0;
}

int sym_lookup(struct sym_ctx *c, const char *path, const uint8_t *build_id,
	       size_t build_id_len, uint64_t file_off, int is_return_addr,
	       struct sym_result *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->status = SYM_NOT_FOUND;
	out->module = "??";
	if (!c || !path || !*path || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	int rc = lookup(c, path, build_id, build_id_len, file_off, is_return_addr, out);
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->status = SYM_NOT_FOUND;
		out->module = "??";
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* kernel frames (--vmlinux)                                           */

/* Link-time address of _text: the .symtab symbol, else the start of the
 * first executable PT_LOAD.  0, or -1 when neither exists. */
static int kernel_text(struct sym_ctx *c, Elf *e, uint64_t *out)
{
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;
	while (symsz && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = section_data(scn);
		if (!d || !d->d_buf)
			continue;
		size_t cnt = d->d_size / symsz;
		for (size_t i = 1; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name && strcmp(name, "_text") == 0) {
				*out = s.st_value;
				vlog(c, "  _text at 0x%llx (from .symtab)", (unsigned long long)*out);
				return 0;
			}
		}
	}
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*out = ph.p_vaddr;
			vlog(c, "  no _text symbol: _text taken as 0x%llx, the first executable "
			     "PT_LOAD", (unsigned long long)*out);
			return 0;
		}
	}
	return -1;
}

/* Opens c->vmlinux for kernel m (m->bid: the recorded build-id) and sets
 * m->status and m->why.  0 or -ENOMEM. */
static int load_kernel(struct sym_ctx *c, struct module *m)
{
	char want[2 * MAX_BID + 1], have[2 * MAX_BID + 1], why[PATH_MAX + 64], msg[PATH_MAX + 400];
	hex_of(m->bid, m->bid_len, want, sizeof(want));
	m->status = SYM_NOT_FOUND;
	m->why = "";
	if (!c->vmlinux)
		return 0;
	vlog(c, "kernel build-id %s: --vmlinux %s", m->bid_len ? want : "(none recorded)",
	     c->vmlinux);
	struct efile f;
	memset(&f, 0, sizeof(f));
	int r = open_elf(c->vmlinux, NULL, &f.elf, NULL, why, sizeof(why));
	if (r < 0)
		return r;
	msg[0] = '\0';
	if (r != OPEN_OK) {
		m->status = r == OPEN_MISSING ? SYM_NOT_FOUND : SYM_BAD_FILE;
		snprintf(msg, sizeof(msg), "%s: not used: %s", c->vmlinux, why);
	} else {
		inspect(&f);
		hex_of(f.bid, f.bid_len, have, sizeof(have));
		m->status = SYM_BUILDID_MISMATCH;
		if (!m->bid_len)
			snprintf(msg, sizeof(msg), "%s: not used: the recording has no kernel "
				 "build-id to check it against", c->vmlinux);
		else if (!f.bid_len)
			snprintf(msg, sizeof(msg), "%s: not used: it has no build-id note "
				 "(the recording's kernel is %s)", c->vmlinux, want);
		else if (f.bid_len != m->bid_len || memcmp(f.bid, m->bid, m->bid_len) != 0)
			snprintf(msg, sizeof(msg), "%s: not used: build-id mismatch: the file is %s, "
				 "the recording's kernel is %s", c->vmlinux, have, want);
		else if (!f.has_symtab && !f.has_dwarf) {
			m->status = SYM_BAD_FILE;
			snprintf(msg, sizeof(msg), "%s: not used: it has neither .symtab nor DWARF",
				 c->vmlinux);
		} else if (kernel_text(c, f.elf, &m->ktext) != 0) {
			m->status = SYM_BAD_FILE;
			snprintf(msg, sizeof(msg), "%s: not used: no _text symbol and no executable "
				 "segment", c->vmlinux);
		} else {
			m->status = SYM_OK;
		}
	}
	int rc = 0;
	if (m->status != SYM_OK) {
		vlog(c, "  %s", msg);
		m->why = arena_strdup(&c->str, msg);
		if (!m->why)
			rc = -ENOMEM;
		efile_close(&f);
		return rc;
	}
	char what[128];
	describe(&f, what, sizeof(what));
	vlog(c, "  %s: accepted: build-id matches;%s", c->vmlinux, what);
	m->why = "";
	m->used_path = arena_strdup(&c->str, c->vmlinux);
	if (!m->used_path)
		rc = -ENOMEM;
	struct rawsym *rv = NULL;
	size_t rn = 0, rcap = 0;
	if (rc == 0 && f.has_symtab)
		rc = collect_syms(f.elf, SHT_SYMTAB, &rv, &rn, &rcap);
	if (rc == 0)
		rc = build_syms(c, m, rv, rn);
	free(rv);
	if (rc == 0)
		vlog(c, "  %zu function symbols", m->nsyms);
	if (rc == 0 && f.has_dwarf) {
		Elf *e = f.elf;
		f.elf = NULL;
		rc = dw_open(c, e, 1, &m->dw);
	}
	efile_close(&f);
	return rc;
}

static int get_kernel(struct sym_ctx *c, const uint8_t *bid, size_t len, struct module **out)
{
	struct module *m;
	for (m = c->kernels; m; m = m->next) {
		if (m->bid_len == len && (!len || memcmp(m->bid, bid, len) == 0)) {
			*out = m;
			return 0;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bid_len = len;
	if (len)
		memcpy(m->bid, bid, len);
	m->path = m->display = "kernel";
	int rc = load_kernel(c, m);
	if (rc) {
		module_free(m);
		return rc;
	}
	m->next = c->kernels;
	c->kernels = m;
	*out = m;
	return 0;
}

int sym_kernel_check(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		     enum sym_status *status, const char **why)
{
	if (!c || !status || !why || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	struct module *m = NULL;
	int rc = get_kernel(c, build_id, build_id_len, &m);
	if (rc)
		return rc;
	*status = m->status;
	*why = m->why ? m->why : "";
	return 0;
}

int sym_kernel_lookup(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		      int64_t text_off, int is_return_addr, struct sym_result *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->status = SYM_NOT_FOUND;
	out->module = "kernel";
	if (!c || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	struct module *m = NULL;
	int rc = get_kernel(c, build_id, build_id_len, &m);
	if (rc)
		return rc;
	out->status = m->status;
	if (m->status != SYM_OK)
		return 0;
	out->used_path = m->used_path;
	/* KASLR slides the whole image: offsets from _text carry over */
	uint64_t rec = m->ktext + (uint64_t)text_off;
	uint64_t q = is_return_addr && rec > 0 ? rec - 1 : rec;
	rc = resolve(c, m, q, rec, out);
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->status = SYM_NOT_FOUND;
		out->module = "kernel";
	}
	return rc;
}
