/* symbolize_int.h - what the symbolizer's files share; not for its users
 * (they have symbolize.h).
 *
 *   symbolize.c      the public API, module resolution (build-id, paths,
 *                    debug links, debuginfod), opening files, logging;
 *   sym_elf.c        ELF inspection, program headers, ELF symbol tables;
 *   sym_dwarf.c      DWARF line tables and inlined scopes (libdwarf);
 *   sym_embedded.c   the SYMBOL records a recording carries;
 *   sym_kernel.c     kernel frames against a --vmlinux. */
#ifndef SOCKREPORT_SYMBOLIZE_INT_H
#define SOCKREPORT_SYMBOLIZE_INT_H
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


struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct arena {
	struct chunk *head;
};

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

struct rawsym {
	uint64_t addr, size, secend;
	const char *name;
	unsigned char type, bind, sized;
};

struct dwhit {
	unsigned n;           /* frames filled, innermost first */
	int truncated;
	uint64_t entry;       /* lowest pc of the outermost function */
	struct sym_frame f[SYM_MAX_FRAMES];
};

enum open_res { OPEN_OK, OPEN_MISSING, OPEN_BAD, OPEN_REFUSED };

/* ---- data structures ---- */

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
	int state;      /* 0 not read yet, 1 read, -1 unreadable; 2 only while
			 * dw_open indexes: no pc ranges, so its line table is
			 * read to index it (then 0 again, or 1) */
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


/* symbolize.c: small helpers */
char *arena_strdup(struct arena *a, const char *s);
void hex_of(const uint8_t *b, size_t n, char *out, size_t outsz);
void *grow(void *p, size_t *cap, size_t need, size_t elsz);

/* symbolize.c: logging, names */
__attribute__((format(printf, 2, 3)))
void vlog(const struct sym_ctx *c, const char *fmt, ...);
const char *shown_name(struct sym_ctx *c, const char *name);

/* symbolize.c: opening files */
int open_elf(const char *path, const char *root, Elf **out,
		    char **real, char *why, size_t whysz);

/* sym_elf.c: ELF inspection */
void inspect(struct efile *f);
void efile_close(struct efile *f);
Elf_Data *section_data(Elf_Scn *scn);

/* sym_elf.c: program headers */
int off_to_vaddr(const struct module *m, uint64_t off, uint64_t *vaddr);
int read_loads(struct sym_ctx *c, struct module *m, Elf *e, int rebuild);

/* sym_elf.c: ELF symbols */
int collect_syms(Elf *e, Elf64_Word type, struct rawsym **v, size_t *n,
			size_t *cap);
struct esym *find_sym(struct module *m, uint64_t a);
int build_syms(struct sym_ctx *c, struct module *m, struct rawsym *v, size_t n);

/* sym_dwarf.c: DWARF */
int dw_open(struct sym_ctx *c, Elf *e, int use_aranges, struct dwmod **out);
int dw_lookup(struct sym_ctx *c, struct dwmod *dm, uint64_t a, struct dwhit *h);
void dw_free(struct dwmod *dm);

/* symbolize.c: module resolution */
void describe(const struct efile *f, char *buf, size_t sz);
void module_free(struct module *m);

/* sym_embedded.c: embedded symbols */
int embed_lookup(struct sym_ctx *c, struct module *m, uint64_t q, uint64_t rec,
			struct sym_result *out);

/* symbolize.c */
int resolve(struct sym_ctx *c, struct module *m, uint64_t va, uint64_t rva,
		   struct sym_result *out);

#endif
